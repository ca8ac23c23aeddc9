#!/usr/bin/python3
"""A TURN client that tries to relay somewhere: the lab's attacker uses it.

    turn-probe.py --server ADDR --secret S (--udp | --tcp) --peer ADDR --peer-port N
                  [--send TEXT] [--expect TEXT] [--timeout S]
                  [--stream | --tls NAME [--ca FILE] --port 443]

--stream: a UDP relay (--udp) asked for over a TCP connection to the TURN
server (turn:…?transport=tcp): control and datagrams in that stream.
--count N --interval S (with --stream or --tls): N datagrams TEXT-0 …
TEXT-(N-1), one every S seconds, over the one allocation, as a call's
media flows; got through only when the peer answered every one.

--tls NAME: TURN over TLS (turns:) as Conversations and Siskin open it: TLS
on a TCP connection with SNI NAME and no ALPN, then a UDP relay (--udp)
whose datagrams travel inside that stream. Without --ca the certificate is
not verified (those clients do not); with --ca it must chain to FILE and
name NAME, as a browser would have it.

Authenticates like any XMPP user's client (the shared-secret REST credentials
a home server hands out), allocates a relay (UDP, or TCP per RFC 6062: which
the edge refuses unless turnTcpRelay), asks for the peer and sends TEXT
through the relay. Prints one line saying how far it got and exits
  0  the relay reached the peer and its answer contained EXPECT (got through)
  1  refused or unanswered (the line says by whom: coturn's error code, or
     silence, which is what the kernel's guard leaves)
  2  the probe itself failed (no answer from the TURN server, bad arguments)
Python's standard library only; coturn's turnutils_uclient cannot tell these
outcomes apart, nor speak RFC 6062.
"""
import argparse
import base64
import hashlib
import hmac
import ipaddress
import os
import socket
import ssl
import struct
import sys
import time

MAGIC = 0x2112A442
# Methods (all < 0x10, so class bits simply OR in).
ALLOCATE, REFRESH, CREATE_PERMISSION, SEND, DATA, CONNECT, CONNECTION_BIND = 0x003, 0x004, 0x008, 0x006, 0x007, 0x00A, 0x00B
REQUEST, INDICATION, SUCCESS, ERROR = 0x0000, 0x0010, 0x0100, 0x0110
# Attributes.
LIFETIME, USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, XOR_PEER_ADDRESS, DATA_ATTR = 0x000D, 0x0006, 0x0008, 0x0009, 0x0012, 0x0013
REALM, NONCE, REQUESTED_FAMILY, REQUESTED_TRANSPORT, CONNECTION_ID = 0x0014, 0x0015, 0x0017, 0x0019, 0x002A


class Refused(Exception):
    pass


class ProbeError(Exception):
    pass


def attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def xor_address(addr, port, txid):
    ip = ipaddress.ip_address(addr)
    xport = port ^ (MAGIC >> 16)
    if ip.version == 4:
        return struct.pack("!BBH", 0, 1, xport) + struct.pack("!I", int(ip) ^ MAGIC)
    key = int.from_bytes(struct.pack("!I", MAGIC) + txid, "big")
    return struct.pack("!BBH", 0, 2, xport) + (int(ip) ^ key).to_bytes(16, "big")


def parse(msg):
    kind, length, magic = struct.unpack("!HHI", msg[:8])
    if magic != MAGIC:
        raise ProbeError("not a STUN message")
    attrs, pos = {}, 20
    while pos + 4 <= 20 + length:
        t, n = struct.unpack("!HH", msg[pos:pos + 4])
        attrs.setdefault(t, msg[pos + 4:pos + 4 + n])
        pos += 4 + n + (4 - n % 4) % 4
    return kind, msg[8:20], attrs


def error_of(attrs):
    v = attrs.get(ERROR_CODE, b"\0\0\0\0")
    # coturn counts a C string terminator into some reason phrases.
    return f"{(v[2] & 7) * 100 + v[3]} {v[4:].decode(errors='replace').rstrip(chr(0))}".strip()


