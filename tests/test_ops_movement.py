"""Shape and movement ops against PyTorch: values, dtypes and shapes (lazy, all cases realized
in one graph; eager, a subset), gradients, and the exception class and message of bad calls.
"""
import numpy as np
import pytest
import torch

import irgrad
from irgrad.frontend.exports import as_function
from irgrad.ir.ops import movement_compose as MC

R = np.random.default_rng(0)
A = R.standard_normal((3, 4)).astype(np.float32)
B = R.standard_normal((2, 3, 4)).astype(np.float32)
C = R.standard_normal((2, 1, 4, 1)).astype(np.float32)
V5 = R.standard_normal((5,)).astype(np.float32)
S = np.array(2.5, dtype=np.float32)
E = np.zeros((0, 3), dtype=np.float32)
I = np.arange(12).reshape(3, 4)
D = R.standard_normal((3, 4)).astype(np.float64)
BL = R.random((3, 4)) > 0.5
IMG = R.standard_normal((1, 2, 3, 4)).astype(np.float32)

_IRGRAD_PAD = as_function(MC.pad, "pad")


def pad(L):
    return torch.nn.functional.pad if L is torch else _IRGRAD_PAD


CASES = [
    # reshape family
    ("reshape", lambda L, a: a.reshape(2, 6), [A]),
    ("reshape-1", lambda L, a: L.reshape(a, (-1,)), [B]),
    ("reshape_0d", lambda L, s: s.reshape(1, 1), [S]),
    ("reshape_empty", lambda L, e: e.reshape(3, 0, 1), [E]),
    ("view", lambda L, a: a.view(4, 3), [A]),
    ("view_list", lambda L, a: a.view([2, -1]), [B]),
    ("view_as", lambda L, a, b: a.view_as(b), [A, I.reshape(2, 6)]),
    ("reshape_as", lambda L, a, b: a.reshape_as(b), [B, np.zeros((12, 2), np.float32)]),
    ("reshape_noncontig", lambda L, a: a.t().reshape(12), [A]),
    ("flatten", lambda L, b: b.flatten(), [B]),
    ("flatten1", lambda L, b: L.flatten(b, 1), [B]),
    ("flatten01", lambda L, b: b.flatten(0, 1), [B]),
    ("flatten_0d", lambda L, s: s.flatten(), [S]),
    ("unflatten", lambda L, a: a.unflatten(1, (2, 2)), [A]),
    ("unflatten_neg", lambda L, b: L.unflatten(b, -1, (2, -1)), [B]),
    ("squeeze", lambda L, c: c.squeeze(), [C]),
    ("squeeze_dim", lambda L, c: c.squeeze(1), [C]),
    ("squeeze_dims", lambda L, c: L.squeeze(c, (1, 3)), [C]),
    ("squeeze_noop", lambda L, c: c.squeeze(0), [C]),
    ("squeeze_0d", lambda L, s: s.squeeze(0), [S]),
    ("unsqueeze", lambda L, a: a.unsqueeze(0), [A]),
    ("unsqueeze_neg", lambda L, a: L.unsqueeze(a, -1), [A]),
    ("unsqueeze_0d", lambda L, s: s.unsqueeze(0), [S]),
    # permutations
    ("permute", lambda L, b: b.permute(2, 0, 1), [B]),
    ("permute_fn", lambda L, b: L.permute(b, (1, 2, 0)), [B]),
    ("transpose", lambda L, b: b.transpose(0, 2), [B]),
    ("swapaxes", lambda L, b: L.swapaxes(b, 1, -1), [B]),
    ("swapdims", lambda L, b: b.swapdims(0, 1), [B]),
    ("t", lambda L, a: a.t(), [A]),
    ("t_1d", lambda L, v: L.t(v), [V5]),
    ("T", lambda L, a: a.T, [A]),
    ("mT", lambda L, b: b.mT, [B]),
    ("movedim", lambda L, b: b.movedim(0, -1), [B]),
    ("movedim_multi", lambda L, b: L.movedim(b, (0, 1), (2, 0)), [B]),
    ("moveaxis", lambda L, b: L.moveaxis(b, 2, 0), [B]),
    ("permute_int", lambda L, i: i.permute(1, 0), [I]),
    # expansion, repetition
    ("expand", lambda L, c: c.expand(2, 3, 4, 5), [C]),
    ("expand_new", lambda L, v: v.expand(2, 5), [V5]),
    ("expand_keep", lambda L, c: c.expand(-1, 2, -1, 3), [C]),
    ("expand_as", lambda L, v, a: v[:4].expand_as(a), [V5, A]),
    ("broadcast_to", lambda L, v: L.broadcast_to(v, (3, 5)), [V5]),
    ("broadcast_tensors", lambda L, a, v: L.broadcast_tensors(a[:, :1], v[:4]), [A, V5]),
    ("repeat", lambda L, a: a.repeat(2, 3), [A]),
    ("repeat_more", lambda L, a: a.repeat(2, 1, 2), [A]),
    ("repeat_bool", lambda L, m: m.repeat(1, 2), [BL]),
    ("tile", lambda L, a: L.tile(a, (2,)), [A]),
    ("tile_more", lambda L, v: v.tile((2, 2)), [V5]),
    ("repeat_interleave", lambda L, a: a.repeat_interleave(2), [A]),
    ("repeat_interleave_dim", lambda L, a: L.repeat_interleave(a, 3, dim=1), [A]),
    ("repeat_interleave_t", lambda L, a, r: a.repeat_interleave(r, dim=0),
     [A, np.array([1, 0, 2])]),
    # joining
    ("cat0", lambda L, a, b: L.cat([a, b], 0), [A, B[0]]),
    ("cat1", lambda L, a, b: L.cat((a, b[:, :2]), dim=1), [A, A]),
    ("cat_neg", lambda L, b: L.cat([b, b], -1), [B]),
    ("cat_promote", lambda L, a, i: L.cat([a, i]), [A, I]),
    ("cat_promote_f64", lambda L, a, d: L.cat([a, d]), [A, D]),
    ("cat_legacy_empty", lambda L, a, e: L.cat([a, e.reshape(0)]), [A, E]),
    ("cat_empty", lambda L, e, a: L.cat([e, a[:, :3]]), [E, A]),
    ("concat", lambda L, a: L.concat([a, a], dim=1), [A]),
    ("concatenate", lambda L, a: L.concatenate([a, a], axis=0), [A]),
    ("stack", lambda L, a: L.stack([a, a * 2]), [A]),
    ("stack1", lambda L, a: L.stack([a, a], 1), [A]),
    ("stack_neg", lambda L, a: L.stack([a, a, a], dim=-1), [A]),
    ("stack_0d", lambda L, s: L.stack([s, s]), [S]),
    ("hstack", lambda L, a: L.hstack([a, a]), [A]),
    ("hstack1d", lambda L, v: L.hstack([v, v[:2]]), [V5]),
    ("vstack", lambda L, v: L.vstack([v, v]), [V5]),
    ("dstack", lambda L, a: L.dstack([a, a]), [A]),
    ("atleast_2d", lambda L, v: L.atleast_2d(v), [V5]),
    # splitting
    ("split", lambda L, v: v.split(2), [V5]),
    ("split_sizes", lambda L, a: L.split(a, [1, 3], dim=1), [A]),
    ("chunk", lambda L, v: v.chunk(3), [V5]),
    ("chunk_dim", lambda L, a: L.chunk(a, 2, 1), [A]),
    ("tensor_split", lambda L, v: L.tensor_split(v, 3), [V5]),
    ("tensor_split_idx", lambda L, a: a.tensor_split([1, 3], dim=1), [A]),
    ("unbind", lambda L, a: a.unbind(1), [A]),
    ("unbind_fn", lambda L, b: L.unbind(b), [B]),
    ("narrow", lambda L, a: a.narrow(1, 1, 2), [A]),
    ("narrow_neg", lambda L, a: L.narrow(a, 0, -2, 2), [A]),
    ("select", lambda L, b: b.select(1, -1), [B]),
    ("select_fn", lambda L, a: L.select(a, 0, 1), [A]),
    ("contiguous", lambda L, a: a.t().contiguous(), [A]),
    ("clone", lambda L, i: i.clone(), [I]),
    # flips, rolls
    ("flip", lambda L, b: b.flip(0, 2), [B]),
    ("flip_fn", lambda L, a: L.flip(a, [1]), [A]),
    ("fliplr", lambda L, a: L.fliplr(a), [A]),
    ("flipud", lambda L, i: i.flipud(), [I]),
    ("roll", lambda L, v: v.roll(2), [V5]),
    ("roll_flat", lambda L, a: L.roll(a, -3), [A]),
    ("roll_dims", lambda L, a: a.roll((1, -1), (0, 1)), [A]),
    ("roll_big", lambda L, a: L.roll(a, 7, 1), [A]),
    # diagonals, triangles
    ("diagonal", lambda L, a: a.diagonal(), [A]),
    ("diagonal_off", lambda L, a: L.diagonal(a, 1), [A]),
    ("diagonal_neg", lambda L, a: a.diagonal(-2), [A]),
    ("diagonal_dims", lambda L, b: b.diagonal(0, 2, 1), [B]),
    ("diagonal_empty", lambda L, a: a.diagonal(7), [A]),
    ("diag1d", lambda L, v: L.diag(v), [V5]),
    ("diag1d_off", lambda L, v: v.diag(-1), [V5]),
    ("diag2d", lambda L, a: L.diag(a, 1), [A]),
    ("diag_embed", lambda L, a: L.diag_embed(a), [A]),
    ("diag_embed_off", lambda L, a: a.diag_embed(1, 0, 2), [A]),
    ("tril", lambda L, a: a.tril(), [A]),
    ("tril_off", lambda L, b: L.tril(b, -1), [B]),
    ("triu", lambda L, a: L.triu(a, 1), [A]),
    ("triu_int", lambda L, i: i.triu(-1), [I]),
    ("triu_bool", lambda L, m: m.triu(), [BL]),
    # scatters of views
    ("slice_scatter", lambda L, a, v: L.slice_scatter(a, v[:2].reshape(1, 2).expand(3, 2).contiguous(),
                                                       dim=1, start=0, step=2), [A, V5]),
    ("select_scatter", lambda L, a, v: L.select_scatter(a, v[:4], 0, 1), [A, V5]),
    ("diagonal_scatter", lambda L, a, v: L.diagonal_scatter(a, v[:3]), [A, V5]),
    # padding
    ("pad_const", lambda L, a: pad(L)(a, (1, 2)), [A]),
    ("pad_const2", lambda L, a: pad(L)(a, (1, 0, 0, 2), value=3.5), [A]),
    ("pad_neg", lambda L, a: pad(L)(a, (-1, 2, 1, -1)), [A]),
    ("pad_int", lambda L, i: pad(L)(i, (2, 2), value=7), [I]),
    ("pad_reflect", lambda L, x: pad(L)(x, (2, 1), mode="reflect"), [IMG[0]]),
    ("pad_reflect2", lambda L, x: pad(L)(x, (1, 2, 2, 1), mode="reflect"), [IMG]),
    ("pad_replicate", lambda L, x: pad(L)(x, (3, 1, 1, 2), mode="replicate"), [IMG]),
    ("pad_circular", lambda L, x: pad(L)(x, (2, 3, 1, 0), mode="circular"), [IMG]),
    # grids
    ("meshgrid", lambda L, v, a: L.meshgrid(v, a[0], indexing="ij"), [V5, A]),
    ("meshgrid_xy", lambda L, v, a: L.meshgrid(v, a[0], a[1, 0], indexing="xy"), [V5, A]),
]


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
        out = []
        for x in r:
            out.extend(_flat(x))
        return out
    return [r]


