#!/usr/bin/env python3
"""Draws bench/results/throughput.png from bench/results/summary.json:
sandboxes per second and p99 latency against concurrency, ringjail beside
the posix_spawn baseline (and bubblewrap, when run-all.sh measured it).

    chart.py SUMMARY_JSON OUT_PNG

Needs matplotlib; run-all.sh checks for it before calling this."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(rows, who):
    pts = sorted((r["conc"], r[who]) for r in rows if who in r)
    return [c for c, _ in pts], [v["rate"] for _, v in pts], [v["p99_us"] / 1e3 for _, v in pts]


def main():
    summary_path, out = sys.argv[1], sys.argv[2]
    with open(summary_path) as f:
        s = json.load(f)
    lines = [("ringjail", s["throughput"], "ringjail", "o-"),
             ("posix_spawn (baseline)", s["throughput"], "baseline", "s--")]
    if s.get("bwrap"):
        lines.append(("bwrap --unshare-all (posix_spawn pool)", s["bwrap"], "baseline", "^:"))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, rows, who, style in lines:
        conc, rate, p99 = series(rows, who)
        ax1.plot(conc, rate, style, label=label)
        ax2.plot(conc, p99, style, label=label)
    program = s["throughput"][0].get("program", "") if s["throughput"] else ""
    for ax, title, unit in ((ax1, "throughput", "runs/s"), (ax2, "p99 latency, spawn to end", "ms")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrency")
        ax.set_ylabel(unit)
        ax.set_title(f"{title}: {program}")
        ax.grid(True, alpha=0.3)
    ax2.set_yscale("log")
    ax1.legend(fontsize=8)
    fig.suptitle(f"ringjail bench, {s.get('date', '')}, kernel {s.get('kernel', '')}, "
                 f"{s.get('nproc', '?')} CPUs (medians of {s['throughput'][0].get('repeats', '?')} rounds)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
