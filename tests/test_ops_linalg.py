"""Matrix products and einsum against PyTorch: values, dtypes, shapes, gradients (lazy, in one
batched graph per test) and error messages; an eager subset; the emitted MLIR uses
linalg.matmul / batch_matmul with explicit indexing maps."""
import numpy as np
import pytest
import torch

import irgrad
from irgrad.frontend.exports import as_function
from irgrad.ir.ops import linalg

linear = as_function(linalg.linear, "linear")
R = np.random.default_rng(1234)


def f32(*s):
    return R.standard_normal(s).astype(np.float32)


def f64(*s):
    return R.standard_normal(s)


def i64(*s):
    return R.integers(-5, 6, s)


def tdt(t):
    return str(t.dtype).replace("torch.", "")


def run_batched(cases):
    """cases: (label, irgrad fn, torch fn, arrays, kwargs). One realize for all."""
    got = []
    for label, fn, tfn, arrays, kw in cases:
        y = fn(*[irgrad.tensor(a) for a in arrays], **kw)
        ref = tfn(*[torch.tensor(a) for a in arrays], **kw)
        got.append((label, y, ref))
    irgrad.realize(*[g[1] for g in got])
    for label, y, ref in got:
        assert tuple(y.shape) == tuple(ref.shape), f"{label}: shape {y.shape} vs {ref.shape}"
        assert y.dtype.name == tdt(ref), f"{label}: dtype {y.dtype.name} vs {ref.dtype}"
        want = ref.numpy()
        if want.dtype == np.float16:
            np.testing.assert_allclose(y.numpy(), want, rtol=2e-2, atol=2e-2, err_msg=label)
        elif want.dtype.kind == "f":
            np.testing.assert_allclose(y.numpy(), want, rtol=1e-4, atol=1e-5, err_msg=label)
        else:
            np.testing.assert_array_equal(y.numpy(), want, err_msg=label)


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((2, 2, 3), (2, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)),
                 ((3, 1, 2, 3), (2, 3, 4)), ((1, 2, 3), (4, 1, 3, 2)), ((0, 3), (3, 2)),
                 ((2, 0), (0, 4)), ((0,), (0,)), ((2, 0, 3), (2, 3, 1))]


def test_matmul_rank_cases():
    cases = [(f"matmul{a}@{b}", irgrad.matmul, torch.matmul, [f32(*a), f32(*b)], {})
             for a, b in MATMUL_SHAPES]
    cases += [("@ f64", lambda x, y: x @ y, lambda x, y: x @ y, [f64(4, 3), f64(3, 2)], {}),
              ("@ int64", lambda x, y: x @ y, lambda x, y: x @ y, [i64(2, 4, 3), i64(2, 3, 5)],
               {}),
              ("@ int32", lambda x, y: x @ y, lambda x, y: x @ y,
               [i64(3, 4).astype(np.int32), i64(4, 2).astype(np.int32)], {}),
              ("dot int64", irgrad.matmul, torch.matmul, [i64(7), i64(7)], {}),
              ("@ f16", lambda x, y: x @ y, lambda x, y: x @ y,
               [f32(3, 16).astype(np.float16), f32(16, 2).astype(np.float16)], {})]
    run_batched(cases)


