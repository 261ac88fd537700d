"""nn.Module behaviours against PyTorch: registration, traversal, state_dict keys and order,
load_state_dict (results and error text), modes, hooks, conversions, printing, containers.

Most checks need no compiled graph; value checks are batched into one realization.
"""
import copy

import numpy as np
import pytest
import torch

import irgrad
import irgrad.nn as nn
from irgrad.frontend.realize import counters


def tensors_from(torch_sd):
    return {k: irgrad.tensor(v.detach().numpy()) for k, v in torch_sd.items()}


def build_pair(make):
    """The same architecture built by `make(nn_module)` in torch and in irgrad."""
    torch.manual_seed(0)
    return make(torch.nn), make(nn)


def mlp(m):
    return m.Sequential(m.Linear(4, 8), m.ReLU(), m.Linear(8, 3))


def cnn(m):
    return m.Sequential(m.Conv2d(3, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                        m.MaxPool2d(2), m.Flatten(), m.Linear(16, 5))


def block(m):
    return m.TransformerEncoderLayer(8, 2, 16, dropout=0.0)


class Net:
    """A user-style model with nested children, a buffer and a ModuleDict/ModuleList."""

    @staticmethod
    def make(m):
        class Model(m.Module):
            def __init__(self):
                super().__init__()
                self.embed = m.Embedding(10, 4, padding_idx=0)
                self.blocks = m.ModuleList([m.Linear(4, 4) for _ in range(2)])
                self.heads = m.ModuleDict({"a": m.Linear(4, 2), "b": m.LayerNorm(4)})
                self.register_buffer("scale", (torch if m is torch.nn else irgrad).ones(4))
                self.register_buffer("cache", (torch if m is torch.nn else irgrad).zeros(2),
                                     persistent=False)
                self.gamma = m.Parameter((torch if m is torch.nn else irgrad).ones(4))

            def forward(self, x):
                return x
        return Model()


@pytest.mark.parametrize("make", [mlp, cnn, block, Net.make])
def test_state_dict_keys_and_shapes_match_torch(make):
    tm, im = build_pair(make)
    tsd, isd = tm.state_dict(), im.state_dict()
    assert list(tsd.keys()) == list(isd.keys())
    for k in tsd:
        assert tuple(tsd[k].shape) == tuple(isd[k].shape), k
        assert str(tsd[k].dtype).split(".")[1] == isd[k].dtype.name, k
    assert [n for n, _ in tm.named_parameters()] == [n for n, _ in im.named_parameters()]
    assert [n for n, _ in tm.named_buffers()] == [n for n, _ in im.named_buffers()]
    assert [n for n, _ in tm.named_modules()] == [n for n, _ in im.named_modules()]
    assert [n for n, _ in tm.named_children()] == [n for n, _ in im.named_children()]
    assert len(list(tm.parameters())) == len(list(im.parameters()))


@pytest.mark.parametrize("make", [mlp, cnn, block])
def test_repr_matches_torch(make):
    tm, im = build_pair(make)
    assert repr(im) == repr(tm)


def test_layer_reprs_match_torch():
    def layers(m):
        return [m.Linear(3, 4, bias=False), m.Conv1d(2, 3, 3), m.Conv2d(3, 4, 3),
                m.Conv2d(3, 4, (3, 5), stride=2, padding=1, dilation=2, groups=1, bias=False,
                         padding_mode="reflect"),
                m.Conv2d(4, 4, 3, padding="same", groups=2),
                m.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1),
                m.MaxPool2d(2), m.MaxPool2d(3, 2, 1, ceil_mode=True), m.AvgPool2d(2),
                m.AdaptiveAvgPool2d((1, 1)), m.AdaptiveAvgPool2d(3),
                m.BatchNorm1d(3, affine=False), m.BatchNorm2d(4, momentum=None),
                m.LayerNorm(4), m.LayerNorm((2, 3), elementwise_affine=False),
                m.GroupNorm(2, 4), m.Dropout(), m.Dropout(0.2, inplace=True), m.Dropout2d(),
                m.Embedding(10, 3, padding_idx=0), m.Flatten(), m.Flatten(0, 2),
                m.Unflatten(1, (2, 3)), m.Identity(), m.ReLU(), m.ReLU(inplace=True),
                m.GELU(), m.GELU("tanh"), m.SiLU(), m.Tanh(), m.Sigmoid(), m.Softmax(dim=1),
                m.LogSoftmax(1), m.LeakyReLU(), m.LeakyReLU(0.2, True), m.ELU(),
                m.Softplus(beta=2.0), m.Hardtanh(), m.ReLU6(), m.PReLU(), m.Mish(),
                m.CrossEntropyLoss(), m.MSELoss(), m.L1Loss(), m.NLLLoss(), m.BCELoss(),
                m.BCEWithLogitsLoss(), m.SmoothL1Loss(beta=0.5), m.HuberLoss(),
                m.KLDivLoss(), m.MultiheadAttention(8, 2),
                m.MultiheadAttention(8, 2, kdim=4, vdim=6, batch_first=True)]
    tl, il = build_pair(layers)
    for t, i in zip(tl, il):
        assert repr(i) == repr(t)


