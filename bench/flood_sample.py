#!/usr/bin/python3
"""The flood bench's sampler (bench/flood.sh): once a second, inside one lab
host (run there with test/lab/lib.sh's `on`), what /proc and nft say, as one
JSON line of cumulative counters and gauges; flood_report.py takes the
differences.

usage: flood_sample.py vps|home SECS OUT [STOP]  (at most SECS; sooner once the file STOP exists)

vps:  eth0's received packets/bytes (offered), the bench's own counters
      (table inet xbf_acct: per attack class, before the edge = offered and
      after the edge's filter chains = accepted), conntrack's count and its
      drop/early_drop/insert_failed (and why an insert failed: a clash
      resolved or not, a hash chain too long; invalid packets), every 5th second the element count of
      every set of table inet xmpp_edge the packet path fills (not interval
      ones), SYN cookies sent/failed, UDP receive-buffer errors, the machine's softirq and busy jiffies, OOM kills, RSS and
      open files of nginx, turnserver and tailscaled.
home: tailscale0's received packets/bytes and the bench's counters there.
"""
import json
import os
import subprocess
import sys
import time

PROCS = ("nginx", "turnserver", "tailscaled")


def netdev(iface):
    with open("/proc/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == iface:
                v = rest.split()
                return {"rx_packets": int(v[1]), "rx_bytes": int(v[0]), "rx_dropped": int(v[3])}
    return {}


def conntrack():
    out = {}
    try:
        with open("/proc/sys/net/netfilter/nf_conntrack_count") as f:
            out["ct_count"] = int(f.read())
        with open("/proc/sys/net/netfilter/nf_conntrack_max") as f:
            out["ct_max"] = int(f.read())
        with open("/proc/net/stat/nf_conntrack") as f:
            head = f.readline().split()
            tot = dict.fromkeys(head, 0)
            for line in f:
                for k, v in zip(head, line.split()):
                    tot[k] += int(v, 16)
        for k in ("drop", "early_drop", "insert_failed", "clashres", "chainlength", "invalid"):
            out["ct_" + k] = tot.get(k, 0)
    except OSError:
        pass
    return out


def snmp(path, proto, fields):
    out = {}
    with open(path) as f:
        lines = [line.split() for line in f if line.startswith(proto + ":")]
    for head, vals in zip(lines[::2], lines[1::2]):
        for k, v in zip(head[1:], vals[1:]):
            if k in fields:
                out[k] = int(v)
    return out


def cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return {"cpu_total": sum(v[:8]), "cpu_idle": v[3] + v[4], "cpu_softirq": v[6]}


def oom():
    with open("/proc/vmstat") as f:
        for line in f:
            if line.startswith("oom_kill "):
                return {"oom_kill": int(line.split()[1])}
    return {}


def procs():
    out = {p: {"n": 0, "rss_kb": 0, "fds": 0} for p in PROCS}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            if comm not in out:
                continue
            with open(f"/proc/{pid}/status") as f:
                rss = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
        o = out[comm]
        o["n"] += 1
        o["rss_kb"] += rss
        o["fds"] += fds
    return out


def nft_json(*args):
    try:
        r = subprocess.run(["nft", "-j", *args], capture_output=True, text=True, timeout=5)
        return json.loads(r.stdout).get("nftables", []) if r.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []


def counters(table):
    """The named counters' packets/bytes of the bench's own accounting table."""
    out = {}
    for o in nft_json("list", "counters", "table", "inet", table):
        c = o.get("counter")
        if c:
            out[c["name"]] = [c["packets"], c["bytes"]]
    return out


def dynamic_sets():
    names = [o["set"]["name"] for o in nft_json("list", "sets", "table", "inet", "xmpp_edge")
             if "set" in o and "interval" not in o["set"].get("flags", [])]
    out = {}
    for n in names:
        for o in nft_json("list", "set", "inet", "xmpp_edge", n):
            if "set" in o:
                out[n] = len(o["set"].get("elem", []))
    return out


def sample(role, with_sets):
    # The counters first and together, so that offered and accepted share a
    # moment; the sets last and only every few seconds: listing 65,536
    # elements takes the vps seconds under a flood, which would stretch
    # every sample.
    s = {"t": time.time()}
    if role == "vps":
        s.update(netdev("eth0"))
        s["acct"] = counters("xbf_acct")
        s.update(conntrack())
        s.update(snmp("/proc/net/netstat", "TcpExt", ("SyncookiesSent", "SyncookiesFailed", "ListenDrops", "ListenOverflows")))
        s.update(snmp("/proc/net/snmp", "Udp", ("RcvbufErrors", "InErrors")))
        s.update(cpu())
        s.update(oom())
        s["procs"] = procs()
        if with_sets:
            s["sets"] = dynamic_sets()
    else:
        s.update(netdev("tailscale0"))
        s["acct"] = counters("xbf_acct")
    return s


def main():
    role, secs, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    stop = sys.argv[4] if len(sys.argv) > 4 else None
    end = time.monotonic() + secs
    nxt = time.monotonic()
    n = 0
    with open(out, "a") as f:
        while time.monotonic() < end and not (stop and os.path.exists(stop)):
            f.write(json.dumps(sample(role, n % 5 == 0)) + "\n")
            n += 1
            f.flush()
            nxt += 1
            time.sleep(max(0, nxt - time.monotonic()))


main()
