"""Layers against PyTorch: the same module (weights copied from torch through its state_dict)
on the same inputs gives the same outputs, input gradients and parameter gradients.

All cases of a test are recorded lazily (forward, loss, backward) and realized together in
one graph; an eager test repeats a few of them op by op.
"""
import numpy as np
import pytest
import torch

import irgrad
import irgrad.nn as nn
from irgrad.frontend.realize import counters

RTOL, ATOL = 2e-4, 2e-5


class Case:
    """One module call: `make(m)` builds the module from torch.nn or irgrad.nn; `inputs` are
    NumPy arrays (float ones get gradients); `train` picks the mode."""

    def __init__(self, name, make, inputs, train=True, kwargs=None, grad_inputs=True,
                 check_buffers=False):
        self.name, self.make, self.inputs, self.train = name, make, inputs, train
        self.kwargs = kwargs or {}
        self.grad_inputs, self.check_buffers = grad_inputs, check_buffers


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _outputs(out):
    if isinstance(out, tuple):
        return [o for o in out if o is not None]
    return [out]


def _torch_side(case, seed):
    torch.manual_seed(seed)
    tm = case.make(torch.nn)
    tm.train(case.train)
    ins = []
    for a in case.inputs:
        t = torch.tensor(a)
        if case.grad_inputs and t.is_floating_point():
            t.requires_grad_(True)
        ins.append(t)
    kw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v)
          for k, v in case.kwargs.items()}
    sd = {k: v.detach().clone() for k, v in tm.state_dict().items()}
    out = tm(*ins, **kw)
    outs = _outputs(out)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in outs]
    loss = sum((o * torch.tensor(w, dtype=o.dtype)).sum() for o, w in zip(outs, weights)
               if o.is_floating_point())
    if isinstance(loss, torch.Tensor) and loss.requires_grad:
        loss.backward()
    res = {"out": [o.detach().numpy() for o in outs],
           "in_grads": [t.grad.numpy() if t.grad is not None else None for t in ins],
           "p_grads": {n: p.grad.numpy() for n, p in tm.named_parameters()
                       if p.grad is not None},
           "buffers": {n: b.detach().numpy() for n, b in tm.named_buffers()}}
    return sd, weights, res


def _irgrad_side(case, sd, weights):
    im = case.make(nn)
    im.train(case.train)
    im.load_state_dict({k: irgrad.tensor(v.numpy()) for k, v in sd.items()})
    ins = []
    for a in case.inputs:
        t = irgrad.tensor(a)
        if case.grad_inputs and t.is_floating_point():
            t.requires_grad_(True)
        ins.append(t)
    kw = {k: (irgrad.tensor(v) if isinstance(v, np.ndarray) else v)
          for k, v in case.kwargs.items()}
    out = im(*ins, **kw)
    outs = _outputs(out)
    loss = None
    for o, w in zip(outs, weights):
        if o.is_floating_point():
            term = (o * irgrad.tensor(w, dtype=o.dtype)).sum()
            loss = term if loss is None else loss + term
    if loss is not None and loss.requires_grad:
        loss.backward()
    return {"out": [o.detach() for o in outs],
            "in_grads": [t.grad for t in ins],
            "p_grads": {n: p.grad for n, p in im.named_parameters() if p.grad is not None},
            "buffers": {n: b for n, b in im.named_buffers()}}


def run_parity(cases, seed=0, rtol=RTOL, atol=ATOL, max_compiles=None):
    """Record every case lazily, realize all results in one graph, compare with torch."""
    recorded = []
    for i, case in enumerate(cases):
        sd, weights, expected = _torch_side(case, seed + i)
        got = _irgrad_side(case, sd, weights)
        recorded.append((case, expected, got))
    flat = []
    for _, _, got in recorded:
        flat += got["out"] + [g for g in got["in_grads"] if g is not None]
        flat += list(got["p_grads"].values()) + list(got["buffers"].values())
    before = counters["compiles"]
    irgrad.realize(*flat)
    if max_compiles is not None:
        assert counters["compiles"] - before <= max_compiles
    failures = []
    for case, exp, got in recorded:
        def check(label, e, g):
            try:
                assert g is not None, "missing"
                np.testing.assert_allclose(g.numpy(), e, rtol=rtol, atol=atol)
            except AssertionError as err:
                failures.append(f"{case.name} {label}: {str(err).strip()[:400]}")
        if len(exp["out"]) != len(got["out"]):
            failures.append(f"{case.name}: {len(got['out'])} outputs, torch has "
                            f"{len(exp['out'])}")
            continue
        for k, (e, g) in enumerate(zip(exp["out"], got["out"])):
            check(f"output {k}", e, g)
        for k, (e, g) in enumerate(zip(exp["in_grads"], got["in_grads"])):
            if e is not None:
                check(f"input grad {k}", e, g)
        assert set(exp["p_grads"]) <= set(got["p_grads"]) | set(), case.name
        for n, e in exp["p_grads"].items():
            check(f"grad of {n}", e, got["p_grads"].get(n))
        if case.check_buffers:
            for n, e in exp["buffers"].items():
                check(f"buffer {n}", e, got["buffers"][n])
    assert not failures, "\n".join(failures)


