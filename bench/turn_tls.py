#!/usr/bin/env python3
"""bench/run.sh --turn-tls: the TURN-over-TLS relay against the UDP relay,
measured in the same run (bench/lib.sh phase_turn_tls), into turn-tls.json:
per path the delivered packets/s and loss (median, min, max over the
repetitions), and the per-repetition ratio TLS/UDP (median, min, max)."""
import argparse
import json
import statistics


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)} if values else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--res", required=True, help="the bench's results directory (runs.jsonl, meta.env)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = [json.loads(line) for line in open(f"{a.res}/runs.jsonl") if line.strip()]
    runs = [r for r in runs if r["phase"] == "turn-tls"]
    errors = [f'{r["path"]} rep {r["rep"]}: {r["res"]["error"]}' for r in runs if "error" in r["res"]]
    if errors:
        raise SystemExit("turn_tls.py: measurements failed:\n  " + "\n  ".join(errors))
    by = {p: {r["rep"]: r["res"] for r in runs if r["path"] == p} for p in ("turn", "turn-tls")}
    reps = sorted(set(by["turn"]) & set(by["turn-tls"]))
    if not reps:
        raise SystemExit("turn_tls.py: no repetition has both paths")
    meta = dict(line.rstrip("\n").split("=", 1) for line in open(f"{a.res}/meta.env") if "=" in line)
    out = {
        "what": "TURN over TLS on 443 (nginx ends TLS for the TURN name, the stream to coturn) vs TURN over UDP on 3478, one unpaced client, 172-byte payloads relayed to the peer's UDP sink",
        "meta": meta,
        "paths": {
            p: {"recv_pps": spread([by[p][r]["recv_pps"] for r in reps]), "sent_pps": spread([by[p][r]["sent_pps"] for r in reps]), "loss": spread([by[p][r]["loss"] for r in reps])}
            for p in ("turn", "turn-tls")
        },
        "ratio_tls_to_udp_recv_pps": spread([by["turn-tls"][r]["recv_pps"] / by["turn"][r]["recv_pps"] for r in reps if by["turn"][r]["recv_pps"] > 0]),
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    t, s, q = out["paths"]["turn"]["recv_pps"], out["paths"]["turn-tls"]["recv_pps"], out["ratio_tls_to_udp_recv_pps"]
    print(f"turn (UDP 3478):  {t['median']:,.0f} packets/s delivered (min {t['min']:,.0f}, max {t['max']:,.0f})")
    print(f"turn-tls (443):   {s['median']:,.0f} packets/s delivered (min {s['min']:,.0f}, max {s['max']:,.0f})")
    print(f"TLS / UDP:        x{q['median']:.2f} (x{q['min']:.2f}-x{q['max']:.2f}, median of {q['n']} per-repetition ratios)")


if __name__ == "__main__":
    main()
