"""Composite ops against PyTorch: var/std, norms, softmax family, normalization layers and
activations; values, dtypes, errors, and gradients through irgrad's autograd.

Functional-only ops (PyTorch's nn.functional) are reached through the node functions of
`composite.FUNCTIONAL`, wrapped the way irgrad's public functions are.
"""
import types

import numpy as np
import torch
import torch.nn.functional as TF

import irgrad
from irgrad.frontend.exports import as_function
from irgrad.ir.ops import composite
from test_ops_reduce import RNG, _inputs, check_cases, check_errors, check_grads, compare, f32


def _torch_batch_norm_stats(x, rm, rv, w=None, b=None, training=False, momentum=0.1, eps=1e-5):
    rm = None if rm is None else rm.clone()
    rv = None if rv is None else rv.clone()
    out = TF.batch_norm(x, rm, rv, w, b, training, momentum, eps)
    return out, rm, rv


TORCH_NS = types.SimpleNamespace(**{n: getattr(TF, n) for n in dir(TF) if not n.startswith("_")})
TORCH_NS.vector_norm = torch.linalg.vector_norm
TORCH_NS.batch_norm = _torch_batch_norm_stats
IRGRAD_NS = types.SimpleNamespace(**{n: as_function(f, n) for n, f in composite.FUNCTIONAL.items()})
IRGRAD_NS.vector_norm = as_function(composite.vector_norm, "vector_norm")
LIBS = {torch: TORCH_NS, irgrad: IRGRAD_NS}

X = f32(3, 4, 5)
X64 = RNG.normal(size=(4, 6))
XI = RNG.integers(-5, 6, size=(3, 4))
XE = np.zeros((0, 3), np.float32)
# Activation inputs: a spread of values plus every breakpoint the ops have.
ACT = np.concatenate([np.linspace(-25, 25, 41), [-6, -3, -1, -0.5, 0, 0.5, 1, 3, 6, 20]]
                     ).astype(np.float32).reshape(3, 17)
ACT_SMOOTH = np.linspace(-4.1, 4.3, 24).astype(np.float32).reshape(4, 6)
INF_ROWS = np.array([[-np.inf, -np.inf, -np.inf], [1.0, -np.inf, 2.0], [300.0, -300.0, 0.0]],
                    np.float32)

STAT_CASES = [
    ("var", lambda L, F, x: (x.var(), x.var(1), L.var(x, (0, 2), keepdim=True)), [X]),
    ("var unbiased/correction", lambda L, F, x: (x.var(1, False), L.var(x, 1, unbiased=False),
                                                 L.var(x, dim=2, correction=0),
                                                 L.var(x, dim=2, correction=2.5), x.var(False)),
     [X]),
    ("std", lambda L, F, x: (x.std(), L.std(x, 0, keepdim=True), L.std(x, 2, correction=0)), [X]),
    ("var f64 f16", lambda L, F, a, b: (a.var(0), b.half().var(1).float()), [X64, X]),
    ("var degenerate", lambda L, F, a, b: (a[:1].var(), L.var(a[:2], 0, correction=3),
                                           b.var(0)), [X64, XE]),
    ("var_mean std_mean", lambda L, F, x: (L.var_mean(x, 1), L.std_mean(x, (0, 1), correction=0)),
     [X]),
    ("norm", lambda L, F, x: (x.norm(), L.norm(x, 1), L.norm(x, float("inf"), 1),
                              L.norm(x, p="fro", dim=(0, 2), keepdim=True), x.norm(3, dim=2),
                              x.norm(dtype=L.float64)), [X]),
    ("vector_norm", lambda L, F, x: (F.vector_norm(x), F.vector_norm(x, 0), F.vector_norm(x, 1, 1),
                                     F.vector_norm(x, -float("inf"), (0, 1)),
                                     F.vector_norm(x, 0.5, 2, keepdim=True),
                                     F.vector_norm(x, -1, 0), F.vector_norm(x, dtype=L.float64)),
     [X]),
    ("vector_norm zeros empty", lambda L, F, a, b: (F.vector_norm(a), F.vector_norm(b, 2, 1),
                                                    F.vector_norm(b, float("inf"), 1)),
     [np.zeros((2, 3), np.float32), XE]),
    ("dist", lambda L, F, a, b: (L.dist(a, b), a.dist(b, 1)), [f32(3, 4), f32(4)]),
]

