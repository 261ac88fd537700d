"""`make bench`: run every benchmark script, then write RESULTS.md, results.json, results.png.

Each script runs in its own process (compile_time.py starts further fresh processes for the
cold and warm-cache first calls) and appends its rows to one JSON file. The table gives each
contender's median time, irgrad's ratio to each anchor (below 1: irgrad is faster), BENCH.md's
target for the row and whether it is met; the chart plots the ratios on a log scale.
`--quick` runs few repeats, to check the scripts, not to quote; `--render results.json`
rewrites RESULTS.md and the chart from recorded results without measuring.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import ANCHORS, fmt_time  # noqa: E402
from targets import TARGETS, verdict  # noqa: E402

# (script, arguments, --repeats for a quick check); one process each, so that a crash in
# one benchmark leaves the others' rows.
SCRIPTS = [("train_step.py", ["--which", "mlp"], 3), ("train_step.py", ["--which", "cnn"], 3),
           ("train_step.py", ["--which", "tiny"], 3), ("elementwise_chain.py", [], 3),
           ("matmul.py", [], 3), ("compile_time.py", [], 1)]
ORDER = ["mlp", "cnn", "tiny", "chain", "matmul", "first_cold", "first_warm"]
LABELS = {"torch eager": "torch eager", "torch.compile": "torch.compile", "jax jit": "JAX jit"}


def machine_meta(started, load_before, load_after, quick, failed) -> dict:
    """What RESULTS.md's header says about the run: date, machine, load, versions."""
    def version(dist):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    try:
        git = lambda *a: subprocess.run(["git", *a], cwd=HERE, capture_output=True,  # noqa
                                        text=True).stdout.strip()
        commit = git("rev-parse", "--short", "HEAD") or "?"
        if git("status", "--porcelain", "--untracked-files=no", "--", "../irgrad"):
            commit += " with uncommitted changes to irgrad/"
    except OSError:
        commit = "?"
    return {"started": started, "cpu": f"{cpu}, {os.cpu_count()} cores",
            "load_before": list(load_before), "load_after": list(load_after),
            "versions": f"irgrad commit {commit}; torch {version('torch')}, jax "
                        f"{version('jax')}, iree-base-compiler {version('iree-base-compiler')}, "
                        f"Python {platform.python_version()}",
            "quick": quick, "failed": failed}


def notes(row) -> str:
    """irgrad's compile counts and the row's other notes, for the last column."""
    parts = []
    if "irgrad compiles during timed steps" in row:
        first = next((f"; first {k.split()[-2]} steps: {v} compiles"
                      for k, v in row.items() if k.startswith("irgrad compiles in the first")),
                     "")
        parts.append(f"timed steps: {row['irgrad compiles during timed steps']} compiles, "
                     f"{row.get('irgrad cache hits during timed steps', '?')} cache hits"
                     f"{first}")
    if "irgrad compiles" in row:
        parts.append(f"compiles {row['irgrad compiles']}, disk hits {row.get('irgrad disk hits')}")
    if "irgrad % of fp32 peak" in row:
        parts.append(f"{row['irgrad % of fp32 peak']} % of fp32 peak")
    for k in ("GFLOP/s", "irgrad dispatches", "irgrad GB/s (32 MiB moved)"):
        if k in row:
            parts.append(f"{k}: {row[k]}")
    return "; ".join(parts)


def table(rows) -> list:
    head = (["work", "irgrad"] + [LABELS[a] for a in ANCHORS]
            + [f"irgrad / {LABELS[a]}" for a in ANCHORS]
            + ["target (BENCH.md)", "met?", "irgrad compiles, notes"])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        t = row["times_s"]
        cells = [row["work"], fmt_time(t["irgrad"])]
        cells += [fmt_time(t[a]) if a in t else "n/a" for a in ANCHORS]
        cells += [f"{t['irgrad'] / t[a]:.2f}" if a in t else "–" for a in ANCHORS]
        text, _ = TARGETS.get(row["key"], ("–", []))
        cells += [text, verdict(row), notes(row)]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    return out