def test_load_torch_state_dict_and_errors():
    tm, im = build_pair(mlp)
    keys = im.load_state_dict(tensors_from(tm.state_dict()))
    assert repr(keys) == "<All keys matched successfully>"
    assert keys.missing_keys == [] and keys.unexpected_keys == []
    # RELIABILITY case 32: shape mismatch.
    lin = nn.Linear(20, 5)
    with pytest.raises(RuntimeError) as e:
        lin.load_state_dict({"weight": irgrad.zeros(5, 10), "bias": irgrad.zeros(5)})
    assert str(e.value) == (
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a "
        "param with shape irgrad.Size([5, 10]) from checkpoint, the shape in current model is "
        "irgrad.Size([5, 20]).")
    # RELIABILITY case 33: missing key.
    with pytest.raises(RuntimeError) as e:
        lin.load_state_dict({"weight": irgrad.zeros(5, 20)})
    assert str(e.value) == ('Error(s) in loading state_dict for Linear:\n\tMissing key(s) in '
                            'state_dict: "bias". ')
    with pytest.raises(RuntimeError) as e:
        lin.load_state_dict({"weight": irgrad.zeros(5, 10), "x": irgrad.zeros(1)})
    assert str(e.value) == (
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
        '\n\tUnexpected key(s) in state_dict: "x". \n\tsize mismatch for weight: copying a '
        'param with shape irgrad.Size([5, 10]) from checkpoint, the shape in current model is '
        'irgrad.Size([5, 20]).')
    r = lin.load_state_dict({"weight": irgrad.zeros(5, 20), "x": irgrad.zeros(1)},
                            strict=False)
    assert r.missing_keys == ["bias"] and r.unexpected_keys == ["x"]
    assert repr(r) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['x'])"
    with pytest.raises(TypeError):
        lin.load_state_dict([1, 2])


