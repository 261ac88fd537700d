"""First-call cost of the MLP training step (BENCH.md): cold (empty compile cache, compile
included) and a new process with a warm on-disk cache, each measured in a fresh process."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import record  # noqa: E402

CHILD = r"""
import time
t0 = time.perf_counter()
import numpy as np
import irgrad as torch
from irgrad.frontend import realize
t_import = time.perf_counter()
model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                            torch.nn.ReLU(), torch.nn.Linear(512, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.tensor(np.random.rand(128, 784).astype(np.float32))
y = torch.tensor(np.random.randint(0, 10, 128))
t1 = time.perf_counter()
opt.zero_grad()
loss = torch.nn.functional.cross_entropy(model(x), y)
loss.backward()
opt.step()
loss.item()
t2 = time.perf_counter()
from irgrad.lowering.compile import stats
print(f"{t_import - t0:.3f} {t2 - t1:.3f} {stats['compiles']}")
"""


def run(cache):
    env = dict(os.environ, IRGRAD_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main():
    cache = tempfile.mkdtemp(prefix="irgrad-bench-cache-")
    imp_cold, cold, compiles_cold = run(cache)
    imp_warm, warm, compiles_warm = run(cache)
    print("\n== first training step of the MLP (fresh processes)")
    print(f"  cold cache : {cold:.2f} s to the first result ({compiles_cold} compiles), "
          f"import {imp_cold:.2f} s")
    print(f"  warm cache : {warm:.3f} s to the first result ({compiles_warm} compiles), "
          f"import {imp_warm:.2f} s")
    record("first call of the MLP step", {"cold_s": cold, "warm_s": warm,
                                          "compiles_cold": compiles_cold,
                                          "compiles_warm": compiles_warm})


if __name__ == "__main__":
    main()