def chart(rows, path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (`make bench` installs it)")
        return False
    fig, ax = plt.subplots(figsize=(10, 0.9 * len(rows) + 1.5))
    height = 0.8 / len(ANCHORS)
    for j, anchor in enumerate(ANCHORS):
        ys, xs = [], []
        for i, row in enumerate(rows):
            if anchor in row["times_s"]:
                ys.append(i + (j - 1) * height)
                xs.append(row["times_s"]["irgrad"] / row["times_s"][anchor])
        # Bars grow from parity (1.0): left of it irgrad is faster, right of it slower.
        bars = ax.barh(ys, [x - 1 for x in xs], left=1, height=height,
                       label=f"vs {LABELS[anchor]}")
        ax.bar_label(bars, labels=[f"{x:.2f}" for x in xs], fontsize=7, padding=2)
    ax.set_yticks(range(len(rows)), [r["work"] for r in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=1)
    ax.set_xlabel("irgrad time / anchor time (log scale; left of 1: irgrad is faster)")
    ax.margins(x=0.08)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def render(results: dict, out: str) -> list:
    """Write RESULTS.md and results.png from {"meta": ..., "rows": [...]}; return the lines."""
    meta, rows = results["meta"], results["rows"]
    has_chart = bool(rows) and chart(rows, os.path.join(out, "results.png"))
    loads = lambda t: ", ".join(f"{v:.2f}" for v in t)  # noqa: E731
    lines = ["# Benchmark results", "",
             f"- started: {meta['started']}",
             f"- machine: {meta['cpu']}; load average (1, 5, 15 min) before: "
             f"{loads(meta['load_before'])}, after: {loads(meta['load_after'])}",
             f"- {meta['versions']}", "",
             "Written by `make bench` (benchmarks/run_all.py"
             + (" --quick: few repeats, not for quoting" if meta["quick"] else "") + "). "
             "Medians of runs interleaved in one process (first-call rows: fresh processes); "
             "ratios are irgrad time / anchor time, below 1 irgrad is faster. The machine is "
             "shared: compare ratios, not absolute times, and mind the load average.", "",
             *table(rows)]
    missing = {}
    for r in rows:
        for anchor, why in r.get("missing", {}).items():
            missing.setdefault((anchor, why), []).append(r["work"])
    if missing:
        lines += ["", "Anchors not measured:"]
        lines += [f"- {a} ({'; '.join(works)}): {why}" for (a, why), works in missing.items()]
    if meta["failed"]:
        lines += ["", f"Scripts that failed: {', '.join(meta['failed'])}"]
    if has_chart:
        lines += ["", "![irgrad time / anchor time](results.png)"]
    with open(os.path.join(out, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def measure(quick: bool) -> dict:
    """Run every script (one process each); return {"meta": ..., "rows": [...]}."""
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    load_before = os.getloadavg()
    fd, tmp = tempfile.mkstemp(prefix="irgrad-bench-", suffix=".json")
    os.close(fd)
    os.remove(tmp)
    failed = []
    for script, extra, quick_repeats in SCRIPTS:
        print(f"\n### {script} {' '.join(extra)}", flush=True)
        cmd = [sys.executable, os.path.join(HERE, script), "--json", tmp, *extra]
        if quick:
            cmd += ["--repeats", str(quick_repeats)]
        if subprocess.run(cmd).returncode != 0:
            failed.append(" ".join([script, *extra]))
    load_after = os.getloadavg()
    try:
        with open(tmp) as f:
            rows = json.load(f)
        os.remove(tmp)
    except FileNotFoundError:
        rows = []
    rows.sort(key=lambda r: ORDER.index(r["key"]) if r["key"] in ORDER else len(ORDER))
    return {"meta": machine_meta(started, load_before, load_after, quick, failed),
            "rows": rows}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few repeats: check, don't quote")
    ap.add_argument("--out", default=HERE, help="where RESULTS.md, results.json/png go")
    ap.add_argument("--render", metavar="RESULTS_JSON",
                    help="measure nothing: rewrite RESULTS.md and the chart from this file")
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            results = json.load(f)
    else:
        results = measure(args.quick)
    os.makedirs(args.out, exist_ok=True)
    if not args.render:
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
    print("\n" + "\n".join(render(results, args.out)))
    return 1 if results["meta"]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