class Turn:
    def __init__(self, args, sock, stream):
        self.args, self.sock, self.stream = args, sock, stream
        self.username = f"{int(time.time()) + 600}:lab-attacker".encode()
        password = base64.b64encode(hmac.new(args.secret.encode(), self.username, hashlib.sha1).digest())
        self.password = password
        self.realm = self.nonce = None

    def build(self, kind, attrs, txid=None, auth=True):
        txid = txid or os.urandom(12)
        body = b"".join(attr(t, v) for t, v in attrs)
        if auth and self.realm is not None:
            body += attr(USERNAME, self.username) + attr(REALM, self.realm) + attr(NONCE, self.nonce)
            key = hashlib.md5(self.username + b":" + self.realm + b":" + self.password).digest()
            head = struct.pack("!HHI", kind, len(body) + 24, MAGIC) + txid
            body += attr(MESSAGE_INTEGRITY, hmac.new(key, head + body, hashlib.sha1).digest())
        return struct.pack("!HHI", kind, len(body), MAGIC) + txid + body

    def recv(self, sock=None, timeout=None):
        sock = sock or self.sock
        sock.settimeout(timeout or self.args.timeout)
        if not self.stream:
            return sock.recv(65535)
        head = recv_exact(sock, 20)
        return head + recv_exact(sock, struct.unpack("!H", head[2:4])[0])

    def transact(self, method, attrs, sock=None):
        """A request, re-sent with credentials when the server asks for them (401/438).
        ATTRS may be a function of the transaction id (XOR-PEER-ADDRESS of IPv6 depends on it)."""
        sock = sock or self.sock
        for _ in range(3):
            txid = os.urandom(12)
            sock.send(self.build(method | REQUEST, attrs(txid) if callable(attrs) else attrs, txid))
            deadline = time.time() + self.args.timeout
            while True:
                try:
                    kind, rtx, got = parse(self.recv(sock, max(0.1, deadline - time.time())))
                except socket.timeout:
                    raise ProbeError(f"no answer from the TURN server to method {method:#x}")
                if rtx == txid:
                    break
            if kind == method | SUCCESS:
                return got
            code = error_of(got)
            # 401 once (credentials asked for) or 438 (stale nonce); 401 with credentials: refused.
            if (code.startswith("438") or code.startswith("401") and self.realm is None) and NONCE in got:
                self.realm = got.get(REALM, self.realm)
                self.nonce = got[NONCE]
                continue
            raise Refused(f"{method_name(method)}: TURN error {code}")
        raise ProbeError("authentication loop")


def method_name(m):
    return {ALLOCATE: "Allocate", REFRESH: "Refresh", CREATE_PERMISSION: "CreatePermission", CONNECT: "Connect", CONNECTION_BIND: "ConnectionBind"}[m]


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ProbeError("the TURN server closed the connection")
        out += chunk
    return out


def family_attr(peer):
    return (REQUESTED_FAMILY, bytes([1 if ipaddress.ip_address(peer).version == 4 else 2, 0, 0, 0]))


def probe_udp(args):
    sock = socket.socket(socket.AF_INET6 if ":" in args.server else socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((args.server, args.port))
    t = Turn(args, sock, stream=False)
    t.transact(ALLOCATE, [(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0])), family_attr(args.peer)])
    try:
        return relay_udp(args, t, sock)
    finally:
        # Give the allocation back (lifetime 0): coturn counts them against the user's quota.
        try:
            t.transact(REFRESH, [(LIFETIME, struct.pack("!I", 0))])
        except (Refused, ProbeError, OSError):
            pass


def relay_udp(args, t, sock):
    t.transact(CREATE_PERMISSION, lambda txid: [(XOR_PEER_ADDRESS, xor_address(args.peer, args.peer_port, txid))])
    txid = os.urandom(12)
    peer = xor_address(args.peer, args.peer_port, txid)
    send = t.build(SEND | INDICATION, [(XOR_PEER_ADDRESS, peer), (DATA_ATTR, args.send.encode())], txid, auth=False)
    # UDP: sent three times across the wait, so one lost datagram is no verdict.
    start = time.time()
    deadline, sent = start + args.timeout, 0
    while time.time() < deadline:
        if sent < 3 and time.time() >= start + sent * args.timeout / 3:
            sock.send(send)
            sent += 1
        wait = min(deadline, start + sent * args.timeout / 3) if sent < 3 else deadline
        answers = []
        collect_data(t, answers, wait, until=1)
        if answers:
            return answers[0]
    raise Refused(f"relay allowed, but nothing came back from {args.peer}:{args.peer_port} within {args.timeout:g} s")


def collect_data(t, answers, deadline, until=None):
    """Appends the relayed data (Data indications) that arrive before DEADLINE, as text;
    stops early once ANSWERS holds UNTIL of them, or at the first silence past the deadline."""
    while time.time() < deadline and (until is None or len(answers) < until):
        try:
            kind, _, got = parse(t.recv(timeout=max(0.05, deadline - time.time())))
        except socket.timeout:
            return
        if kind == DATA | INDICATION:
            answers.append(got.get(DATA_ATTR, b"").decode(errors="replace"))


def probe_stream(args):
    """A UDP relay whose control and data travel in one TCP stream, TLS with --tls."""
    sock = socket.create_connection((args.server, args.port), timeout=args.timeout)
    if args.tls:
        ctx = ssl.create_default_context(cafile=args.ca) if args.ca else ssl._create_unverified_context()
        sock = ctx.wrap_socket(sock, server_hostname=args.tls)
    t = Turn(args, sock, stream=True)
    t.transact(ALLOCATE, [(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0])), family_attr(args.peer)])
    try:
        return relay_many(args, t, sock) if args.count > 1 else relay_udp(args, t, sock)
    finally:
        try:
            t.transact(REFRESH, [(LIFETIME, struct.pack("!I", 0))])
        except (Refused, ProbeError, OSError):
            pass


