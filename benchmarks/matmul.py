"""1024^3 float32 matmul (BENCH.md): irgrad, torch eager and JAX jit, interleaved, GFLOP/s.

torch.compile is not an anchor here: it would call the same BLAS as torch eager. The limit
is the machine's fp32 peak (~210 GFLOP/s on 2 cores).
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import (PEAK_FLOPS, check_same, interleaved, load_jax, load_torch,  # noqa: E402
                    parser, report)

import irgrad  # noqa: E402

N = 1024


def main(argv=None):
    args = parser(__doc__, repeats=20).parse_args(argv)
    torch, torch_why = load_torch()
    jax, jax_why = load_jax()
    rng = np.random.default_rng(0)
    a_h = rng.standard_normal((N, N)).astype(np.float32)
    b_h = rng.standard_normal((N, N)).astype(np.float32)
    ref = a_h.astype(np.float64) @ b_h.astype(np.float64)
    a, b = irgrad.tensor(a_h), irgrad.tensor(b_h)

    def run_irgrad():
        y = a @ b
        irgrad.realize(y)
        y.node.data.wait()
        return y

    contenders, errs = {"irgrad": run_irgrad}, {}
    missing = {"torch.compile": "not an anchor for a single BLAS call"}
    errs["irgrad"] = float(np.abs(run_irgrad().numpy() - ref).max())
    if torch is not None:
        at, bt = torch.from_numpy(a_h), torch.from_numpy(b_h)
        contenders["torch eager"] = lambda: at @ bt
        errs["torch eager"] = float(np.abs((at @ bt).numpy() - ref).max())
    else:
        missing["torch eager"] = torch_why
    if jax is not None:
        from anchors_jax import matmul
        aj, bj, f = jax.numpy.asarray(a_h), jax.numpy.asarray(b_h), matmul()
        contenders["jax jit"] = lambda: f(aj, bj).block_until_ready()
        errs["jax jit"] = float(np.abs(np.asarray(f(aj, bj)) - ref).max())
    else:
        missing["jax jit"] = jax_why
    # Every contender should be about as close to the float64 product as irgrad is.
    check_same(errs, "max |C - float64 C|", rtol=1e-2)
    medians = interleaved(contenders, repeats=args.repeats)
    flops = 2 * N ** 3
    gflops = {k: round(flops / v / 1e9, 1) for k, v in medians.items()}
    report("matmul", "matmul 1024^3 f32", medians, missing, args.json,
           **{"GFLOP/s": gflops,
              "irgrad % of fp32 peak": round(100 * flops / medians["irgrad"] / PEAK_FLOPS, 1)})


if __name__ == "__main__":
    main()