SOFTMAX_CASES = [
    ("softmax", lambda L, F, x: (L.softmax(x, 1), x.softmax(-1), F.softmax(x, dim=0)), [X]),
    ("log_softmax", lambda L, F, x: (L.log_softmax(x, 1), x.log_softmax(2), F.log_softmax(x, 0)),
     [X]),
    ("softmax dtype", lambda L, F, x: (L.softmax(x, 1, L.float64), F.log_softmax(x, 1,
                                                                                 dtype=L.float64),
                                       x.softmax(0, dtype=L.float64)), [X]),
    ("softmax int dtype", lambda L, F, x: L.softmax(x, 1, dtype=L.float32), [XI]),
    ("softmax inf rows", lambda L, F, x: (L.softmax(x, 1), L.log_softmax(x, 1)), [INF_ROWS]),
    ("softmax big", lambda L, F, x: (L.softmax(x * 1000, 1), F.log_softmax(x * 1000, 1)), [X]),
    ("softmax 0-d empty", lambda L, F, a, b: (L.softmax(a, 0), F.log_softmax(b, 1),
                                              L.softmax(b, 0)),
     [np.array(0.3, np.float32), XE]),
    ("softmin", lambda L, F, x: F.softmin(x, 1), [X]),
]
# Half precision: computed in float32 and rounded once, like PyTorch; 1 ulp of float16 apart.
HALF_CASES = [
    ("softmax f16", lambda L, F, x: (L.softmax(x.half(), 1), F.log_softmax(x.half(), 2)), [X]),
    ("layer_norm f16", lambda L, F, x: F.layer_norm(x.half(), (5,)), [X]),
    ("gelu silu f16", lambda L, F, x: (F.gelu(x.half()), F.silu(x.half())), [X]),
]

NORM_CASES = [
    ("layer_norm", lambda L, F, x, w, b: (F.layer_norm(x, (5,)), F.layer_norm(x, (4, 5), None, None),
                                          F.layer_norm(x, [5], w, b, 1e-3)),
     [X, f32(5), f32(5)]),
    ("layer_norm top", lambda L, F, x, w: L.layer_norm(x, (4, 5), w), [X, f32(4, 5)]),
    ("group_norm", lambda L, F, x, w, b: (F.group_norm(x, 3, w, b), F.group_norm(x, 6),
                                          L.group_norm(x[:, :, 0], 2)),
     [f32(2, 6, 4, 3), f32(6), f32(6)]),
    ("rms_norm", lambda L, F, x, w: (F.rms_norm(x, (5,)), F.rms_norm(x, (4, 5), None, 1e-3),
                                     F.rms_norm(x, [5], w)), [X, f32(5)]),
    ("batch_norm train", lambda L, F, x, rm, rv, w, b: (
        F.batch_norm(x, rm, rv, w, b, True, 0.2), F.batch_norm(x, rm, rv, None, None, True)),
     [f32(4, 3, 5), f32(3), f32(3, low=0.5, high=2), f32(3), f32(3)]),
    ("batch_norm eval", lambda L, F, x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, False)[0],
     [f32(4, 3), f32(3), f32(3, low=0.5, high=2), f32(3), f32(3)]),
    ("normalize", lambda L, F, x: (F.normalize(x), F.normalize(x, 1.0, 0), F.normalize(x, dim=-1)),
     [X]),
    ("normalize zeros", lambda L, F, x: F.normalize(x), [np.zeros((2, 3), np.float32)]),
    ("cosine_similarity", lambda L, F, a, b: (F.cosine_similarity(a, b),
                                              L.cosine_similarity(a, b, dim=-1)),
     [f32(3, 4, 5), f32(4, 5)]),
    ("cosine tiny", lambda L, F, a, b: F.cosine_similarity(a, b, dim=1),
     [np.array([[1e-9, 0.0], [3.0, 4.0]], np.float32),
      np.array([[2e-9, 0.0], [1.0, 1.0]], np.float32)]),
]

