#!/usr/bin/python3
"""A bounded connection flood: N TCP connections to ADDR PORT at once.

usage: conn-flood.py ADDR PORT N HOLD [SOURCE...]
Starts N non-blocking connects (round robin over the SOURCE addresses, if
given), waits up to 5 s for their answers (SYN retries come at 1 s and 3 s),
prints "established E of N (refused R, no answer A)", holds the established
connections open for HOLD seconds, then closes them all and prints "done".
"""
import select
import socket
import sys
import time


def main():
    addr, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    sources = sys.argv[5:] or [None]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    pending = set()
    for i in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        if sources[i % len(sources)]:
            s.bind((sources[i % len(sources)], 0))
        s.connect_ex((addr, port))
        pending.add(s)
    up, refused = [], 0
    deadline = time.monotonic() + 5
    while pending and time.monotonic() < deadline:
        _, writable, _ = select.select([], list(pending), [], 0.2)
        for s in writable:
            pending.discard(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                up.append(s)
            else:
                refused += 1
                s.close()
    print(f"established {len(up)} of {n} (refused {refused}, no answer {len(pending)})", flush=True)
    time.sleep(hold)
    for s in up + list(pending):
        s.close()
    print("done", flush=True)


main()
