#!/usr/bin/python3
"""bench/results.json -> bench/REPORT.md and bench/chart.png; with
bench/scale.json (npm run bench:scale) also REPORT.md's scale section and
bench/scale.png (report_scale.py), and from bench/flood.json (npm run
bench:flood) the "Under flood" section (flood_report.py).

usage: report.py --results bench/results.json --out bench/ [--scale bench/scale.json] [--scale-before bench/scale-before.json]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"baseline": "#9e9e9e", "ours": "#1f77b4", "alternative": "#ff7f0e", "tailnet": "#2ca02c"}
SHORT = {"direct-tcp": "direct", "dnat": "DNAT +\nmasquerade", "direct-tcp@proxy-protocol": "direct\n(PROXY run)",
         "nginx-pp": "nginx +\nPROXY v1", "rinetd": "rinetd", "socat": "socat", "direct-tls": "direct",
         "nginx-alpn": "nginx\nALPN (443)", "haproxy": "HAProxy", "sslh": "sslh\n(fork)", "sslh-select": "sslh-\nselect",
         "direct-udp": "direct\nto home", "dnat-udp": "DNAT +\nmasquerade", "direct-udp-peer": "direct\nto peer",
         "turn": "coturn\nrelay"}


def short(p):
    return SHORT.get(p) or SHORT.get(p.split("@")[0], p)


def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is not None:
        return f"{v:.{digits}f}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def ratio(s, digits=2):
    if not s or s.get("ratio") is None:
        return "–"
    return f"×{s['ratio']:.{digits}f}"


def ratio_span(s):
    if not s or s.get("ratio") is None:
        return "–"
    return f"×{s['ratio']:.2f} ({s['ratio_min']:.2f}–{s['ratio_max']:.2f})"


def mb(kb):
    return f"{kb / 1024:.1f}" if kb else "–"


class R:
    def __init__(self, d):
        self.d = d
        self.s = d["summary"]
        self.paths = d["paths"]

    def get(self, metric, path):
        return self.s.get(metric, {}).get("paths", {}).get(path)

    def med(self, metric, path):
        s = self.get(metric, path)
        return s.get("median") if s else None

    def baseline(self, metric, path):
        """The direct path a path's ratio is taken against, in the same phase (run) as the path."""
        s = self.get(metric, path)
        if not s or not s.get("baseline"):
            return None
        phase = path.partition("@")[2]
        return self.get(metric, s["baseline"] + "@" + phase) if phase else self.get(metric, s["baseline"])

    def label(self, path):
        if path.endswith("@proxy-protocol"):
            return "direct (no edge), proxy-protocol run"
        base, _, phase = path.partition("@")
        label = self.paths.get(base, {}).get("label", base)
        if phase == "tailnet":
            label = ("direct (no edge; forwarding + masquerade)" if base.startswith("direct") else label) + ", real tailnet"
        return label

    def kind(self, path):
        return self.paths.get(path.split("@")[0], {}).get("kind", "baseline")


