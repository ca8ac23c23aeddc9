"""bench/scale.json (and bench/scale-before.json, the same bench on earlier
settings, for comparison) -> REPORT.md's scale section and scale.png.
Called by report.py; also usable alone:

usage: report_scale.py --scale bench/scale.json [--before bench/scale-before.json] --out bench/
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATH_NAME = {"443": "443 (nginx, ALPN xmpp-client → home 5223)", "5222": "5222 (DNAT + masquerade → home 5222)"}
COLOR = {"443": "#1f77b4", "5222": "#2ca02c"}


def fmt(v, d=1):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{d}f}"


def med(s, k=None, scale=1.0, d=1):
    s = s.get(k) if k else s
    if not s:
        return "–"
    if s["n"] > 1 and s["min"] != s["max"]:
        return f"{fmt(s['median'] / scale, d)} ({fmt(s['min'] / scale, d)}–{fmt(s['max'] / scale, d)})"
    return fmt(s["median"] / scale, d)


def legit(d, path=None):
    return [s for s in d["summary"] if s["kind"] == "legit" and (path is None or s["path"] == path)]


def held(d, path):
    """The biggest point of this path that every repetition completed (all sessions alive)."""
    ok = [s for s in legit(d, path) if s["complete"] == s["reps"]]
    return max(ok, key=lambda s: s["n"]) if ok else None


def headline(d):
    s = held(d, "443")
    if not s:
        return None
    rss = s["nginx_rss_mib"]["median"]
    ct = (s["per_session"]["conntrack_bytes"] or {}).get("median") or 0
    total = rss + ct * s["n"] / 1048576
    return s["n"], total, s


def settings_line(st):
    return (f"worker_processes {st.get('worker_processes')}, worker_connections {st.get('worker_connections')}, "
            f"worker_rlimit_nofile {st.get('worker_rlimit_nofile')}, listen {st.get('listen_443')}"
            + (f", proxy_buffer_size {st['proxy_buffer_size']}" if st.get("proxy_buffer_size") else ""))


def points_table(d):
    L = ["| path | sessions | reps | open (min–max) | alive | nginx RSS MiB | nginx KiB/session | conntrack entries/session | "
         "nginx CPU ms/new session | softirq ms/new session (machine) | CPU ms/new session (machine) | per-source drops | "
         "what failed |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in legit(d):
        p = s["per_session"]
        fails = []
        for e, v in sorted(s["client_errors"].items(), key=lambda x: -x[1])[:2]:
            fails.append(f"client: {v} × {e}")
        for e, v in sorted(s["nginx_errors"].items(), key=lambda x: -x[1])[:2]:
            fails.append(f"nginx: {v} × {e}")
        L.append(f"| {s['path']} | {s['n']:,} | {s['reps']} | {med(s, 'open', d=0)} | {med(s, 'alive', d=0)} | "
                 f"{med(s, 'nginx_rss_mib')} | {med(p, 'nginx_rss_bytes', 1024) if s['path'] == '443' else '– (not in the path)'} | {med(p, 'conntrack_entries', d=2)} | "
                 f"{med(p, 'nginx_cpu_ms', d=3)} | {med(p, 'softirq_ms_machine', d=3)} | {med(p, 'cpu_ms_machine', d=2)} | "
                 f"{med(s, 'limit_drops', d=0)} | {'; '.join(fails) or '–'} |")
    return "\n".join(L) + "\n"


def limits_table(d):
    L = ["| path | limit | setting | sessions it allows | note |", "|---|---|---|---|---|"]
    for path, l in d["limits"].items():
        for r in l["rows"]:
            tag = " (lab only)" if r.get("lab_only") else " (4 GB server)" if r.get("small_server") else ""
            first = " **first**" if l["first"] is r or (l["first"] and l["first"]["limit"] == r["limit"]) else ""
            L.append(f"| {path} | {r['limit']}{tag}{first} | {r['setting']} | {r['sessions']:,} | {r['note']} |")
    return "\n".join(L) + "\n"


def chart(d, before, path):
    runs = [("after", d)] + ([("before", before)] if before else [])
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.8))
    fig.suptitle("bench:scale: idle TLS sessions through the edge (median of the repetitions, bars min–max; "
                 "dashed: the earlier settings of scale-before.json)", fontsize=11)
    for label, run in runs:
        ls = "-" if label == "after" else "--"
        for p in ("443", "5222"):
            ss = legit(run, p)
            if not ss:
                continue
            xs = [s["n"] for s in ss]

            def line(ax, get, scale=1.0):
                ys, lo, hi = [], [], []
                for s in ss:
                    v = get(s)
                    ys.append(v["median"] / scale if v else float("nan"))
                    lo.append((v["median"] - v["min"]) / scale if v else 0)
                    hi.append((v["max"] - v["median"]) / scale if v else 0)
                ax.errorbar(xs, ys, yerr=[lo, hi], ls=ls, marker="o", color=COLOR[p], capsize=3, label=f"{p} ({label})")
            line(axes[0], lambda s: s["alive"])
            if p == "443":
                line(axes[1], lambda s: s["nginx_rss_mib"])
            line(axes[2], lambda s: s["ct_est"])
            line(axes[3], lambda s: s["per_session"]["cpu_ms_machine"])
    top = max((s["n"] for s in legit(d)), default=1)
    axes[0].plot([0, top], [0, top], color="#999", lw=0.8, ls=":", label="target")
    titles = ["sessions alive (pinged end to end) vs opened", "nginx RSS, master + workers (MiB)",
              "conntrack entries (ESTABLISHED) on the edge", "machine CPU ms per new session (all hosts)"]
    for ax, t in zip(axes, titles):
        ax.set_title(t, fontsize=10)
        ax.set_xscale("log")
        ax.set_xlabel("sessions opened (target)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=90)


def config_table(d, what):
    pts = (d.get("config") or {}).get(what) or []
    if not pts:
        return None
    if what == "forwards":
        L = ["| extraForwards | DNAT rules | render (plan) ms | push bytes | nft file bytes | nft -c ms | nft -f ms | apply ms | "
             "connects/s to the last forward | ratio to 1 forward | connect p50 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
        for p in pts:
            L.append(f"| {p['size']:,} | {p['nft_rules']} | {med(p, 'render_ms', d=0)} | {med(p, 'stdin_bytes', d=0)} | "
                     f"{med(p, 'nft_bytes', d=0)} | {med(p, 'nft_check_ms')} | {med(p, 'nft_load_ms')} | {med(p, 'apply_ms', d=0)} | "
                     f"{med(p, 'conns_per_s', d=0)} | {med(p, 'conns_ratio', d=2)} | {med(p, 'conns_p50_ms', d=3)} |")
    else:
        L = ["| web names | render (plan) ms | push bytes | nginx.conf bytes | nft -f ms | apply ms |", "|---|---|---|---|---|---|"]
        for p in pts:
            L.append(f"| {p['size']:,} | {med(p, 'render_ms', d=0)} | {med(p, 'stdin_bytes', d=0)} | {med(p, 'nginx_bytes', d=0)} | "
                     f"{med(p, 'nft_load_ms')} | {med(p, 'apply_ms', d=0)} |")
    return "\n".join(L) + "\n"


def config_chart(d, before, path):
    runs = [("after", d)] + ([("before", before)] if before and (before.get("config") or {}).get("forwards") else [])
    if not (d.get("config") or {}).get("forwards"):
        return False
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    fig.suptitle("bench:scale: cost of the configuration as extraForwards grow (median, bars min–max; dashed: the earlier settings of scale-before.json)", fontsize=11)
    for label, run in runs:
        pts = run["config"]["forwards"]
        xs = [p["size"] for p in pts]
        ls = "-" if label == "after" else "--"
        for ax, k, scale in ((axes[0], "conns_per_s", 1), (axes[1], "nft_load_ms", 1), (axes[2], "apply_ms", 1)):
            ys = [p[k]["median"] / scale if p[k] else float("nan") for p in pts]
            lo = [(p[k]["median"] - p[k]["min"]) / scale if p[k] else 0 for p in pts]
            hi = [(p[k]["max"] - p[k]["median"]) / scale if p[k] else 0 for p in pts]
            ax.errorbar(xs, ys, yerr=[lo, hi], ls=ls, marker="o", capsize=3, label=label)
    for ax, t in zip(axes, ["new TCP connections/s to the LAST forward", "nft -f of the ruleset (ms)", "the apply on the vps (ms)"]):
        ax.set_xscale("log")
        ax.set_xlabel("extraForwards")
        ax.set_title(t, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, dpi=90)
    return True


def config_section(d, before, out):
    ft = config_table(d, "forwards")
    wt = config_table(d, "webnames")
    if not ft and not wt:
        return ""
    m = d["meta"]
    L = ["### Configuration scaling\n",
         "The bench stack with N extraForwards (a mix of single ports, remapped ports, UDP and 3-port ranges, the LAST one "
         "TCP to a sink at home) or N web names: the render (test/lab/render.ts: model, validation, renderers, the push script; "
         "its wall time includes tsx's start), the push's size, `nft -c` and `nft -f` of the ruleset in a scratch namespace (5 "
         "each, median), the real apply on the vps, and new TCP connections per second to the last forward for "
         f"{m.get('cfg_secs', '?')} s (4 in flight, from 1,000 client addresses: under the per-source limits). Median (min–max) of "
         f"{m.get('cfg_reps', '?')} repetitions; the ratio is per repetition, against 1 forward.\n"]
    if config_chart(d, before, os.path.join(out, "scale-config.png")):
        L.append("![chart: connect rate to the last forward, nft load time, apply time](scale-config.png)\n")
    if ft:
        L.append("**extraForwards" + (" (the rendered settings)" if before and (before.get("config") or {}).get("forwards") else "") + "**\n")
        L.append(ft)
        bt = config_table(before, "forwards") if before else None
        if bt:
            L.append(f"**extraForwards (earlier settings, {before['meta'].get('git', '?')})**\n")
            L.append(bt)
    if wt:
        L.append("**Web names**\n")
        L.append(wt)
    return "\n".join(L)


def stream_section(d):
    rows = d.get("stream") or []
    if not rows:
        return ""
    m = d["meta"]
    L = ["### The 443 path: nginx stream settings side by side\n",
         "One TLS stream (ALPN xmpp-client, 128 KiB frames) through 443 and directly to home, back to back, per variant of the "
         "applied nginx.conf (one setting changed on the vps for this measurement; variants in rotating order), "
         f"{m.get('stream_reps', '?')} repetitions × {m.get('stream_secs', '?')} s. Ratio: through 443 / direct, per repetition. "
         "CPU per GB: nginx's own, and the machine's softirq and busy time (client, edge and home share two cores).\n",
         "| variant | through 443 Mbit/s | direct Mbit/s | ratio | vs base | nginx CPU s/GB | softirq s/GB (machine) | busy s/GB (machine) |",
         "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append(f"| {r['variant']} | {med(r, 'edge_mbit_s', d=0)} | {med(r, 'direct_mbit_s', d=0)} | {med(r, 'ratio', d=2)} | "
                 f"{'×%.2f' % r['vs_base'] if r.get('vs_base') else '–'} | {med(r, 'nginx_cpu_s_per_gb', d=2)} | "
                 f"{med(r, 'softirq_s_per_gb_machine', d=2)} | {med(r, 'busy_s_per_gb_machine', d=2)} |")
    by = {r["variant"]: r for r in rows}
    base, big = by.get("base"), by.get("proxy_buffer_size=64k")
    idle = {s["kind"]: s for s in d["summary"] if s["kind"].startswith("variant-")}
    if base and big and base["nginx_cpu_s_per_gb"] and big["nginx_cpu_s_per_gb"]:
        vb, v64 = idle.get("variant-base"), idle.get("variant-proxy_buffer_size=64k")
        mem = " Idle sessions with bigger buffers are not measured in this run (labelled variant points: `SCALE_VARIANT_POINTS`)."
        if vb and v64:
            mem = (f" An idle session holds the same either way ({med(v64['per_session'], 'nginx_rss_bytes', 1024)} vs "
                   f"{med(vb['per_session'], 'nginx_rss_bytes', 1024)} KiB: only the touched pages of the buffers are resident).")
        L.append(f"\nWhere the 443 path's time goes: nginx copies every byte through user space, {fmt(base['nginx_cpu_s_per_gb']['median'], 2)} s of "
                 f"CPU per GB with the default 16 KiB buffers, on the same two cores as the client and the home end (the whole machine: "
                 f"{fmt(base['busy_s_per_gb_machine']['median'], 2)} s per GB through 443). Bigger buffers mean fewer system calls per GB: "
                 f"`proxy_buffer_size 64k` takes nginx to {fmt(big['nginx_cpu_s_per_gb']['median'], 2)} s/GB and the ratio to "
                 f"{med(big, 'ratio', d=2)} (×{big.get('vs_base', 0):.2f} of base), 4k to {fmt(by['proxy_buffer_size=4k']['nginx_cpu_s_per_gb']['median'], 2) if by.get('proxy_buffer_size=4k') else '–'} s/GB."
                 f"{mem} A session that once moves a burst (a MAM catch-up, a file through 443) keeps both buffers resident until it "
                 "closes (nginx frees them with the connection; not measured here): 2 × 64 KiB instead of 2 × 16 KiB, which would make memory, not ports or conntrack, the first limit of a 4 GB "
                 "server near 20,000 such sessions. Not adopted; the uplink of a real VPS binds well below nginx's copy rate here. "
                 "reuseport and one worker stay within base's spread (and the workers already share the sessions evenly: the "
                 "per-worker files in scale.json); tcp_nodelay off is worse. Not adopted either.\n")
    return "\n".join(L) + "\n"


def section(d, before):
    L = ["## Scale: idle sessions (`npm run bench:scale`)\n",
         "<!-- Generated by bench/report_scale.py from bench/scale.json (and scale-before.json). -->\n"]
    m = d["meta"]
    h = headline(d)
    if h:
        n, mib, s = h
        L.append(f"**One edge holds {n:,} idle XMPP sessions on 443 in {mib:.0f} MiB** (nginx's master and workers, "
                 f"{fmt(s['nginx_rss_mib']['median'])} MiB RSS, plus the kernel's conntrack entries), every one pinged end to end "
                 f"through the edge to the home sink, in each of {s['reps']} repetitions. "
                 f"Per idle session: nginx {med(s['per_session'], 'nginx_rss_bytes', 1024)} KiB, "
                 f"{med(s['per_session'], 'conntrack_entries', d=2)} conntrack entries on 443 and "
                 + (f"{med(held(d, '5222')['per_session'], 'conntrack_entries', d=2)} on 5222 (DNAT: no process at all). "
                    if held(d, "5222") else ". ")
                 + "The limits below say where the next sessions would fail.\n")
    L.append("![chart: sessions alive, nginx memory, conntrack entries, CPU per new session](scale.png)\n")
    L.append(f"Edge settings measured: {settings_line(d['settings'])}. nginx idle (fresh workers, no session): "
             f"{fmt((d['nginx_idle']['rss_kb'] or 0) / 1024)} MiB RSS in {fmt(d['nginx_idle']['workers'], 0)} workers + master.\n")
    if before:
        L.append(f"For comparison, earlier settings (`bench/scale-before.json`, commit {before['meta'].get('git', '?')}): {settings_line(before['settings'])}.\n")
    L.append("### Sessions held\n")
    L.append(f"Load: {m.get('points')} sessions per path, {m.get('scale_reps')} repetitions, opened at {m.get('rate')} new sessions/s "
             f"in all, from ⌈sessions/{m.get('per_src')}⌉ client addresses (and at least rate/{m.get('src_rate')}), so that each address "
             f"holds ≤ {m.get('per_src')} sessions and opens ≤ {m.get('src_rate')}/s — under the edge's per-source limits (64 concurrent, "
             "20/s burst 100). The per-source drops column proves it: 0 means the protection did not touch legitimate load. Every "
             "session: TCP connect, TLS handshake (ALPN xmpp-client) with the home sink through the edge, then idle; once all are "
             "open, each is pinged (1 byte there and back). Median (min–max) over the repetitions.\n")
    if before:
        L.append(f"**The rendered settings** (commit {m.get('git', '?')}):\n")
    L.append(points_table(d))
    if before:
        L.append(f"**Earlier settings** (commit {before['meta'].get('git', '?')}):\n")
        L.append(points_table(before))
    for s in [s for s in d["summary"] if s["kind"].startswith("variant-")]:
        L.append(f"**Variant (labelled, not the rendered settings):** {s['n']:,} sessions through {s['path']} with nginx "
                 f"`{s['kind'][len('variant-'):]}`: {med(s, 'open', d=0)} opened, {med(s, 'alive', d=0)} alive, nginx "
                 f"{med(s['per_session'], 'nginx_rss_bytes', 1024)} KiB RSS per idle session (the rendered settings: the table above).\n")
    side = [s for s in d["summary"] if s["kind"].startswith("side-")]
    for s in side:
        L.append(f"**Side measurement (not legitimate load; labelled):** {s['n']} sessions through {s['path']} from ONE address: "
                 f"{med(s, 'open', d=0)} opened, {med(s, 'limit_drops', d=0)} SYNs dropped by the per-source limits "
                 f"({', '.join(f'{v} × {e}' for e, v in s['client_errors'].items()) or 'no client errors'}). This is the limit "
                 "working: one address may hold 64 sessions; the load above stays under it by spreading over addresses.\n")
    L.append("### Limits\n")
    L.append("Sessions each limit allows, from the edge's settings and the per-session costs measured above; sorted, the first "
             "non-lab row is the one a server meets first. The 4 GB server rows use the conntrack table the edge sets "
             "(`conntrackMax`; runs before it existed: Linux's default for 1–4 GiB of RAM, 65,536 entries; this machine's value is "
             "listed as lab only) and ~3 GiB of the 4 GB for sessions (an estimate: the OS, tailscaled, coturn and sshd take the "
             "rest).\n")
    L.append(limits_table(d))
    if before:
        L.append(f"Earlier settings (commit {before['meta'].get('git', '?')}):\n")
        L.append(limits_table(before))
    L.append(config_section(d, before, OUT[0]))
    L.append(stream_section(d))
    L.append("### Method and caveats (scale)\n")
    L.append(f"""- Hosts: the bench's (bench/lib.sh: client, inet, vps, home; the lab's veth stand-in for the tailnet), namespace
  prefix `xsc-`; the edge is the bench stack applied by the real push. Client addresses: 198.18.0.0/15 (RFC 2544's
  benchmarking range) on the client, {m.get('per_src')} sessions per address at most.
