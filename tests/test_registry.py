"""Walk the op registry: every primitive has all four facets plus samples, its compiled
lowering matches its NumPy reference (lazy in one batched graph, and eager op by op), and
its gradient rule agrees with float64 finite differences of the reference.
"""
import zlib

import numpy as np
import pytest

import irgrad
from irgrad.errors import CompileError
from irgrad.frontend.creation import from_host
from irgrad.frontend.realize import realize_nodes
from irgrad.ir import dtypes as dt
from irgrad.ir.node import make
from irgrad.ir.opdef import REGISTRY

NO_SAMPLES_NEEDED = {"buffer"}


def cases(upcast=False):
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
        if op.samples is None:
            continue
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        for i, (arrays, attrs) in enumerate(op.samples(rng)):
            arrays = [np.asarray(a) for a in arrays]
            if upcast:
                arrays = [a.astype(np.float64) if a.dtype == np.float32 else a for a in arrays]
            yield name, i, arrays, attrs


def build(name, arrays, attrs):
    inputs = [from_host(a, dt.from_numpy(a.dtype)).node for a in arrays]
    return make(name, inputs, **attrs)


def check_value(node, expected, label, rtol=1e-4, atol=1e-5):
    got = node.data.to_numpy()
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"{label}: shape {got.shape} != {expected.shape}"
    assert expected.dtype == dt.numpy_dtype(node.dtype), \
        f"{label}: reference dtype {expected.dtype} but node dtype {node.dtype.name}"
    if node.dtype.category == dt.FLOAT:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=label,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=label)


def test_every_op_has_all_facets():
    missing = []
    for name, op in sorted(REGISTRY.items()):
        if name in NO_SAMPLES_NEEDED:
            continue
        if op.infer is None or op.reference is None:
            missing.append(f"{name}: shape rule or reference")
        if op.scalar is None and op.lower is None:
            missing.append(f"{name}: lowering")
        if op.samples is None:
            missing.append(f"{name}: samples")
        if op.differentiable and op.grad is None:
            missing.append(f"{name}: gradient rule (or differentiable=False)")
    assert not missing, "ops lacking facets:\n" + "\n".join(missing)


CHUNK = 48  # outputs per compiled graph: IREE's compile time grows faster than linearly


def _realize_reporting(nodes_and_labels):
    """Realize the nodes in a few batched graphs; on a compile failure, name the failing ops."""
    for start in range(0, len(nodes_and_labels), CHUNK):
        _realize_chunk(nodes_and_labels[start:start + CHUNK])


def _realize_chunk(nodes_and_labels):
    try:
        realize_nodes([n for n, _ in nodes_and_labels])
    except CompileError:
        bad = []
        for n, label in nodes_and_labels:
            try:
                realize_nodes([n])
            except CompileError as e:
                bad.append(f"{label}: {str(e).splitlines()[1] if len(str(e).splitlines()) > 1 else e}")
        pytest.fail("lowering failed to compile for:\n" + "\n".join(bad))


def test_lowering_matches_reference_lazy():
    built = []
    for name, i, arrays, attrs in cases():
        node = build(name, arrays, attrs)
        built.append((node, f"{name}[{i}]", REGISTRY[name].reference(*arrays, **attrs)))
    _realize_reporting([(n, label) for n, label, _ in built])
    for node, label, expected in built:
        check_value(node, expected, label)


def test_lowering_matches_reference_eager():
    seen = set()
    with irgrad.eager():
        for name, i, arrays, attrs in cases():
            if name in seen or REGISTRY[name].is_source:
                continue
            seen.add(name)
            node = build(name, arrays, attrs)
            assert node.data is not None, f"{name}: eager mode did not run the op"
            check_value(node, REGISTRY[name].reference(*arrays, **attrs), f"{name} (eager)")


def test_gradient_rules_match_finite_differences():
    """<vjp(g), d> against (<g, f(x+eps d)> - <g, f(x-eps d)>) / 2eps in float64."""
    eps = 1e-6
    checks = []
    for name, i, arrays, attrs in cases(upcast=True):
        op = REGISTRY[name]
        if not op.differentiable or op.grad is None:
            continue
        float_idx = [k for k, a in enumerate(arrays) if a.dtype == np.float64 and a.size]
        if not float_idx:
            continue
        inputs = [from_host(a, dt.from_numpy(a.dtype)).node for a in arrays]
        out = make(name, inputs, **attrs)
        if out.dtype is not dt.float64:
            continue
        rng = np.random.default_rng(zlib.crc32(f"{name}{i}".encode()))
        g = rng.standard_normal(out.shape)
        g_node = from_host(g, dt.float64).node
        grads = op.grad(g_node, out)
        assert len(grads) == len(inputs), f"{name}: grad rule returned {len(grads)} entries"
        for k in float_idx:
            if grads[k] is None:
                continue
            d = rng.standard_normal(arrays[k].shape)
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[k] = plus[k] + eps * d
            minus[k] = minus[k] - eps * d
            fd = (np.sum(g * op.reference(*plus, **attrs))
                  - np.sum(g * op.reference(*minus, **attrs))) / (2 * eps)
            checks.append((grads[k], d, fd, f"{name}[{i}] input {k}"))
    _realize_reporting([(n, label) for n, _, _, label in checks])
    bad = []
    for node, d, fd, label in checks:
        got = float(np.sum(node.data.to_numpy() * d))
        if not np.isclose(got, fd, rtol=1e-3, atol=1e-5):
            bad.append(f"{label}: analytic {got:.8g} vs numeric {fd:.8g}")
    assert not bad, "gradient rules disagree with finite differences:\n" + "\n".join(bad)