def paragraph(r):
    """REPORT.md's summary paragraph: headline ratios only."""
    d = r.d
    ctl = d["control_plane"]["by_kind"]
    fp = d["footprint"]
    g = r.get

    def x(m, p):
        return ratio(g(m, p))

    def spread(m, p):
        s = g(m, p)
        return f"×{s['ratio_min']:.2f}–{s['ratio_max']:.2f}"

    parts = [
        f"Measured with `npm run bench` in the network lab (namespaces on one {d['meta'].get('cpus', '?')}-core "
        "machine; every number, its spread and how it was taken are below). A ratio \"×\" is the median of the "
        "per-repetition ratios (each repetition measures the path and the direct path back to back), not the ratio of the "
        "two medians printed beside it."
    ]
    parts += tailnet_sentences(r)
    s = g("tcp_mbit_s", "dnat")
    if s and s.get("ratio") is not None:
        within = s["ratio_min"] <= 1 <= s["ratio_max"]
        t = ("Over a veth stand-in for the tailnet (no WireGuard, so what the edge itself costs stands out; direct there is "
             f"kernel routing, no NAT, no proxy), the DNAT + masquerade ports are {'as fast as direct within the noise' if within else 'at ' + x('tcp_mbit_s', 'dnat') + ' of direct'}: "
             f"one TCP stream {x('tcp_mbit_s', 'dnat')} ({spread('tcp_mbit_s', 'dnat')} per repetition")
        if g("iperf3_mbit_s", "dnat") and g("iperf3_mbit_s", "dnat").get("ratio") is not None:
            t += f"; iperf3 {x('iperf3_mbit_s', 'dnat')}"
        t += ")"
        if g("udp_pps", "dnat-udp") and g("udp_pps", "dnat-udp").get("ratio") is not None:
            t += f", UDP packets {x('udp_pps', 'dnat-udp')}"
        parts.append(t + ".")
    if g("tls_mbit_s", "nginx-alpn"):
        t = (f"The user-space paths cost CPU for copying: a TLS stream through nginx's ALPN routing on 443 reaches "
             f"{x('tls_mbit_s', 'nginx-alpn')} of direct (HAProxy {x('tls_mbit_s', 'haproxy')}, sslh {x('tls_mbit_s', 'sslh')})")
        if g("tcp_mbit_s", "nginx-pp"):
            t += (f", plain TCP through nginx with the PROXY header {x('tcp_mbit_s', 'nginx-pp')} "
                  f"(rinetd {x('tcp_mbit_s', 'rinetd')}, socat {x('tcp_mbit_s', 'socat')})")
        parts.append(t + "; on a real VPS the uplink and WireGuard bind well before these rates (several Gbit/s here).")
    if g("conns_per_s", "nginx-alpn") and g("hs_p50_ms", "nginx-alpn") and g("hs_p50_ms", "direct-tls"):
        t = (f"New TLS connections on 443: {x('conns_per_s', 'nginx-alpn')} of the direct rate "
             f"({fmt(r.med('conns_per_s', 'nginx-alpn'))}/s vs {fmt(r.med('conns_per_s', 'direct-tls'))}/s); "
             f"median connect + handshake {r.med('hs_p50_ms', 'nginx-alpn'):.2f} vs {r.med('hs_p50_ms', 'direct-tls'):.2f} ms "
             f"({x('hs_p50_ms', 'nginx-alpn')} paired per repetition), p99 {r.med('hs_p99_ms', 'nginx-alpn'):.1f} vs "
             f"{r.med('hs_p99_ms', 'direct-tls'):.1f} ms")
        lossy = [(p, g("conns_per_s", p)) for p in ("haproxy", "sslh", "sslh-select")
                 if g("conns_per_s", p) and g("conns_per_s", p).get("conn_errors")]
        for p, c in lossy:
            n = c["conn_errors"] + c["conn_ok"]
            t += f"; {r.label(p)} dropped {100 * c['conn_errors'] / n:.1f} % of them"
        one = g("conns_per_s", "nginx-alpn-onesrc")
        if one and one.get("median") is not None:
            t += (f". These come from {d['meta'].get('conns_src', '?')} client addresses: the same load from one address is held to "
                  f"{fmt(one['median'])}/s by the edge's per-source limit, as it should be")
        parts.append(t + ".")
    if g("udp_pps", "turn"):
        parts.append(f"coturn relays {x('udp_pps', 'turn')} of the direct UDP packet rate ({fmt(r.med('udp_pps', 'turn') / 1000)}k packets/s).")
    if "first" in ctl and "noop" in ctl and "change" in ctl:
        files = d["control_plane"].get("bundles", {}).get("good", {}).get("files", {})
        share = ""
        if files:
            apply = next((v for k, v in files.items() if k.endswith("/xmpp-edge-apply")), 0)
            share = f", {100 * apply / sum(files.values()):.0f} % of it the apply script"
        parts.append(
            f"A push ships the whole bundle ({ctl['first']['stdin_bytes']['median'] / 1000:.0f} kB{share}) in "
            f"{ctl['change']['ssh_sessions']['median']:.0f} SSH sessions (push, confirm); the on-host apply takes "
            f"{ctl['first']['apply_ms']['median'] / 1000:.2f} s the first time, {ctl['noop']['apply_ms']['median'] / 1000:.2f} s "
            f"for a no-op and {ctl['change']['apply_ms']['median'] / 1000:.2f} s for a one-forward change; an unchanged stack "
            "opens no SSH session."
        )
    idle, load = fp.get("idle_edge_only") or fp.get("idle", {}), fp.get("load_max", {})
    if "nginx" in idle and "turnserver" in idle:
        t = (f"nginx (master + workers) and coturn use {idle['nginx']['rss_kb'] / 1024:.0f} and "
             f"{idle['turnserver']['rss_kb'] / 1024:.0f} MiB resident at idle")
        if "nginx" in load and "turnserver" in load:
            t += f", {load['nginx']['rss_kb'] / 1024:.0f} and {load['turnserver']['rss_kb'] / 1024:.0f} MiB under load"
        parts.append(t + ".")
    return " ".join(parts)


def tailnet_sentences(r):
    """The headline: the path users have, client -> edge -> WireGuard (tailscaled) -> home."""
    g = r.get
    dn, tls, cn = g("tcp_mbit_s", "dnat@tailnet"), g("tls_mbit_s", "nginx-alpn@tailnet"), g("conns_per_s", "nginx-alpn@tailnet")
    if not (dn and tls and dn.get("ratio") is not None and tls.get("ratio") is not None):
        return []

    def x(m, p):
        return ratio(g(m, p))

    def gbit(m, p):
        return f"{r.med(m, p) / 1000:.2f}"

    t = ("On the path users have, client → edge → WireGuard (tailscaled) → home, against the same path without the edge's "
         "processing (kernel forwarding and a masquerade onto the tailnet): the DNAT ports carry one TCP stream at "
         f"{x('tcp_mbit_s', 'dnat@tailnet')} of direct (×{dn['ratio_min']:.2f}–{dn['ratio_max']:.2f} per repetition; medians "
         f"{gbit('tcp_mbit_s', 'dnat@tailnet')} vs {gbit('tcp_mbit_s', 'direct-tcp@tailnet')} Gbit/s)")
    u, ul = g("udp_pps", "dnat-udp@tailnet"), g("udp_loss", "dnat-udp@tailnet")
    if u and u.get("ratio") is not None:
        t += f", UDP packets {x('udp_pps', 'dnat-udp@tailnet')}"
        if u.get("sent_pps_median") and ul and ul.get("median") is not None:
            t += (f" (offered {fmt(u['sent_pps_median'] / 1000)}k packets/s, {100 * ul['median']:.0f} % lost on the tailnet; "
                  f"direct {100 * (g('udp_loss', 'direct-udp@tailnet') or {}).get('median', 0):.0f} %)")
    t += (f"; a TLS stream through nginx's ALPN routing on 443 reaches {x('tls_mbit_s', 'nginx-alpn@tailnet')} "
          f"(×{tls['ratio_min']:.2f}–{tls['ratio_max']:.2f}; medians "
          f"{gbit('tls_mbit_s', 'nginx-alpn@tailnet')} vs {gbit('tls_mbit_s', 'direct-tls@tailnet')} Gbit/s)")
    if g("tls_mbit_s", "haproxy@tailnet"):
        t += f", HAProxy {x('tls_mbit_s', 'haproxy@tailnet')}"
    if cn and cn.get("ratio") is not None and g("hs_p50_ms", "nginx-alpn@tailnet") and g("hs_p50_ms", "direct-tls@tailnet"):
        t += (f"; new TLS connections on 443 {x('conns_per_s', 'nginx-alpn@tailnet')} of the direct rate, median connect + "
              f"handshake {r.med('hs_p50_ms', 'nginx-alpn@tailnet'):.2f} vs {r.med('hs_p50_ms', 'direct-tls@tailnet'):.2f} ms")
    out = [t + "."]
    veth, wg = r.med("tcp_mbit_s", "direct-tcp"), r.med("tcp_mbit_s", "direct-tcp@tailnet")
    ts = r.d.get("cpu_tailscaled", {}).get("tput", {}).get("direct-tcp@tailnet", {}).get("cpu_s_per_gb")
    if veth and wg:
        t = (f"WireGuard sets the pace: one stream over the tailnet is {wg / 1000:.2f} Gbit/s direct against {veth / 1000:.1f} over "
             "veth on the same machine")
        if ts:
            t += f", and tailscaled on the vps (the tailnet's cost, not the edge's) spends {ts:.1f} CPU-s per GB on the direct path"
        out.append(t + ".")
    return out


