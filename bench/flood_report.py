#!/usr/bin/python3
"""bench:flood's analysis and report (bench/flood.sh): raw JSON lines ->
bench/flood.json -> REPORT.md's "Under flood" section and bench/flood.png.

usage: flood_report.py --res RAW_DIR --write bench/flood.json --out bench/   analyse, then report
       flood_report.py --flood bench/flood.json --out bench/                 report only

The section sits between two markers in REPORT.md and is replaced in place;
bench/report.py puts it back when it regenerates REPORT.md. Every verdict
comes from the numbers here: nothing in the bench asserts a timing.
"""
import argparse
import glob
import json
import os
import re

from report_scale import fmt  # beside this file: the bench reports print numbers one way

BEGIN, END = "<!-- flood:begin -->", "<!-- flood:end -->"
KINDS = ("tls", "xmpp", "turn")
EDGE_NAMES = {"fixed": "fixed (main as rendered: nginx ends 5222)", "synproxy": "synproxy (5222 DNAT'd behind the SYN proxy)", "weakened": "weakened (--weaken)", "today": "today's (before the flood protections)"}


def jl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def stats(events, t0, t1):
    """Per kind: attempts started in [t0, t1) (unix ms), successes, p50/p99 of the successes."""
    out = {}
    for k in KINDS + ("ping", "session"):
        ev = [e for e in events if e["k"] == k and t0 <= e["t"] < t1]
        ok = [e["ms"] for e in ev if e["ok"]]
        errs = {}
        for e in ev:
            if not e["ok"]:
                key = re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "A", e.get("err", "?"))[:60]
                errs[key] = errs.get(key, 0) + 1
        out[k] = {"n": len(ev), "ok": len(ok), "rate": len(ok) / len(ev) if ev else None,
                  "p50_ms": pct(ok, 50), "p99_ms": pct(ok, 99), "errors": dict(sorted(errs.items(), key=lambda x: -x[1])[:3])}
    return out


def delta_series(samples, t_on, role):
    """Per-second differences of the cumulative counters, gauges as they are; t relative to the flood's start."""
    s = []
    for a, b in zip(samples, samples[1:]):
        dt = b["t"] - a["t"]
        if dt <= 0:
            continue
        r = {"t": round(b["t"] - t_on, 2), "rx_pps": (b.get("rx_packets", 0) - a.get("rx_packets", 0)) / dt,
             "rx_Bps": (b.get("rx_bytes", 0) - a.get("rx_bytes", 0)) / dt}
        for k, (pa, ba) in a.get("acct", {}).items():
            pb, bb = b["acct"].get(k, (pa, ba))
            r["pps_" + k] = (pb - pa) / dt
            r["Bps_" + k] = (bb - ba) / dt
        if role == "vps":
            for k in ("ct_drop", "ct_early_drop", "ct_insert_failed", "SyncookiesSent", "SyncookiesFailed", "RcvbufErrors", "oom_kill"):
                r[k] = b.get(k, 0) - a.get(k, 0)
            r["ct_count"] = b.get("ct_count")
            tot = b["cpu_total"] - a["cpu_total"]
            r["softirq_pct"] = 100 * (b["cpu_softirq"] - a["cpu_softirq"]) / tot if tot else None
            r["busy_pct"] = 100 * (1 - (b["cpu_idle"] - a["cpu_idle"]) / tot) if tot else None
            r["sets"] = b.get("sets", {})
            for p, v in b.get("procs", {}).items():
                r[p + "_rss_mib"] = v["rss_kb"] / 1024
                r[p + "_fds"] = v["fds"]
        s.append(r)
    return s


def cum(samples, get, t0, t1):
    """A cumulative counter's growth from the last sample at or before t0 to
    the last at or before t1 (samples a loaded machine delayed or where nft
    timed out are simply skipped)."""
    have = [(x["t"], get(x)) for x in samples if get(x) is not None]
    a = [v for t, v in have if t <= t0] or [v for t, v in have[:1]]
    b = [v for t, v in have if t <= t1]
    return (b[-1] - a[-1]) if a and b else 0


def acct(name, i=0):
    return lambda x: x.get("acct", {}).get(name, [None, None])[i]


def field(name):
    return lambda x: x.get(name)


def within(series, lo, hi):
    return [r for r in series if lo <= r["t"] < hi]