ACT_NAMES = ["gelu", "silu", "softplus", "elu", "celu", "selu", "leaky_relu", "hardtanh", "relu6",
             "hardsigmoid", "hardswish", "mish", "logsigmoid", "softsign", "tanhshrink",
             "hardshrink", "softshrink"]
ACT_CASES = [(n, (lambda name: lambda L, F, x: getattr(F, name)(x))(n), [ACT]) for n in ACT_NAMES] + [
    ("gelu tanh", lambda L, F, x: F.gelu(x, approximate="tanh"), [ACT]),
    ("gelu f64", lambda L, F, x: F.gelu(x), [X64]),
    ("softplus beta", lambda L, F, x: F.softplus(x, 2.0, 5.0), [ACT]),
    ("elu alpha", lambda L, F, x: (F.elu(x, 0.5), F.celu(x, 2.0)), [ACT]),
    ("leaky slope", lambda L, F, x: F.leaky_relu(x, 0.2), [ACT]),
    ("hardtanh range", lambda L, F, x: F.hardtanh(x, -2.0, 3.0), [ACT]),
    ("shrink lambda", lambda L, F, x: (F.hardshrink(x, 1.0), F.softshrink(x, 3.0)), [ACT]),
    ("threshold", lambda L, F, x: F.threshold(x, 1.0, -7.0), [ACT]),
    ("glu", lambda L, F, x: (F.glu(x), F.glu(x, 0)), [f32(4, 6)]),
    ("top-level", lambda L, F, x: (L.selu(x), L.celu(x), L.threshold(x, 0.5, 2.0),
                                   x.hardshrink(), L.hardshrink(x, 2.0)), [ACT]),
    ("relu6 int", lambda L, F, x: F.relu6(x), [XI]),
]


def test_statistics_and_norms():
    check_cases(STAT_CASES, LIBS)


def test_softmax_family():
    check_cases(SOFTMAX_CASES, LIBS)


def test_normalization():
    check_cases(NORM_CASES, LIBS)


def test_half_precision():
    check_cases(HALF_CASES, LIBS, rtol=2e-3, atol=1e-3)


def test_activations():
    check_cases(ACT_CASES, LIBS)


def test_eager_subset():
    picked = ("softmax", "layer_norm", "gelu", "var")
    with irgrad.eager():
        for label, fn, arrays in [c for c in STAT_CASES + SOFTMAX_CASES + NORM_CASES + ACT_CASES
                                  if c[0] in picked]:
            got = fn(irgrad, IRGRAD_NS, *_inputs(irgrad, arrays))
            exp = fn(torch, TORCH_NS, *_inputs(torch, arrays))
            got, exp = (got, exp) if isinstance(got, tuple) else ((got,), (exp,))
            for i, (g, e) in enumerate(zip(got, exp)):
                assert g.node.data is not None, f"{label}: not run eagerly"
                compare(f"{label} (eager)[{i}]", g, e)