def chart(r, path):
    tailnet = r.get("tcp_mbit_s", "dnat@tailnet") is not None
    if tailnet:
        # Rows 1-2: three panels each; row 3 (the real tailnet): four, UDP included.
        fig = plt.figure(figsize=(17, 14))
        gs = fig.add_gridspec(3, 12)
        axes = [[fig.add_subplot(gs[row, 4 * c:4 * c + 4]) for c in range(3)] for row in range(2)]
        axes.append([fig.add_subplot(gs[2, 3 * c:3 * c + 3]) for c in range(4)])
    else:
        fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    fig.suptitle("xmpp-edge in the lab: the edge's paths (blue) against the direct path (grey) and the alternatives (orange)\n"
                 "bars: median of the repetitions, whiskers min–max\n×: median of the per-repetition ratios to the direct path; "
                 "(bars ×): the ratio of the two bars drawn"
                 + ("\nrows 1-2 over a veth stand-in for the tailnet, row 3 over the real tailnet (WireGuard)" if tailnet else ""),
                 fontsize=11)

    def bars(ax, metric, paths, title, scale=1.0, unit="", offered=False):
        xs, hs, lo, hi, cs, labels = [], [], [], [], [], []
        for p in paths:
            s = r.get(metric, p)
            if not s or s.get("median") is None:
                continue
            xs.append(len(xs))
            hs.append(s["median"] / scale)
            lo.append((s["median"] - s["min"]) / scale)
            hi.append((s["max"] - s["median"]) / scale)
            cs.append(COLORS[r.kind(p)])
            labels.append(short(p))
            txt = ""
            if s.get("ratio") is not None:
                txt = "\n" + ratio(s)
                b = r.baseline(metric, p)
                if b and b.get("median"):
                    txt += f"\n(bars ×{s['median'] / b['median']:.2f})"
            top = s["max"] / scale
            if offered and s.get("sent_pps_median"):
                # What the sender offered, drawn as an outline around what arrived, and the loss.
                ax.bar(len(xs) - 1, s["sent_pps_median"] / scale, fill=False, edgecolor="#444444", linestyle="--")
                loss = r.get("udp_loss", p)
                top = max(top, s["sent_pps_median"] / scale)
                if loss and loss.get("median") is not None:
                    txt += f"\nof {fmt(s['sent_pps_median'] / scale)} offered\nlost {100 * loss['median']:.0f} %"
            ax.text(len(xs) - 1, top, f"{fmt(s['median'] / scale)}{txt}", ha="center", va="bottom", fontsize=8)
        ax.bar(xs, hs, color=cs, yerr=[lo, hi], capsize=3)
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.margins(y=0.25)

    bars(axes[0][0], "tcp_mbit_s", ["direct-tcp", "dnat", "direct-tcp@proxy-protocol", "nginx-pp", "rinetd", "socat"],
         "TCP, one stream", 1000, "Gbit/s")
    bars(axes[0][1], "tls_mbit_s", ["direct-tls", "nginx-alpn", "haproxy", "sslh", "sslh-select"],
         "TLS stream routed by ALPN (443 job)", 1000, "Gbit/s")
    cn = r.s.get("conns_per_s", {}).get("label", "new TLS connections per second")
    bars(axes[0][2], "conns_per_s", ["direct-tls", "nginx-alpn", "haproxy", "sslh", "sslh-select"], cn, 1, "connections/s")

    ax = axes[1][0]
    ps = [p for p in ["direct-tls", "nginx-alpn", "haproxy", "sslh", "sslh-select"] if r.get("hs_p50_ms", p)]
    w = 0.38
    for i, (metric, name, alpha) in enumerate((("hs_p50_ms", "p50", 1.0), ("hs_p99_ms", "p99", 0.55))):
        vals = [r.med(metric, p) or 0 for p in ps]
        xs = [j + (i - 0.5) * w for j in range(len(ps))]
        ax.bar(xs, vals, w, color=[COLORS[r.kind(p)] for p in ps], alpha=alpha, label=name)
        for xx, v in zip(xs, vals):
            ax.text(xx, v, fmt(v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(ps)))
    ax.set_xticklabels([short(p) for p in ps], fontsize=8)
    ax.set_title("connect + TLS handshake, one at a time\n(p50 solid, p99 light)", fontsize=10)
    ax.set_ylabel("ms")
    ax.margins(y=0.2)

    bars(axes[1][1], "udp_pps", ["direct-udp", "dnat-udp", "direct-udp-peer", "turn"],
         "UDP packets/s delivered (filled) of offered (dashed outline),\none unpaced sender", 1000, "k packets/s", offered=True)

    ax = axes[1][2]
    fp = r.d["footprint"]
    groups = [g for g in ["nginx", "turnserver", "tailscaled", "haproxy", "sslh", "sslh-select", "rinetd", "socat"]
              if g in fp.get("idle", {}) or g in fp.get("load_max", {})]
    # tailscaled runs in the tailnet phase only: its idle is that phase's.
    idle = [fp.get("idle_tailnet" if g == "tailscaled" else "idle", {}).get(g, {}).get("rss_kb", 0) / 1024 for g in groups]
    load = [fp.get("load_max", {}).get(g, {}).get("rss_kb", 0) / 1024 for g in groups]
    # tailscaled is the tailnet's, not the edge's: its own colour.
    kinds = ["tailnet" if g == "tailscaled" else "ours" if g in ("nginx", "turnserver") else "alternative" for g in groups]
    ax.bar([i - 0.2 for i in range(len(groups))], idle, 0.4, color=[COLORS[k] for k in kinds], alpha=0.55, label="idle")
    ax.bar([i + 0.2 for i in range(len(groups))], load, 0.4, color=[COLORS[k] for k in kinds], label="under load (max)")
    for i, (a, b) in enumerate(zip(idle, load)):
        ax.text(i - 0.2, a, f"{a:.1f}", ha="center", va="bottom", fontsize=7)
        ax.text(i + 0.2, b, f"{b:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(["tailscaled\n(tailnet)" if g == "tailscaled" else g for g in groups], fontsize=8)
    ax.set_title("RSS on the VPS, sum over processes\n(light: idle, solid: max under load; green: the tailnet's, not the edge's)", fontsize=10)
    ax.set_ylabel("MiB")
    ax.margins(y=0.2)

    if tailnet:
        bars(axes[2][0], "tcp_mbit_s", ["direct-tcp@tailnet", "dnat@tailnet"], "real tailnet: TCP, one stream", 1000, "Gbit/s")
        bars(axes[2][1], "tls_mbit_s", ["direct-tls@tailnet", "nginx-alpn@tailnet", "haproxy@tailnet"],
             "real tailnet: TLS stream routed by ALPN (443 job)", 1000, "Gbit/s")
        bars(axes[2][2], "conns_per_s", ["direct-tls@tailnet", "nginx-alpn@tailnet"], "real tailnet: " + cn, 1, "connections/s")
        bars(axes[2][3], "udp_pps", ["direct-udp@tailnet", "dnat-udp@tailnet"],
             "real tailnet: UDP packets/s delivered (filled)\nof offered (dashed outline)", 1000, "k packets/s", offered=True)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=90)