def analyse(res):
    meta = {}
    if os.path.exists(os.path.join(res, "meta.env")):
        for line in open(os.path.join(res, "meta.env")):
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    budget = None
    rulesets = {}
    for f in glob.glob(os.path.join(res, "ruleset-*.nft")):
        edge = os.path.basename(f)[len("ruleset-"):-4]
        rulesets[edge] = open(f).read()
        m = re.search(r"proto-dst 64738 limit rate over (\d+)/second burst (\d+)", rulesets[edge])
        if m:
            budget = [int(m.group(1)), int(m.group(2))]
    tw = os.path.join(res, "today-vs-weakened.txt")
    diff = [line.strip() for line in open(tw)] if os.path.exists(tw) else None
    out = {"meta": meta, "udp_budget": budget, "today_vs_weakened": diff, "scenarios": []}
    for sc in jl(os.path.join(res, "scenarios.jsonl")):
        if "skipped" in sc:
            out["scenarios"].append(sc)
            continue
        tag = f"{sc['scenario']}-{sc['edge']}"
        t_on, t_off = sc["t_on"] / 1e9, sc["t_off"] / 1e9
        t_meas = sc.get("extra", {}).get("t_held", sc["t_on"]) / 1e9
        raw_vps = jl(os.path.join(res, f"sample-vps-{tag}.jsonl"))
        raw_home = jl(os.path.join(res, f"sample-home-{tag}.jsonl"))
        vps = delta_series(raw_vps, t_on, "vps")
        home = delta_series(raw_home, t_on, "home")
        # Totals over the flood (home: the tunnel's last packets too).
        v0, v1, h1 = t_meas, t_off + 1.5, t_off + 2.5
        names = sorted({k for x in raw_vps for k in x.get("acct", {})})
        hnames = sorted({k for x in raw_home for k in x.get("acct", {})})
        ev = jl(os.path.join(res, f"legit-{tag}.jsonl"))
        fl = within(vps, 0, t_off - t_on + 1.5)
        hfl = within(home, 0, t_off - t_on + 2.5)
        secs = t_off - t_on
        summ = {
            "flood_secs": secs,
            "measured_from_s": t_meas - t_on,
            "legit_base": stats(ev, sc["t_start"] / 1e6, sc["t_on"] / 1e6),
            # G3: while the idle sessions are held (its opening and release are context, below).
            "legit_flood": stats(ev, t_meas * 1e3, sc.get("extra", {}).get("t_release", sc["t_off"]) / 1e6),
            "offered_pps_eth0": cum(raw_vps, field("rx_packets"), v0, v1) / max(t_off - t_meas, 1e-9),
            "offered_pkts_eth0": cum(raw_vps, field("rx_packets"), v0, v1),
            "offered": {k[4:]: cum(raw_vps, acct(k), v0, v1) for k in names if k.startswith("off_")},
            "accepted": {k[4:]: cum(raw_vps, acct(k), v0, v1) for k in names if k.startswith("acc_")},
            "home_pkts": {k: cum(raw_home, acct(k), v0, h1) for k in hnames},
            "home_rx_pkts": cum(raw_home, field("rx_packets"), v0, h1),
            "home_rx_bytes": cum(raw_home, field("rx_bytes"), v0, h1),
            "home_rx_pps_max": max((r["rx_pps"] for r in hfl), default=0),
            "ct_count_max": max((r.get("ct_count") or 0 for r in fl), default=0),
            "ct_drop": cum(raw_vps, field("ct_drop"), v0, v1),
            "ct_early_drop": cum(raw_vps, field("ct_early_drop"), v0, v1),
            "ct_insert_failed": cum(raw_vps, field("ct_insert_failed"), v0, v1),
            "syncookies_sent": cum(raw_vps, field("SyncookiesSent"), v0, v1),
            "syncookies_failed": cum(raw_vps, field("SyncookiesFailed"), v0, v1),
            "udp_rcvbuf_errors": cum(raw_vps, field("RcvbufErrors"), v0, v1),
            "oom_kills": cum(raw_vps, field("oom_kill"), 0, 1e12),
            "softirq_pct_median": pct([r["softirq_pct"] for r in fl if r.get("softirq_pct") is not None], 50),
            "sets_max": {},
        }
        x = sc.get("extra", {})
        if "t_release" in x:
            summ["legit_opening"] = stats(ev, sc["t_on"] / 1e6, x["t_held"] / 1e6)
            summ["legit_release"] = stats(ev, x["t_release"] / 1e6, sc["t_off"] / 1e6 + 5e3)
        summ["ct_drops"] = summ["ct_drop"] + summ["ct_early_drop"] + summ["ct_insert_failed"]
        for r in fl:
            for k, v in r.get("sets", {}).items():
                summ["sets_max"][k] = max(summ["sets_max"].get(k, 0), v)
        for p in ("nginx", "turnserver", "tailscaled"):
            summ[p + "_rss_mib_max"] = max((r.get(p + "_rss_mib", 0) for r in vps), default=0)
            summ[p + "_rss_mib_before"] = next((r.get(p + "_rss_mib", 0) for r in reversed(vps) if r["t"] <= 0), None)
            summ[p + "_fds_max"] = max((r.get(p + "_fds", 0) for r in vps), default=0)
        # per second, for the chart and a reader: the legitimate clients' successes
        per_s = {}
        for e in ev:
            b = int(e["t"] / 1e3 - t_on)
            d = per_s.setdefault(b, {"n": 0, "ok": 0, "ms": []})
            d["n"] += 1
            d["ok"] += e["ok"]
            if e["ok"] and e["k"] in KINDS:
                d["ms"].append(e["ms"])
        legit_series = [{"t": b, "n": d["n"], "ok": d["ok"], "p99_ms": pct(d["ms"], 99)} for b, d in sorted(per_s.items())]
        out["scenarios"].append({**{k: sc[k] for k in ("scenario", "edge", "attacks", "extra")}, "summary": summ,
                                 "series": {"vps": vps, "home": home, "legit": legit_series}})
    out["goals"] = verdicts(out)
    return out