def _compare(name, got, want):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want), f"{name}: {len(got)} outputs vs torch's {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        label = f"{name}[{k}]"
        assert tuple(g.shape) == tuple(w.shape), f"{label}: shape {tuple(g.shape)} vs " \
                                                 f"{tuple(w.shape)}"
        assert g.dtype.name == str(w.dtype).replace("torch.", ""), \
            f"{label}: dtype {g.dtype.name} vs {w.dtype}"
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-6,
                                   atol=1e-6, err_msg=label)


def test_values_lazy_batched():
    got = [(name, fn(irgrad, *_make(irgrad, arrays))) for name, fn, arrays in CASES]
    irgrad.realize(*[t for _, r in got for t in _flat(r)])
    for (name, fn, arrays), (_, g) in zip(CASES, got):
        _compare(name, g, fn(torch, *_make(torch, arrays)))


# Eager mode compiles every op on its own (~0.5 s each): a few single-primitive cases.
EAGER = ["permute", "cat1", "flip", "diagonal_off", "triu", "split_sizes"]


def test_values_eager_subset():
    cases = {name: (fn, arrays) for name, fn, arrays in CASES}
    with irgrad.eager():
        for name in EAGER:
            fn, arrays = cases[name]
            got = fn(irgrad, *_make(irgrad, arrays))
            for t in _flat(got):
                assert t.node.data is not None, f"{name}: eager mode did not run"
            _compare(name + " (eager)", got, fn(torch, *_make(torch, arrays)))


