#!/usr/bin/python3
"""One WebRTC peer (Debian's python3-aiortc) of a two-peer data-channel exchange.

    aiortc-peer.py offer|answer --dir DIR --turn URL --secret S [--relay-only] [--timeout S]

The offerer writes DIR/offer.json and waits for DIR/answer.json; the answerer
waits for the offer and writes the answer (the lab's signalling is a shared
directory; aiortc gathers every candidate before the SDP is complete). The
offerer opens a data channel and sends "lab-webrtc <random>"; the answerer
sends back "echo: " + what it got. --relay-only: ICE takes relay candidates
only (the iceTransportPolicy "relay" that aiortc 1.4 does not expose: set
on its ICE connection, aioice 0.8's TransportPolicy.RELAY). TURN credentials
are the shared-secret REST ones a home server hands out; a turns: URL's
certificate is verified against the default store (SSL_CERT_FILE).
Exit 0: the offerer got its echo over the selected pair (printed with the
candidate types); 1: no exchange before the timeout, or (the offerer) no
candidates gathered: a relay-only peer whose TURN server does not answer.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time

import aioice
import aiortc
import aiortc.rtcicetransport as icet
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription


def relay_only():
    plain = icet.connection_kwargs

    def kwargs(servers):
        return {**plain(servers), "transport_policy": aioice.ice.TransportPolicy.RELAY}

    icet.connection_kwargs = kwargs


async def wait_file(path, deadline, abandoned=None):
    while not os.path.exists(path):
        if time.time() > deadline:
            raise TimeoutError(f"no {os.path.basename(path)}")
        if abandoned and os.path.exists(abandoned):
            raise TimeoutError(f"no {os.path.basename(path)}: the other side gave up ({os.path.basename(abandoned)})")
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.1)
    with open(path) as f:
        return json.load(f)


def write_file(path, desc):
    with open(path + ".new", "w") as f:
        json.dump({"sdp": desc.sdp, "type": desc.type}, f)
    os.rename(path + ".new", path)


def selected_pair(pc):
    conn = pc.sctp.transport.transport._connection
    pair = conn._nominated.get(1)
    if pair is None:
        return "no nominated pair"
    return f"local {pair.local_candidate.type} {pair.local_candidate.host}:{pair.local_candidate.port} -> remote {pair.remote_candidate.type} {pair.remote_candidate.host}:{pair.remote_candidate.port}"


async def run(args):
    user = f"{int(time.time()) + 600}:lab-webrtc-{args.role}"
    cred = base64.b64encode(hmac.new(args.secret.encode(), user.encode(), hashlib.sha1).digest()).decode()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[RTCIceServer(urls=[args.turn], username=user, credential=cred)]))
    deadline = time.time() + args.timeout
    done = asyncio.get_event_loop().create_future()
    try:
        if args.role == "offer":
            token = f"lab-webrtc {os.urandom(4).hex()}"
            ch = pc.createDataChannel("lab")
            ch.on("open", lambda: ch.send(token))

            @ch.on("message")
            def got(msg):
                if not done.done():
                    done.set_result(msg)

            try:
                await pc.setLocalDescription(await pc.createOffer())
            except Exception as e:  # aioice raises its own kinds when the TURN server does not answer
                print(f"offerer: gathering failed, no candidates: {type(e).__name__} {e}")
                # The answerer then stops waiting for an offer that never comes.
                open(os.path.join(args.dir, "offer.failed"), "w").close()
                return 1
            write_file(os.path.join(args.dir, "offer.json"), pc.localDescription)
            ans = await wait_file(os.path.join(args.dir, "answer.json"), deadline)
            await pc.setRemoteDescription(RTCSessionDescription(**ans))
            msg = await asyncio.wait_for(done, max(1, deadline - time.time()))
            if msg != f"echo: {token}":
                print(f"offerer: unexpected answer {msg!r}")
                return 1
            print(f"offerer: sent {token!r}, got {msg!r}; {selected_pair(pc)}")
            return 0

        @pc.on("datachannel")
        def on_channel(ch):
            @ch.on("message")
            def echo(msg):
                ch.send(f"echo: {msg}")
                if not done.done():
                    done.set_result(msg)

        offer = await wait_file(os.path.join(args.dir, "offer.json"), deadline, os.path.join(args.dir, "offer.failed"))
        await pc.setRemoteDescription(RTCSessionDescription(**offer))
        await pc.setLocalDescription(await pc.createAnswer())
        write_file(os.path.join(args.dir, "answer.json"), pc.localDescription)
        msg = await asyncio.wait_for(done, max(1, deadline - time.time()))
        # Give the echo time to leave before the connection closes.
        await asyncio.sleep(2)
        print(f"answerer: got {msg!r}; {selected_pair(pc)}")
        return 0
    except (asyncio.TimeoutError, TimeoutError) as e:
        print(f"{args.role}: no exchange within {args.timeout:g} s ({e or 'timeout'}); ICE state {pc.iceConnectionState}")
        return 1
    finally:
        await pc.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["offer", "answer"])
    p.add_argument("--dir", required=True)
    p.add_argument("--turn", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--relay-only", action="store_true")
    p.add_argument("--timeout", type=float, default=40)
    args = p.parse_args()
    if args.relay_only:
        relay_only()
    print(f"aiortc {aiortc.__version__}, aioice {aioice.__version__}", file=sys.stderr)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
