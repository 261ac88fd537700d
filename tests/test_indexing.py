"""Indexing against PyTorch: __getitem__/__setitem__ (basic, advanced, boolean), the index
ops (gather, scatter, index_*, masked_*, take, put, nonzero), view aliasing semantics,
gradients and errors. Values are compared lazily in batched graphs; eager on a subset.
"""
import os

import numpy as np
import pytest
import torch

import irgrad

R = np.random.default_rng(1)
A = R.standard_normal((3, 4)).astype(np.float32)
B = R.standard_normal((2, 3, 4)).astype(np.float32)
X4 = R.standard_normal((3, 4, 5, 2)).astype(np.float32)
I = np.arange(12).reshape(3, 4)
BL = np.array([[True, False, True, True], [False, False, True, False],
               [True, True, False, False]])


def _make(L, arrays, requires_grad=False):
    out = []
    for a in arrays:
        t = L.tensor(a)
        if requires_grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        out.append(t)
    return out


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [y for x in r for y in _flat(x)]
    return [r]


def _compare(name, got, want, tol=1e-6):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want), f"{name}: {len(got)} outputs vs {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        label = f"{name}[{k}]"
        assert tuple(g.shape) == tuple(w.shape), f"{label}: {tuple(g.shape)} vs {tuple(w.shape)}"
        assert g.dtype.name == str(w.dtype).replace("torch.", ""), f"{label}: {g.dtype} {w.dtype}"
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=label)


def _run_batched(cases):
    got = [fn(irgrad, *_make(irgrad, arrays)) for _, fn, arrays in cases]
    irgrad.realize(*[t for r in got for t in _flat(r)])
    for (name, fn, arrays), g in zip(cases, got):
        _compare(name, g, fn(torch, *_make(torch, arrays)))


def _T(L, v, dtype=None):
    return L.tensor(v, dtype=dtype)


GET = [
    ("int", lambda L, a: a[1], [A]),
    ("neg_int", lambda L, a: a[-1], [A]),
    ("scalar", lambda L, a: a[1, 2], [A]),
    ("slice", lambda L, a: a[1:], [A]),
    ("step", lambda L, a: a[:, ::2], [A]),
    ("slice_step", lambda L, a: a[1:3, 1::2], [A]),
    ("neg_slice", lambda L, a: a[-2:, :-1], [A]),
    ("clamped", lambda L, a: a[-10:2, 1:100], [A]),
    ("empty", lambda L, a: a[10:20], [A]),
    ("none", lambda L, a: a[None], [A]),
    ("none_mid", lambda L, a: a[:, None, 1:], [A]),
    ("ellipsis_none", lambda L, a: a[..., None], [A]),
    ("ellipsis", lambda L, b: b[..., 1], [B]),
    ("ellipsis_front", lambda L, b: b[1, ...], [B]),
    ("all", lambda L, a: a[...], [A]),
    ("two_ellipsis", lambda L, b: b[..., 0, ...], [B]),
    ("true", lambda L, a: a[True], [A]),
    ("false", lambda L, a: a[False], [A]),
    ("mixed3d", lambda L, b: b[:, 1, ::3], [B]),
    ("int_tensor", lambda L, a: a[_T(L, [0, 2])], [A]),
    ("list", lambda L, a: a[[2, 0, 0]], [A]),
    ("pairs", lambda L, a: a[[0, 2], [1, 3]], [A]),
    ("broadcast_idx", lambda L, a: a[_T(L, [[0], [2]]), _T(L, [1, 3, -1])], [A]),
    ("col_idx", lambda L, a: a[:, _T(L, [3, 0, -1])], [A]),
    ("nonadjacent", lambda L, b: b[_T(L, [1, 0]), :, _T(L, [0, 3])], [B]),
    ("adjacent", lambda L, b: b[:, _T(L, [0, 2]), _T(L, [1, 1])], [B]),
    ("ellipsis_idx", lambda L, b: b[..., _T(L, [1])], [B]),
    ("zero_d_idx", lambda L, b: b[_T(L, 1)], [B]),
    ("int_with_idx", lambda L, b: b[:, _T(L, [0, 1]), 0], [B]),
    ("torch_placement", lambda L, x: x[:, _T(L, [0, 1]), :, 0], [X4]),
    ("idx_int_idx", lambda L, x: x[_T(L, [2, 0]), 0, :, _T(L, [1, 0])], [X4]),
    ("none_idx", lambda L, b: b[None, _T(L, [0]), ..., _T(L, [1])], [B]),
    ("int32_idx", lambda L, a: a[_T(L, [2, 1], L.int32)], [A]),
    ("idx_step", lambda L, a: a[_T(L, [2, 0]), ::3], [A]),
    ("mask", lambda L, a, m: a[m], [A, BL]),
    ("mask_cmp", lambda L, a: a[a > 0], [A]),
    ("mask_rows", lambda L, a: a[_T(L, [True, False, True])], [A]),
    ("mask_cols", lambda L, a: a[:, _T(L, [True, False, True, True])], [A]),
    ("mask_3d", lambda L, b, m: b[:, m], [B, BL]),
    ("mask_0d_true", lambda L, a: a[_T(L, True)], [A]),
    ("mask_0d_false", lambda L, a: a[_T(L, False)], [A]),
    ("int_data", lambda L, i: i[1:, _T(L, [0, 3])], [I]),
    ("bool_data", lambda L, m: m[:, 1], [BL]),
    ("iterate", lambda L, a: list(a), [A]),
]