def relay_many(args, t, sock):
    """COUNT datagrams over one stream allocation; the answers as one text, in order of arrival."""
    t.transact(CREATE_PERMISSION, lambda txid: [(XOR_PEER_ADDRESS, xor_address(args.peer, args.peer_port, txid))])
    answers = []
    for i in range(args.count):
        txid = os.urandom(12)
        data = f"{args.send}-{i}".encode()
        sock.send(t.build(SEND | INDICATION, [(XOR_PEER_ADDRESS, xor_address(args.peer, args.peer_port, txid)), (DATA_ATTR, data)], txid, auth=False))
        # A stream delivers in order: an answer still on its way arrives before the next one.
        collect_data(t, answers, time.time() + args.interval)
    collect_data(t, answers, time.time() + args.timeout, until=args.count)
    missing = [i for i in range(args.count) if f"{args.expect}-{i}" not in answers]
    if missing:
        raise Refused(f"the peer answered {args.count - len(missing)} of {args.count}; missing: {missing[:10]}")
    return f"{args.expect}-0 … {args.expect}-{args.count - 1}: {args.count} of {args.count}"


def probe_tcp(args):
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    control = socket.create_connection((args.server, args.port), timeout=args.timeout)
    t = Turn(args, control, stream=True)
    t.transact(ALLOCATE, [(REQUESTED_TRANSPORT, bytes([6, 0, 0, 0])), family_attr(args.peer)])
    got = t.transact(CONNECT, lambda txid: [(XOR_PEER_ADDRESS, xor_address(args.peer, args.peer_port, txid))])
    data = socket.socket(fam, socket.SOCK_STREAM)
    data.settimeout(args.timeout)
    data.connect((args.server, args.port))
    t.transact(CONNECTION_BIND, [(CONNECTION_ID, got[CONNECTION_ID])], sock=data)
    if args.send:
        data.sendall(args.send.encode())
    out, deadline = b"", time.time() + args.timeout
    while time.time() < deadline and args.expect.encode() not in out:
        data.settimeout(max(0.1, deadline - time.time()))
        try:
            chunk = data.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=3478)
    p.add_argument("--secret", required=True)
    p.add_argument("--udp", action="store_true")
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--peer", required=True)
    p.add_argument("--peer-port", type=int, required=True)
    p.add_argument("--send", default="", help="what to send through the relay; backslash escapes (\\r\\n) are read")
    p.add_argument("--expect", required=True)
    p.add_argument("--timeout", type=float, default=3)
    p.add_argument("--count", type=int, default=1, help="with --stream or --tls: this many datagrams over one allocation")
    p.add_argument("--interval", type=float, default=0.1, help="with --count: seconds between them")
    p.add_argument("--stream", action="store_true", help="with --udp: ask over TCP, not UDP")
    p.add_argument("--tls", metavar="NAME", help="with --udp: ask over TLS with SNI NAME, no ALPN")
    p.add_argument("--ca", help="with --tls: verify the certificate against this CA file")
    args = p.parse_args()
    args.send = args.send.encode().decode("unicode_escape")
    if args.udp == args.tcp:
        p.error("one of --udp, --tcp")
    args.stream = args.stream or bool(args.tls)
    if args.stream and args.tcp:
        p.error("--stream and --tls relay UDP: use them with --udp")
    if args.count > 1 and not args.stream:
        p.error("--count needs --stream or --tls")
    over = f" over TLS ({args.tls} on {args.port})" if args.tls else f" over TCP {args.port}" if args.stream else ""
    what = f"{'TCP' if args.tcp else 'UDP'} relay via {args.server}{over} to {args.peer}:{args.peer_port}"
    try:
        answer = (probe_tcp if args.tcp else probe_stream if args.stream else probe_udp)(args)
    except Refused as e:
        print(f"refused: {what}: {e}")
        return 1
    except ProbeError as e:
        print(f"probe failed: {what}: {e}")
        return 2
    except ssl.SSLCertVerificationError as e:
        print(f"refused: {what}: the certificate: {e.verify_message}")
        return 1
    except OSError as e:
        print(f"refused: {what}: {e}")
        return 1
    # Printable only: an SSH server follows its banner with binary key exchange.
    line = "".join(c if c.isprintable() else "." for c in " ".join(answer.split()))[:120]
    if args.expect in answer:
        print(f"got through: {what}: the peer answered: {line}")
        return 0
    print(f"refused: {what}: no {args.expect!r} in the answer: {line or 'nothing'}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
