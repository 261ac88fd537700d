"""Losses against PyTorch: values and input gradients for every option (class indices and
probabilities, weights, ignore_index, label_smoothing, reductions), batched into one
realization; the errors PyTorch raises, with its classes and messages."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import irgrad
import irgrad.nn as nn
import irgrad.nn.functional as F

RTOL, ATOL = 2e-4, 2e-5


def r(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def ints(high, *shape, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int64)


def probs(*shape, seed=0, axis=1):
    e = np.exp(r(*shape, seed=seed))
    return (e / e.sum(axis, keepdims=True)).astype(np.float32)


def _cases():
    w5 = np.linspace(0.5, 2.0, 5).astype(np.float32)
    t_ign = ints(5, 6, seed=3)
    t_ign[[1, 4]] = -100
    t_ign7 = ints(5, 6, seed=4)
    t_ign7[2] = 3
    cases = []
    for red in ("mean", "sum", "none"):
        cases += [
            ("cross_entropy", [r(6, 5), ints(5, 6)], {"reduction": red}),
            ("cross_entropy", [r(6, 5), t_ign], {"reduction": red, "weight": w5}),
            ("cross_entropy", [r(6, 5), t_ign7], {"reduction": red, "ignore_index": 3,
                                                  "label_smoothing": 0.2}),
            ("cross_entropy", [r(6, 5), t_ign], {"reduction": red, "weight": w5,
                                                 "label_smoothing": 0.1}),
            ("cross_entropy", [r(2, 5, 3, 2), ints(5, 2, 3, 2)], {"reduction": red}),
            ("cross_entropy", [r(4, 5), probs(4, 5)], {"reduction": red}),
            ("cross_entropy", [r(4, 5, 3), probs(4, 5, 3)], {"reduction": red, "weight": w5,
                                                             "label_smoothing": 0.3}),
            ("nll_loss", [np.log(probs(6, 5)), t_ign], {"reduction": red, "weight": w5}),
            ("mse_loss", [r(3, 4), r(3, 4, seed=1)], {"reduction": red}),
            ("l1_loss", [r(3, 4), r(3, 4, seed=1)], {"reduction": red}),
            ("smooth_l1_loss", [r(3, 4), r(3, 4, seed=1)], {"reduction": red, "beta": 0.5}),
            ("huber_loss", [r(3, 4), r(3, 4, seed=1)], {"reduction": red, "delta": 0.7}),
            ("binary_cross_entropy", [r(3, 4, low=0.05, high=0.95),
                                      r(3, 4, seed=1, low=0, high=1)],
             {"reduction": red, "weight": r(3, 4, seed=2, low=0.5, high=1.5)}),
            ("binary_cross_entropy_with_logits", [r(3, 4), r(3, 4, seed=1, low=0, high=1)],
             {"reduction": red, "pos_weight": r(4, seed=2, low=0.5, high=2)}),
            ("kl_div", [np.log(probs(3, 4)), probs(3, 4, seed=1)], {"reduction": red}),
        ]
    cases += [
        ("cross_entropy", [r(5), np.array(2)], {}),  # unbatched
        ("smooth_l1_loss", [r(3, 4), r(3, 4, seed=1)], {"beta": 0.0}),
        ("kl_div", [np.log(probs(3, 4)), np.log(probs(3, 4, seed=1))],
         {"reduction": "batchmean", "log_target": True}),
        ("binary_cross_entropy_with_logits", [r(3, 4), r(3, 4, seed=1, low=0, high=1)],
         {"weight": r(4, seed=3, low=0.5, high=1.5)}),
        ("poisson_nll_loss", [r(3, 4), r(3, 4, seed=1, low=0, high=3)], {"full": True}),
        ("cosine_similarity", [r(3, 4), r(3, 4, seed=1)], {"dim": 1}),
    ]
    return cases


def _to(lib, a, grad):
    if isinstance(a, np.ndarray):
        t = torch.tensor(a) if lib is torch else irgrad.tensor(a)
        if grad and a.dtype == np.float32:
            t.requires_grad_(True)
        return t
    return a


def _has_ignored(arrays, kw):
    t = arrays[1]
    return t.dtype == np.int64 and np.any(t == kw.get("ignore_index", -100))


@pytest.mark.parametrize("ignored", [False, True], ids=["targets", "ignored-targets"])
def test_losses_match_torch_lazy(ignored):
    """All cases in one graph; targets with ignored entries need masking (a separate graph)."""
    import warnings
    warnings.simplefilter("ignore")
    results = []
    for name, arrays, kw in _cases():
        if _has_ignored(arrays, kw) != ignored:
            continue
        tin = [_to(torch, a, k == 0) for k, a in enumerate(arrays)]
        tkw = {k: _to(torch, v, False) for k, v in kw.items()}
        iin = [_to(irgrad, a, k == 0) for k, a in enumerate(arrays)]
        ikw = {k: _to(irgrad, v, False) for k, v in kw.items()}
        tout = getattr(TF, name)(*tin, **tkw)
        iout = getattr(F, name)(*iin, **ikw)
        g = np.random.default_rng(1).standard_normal(tuple(tout.shape)).astype(np.float32)
        (tout * torch.tensor(g)).sum().backward()
        (iout * irgrad.tensor(g)).sum().backward()
        results.append((f"{name}{kw}", tout.detach().numpy(), tin[0].grad.numpy(),
                        iout.detach(), iin[0].grad))
    irgrad.realize(*[x for _, _, _, o, g in results for x in (o, g)])
    bad = []
    for label, tv, tg, iv, ig in results:
        for what, e, g in (("value", tv, iv), ("grad", tg, ig)):
            try:
                np.testing.assert_allclose(g.numpy(), e, rtol=RTOL, atol=ATOL)
            except AssertionError as err:
                bad.append(f"{label} {what}: {str(err)[:300]}")
    assert not bad, "\n".join(bad)


def test_loss_modules_match_torch():
    x, t = r(6, 5), ints(5, 6)
    w = np.linspace(0.5, 2.0, 5).astype(np.float32)
    mods = [
        (lambda m, lib: m.CrossEntropyLoss(weight=lib.tensor(w), label_smoothing=0.1), x, t),
        (lambda m, lib: m.NLLLoss(ignore_index=2), np.log(probs(6, 5)), t),
        (lambda m, lib: m.MSELoss(reduction="sum"), x, r(6, 5, seed=2)),
        (lambda m, lib: m.L1Loss(), x, r(6, 5, seed=2)),
        (lambda m, lib: m.SmoothL1Loss(beta=0.3), x, r(6, 5, seed=2)),
        (lambda m, lib: m.HuberLoss(delta=0.4), x, r(6, 5, seed=2)),
        (lambda m, lib: m.BCELoss(), r(6, 5, low=0.1, high=0.9), r(6, 5, seed=2, low=0, high=1)),
        (lambda m, lib: m.BCEWithLogitsLoss(pos_weight=lib.tensor(w)), x,
         r(6, 5, seed=2, low=0, high=1)),
        (lambda m, lib: m.KLDivLoss(reduction="batchmean"), np.log(probs(6, 5)),
         probs(6, 5, seed=3)),
    ]
    got, exp = [], []
    for make, a, b in mods:
        exp.append(make(torch.nn, torch)(torch.tensor(a), torch.tensor(b)).item())
        got.append(make(nn, irgrad)(irgrad.tensor(a), irgrad.tensor(b)))
    irgrad.realize(*got)
    np.testing.assert_allclose([g.item() for g in got], exp, rtol=RTOL, atol=ATOL)
    sd = nn.BCEWithLogitsLoss(pos_weight=irgrad.ones(3)).state_dict()
    assert list(sd) == ["pos_weight"]


def test_loss_errors_match_torch():
    x = irgrad.tensor(r(2, 5))
    with pytest.raises(IndexError, match=r"^Target 5 is out of bounds\.$"):
        F.cross_entropy(x, irgrad.tensor([1, 5]))
    with pytest.raises(IndexError, match=r"^Target 7 is out of bounds\.$"):
        F.cross_entropy(irgrad.tensor(r(5)), irgrad.tensor(7))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got "
                                           "Int"):
        F.cross_entropy(x, irgrad.tensor([1, 2], dtype=irgrad.int32))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(2\) to match target "
                                         r"batch_size \(3\)\."):
        F.cross_entropy(x, irgrad.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="Target size .* must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, irgrad.tensor(r(2, 4)))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        F.cross_entropy(x, irgrad.tensor(r(2, 4)))