def test_getitem_lazy_batched():
    _run_batched(GET)


def test_getitem_eager_subset():
    cases = {name: (fn, arrays) for name, fn, arrays in GET}
    with irgrad.eager():
        for name in ("slice_step", "broadcast_idx", "mask"):
            fn, arrays = cases[name]
            _compare(name + " (eager)", fn(irgrad, *_make(irgrad, arrays)),
                     fn(torch, *_make(torch, arrays)))


def _set(index, value):
    def fn(L, a, *rest):
        a = a.clone()
        v = value(L, *rest) if callable(value) else value
        a[index(L) if callable(index) else index] = v
        return a
    return fn


SET = [
    ("int", _set(0, 5.0), [A]),
    ("col", _set((slice(None), 1), lambda L, v: v[:3]), [A, A[0] * 0 + np.arange(4)]),
    ("window", _set((slice(1, None), slice(None, None, 2)), lambda L: _T(L, [[1.0, 2.0], [3.0, 4.0]])),
     [A]),
    ("broadcast_row", _set((Ellipsis, -1), lambda L: _T(L, 9.0)), [A]),
    ("lead_ones", _set(1, lambda L: L.ones(1, 4)), [A]),
    ("all", _set(Ellipsis, 3.0), [A]),
    ("none", _set(None, lambda L: _T(L, [1.0, 2.0, 3.0, 4.0])), [A]),
    ("idx", _set(lambda L: _T(L, [0, 2]), 1.0), [A]),
    ("pairs", _set(lambda L: ([0, 2], [1, 3]), lambda L: _T(L, [7.0, 8.0])), [A]),
    ("idx_cols", _set(lambda L: (slice(None), _T(L, [3, 0])), lambda L: _T(L, [[1.0], [2.0], [3.0]])),
     [A]),
    ("nonadjacent", _set(lambda L: (_T(L, [1, 0]), slice(None), _T(L, [0, 3])),
                         lambda L: _T(L, [1.0, 2.0, 3.0])), [B]),
    ("mask", _set(lambda L: _T(L, BL), 0.0), [A]),
    ("mask_values", _set(lambda L: _T(L, BL), lambda L: L.arange(6.0)), [A]),
    ("int_tensor_float_value", _set((0, slice(None)), 2.7), [I]),
    ("int_cast", _set(lambda L: _T(L, [1]), -2.9), [I]),
    ("int_cast_basic", _set(1, lambda L: _T(L, [[1.9, -2.9, 3.5, 4.0]])), [I]),
    ("scalar_elem", _set((2, 3), -1.0), [A]),
]


def test_setitem_lazy_batched():
    _run_batched(SET)


