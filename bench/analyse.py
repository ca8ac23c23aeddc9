#!/usr/bin/python3
"""Turns the raw JSON lines of a bench run (bench/run.sh) into results.json.

usage: analyse.py --res DIR --push DIR --out results.json

Medians with min/max and quartiles over the repetitions; ratios against the
direct path as the median of per-repetition ratios (each path against the
direct run of the same repetition, measured minutes apart at most), with
their min and max.
"""
import argparse
import json
import os
import statistics

# What each path is. "baseline": the direct path its ratios are taken against.
PATHS = {
    "direct-tcp": {"label": "direct (no edge)", "what": "client -> vps (kernel IP forwarding, no NAT, no proxy) -> tailscale0 -> home:5222", "kind": "baseline", "baseline": None},
    "dnat": {"label": "edge: nftables DNAT + masquerade (5222)", "what": "client -> vps:5222, DNAT to home:5222, masquerade onto tailscale0", "kind": "ours", "baseline": "direct-tcp"},
    "nginx-pp": {"label": "edge: nginx stream + PROXY v1 (5222)", "what": "client -> nginx stream on vps:5222 (clientIp proxy-protocol) -> home:15222, PROXY v1 header first", "kind": "ours", "baseline": "direct-tcp"},
    "rinetd": {"label": "rinetd", "what": "client -> rinetd on vps:7222 -> home:5222", "kind": "alternative", "baseline": "direct-tcp"},
    "socat": {"label": "socat (fork)", "what": "client -> socat TCP-LISTEN,fork on vps:7223 -> home:5222", "kind": "alternative", "baseline": "direct-tcp"},
    "direct-tls": {"label": "direct (no edge)", "what": "client -> vps (kernel IP forwarding) -> tailscale0 -> home:5223, TLS end to end", "kind": "baseline", "baseline": None},
    "nginx-alpn": {"label": "edge: nginx stream, ALPN routing (443)", "what": "client -> nginx ssl_preread on vps:443, ALPN xmpp-client -> home:5223", "kind": "ours", "baseline": "direct-tls"},
    "nginx-alpn-onesrc": {"label": "edge: 443 from ONE client address (per-source limit)", "what": "the same as nginx-alpn, every connection from one address: the edge's per-source limit (20 new/s) must hold it", "kind": "ours", "baseline": "direct-tls"},
    "haproxy": {"label": "HAProxy (TCP mode, ALPN/SNI)", "what": "client -> haproxy on vps:8443, req.ssl_alpn xmpp-client -> home:5223", "kind": "alternative", "baseline": "direct-tls"},
    "sslh": {"label": "sslh (fork, Debian's default)", "what": "client -> sslh on vps:9443, alpn_protocols xmpp-client -> home:5223", "kind": "alternative", "baseline": "direct-tls"},
    "sslh-select": {"label": "sslh-select", "what": "client -> sslh-select on vps:9444, alpn_protocols xmpp-client -> home:5223", "kind": "alternative", "baseline": "direct-tls"},
    "direct-udp": {"label": "direct (no edge)", "what": "client -> vps (kernel IP forwarding) -> tailscale0 -> home:64738/udp", "kind": "baseline", "baseline": None},
    "dnat-udp": {"label": "edge: nftables DNAT + masquerade (UDP 64738)", "what": "client -> vps:64738/udp, DNAT to home, masquerade", "kind": "ours", "baseline": "direct-udp"},
    "direct-udp-peer": {"label": "direct to the peer (no relay)", "what": "client -> inet -> vps (kernel IP forwarding) -> inet -> peer:3490/udp", "kind": "baseline", "baseline": None},
    "turn": {"label": "edge: coturn relay (TURN, UDP)", "what": "client -> coturn on vps:3478 (ChannelData) -> relay port -> peer:3490/udp", "kind": "ours", "baseline": "direct-udp-peer"},
}

