"""Shared benchmark helpers: interleaved timing, anchors, printing and result records.

The machine is shared and noisy, so every comparison runs its contenders interleaved
(A, B, C, A, B, C, ...) in one process and reports medians and irgrad's ratio to each
anchor, never single runs. The anchors (PyTorch eager, torch.compile, JAX jit) are
optional: a missing one is reported with its reason and the irgrad figure still prints.
`IRGRAD_BENCH_SKIP=jax,torch,torch.compile` hides anchors on purpose (to check that path).

Each script writes its rows to the JSON file named by `--json` (run_all.py collects them);
without it nothing is written.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import time

ANCHORS = ("torch eager", "torch.compile", "jax jit")
# BENCH.md: 2 cores x 32 fp32 FLOP/cycle x ~3.3 GHz.
PEAK_FLOPS = 210e9


def parser(doc: str, repeats: int) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=repeats,
                    help=f"interleaved rounds per contender (default {repeats})")
    ap.add_argument("--json", help="append this script's rows to this JSON file")
    return ap


def interleaved(contenders: dict, repeats: int = 30, inner: int = 1, warmup: int = 3) -> dict:
    """Time each callable `inner` times per round, rounds interleaved; return medians (s).

    Warm-up calls (compilation of every contender included) happen before the first
    timed round."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - t0) / inner)
    return {name: statistics.median(v) for name, v in samples.items()}


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def missing_anchor(name: str) -> str | None:
    """Why anchor module `name` (torch, jax, or torch.compile) cannot run, without importing it;
    None when it can."""
    if name in os.environ.get("IRGRAD_BENCH_SKIP", "").replace(" ", "").split(","):
        return "skipped by IRGRAD_BENCH_SKIP"
    if name != "torch.compile" and importlib.util.find_spec(name) is None:
        extra = "jax[cpu]" if name == "jax" else name
        return f"{name} is not installed; `make bench` installs {extra}"
    return None


def cxx_compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") \
        or shutil.which("clang++")


def load_torch():
    """(torch module, None) or (None, reason it is unavailable)."""
    why = missing_anchor("torch")
    if why:
        return None, why
    import torch
    torch.set_num_threads(os.cpu_count() or 2)
    return torch, None


def load_jax():
    """(jax module, None) or (None, reason it is unavailable)."""
    why = missing_anchor("jax")
    if why:
        return None, why
    import jax
    return jax, None


def torch_compile(torch, fn, first_call):
    """(compiled fn, seconds of the first call, None) or (None, None, reason).

    Inductor on the CPU generates C++ and needs a compiler. `first_call(compiled)` runs the
    first call (compilation, of the backward too for a training step) here, outside any
    timed loop."""
    if torch is None:
        return None, None, "torch is not installed"
    why = missing_anchor("torch.compile")
    if why:
        return None, None, why
    if not cxx_compiler():
        return None, None, "no C++ compiler (inductor needs g++ or clang++)"
    try:
        compiled = torch.compile(fn)
        t0 = time.perf_counter()
        first_call(compiled)
        return compiled, time.perf_counter() - t0, None
    except Exception as e:  # any inductor/toolchain failure: report, never crash
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return None, None, f"{type(e).__name__}: {first[:160]}"


def check_same(values: dict, what: str, rtol: float = 1e-3) -> None:
    """Warn when contenders disagree on a value (so they are not doing the same work)."""
    ref = values.get("irgrad")
    for name, v in values.items():
        if ref is not None and abs(v - ref) > rtol * max(1.0, abs(ref)):
            print(f"  WARNING: {what}: {name} gives {v:.6g}, irgrad {ref:.6g}")


def report(key: str, work: str, medians: dict, missing: dict, json_path: str | None,
           **extra) -> dict:
    """Print irgrad's figure, each anchor's and irgrad/anchor; record one result row.

    `missing` maps an anchor to the reason it did not run; `extra` holds notes (compile
    counts, FLOPs, GFLOP/s) that go into the row as they are."""
    base = medians["irgrad"]
    print(f"\n== {work}")
    for name, t in medians.items():
        ratio = "" if name == "irgrad" else f"   irgrad/{name} = {base / t:.2f}x"
        print(f"  {name:>14}: {fmt_time(t):>10}{ratio}")
    for name, why in missing.items():
        print(f"  {name:>14}: unavailable ({why})")
    for k, v in extra.items():
        print(f"  {k}: {v}")
    row = {"key": key, "work": work, "times_s": medians, "missing": missing, **extra}
    if json_path:
        record(json_path, row)
    return row


def record(json_path: str, row: dict) -> None:
    """Add `row` to the list in `json_path` (replacing an older row with the same key)."""
    try:
        with open(json_path) as f:
            rows = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        rows = []
    rows = [r for r in rows if r.get("key") != row["key"]] + [row]
    with open(json_path, "w") as f:
        json.dump(rows, f, indent=2)