# ---- view semantics --------------------------------------------------------------------------

def _views(L):
    """Each scenario mutates through views; returns every tensor it touched."""
    out = []
    a = L.tensor(A.copy())
    b = a[1:, ::2]
    b.add_(1)
    out += [a, b]

    a = L.tensor(A.copy())
    a.t()[0] = 5
    out.append(a)

    a = L.tensor(A.copy())
    old = a[1]
    col = a[:, 2]
    a.mul_(2)
    out += [old, col]

    a = L.tensor(A.copy())
    vv = a[1:][:, 1:]       # a view of a view
    vv.mul_(-1)
    out += [a, vv]
    vv[0, 0] = 100
    out += [a, a[1:]]

    a = L.tensor(A.copy())
    parts = a.split(2, dim=1)
    parts[1].add_(10)
    chunks = a.chunk(3, 0)
    chunks[2].mul_(0)
    rows = a.unbind(0)
    rows[0][1] = -7
    out += [a, parts[0]]

    a = L.tensor(A.copy())
    d = a.diagonal()
    d.add_(100)
    a.diagonal(1)[0] = 0
    out += [a, d]

    v = L.tensor(A[0].copy())
    e = v.expand(3, 4)
    v.add_(1)
    out.append(e)

    a = L.tensor(A.copy())
    a.view(12)[3] = -1
    a.reshape(2, 6)[1, 0] = -2
    a.unsqueeze(0).squeeze(0)[2, 2] = -3
    a.narrow(1, 1, 2).mul_(3)
    a.select(0, 2).add_(0.5)
    out.append(a)

    a = L.tensor(B.copy())
    p = a.permute(2, 0, 1)
    p[1].mul_(0)
    a.transpose(0, 1)[2, 1, 0] = 42
    a.movedim(0, -1)[0, 0] = 43
    a.mT[..., 0, 1] = 44
    out += [a, p]

    a = L.tensor(A.copy())
    fl = a.flatten()   # contiguous: a view
    fl[0] = 11
    tr = a.t()
    a[0, 0] = 12       # shows through older views
    out += [fl, tr, tr.contiguous()]
    return out


def test_view_semantics_match_torch():
    got = _views(irgrad)
    irgrad.realize(*got)
    want = _views(torch)
    for k, (g, w) in enumerate(zip(got, want)):
        _compare(f"view scenario tensor {k}", g, w)


def test_view_semantics_eager():
    with irgrad.eager():
        a = irgrad.tensor(A.copy())
        b = a[1:, ::2]
        b.add_(1)
        a.t()[0] = 5
    w = torch.tensor(A.copy())
    w[1:, ::2].add_(1)
    w.t()[0] = 5
    np.testing.assert_allclose(a.numpy(), w.numpy())
    np.testing.assert_allclose(b.numpy(), w[1:, ::2].numpy())