# metric id -> (run metric, result field, unit, label, higher is better)
METRICS = {
    "tcp_mbit_s": ("tput", "mbit_s", "Mbit/s", "TCP throughput, one stream", True),
    "tls_mbit_s": ("tput-tls", "mbit_s", "Mbit/s", "TLS stream throughput, one stream (ALPN xmpp-client)", True),
    "hs_p50_ms": ("conns-c1", "p50_ms", "ms", "connect + TLS handshake, p50 (one at a time)", False),
    "hs_p99_ms": ("conns-c1", "p99_ms", "ms", "connect + TLS handshake, p99 (one at a time)", False),
    "conns_per_s": ("conns-cN", "per_s", "conn/s", "new TLS connections per second (N in flight)", True),
    "conns_p50_ms": ("conns-cN", "p50_ms", "ms", "connect + TLS handshake p50 at N in flight", False),
    "conns_p99_ms": ("conns-cN", "p99_ms", "ms", "connect + TLS handshake p99 at N in flight", False),
    "udp_pps": ("udp", "recv_pps", "pkt/s", "UDP packets per second delivered (172-byte payloads, one unpaced sender)", True),
    "udp_loss": ("udp", "loss", "fraction", "UDP loss at that offered load", False),
    "iperf3_mbit_s": ("iperf3", "mbit_s", "Mbit/s", "iperf3 cross-check, TCP, one stream", True),
}

# Which daemon on the vps does the work of a path (footprint, CPU).
PATH_GROUP = {"nginx-alpn": "nginx", "nginx-alpn-onesrc": "nginx", "nginx-pp": "nginx", "turn": "turnserver", "haproxy": "haproxy",
              "sslh": "sslh", "sslh-select": "sslh-select", "rinetd": "rinetd", "socat": "socat"}
