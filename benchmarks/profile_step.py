"""Where one irgrad training step spends its time: per phase, then a cProfile of the hot path.

Runs the BENCH.md MLP (`--which mlp`: 784-512-512-10, batch 128) or tiny MLP (`tiny`: 16-32-4,
batch 1) SGD step in lazy mode, steady state, reading the loss every step as a training loop
that logs does. Prints the median microseconds per step of each phase: zero_grad, forward,
loss, backward, optimizer.step (with, inside it, the graph cut + cache key and the call that
enqueues the compiled graph) and the wait for the loss value (the device computing). Then
the functions with the most own time under cProfile (which inflates Python-heavy parts).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import irgrad  # noqa: E402
from irgrad.ir.graph import Graph  # noqa: E402
from irgrad.runtime.executable import Executable  # noqa: E402
from models import mlp  # noqa: E402

SIZES = {"mlp": ([784, 512, 512, 10], 128), "tiny": ([16, 32, 4], 1)}
PHASES = ("zero_grad", "forward", "loss", "backward", "step", "wait")


def build(which):
    sizes, batch = SIZES[which]
    rng = np.random.default_rng(0)
    model = mlp(irgrad, sizes)
    opt = irgrad.optim.SGD(model.parameters(), lr=0.01)
    x = irgrad.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    y = irgrad.tensor(rng.integers(0, sizes[-1], size=batch))
    return model, opt, x, y


class _Timed:
    """Wraps Graph.cut and Executable.__call__ to add their time to a tally."""

    def __init__(self):
        self.tally = {"cut+key": 0.0, "enqueue": 0.0}
        self._cut, self._call = Graph.cut.__func__, Executable.__call__
        tally, cut, call = self.tally, self._cut, self._call

        def timed_cut(cls, outputs):
            t = time.perf_counter()
            try:
                return cut(cls, outputs)
            finally:
                tally["cut+key"] += time.perf_counter() - t

        def timed_call(exe, *args, **kwargs):
            t = time.perf_counter()
            try:
                return call(exe, *args, **kwargs)
            finally:
                tally["enqueue"] += time.perf_counter() - t

        Graph.cut, Executable.__call__ = classmethod(timed_cut), timed_call

    def close(self):
        Graph.cut, Executable.__call__ = classmethod(self._cut), self._call


def phases(which, steps):
    model, opt, x, y = build(which)
    F = irgrad.nn.functional
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
    per_step = {k: [] for k in PHASES + ("cut+key", "enqueue")}
    timer = _Timed()
    try:
        for _ in range(steps):
            before = dict(timer.tally)
            t0 = time.perf_counter()
            opt.zero_grad()
            t1 = time.perf_counter()
            out = model(x)
            t2 = time.perf_counter()
            loss = F.cross_entropy(out, y)
            t3 = time.perf_counter()
            loss.backward()
            t4 = time.perf_counter()
            opt.step()
            t5 = time.perf_counter()
            loss.item()
            t6 = time.perf_counter()
            for k, a, b in zip(PHASES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)):
                per_step[k].append(b - a)
            for k in ("cut+key", "enqueue"):
                per_step[k].append(timer.tally[k] - before[k])
    finally:
        timer.close()
    return {k: statistics.median(v) * 1e6 for k, v in per_step.items()}, (model, opt, x, y)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--which", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--top", type=int, default=25, help="cProfile rows to print (0: none)")
    args = ap.parse_args(argv)
    med, (model, opt, x, y) = phases(args.which, args.steps)
    total = sum(med[k] for k in PHASES)
    print(f"== {args.which} MLP SGD step, lazy, median of {args.steps} steps: {total:.0f} us")
    for k in PHASES:
        print(f"  {k:>10}: {med[k]:8.0f} us")
        if k == "step":
            print(f"  {'':>10}   of which cut+key {med['cut+key']:.0f} us, "
                  f"enqueue {med['enqueue']:.0f} us")
    if args.top:
        F = irgrad.nn.functional
        prof = cProfile.Profile()
        for _ in range(args.steps):
            prof.enable()
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            prof.disable()
            loss.item()
        print(f"\n== cProfile of the recording (everything but the wait), {args.steps} steps")
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
