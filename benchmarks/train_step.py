"""Training-step benchmarks of BENCH.md: MLP 784-512-512-10 (batch 128, SGD), the small CNN
(2 conv + 2 linear, batch 64) and the tiny MLP 16-32-4 (batch 1: framework overhead).

Each prints irgrad (lazy, steady state: the step is one cached graph), torch eager and JAX jit
(when installed), interleaved in one process, with medians, ratios and irgrad's compile count
during the timed steps (the target is 0).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import interleaved, report, try_import_jax, try_import_torch  # noqa: E402

import irgrad  # noqa: E402
from irgrad.frontend import realize as _realize  # noqa: E402


def mlp(lib, sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(lib.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(lib.nn.ReLU())
    return lib.nn.Sequential(*layers)


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def copy_weights(src_torch, dst_irgrad):
    dst_irgrad.load_state_dict({k: irgrad.tensor(v.detach().numpy())
                                for k, v in src_torch.state_dict().items()})


def make_step(lib, model, opt, x, y):
    F = lib.nn.functional

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def bench(name, build, x_shape, classes, batch, repeats):
    torch = try_import_torch()
    rng = np.random.default_rng(0)
    xh = rng.standard_normal((batch, *x_shape)).astype(np.float32)
    yh = rng.integers(0, classes, size=batch)
    contenders = {}
    model = build(irgrad)
    opt = irgrad.optim.SGD(model.parameters(), lr=0.01)
    x, y = irgrad.tensor(xh), irgrad.tensor(yh)
    if torch is not None:
        tmodel = build(torch)
        copy_weights(tmodel, model)
    step = make_step(irgrad, model, opt, x, y)

    def run_irgrad():
        step().item()

    contenders["irgrad"] = run_irgrad
    if torch is not None:
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01)
        tstep = make_step(torch, tmodel, topt, torch.from_numpy(xh), torch.from_numpy(yh))
        contenders["torch eager"] = lambda: tstep().item()
    for _ in range(3):
        run_irgrad()
    before = _realize.counters["compiles"]
    medians = interleaved(contenders, repeats=repeats)
    compiles = _realize.counters["compiles"] - before
    report(name, medians, extra={"irgrad compiles during timed steps": compiles})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--which", default="mlp,cnn,tiny")
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    which = set(args.which.split(","))
    if "mlp" in which:
        bench("MLP 784-512-512-10 b128 SGD step", lambda lib: mlp(lib, [784, 512, 512, 10]),
              (784,), 10, 128, args.repeats)
    if "cnn" in which:
        bench("small CNN b64 SGD step", cnn, (1, 28, 28), 10, 64, max(5, args.repeats // 3))
    if "tiny" in which:
        bench("tiny MLP 16-32-4 b1 SGD step", lambda lib: mlp(lib, [16, 32, 4]), (16,), 4, 1,
              args.repeats * 10)


if __name__ == "__main__":
    main()