def test_loaded_model_matches_torch_outputs():
    """A torch model's state dict (through numpy) loads unchanged and gives its outputs."""
    before = counters["compiles"]
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    tm, im = build_pair(cnn)
    tm.eval()
    im.eval()
    im.load_state_dict(tensors_from(tm.state_dict()))
    out = im(irgrad.tensor(x))
    expected = tm(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    assert counters["compiles"] - before <= 2


def test_bn_checkpoint_without_num_batches_tracked_loads():
    bn = nn.BatchNorm2d(3)
    sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert repr(bn.load_state_dict(sd)) == "<All keys matched successfully>"


def test_registration_rules_and_messages():
    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"cannot assign 'irgrad.FloatTensor' as parameter "
                                        r"'weight' \(torch.nn.Parameter or None expected\)"):
        m.weight = irgrad.zeros(3, 2)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'zzz'"):
        m.zzz
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", irgrad.zeros(1))
    with pytest.raises(KeyError):
        m.register_buffer("a.b", irgrad.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'ab'"):
        m.register_buffer("ab", 3)
    with pytest.raises(TypeError, match="to parameter 'ab'"):
        m.register_parameter("ab", irgrad.zeros(1))
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(1)
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("a")
    m.bias = None
    assert m.bias is None and "bias" in m._parameters
    m.extra = nn.Parameter(irgrad.ones(2))
    assert [n for n, _ in m.named_parameters()] == ["weight", "extra"]
    m.register_buffer("buf", irgrad.ones(2))
    m.buf = irgrad.zeros(2)
    assert "buf" in m._buffers
    m.child = nn.ReLU()
    assert list(m._modules) == ["child"]
    del m.child
    assert list(m._modules) == []
    assert "buf" in dir(m) and "extra" in dir(m)


def test_traversal_prefix_recurse_and_duplicates():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in seq.named_parameters(prefix="m")] == ["m.0.weight", "m.0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert list(seq.named_parameters(recurse=False)) == []
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert list(seq.state_dict().keys()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert seq.get_submodule("0") is shared
    assert seq.get_parameter("0.weight") is shared.weight
    with pytest.raises(AttributeError, match="Sequential has no attribute `a`"):
        seq.get_submodule("a")


def test_modes_apply_zero_grad_requires_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    assert m.training and m[1].training
    assert m.eval() is m and not m[1].training
    m.train()
    assert m[1].training
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "Dropout", "Sequential"]
    m.requires_grad_(False)
    assert all(not p.requires_grad for p in m.parameters())
    m.requires_grad_()
    p = m[0].weight
    p.grad = irgrad.ones(2, 2)
    m.zero_grad(set_to_none=False)
    assert p.grad is not None
    m.zero_grad()
    assert p.grad is None


def test_hooks():
    m = nn.Identity()
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
    h3 = m.register_forward_pre_hook(lambda mod, args, kwargs: calls.append("kw"),
                                     with_kwargs=True, prepend=True)
    x = irgrad.ones(2)
    y = m(x)
    assert calls == ["kw", "post"]
    h1.remove()
    h2.remove()
    h3.remove()
    z = m(x)
    assert z is x
    assert np.allclose(y.numpy(), 3.0)


def test_conversions_keep_parameter_objects():
    m = nn.Linear(2, 3)
    w = m.weight
    m.double()
    assert m.weight is w and w.dtype == irgrad.float64 and w.requires_grad
    assert isinstance(w, nn.Parameter)
    m.to(irgrad.float32)
    assert m.weight is w and w.dtype == irgrad.float32
    bn = nn.BatchNorm1d(2).double()
    assert bn.running_mean.dtype == irgrad.float64
    assert bn.num_batches_tracked.dtype == irgrad.int64


def test_parameter_basics():
    p = nn.Parameter(irgrad.ones(2))
    assert isinstance(p, nn.Parameter) and isinstance(p, irgrad.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert repr(p) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    q = nn.Parameter(irgrad.ones(2), requires_grad=False)
    assert repr(q) == "Parameter containing:\ntensor([1., 1.])"
    r = copy.deepcopy(p)
    assert isinstance(r, nn.Parameter) and r is not p and r.requires_grad
    assert np.array_equal(r.detach().numpy(), p.detach().numpy())
    with pytest.raises(RuntimeError):
        nn.Parameter(irgrad.arange(3))


def test_deepcopy_module():
    m = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 2)
    keys = list(m.state_dict().keys())
    assert keys[:2] == ["layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias"]
    a, b = m.layers[0].linear1.weight, m.layers[1].linear1.weight
    assert a is not b


def test_sequential_and_containers():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    s = nn.Sequential(a, b)
    assert len(s) == 2 and s[0] is a and s[-1] is b
    assert isinstance(s[0:1], nn.Sequential) and len(s[0:1]) == 1
    s.append(c)
    assert list(s) == [a, b, c]
    del s[0]
    assert list(s._modules) == ["0", "1"] and s[0] is b
    s.insert(0, a)
    assert list(s) == [a, b, c]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        s[5]
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert list(named._modules) == ["first", "second"]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(ml) == repr(torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] +
                                                [torch.nn.ReLU()]))
    assert len(ml) == 4 and len(ml[1:]) == 3
    ml.append(nn.Tanh())
    assert len(ml) == 5
    md = nn.ModuleDict({"x": a, "y": b})
    assert list(md.keys()) == ["x", "y"] and md["y"] is b and "x" in md
    md["z"] = c
    assert len(md) == 3
    pl = nn.ParameterList([nn.Parameter(irgrad.ones(2)), irgrad.zeros(3)])
    assert isinstance(pl[1], nn.Parameter) and len(pl) == 2


def test_linear_error_names_module_and_size():
    lin = nn.Linear(20, 5)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(4x10 and 20x5\).*in_features=20.*10"):
        lin(irgrad.zeros(4, 10))