def test_inplace_on_view_of_leaf_errors_like_torch():
    for L in (torch, irgrad):
        x = L.tensor(A.copy(), requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            x[0].add_(1)
        assert str(e.value) == ("a view of a leaf Variable that requires grad is being used in "
                                "an in-place operation.")
        with pytest.raises(RuntimeError):
            x[0] = 1.0
        with L.no_grad():
            x[0] = 1.0  # allowed without grad recording
        assert float(x[0, 0].detach()) == 1.0


def _grads_through_views(L, x, w):
    y = x * 1
    y[0] = 0
    y[:, 1].mul_(3)
    y.t()[2].add_(y[:, 0])
    z = y[[0, 2], 1:] * y[y.detach() > 0.5].sum()
    return (z * w[:2, 1:]).sum() + y.diagonal().sum()


def test_gradients_through_inplace_views():
    xi = irgrad.tensor(A.copy(), requires_grad=True)
    xt = torch.tensor(A.copy(), requires_grad=True)
    gi, = irgrad.autograd.grad(_grads_through_views(irgrad, xi, irgrad.tensor(A)), [xi])
    gt, = torch.autograd.grad(_grads_through_views(torch, xt, torch.tensor(A)), [xt])
    np.testing.assert_allclose(gi.numpy(), gt.numpy(), rtol=1e-5, atol=1e-5)


# ---- index ops -------------------------------------------------------------------------------

IDX = np.array([[0, 2, 1, 0], [2, 1, 0, 2]])
PERM = np.array([[1, 0, 2, 1], [2, 2, 0, 0]])  # scatter targets; each column distinct
SRC = R.standard_normal((2, 4)).astype(np.float32)

OPS = [
    ("gather0", lambda L, a, i: L.gather(a, 0, i), [A, IDX]),
    ("gather1", lambda L, a: a.gather(1, _T(L, [[3, 0], [1, 1], [2, 2]])), [A]),
    ("gather_small", lambda L, b: b.gather(2, _T(L, [[[1, 0]]])), [B]),
    ("scatter_src", lambda L, a, i, s: a.scatter(0, i, s), [A, PERM, SRC]),
    ("scatter_value", lambda L, a, i: L.scatter(a, 0, i, 2.5), [A, PERM]),
    ("scatter_small", lambda L, a, s: a.scatter(1, _T(L, [[2], [0]]), s), [A, SRC]),
    ("scatter_add", lambda L, a, i, s: a.scatter_add(0, i, s), [A, IDX, SRC]),
    ("scatter_reduce_add", lambda L, a, i, s: a.scatter(0, i, s, reduce="add"), [A, IDX, SRC]),
    ("scatter_reduce_mul", lambda L, a, i, s: a.scatter(0, i, s, reduce="multiply"), [A, IDX, SRC]),
    ("scatter_reduce_sum", lambda L, a, i, s: a.scatter_reduce(0, i, s, "sum"), [A, IDX, SRC]),
    ("scatter_reduce_prod", lambda L, a, i, s: a.scatter_reduce(0, i, s, "prod", include_self=False),
     [A, IDX, SRC]),
    ("scatter_reduce_mean", lambda L, a, i, s: a.scatter_reduce(0, i, s, "mean"), [A, IDX, SRC]),
    ("scatter_reduce_mean_ex", lambda L, a, i, s: a.scatter_reduce(0, i, s, "mean", include_self=False),
     [A, IDX, SRC]),
    ("scatter_reduce_amax", lambda L, a, i, s: L.scatter_reduce(a, 0, i, s, "amax"), [A, IDX, SRC]),
    ("scatter_reduce_amin_ex", lambda L, a, i, s: a.scatter_reduce(0, i, s, "amin", include_self=False),
     [A, IDX, SRC]),
    ("scatter_int", lambda L, x: x.scatter_add(1, _T(L, [[0, 0], [3, 1], [2, 2]]), x[:, :2]), [I]),
    ("index_select", lambda L, a: a.index_select(1, _T(L, [3, 0, 3])), [A]),
    ("index_select_fn", lambda L, b: L.index_select(b, 0, _T(L, [1])), [B]),
    ("index_select_0d", lambda L, a: a.index_select(0, _T(L, 2)), [A]),
    ("index_add", lambda L, a: a.index_add(0, _T(L, [2, 0, 2]), L.ones(3, 4), alpha=2), [A]),
    ("index_copy", lambda L, a, s: a.index_copy(1, _T(L, [3, 0]), s.t()[:3]), [A, SRC]),
    ("index_fill", lambda L, a: a.index_fill(1, _T(L, [1, 3]), -1.5), [A]),
    ("index_fill_t", lambda L, a: L.index_fill(a, 0, _T(L, [0]), _T(L, 4.0)), [A]),
    ("masked_fill", lambda L, a, m: a.masked_fill(m, 0.5), [A, BL]),
    ("masked_fill_bcast", lambda L, a: L.masked_fill(a, _T(L, [True, False, False, True]), -2.0), [A]),
    ("masked_fill_t", lambda L, x, m: x.masked_fill(m, _T(L, 7)), [I, BL]),
    ("masked_select", lambda L, a, m: L.masked_select(a, m), [A, BL]),
    ("masked_select_bcast", lambda L, a: a.masked_select(_T(L, [True, False, False, True])), [A]),
    ("masked_scatter", lambda L, a, m: a.masked_scatter(m, L.arange(10.0)), [A, BL]),
    ("take", lambda L, a: L.take(a, _T(L, [[0, -1], [5, 11]])), [A]),
    ("take_along_dim", lambda L, a: L.take_along_dim(a, _T(L, [[0], [3], [1]]), 1), [A]),
    ("take_along_dim_b", lambda L, a: L.take_along_dim(a, _T(L, [[1, 0, 2, 2]]), dim=0), [A]),
    ("take_along_dim_none", lambda L, a: L.take_along_dim(a, _T(L, [11, 0])), [A]),
    ("put", lambda L, a: a.put(_T(L, [0, -1, 5]), _T(L, [1.0, 2.0, 3.0])), [A]),
    ("put_acc", lambda L, a: a.put(_T(L, [1, 1]), _T(L, [1.0, 2.0]), accumulate=True), [A]),
    ("index_put", lambda L, a: a.index_put((_T(L, [0, 2]), _T(L, [1, 1])), _T(L, 9.0)), [A]),
    ("index_put_acc", lambda L, a: L.index_put(a, (_T(L, [0, 0, 1]),), _T(L, [1.0, 2.0, 3.0, 4.0]),
                                                accumulate=True), [A]),
    ("nonzero", lambda L, m: L.nonzero(m), [BL]),
    ("nonzero_tuple", lambda L, x: (x > 5).nonzero(as_tuple=True), [I]),
    ("argwhere", lambda L, a: L.argwhere(a > 0), [A]),
    ("where1", lambda L, m: L.where(m), [BL]),
    ("tril_", lambda L, a: a.clone().tril_(1), [A]),
]


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_index_ops_lazy_batched():
    _run_batched(OPS)


INPLACE = [
    ("scatter_", lambda L, a, i, s: a.scatter_(0, i, s), [A, PERM, SRC]),
    ("scatter_add_", lambda L, a, i, s: a.scatter_add_(0, i, s), [A, IDX, SRC]),
    ("index_add_", lambda L, a: a.index_add_(1, _T(L, [0, 0]), L.ones(3, 2)), [A]),
    ("index_fill_", lambda L, a: a.index_fill_(0, _T(L, [1]), 3.0), [A]),
    ("masked_fill_", lambda L, a, m: a.masked_fill_(m, -1.0), [A, BL]),
    ("masked_scatter_", lambda L, a, m: a.masked_scatter_(m, L.zeros(7)), [A, BL]),
    ("put_", lambda L, a: a.put_(_T(L, [3]), _T(L, [0.0])), [A]),
    ("index_put_", lambda L, a: a.index_put_((_T(L, [2]),), _T(L, 1.0)), [A]),
]


def test_inplace_index_ops_through_views():
    def run(L):
        outs = []
        for _, fn, arrays in INPLACE:
            base = L.tensor(np.concatenate([arrays[0], arrays[0]], 0))
            view = base[1::2]  # every op writes through a strided view into `base`
            args = _make(L, arrays[1:])
            r = fn(L, view, *args)
            assert r is view
            outs += [base, view]
        return outs
    got = run(irgrad)
    irgrad.realize(*got)
    for k, (g, w) in enumerate(zip(got, run(torch))):
        _compare(f"{INPLACE[k // 2][0]} tensor {k % 2}", g, w)


def test_index_ops_eager_subset():
    cases = {name: (fn, arrays) for name, fn, arrays in OPS}
    with irgrad.eager():
        for name in ("gather0", "scatter_add", "index_select", "index_put_acc"):
            fn, arrays = cases[name]
            _compare(name + " (eager)", fn(irgrad, *_make(irgrad, arrays)),
                     fn(torch, *_make(torch, arrays)))


GRADS = ["gather0", "gather_small", "scatter_src", "scatter_add",
         "scatter_reduce_amax", "scatter_reduce_mean", "scatter_reduce_prod", "index_select",
         "index_copy", "index_fill_t", "masked_fill", "masked_select", "masked_scatter", "take",
         "take_along_dim_b", "put_acc", "index_put_acc"]
GRADS_GET = ["slice_step", "broadcast_idx", "nonadjacent", "mask", "torch_placement",
             "none_idx", "false"]


def test_gradients_match_torch():
    table = {n: (f, a) for n, f, a in OPS}
    table.update({"get_" + n: (f, a) for n, f, a in GET})
    names = GRADS + ["get_" + n for n in GRADS_GET]
    pending = []
    for name in names:
        fn, arrays = table[name]
        rng = np.random.default_rng(7)
        res = []
        for L in (irgrad, torch):
            xs = _make(L, arrays, requires_grad=True)
            diff = [x for x, a in zip(xs, arrays) if a.dtype.kind == "f"]
            out = fn(L, *xs)
            w = L.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))
            res.append(L.autograd.grad((out * w).sum(), diff))
            rng = np.random.default_rng(7)
        pending.append((name, res[0], res[1]))
    irgrad.realize(*[g for _, gs, _ in pending for g in gs])
    for name, gi, gt in pending:
        for k, (a, b) in enumerate(zip(gi, gt)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name} grad {k}")


