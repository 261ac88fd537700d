"""Training-step benchmarks of BENCH.md: MLP 784-512-512-10 (batch 128, SGD), the small CNN
(2 conv + 2 linear, batch 64) and the tiny MLP 16-32-4 (batch 1: framework overhead).

Contenders, all starting from the same weights and interleaved in one process:
  irgrad         lazy mode, steady state (the step is one cached graph; `loss.item()` waits)
  torch eager    the same nn.Sequential, F.cross_entropy, optim.SGD
  torch.compile  the model + loss compiled by inductor (backward via AOTAutograd), eager SGD;
                 MLP only unless --torch-compile all
  jax jit        value_and_grad + SGD update in one jitted function, parameters donated
irgrad's compile count and in-memory cache hits during the timed steps are printed (the
target is 0 compiles). The first losses of all contenders are compared (same work).
"""
from __future__ import annotations

import copy
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import (PEAK_FLOPS, check_same, interleaved, load_jax, load_torch,  # noqa: E402
                    parser, report, torch_compile)
from models import (MLP_BATCH, MLP_SIZES, TINY_SIZES, cnn, make_step, mlp,  # noqa: E402
                    mlp_step_flops)

import irgrad  # noqa: E402
from irgrad.frontend import realize as _realize  # noqa: E402


WARMUP = 4  # untimed steps per contender: a training loop's first steps may compile


def bench(key, work, build, x_shape, classes, batch, repeats, args, flops=None):
    torch, torch_why = load_torch()
    jax, jax_why = load_jax()
    rng = np.random.default_rng(0)
    xh = rng.standard_normal((batch, *x_shape)).astype(np.float32)
    yh = rng.integers(0, classes, size=batch)
    contenders, missing, first = {}, {}, {}

    model = build(irgrad)
    if torch is not None:
        torch.manual_seed(0)
        tmodel = build(torch)
        model.load_state_dict({k: irgrad.tensor(v.detach().numpy())
                               for k, v in tmodel.state_dict().items()})
    step = make_step(irgrad, model, irgrad.optim.SGD(model.parameters(), lr=0.01),
                     irgrad.tensor(xh), irgrad.tensor(yh))
    contenders["irgrad"] = lambda: step().item()

    if torch is not None:
        xt, yt = torch.from_numpy(xh), torch.from_numpy(yh)
        cmodel = copy.deepcopy(tmodel)
        tstep = make_step(torch, tmodel, torch.optim.SGD(tmodel.parameters(), lr=0.01), xt, yt)
        contenders["torch eager"] = lambda: tstep().item()
        if args.torch_compile == "all" or (args.torch_compile == "mlp" and key == "mlp"):
            F = torch.nn.functional
            copt = torch.optim.SGD(cmodel.parameters(), lr=0.01)
            holder = {}

            def first_call(compiled):
                holder["step"] = make_step(torch, cmodel, copt, xt, yt, compiled)
                first["torch.compile"] = holder["step"]().item()
            compiled, secs, why = torch_compile(
                torch, lambda a, b: F.cross_entropy(cmodel(a), b), first_call)
            if compiled is None:
                missing["torch.compile"] = why
            else:
                print(f"  torch.compile first call (compile): {secs:.2f} s")
                contenders["torch.compile"] = lambda: holder["step"]().item()
        else:
            missing["torch.compile"] = "not requested (--torch-compile)"
    else:
        missing["torch eager"] = missing["torch.compile"] = torch_why

    if jax is not None:
        from anchors_jax import Stepper
        jstep = Stepper(model, xh, yh, lr=0.01)  # irgrad's weights, before any step
        contenders["jax jit"] = lambda: float(jstep())
    else:
        missing["jax jit"] = jax_why

    start = dict(_realize.counters)  # graphs from building the models are not counted
    for name, fn in contenders.items():
        if name not in first:
            first[name] = fn()
    check_same(first, f"{work}: first loss", rtol=1e-3)
    for fn in contenders.values():  # warm-up, outside the timed rounds
        for _ in range(WARMUP - 1):
            fn()
    before = dict(_realize.counters)
    medians = interleaved(contenders, repeats=repeats, warmup=0)
    extra = {f"irgrad compiles in the first {WARMUP} steps":
             before["compiles"] - start["compiles"],
             "irgrad compiles during timed steps":
             _realize.counters["compiles"] - before["compiles"],
             "irgrad cache hits during timed steps":
             _realize.counters["memory_hits"] - before["memory_hits"]}
    if flops:
        extra["flops"] = flops
        extra["irgrad % of fp32 peak"] = round(100 * flops / medians["irgrad"] / PEAK_FLOPS, 1)
    return report(key, work, medians, missing, args.json, **extra)


def main(argv=None):
    ap = parser(__doc__, repeats=30)
    ap.add_argument("--which", default="mlp,cnn,tiny", help="comma list of mlp, cnn, tiny")
    ap.add_argument("--torch-compile", choices=("mlp", "all", "none"), default="mlp",
                    help="which steps also run under torch.compile (default: mlp)")
    args = ap.parse_args(argv)
    which = set(args.which.split(","))
    if "mlp" in which:
        bench("mlp", "MLP 784-512-512-10 b128 SGD step", lambda lib: mlp(lib, MLP_SIZES),
              (784,), 10, MLP_BATCH, args.repeats, args,
              flops=mlp_step_flops(MLP_SIZES, MLP_BATCH))
    if "cnn" in which:
        bench("cnn", "small CNN b64 SGD step", cnn, (1, 28, 28), 10, 64,
              max(3, args.repeats // 3), args)
    if "tiny" in which:
        bench("tiny", "tiny MLP 16-32-4 b1 SGD step", lambda lib: mlp(lib, TINY_SIZES),
              (16,), 4, 1, args.repeats * 10, args)


if __name__ == "__main__":
    main()