def during(text):
    """'conns-cN haproxy' -> 'new connections, haproxy'"""
    m, _, p = text.partition(" ")
    names = {"tput": "TCP stream", "tput-tls": "TLS stream", "conns-cN": "new connections", "conns-c1": "handshakes",
             "udp": "UDP"}
    return f"{names.get(m, m)}, {p}"


def cpu_table(r, cpu, column, title):
    """CPU per measurement and path (analyse.py's cpu or cpu_tailscaled): cores busy and the cost per unit of work."""
    if not cpu:
        return []
    names = {"tput": "TCP stream", "tput-tls": "TLS stream", "conns-cN": "new TLS connections", "udp": "UDP"}
    units = {"cpu_s_per_gb": "CPU-s per GB", "cpu_ms_per_conn": "CPU-ms per connection", "cpu_us_per_pkt": "CPU-µs per packet"}
    lines = [title + "\n", f"| measurement | {column} | cores busy | cost per unit |", "|---|---|---:|---|"]
    for m, byp in cpu.items():
        for p, v in byp.items():
            unit = next(k for k in v if k != "cores")
            lines.append(f"| {names.get(m, m)} | {r.label(p)} | {v['cores']:.2f} | {v[unit]:.3f} {units[unit]} |")
    return lines + [""]


def table_metric(r, metric, paths):
    m = r.s.get(metric)
    if not m:
        return ""
    lines = [f"**{m['label']}** ({m['unit']}{', lower is better' if not m['higher_is_better'] else ''})", "",
             "| path | median | min – max | IQR | n | vs direct (min–max per repetition) | notes |",
             "|---|---:|---:|---:|---:|---|---|"]
    for p in paths:
        s = m["paths"].get(p)
        if not s:
            continue
        notes = []
        if s.get("conn_errors"):
            notes.append(f"{s['conn_errors']} failed handshakes of {s['conn_errors'] + s['conn_ok']} ({s.get('first_error')})")
        if s.get("failed_runs"):
            notes.append(f"{s['failed_runs']} runs failed: {s['failed_example'][:80]}")
        if metric == "udp_pps":
            notes.append(f"offered {fmt(s.get('sent_pps_median'))}/s")
        if s.get("phase") == "proxy-protocol":
            notes.append("proxy-protocol run")
        iqr = f"{fmt(s['q1'])} – {fmt(s['q3'])}" if "q1" in s else "–"
        med = s.get("median")
        lines.append(f"| {r.label(p)} | {fmt(med)} | {fmt(s.get('min'))} – {fmt(s.get('max'))} | {iqr} | {s['n']} | "
                     f"{ratio_span(s)} | {'; '.join(notes)} |")
    return "\n".join(lines) + "\n"


