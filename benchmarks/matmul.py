"""1024^3 float32 matmul: irgrad vs torch eager (and JAX jit when installed), GFLOP/s."""
from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import interleaved, report, try_import_jax, try_import_torch  # noqa: E402

import irgrad  # noqa: E402

N = 1024


def main():
    rng = np.random.default_rng(0)
    a_h = rng.standard_normal((N, N)).astype(np.float32)
    b_h = rng.standard_normal((N, N)).astype(np.float32)
    a, b = irgrad.tensor(a_h), irgrad.tensor(b_h)

    def run_irgrad():
        y = a @ b
        irgrad.realize(y)
        y.node.data.wait()

    contenders = {"irgrad": run_irgrad}
    torch = try_import_torch()
    if torch is not None:
        at, bt = torch.from_numpy(a_h), torch.from_numpy(b_h)
        contenders["torch eager"] = lambda: at @ bt
    jax = try_import_jax()
    if jax is not None:
        import jax.numpy as jnp
        aj, bj = jnp.asarray(a_h), jnp.asarray(b_h)
        f = jax.jit(lambda p, q: p @ q)
        contenders["jax jit"] = lambda: f(aj, bj).block_until_ready()
    medians = interleaved(contenders, repeats=20)
    flops = 2 * N ** 3
    report("matmul 1024^3 f32", medians,
           extra={f"{k} GFLOP/s": round(flops / v / 1e9, 1) for k, v in medians.items()})


if __name__ == "__main__":
    main()
