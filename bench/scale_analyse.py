#!/usr/bin/python3
"""bench:scale's raw results (scale.jsonl, meta.env, edge.env, nginx.conf,
load.jsonl) -> scale.json: every point, the cost per session (median and
spread over the repetitions), and the limits each path meets, computed from
the edge's settings and the measured costs, here and on the smallest
server (2 vCPU, 4 GB).

usage: scale_analyse.py --res DIR --out scale.json
"""
import argparse
import json
import os
import re
import statistics

CLK_TCK = os.sysconf("SC_CLK_TCK")
# The smallest server type this edge targets (README: a 4 EUR VPS).
SMALL = {"name": "2 vCPU, 4 GB", "vcpus": 2, "mem_mib": 4096,
         # Linux >= 5.15 sizes the conntrack table from RAM: 65,536 entries
         # between 1 and 4 GiB, 262,144 above (nf_conntrack_core.c,
         # nf_conntrack_init_start; this machine's value is recorded too).
         "conntrack_max": 65536,
         # What the OS, tailscaled, coturn, sshd and nginx's idle workers
         # leave of 4 GB (an estimate, stated as such in the report).
         "mem_for_sessions_mib": 3072}


def env_file(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def jsonl(path):
    return [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []


def nginx_settings(conf):
    def one(pattern, cast=str):
        m = re.search(pattern, conf, re.M)
        return cast(m.group(1)) if m else None
    listen = re.findall(r"^\s*listen (443[^;]*);", conf, re.M)
    return {
        "worker_processes": one(r"^worker_processes (\S+);"),
        "worker_connections": one(r"^\s*worker_connections (\d+);", int),
        "worker_rlimit_nofile": one(r"^worker_rlimit_nofile (\d+);", int),
        "proxy_buffer_size": one(r"^\s*proxy_buffer_size (\S+);"),
        "preread_buffer_size": one(r"^\s*preread_buffer_size (\S+);"),
        "listen_443": listen[0] if listen else None,
        "listen_sockets": len(re.findall(r"^\s*listen ", conf, re.M)),
        # home's tailnet IPv6 as a backup of 5223's upstream: a second address pair, ports of its own
        "home_5223_families": len(re.findall(r"^\s*server \S+:5223( backup)?;", conf, re.M)),
    }


def live(procs):
    return [p for p in procs if p["role"] != "old worker"]


def spread(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def analyse(res):
    meta = env_file(os.path.join(res, "meta.env"))
    edge = env_file(os.path.join(res, "edge.env"))
    conf = open(os.path.join(res, "nginx.conf")).read() if os.path.exists(os.path.join(res, "nginx.conf")) else ""
    settings = nginx_settings(conf)
    raw = jsonl(os.path.join(res, "scale.jsonl"))

    # nginx idle: master + fresh workers right after a reload, no sessions.
    clean = [r["before"] for r in raw if all(p["role"] != "old worker" for p in r["before"]["nginx"])
             and r["before"]["ct_est"] is not None]
    idle_rss = statistics.median(sum(p["rss_kb"] for p in s["nginx"]) for s in clean) if clean else None
    idle_pss = statistics.median(sum(p["pss_kb"] for p in s["nginx"]) for s in clean) if clean else None
    workers = statistics.median(sum(1 for p in s["nginx"] if p["role"] == "worker") for s in clean) if clean else None

    points = []
    for r in raw:
        c, b, h, hb, hh = r["client"], r["before"], r["held"], r["host_before"], r["host_held"]
        n_open = c["open"]
        held_procs = live(h["nginx"])
        rss = sum(p["rss_kb"] for p in held_procs)
        pss = sum(p["pss_kb"] for p in held_procs)
        # CPU: the live processes' ticks now, minus what the master (the only
        # process older than the reload) had before.
        master_before = sum(p["ticks"] for p in b["nginx"] if p["role"] == "master")
        ticks = sum(p["ticks"] for p in held_procs) - master_before
        dcpu = {k: hh["cpu"][k] - hb["cpu"][k] for k in hh["cpu"]}
        busy = sum(v for k, v in dcpu.items() if k not in ("idle", "iowait"))
        ct_obj = hh.get("ct_obj_bytes")
        ct_per = (h["ct_est"] - b["ct_est"]) / n_open if n_open and h["ct_est"] is not None else None
        wfds = sorted((p["fds"] for p in held_procs if p["role"] == "worker"), reverse=True)
        p = {
            "kind": r["kind"], "path": r["path"], "n": r["n"], "rep": r["rep"], "nsrc": r["nsrc"],
            "open": n_open, "alive": c["alive"], "failed": c["failed"], "attempted": c["attempted"],
            "gave_up": c["gave_up"], "errors": c["errors"], "first_errors": c["first_errors"], "ping_errors": c["ping_errors"],
            "open_secs": c["open_secs"], "open_per_s": c["open_per_s"], "p50_ms": c["p50_ms"], "p99_ms": c["p99_ms"],
            "client_processes": c.get("processes", 1),
            "nginx_rss_kb": rss, "nginx_pss_kb": pss, "nginx_procs": len(held_procs), "worker_fds": wfds,
            "ct_est": h["ct_est"], "ct_count": h["ct_count"], "ct_max": h["ct_max"], "ct_obj_bytes": ct_obj,
            "tcp": h["tcp"],
            "limit_drops": sum(h["limit_drops"].values()) - sum(b["limit_drops"].values()),
            "limit_drops_by_rule": {k: h["limit_drops"][k] - b["limit_drops"].get(k, 0) for k in h["limit_drops"]},
            "listen_drops": (h["listen_drops"] or 0) - (b["listen_drops"] or 0),
            "listen_overflows": (h["listen_overflows"] or 0) - (b["listen_overflows"] or 0),
            "nginx_errors": r["nginx_errors"],
            "load_before": hb["load"], "load_held": hh["load"],
            "mem_available_drop_kb": hb["mem_kb"]["MemAvailable"] - hh["mem_kb"]["MemAvailable"],
            "per_session": None,
        }
        if n_open:
            p["per_session"] = {
                "nginx_rss_bytes": (rss - idle_rss) * 1024 / n_open if idle_rss is not None else None,
                "nginx_pss_bytes": (pss - idle_pss) * 1024 / n_open if idle_pss is not None else None,
                "conntrack_entries": ct_per,
                "conntrack_bytes": ct_per * ct_obj if ct_per is not None and ct_obj else None,
                "nginx_cpu_ms": ticks * 1000 / CLK_TCK / n_open,
                "softirq_ms_machine": dcpu["softirq"] * 1000 / CLK_TCK / n_open,
                "cpu_ms_machine": busy * 1000 / CLK_TCK / n_open,
                "slab_bytes_machine": (hh["mem_kb"]["Slab"] - hb["mem_kb"]["Slab"]) * 1024 / n_open,
            }
        points.append(p)

    summary = []
    keys = sorted({(p["kind"], p["path"], p["n"]) for p in points}, key=lambda k: (k[0] != "legit", k[1], k[2]))
    for kind, path, n in keys:
        ps = [p for p in points if (p["kind"], p["path"], p["n"]) == (kind, path, n)]
        per = {}
        for k in ("nginx_rss_bytes", "nginx_pss_bytes", "conntrack_entries", "conntrack_bytes", "nginx_cpu_ms",
                  "softirq_ms_machine", "cpu_ms_machine", "slab_bytes_machine"):
            per[k] = spread([p["per_session"][k] for p in ps if p["per_session"]])
        errs = {}
        for p in ps:
            for e, v in p["errors"].items():
                errs[e] = errs.get(e, 0) + v
        nginx_err = {}
        for p in ps:
            for e, v in p["nginx_errors"]["kinds"].items():
                nginx_err[e] = nginx_err.get(e, 0) + v
        summary.append({
            "kind": kind, "path": path, "n": n, "reps": len(ps),
            "open": spread([p["open"] for p in ps]), "alive": spread([p["alive"] for p in ps]),
            "complete": sum(1 for p in ps if p["alive"] == n), "open_per_s": spread([p["open_per_s"] for p in ps]),
            "p50_ms": spread([p["p50_ms"] for p in ps]), "p99_ms": spread([p["p99_ms"] for p in ps]),
            "nginx_rss_mib": spread([p["nginx_rss_kb"] / 1024 for p in ps]),
            "ct_est": spread([p["ct_est"] for p in ps]),
            "limit_drops": spread([p["limit_drops"] for p in ps]),
            "listen_drops": spread([p["listen_drops"] for p in ps]),
            "worker_fds": [p["worker_fds"] for p in ps],
            "client_errors": errs, "nginx_errors": nginx_err,
            "per_session": per, "load_held": spread([p["load_held"][0] for p in ps]),
        })

    limits = compute_limits(settings, edge, summary, workers, idle_rss)
    stream = analyse_stream(jsonl(os.path.join(res, "stream.jsonl")))
    config = analyse_config(jsonl(os.path.join(res, "config.jsonl")), jsonl(os.path.join(res, "control.jsonl")))
    return {"stream": stream, "config": config, "meta": meta, "edge": edge, "settings": settings, "nginx_idle": {"rss_kb": idle_rss, "pss_kb": idle_pss, "workers": workers},
            "points": points, "summary": summary, "limits": limits, "small_server": SMALL,
            "load": jsonl(os.path.join(res, "load.jsonl"))}


def analyse_config(rows, control):
    """extraForwards and web names: render time, bundle size, nft -c/-f, apply, connect rate to the last forward."""
    applies = {}
    for c in control:
        applies.setdefault(c["kind"], []).append(c)
    out = {}
    for what in ("forwards", "webnames"):
        rs = [r for r in rows if r["what"] == what]
        sizes = sorted({r["size"] for r in rs})
        base = {r["rep"]: r for r in rs if r["size"] == sizes[0]} if sizes else {}
        pts = []
        for size in sizes:
            these = [r for r in rs if r["size"] == size]
            ap = applies.get(f"{what}-{size}", [])
            conns = [r["conns"] for r in these if "conns" in r and "per_s" in r["conns"]]
            ratios = [r["conns"]["per_s"] / base[r["rep"]]["conns"]["per_s"] for r in these
                      if "per_s" in r.get("conns", {}) and r["rep"] in base and "per_s" in base[r["rep"]].get("conns", {})]
            pts.append({
                "size": size, "reps": len(these),
                "render_ms": spread([r["render_ms"] for r in these]),
                "stdin_bytes": spread([r["stdin_bytes"] for r in these]),
                "nft_bytes": spread([r["nft_bytes"] for r in these]),
                "nft_rules": these[0].get("nft_rules") if these else None,
                "nginx_bytes": spread([r.get("nginx_bytes") for r in these]),
                "nft_check_ms": spread([statistics.median(r["nft"]["check_us"]) / 1000 for r in these]),
                "nft_load_ms": spread([statistics.median(r["nft"]["load_us"]) / 1000 for r in these]),
                "apply_ms": spread([a["apply_ns"] / 1e6 for a in ap if a.get("apply_ns")]),
                "apply_ok": sum(1 for a in ap if a["rc"] == 0 and a["confirm_rc"] == 0), "applies": len(ap),
                "conns_per_s": spread([c["per_s"] for c in conns]),
                "conns_p50_ms": spread([c["p50_ms"] for c in conns]),
                "conns_errors": sum(c.get("errors", 0) for c in conns),
                "conns_ratio": spread(ratios),
                "load1": spread([r["load1"] for r in these]),
            })
        out[what] = pts
    return out


def analyse_stream(rows):
    """nginx stream variants on 443: one TLS stream through the edge against direct, per repetition; CPU per GB."""
    out = []
    for v in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == v and "mbit_s" in r["edge"] and "mbit_s" in r["direct"]]
        ratios, cpu, soft, busy = [], [], [], []
        for r in rs:
            ratios.append(r["edge"]["mbit_s"] / r["direct"]["mbit_s"])
            gb = r["edge"]["bytes"] / 1e9
            hb, ha = r["host_before"]["cpu"], r["host_after"]["cpu"]
            cpu.append(r["nginx_ticks"] / CLK_TCK / gb)
            soft.append((ha["softirq"] - hb["softirq"]) / CLK_TCK / gb)
            busy.append(sum(ha[k] - hb[k] for k in ha if k not in ("idle", "iowait")) / CLK_TCK / gb)
        out.append({"variant": v, "reps": len(rs), "errors": sum(1 for r in rows if r["variant"] == v) - len(rs),
                    "edge_mbit_s": spread([r["edge"]["mbit_s"] for r in rs]),
                    "direct_mbit_s": spread([r["direct"]["mbit_s"] for r in rs]),
                    "ratio": spread(ratios), "nginx_cpu_s_per_gb": spread(cpu),
                    "softirq_s_per_gb_machine": spread(soft), "busy_s_per_gb_machine": spread(busy),
                    "load1": spread([r["load1"] for r in rows if r["variant"] == v])})
    base = next((s for s in out if s["variant"] == "base"), None)
    for s in out:
        if base and s["ratio"] and base["ratio"]:
            s["vs_base"] = s["ratio"]["median"] / base["ratio"]["median"]
    return out


def median_of(summary, path, key):
    """The median over the legitimate points of this path: every point for what an open session holds
    (memory, conntrack: per open session, whatever failed besides), the complete ones for CPU (failed
    attempts cost CPU too)."""
    vals = []
    for s in summary:
        if s["kind"] == "legit" and s["path"] == path and s["per_session"][key] and (s["complete"] or "cpu" not in key):
            vals.append(s["per_session"][key]["median"])
    return statistics.median(vals) if vals else None


def kernel_edge_bytes(summary, path):
    """The edge's kernel memory per session, estimated from the machine-wide slab growth.

    The slab grows by the sockets of every host (one kernel). Per session, with
    s a TCP socket and c a conntrack entry: DNAT = 2s + c (client, home; the
    entry on the edge), 443 = 4s + 2c (client, two on the edge, home; two
    entries). The edge's share: DNAT c, 443 2s + 2c = slab(443) - slab(DNAT) + c.
    """
    s443 = median_of(summary, "443", "slab_bytes_machine")
    sd = median_of(summary, "5222", "slab_bytes_machine")
    c = median_of(summary, path, "conntrack_bytes")
    if s443 is None or sd is None or c is None:
        return None
    if path == "5222":
        return c
    est = s443 - sd + c
    return est if est > 0 else None


def compute_limits(settings, edge, summary, workers, idle_rss):
    """Sessions each limit allows, per path, here and on the small server; sorted, the first is the one hit."""
    out = {}
    port_range = edge.get("net/ipv4/ip_local_port_range", "32768 60999").split()
    lo, hi = int(port_range[0]), int(port_range[1])
    reserved = 0
    for part in filter(None, edge.get("net/ipv4/ip_local_reserved_ports", "").split(",")):
        a, _, b = part.partition("-")
        a, b = int(a), int(b or a)
        reserved += max(0, min(b, hi) - max(a, lo) + 1)
    families = settings.get("home_5223_families") or 1
    ports = (hi - lo + 1 - reserved) * families
    nofile_hard = int(edge.get("nofile_hard", "0") or 0)
    w = int(workers or 1)
    wc = settings.get("worker_connections") or 0
    listeners = settings.get("listen_sockets") or 0
    rl = settings.get("worker_rlimit_nofile") or 0
    ct_here = int(edge.get("net/netfilter/nf_conntrack_max", "0") or 0)
    for path in ("443", "5222"):
        ct_per = median_of(summary, path, "conntrack_entries")
        rss = median_of(summary, path, "nginx_rss_bytes") if path == "443" else 0.0
        ct_bytes = median_of(summary, path, "conntrack_bytes") or 0.0
        rows = []
        if path == "443":
            # Each session is two connections in one worker (client side and
            # upstream); listening sockets take a connection slot per worker too.
            # Balanced workers: each takes 1/w of the sessions.
            rows.append({"limit": "worker_connections", "setting": f"{wc} x {w} workers", "sessions": w * (wc - listeners) // 2,
                         "note": "two connections per session; the listening sockets hold slots too; workers balanced (the per-worker files show how evenly)"})
            rows.append({"limit": "worker_rlimit_nofile", "setting": f"{rl} per worker", "sessions": w * (rl - listeners) // 2,
                         "note": "two descriptors per session"})
            rows.append({"limit": "source ports toward one home port",
                         "setting": f"ip_local_port_range {' '.join(port_range)}, {reserved} reserved, × {families} address famil{'ies' if families > 1 else 'y'} ({ports})",
                         "sessions": ports, "note": "nginx connects from the edge's tailnet address to home:5223 for every session"
                         + ("; over IPv6 (the backup) once IPv4's ports are held" if families > 1 else "")})
            if nofile_hard:
                rows.append({"limit": "this lab's open-files hard limit (not a server's)", "setting": f"ulimit -Hn {nofile_hard}",
                             "sessions": w * ((min(nofile_hard, rl) if rl else nofile_hard) - listeners) // 2, "lab_only": True,
                             "note": "a container without CAP_SYS_RESOURCE: nginx cannot raise its own limit above it"})
        else:
            rows.append({"limit": "masquerade source ports toward one home port", "setting": "1024-65535 (64512)", "sessions": 64512,
                         "note": "every forwarded session leaves from the edge's one tailnet address to home:5222"})
        if ct_per:
            # The edge sets the table's size (conntrackMax); runs before it did meet the kernel's default.
            ct_small = int(edge.get("edge_conntrack_max") or SMALL["conntrack_max"])
            what = "the edge's conntrackMax" if edge.get("edge_conntrack_max") else "4 GB server default"
            rows.append({"limit": f"nf_conntrack_max ({what})", "setting": str(ct_small),
                         "sessions": int(ct_small / ct_per), "small_server": True,
                         "note": f"{ct_per:.2f} entries per session, measured"})
            rows.append({"limit": "nf_conntrack_max (this machine)", "setting": str(ct_here), "sessions": int(ct_here / ct_per) if ct_here else None,
                         "lab_only": True, "note": "the lab machine has more than 4 GiB"})
        kernel = kernel_edge_bytes(summary, path)
        per_bytes = (rss or 0) + (kernel if kernel is not None else ct_bytes)
        if per_bytes > 0:
            rows.append({"limit": "memory (4 GB server, ~3 GiB for sessions)",
                         "setting": f"{per_bytes / 1024:.1f} KiB per session (nginx {(rss or 0) / 1024:.1f} + kernel "
                                    f"{(kernel if kernel is not None else ct_bytes) / 1024:.1f})",
                         "sessions": int(SMALL["mem_for_sessions_mib"] * 1024 * 1024 / per_bytes), "small_server": True,
                         "note": "nginx RSS growth per session, measured; the kernel's share is an estimate from the machine-wide slab growth "
                                 "(see kernel_edge_bytes in scale_analyse.py)" if kernel is not None else "nginx RSS growth and conntrack entries"})
        rows = [r for r in rows if r.get("sessions")]
        rows.sort(key=lambda r: r["sessions"])
        out[path] = {"rows": rows, "first": next((r for r in rows if not r.get("lab_only")), None)}
    return out


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--res", required=True)
    a.add_argument("--out", required=True)
    args = a.parse_args()
    d = analyse(args.res)
    with open(args.out, "w") as f:
        json.dump(d, f, indent=1, sort_keys=True)
        f.write("\n")
    for path, l in d["limits"].items():
        first = l["first"]
        print(f"scale: {path}: first limit {first['limit']} at {first['sessions']} sessions" if first else f"scale: {path}: no limit computed")


if __name__ == "__main__":
    main()