def test_products_family():
    a, b, v = f32(3, 4), f32(4, 5), f32(4)
    cases = [("mm", irgrad.mm, torch.mm, [a, b], {}),
             ("Tensor.mm", lambda x, y: x.mm(y), lambda x, y: x.mm(y), [a, b], {}),
             ("bmm", irgrad.bmm, torch.bmm, [f32(2, 3, 4), f32(2, 4, 5)], {}),
             ("mv", irgrad.mv, torch.mv, [a, v], {}),
             ("dot", irgrad.dot, torch.dot, [v, f32(4)], {}),
             ("vdot", irgrad.vdot, torch.vdot, [v, f32(4)], {}),
             ("inner", irgrad.inner, torch.inner, [f32(2, 3), f32(4, 3)], {}),
             ("outer", irgrad.outer, torch.outer, [f32(3), f32(4)], {}),
             ("outer promotes", irgrad.outer, torch.outer, [i64(3), f32(4)], {}),
             ("ger", irgrad.ger, torch.ger, [f32(3), f32(2)], {}),
             ("addmm", irgrad.addmm, torch.addmm, [f32(3, 5), a, b], dict(beta=0.5, alpha=2)),
             ("addmm bcast", irgrad.addmm, torch.addmm, [f32(5), a, b], {}),
             ("addmm int", irgrad.addmm, torch.addmm, [i64(3, 5), i64(3, 4), i64(4, 5)],
              dict(beta=2, alpha=3)),
             ("addmv", irgrad.addmv, torch.addmv, [f32(3), a, v], dict(alpha=-1)),
             ("baddbmm", irgrad.baddbmm, torch.baddbmm, [f32(2, 3, 5), f32(2, 3, 4),
                                                         f32(2, 4, 5)], dict(beta=0.25)),
             ("addbmm", irgrad.addbmm, torch.addbmm, [f32(3, 5), f32(2, 3, 4), f32(2, 4, 5)],
              {}),
             ("linear", linear, torch.nn.functional.linear, [f32(2, 3), f32(4, 3), f32(4)], {}),
             ("linear nobias 3d", linear, torch.nn.functional.linear, [f32(2, 5, 3), f32(4, 3)],
              {}),
             ("linear 1d x", linear, torch.nn.functional.linear, [f32(3), f32(4, 3), f32(4)],
              {}),
             ("linear 1d w", linear, torch.nn.functional.linear, [f32(2, 3), f32(3)], {}),
             ("linear bias 2d", linear, torch.nn.functional.linear,
              [f32(2, 3), f32(4, 3), f32(2, 4)], {}),
             ("linear int", linear, torch.nn.functional.linear, [i64(2, 3), i64(4, 3), i64(4)],
              {}),
             ("tensordot 2", irgrad.tensordot, torch.tensordot, [f32(2, 3, 4), f32(3, 4, 5)],
              {}),
             ("tensordot lists", irgrad.tensordot, torch.tensordot,
              [f32(2, 3, 4), f32(4, 3, 5)], dict(dims=([1, 2], [1, 0]))),
             ("tensordot 0", irgrad.tensordot, torch.tensordot, [f32(2), f32(3)], dict(dims=0)),
             ("kron", irgrad.kron, torch.kron, [f32(2, 3), f32(4, 5)], {}),
             ("kron ranks", irgrad.kron, torch.kron, [f32(2, 3), f32(4)], {}),
             ("trace", irgrad.trace, torch.trace, [f32(3, 4)], {}),
             ("trace int32", irgrad.trace, torch.trace, [i64(3, 3).astype(np.int32)], {}),
             ("Tensor.trace", lambda x: x.trace(), lambda x: x.trace(), [f32(4, 4)], {})]
    run_batched(cases)