GRAD_CASES = ["reshape_noncontig", "flatten01", "permute", "transpose", "expand", "expand_new",
              "repeat", "tile_more", "repeat_interleave_dim", "cat1", "cat_promote_f64", "stack1",
              "split_sizes", "chunk", "unbind", "narrow", "select", "flip", "roll_dims",
              "diagonal_dims", "diag1d_off", "diag_embed_off", "tril_off", "slice_scatter",
              "select_scatter", "diagonal_scatter", "pad_const2", "pad_reflect2",
              "pad_replicate", "pad_circular", "meshgrid_xy", "repeat_interleave_t"]


def _weighted_sum(L, outs, seed):
    rng = np.random.default_rng(seed)
    total = None
    for o in _flat(outs):
        if not o.dtype.is_floating_point:
            continue
        w = L.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype)
        term = (o * w).sum()
        total = term if total is None else total + term
    return total


def test_gradients_match_torch():
    cases = {name: (fn, arrays) for name, fn, arrays in CASES}
    pending = []
    for name in GRAD_CASES:
        fn, arrays = cases[name]
        xs = _make(irgrad, arrays, requires_grad=True)
        ts = _make(torch, arrays, requires_grad=True)
        diffs = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
        loss = _weighted_sum(irgrad, fn(irgrad, *xs), 1)
        grads = irgrad.autograd.grad(loss, [xs[k] for k in diffs], allow_unused=True)
        tloss = _weighted_sum(torch, fn(torch, *ts), 1)
        tgrads = torch.autograd.grad(tloss, [ts[k] for k in diffs], allow_unused=True)
        pending.append((name, grads, tgrads))
    irgrad.realize(*[g for _, gs, _ in pending for g in gs if g is not None])
    for name, grads, tgrads in pending:
        for k, (g, tg) in enumerate(zip(grads, tgrads)):
            if tg is None:
                assert g is None or not np.any(g.numpy()), f"{name}: grad {k} should be zero"
                continue
            np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name} grad {k}")