def test_gradients():
    act = [(f"{n} grad", (lambda name: lambda L, F, x: getattr(F, name)(x))(n), [ACT])
           for n in ACT_NAMES]
    check_grads(act + [
        ("var", lambda L, F, x: L.var(x, 1), [X]),
        ("std", lambda L, F, x: L.std(x, (0, 2), correction=0), [X]),
        ("norm2", lambda L, F, x: x.norm(dim=1), [X]),
        ("norm2 at zero", lambda L, F, x: x.norm(dim=1), [np.array([[0.0, 0.0], [3.0, 4.0]],
                                                                   np.float32)]),
        ("norm1 inf p", lambda L, F, x: (x.norm(1, 2) + x.norm(float("inf"), 2) + x.norm(3, 2)),
         [X]),
        ("softmax", lambda L, F, x: L.softmax(x, 1), [X]),
        ("log_softmax", lambda L, F, x: F.log_softmax(x, 2), [X]),
        ("logsumexp big", lambda L, F, x: L.logsumexp(x * 50, 1), [X]),
        ("layer_norm", lambda L, F, x, w, b: F.layer_norm(x, (5,), w, b), [X, f32(5), f32(5)]),
        ("group_norm", lambda L, F, x, w, b: F.group_norm(x, 2, w, b),
         [f32(2, 4, 3), f32(4), f32(4)]),
        ("batch_norm", lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, True)[0],
         [f32(5, 3), f32(3), f32(3)]),
        ("rms_norm", lambda L, F, x, w: F.rms_norm(x, (5,), w), [X, f32(5)]),
        ("normalize", lambda L, F, x: F.normalize(x, dim=2), [X]),
        ("cosine", lambda L, F, a, b: F.cosine_similarity(a, b, 2), [X, f32(4, 5)]),
        ("cosine tiny", lambda L, F, a, b: F.cosine_similarity(a, b, dim=1),
         [np.array([[1e-9, 0.0], [3.0, 4.0]], np.float32),
          np.array([[2e-9, 0.0], [1.0, 1.0]], np.float32)]),
        ("gelu tanh", lambda L, F, x: F.gelu(x, approximate="tanh"), [ACT_SMOOTH]),
        ("glu", lambda L, F, x: F.glu(x, 1), [f32(3, 4)]),
    ], LIBS)


def test_softmax_second_order():
    outs = []
    x0 = f32(3, 5)
    for lib, mk in ((irgrad, irgrad.tensor), (torch, torch.tensor)):
        x = mk(x0, requires_grad=True)
        w = mk(np.arange(15, dtype=np.float32).reshape(3, 5))
        (g,) = lib.autograd.grad((lib.softmax(x, 1) * w).sum(), [x], create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), [x])
        outs.append(gg)
    irgrad.realize(outs[0])
    compare("softmax second order", outs[0], outs[1], rtol=1e-3, atol=1e-4)


def test_errors():
    check_errors([
        ("var int", lambda L, F, x: x.var(), [XI], "std and var only support floating point"),
        ("vector_norm int", lambda L, F, x: F.vector_norm(x), [XI],
         "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
        ("vector_norm dtype", lambda L, F, x: F.vector_norm(x, dtype=L.float16), [X],
         "should be convertible without narrowing"),
        ("vector_norm empty inf", lambda L, F, x: F.vector_norm(x, float("inf")), [XE],
         "cannot compute the inf norm on an empty tensor"),
        ("softmax int", lambda L, F, x: L.softmax(x, 1), [XI], "not implemented for 'Long'"),
        ("softmax dim", lambda L, F, x: L.softmax(x, 2), [f32(2, 3)], "Dimension out of range"),
        ("layer_norm shape", lambda L, F, x: F.layer_norm(x, (5,)), [f32(2, 3)],
         "Given normalized_shape=[5], expected input with shape [*, 5], but got input of "
         "size[2, 3]"),
        ("layer_norm weight", lambda L, F, x, w: F.layer_norm(x, (3,), w), [f32(2, 3), f32(4)],
         "Expected weight to be of same shape as normalized_shape"),
        ("group_norm groups", lambda L, F, x: F.group_norm(x, 4), [f32(2, 6, 4)],
         "Expected number of channels in input to be divisible by num_groups, but got input of "
         "shape [2, 6, 4] and num_groups=4"),
        ("batch_norm one value", lambda L, F, x, m, v: F.batch_norm(x, m, v, training=True),
         [f32(1, 3), f32(3), f32(3)], "Expected more than 1 value per channel when training"),
        ("gelu approximate", lambda L, F, x: F.gelu(x, approximate="foo"), [X],
         "approximate argument must be either none or tanh."),
        ("glu odd", lambda L, F, x: F.glu(x, 0), [f32(3, 2)],
         "Halving dimension must be even, but dimension 0 is size 3"),
        ("norm nuc dim", lambda L, F, x: L.norm(x, "fro", dim=5), [X], None),
    ], LIBS)
