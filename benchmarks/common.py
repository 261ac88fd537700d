"""Shared benchmark helpers: interleaved timing, medians, ratios, result records.

The machine is shared and noisy, so every comparison runs its contenders interleaved
(A, B, A, B, ...) in one process and reports medians and ratios, never single runs.
"""
from __future__ import annotations

import json
import os
import statistics
import time

RESULTS_JSON = os.path.join(os.path.dirname(__file__), "results.json")


def interleaved(contenders: dict, repeats: int = 30, inner: int = 1, warmup: int = 3) -> dict:
    """Time each callable `inner` times per round, rounds interleaved; return medians (s)."""
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


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def report(bench: str, medians: dict, baseline: str = "irgrad", extra: dict | None = None):
    """Print irgrad's figure, each anchor's and the ratio irgrad/anchor; record them."""
    base = medians[baseline]
    print(f"\n== {bench}")
    for name, t in medians.items():
        ratio = "" if name == baseline else f"   irgrad/{name} = {base / t:.2f}x"
        print(f"  {name:>16}: {fmt_time(t):>10}{ratio}")
    for k, v in (extra or {}).items():
        print(f"  {k}: {v}")
    record(bench, {"medians_s": medians, **(extra or {})})


def record(bench: str, data: dict) -> None:
    try:
        with open(RESULTS_JSON) as f:
            all_results = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        all_results = {}
    all_results[bench] = data
    with open(RESULTS_JSON, "w") as f:
        json.dump(all_results, f, indent=2, sort_keys=True)


def try_import_torch():
    try:
        import torch
        torch.set_num_threads(os.cpu_count() or 2)
        return torch
    except ImportError:
        return None


def try_import_jax():
    try:
        import jax
        return jax
    except ImportError:
        return None