ERRORS = [
    ("view6", lambda L: L.randn(6).view(4, 4), "shape '[4, 4]' is invalid for input of size 6"),
    ("view_t", lambda L: L.randn(3, 4).t().view(12),
     "view size is not compatible with input tensor's size and stride (at least one dimension "
     "spans across two contiguous subspaces). Use .reshape(...) instead."),
    ("view_two_inferred", lambda L: L.randn(3, 4).view(-1, -1), "only one dimension can be inferred"),
    ("reshape_bad", lambda L: L.randn(3, 4).reshape(5, -1), None),
    ("cat_sizes", lambda L: L.cat([L.randn(2, 3), L.randn(3, 3)], dim=1),
     "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for "
     "tensor number 1 in the list."),
    ("cat_rank", lambda L: L.cat([L.randn(2, 3), L.randn(3)], dim=1),
     "Tensors must have same number of dimensions: got 2 and 1"),
    ("cat_empty_list", lambda L: L.cat([]), "torch.cat(): expected a non-empty list of Tensors"),
    ("cat_dim", lambda L: L.cat([L.randn(2, 3)], dim=2), None),
    ("stack_sizes", lambda L: L.stack([L.randn(2, 3), L.randn(3, 3)]),
     "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 3] at "
     "entry 1"),
    ("permute_len", lambda L: L.randn(2, 3).permute(0), None),
    ("permute_dup", lambda L: L.randn(2, 3).permute(0, 0), "permute(): duplicate dims are not allowed."),
    ("transpose_dim", lambda L: L.randn(2, 3).transpose(0, 2), None),
    ("t_3d", lambda L: L.randn(2, 3, 4).t(), "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    ("mT_1d", lambda L: L.randn(3).mT, None),
    ("squeeze_dim", lambda L: L.randn(3, 4).squeeze(2), None),
    ("unsqueeze_dim", lambda L: L.randn(3, 4).unsqueeze(3), None),
    ("flatten_order", lambda L: L.randn(2, 3, 4).flatten(2, 1),
     "flatten() has invalid args: start_dim cannot come after end_dim"),
    ("unflatten_sizes", lambda L: L.randn(3, 4).unflatten(1, (3, 3)),
     "unflatten: Provided sizes [3, 3] don't multiply up to the size of dim 1 (4) in the input "
     "tensor"),
    ("expand_bad", lambda L: L.randn(3).expand(2, 4), None),
    ("expand_lead", lambda L: L.randn(3).expand(-1, 3),
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    ("repeat_few", lambda L: L.randn(2, 3).repeat(2),
     "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"),
    ("narrow_len", lambda L: L.randn(3, 4).narrow(0, 2, 3),
     "start (2) + length (3) exceeds dimension size (3)."),
    ("select_idx", lambda L: L.randn(3, 4).select(0, 3),
     "select(): index 3 out of range for tensor of size [3, 4] at dimension 0"),
    ("split_zero", lambda L: L.randn(3).split(0),
     "split_size can only be 0 if dimension size is 0, but got dimension size of 3"),
    ("split_sum", lambda L: L.randn(5).split([1, 1]),
     "split_with_sizes expects split_sizes to sum exactly to 5 (input tensor's size at dimension "
     "0), but got split_sizes=[1, 1]"),
    ("chunk_zero", lambda L: L.randn(3).chunk(0),
     "chunk expects `chunks` to be greater than 0, got: 0"),
    ("flip_dup", lambda L: L.randn(3, 4).flip(0, 0), None),
    ("roll_align", lambda L: L.randn(3, 4).roll(1, (0, 1)),
     "shifts and dimensions must align. shifts: 1, dims:2"),
    ("diagonal_same", lambda L: L.randn(3, 4).diagonal(0, 1, 1),
     "diagonal dimensions cannot be identical 1, 1"),
    ("tril_1d", lambda L: L.randn(3).tril(), "tril: input tensor must have at least 2 dimensions"),
    ("movedim_len", lambda L: L.randn(3, 4).movedim((0, 1), (0,)), None),
    ("pad_odd", lambda L: pad(L)(L.randn(1, 3), (1,), mode="reflect"),
     "Padding length must be divisible by 2"),
    ("pad_reflect_big", lambda L: pad(L)(L.randn(1, 3), (3, 3), mode="reflect"),
     "Argument #4: Padding size should be less than the corresponding input dimension, but got: "
     "padding (3, 3) at dimension 1 of input [1, 3]"),
    ("pad_mode", lambda L: pad(L)(L.randn(1, 3), (1, 1), mode="foo"), "Unrecognised padding mode foo"),
    ("pad_long", lambda L: pad(L)(L.randn(1, 3), (1, 1, 1, 1, 1, 1)), None),
    ("meshgrid_dtype", lambda L: L.meshgrid(L.zeros(2), L.arange(3), indexing="ij"),
     "meshgrid expects all tensors to have the same dtype"),
    ("expand_write", lambda L: L.zeros(3, 1).expand(3, 4).add_(1),
     "unsupported operation: more than one element of the written-to tensor refers to a single "
     "memory location. Please clone() the tensor before performing the operation."),
]


@pytest.mark.parametrize("name,fn,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name, fn, message):
    with pytest.raises(Exception) as texc:
        fn(torch)
    with pytest.raises(Exception) as iexc:
        fn(irgrad)
    assert isinstance(iexc.value, texc.type), \
        f"{name}: irgrad raised {iexc.type.__name__}, torch {texc.type.__name__}"
    if message is not None:
        assert str(texc.value) == message, f"test expectation drifted from torch: {texc.value}"
        assert str(iexc.value) == message


def test_strides_and_contiguity_follow_torch():
    cases = [lambda L, a: a, lambda L, a: a.t(), lambda L, a: a[1:, ::2],
             lambda L, a: a.unsqueeze(1), lambda L, a: a.t().unsqueeze(0),
             lambda L, a: a.expand(2, 3, 4), lambda L, a: a.diagonal(),
             lambda L, a: a[:, 1], lambda L, a: a.view(2, 6).t(),
             lambda L, a: a.t().contiguous(), lambda L, a: a.narrow(1, 1, 2)]
    for k, fn in enumerate(cases):
        t = fn(torch, torch.tensor(A))
        i = fn(irgrad, irgrad.tensor(A))
        assert i.is_contiguous() == t.is_contiguous(), f"case {k}"
        assert i.stride() == t.stride(), f"case {k}: {i.stride()} vs {t.stride()}"


def test_reshape_aliases_only_when_viewable():
    a = irgrad.tensor(A.copy())
    flat = a.reshape(12)       # contiguous: a view
    copy = a.t().reshape(12)   # not viewable: a copy
    flat[0] = 100.0
    copy[1] = -100.0
    want = torch.tensor(A.copy())
    want.reshape(12)[0] = 100.0
    want.t().reshape(12)[1] = -100.0
    np.testing.assert_array_equal(a.numpy(), want.numpy())
