"""First call of the MLP 784-512-512-10 training step (BENCH.md), each in a fresh process.

  cold  empty on-disk caches: the first step includes tracing and compilation
  warm  a new process reusing the on-disk cache that the cold process filled
        (irgrad: IRGRAD_CACHE_DIR; torch.compile: TORCHINDUCTOR_CACHE_DIR; JAX: its
        persistent compilation cache, JAX_COMPILATION_CACHE_DIR, enabled for every entry)

The figure is the time from the built model to the first loss on the host (one SGD step,
compilation included); the import time is printed beside it. torch eager has no compiler:
its first step is the reference for the cost of a step without compilation. Rounds are
interleaved (irgrad, torch eager, torch.compile, JAX jit; each cold then warm) and the
figures are medians over rounds. irgrad's IREE compiles and disk-cache hits are reported.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import cxx_compiler, fmt_time, missing_anchor, parser, record  # noqa: E402
from models import MLP_BATCH, MLP_SIZES, make_step, mlp  # noqa: E402

MODES = ("irgrad", "torch eager", "torch.compile", "jax jit")
CACHE_ENV = {"irgrad": {"IRGRAD_CACHE_DIR": ""},
             "torch.compile": {"TORCHINDUCTOR_CACHE_DIR": ""},
             "jax jit": {"JAX_COMPILATION_CACHE_DIR": "",
                         "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                         "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}}


def child(mode: str) -> dict:
    """Run in the fresh process: build the model, time the first step, return figures."""
    import numpy as np
    t0 = time.perf_counter()
    if mode == "irgrad":
        import irgrad as lib
    elif mode == "jax jit":
        import jax  # noqa: F401  (the import is part of the measured import time)
        from anchors_jax import Stepper, mlp_spec
    else:
        import torch as lib
    t_import = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    xh = rng.standard_normal((MLP_BATCH, MLP_SIZES[0])).astype(np.float32)
    yh = rng.integers(0, MLP_SIZES[-1], size=MLP_BATCH)
    if mode == "jax jit":
        stepper = Stepper(mlp_spec(MLP_SIZES), xh, yh)
        t1 = time.perf_counter()
        loss = float(stepper())
    else:
        model = mlp(lib, MLP_SIZES)
        loss_fn = None
        if mode == "torch.compile":
            F = lib.nn.functional
            loss_fn = lib.compile(lambda a, b: F.cross_entropy(model(a), b))
        step = make_step(lib, model, lib.optim.SGD(model.parameters(), lr=0.01),
                         lib.tensor(xh), lib.tensor(yh), loss_fn)
        t1 = time.perf_counter()
        loss = step().item()
    out = {"import_s": t_import, "first_s": time.perf_counter() - t1, "loss": loss}
    if mode == "irgrad":
        from irgrad.lowering.compile import stats
        out.update(compiles=stats["compiles"], disk_hits=stats["disk_hits"])
    return out


def run_child(mode: str, cache: str) -> dict:
    env = dict(os.environ)
    env.update({k: (v or cache) for k, v in CACHE_ENV.get(mode, {}).items()})
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", mode], env=env,
                              capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "no result within 900 s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:160]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def available_modes():
    """(modes to run, {mode: reason it cannot run}), without importing the anchors here."""
    missing = {}
    for mode, module in (("torch eager", "torch"), ("torch.compile", "torch"),
                         ("jax jit", "jax")):
        why = missing_anchor(module) or (missing_anchor("torch.compile")
                                         if mode == "torch.compile" else None)
        if why is None and mode == "torch.compile" and not cxx_compiler():
            why = "no C++ compiler (inductor needs g++ or clang++)"
        if why:
            missing[mode] = why
    return [m for m in MODES if m not in missing], missing


def main(argv=None):
    ap = parser(__doc__, repeats=3)
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return
    modes, missing = available_modes()
    runs = {(m, kind): [] for m in modes for kind in ("cold", "warm")}
    for _ in range(args.repeats):
        for mode in modes:
            cache = tempfile.mkdtemp(prefix="irgrad-bench-cache-")
            try:
                for kind in ("cold", "warm"):
                    runs[mode, kind].append(run_child(mode, cache))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
    for kind, key, work in (("cold", "first_cold", "first call of the MLP step, cold cache"),
                            ("warm", "first_warm", "new process, warm on-disk cache")):
        medians, why, notes = {}, dict(missing), {}
        for mode in modes:
            ok = [r for r in runs[mode, kind] if "error" not in r]
            if not ok:
                why[mode] = runs[mode, kind][0]["error"]
                continue
            medians[mode] = statistics.median(r["first_s"] for r in ok)
            notes[f"{mode} import s"] = round(statistics.median(r["import_s"] for r in ok), 3)
            if mode == "irgrad":
                notes["irgrad compiles"] = [r["compiles"] for r in ok]
                notes["irgrad disk hits"] = [r["disk_hits"] for r in ok]
        print(f"\n== {work} (fresh processes, median of {args.repeats})")
        base = medians.get("irgrad")
        for mode, t in medians.items():
            ratio = "" if mode == "irgrad" or base is None \
                else f"   irgrad/{mode} = {base / t:.2f}x"
            print(f"  {mode:>14}: {fmt_time(t):>10}{ratio}")
        for mode, reason in why.items():
            print(f"  {mode:>14}: unavailable ({reason})")
        for k, v in notes.items():
            print(f"  {k}: {v}")
        if args.json and base is not None:
            record(args.json, {"key": key, "work": work, "times_s": medians, "missing": why,
                               **notes})


if __name__ == "__main__":
    main()
