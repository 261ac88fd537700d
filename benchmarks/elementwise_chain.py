"""Elementwise chain `tanh(x)*sigmoid(x) + gelu(x)*0.5` on 4M float32 values.

Prints irgrad (lazy, steady state), torch eager, torch.compile (with --compile) and JAX jit
(when installed), interleaved, medians, and irgrad's ratio to each. Also reports how many
dispatches irgrad compiled the chain to.
"""
from __future__ import annotations

import argparse
import re
import sys

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import interleaved, record, report, try_import_jax, try_import_torch  # noqa: E402

import irgrad  # noqa: E402
from irgrad.ir.graph import Graph  # noqa: E402
from irgrad.lowering.compile import compile_graph  # noqa: E402
from irgrad.passes.pipeline import optimize  # noqa: E402

N = 4 * 1024 * 1024


def chain(lib, x):
    return lib.tanh(x) * lib.sigmoid(x) + lib.nn.functional.gelu(x) * 0.5


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    host = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    x = irgrad.tensor(host)

    def run_irgrad():
        y = chain(irgrad, x)
        irgrad.realize(y)
        y.node.data.wait()

    contenders = {"irgrad": run_irgrad}
    torch = try_import_torch()
    if torch is not None:
        xt = torch.from_numpy(host)
        contenders["torch eager"] = lambda: chain(torch, xt)
        if args.compile:
            compiled = torch.compile(lambda t: chain(torch, t))
            contenders["torch.compile"] = lambda: compiled(xt)
    jax = try_import_jax()
    if jax is not None:
        import jax.numpy as jnp
        xj = jnp.asarray(host)
        f = jax.jit(lambda v: jnp.tanh(v) * jax.nn.sigmoid(v) + jax.nn.gelu(v, approximate=False) * 0.5)
        contenders["jax jit"] = lambda: f(xj).block_until_ready()
    medians = interleaved(contenders, repeats=args.repeats)
    graph = optimize(Graph.cut([chain(irgrad, x).node]))
    vmfb, _ = compile_graph(graph)
    dispatches = len(set(re.findall(rb"main_dispatch_(\d+)", vmfb)))
    report("elementwise chain 4M f32", medians, extra={"irgrad dispatches": dispatches})


if __name__ == "__main__":
    main()
