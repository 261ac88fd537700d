"""nn.init against PyTorch: gains and fans exactly, deterministic initializers exactly,
random initializers by their distribution (bounds, mean, std), all realized together."""
import math

import numpy as np
import pytest
import torch

import irgrad
import irgrad.nn as nn
from irgrad.nn import init


def test_gains_and_fans_match_torch():
    for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                  ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    w = irgrad.empty(8, 3, 5, 5)
    tw = torch.empty(8, 3, 5, 5)
    assert init._calculate_fan_in_and_fan_out(w) == \
        torch.nn.init._calculate_fan_in_and_fan_out(tw)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        init.xavier_uniform_(irgrad.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(irgrad.empty(3, 4), mode="fan_avg")


def test_initializers_distributions():
    irgrad.manual_seed(0)
    shape = (300, 400)
    fan_in, fan_out = 400, 300
    t = {name: irgrad.empty(*shape) for name in
         ("uniform", "normal", "xu", "xn", "ku", "kn", "trunc", "const", "ones", "zeros",
          "eye")}
    init.uniform_(t["uniform"], -0.5, 1.5)
    init.normal_(t["normal"], 2.0, 0.5)
    init.xavier_uniform_(t["xu"], gain=2.0)
    init.xavier_normal_(t["xn"])
    init.kaiming_uniform_(t["ku"], a=math.sqrt(5))
    init.kaiming_normal_(t["kn"], mode="fan_out", nonlinearity="relu")
    init.trunc_normal_(t["trunc"], mean=0.5, std=1.0, a=-1.0, b=1.5)
    init.constant_(t["const"], 0.25)
    init.ones_(t["ones"])
    init.zeros_(t["zeros"])
    init.eye_(t["eye"])
    irgrad.realize(*t.values())
    v = {k: x.numpy() for k, x in t.items()}
    assert v["uniform"].min() >= -0.5 and v["uniform"].max() <= 1.5
    assert abs(v["uniform"].mean() - 0.5) < 0.02
    assert abs(v["normal"].mean() - 2.0) < 0.01 and abs(v["normal"].std() - 0.5) < 0.01
    bound = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    assert v["xu"].max() <= bound and v["xu"].min() >= -bound
    assert abs(v["xu"].std() - bound / math.sqrt(3)) < 0.01 * bound
    assert abs(v["xn"].std() - math.sqrt(2.0 / (fan_in + fan_out))) < 2e-3
    kb = 1 / math.sqrt(fan_in)  # gain sqrt(2/(1+5)) * sqrt(3/fan_in)
    assert v["ku"].max() <= kb and v["ku"].min() >= -kb and v["ku"].max() > 0.99 * kb
    assert abs(v["kn"].std() - math.sqrt(2.0 / fan_out)) < 2e-3
    assert v["trunc"].min() >= -1.0 and v["trunc"].max() <= 1.5
    ref = torch.nn.init.trunc_normal_(torch.empty(shape), mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert abs(v["trunc"].mean() - ref.mean().item()) < 0.02
    assert abs(v["trunc"].std() - ref.std().item()) < 0.02
    assert np.all(v["const"] == 0.25) and np.all(v["ones"] == 1) and np.all(v["zeros"] == 0)
    np.testing.assert_array_equal(v["eye"], np.eye(*shape))


def test_deterministic_initializers_and_orthogonal():
    w = irgrad.empty(4, 2, 3, 3)
    tw = torch.empty(4, 2, 3, 3)
    init.dirac_(w, groups=2)
    torch.nn.init.dirac_(tw, groups=2)
    np.testing.assert_array_equal(w.numpy(), tw.numpy())
    q = irgrad.empty(5, 3)
    init.orthogonal_(q, gain=2.0)
    qn = q.numpy()
    np.testing.assert_allclose(qn.T @ qn, 4.0 * np.eye(3), atol=1e-5)


def test_parameters_stay_parameters_after_init():
    lin = nn.Linear(3, 2)
    w = lin.weight
    init.xavier_uniform_(lin.weight)
    init.zeros_(lin.bias)
    assert lin.weight is w and isinstance(w, nn.Parameter) and w.requires_grad
    assert np.all(lin.bias.detach().numpy() == 0)


def test_default_layer_initialization_bounds():
    """Linear/Conv weights and biases lie in PyTorch's default bounds (1/sqrt(fan_in))."""
    irgrad.manual_seed(1)
    layers = [nn.Linear(50, 40), nn.Conv2d(4, 6, 3), nn.ConvTranspose2d(4, 6, 3),
              nn.Embedding(30, 8, padding_idx=3)]
    irgrad.realize(*[p for m in layers for p in m.parameters()])
    for m in layers[:3]:
        fan_in = init._calculate_fan_in_and_fan_out(m.weight)[0]
        b = 1 / math.sqrt(fan_in)
        w, bias = m.weight.detach().numpy(), m.bias.detach().numpy()
        assert np.abs(w).max() <= b and np.abs(w).max() > 0.8 * b
        assert np.abs(bias).max() <= b
    emb = layers[3].weight.detach().numpy()
    assert np.all(emb[3] == 0) and abs(emb.std() - 1.0) < 0.2