GROUPS = ["nginx", "turnserver", "tailscaled", "haproxy", "sslh", "sslh-select", "rinetd", "socat", "sshd"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def key_of(path, phase):
    """A path's name in results.json: plain in the first phase (masquerade),
    suffixed with its phase elsewhere ("direct-tls@tailnet"), except nginx-pp,
    which only the proxy-protocol phase has."""
    if phase == "masquerade" or (phase == "proxy-protocol" and path == "nginx-pp"):
        return path
    return f"{path}@{phase}"


def groups_of(run):
    """The vps daemons that carry a run: the path's own, and tailscaled on the real tailnet."""
    gs = [PATH_GROUP[run["path"]]] if run["path"] in PATH_GROUP else []
    return gs + (["tailscaled"] if run["phase"] == "tailnet" else [])


def jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def stats(values):
    v = sorted(values)
    if not v:
        return None
    out = {"n": len(v), "median": statistics.median(v), "min": v[0], "max": v[-1]}
    if len(v) >= 4:
        q = statistics.quantiles(v, n=4, method="inclusive")
        out["q1"], out["q3"] = q[0], q[2]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--res", required=True)
    ap.add_argument("--push", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    meta = {}
    with open(os.path.join(a.res, "meta.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    conns_c = meta.get("conns_c", "8")
    meta["quiet"] = json.load(open(os.path.join(a.res, "quiet.json"))) if os.path.exists(os.path.join(a.res, "quiet.json")) else None
    meta["load_marks"] = jsonl(os.path.join(a.res, "load.jsonl"))

    runs = jsonl(os.path.join(a.res, "runs.jsonl"))
    for r in runs:
        if r["metric"] == f"conns-c{conns_c}":
            r["metric"] = "conns-cN"
    loads = [r["load1"] for r in runs]
    meta["load1_during_runs"] = stats(loads)

    # Values per metric, path, phase, rep.
    table = {}
    errors = {}
    for r in runs:
        res = r["res"]
        key = (r["metric"], r["path"], r["phase"])
        if "error" in res:
            errors.setdefault(key, []).append(res["error"])
            continue
        table.setdefault(key, {})[r["rep"]] = res

    summary = {}
    for mid, (rm, field, unit, label, hib) in METRICS.items():
        out = {}
        for (metric, path, phase), reps in table.items():
            if metric != rm:
                continue
            vals = {rep: res[field] for rep, res in reps.items() if field in res}
            s = stats(list(vals.values()))
            if s is None:
                continue
            s["phase"] = phase
            s["values"] = [vals[k] for k in sorted(vals)]
            errs = [res.get("errors", 0) for res in reps.values()]
            if any(errs):
                s["conn_errors"] = sum(errs)
                s["conn_ok"] = sum(res.get("ok", 0) for res in reps.values())
                s["first_error"] = next((res["first_error"] for res in reps.values() if res.get("first_error")), None)
            if rm == "udp":
                s["sent_pps_median"] = statistics.median(res["sent_pps"] for res in reps.values())
            base = PATHS.get(path, {}).get("baseline")
            if rm == "iperf3" and path != "direct-tcp":
                base = "direct-tcp"
            if base and (rm, base, phase) in table and mid != "udp_loss":
                bvals = {rep: res[field] for rep, res in table[(rm, base, phase)].items() if field in res}
                ratios = [vals[k] / bvals[k] for k in vals if k in bvals and bvals[k]]
                if ratios:
                    s["ratio"] = statistics.median(ratios)
                    s["ratio_min"], s["ratio_max"] = min(ratios), max(ratios)
                    s["baseline"] = base
            failed = errors.get((rm, path, phase))
            if failed:
                s["failed_runs"] = len(failed)
                s["failed_example"] = failed[0]
            out[key_of(path, phase)] = s
        # A path whose every run failed still shows up.
        for (metric, path, phase), errs in errors.items():
            if metric == rm and key_of(path, phase) not in out:
                out[key_of(path, phase)] = {"n": 0, "phase": phase, "failed_runs": len(errs), "failed_example": errs[0]}
        if out:
            summary[mid] = {"unit": unit, "label": label.replace("N in flight", f"{conns_c} in flight"),
                            "higher_is_better": hib, "paths": out}

    # ---- footprint and CPU on the vps ----
    samples = jsonl(os.path.join(a.res, "rss.jsonl"))
    windows = {w["name"]: w for w in jsonl(os.path.join(a.res, "windows.jsonl"))}

    def in_window(t0, t1):
        return [s for s in samples if t0 <= s["t"] <= t1]

    def group_val(s, g, k):
        return s["g"].get(g, {}).get(k, 0)

    footprint = {"idle": {}, "idle_edge_only": {}, "idle_tailnet": {}, "load_max": {}, "note": None}
    for name, key in (("idle", "idle"), ("idle-edge-only", "idle_edge_only"), ("idle-tailnet", "idle_tailnet")):
        w = windows.get(name)
        if not w:
            continue
        ss = in_window(w["t0"], w["t1"])
        for g in GROUPS:
            if ss and any(g in s["g"] for s in ss):
                footprint[key][g] = {
                    "rss_kb": statistics.median(group_val(s, g, "rss_kb") for s in ss),
                    "pss_kb": statistics.median(group_val(s, g, "pss_kb") for s in ss),
                    "processes": statistics.median(group_val(s, g, "n") for s in ss),
                }
    data_runs = [r for r in runs if r["metric"] != "iperf3"]
    cpu = {}
    for g in GROUPS:
        mx = None
        for r in data_runs:
            if g not in groups_of(r):
                continue
            ss = in_window(r["t0"], r["t1"])
            if not ss:
                continue
            peak = max(ss, key=lambda s: group_val(s, g, "rss_kb"))
            if mx is None or group_val(peak, g, "rss_kb") > mx["rss_kb"]:
                mx = {"rss_kb": group_val(peak, g, "rss_kb"), "pss_kb": group_val(peak, g, "pss_kb"),
                      "processes": group_val(peak, g, "n"), "during": f'{r["metric"]} {key_of(r["path"], r["phase"])}'}
        if mx:
            footprint["load_max"][g] = mx
    # CPU of the path's daemon per run (and of tailscaled on the real tailnet,
    # kept apart): cores busy, and per unit of work.
    cpu_ts = {}
    for r, g in ((r, g) for r in data_runs for g in groups_of(r)):
        if "error" in r["res"]:
            continue
        ss = in_window(r["t0"], r["t1"])
        if len(ss) < 3:
            continue
        first, last = ss[0], ss[-1]
        dt = (last["t"] - first["t"]) / 1e9
        if dt <= 0:
            continue
        cores = (group_val(last, g, "cpu_ticks") - group_val(first, g, "cpu_ticks")) / CLK_TCK / dt
        m = r["metric"]
        rate, unit = None, None
        if m in ("tput", "tput-tls"):
            rate, unit = r["res"]["mbit_s"] / 8 / 1000, "cpu_s_per_gb"  # GB/s
        elif m == "conns-cN":
            rate, unit = r["res"]["per_s"] / 1000, "cpu_ms_per_conn"  # per ms
        elif m == "udp":
            rate, unit = r["res"]["recv_pps"] / 1e6, "cpu_us_per_pkt"  # per µs
        if not rate:
            continue
        into = cpu_ts if g == "tailscaled" else cpu
        key = key_of(r["path"], r["phase"])
        into.setdefault(r["metric"], {}).setdefault(key, {"cores": [], unit: []})
        into[r["metric"]][key]["cores"].append(cores)
        into[r["metric"]][key][unit].append(cores / rate)

    def cpu_medians(c):
        return {m: {p: {k: statistics.median(v) for k, v in d.items() if v} for p, d in byp.items()} for m, byp in c.items()}
    cpu_summary = cpu_medians(cpu)
    footprint["note"] = ("RSS summed over the group's processes (shared pages counted once per process); PSS shares them out. "
                         "tailscaled: only in the tailnet phase (idle_tailnet; load_max over that phase's runs).")

    # ---- control plane ----
    ctl = jsonl(os.path.join(a.res, "control.jsonl"))
    control = {"runs": ctl, "by_kind": {}}
    control["failures"] = [
        {k: r.get(k) for k in ("kind", "bundle", "rc", "confirm_rc", "apply_ns", "push_wall_ns", "load1", "errors")}
        for r in ctl if r["rc"] != 0 or r["confirm_rc"] != 0]
    for kind in ("first", "noop", "change", "clientip-change", "tailnet-restore"):
        rs = [r for r in ctl if r["kind"] == kind and r["rc"] == 0 and r["confirm_rc"] == 0]
        if not rs:
            continue
        control["by_kind"][kind] = {
            "n": len(rs),
            # A change's bytes: the push that adds the forward (the one removing it is the good bundle again).
            "stdin_bytes": stats([r["stdin_bytes"] for r in rs if kind != "change" or r["bundle"] == "change"]),
            "ssh_sessions": stats([r["ssh_sessions"] for r in rs]),
            "ssh_wire_bytes": stats([r["ssh_wire_bytes"] for r in rs]),
            "apply_ms": stats([r["apply_ns"] / 1e6 for r in rs if r.get("apply_ns")]),
            "push_wall_ms": stats([r["push_wall_ns"] / 1e6 for r in rs]),
            "confirm_wall_ms": stats([r["confirm_wall_ns"] / 1e6 for r in rs]),
            "results": sorted({r["result"] for r in rs}),
            "failed": sum(1 for r in ctl if r["kind"] == kind and (r["rc"] != 0 or r["confirm_rc"] != 0)),
        }
    sizes = {}
    for name in ("good", "change", "pp"):
        p = os.path.join(a.push, name, "sizes.json")
        if os.path.exists(p):
            sizes[name] = json.load(open(p))
    control["bundles"] = sizes
    control["pulumi"] = {
        "noop": {"ssh_sessions": 0, "stdin_bytes": 0,
                 "why": "derived from the program (components/push.ts): the push's stdin is renderPushScript(bundle), deterministic text; an unchanged bundle is no diff of the remote.Command, and the confirm is triggered by sha256(stdin), also unchanged: no SSH session at all"},
        "change": {"ssh_sessions": 2, "why": "the push (update: PUSH_COMMAND with the new stdin) and the confirm (replaced: its trigger sha256(stdin) changed)"},
        "first_hcloud": {"ssh_sessions": 3, "why": "with a created server also the wait command (cloud-init status --wait) before the push; the push's stdin starts with one comment line naming the server id"},
    }

    result = {"schema": 1, "meta": meta, "paths": PATHS, "summary": summary, "cpu": cpu_summary,
              "cpu_tailscaled": cpu_medians(cpu_ts),
              "footprint": footprint, "control_plane": control, "runs": runs}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"analyse: {len(runs)} runs, {len(ctl)} pushes -> {a.out}")


if __name__ == "__main__":
    main()
