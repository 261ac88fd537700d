"""nn.functional against PyTorch: interpolate, scaled_dot_product_attention, pad, one_hot,
embedding, dropout, pixel_shuffle, normalize and friends; values and gradients batched into
one realization per test, plus the error messages irgrad improves on."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import irgrad
import irgrad.nn.functional as F

RTOL, ATOL = 2e-4, 2e-5


def r(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _run(cases):
    """cases: (label, fn_name, arrays, kwargs); float arrays at positions in `grad` get
    gradients. Compares values and gradients with torch after one realization."""
    recorded = []
    for label, name, arrays, kw in cases:
        tin = [torch.tensor(a, requires_grad=a.dtype == np.float32)
               if isinstance(a, np.ndarray) else a for a in arrays]
        iin = [irgrad.tensor(a, requires_grad=a.dtype == np.float32)
               if isinstance(a, np.ndarray) else a for a in arrays]
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        ikw = {k: irgrad.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        tout = getattr(TF, name)(*tin, **tkw)
        iout = getattr(F, name)(*iin, **ikw)
        g = np.random.default_rng(3).standard_normal(tuple(tout.shape)).astype(np.float32)
        grads = []
        if tout.requires_grad:
            (tout * torch.tensor(g)).sum().backward()
            (iout * irgrad.tensor(g)).sum().backward()
            grads = [(t.grad.numpy(), i.grad) for t, i in zip(tin, iin)
                     if isinstance(t, torch.Tensor) and t.grad is not None]
        recorded.append((label, tout.detach().numpy(), iout.detach(), grads))
    irgrad.realize(*[x for _, _, o, gs in recorded for x in [o] + [i for _, i in gs]])
    bad = []
    for label, e, o, gs in recorded:
        pairs = [("value", e, o)] + [(f"grad {k}", te, ig) for k, (te, ig) in enumerate(gs)]
        for what, exp, got in pairs:
            try:
                assert got is not None, "no gradient"
                np.testing.assert_allclose(got.numpy(), exp, rtol=RTOL, atol=ATOL)
            except AssertionError as err:
                bad.append(f"{label} {what}: {str(err)[:300]}")
    assert not bad, "\n".join(bad)


def test_interpolate_matches_torch():
    x4, x3, x5 = r(1, 2, 5, 7), r(2, 2, 6), r(1, 1, 3, 4, 2)
    cases = []
    for mode in ("nearest", "nearest-exact", "bilinear"):
        for kw in ({"size": (8, 9)}, {"scale_factor": 2}, {"scale_factor": (0.5, 1.7)},
                   {"size": (3, 4)}):
            ac = {"align_corners": False} if mode == "bilinear" else {}
            cases.append((f"{mode}{kw}", "interpolate", [x4], dict(kw, mode=mode, **ac)))
    cases += [
        ("bilinear-align", "interpolate", [x4], {"size": (9, 4), "mode": "bilinear",
                                                 "align_corners": True}),
        ("bilinear-recompute", "interpolate", [x4], {"scale_factor": 1.5, "mode": "bilinear",
                                                     "recompute_scale_factor": True}),
        ("linear", "interpolate", [x3], {"size": 11, "mode": "linear"}),
        ("nearest-1d", "interpolate", [x3], {"scale_factor": 3}),
        ("trilinear", "interpolate", [x5], {"size": (5, 3, 4), "mode": "trilinear"}),
        ("area", "interpolate", [x4], {"size": (2, 3), "mode": "area"}),
        ("pixel_shuffle", "pixel_shuffle", [r(2, 8, 3, 2)], {"upscale_factor": 2}),
        ("pixel_unshuffle", "pixel_unshuffle", [r(1, 2, 4, 6)], {"downscale_factor": 2}),
    ]
    _run(cases)


def test_attention_and_misc_match_torch():
    q, k, v = r(2, 3, 4, 8), r(2, 3, 6, 8, seed=1), r(2, 3, 6, 5, seed=2)
    bool_mask = np.random.default_rng(4).random((4, 6)) > 0.3
    bool_mask[:, 0] = True
    cases = [
        ("sdpa", "scaled_dot_product_attention", [q, k, v], {}),
        ("sdpa-causal", "scaled_dot_product_attention", [q, k, v], {"is_causal": True}),
        ("sdpa-bool-mask", "scaled_dot_product_attention", [q, k, v],
         {"attn_mask": bool_mask}),
        ("sdpa-float-mask-scale", "scaled_dot_product_attention", [q, k, v],
         {"attn_mask": r(2, 1, 4, 6, seed=5), "scale": 0.3}),
        ("sdpa-gqa", "scaled_dot_product_attention", [r(1, 4, 3, 8), r(1, 2, 5, 8, seed=1),
                                                       r(1, 2, 5, 8, seed=2)],
         {"enable_gqa": True}),
        ("linear", "linear", [r(3, 4), r(5, 4, seed=1), r(5, seed=2)], {}),
        ("bilinear", "bilinear", [r(3, 4), r(3, 2, seed=1), r(5, 4, 2, seed=2)], {}),
        ("normalize", "normalize", [r(3, 4)], {"p": 3.0, "dim": 0}),
        ("layer_norm", "layer_norm", [r(3, 4), (4,)], {}),
        ("batch_norm-eval", "batch_norm", [r(4, 3)],
         {"running_mean": r(3, seed=1), "running_var": r(3, seed=2, low=0.5)}),
        ("group_norm", "group_norm", [r(2, 6, 3), 3], {}),
        ("instance_norm", "instance_norm", [r(2, 3, 5)], {}),
        ("pad-reflect", "pad", [r(1, 2, 4, 5), (1, 2, 2, 0)], {"mode": "reflect"}),
        ("pad-const", "pad", [r(2, 3), (1, -1)], {"value": 2.5}),
        ("embedding", "embedding", [np.array([[0, 3], [2, 2]]), r(4, 3)], {}),
        ("embedding-pad", "embedding", [np.array([0, 3, 1, 1]), r(4, 3)], {"padding_idx": 1}),
        ("glu", "glu", [r(4, 6)], {"dim": -1}),
        ("prelu", "prelu", [r(2, 3, 4), r(3, seed=1)], {}),
        ("softmax-dtype", "softmax", [r(3, 4)], {"dim": 0, "dtype": torch.float64}),
        ("cosine", "cosine_similarity", [r(3, 4), r(3, 4, seed=1)], {}),
    ]
    _run_with_dtype(cases)


def _run_with_dtype(cases):
    """dtype arguments are library-specific: those cases are compared separately."""
    plain = [c for c in cases if "dtype" not in c[3]]
    _run(plain)
    for label, name, arrays, kw in cases:
        if "dtype" in kw:
            t = getattr(TF, name)(torch.tensor(arrays[0]), **kw)
            i = getattr(F, name)(irgrad.tensor(arrays[0]), **dict(kw, dtype=irgrad.float64))
            assert i.dtype == irgrad.float64
            np.testing.assert_allclose(i.numpy(), t.numpy(), rtol=1e-6)


def test_one_hot():
    t = irgrad.tensor([0, 3, 1])
    np.testing.assert_array_equal(F.one_hot(t, 5).numpy(),
                                  TF.one_hot(torch.tensor([0, 3, 1]), 5).numpy())
    assert F.one_hot(t).shape == (3, 4)
    assert F.one_hot(t).dtype == irgrad.int64


def test_embedding_index_error_names_index_and_size():
    with pytest.raises(IndexError, match=r"index 12 is out of range for Embedding with 10 "
                                         r"rows"):
        F.embedding(irgrad.tensor([12]), irgrad.zeros(10, 4))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        F.embedding(irgrad.tensor([-1, 2]), irgrad.zeros(10, 4))


def test_dropout_statistics_and_scaling():
    irgrad.manual_seed(0)
    x = irgrad.ones(200, 100)
    y = F.dropout(x, 0.3)
    z = F.dropout2d(irgrad.ones(4, 50, 3, 3), 0.5)
    a = y.numpy()
    assert np.all(np.isclose(np.unique(a)[:, None], [0.0, 1 / 0.7]).any(1))
    assert abs((a == 0).mean() - 0.3) < 0.02
    b = z.numpy()
    # A whole channel is kept or dropped.
    assert np.all(b.reshape(4, 50, 9).std(-1) == 0)
    assert F.dropout(x, 0.3, training=False) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(x, 1.5)
