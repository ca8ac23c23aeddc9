#!/usr/bin/python3
"""Spoofed packets, bounded: COUNT packets from COUNT successive source
addresses of SOURCES (a CIDR; wrapping around when it is smaller) to ADDR PORT,
as fast as a raw socket sends them or at RATE packets/s, for at most SECONDS.

usage: spoof.py syn|ack|udp|stun|stun2 ADDR PORT SOURCES COUNT [RATE [SECONDS]]
  syn  a TCP SYN (what a client's connect sends first)
  ack  a bare TCP ACK (no connection behind it)
  udp  a UDP datagram of 32 bytes
  stun a TURN Allocate request without credentials (RFC 8656: what a
       client sends first; the server answers 401 and keeps its state)
  stun2 each of those Allocates twice, back to back (as a client resends
       an unanswered request): what passes the edge's filter for new
       STUN flows beyond their normal rate (render/turn-new-flows.ts);
       COUNT counts the sources, the packets sent are twice that
IPv4 and IPv6 (a source per /64 of an IPv6 SOURCES, the unit the edge counts).
Prints "sent N in S s (R pps)". Needs root (raw sockets). Only the lab uses
it: its router blackholes the replies to SOURCES.
"""
import ipaddress
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def stun_allocate():
    """Allocate (0x0003), magic cookie, a fresh transaction id, REQUESTED-TRANSPORT UDP."""
    attrs = struct.pack("!HHI", 0x0019, 4, 17 << 24)
    return struct.pack("!HHI", 0x0003, len(attrs), 0x2112A442) + random.getrandbits(96).to_bytes(12, "big") + attrs


def l4(kind, sport, dport, seq):
    if kind in ("udp", "stun", "stun2"):
        payload = stun_allocate() if kind.startswith("stun") else b"xmpp-edge lab spoofed datagram.."
        return 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload, 6
    flags = 0x02 if kind == "syn" else 0x10
    ack = 0 if kind == "syn" else random.getrandbits(32)
    return 6, struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0), 16


def packet(kind, src, dst, dport, i):
    proto, seg, at = l4(kind, random.randint(1024, 65535), dport, random.getrandbits(32))
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, proto, len(seg))
        seg = seg[:at] + struct.pack("!H", checksum(pseudo + seg)) + seg[at + 2:]
        # The kernel fills in the IPv4 header checksum (IP_HDRINCL).
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0, 64, proto, 0, src.packed, dst.packed) + seg
    pseudo = src.packed + dst.packed + struct.pack("!IxxxB", len(seg), proto)
    seg = seg[:at] + struct.pack("!H", checksum(pseudo + seg)) + seg[at + 2:]
    return struct.pack("!IHBB16s16s", 6 << 28, len(seg), proto, 64, src.packed, dst.packed) + seg


def source(net, i):
    """The i-th source: IPv4 addresses (not the network's or broadcast), IPv6 /64s."""
    base = int(net.network_address)
    if net.version == 4:
        return ipaddress.ip_address(base + 1 + i % (net.num_addresses - 2))
    return ipaddress.ip_address(base + ((i % (net.num_addresses >> 64)) << 64) + 1)


def main():
    if len(sys.argv) not in (6, 7, 8) or sys.argv[1] not in ("syn", "ack", "udp", "stun", "stun2"):
        sys.exit(__doc__)
    kind, dst, dport = sys.argv[1], ipaddress.ip_address(sys.argv[2].strip("[]")), int(sys.argv[3])
    net, count = ipaddress.ip_network(sys.argv[4]), int(sys.argv[5])
    rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0
    seconds = float(sys.argv[7]) if len(sys.argv) > 7 else 30
    pkts = [packet(kind, source(net, i), dst, dport, i) for i in range(count)]
    if kind == "stun2":
        pkts = [p for p in pkts for _ in (0, 1)]
    family = socket.AF_INET if dst.version == 4 else socket.AF_INET6
    s = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
    to = (str(dst), 0)
    start = time.monotonic()
    sent = 0
    for p in pkts:
        now = time.monotonic()
        if now - start > seconds:
            break
        if rate and start + sent / rate > now:
            time.sleep(start + sent / rate - now)
        try:
            s.sendto(p, to)
            sent += 1
        except OSError:  # a full socket buffer: that packet is not sent
            pass
    took = time.monotonic() - start
    print(f"sent {sent} in {took:.2f} s ({sent / took:.0f} pps)", flush=True)


main()
