"""BENCH.md's targets for irgrad, as checks on one result row of the benchmark scripts.

A row is a dict with `times_s` (medians per contender) and the script's notes. Each check
returns True (met), False (not met) or None (cannot tell: its anchor did not run).
"""
from __future__ import annotations


def ratio_at_most(anchor: str, limit: float):
    def check(row):
        t = row["times_s"]
        return None if anchor not in t else t["irgrad"] / t[anchor] <= limit
    check.needs = anchor
    return check


def seconds_at_most(limit: float):
    return lambda row: row["times_s"]["irgrad"] <= limit


def peak_at_least(percent: float):
    return lambda row: row.get("irgrad % of fp32 peak", 0) >= percent


def no_compiles(field: str):
    def check(row):
        v = row.get(field)
        return None if v is None else all(c == 0 for c in (v if isinstance(v, list) else [v]))
    return check


STEADY = no_compiles("irgrad compiles during timed steps")
TARGETS = {
    "mlp": ("≤ 0.75× torch eager, ≤ 1.0× JAX jit, ≥ 80 % of fp32 peak, 0 compiles",
            [ratio_at_most("torch eager", 0.75), ratio_at_most("jax jit", 1.0),
             peak_at_least(80), STEADY]),
    "cnn": ("≤ 1.0× torch eager, 0 compiles", [ratio_at_most("torch eager", 1.0), STEADY]),
    "tiny": ("≤ 1.0× torch eager, 0 compiles", [ratio_at_most("torch eager", 1.0), STEADY]),
    "chain": ("≤ 1.0× JAX jit, one fused kernel",
              [ratio_at_most("jax jit", 1.0), lambda row: row.get("irgrad dispatches") == 1]),
    "matmul": ("none (limit: fp32 peak, 210 GFLOP/s)", []),
    "first_cold": ("≤ 2 s", [seconds_at_most(2.0)]),
    "first_warm": ("≤ 0.2 s, 0 compiles",
                   [seconds_at_most(0.2), no_compiles("irgrad compiles")]),
}


def verdict(row) -> str:
    """'met', 'NOT met', 'unknown (...)' or '–' (no target) for one result row."""
    _, checks = TARGETS.get(row["key"], ("", []))
    if not checks:
        return "–"
    results = [(c, c(row)) for c in checks]
    if any(r is False for _, r in results):
        return "NOT met"
    unknown = [getattr(c, "needs", "?") for c, r in results if r is None]
    return f"unknown (no {', '.join(unknown)})" if unknown else "met"