- nginx is reloaded before every point (fresh workers: the memory a point shows is its own) and the edge's TIME_WAIT
  sockets from the last point are let go first (nginx closes its upstream side first; those hold source ports).
- Memory: nginx RSS and PSS summed over master and workers (`/proc`), minus the fresh idle value, per open session.
  conntrack: ESTABLISHED entries in the edge's namespace (`/proc/net/nf_conntrack`) × the slab object size
  ({d['points'][0]['ct_obj_bytes'] if d['points'] else '?'} bytes). The sockets' kernel memory and the machine-wide slab growth are in scale.json
  (`slab_bytes_machine`), but they include the client's and home's sockets on the same kernel.
- CPU per new session: nginx's own (utime + stime of master and workers), and the machine's softirq and busy time over
  the ramp, divided by the sessions opened. The machine's numbers include the client's and home's TLS handshakes (Go)
  on the same two cores: an upper bound for the edge, useful as a ratio between the paths.
- Open files: this machine is a container without CAP_SYS_RESOURCE (`ulimit -Hn` {m.get('nofile_hard', '?')}): no process may hold
  more, nginx's workers included, so the client and the home sink run as several processes here; a real server's
  nginx (root, systemd) is not bound by it.
- Other work shares the machine (load recorded per point in scale.json); trust the memory and conntrack counts (exact)
  more than the CPU figures (noisy).
""")
    return "\n".join(L)


OUT = ["."]


def render(scale_path, before_path, out):
    OUT[0] = out
    d = json.load(open(scale_path))
    before = json.load(open(before_path)) if before_path and os.path.exists(before_path) else None
    chart(d, before, os.path.join(out, "scale.png"))
    return section(d, before)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", required=True)
    ap.add_argument("--before")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    print(render(a.scale, a.before, a.out))


if __name__ == "__main__":
    main()
