"""`make bench`: run every benchmark, then write benchmarks/RESULTS.md and a bar chart.

Each script records its medians in benchmarks/results.json; this driver runs them in turn
(fresh results file) and renders the table and `results.png` (irgrad time / anchor time per
benchmark, lower is better; 1.0 is parity).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ["train_step.py", "elementwise_chain.py", "matmul.py", "compile_time.py"]


def main():
    results_json = os.path.join(HERE, "results.json")
    if os.path.exists(results_json):
        os.remove(results_json)
    for script in SCRIPTS:
        print(f"\n### {script}", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, script)], check=True)
    with open(results_json) as f:
        results = json.load(f)
    lines = ["# Benchmark results", "",
             "Medians of interleaved runs in one process (see each script's docstring).", "",
             "| benchmark | irgrad | anchor | anchor time | irgrad / anchor |",
             "|---|---|---|---|---|"]
    bars = []
    for bench, data in results.items():
        med = data.get("medians_s")
        if not med:
            lines.append(f"| {bench} | {json.dumps({k: v for k, v in data.items()})} | | | |")
            continue
        for anchor, t in med.items():
            if anchor == "irgrad":
                continue
            ratio = med["irgrad"] / t
            lines.append(f"| {bench} | {med['irgrad'] * 1e3:.2f} ms | {anchor} | "
                         f"{t * 1e3:.2f} ms | {ratio:.2f} |")
            bars.append((f"{bench}\nvs {anchor}", ratio))
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n\n![ratios](results.png)\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 0.6 * len(bars) + 1.5))
        ax.barh([b[0] for b in bars], [b[1] for b in bars], color="tab:blue")
        ax.axvline(1.0, color="black", lw=1)
        ax.set_xlabel("irgrad time / anchor time (lower is better)")
        fig.tight_layout()
        fig.savefig(os.path.join(HERE, "results.png"), dpi=100)
    except ImportError:
        print("matplotlib is not installed: no chart")
    print(open(os.path.join(HERE, "RESULTS.md")).read())


if __name__ == "__main__":
    main()