def rand(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def distinct(*shape, seed=0):
    """Values with no ties (max pooling picks one winner, as in torch)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n).reshape(shape) / n * 4 - 2).astype(
        np.float32)


# ---- cases --------------------------------------------------------------------------------

LINEAR_CASES = [
    Case("linear", lambda m: m.Linear(5, 3), [rand(4, 5)]),
    Case("linear-nobias-3d", lambda m: m.Linear(5, 3, bias=False), [rand(2, 4, 5, seed=1)]),
    Case("bilinear", lambda m: m.Bilinear(3, 4, 2), [rand(5, 3), rand(5, 4, seed=1)]),
    Case("identity", lambda m: m.Identity(), [rand(3)]),
    Case("flatten", lambda m: m.Flatten(), [rand(2, 3, 4)]),
    Case("unflatten", lambda m: m.Unflatten(1, (2, 3)), [rand(4, 6)]),
]

CONV_CASES = [
    Case("conv1d", lambda m: m.Conv1d(2, 3, 3, stride=2, padding=1), [rand(2, 2, 9)]),
    Case("conv2d", lambda m: m.Conv2d(3, 4, 3), [rand(2, 3, 6, 6)]),
    Case("conv2d-strided", lambda m: m.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                              dilation=(1, 2), groups=2, bias=False),
         [rand(1, 4, 7, 8)]),
    Case("conv2d-same", lambda m: m.Conv2d(2, 2, 4, padding="same"), [rand(1, 2, 5, 5)]),
    Case("conv2d-reflect", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
         [rand(1, 2, 5, 6)]),
    Case("conv2d-replicate", lambda m: m.Conv2d(2, 3, 3, padding=2,
                                                padding_mode="replicate"), [rand(1, 2, 4, 4)]),
    Case("conv2d-circular", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),
         [rand(1, 2, 4, 5)]),
    Case("convT2d", lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                output_padding=1), [rand(2, 3, 4, 4)]),
    Case("convT2d-groups", lambda m: m.ConvTranspose2d(4, 6, 2, stride=2, groups=2),
         [rand(1, 4, 3, 3)]),
    Case("convT2d-output_size", lambda m: m.ConvTranspose2d(2, 2, 3, stride=2),
         [rand(1, 2, 3, 3)], kwargs={"output_size": [8, 8]}),
    Case("convT1d", lambda m: m.ConvTranspose1d(2, 3, 3, stride=2), [rand(2, 2, 5)]),
]

POOL_CASES = [
    Case("maxpool2d", lambda m: m.MaxPool2d(2), [distinct(2, 3, 6, 6)]),
    Case("maxpool2d-pad-ceil", lambda m: m.MaxPool2d(3, 2, padding=1, ceil_mode=True),
         [distinct(1, 2, 7, 8, seed=1)]),
    Case("maxpool2d-dilated", lambda m: m.MaxPool2d(2, 1, dilation=2), [distinct(1, 1, 6, 5)]),
    Case("maxpool2d-indices", lambda m: m.MaxPool2d(2, return_indices=True),
         [distinct(1, 2, 4, 6)]),
    Case("maxpool1d", lambda m: m.MaxPool1d(3, 2), [distinct(2, 3, 9)]),
    Case("avgpool2d", lambda m: m.AvgPool2d(2), [rand(2, 3, 6, 6)]),
    Case("avgpool2d-pad", lambda m: m.AvgPool2d(3, 2, padding=1), [rand(1, 2, 7, 7)]),
    Case("avgpool2d-nopadcount", lambda m: m.AvgPool2d(3, 2, padding=1,
                                                       count_include_pad=False),
         [rand(1, 2, 7, 6)]),
    Case("avgpool2d-ceil", lambda m: m.AvgPool2d(2, ceil_mode=True), [rand(1, 1, 5, 5)]),
    Case("avgpool2d-divisor", lambda m: m.AvgPool2d(2, divisor_override=3),
         [rand(1, 1, 4, 4)]),
    Case("avgpool1d", lambda m: m.AvgPool1d(3, 2, 1), [rand(2, 2, 7)]),
    Case("adaptive-avg-1x1", lambda m: m.AdaptiveAvgPool2d((1, 1)), [rand(2, 3, 5, 4)]),
    Case("adaptive-avg-div", lambda m: m.AdaptiveAvgPool2d(2), [rand(1, 2, 6, 4)]),
    Case("adaptive-avg-nondiv", lambda m: m.AdaptiveAvgPool2d((3, None)), [rand(1, 2, 7, 5)]),
    Case("adaptive-avg-1d", lambda m: m.AdaptiveAvgPool1d(3), [rand(2, 2, 8)]),
    Case("adaptive-max", lambda m: m.AdaptiveMaxPool2d((2, 3)), [distinct(1, 2, 4, 6)]),
]

NORM_CASES = [
    Case("bn1d-train", lambda m: m.BatchNorm1d(4), [rand(8, 4)], check_buffers=True),
    Case("bn1d-3d-train", lambda m: m.BatchNorm1d(3), [rand(4, 3, 5)], check_buffers=True),
    Case("bn2d-train", lambda m: m.BatchNorm2d(3), [rand(2, 3, 4, 4)], check_buffers=True),
    Case("bn2d-momentum-none", lambda m: m.BatchNorm2d(3, momentum=None),
         [rand(2, 3, 4, 4)], check_buffers=True),
    Case("bn2d-eval", lambda m: m.BatchNorm2d(3), [rand(2, 3, 4, 4)], train=False),
    Case("bn2d-noaffine", lambda m: m.BatchNorm2d(3, affine=False), [rand(2, 3, 3, 3)],
         check_buffers=True),
    Case("bn2d-no-stats", lambda m: m.BatchNorm2d(3, track_running_stats=False),
         [rand(2, 3, 3, 3)], train=False),
    Case("layernorm", lambda m: m.LayerNorm(6), [rand(3, 6)]),
    Case("layernorm-2d", lambda m: m.LayerNorm((3, 4), elementwise_affine=False),
         [rand(2, 3, 4)]),
    Case("groupnorm", lambda m: m.GroupNorm(2, 4), [rand(2, 4, 3, 3)]),
    Case("rmsnorm", lambda m: m.RMSNorm(5), [rand(3, 5)]),
    Case("instancenorm", lambda m: m.InstanceNorm2d(3, affine=True), [rand(2, 3, 4, 4)]),
]

ACTIVATION_CASES = [
    Case(name, make, [rand(3, 8, seed=k)]) for k, (name, make) in enumerate([
        ("relu", lambda m: m.ReLU()), ("relu6", lambda m: m.ReLU6()),
        ("leaky", lambda m: m.LeakyReLU(0.2)), ("elu", lambda m: m.ELU(0.7)),
        ("celu", lambda m: m.CELU(1.3)), ("selu", lambda m: m.SELU()),
        ("gelu", lambda m: m.GELU()), ("gelu-tanh", lambda m: m.GELU("tanh")),
        ("silu", lambda m: m.SiLU()), ("mish", lambda m: m.Mish()),
        ("sigmoid", lambda m: m.Sigmoid()), ("tanh", lambda m: m.Tanh()),
        ("softplus", lambda m: m.Softplus(2.0, 3.0)), ("softsign", lambda m: m.Softsign()),
        ("hardtanh", lambda m: m.Hardtanh(-0.5, 1.5)), ("hardsigmoid", lambda m: m.Hardsigmoid()),
        ("hardswish", lambda m: m.Hardswish()), ("logsigmoid", lambda m: m.LogSigmoid()),
        ("tanhshrink", lambda m: m.Tanhshrink()), ("hardshrink", lambda m: m.Hardshrink(0.3)),
        ("softshrink", lambda m: m.Softshrink(0.3)), ("threshold", lambda m: m.Threshold(0.1, 5.)),
        ("prelu", lambda m: m.PReLU()), ("glu", lambda m: m.GLU(1)),
        ("softmax", lambda m: m.Softmax(dim=1)), ("logsoftmax", lambda m: m.LogSoftmax(0)),
        ("softmin", lambda m: m.Softmin(1)),
    ])
] + [Case("prelu-channels", lambda m: m.PReLU(3), [rand(2, 3, 4)])]

SPARSE_CASES = [
    Case("embedding", lambda m: m.Embedding(10, 4), [np.array([[1, 2, 4], [4, 3, 9]])]),
    Case("embedding-padding", lambda m: m.Embedding(6, 3, padding_idx=2),
         [np.array([0, 2, 5, 2, 1])]),
    Case("dropout-eval", lambda m: m.Dropout(0.5), [rand(4, 4)], train=False),
    Case("dropout-p0", lambda m: m.Dropout(0.0), [rand(4, 4)]),
]


def _bool(a):
    return np.asarray(a, dtype=bool)


ATTENTION_CASES = [
    Case("mha", lambda m: m.MultiheadAttention(8, 2), [rand(5, 3, 8), rand(6, 3, 8, seed=1),
                                                      rand(6, 3, 8, seed=2)]),
    Case("mha-self-batch-first", lambda m: _SelfAttention(m, batch_first=True),
         [rand(2, 5, 8)]),
    Case("mha-no-weights-masks", lambda m: m.MultiheadAttention(8, 4), [
        rand(4, 2, 8), rand(5, 2, 8, seed=1), rand(5, 2, 8, seed=2)],
        kwargs={"need_weights": False,
                "key_padding_mask": _bool([[0, 0, 0, 1, 1], [0, 0, 0, 0, 1]]),
                "attn_mask": rand(4, 5, seed=3, low=-1, high=1)}),
    Case("mha-bool-mask-per-head", lambda m: m.MultiheadAttention(4, 2, bias=False), [
        rand(3, 1, 4), rand(3, 1, 4, seed=1), rand(3, 1, 4, seed=2)],
        kwargs={"attn_mask": np.triu(np.ones((3, 3), dtype=bool), 1),
                "average_attn_weights": False}),
    Case("mha-kdim-vdim", lambda m: m.MultiheadAttention(6, 2, kdim=4, vdim=5), [
        rand(3, 2, 6), rand(4, 2, 4, seed=1), rand(4, 2, 5, seed=2)]),
    Case("mha-bias-kv-zero-attn", lambda m: m.MultiheadAttention(4, 2, add_bias_kv=True,
                                                                 add_zero_attn=True),
         [rand(3, 2, 4), rand(3, 2, 4, seed=1), rand(3, 2, 4, seed=2)]),
    Case("mha-unbatched", lambda m: m.MultiheadAttention(4, 1), [
        rand(3, 4), rand(2, 4, seed=1), rand(2, 4, seed=2)]),
    Case("encoder-layer", lambda m: m.TransformerEncoderLayer(8, 2, 16, dropout=0.0),
         [rand(5, 2, 8)]),
    Case("encoder-layer-normfirst-gelu",
         lambda m: m.TransformerEncoderLayer(8, 4, 12, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True),
         [rand(2, 5, 8)],
         kwargs={"src_key_padding_mask": _bool([[0, 0, 0, 0, 1], [0, 0, 1, 1, 1]])}),
    Case("encoder-layer-causal", lambda m: m.TransformerEncoderLayer(4, 2, 8, dropout=0.0),
         [rand(4, 1, 4)],
         kwargs={"src_mask": np.triu(np.full((4, 4), -np.inf, dtype=np.float32), 1),
                 "is_causal": True}),
    Case("encoder-eval", lambda m: m.TransformerEncoder(
        m.TransformerEncoderLayer(4, 2, 8, dropout=0.0), 2, norm=m.LayerNorm(4)),
        [rand(3, 2, 4)], train=False),
]


def _SelfAttention(m, batch_first):
    class SelfAttention(m.Module):
        def __init__(self):
            super().__init__()
            self.attn = m.MultiheadAttention(8, 2, batch_first=batch_first)

        def forward(self, x):
            return self.attn(x, x, x)
    return SelfAttention()


@pytest.mark.parametrize("group", ["linear", "conv", "pool", "norm", "activation", "sparse",
                                   "attention"])
def test_layers_match_torch_lazy(group):
    cases = {"linear": LINEAR_CASES, "conv": CONV_CASES, "pool": POOL_CASES,
             "norm": NORM_CASES, "activation": ACTIVATION_CASES, "sparse": SPARSE_CASES,
             "attention": ATTENTION_CASES}[group]
    run_parity(cases, max_compiles=2)


def test_layers_match_torch_eager():
    # Every distinct op compiles on its own in eager mode: a few representative layers.
    cases = [LINEAR_CASES[0], CONV_CASES[1], POOL_CASES[0], NORM_CASES[2]]
    with irgrad.eager():
        run_parity(cases)