# ---- errors ----------------------------------------------------------------------------------

ERRORS = [
    ("int_oob", lambda L: L.randn(3)[5], IndexError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("neg_step", lambda L: L.randn(3)[::-1], ValueError, "step must be greater than zero"),
    ("float_idx", lambda L: L.randn(3)[L.tensor([0.5])], IndexError,
     "tensors used as indices must be long, int, byte or bool tensors"),
    ("tensor_oob", lambda L: L.randn(3)[L.tensor([7])], IndexError,
     "index 7 is out of bounds for dimension 0 with size 3"),
    ("tensor_oob_dim", lambda L: L.randn(3, 4)[:, L.tensor([-5])], IndexError,
     "index -5 is out of bounds for dimension 0 with size 4"),
    ("too_many", lambda L: L.randn(3, 4)[0, 0, 0], IndexError,
     "too many indices for tensor of dimension 2"),
    ("set_dtype", lambda L: L.zeros(3, dtype=L.long).__setitem__(L.tensor([1]), L.tensor([2.5])),
     RuntimeError, "Index put requires the source and destination dtypes match, got Long for the "
                   "destination and Float for the source."),
    ("zero_dim", lambda L: L.tensor(1.0)[0], IndexError, None),
    ("float_key", lambda L: L.randn(3)[1.5], IndexError, None),
    ("mask_shape", lambda L: L.randn(3, 4)[L.tensor([True, False])], IndexError,
     "The shape of the mask [2] at index 0 does not match the shape of the indexed tensor "
     "[3, 4] at index 0"),
    ("idx_broadcast", lambda L: L.randn(3, 4)[[0, 1], [0, 1, 2]], IndexError,
     "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"),
    ("set_shape", lambda L: L.zeros(3, 4).__setitem__(slice(None), L.ones(2)), RuntimeError, None),
    ("set_adv_shape", lambda L: L.zeros(3, 4).__setitem__(L.tensor([0, 1]), L.ones(3, 4)),
     RuntimeError,
     "shape mismatch: value tensor of shape [3, 4] cannot be broadcast to indexing result of "
     "shape [2, 4]"),
    ("gather_oob", lambda L: L.gather(L.randn(3), 0, L.tensor([7])), RuntimeError,
     "index 7 is out of bounds for dimension 0 with size 3"),
    ("gather_neg", lambda L: L.randn(3, 4).gather(0, L.tensor([[-1]])), RuntimeError,
     "index -1 is out of bounds for dimension 0 with size 3"),
    ("gather_rank", lambda L: L.randn(3, 4).gather(0, L.tensor([5])), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    ("gather_size", lambda L: L.randn(3, 4).gather(0, L.tensor([[0, 0, 0, 0, 0]])), RuntimeError,
     "Size does not match at dimension 1 expected index [1, 5] to be no larger than self [3, 4] "
     "apart from dimension 0"),
    ("gather_dtype", lambda L: L.randn(3, 4).gather(0, L.tensor([[0.0]])), RuntimeError,
     "gather(): Expected dtype int32/int64 for index"),
    ("scatter_dtype", lambda L: L.randn(3, 4).scatter(0, L.tensor([[0]]), L.ones(1, 1).double()),
     RuntimeError, "scatter(): Expected self.dtype to be equal to src.dtype"),
    ("scatter_oob", lambda L: L.randn(3, 4).scatter(0, L.tensor([[5]]), 1.0), RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("scatter_size", lambda L: L.randn(3, 4).scatter(0, L.tensor([[0, 0]]), L.randn(1, 1)),
     RuntimeError, "Expected index [1, 2] to be no larger than self [3, 4] apart from dimension 0 "
                   "and to be no larger size than src [1, 1]"),
    ("scatter_reduce_mode", lambda L: L.randn(3, 4).scatter_reduce(0, L.tensor([[0]]), L.randn(1, 1), "foo"),
     RuntimeError, "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    ("index_select_vec", lambda L: L.randn(3, 4).index_select(0, L.tensor([[0]])), IndexError,
     "index_select(): Index is supposed to be a vector"),
    ("index_select_oob", lambda L: L.randn(3, 4).index_select(0, L.tensor([3])), IndexError,
     "index out of range in self"),
    ("index_select_dtype", lambda L: L.randn(3, 4).index_select(0, L.tensor([0.0])), RuntimeError,
     "index_select(): Expected dtype int32 or int64 for index"),
    ("index_add_count", lambda L: L.randn(3, 4).index_add(0, L.tensor([0, 1]), L.randn(3, 4)),
     RuntimeError, "index_add_(): Number of indices (2) should be equal to source.size(dim): (3), "
                   "for dim: 0"),
    ("index_fill_value", lambda L: L.randn(3, 4).index_fill(0, L.tensor([0]), L.tensor([1.0, 2.0])),
     RuntimeError, "index_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 "
                   "dimension(s)."),
    ("masked_fill_mask", lambda L: L.randn(3, 4).masked_fill(L.tensor([1, 0, 1, 0]), 1.0),
     RuntimeError, "masked_fill_ only supports boolean masks, but got mask with dtype long int"),
    ("take_oob", lambda L: L.randn(3, 4).take(L.tensor([100])), IndexError,
     "out of range: tried to access index 100 on a tensor of 12 elements."),
    ("put_oob", lambda L: L.randn(3, 4).put_(L.tensor([70]), L.tensor([1.0])), IndexError,
     "out of range: tried to access index 70 on a tensor of 12 elements."),
]


@pytest.mark.parametrize("name,fn,cls,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name, fn, cls, message):
    with pytest.raises(Exception) as texc:
        fn(torch)
    assert texc.type is cls, f"expectation drifted: torch raised {texc.type.__name__}"
    if message is not None:
        assert str(texc.value) == message, f"expectation drifted: {texc.value}"
    with pytest.raises(cls) as iexc:
        fn(irgrad)
    if message is not None:
        assert str(iexc.value) == message


def test_errors_raise_at_the_users_line():
    try:
        irgrad.randn(3)[5]
    except IndexError as e:
        tb = e.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        assert tb.tb_frame.f_code.co_filename == __file__


def test_unknown_index_values_are_checked_when_run():
    x = irgrad.tensor(A)
    idx = irgrad.tensor([1]) * 7              # computed lazily: values unknown when recorded
    bad = x[idx]; line = bad.node.site.line  # noqa: E702
    with pytest.raises(RuntimeError) as e:
        bad.numpy()
    text = str(e.value)
    assert "out of bounds for dimension 0 with size 3" in text
    assert f"{os.path.basename(__file__)}:{line}" in text
    g = irgrad.gather(irgrad.tensor(A[0]), 0, irgrad.tensor([2]) + 2)
    with pytest.raises(RuntimeError) as e:
        g.numpy()
    assert "out of bounds for dimension 0 with size 4" in str(e.value)
    ok = x[irgrad.tensor([1]) + 1]           # in range: runs, with the same check compiled in
    np.testing.assert_array_equal(ok.numpy(), A[[2]])
