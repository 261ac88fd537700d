"""Elementwise chain `tanh(x)*sigmoid(x) + gelu(x)*0.5` on 4M float32 values (BENCH.md).

Contenders, interleaved in one process: irgrad (lazy, steady state: record, realize, wait),
torch eager, torch.compile (inductor; compiled before timing) and JAX jit (exact GELU, as
torch's default). Also prints how many dispatches irgrad compiled the chain to (target: one
fused kernel, one pass over memory: 16 MiB read + 16 MiB written).
"""
from __future__ import annotations

import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import (check_same, interleaved, load_jax, load_torch, parser,  # noqa: E402
                    report, torch_compile)

import irgrad  # noqa: E402

N = 4 * 1024 * 1024


def chain(lib, x):
    return lib.tanh(x) * lib.sigmoid(x) + lib.nn.functional.gelu(x) * 0.5


def irgrad_dispatches(x) -> int | str:
    """Dispatch count of the compiled chain (internal API: 'n/a' if it has moved)."""
    try:
        from irgrad.ir.graph import Graph
        from irgrad.lowering.compile import compile_graph
        from irgrad.passes.pipeline import optimize
        vmfb, _ = compile_graph(optimize(Graph.cut([chain(irgrad, x).node])))
        return len(set(re.findall(rb"_dispatch_(\d+)", vmfb)))
    except Exception as e:  # a benchmark must not die on an internal refactor
        return f"n/a ({type(e).__name__})"


def main(argv=None):
    args = parser(__doc__, repeats=30).parse_args(argv)
    torch, torch_why = load_torch()
    jax, jax_why = load_jax()
    host = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    x = irgrad.tensor(host)

    def run_irgrad():
        y = chain(irgrad, x)
        irgrad.realize(y)
        y.node.data.wait()
        return y

    contenders, missing, outs = {"irgrad": run_irgrad}, {}, {}
    outs["irgrad"] = run_irgrad().numpy()
    if torch is not None:
        xt = torch.from_numpy(host)
        contenders["torch eager"] = lambda: chain(torch, xt)
        outs["torch eager"] = chain(torch, xt).numpy()
        compiled, secs, why = torch_compile(torch, lambda t: chain(torch, t),
                                            lambda c: c(xt))
        if compiled is None:
            missing["torch.compile"] = why
        else:
            print(f"  torch.compile first call (compile): {secs:.2f} s")
            contenders["torch.compile"] = lambda: compiled(xt)
            outs["torch.compile"] = compiled(xt).numpy()
    else:
        missing["torch eager"] = missing["torch.compile"] = torch_why
    if jax is not None:
        from anchors_jax import elementwise_chain
        xj, f = jax.numpy.asarray(host), elementwise_chain()
        contenders["jax jit"] = lambda: f(xj).block_until_ready()
        outs["jax jit"] = np.asarray(f(xj))
    else:
        missing["jax jit"] = jax_why
    check_same({k: 0.0 if k == "irgrad" else float(np.abs(v - outs["irgrad"]).max())
                for k, v in outs.items()}, "max |result - irgrad's|", rtol=1e-5)
    medians = interleaved(contenders, repeats=args.repeats)
    report("chain", "elementwise chain 4M f32", medians, missing, args.json,
           **{"irgrad dispatches": irgrad_dispatches(x),
              "irgrad GB/s (32 MiB moved)": round(8 * N / medians["irgrad"] / 1e9, 1)})


if __name__ == "__main__":
    main()