def report(r, out, scale_section=None):
    d = r.d
    meta = d["meta"]
    ctl = d["control_plane"]
    fp = d["footprint"]
    L = []
    L.append("# Bench: the edge's data path and control plane, against the direct path and the alternatives\n")
    L.append("<!-- Generated by bench/report.py from bench/results.json (npm run bench). Change the generator, not this file. -->\n")
    L.append("## Performance\n")
    L.append(paragraph(r) + "\n")
    L.append("![chart: throughput, connections, latency, UDP packet rate, memory](chart.png)\n")

    # Headline table.
    L.append("## Headline numbers\n")
    L.append(f"Medians of {meta.get('reps')} repetitions of {meta.get('secs')} s each (ratio: median of the per-repetition ratios to the direct path; spread in the tables below).\n")
    L.append("| metric | direct | the edge | ratio | HAProxy | sslh (fork) | sslh-select | rinetd | socat |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def row(name, metric, base, ours, alts=("haproxy", "sslh", "sslh-select", "rinetd", "socat"), scale=1.0, digits=None, phase=""):
        cells = []
        for p in ("haproxy", "sslh", "sslh-select", "rinetd", "socat"):
            s = r.get(metric, p + phase) if p in alts else None
            cells.append(f"{fmt(s['median'] / scale, digits)} ({ratio(s)})" if s and s.get("median") is not None else "")
        b, o = r.get(metric, base), r.get(metric, ours)
        if not o:
            return
        L.append(f"| {name} | {fmt(b['median'] / scale, digits) if b else '–'} | {fmt(o['median'] / scale, digits)} | {ratio(o)} | " + " | ".join(cells) + " |")

    t = "@tailnet"
    row("**real tailnet**: TCP, one stream, Gbit/s: DNAT + masquerade (5222)", "tcp_mbit_s", "direct-tcp" + t, "dnat" + t, alts=(), scale=1000)
    row("**real tailnet**: TLS stream, Gbit/s: nginx ALPN routing (443)", "tls_mbit_s", "direct-tls" + t, "nginx-alpn" + t,
        alts=("haproxy",), scale=1000, phase=t)
    row(f"**real tailnet**: new TLS connections/s ({meta.get('conns_c')} in flight), 443", "conns_per_s", "direct-tls" + t, "nginx-alpn" + t,
        alts=(), phase=t)
    row("**real tailnet**: connect + TLS handshake p50, ms, 443", "hs_p50_ms", "direct-tls" + t, "nginx-alpn" + t, alts=(), digits=2, phase=t)
    row("**real tailnet**: UDP k packets/s: DNAT + masquerade (64738)", "udp_pps", "direct-udp" + t, "dnat-udp" + t, alts=(), scale=1000)
    row("TCP, one stream, Gbit/s: DNAT + masquerade (5222)", "tcp_mbit_s", "direct-tcp", "dnat", scale=1000)
    row("TCP, one stream, Gbit/s: nginx + PROXY v1 (5222)", "tcp_mbit_s", "direct-tcp@proxy-protocol", "nginx-pp", alts=(), scale=1000)
    row("TLS stream, Gbit/s: nginx ALPN routing (443)", "tls_mbit_s", "direct-tls", "nginx-alpn", scale=1000)
    row(f"new TLS connections/s ({meta.get('conns_c')} in flight), 443", "conns_per_s", "direct-tls", "nginx-alpn")
    row("connect + TLS handshake p50, ms, 443", "hs_p50_ms", "direct-tls", "nginx-alpn", digits=2)
    row("connect + TLS handshake p99, ms, 443", "hs_p99_ms", "direct-tls", "nginx-alpn", digits=2)
    row("UDP k packets/s: DNAT + masquerade (64738)", "udp_pps", "direct-udp", "dnat-udp", alts=(), scale=1000)
    row("UDP k packets/s: coturn relay (vs direct to the peer)", "udp_pps", "direct-udp-peer", "turn", alts=(), scale=1000)
    L.append("")
    if "first" in ctl["by_kind"]:
        k = ctl["by_kind"]
        L.append("| control plane | first apply | no-op | one-forward change |")
        L.append("|---|---:|---:|---:|")
        L.append(f"| bytes on the push's stdin | {k['first']['stdin_bytes']['median']:,.0f} | 0 (Pulumi: no diff); {k['noop']['stdin_bytes']['median']:,.0f} if forced | {k['change']['stdin_bytes']['median']:,.0f} |")
        L.append(f"| SSH sessions (push + confirm) | {k['first']['ssh_sessions']['median']:.0f} (3 with a created server: + the cloud-init wait) | 0 (Pulumi); {k['noop']['ssh_sessions']['median']:.0f} if forced | {k['change']['ssh_sessions']['median']:.0f} |")
        L.append(f"| on-host apply (xmpp-edge-apply), s | {k['first']['apply_ms']['median'] / 1000:.2f} | {k['noop']['apply_ms']['median'] / 1000:.2f} (if forced) | {k['change']['apply_ms']['median'] / 1000:.2f} |")
        L.append("")

    L.append("## Data path: every number\n")
    L.append(table_metric(r, "tcp_mbit_s", ["direct-tcp", "dnat", "rinetd", "socat", "direct-tcp@proxy-protocol", "nginx-pp",
                                           "direct-tcp@tailnet", "dnat@tailnet"]))
    L.append(table_metric(r, "iperf3_mbit_s", ["direct-tcp", "dnat"]))
    tls = ["direct-tls", "nginx-alpn", "nginx-alpn-onesrc", "haproxy", "sslh", "sslh-select", "direct-tls@tailnet", "nginx-alpn@tailnet", "haproxy@tailnet"]
    for m in ("tls_mbit_s", "hs_p50_ms", "hs_p99_ms", "conns_per_s", "conns_p50_ms", "conns_p99_ms"):
        L.append(table_metric(r, m, tls))
    udp = ["direct-udp", "dnat-udp", "direct-udp-peer", "turn", "direct-udp@tailnet", "dnat-udp@tailnet"]
    L.append(table_metric(r, "udp_pps", udp))
    L.append(table_metric(r, "udp_loss", udp))

    L += cpu_table(r, d.get("cpu", {}), "daemon",
                   "**CPU of the daemon that carries the path** (on the vps, from /proc; median over the repetitions; "
                   "kernel paths have no process to charge: their cost is softirq time on whichever core. A process that lives "
                   "less than the 250 ms sampling interval is not seen: for new connections through sslh (fork) and socat, whose "
                   "per-connection children are that short-lived, the numbers are lower bounds)")
    L += cpu_table(r, d.get("cpu_tailscaled", {}), "path",
                   "**CPU of tailscaled on the vps over the real tailnet** (WireGuard in user space: every byte of every path "
                   "crosses it once each way; same sampling)")

    L.append("## Control plane\n")
    k = ctl["by_kind"]
    L.append("Every push is the real one: `renderPushScript(renderVpsBundle(…))` (render/push.ts, what components/push.ts puts on the "
             "stdin of one SSH session running `bash -s`), then `xmpp-edge-apply --confirm` over a second connection, "
             "from the client namespace to the vps's sshd with the pinned host key.\n")
    L.append("| push | n | stdin bytes | SSH sessions (sshd \"Accepted publickey\") | bytes on port 22, both ways | apply (on host), ms: median (min–max) | push session wall, ms | confirm wall, ms | apply said |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    names = {"first": "first apply (host as found; removed between repetitions)", "noop": "no-op (same bundle again, forced)",
             "change": "one-forward change (one extraForwards entry added / removed, alternating)",
             "clientip-change": "clientIp masquerade → proxy-protocol (before the PROXY run)",
             "tailnet-restore": "proxy-protocol → masquerade (before the tailnet run)"}
    for kind, v in k.items():
        a = v["apply_ms"]
        L.append(f"| {names.get(kind, kind)} | {v['n']} | {v['stdin_bytes']['median']:,.0f} | {v['ssh_sessions']['median']:.0f} | "
                 f"{v['ssh_wire_bytes']['median']:,.0f} | {a['median']:.0f} ({a['min']:.0f}–{a['max']:.0f}) | "
                 f"{v['push_wall_ms']['median']:.0f} | {v['confirm_wall_ms']['median']:.0f} | {', '.join(v['results'])} |")
    L.append("")
    for f in ctl.get("failures", []):
        L.append(f"- **A push failed** ({f['kind']}, bundle {f['bundle']}): exit {f['rc']} (confirm exit {f['confirm_rc']}) after "
                 f"{(f.get('apply_ns') or 0) / 1e6:.0f} ms of apply, 1-minute load {f.get('load1')}; the apply said: "
                 f"`{(f.get('errors') or '').strip() or '(nothing on stderr)'}`. It is left out of the timings above; the bench retried it once.")
    if ctl.get("failures"):
        L.append("")
    p = ctl["pulumi"]
    L.append("What the Pulumi program itself does (derived from components/push.ts, not measured with the engine):\n")
    L.append(f"- no-op `pulumi up`: {p['noop']['ssh_sessions']} SSH sessions, {p['noop']['stdin_bytes']} bytes: {p['noop']['why']}.")
    L.append(f"- a change: {p['change']['ssh_sessions']} sessions: {p['change']['why']}.")
    L.append(f"- first deploy onto a created server: {p['first_hcloud']['ssh_sessions']} sessions: {p['first_hcloud']['why']}.")
    good = ctl.get("bundles", {}).get("good")
    if good:
        tot = sum(good["files"].values())
        L.append(f"\nThe bundle ({tot:,} bytes of files, {good['stdinBytes']:,} bytes of push script: base64 + framing):\n")
        L.append("| file | bytes | share |")
        L.append("|---|---:|---:|")
        for f, b in sorted(good["files"].items(), key=lambda kv: -kv[1]):
            L.append(f"| `{f}` | {b:,} | {100 * b / tot:.0f} % |")
        L.append("")

    L.append("## Footprint on the VPS\n")
    L.append("Resident memory of the daemons in the vps namespace, sampled every 250 ms from /proc (VmRSS summed over the "
             "group's processes, and PSS, which shares pages between them out). Idle: a 2 s window with everything started and "
             "no load (edge only: right after the first apply, before the alternatives started). Under load: the largest sample "
             "during any measurement through that daemon.\n")
    L.append("| daemon | processes idle | RSS idle, MiB | RSS under load, MiB (during) | PSS idle, MiB | PSS under load, MiB |")
    L.append("|---|---:|---:|---:|---:|---:|")
    eo = fp.get("idle_edge_only", {})
    for g in ["nginx", "turnserver", "tailscaled", "haproxy", "sslh", "sslh-select", "rinetd", "socat"]:
        i, l_ = fp.get("idle", {}).get(g), fp.get("load_max", {}).get(g)
        if g == "tailscaled":
            i = fp.get("idle_tailnet", {}).get(g)  # idle in the tailnet phase: the only one it runs in
        if not i and not l_:
            continue
        extra = f" (edge only: {mb(eo[g]['rss_kb'])})" if g in eo else ""
        L.append(f"| {g} | {fmt(i['processes'], 0) if i else '–'} | {mb(i['rss_kb']) if i else '–'}{extra} | "
                 f"{mb(l_['rss_kb']) if l_ else '–'}{' (' + during(l_['during']) + '; processes: ' + str(l_['processes']) + ')' if l_ else ''} | "
                 f"{mb(i['pss_kb']) if i else '–'} | {mb(l_['pss_kb']) if l_ else '–'} |")
    L.append("")

    L.append(METHOD)
    q = meta.get("quiet") or {}
    lm = meta.get("load1_during_runs") or {}
    L.append("## This run\n")
    L.append(f"- {meta.get('date')}, commit {meta.get('git')}; Linux {meta.get('kernel')}, {meta.get('cpus')} cores ({meta.get('cpu_model')}), "
             f"{int(meta.get('mem_total_kb', 0)) // 1024 // 1024} GiB.")
    L.append(f"- Quiet machine before measuring (1-minute load < 0.5 held {q.get('hold_s')} s): "
             f"{'reached' if q.get('reached') else 'NOT reached'} after {q.get('waited_s')} s (at most {q.get('max_s')} s), load then {q.get('load')}. "
             f"1-minute load at the start of each measurement: median {fmt(lm.get('median'))}, min {fmt(lm.get('min'))}, max {fmt(lm.get('max'))} "
             "(the bench's own load counts too: a measurement keeps both cores busy).")
    marks = meta.get("load_marks") or []
    others = max((m.get("other_netns", 0) for m in marks), default=0)
    if others:
        L.append(f"- Other work on the machine: up to {others} network namespaces that are not the bench's were present at the "
                 "phase marks (another network-lab run, for one): its CPU use is noise in these numbers.")
    L.append(f"- {meta.get('reps')} repetitions x {meta.get('secs')} s per measurement, {meta.get('conns_c')} connections in flight for the rate; "
             "the order of the paths rotates each repetition.")
    L.append(f"- nginx {meta.get('nginx')}, nftables {meta.get('nftables')}, coturn {meta.get('coturn')}, HAProxy {meta.get('haproxy')}, "
             f"sslh {meta.get('sslh')}, rinetd {meta.get('rinetd')}, socat {meta.get('socat')}, iperf3 {meta.get('iperf3')}, "
             f"{meta.get('go')} (benchnet), {meta.get('openssh')}.")
    L.append(f"- Link vps–home: {meta.get('link')}" + (f"; in the tailnet phase {meta['tailnet_link']}" if meta.get("tailnet_link") else "") + ".")
    if meta.get("tailnet_path"):
        L.append(f"- WireGuard's path in the tailnet phase, as `tailscale ping` from the vps said: `{meta['tailnet_path']}`.")
    L.append("")
    if scale_section:
        L.append(scale_section)
    with open(os.path.join(out, "REPORT.md"), "w") as f:
        f.write("\n".join(L))


METHOD = """## How each number was measured

The bench (`bench/run.sh`) builds its own hosts with the network lab's machinery (test/lab/lib.sh): network namespaces
`client`, `inet` (the router), `vps`, `home` and `peer`, with the lab's addresses, and vps–home over the lab's tailnet
stand-in (a veth pair named tailscale0, MTU 1280, tailnet addresses; tailscaled's nftables tables loaded beside ours). It
pushes the bench's stack (bench/stacks/Pulumi.bench.yaml, the lab's Snikket-style edge) over SSH with the real push, then
measures from `client`. The load generator and the sinks are `bench/benchnet` (Go, standard library only).

- **TCP throughput**: one TCP stream, `benchnet tput`, for the measurement time; the client writes 128 KiB frames
  (a 4-byte length each, so no half-close is needed: rinetd closes both ways on a FIN); the sink at home reads everything
  and answers with the byte count; throughput = bytes the sink counted / time from the first write to the count. The sink
  listens on home:5222 (DNAT, rinetd, socat and the direct path) and home:15222 (nginx's PROXY-protocol path: the sink
  reads the PROXY v1 line first, as Prosody's mod_net_proxy would). iperf3 (home:7001, through the stack's DNAT'd
  extraForwards range) is a cross-check of the tool on the two kernel paths.
- **TLS stream throughput (the 443 job)**: the same through TLS 1.3 end to end: the client sends SNI chat.example.com
  and ALPN xmpp-client, verifies the home certificate against the bench CA; the sink at home:5223 is a Go TLS server.
  The routers see only ciphertext (nginx ssl_preread, HAProxy req.ssl_alpn, sslh alpn_protocols), as in production.
  Go's default key shares include X25519MLKEM768, so the ClientHello is ~1.5 kB and spans two TCP segments, as with
  current browsers and OpenSSL 3.5: every router handled it.
- **New TLS connections per second, and handshake latency**: `benchnet conns`: workers each open a TCP connection,
  complete the TLS handshake (ALPN xmpp-client, certificate verified, no session resumption), record the time from
  `connect()` to the finished handshake, and close; rate = completed handshakes / time. Latency percentiles are taken
  one connection at a time (no queueing); the rate with several in flight (their latencies are listed too, with
  queueing). The connections come from 256 client addresses in turn (198.18.0.0/15, `BENCH_CONNS_SRC`), for every path
  alike, so each address stays under the edge's per-source limits (20 new connections/s, 64 at once: render/source-limits.ts)
  and the path is measured, not the protection; one more measurement per repetition sends the same load to 443 from one
  address of its own, where the limit must hold it.
- **UDP packets per second**: `benchnet udp`: one sender, unpaced, 172-byte payloads (an RTP packet of 20 ms G.711),
  to a counting sink (home:64738, through the DNAT'd extraForward; or peer:3490); afterwards the client asks the sink for
  its count. Delivered = counted / sending time. `benchnet turn` does the same through coturn: Allocate with the REST API
  shared-secret credentials (the stack's TURN secret), ChannelBind to the peer, ChannelData frames; the count comes back
  through the relay. The bench's stack raises `turnSessionKbps` to its maximum (1,000,000), or one session would meet the
  default per-session cap (4,000 kbit/s, about 2,900 of these packets/s) instead of coturn's relay rate. For the kernel paths the sender's own core does the forwarding work (veth hands packets on in the
  sender's context), so their rate is "what one core pushes through the path"; coturn's is "what coturn relays while
  offered more": read the offered rate and the loss beside it.
- **Direct path ("the physical limit")**: the same links and the same number of hops as the edge's path, routed by the
  kernel without NAT and without a proxy: client -> inet -> vps (IP forwarding; an accept rule appended to our forward
  chain) -> tailscale0 -> home, and for the TURN comparison client -> inet -> vps -> inet -> peer (policy routing in the
  router). So every ratio isolates what the edge's processing costs, not what an extra hop or the smaller MTU costs. The
  PROXY-protocol run is a second phase (the stack with `clientIp: proxy-protocol` pushed in place); it has its own direct
  runs, and its ratio is against those.
- **The real tailnet (third phase, bench/tailnet.sh)**: the veth stand-in is deleted and the real thing takes its place:
  Headscale (the network lab's configuration, its own DERP server only) on a `ctl` host, tailscaled (TUN `tailscale0`,
  userspace WireGuard, nftables firewall mode) on vps and home, home on the lab internet so WireGuard's UDP goes direct
  (`tailscale ping` must say so before anything is measured), and the stack's `tailscaleAclSnippet` as Headscale's policy.
  The vps joins first, so both ends get the stand-in's addresses (checked); the masquerade stack is pushed again. The
  direct path there is kernel forwarding plus a masquerade onto tailscale0 (a table of the bench's own), because WireGuard
  only carries a peer's own tailnet addresses: the DNAT path without the DNAT, so the ratios still isolate the edge.
  The same measurements for the 443 job (nginx, HAProxy), the DNAT (TCP, UDP) and new TLS connections; tailscaled's CPU
  on the vps is reported apart.
- **Alternatives**, on the same vps, for the same jobs, with their ports opened in our input chain: HAProxy (TCP mode,
  `req.ssl_alpn` then `req.ssl_sni` to the same home ports as nginx's map), sslh (Debian's default `sslh`, a process per
  connection) and `sslh-select` (one process), both with `alpn_protocols`/`sni_hostnames`; rinetd and socat
  (`TCP-LISTEN,fork`) as plain forwards of the 5222 job. nginx's configuration does a little more than HAProxy's (the
  origin-lock geo map, the per-source connection limit, an access log line per connection).
- **Control plane**: bytes = the push script's size (the session's stdin); SSH sessions = new "Accepted publickey" lines
  in the vps's sshd log over push + confirm; bytes on the wire = an nftables counter on port 22 in a table of the bench's
  own; apply time = `xmpp-edge-apply` alone, timed on the host by a clock around the push script's last line (the staged
  apply); push wall = the whole SSH session seen from the client.
- **Footprint**: `benchnet rss` samples /proc every 250 ms for every process in the vps's network namespace, grouped by
  command name: RSS, PSS and CPU time (a process that ends keeps the CPU time it used).
- Each measurement runs `reps` times; the paths of one kind are interleaved, starting at a different path each
  repetition, so slow drift of the machine's load falls on all of them alike. Ratios are the median of per-repetition
  ratios (path / direct of the same repetition), with their min and max. Nothing asserts on a timing.

## Caveats

- **veth, not a network.** Everything runs on one machine: client, routers, proxies and sinks share its cores, so the
  throughput numbers are CPU-bound (how much copying and per-packet work each path costs), not link-bound. Absolute
  Gbit/s are far above what a small VPS's uplink carries; on a real VPS the link (and WireGuard's crypto on tailscale0)
  bounds a stream long before nginx does, and the proxies' cost shows as CPU per GB (table above) rather than as a lower
  rate. The ratios carry over as "how much more CPU the path takes", not as "how much slower your download is".
- **The tailnet**: the first two phases run over a stand-in (no WireGuard encryption, no tailscaled), which shows what the
  edge's own processing costs; the third runs the real tailnet, where every path, the direct one included, pays
  tailscaled's userspace WireGuard on the vps–home leg (and on this machine tailscaled on both ends shares the two cores
  with the client, the edge and the sinks). Its direct path carries a masquerade the veth phase's does not.
- **Noise**: the machine runs other work; the load at each measurement is recorded (above and in results.json). Spreads
  (min–max, IQR) are given for every number; trust ratios more than absolutes, and medians more than single runs.
- **Small samples**: p99 of a few thousand handshakes per repetition is a tail estimate, and the conns workload closes
  each connection right after its handshake (a churn pattern harsher than real XMPP clients, which stay connected).
- **coturn** is measured with one allocation and one channel; real calls spread over many allocations and relay
  threads.
- The apply timings are from a lab host without systemd (daemons started directly); on a real VPS, systemctl adds its
  own time to the first apply and to restarts.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scale", help="bench:scale's results (default: scale.json beside --results, if there)")
    ap.add_argument("--scale-before", help="the same on the settings before a change (default: scale-before.json beside it)")
    a = ap.parse_args()
    d = json.load(open(a.results))
    r = R(d)
    chart(r, os.path.join(a.out, "chart.png"))
    here = os.path.dirname(os.path.abspath(a.results))
    scale = a.scale or os.path.join(here, "scale.json")
    before = a.scale_before or os.path.join(os.path.dirname(os.path.abspath(scale)), "scale-before.json")
    section = None
    if os.path.exists(scale):
        import report_scale  # beside this file
        section = report_scale.render(scale, before, a.out)
    flood = os.path.join(here, "flood.json")
    if os.path.exists(flood):
        import flood_report  # beside this file: bench:flood's section, markers included
        section = (section or "") + "\n" + flood_report.block(flood)
    report(r, a.out, section)
    print(f"report: {os.path.join(a.out, 'REPORT.md')}, {os.path.join(a.out, 'chart.png')}")


if __name__ == "__main__":
    main()