def test_addmm_beta_zero_ignores_nan():
    inp = np.full((3, 5), np.nan, np.float32)
    run_batched([("addmm beta=0", irgrad.addmm, torch.addmm, [inp, f32(3, 4), f32(4, 5)],
                  dict(beta=0))])


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]), ("iij->ij", [(3, 3, 4)]), ("ij->ji", [(2, 3)]), ("ij->", [(3, 4)]),
    ("bA,Ab", [(3, 4), (4, 3)]), ("Ba,b", [(3, 4), (5,)]), ("...ij,...jk", [(5, 1, 2, 3),
                                                                           (4, 3, 6)]),
    ("ij,ij->ij", [(3, 1), (1, 4)]), ("...", [(2, 3)]), ("b...i,b...i->b...", [(2, 3, 4),
                                                                              (2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]), ("ij,kl->ijkl", [(2, 3), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("i,j->", [(3,), (4,)]),
    ("ij,ij->", [(3, 1), (3, 4)]), ("i j , j k -> i k", [(2, 3), (3, 4)]),
    ("bij,bjk->bki", [(2, 3, 4), (2, 4, 5)]), ("i...i", [(3, 2, 3)]),
    ("...ij->ij", [(2, 3, 4)]), ("ijk,jl,lk->il", [(2, 3, 4), (3, 5), (5, 4)]),
    ("iji->j", [(3, 4, 3)]), ("ab,cd,bc->ad", [(2, 3), (4, 5), (3, 4)])]


def test_einsum_values():
    cases = []
    for eq, shapes in EINSUMS:
        arrays = [f32(*s) for s in shapes]
        cases.append((eq, lambda *xs, eq=eq: irgrad.einsum(eq, *xs),
                      lambda *xs, eq=eq: torch.einsum(eq, *xs), arrays, {}))
    cases.append(("einsum list form", lambda a, b: irgrad.einsum("ij,jk->ik", [a, b]),
                  lambda a, b: torch.einsum("ij,jk->ik", [a, b]), [f32(2, 3), f32(3, 2)], {}))
    cases.append(("einsum sublist", lambda a, b: irgrad.einsum(a, [0, 1], b, [1, 2], [0, 2]),
                  lambda a, b: torch.einsum(a, [0, 1], b, [1, 2], [0, 2]),
                  [f32(2, 3), f32(3, 2)], {}))
    cases.append(("einsum int", lambda a, b: irgrad.einsum("ij,jk->ik", a, b),
                  lambda a, b: torch.einsum("ij,jk->ik", a, b), [i64(2, 3), i64(3, 2)], {}))
    cases.append(("einsum int sum", lambda a: irgrad.einsum("ij->", a),
                  lambda a: torch.einsum("ij->", a), [i64(2, 3).astype(np.int32)], {}))
    run_batched(cases)


def _grad_cases():
    return [("matmul 2x2", lambda a, b: a @ b, [(3, 4), (4, 5)]),
            ("matmul 1x1", lambda a, b: a @ b, [(4,), (4,)]),
            ("matmul 1x3", lambda a, b: a @ b, [(3,), (2, 3, 4)]),
            ("matmul bcast", lambda a, b: a @ b, [(5, 1, 2, 3), (4, 3, 2)]),
            ("matmul 3x1", lambda a, b: a @ b, [(2, 2, 3), (3,)]),
            ("linear", None, [(2, 5, 3), (4, 3), (4,)]),
            ("addmm", lambda c, a, b: (irgrad if isinstance(a, irgrad.Tensor) else torch)
             .addmm(c, a, b, beta=0.5, alpha=1.5), [(5,), (3, 4), (4, 5)]),
            ("einsum trace", "ii", [(3, 3)]),
            ("einsum chain", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
            ("einsum bcast", "...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]),
            ("einsum diag", "iij->ji", [(3, 3, 2)]),
            ("kron", "kron", [(2, 3), (2, 2)]),
            ("tensordot", "tensordot", [(2, 3, 4), (3, 4, 2)])]


def _apply(fn, xs, is_irgrad):
    mod = irgrad if is_irgrad else torch
    if fn is None:
        return linear(*xs) if is_irgrad else torch.nn.functional.linear(*xs)
    if fn in ("kron", "tensordot"):
        return getattr(mod, fn)(*xs)
    if isinstance(fn, str):
        return mod.einsum(fn, *xs)
    return fn(*xs)


def test_gradients_against_torch():
    todo = []
    for label, fn, shapes in _grad_cases():
        arrays = [f64(*s) for s in shapes]
        xi = [irgrad.tensor(a, requires_grad=True) for a in arrays]
        xt = [torch.tensor(a, requires_grad=True) for a in arrays]
        yi, yt = _apply(fn, xi, True), _apply(fn, xt, False)
        g = R.standard_normal(tuple(yt.shape))
        gi = irgrad.autograd.grad(yi, xi, irgrad.tensor(g))
        gt = torch.autograd.grad(yt, xt, torch.tensor(g))
        todo.append((label, gi, gt))
    irgrad.realize(*[t for _, gi, _ in todo for t in gi])
    for label, gi, gt in todo:
        for k, (a, b) in enumerate(zip(gi, gt)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-8,
                                       err_msg=f"{label} input {k}")


def test_second_order_matmul():
    a, b = f64(3, 4), f64(4, 2)
    xi = [irgrad.tensor(a, requires_grad=True), irgrad.tensor(b, requires_grad=True)]
    xt = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    outs = []
    for mod, (x, y) in ((irgrad, xi), (torch, xt)):
        h = mod.tanh(x @ y)
        z = (h * h).sum()
        (ga,) = mod.autograd.grad(z, [x], create_graph=True)
        (gga,) = mod.autograd.grad((ga * ga).sum(), [y])
        outs.append(gga)
    irgrad.realize(outs[0])
    np.testing.assert_allclose(outs[0].numpy(), outs[1].numpy(), rtol=1e-6, atol=1e-9)


def _errors():
    r = f32
    return [
        ("case 1", lambda m: m.tensor(r(2, 3)) @ m.tensor(r(4, 5))),
        ("dot size", lambda m: m.tensor(r(3)) @ m.tensor(r(4))),
        ("mv size", lambda m: m.tensor(r(2, 3)) @ m.tensor(r(4))),
        ("1x2 size", lambda m: m.tensor(r(3)) @ m.tensor(r(4, 5))),
        ("folded mv", lambda m: m.tensor(r(2, 2, 3)) @ m.tensor(r(4))),
        ("folded mm", lambda m: m.tensor(r(2, 2, 3)) @ m.tensor(r(4, 5))),
        ("bmm size", lambda m: m.tensor(r(2, 2, 3)) @ m.tensor(r(2, 4, 5))),
        ("batch bcast", lambda m: m.tensor(r(3, 2, 3)) @ m.tensor(r(2, 3, 5))),
        ("bcast then bmm", lambda m: m.tensor(r(3, 1, 2, 3)) @ m.tensor(r(2, 4, 5))),
        ("0-d", lambda m: m.tensor(1.0) @ m.tensor(r(3))),
        ("case 9", lambda m: m.tensor(r(2, 3)) @ m.tensor(f64(3, 4))),
        ("dtype dot", lambda m: m.tensor(r(3)) @ m.tensor(f64(3))),
        ("dtype mv", lambda m: m.tensor(r(2, 3)) @ m.tensor(f64(3))),
        ("dtype bmm", lambda m: m.tensor(r(2, 2, 3)) @ m.tensor(f64(2, 3, 4))),
        ("dtype long", lambda m: m.tensor(i64(2, 3)) @ m.tensor(r(3, 4))),
        ("bool mm", lambda m: m.ones(2, 3, dtype=m.bool) @ m.ones(3, 2, dtype=m.bool)),
        ("bool dot", lambda m: m.ones(3, dtype=m.bool) @ m.ones(3, dtype=m.bool)),
        ("mm vector", lambda m: m.mm(m.tensor(r(2, 3)), m.tensor(r(3)))),
        ("bmm 2d", lambda m: m.bmm(m.tensor(r(3, 4)), m.tensor(r(3, 4, 6)))),
        ("bmm batch", lambda m: m.bmm(m.tensor(r(2, 3, 4)), m.tensor(r(3, 4, 6)))),
        ("dot 2d", lambda m: m.dot(m.tensor(r(3, 1)), m.tensor(r(3)))),
        ("outer 2d", lambda m: m.outer(m.tensor(r(3, 1)), m.tensor(r(4)))),
        ("addmm shape", lambda m: m.addmm(m.tensor(r(3, 4)), m.tensor(r(2, 3)),
                                          m.tensor(r(3, 4)))),
        ("trace 1d", lambda m: m.trace(m.tensor(r(3)))),
        ("trace bool", lambda m: m.trace(m.ones(3, 3, dtype=m.bool))),
        ("einsum size", lambda m: m.einsum("ij,jk->ik", m.tensor(r(2, 3)), m.tensor(r(4, 4)))),
        ("einsum repeat", lambda m: m.einsum("ii", m.tensor(r(3, 4)))),
        ("einsum few", lambda m: m.einsum("ij,jk->ik", m.tensor(r(2, 3)))),
        ("einsum many", lambda m: m.einsum("ij", m.tensor(r(3, 2)), m.tensor(r(2)))),
        ("einsum rank", lambda m: m.einsum("ij->ij", m.tensor(r(2, 3, 4)))),
        ("einsum out", lambda m: m.einsum("ij->k", m.tensor(r(2, 3)))),
        ("einsum out twice", lambda m: m.einsum("ij->ii", m.tensor(r(2, 3)))),
        ("einsum char", lambda m: m.einsum("1j", m.tensor(r(2, 3)))),
        ("einsum arrow", lambda m: m.einsum("ij->j->i", m.tensor(r(2, 3)))),
        ("einsum dots", lambda m: m.einsum("i..", m.tensor(r(2)))),
        ("einsum two ellipses", lambda m: m.einsum("ij...k...", m.tensor(r(3, 2)))),
        ("einsum dtype", lambda m: m.einsum("i,i", m.tensor(r(3)), m.tensor(f64(3)))),
    ]


def _linear_errors():
    F = torch.nn.functional
    return [
        ("case 10", lambda: linear(irgrad.tensor(i64(2, 3)), irgrad.tensor(f32(4, 3)),
                                   irgrad.tensor(f32(4))),
         lambda: F.linear(torch.tensor(i64(2, 3)), torch.tensor(f32(4, 3)),
                          torch.tensor(f32(4)))),
        ("linear no bias dtype", lambda: linear(irgrad.tensor(i64(2, 3)),
                                                irgrad.tensor(f32(4, 3))),
         lambda: F.linear(torch.tensor(i64(2, 3)), torch.tensor(f32(4, 3)))),
        ("case 2 shapes", lambda: linear(irgrad.tensor(f32(4, 10)), irgrad.tensor(f32(5, 20)),
                                         irgrad.tensor(f32(5))),
         lambda: F.linear(torch.tensor(f32(4, 10)), torch.tensor(f32(5, 20)),
                          torch.tensor(f32(5)))),
        ("linear 3d shapes", lambda: linear(irgrad.tensor(f32(2, 2, 3)), irgrad.tensor(f32(4, 5))),
         lambda: F.linear(torch.tensor(f32(2, 2, 3)), torch.tensor(f32(4, 5)))),
        ("linear bias dtype", lambda: linear(irgrad.tensor(f32(2, 3)), irgrad.tensor(f32(4, 3)),
                                             irgrad.tensor(f64(4))),
         lambda: F.linear(torch.tensor(f32(2, 3)), torch.tensor(f32(4, 3)),
                          torch.tensor(f64(4)))),
        ("linear bias shape", lambda: linear(irgrad.tensor(f32(2, 3)), irgrad.tensor(f32(4, 3)),
                                             irgrad.tensor(f32(3, 4))),
         lambda: F.linear(torch.tensor(f32(2, 3)), torch.tensor(f32(4, 3)),
                          torch.tensor(f32(3, 4)))),
    ]


def _same_error(fi, ft, label):
    with pytest.raises(Exception) as want:
        ft()
    with pytest.raises(Exception) as got:
        fi()
    assert type(got.value) is type(want.value), f"{label}: {got.value!r} vs {want.value!r}"
    assert str(got.value) == str(want.value), f"{label}: {got.value} vs {want.value}"


@pytest.mark.parametrize("label,fn", _errors(), ids=[e[0] for e in _errors()])
def test_errors_match_torch(label, fn):
    _same_error(lambda: fn(irgrad), lambda: fn(torch), label)


@pytest.mark.parametrize("label,fi,ft", _linear_errors(), ids=[e[0] for e in _linear_errors()])
def test_linear_errors_match_torch(label, fi, ft):
    _same_error(fi, ft, label)


def test_error_points_at_user_line():
    import traceback
    with pytest.raises(RuntimeError) as e:
        irgrad.ones(2, 3) @ irgrad.ones(4, 5)  # the line the traceback must end on
    last = traceback.extract_tb(e.value.__traceback__)[-1]
    assert last.filename == __file__ and "the line the traceback" in last.line


def test_eager_subset():
    a, b = f32(3, 4), f32(4, 5)
    with irgrad.eager():
        y = irgrad.tensor(a) @ irgrad.tensor(b)
        assert y.node.data is not None
        z = irgrad.einsum("ij,kj->ki", irgrad.tensor(a), irgrad.tensor(b.T.copy()))
        assert z.node.data is not None
    np.testing.assert_allclose(y.numpy(), a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(z.numpy(), (a @ b).T, rtol=1e-5, atol=1e-5)


def test_lowering_uses_named_matmuls_with_maps():
    from irgrad.ir.graph import Graph
    from irgrad.lowering.compile import _new_session
    from irgrad.lowering.emit import emit_module
    from irgrad.lowering.targets import compile_flags

    def mlir(node):
        # The generic form shows attributes that the pretty form elides when they equal the
        # defaults; IREE.md crash 2 is about the attribute being absent.
        module = emit_module(Graph.cut([node]), _new_session(compile_flags("cpu")).context)
        return module.operation.get_asm(print_generic_op_form=True)

    a2, b2 = irgrad.tensor(f32(3, 4)), irgrad.tensor(f32(4, 5))
    text = mlir((a2 @ b2).node)
    assert '"linalg.matmul"' in text and "indexing_maps" in text
    text = mlir(linear(a2, irgrad.tensor(f32(6, 4))).node)  # x @ W.T: a transposed map
    assert '"linalg.matmul"' in text and "indexing_maps" in text
    dw = linalg.contract(a2.node, irgrad.tensor(f32(3, 6)).node, "ik,ij->jk")  # A^T B
    text = mlir(dw)
    assert '"linalg.matmul"' in text and "indexing_maps" in text
    text = mlir((irgrad.tensor(f32(2, 3, 4)) @ irgrad.tensor(f32(2, 4, 5))).node)
    assert '"linalg.batch_matmul"' in text and "indexing_maps" in text