def check(name, ok, value):
    return {"what": name, "pass": ok, "value": value}


def verdicts(d):
    g = {}
    budget = d.get("udp_budget")
    for sc in d["scenarios"]:
        goal, edge = sc["scenario"], sc["edge"]
        if "skipped" in sc:
            g.setdefault(goal, {})[edge] = {"pass": None, "checks": [], "note": sc["skipped"]}
            continue
        s = sc["summary"]
        lf, lb = s["legit_flood"], s["legit_base"]
        cs = []
        if goal in ("G1", "G3"):
            for k in KINDS:
                r = lf[k]["rate"]
                cs.append(check(f"{k}: new sessions succeed ≥ 99 %", r is not None and r >= 0.99,
                                f"{lf[k]['ok']}/{lf[k]['n']}"))
        if goal == "G1":
            for k in KINDS:
                b, f = lb[k]["p99_ms"], lf[k]["p99_ms"]
                cs.append(check(f"{k}: p99 ≤ 3× unloaded", b is not None and f is not None and f <= 3 * b,
                                f"{fmt(f)} ms vs {fmt(b)} ms"))
            p = lf["ping"]
            cs.append(check("established XMPP sessions answer ≥ 99 % of pings", p["rate"] is not None and p["rate"] >= 0.99,
                            f"{p['ok']}/{p['n']}"))
            cs.append(check("conntrack never drops", s["ct_drops"] == 0,
                            f"drop {s['ct_drop']}, early_drop {s['ct_early_drop']}, insert_failed {s['ct_insert_failed']}"))
            syn = s["offered"].get("syn443", 0) + s["offered"].get("syn5222", 0)
            home_syn = s["home_pkts"].get("syn5222", 0)  # the legitimate XMPP clients' SYNs included
            cs.append(check("home receives ≤ 1 % of the SYN flood", syn > 0 and home_syn <= 0.01 * syn,
                            f"{home_syn:.0f} of {syn:.0f} ({100 * home_syn / syn if syn else 0:.2f} %)"))
            if budget:
                allowed = budget[0] * (s["flood_secs"] + 2) + budget[1]
                got = s["home_pkts"].get("udp64738", 0)
                cs.append(check("home receives no more of the UDP flood than the forward's budget", got <= allowed,
                                f"{got:.0f} (budget {budget[0]}/s burst {budget[1]} admits {allowed:.0f})"))
            cs.append(check("nothing OOM-killed", s["oom_kills"] == 0, str(s["oom_kills"])))
        if goal == "G2":
            x = sc["extra"]
            e, lim = x.get("established"), x.get("limit")
            cs.append(check("one real source gets at most its connection limit", e is not None and lim is not None and e <= lim,
                            f"{e} of 200 (limit {lim}); conn_v4 then held {x.get('conn_v4_elements', '?')} elements"))
            # Without it the real source may have taken an element before the spray filled the set.
            sent, spray = x.get("spray_sent_before"), int(d["meta"].get("g2_spray") or 0)
            if sent is not None:
                cs.append(check("the spray had filled the set first (each spoofed source twice) (context)", sent >= 2 * spray,
                                f"{sent:,} SYNs to 443 before the real source, {spray:,} sources"))
        if goal == "G3":
            x = sc["extra"]
            alive = sum(c.get("alive", 0) for c in x.get("chunks", []))
            cs.append(check("the idle sessions are held (context)", alive >= x.get("sessions_wanted", 0),
                            f"{alive} of {x.get('sessions_wanted')} open and answering"))
            # Context, not the goal: while 1,024 sources open their sessions (a connection flood of its own), and
            # the seconds after they all close at once.
            for phase in ("opening", "release"):
                st = s.get("legit_" + phase)
                if st:
                    cs.append({"what": f"{phase} (context): new sessions and pings that succeed", "pass": None,
                               "value": ", ".join(f"{k} {st[k]['ok']}/{st[k]['n']}" for k in KINDS + ("ping",))
                               + "".join(f"; {k}: {e}" for k in KINDS for e in list(st[k]["errors"])[:1])})
        if goal == "G4":
            cs.append(check("coturn RSS < 256 MiB", s["turnserver_rss_mib_max"] < 256,
                            f"{s['turnserver_rss_mib_max']:.1f} MiB (before the flood {fmt(s.get('turnserver_rss_mib_before'))})"))
            r = lf["turn"]["rate"]
            cs.append(check("legitimate allocations ≥ 95 %", r is not None and r >= 0.95, f"{lf['turn']['ok']}/{lf['turn']['n']}"))
        g.setdefault(goal, {})[edge] = {"pass": all(c["pass"] is not False for c in cs), "checks": cs}
    return g


