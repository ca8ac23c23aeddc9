#!/usr/bin/python3
"""One message over XMPP direct TLS with slixmpp's use_ssl, which sends no ALPN.

usage: slixmpp-direct-tls.py JID PASSWORD HOST PORT 4|6 TO BODY
Connects to HOST:PORT (resolved to its IPv4 address, or IPv6 first) with TLS
from the first byte (SNI = HOST, the certificate verified against the system
store), logs in, sends BODY to
TO, and prints the ALPN the TLS session negotiated ("none" without one).
Exit 0 once the message is sent; 1 on any failure (bounded: 20 s).
"""
import asyncio
import sys

import slixmpp


class Sender(slixmpp.ClientXMPP):
    def __init__(self, jid, password, to, body):
        super().__init__(jid, password)
        self.to, self.body, self.sent, self.why = to, body, False, "no session"
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", lambda _: self.stop("authentication failed"))
        self.add_event_handler("connection_failed", lambda e: self.stop(f"connection failed: {e}"))

    def stop(self, why):
        self.why = why
        self.disconnect()

    async def start(self, _event):
        tls = self.transport.get_extra_info("ssl_object")
        print(f"session up: TLS {tls.version()}, ALPN {tls.selected_alpn_protocol() or 'none'}", flush=True)
        self.send_message(mto=self.to, mbody=self.body, mtype="chat")
        self.sent = True
        self.disconnect(wait=2.0)


def main():
    jid, password, host, port, family, to, body = sys.argv[1:8]
    xmpp = Sender(jid, password, to, body)
    # With an address given slixmpp looks the host up with its default port (5222), not the one given.
    xmpp.default_port = int(port)
    xmpp.use_ipv6 = family == "6"
    # use_ssl: direct TLS as slixmpp does it, an ssl context without ALPN.
    xmpp.connect((host, int(port)), use_ssl=True)
    try:
        xmpp.loop.run_until_complete(asyncio.wait_for(xmpp.disconnected, 20))
    except asyncio.TimeoutError:
        xmpp.why = "timed out after 20 s"
    if not xmpp.sent:
        print(f"not sent: {xmpp.why}", file=sys.stderr)
        sys.exit(1)
    print("sent", flush=True)


main()