def chart(d, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    g1 = [s for s in d["scenarios"] if s["scenario"] == "G1" and "summary" in s]
    if not g1:
        return False
    fig, axes = plt.subplots(2, len(g1), figsize=(5 * len(g1), 7), squeeze=False, sharex=True)
    for i, sc in enumerate(g1):
        v, h, lg = sc["series"]["vps"], sc["series"]["home"], sc["series"]["legit"]
        ax = axes[0][i]
        ax.plot([r["t"] for r in v], [r["rx_pps"] / 1e3 for r in v], label="offered at the vps (eth0)", color="#c0392b")
        acc = [sum(r.get(k, 0) for k in r if k.startswith("pps_acc_")) / 1e3 for r in v]
        ax.plot([r["t"] for r in v], acc, label="accepted by the edge (SYN 443/5222, UDP)", color="#e67e22")
        ax.plot([r["t"] for r in h], [r["rx_pps"] / 1e3 for r in h], label="reaching home (tailscale0)", color="#2c3e50")
        ax.set_title(f"G1 on the {sc['edge']} edge", fontsize=10)
        ax.set_ylabel("thousand packets/s")
        ax.axvspan(0, sc["summary"]["flood_secs"], color="#f5b7b1", alpha=0.25)
        ax.legend(fontsize=7, loc="upper right")
        ax = axes[1][i]
        ax.plot([r["t"] for r in lg], [100 * r["ok"] / r["n"] if r["n"] else None for r in lg], color="#27ae60",
                label="legitimate attempts that succeed (%)")
        ax.set_ylim(0, 105)
        ax.set_ylabel("% succeeding")
        ax.set_xlabel("s from the flood's start")
        ax.axvspan(0, sc["summary"]["flood_secs"], color="#f5b7b1", alpha=0.25)
        ax2 = ax.twinx()
        ax2.plot([r["t"] for r in v], [(r.get("ct_count") or 0) / 1e3 for r in v], color="#8e44ad", linestyle="--",
                 label="conntrack entries (thousands)")
        ax2.set_ylabel("conntrack entries (k)")
        lines = ax.get_lines() + ax2.get_lines()
        ax.legend(lines, [x.get_label() for x in lines], fontsize=7, loc="lower left")
    fig.suptitle("npm run bench:flood: G1 (spoofed SYN flood on 443+5222 and a UDP flood on a forward), per second", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def nofile_note(m):
    """Where nginx's workers could not raise their file limit: how G3 ran here (docs/security.md)."""
    n, want = m.get("nginx_worker_nofile", ""), m.get("nginx_worker_rlimit", "65536")
    if not n.isdigit() or not want.isdigit() or int(n) >= int(want):
        return ""
    note = (f" nginx's workers could hold {int(n):,} files each here, not their worker_rlimit_nofile {int(want):,} (the "
            "machine refused it; a real edge's systemd allows it).")
    w = m.get("g3_nginx_workers")
    if w:
        note += (f" G3 therefore ran with {w} workers instead of the edge's two (one per core), so that together they hold "
                 f"{int(w) * int(n):,} files, two a session; every other scenario with the edge's own file.")
    else:
        note += f" Two files a session, two workers: G3 stops near {int(n):,} idle sessions on this machine."
    return note


def section(d):
    m = d["meta"]
    edges = m.get("edges", "").split()
    scen = [s for s in d["scenarios"] if "summary" in s]
    L = ["## Under flood (`npm run bench:flood`)\n",
         "<!-- Generated by bench/flood_report.py from bench/flood.json. -->\n"]
    L.append(f"Run {m.get('date', '?')} at {m.get('git', '?')} on {m.get('cpus', '?')} cores ({m.get('cpu_model', '?')}), "
             f"kernel {m.get('kernel', '?')}, nginx {m.get('nginx', '?')}, coturn {m.get('coturn', '?')}; load at the start "
             f"{m.get('load_at_start', '?')} with {m.get('other_netns', '?')} network namespaces of other work on the machine. "
             f"Knobs: FLOOD_SECS={m.get('flood_secs')} (the issue asks 120 s), baseline {m.get('base_secs')} s, "
             f"SYN rate {m.get('syn_rate')} (0: the attacker's full rate), UDP {m.get('udp_rate')}/s, STUN {m.get('stun_rate')}/s, "
             f"legitimate clients {m.get('legit_rate')}/s of each kind and {m.get('sessions')} established XMPP sessions, "
             f"G3 {m.get('g3_sources')} sources × {m.get('g3_per_src')} sessions, G2 spray {m.get('g2_spray')} sources. "
             "The vps–home link is the tailnet stand-in (a veth pair), as in `npm run bench`'s first phases."
             + nofile_note(m) + "\n")
    tw = d.get("today_vs_weakened")
    if tw is not None:
        if tw:
            L.append(f"Today's edge (the renderer of {m.get('today_rev')} = {m.get('today_commit')}, the commit before the flood "
                     "protections) is not the weakened edge: the weakened one keeps the round's other changes (" +
                     "; ".join(tw[:8]) + "), so both are measured.\n")
        else:
            L.append(f"Today's edge ({m.get('today_commit')}) renders the same files as the weakened edge.\n")
    rates = [s["attacks"]["syn"]["pps"] for s in scen if s["scenario"] == "G1" and "syn" in s.get("attacks", {})]
    if rates:
        L.append(f"The lab's maximum attack rate here: benchnet spoof's SYNs at full speed reached "
                 f"{fmt(min(rates), 0)}–{fmt(max(rates), 0)} packets/s during G1 (the UDP flood and the legitimate clients "
                 "sharing the same two cores).\n")
    # The table of goals per edge.
    goals = d["goals"]
    L.append("| goal | " + " | ".join(EDGE_NAMES.get(e, e) for e in edges) + " |")
    L.append("|---|" + "---|" * len(edges))
    for goal in sorted(goals):
        row = [goal]
        for e in edges:
            v = goals[goal].get(e)
            if not v:
                row.append("–")
            elif v["pass"] is None:
                row.append("not measured")
            else:
                fails = [c for c in v["checks"] if c["pass"] is False]
                row.append("**pass**" if not fails else "FAIL: " + "; ".join(f"{c['what']} ({c['value']})" for c in fails))
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    same = [goal for goal in sorted(goals) if all(goals[goal].get(e, {}).get("pass") is True for e in ("fixed", "weakened"))]
    if same:
        L.append("The weakened edge passes " + ", ".join(same) + " as well: in this run those "
                 "scenarios do not tell the fixed edge from the weakened one, so a pass there is no evidence for the protections.\n")
    L.append("Goals: G1 a spoofed SYN flood at the attacker's full rate on 443+5222 plus a UDP flood on a forward: new "
             "sessions ≥ 99 % with p99 ≤ 3× unloaded, pings ≥ 99 %, no conntrack drops, ≤ 1 % of the SYNs at home, "
             "no more UDP at home than the forward's budget, no OOM kill. G2 one real source past full sets gets at most its "
             "connection limit. G3 new sessions ≥ 99 % beside many idle ones. G4 spoofed STUN: coturn RSS < 256 MiB, "
             "allocations ≥ 95 %. G5 junk to tailscaled's port: tunnel ping loss < 1 %.\n")
    L.append("| scenario | edge | offered (pkt/s at eth0) | accepted SYN/UDP | at home (pkts, MB) | conntrack max, drops | SYN cookies | "
             "UDP rcvbuf errors | softirq (median %) | nginx / coturn RSS max (MiB) | legit ok during flood (tls, xmpp, turn, ping) | p99 ms base → flood (tls, xmpp, turn) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in scen:
        u = s["summary"]
        lf, lb = u["legit_flood"], u["legit_base"]
        acc = "/".join(fmt(u["accepted"].get(k, 0), 0) for k in ("syn443", "syn5222", "udp64738", "udp3478"))
        okr = ", ".join(f"{lf[k]['ok']}/{lf[k]['n']}" for k in KINDS + ("ping",))
        p99 = ", ".join(f"{fmt(lb[k]['p99_ms'])}→{fmt(lf[k]['p99_ms'])}" for k in KINDS)
        L.append(f"| {s['scenario']} | {s['edge']} | {fmt(u['offered_pps_eth0'], 0)} | {acc} | {fmt(u['home_rx_pkts'], 0)}, "
                 f"{u['home_rx_bytes'] / 1e6:.1f} | {fmt(u['ct_count_max'], 0)}, {fmt(u['ct_drops'], 0)} | {fmt(u['syncookies_sent'], 0)} | "
                 f"{fmt(u['udp_rcvbuf_errors'], 0)} | {fmt(u['softirq_pct_median'])} | {u['nginx_rss_mib_max']:.0f} / "
                 f"{u['turnserver_rss_mib_max']:.0f} | {okr} | {p99} |")
    L.append("")
    L.append("Accepted: the packets the edge's filter chains let through, per class (SYN to 443 / SYN to 5222 / UDP to 64738 / "
             "UDP to 3478), from the bench's own counters before and after the edge's chains (table inet xbf_acct). At home: "
             "what arrived on tailscale0 during the flood (the legitimate clients' traffic included). Every figure is a total "
             "over the flood unless it says max or median; the per-second series are in flood.json.\n")
    errs = []
    for s in scen:
        for k in KINDS + ("ping",):
            e = s["summary"]["legit_flood"][k]["errors"]
            if e:
                errs.append(f"{s['scenario']}/{s['edge']}/{k}: " + ", ".join(f"{n}× {t}" for t, n in e.items()))
    if errs:
        L.append("Failures of the legitimate clients, most frequent first: " + "; ".join(errs[:12]) + ".\n")
    L.append("![under flood](flood.png)\n")
    L.append("Reproduce: `npm run bench:flood` (= `bash scripts/bench/install-deps.sh && bash bench/flood.sh`), with the "
             "knobs above as environment variables; `bash bench/flood.sh --report` re-renders this section from flood.json.\n")
    return "\n".join(L) + "\n"


def write_section(d, out):
    path = os.path.join(out, "REPORT.md")
    text = section(d)
    body = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    block = f"{BEGIN}\n{text}{END}\n"
    if BEGIN in body and END in body:
        body = body[:body.index(BEGIN)] + block + body[body.index(END) + len(END) + 1:]
    else:
        body = body.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(body)


def block(flood_json):
    """For bench/report.py: the section with its markers, from flood.json."""
    d = json.load(open(flood_json))
    return f"{BEGIN}\n{section(d)}{END}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--res")
    ap.add_argument("--write")
    ap.add_argument("--flood")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.res:
        d = analyse(a.res)
        with open(a.write, "w") as f:
            json.dump(d, f, indent=1)
            f.write("\n")
    else:
        d = json.load(open(a.flood))
    chart(d, os.path.join(a.out, "flood.png"))
    write_section(d, a.out)
    for goal in sorted(d["goals"]):
        for e, v in d["goals"][goal].items():
            print(f"{goal} {e}: {'not measured' if v['pass'] is None else ('pass' if v['pass'] else 'FAIL')}"
                  + "".join(f"\n   {'info' if c['pass'] is None else 'ok  ' if c['pass'] else 'FAIL'} {c['what']}: {c['value']}" for c in v["checks"]))


if __name__ == "__main__":
    main()
