"""Random numbers: the Philox generator against known answers and its NumPy twin (bit for
bit), reproducibility under manual_seed in lazy and eager mode, generator state, no recompile
across draws, distribution checks (moments and Kolmogorov-Smirnov / chi-square with fixed
seeds), the in-place samplers, and PyTorch's errors."""
import math

import numpy as np
import pytest
import torch

import irgrad
from irgrad.frontend import realize as realize_mod
from irgrad.ir.ops import random as rops


def test_philox_known_answers():
    """Random123's Philox-4x32-10 test vectors (counter, key) -> four words."""
    vectors = [(0, 0, 0, (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
               ((1 << 64) - 1, (1 << 64) - 1, (1 << 64) - 1,
                (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
               (0x85A308D3243F6A88, 0x299F31D0A4093822, 0x0370734413198A2E,
                (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for idx, seed, offset, want in vectors:
        got = rops.philox_np(np.array([idx], np.uint64), seed, offset)
        assert tuple(int(w[0]) for w in got) == want


def _key(seed, offset):
    s = seed - (1 << 64) if seed >= 1 << 63 else seed
    return np.array([s, offset], np.int64)


def test_device_values_equal_the_numpy_generator():
    seed = 0xDEADBEEF12345
    g = irgrad.Generator().manual_seed(seed)
    draws = [irgrad.rand(3, 5, generator=g), irgrad.rand(257, dtype=irgrad.float64, generator=g),
             irgrad.randn(1000, generator=g), irgrad.randn(64, dtype=irgrad.float64, generator=g),
             irgrad.randint(-3, 9, (7, 3), generator=g),
             irgrad.randint(0, 2 ** 63 - 1, (9,), generator=g),
             irgrad.rand(33, dtype=irgrad.float16, generator=g)]
    irgrad.realize(*draws)
    refs = [rops._ref_uniform(_key(seed, 0), (3, 5), irgrad.float32),
            rops._ref_uniform(_key(seed, 1), (257,), irgrad.float64),
            rops._ref_normal(_key(seed, 2), (1000,), irgrad.float32),
            rops._ref_normal(_key(seed, 3), (64,), irgrad.float64),
            rops._ref_randint(_key(seed, 4), (7, 3), -3, 9, irgrad.int64),
            rops._ref_randint(_key(seed, 5), (9,), 0, 2 ** 63 - 1, irgrad.int64),
            rops._ref_uniform(_key(seed, 6), (33,), irgrad.float16)]
    for k in (0, 1, 4, 5, 6):  # exact transforms: bit for bit
        np.testing.assert_array_equal(draws[k].numpy(), refs[k], err_msg=f"draw {k}")
    np.testing.assert_allclose(draws[2].numpy(), refs[2], rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(draws[3].numpy(), refs[3], rtol=1e-13, atol=1e-13)


def _sequence():
    return [irgrad.rand(4, 4), irgrad.randn(10, dtype=irgrad.float64),
            irgrad.randint(0, 100, (5,)), irgrad.randperm(20),
            irgrad.bernoulli(irgrad.full((50,), 0.3)), irgrad.normal(1.0, 2.0, (6,)),
            irgrad.rand_like(irgrad.zeros(3, 2)), irgrad.randn_like(irgrad.zeros(2)),
            irgrad.randint_like(irgrad.zeros(4), 3, 9)]


def test_reproducible_in_lazy_and_eager_mode():
    irgrad.manual_seed(7)
    lazy = _sequence()
    irgrad.realize(*lazy)
    irgrad.manual_seed(7)
    again = _sequence()
    irgrad.realize(*again)
    for a, b in zip(lazy, again):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # eager compiles op by op, so it replays only the first draws of the sequence
    irgrad.manual_seed(7)
    with irgrad.eager():
        eager = [irgrad.rand(4, 4), irgrad.randn(10, dtype=irgrad.float64),
                 irgrad.randint(0, 100, (5,))]
        assert all(t.node.data is not None for t in eager)
    for a, b in zip(lazy, eager):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_draws_differ_and_are_distinct_nodes():
    irgrad.manual_seed(3)
    a, b = irgrad.rand(100), irgrad.rand(100)
    other = irgrad.rand(100, generator=irgrad.Generator().manual_seed(4))
    assert a.node is not b.node
    irgrad.realize(a, b, other)
    assert not np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), other.numpy())


def test_generator_state():
    g = irgrad.Generator()
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    irgrad.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype is irgrad.uint8 and tuple(state.shape) == (16,)
    a = irgrad.rand(10, generator=g)
    g.set_state(state)
    b = irgrad.rand(10, generator=g)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert irgrad.Generator().manual_seed(-1).initial_seed() == 2 ** 64 - 1
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s
    assert irgrad.manual_seed(11) is irgrad.default_generator
    assert irgrad.initial_seed() == 11
    saved = irgrad.get_rng_state()
    c = irgrad.randn(5)
    irgrad.set_rng_state(saved)
    np.testing.assert_array_equal(c.numpy(), irgrad.randn(5).numpy())
    assert irgrad.random.manual_seed is irgrad.manual_seed
    with pytest.raises(RuntimeError, match="state size to be 3"):
        g.set_state(irgrad.zeros(3, dtype=irgrad.uint8))
    with pytest.raises(RuntimeError):
        g.manual_seed(2 ** 64)


def test_training_loop_draws_do_not_recompile():
    x = irgrad.ones(64, 32)
    irgrad.manual_seed(0)

    def step():
        keep = irgrad.rand(64, 32) < 0.5          # a dropout mask
        return (x * keep).sum() / 0.5

    first = step().item()
    compiles = realize_mod.counters["compiles"]
    values = {first} | {step().item() for _ in range(4)}
    assert realize_mod.counters["compiles"] == compiles
    assert len(values) == 5


def _ks(sample, cdf):
    """Kolmogorov-Smirnov statistic times sqrt(n)."""
    x = np.sort(sample.astype(np.float64))
    n = x.size
    c = cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - c), np.max(c - np.arange(n) / n))
    return d * math.sqrt(n)


_norm_cdf = np.vectorize(lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2))))


def test_distributions():
    n = 200_000
    g = irgrad.Generator().manual_seed(2024)
    p = np.linspace(0.05, 0.95, 10).astype(np.float32)
    draws = {
        "u32": irgrad.rand(n, generator=g), "u64": irgrad.rand(n, dtype=irgrad.float64,
                                                              generator=g),
        "n32": irgrad.randn(n, generator=g), "n64": irgrad.randn(n, dtype=irgrad.float64,
                                                                generator=g),
        "int": irgrad.randint(-3, 7, (n,), generator=g),
        "bern": irgrad.bernoulli(irgrad.tensor(np.tile(p, 20_000)), generator=g),
        "exp": irgrad.empty(n).exponential_(2.0, generator=g),
        "normal_mt": irgrad.normal(irgrad.tensor(np.full((n // 2, 2), [1.0, -2.0], np.float32)),
                                   irgrad.tensor(np.array([0.5, 3.0], np.float32)), generator=g),
        "u16": irgrad.rand(20_000, dtype=irgrad.float16, generator=g),
    }
    irgrad.realize(*draws.values())
    v = {k: t.numpy() for k, t in draws.items()}
    for k in ("u32", "u64"):
        assert v[k].min() >= 0 and v[k].max() < 1
        assert abs(v[k].mean() - 0.5) < 4 * math.sqrt(1 / 12 / n)
        assert abs(v[k].var() - 1 / 12) < 0.002
        assert _ks(v[k], lambda x: x) < 1.95
    for k in ("n32", "n64"):
        assert abs(v[k].mean()) < 4 / math.sqrt(n)
        assert abs(v[k].var() - 1) < 0.015
        assert _ks(v[k], _norm_cdf) < 1.95
    counts = np.bincount(v["int"] + 3, minlength=10)
    assert v["int"].min() == -3 and v["int"].max() == 6
    chi2 = ((counts - n / 10) ** 2 / (n / 10)).sum()
    assert chi2 < 27.9  # 9 degrees of freedom, p = 0.001
    freq = v["bern"].reshape(20_000, 10).mean(0)
    assert set(np.unique(v["bern"])) <= {0.0, 1.0}
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / 20_000))
    assert abs(v["exp"].mean() - 0.5) < 4 * 0.5 / math.sqrt(n) and v["exp"].min() >= 0
    assert _ks(v["exp"], lambda x: 1 - np.exp(-2 * x)) < 1.95
    nm = v["normal_mt"]
    assert np.allclose(nm.mean(0), [1.0, -2.0], atol=0.05)
    assert np.allclose(nm.std(0), [0.5, 3.0], rtol=0.02)
    assert v["u16"].dtype == np.float16 and v["u16"].max() < 1 and v["u16"].min() >= 0
    assert abs(v["u16"].astype(np.float64).mean() - 0.5) < 0.01


def test_permutations_and_multinomial():
    g = irgrad.Generator().manual_seed(99)
    perm = irgrad.randperm(5000, generator=g)
    small = [irgrad.randperm(n, generator=g) for n in (0, 1, 2)]
    as_float = irgrad.randperm(6, dtype=irgrad.float32, generator=g)
    probs = np.array([0.1, 0.2, 0.7], np.float32)
    with_repl = irgrad.multinomial(irgrad.tensor(probs), 30_000, True, generator=g)
    rows = irgrad.multinomial(irgrad.tensor(np.tile(probs, (4000, 1))), 2, generator=g)
    irgrad.realize(perm, *small, as_float, with_repl, rows)
    p = perm.numpy()
    assert perm.dtype is irgrad.int64 and np.array_equal(np.sort(p), np.arange(5000))
    assert abs(np.corrcoef(p, np.arange(5000))[0, 1]) < 0.06
    assert np.sum(p == np.arange(5000)) < 10  # fixed points ~ Poisson(1)
    assert [t.numpy().tolist() for t in small] == [[], [0], sorted(small[2].numpy().tolist())]
    assert as_float.dtype is irgrad.float32 and sorted(as_float.numpy()) == list(range(6))
    freq = np.bincount(with_repl.numpy(), minlength=3) / 30_000
    assert np.allclose(freq, probs, atol=0.015)
    r = rows.numpy()
    assert r.shape == (4000, 2) and np.all(r[:, 0] != r[:, 1])
    first = np.bincount(r[:, 0], minlength=3) / 4000
    assert np.allclose(first, probs, atol=0.03)


def test_in_place_samplers():
    g = irgrad.Generator().manual_seed(5)
    u = irgrad.zeros(1000).uniform_(-2, 3, generator=g)
    nrm = irgrad.zeros(20_000, dtype=irgrad.float64).normal_(4.0, 0.5, generator=g)
    b = irgrad.zeros(1000, dtype=irgrad.int64).bernoulli_(0.25, generator=g)
    bt = irgrad.zeros(3, 1000).bernoulli_(irgrad.tensor([[0.0], [1.0], [0.5]]), generator=g)
    r1 = irgrad.zeros(1000, dtype=irgrad.int64).random_(5, generator=g)
    r2 = irgrad.zeros(1000).random_(-3, 3, generator=g)
    r3 = irgrad.zeros(1000, dtype=irgrad.uint8).random_(generator=g)
    r4 = irgrad.zeros(100, dtype=irgrad.bool).random_(generator=g)
    e = irgrad.zeros(1000).exponential_(generator=g)
    x = irgrad.zeros(4, 4)
    view = x[1]
    view.uniform_(generator=g)
    ts = [u, nrm, b, bt, r1, r2, r3, r4, e, x]
    irgrad.realize(*ts)
    assert u.numpy().min() >= -2 and u.numpy().max() < 3 and u.dtype is irgrad.float32
    assert abs(nrm.numpy().mean() - 4) < 0.02 and abs(nrm.numpy().std() - 0.5) < 0.02
    assert b.dtype is irgrad.int64 and set(np.unique(b.numpy())) <= {0, 1}
    assert 0.18 < b.numpy().mean() < 0.32
    bv = bt.numpy()
    assert bv[0].sum() == 0 and bv[1].sum() == 1000 and 400 < bv[2].sum() < 600
    assert set(np.unique(r1.numpy())) == set(range(5))
    assert set(np.unique(r2.numpy())) == set(range(-3, 3)) and r2.dtype is irgrad.float32
    assert r3.numpy().max() > 200 and set(np.unique(r4.numpy())) == {False, True}
    assert e.numpy().min() >= 0 and 0.85 < e.numpy().mean() < 1.15
    xv = x.numpy()
    assert np.all(xv[[0, 2, 3]] == 0) and np.all(xv[1] > 0)


def _errors():
    return [
        ("rand long", lambda m: m.rand(2, dtype=m.long)),
        ("randn long", lambda m: m.randn(2, dtype=m.long)),
        ("randint empty range", lambda m: m.randint(5, 5, (2,))),
        ("randint uint8 low", lambda m: m.randint(-3, 10, (2,), dtype=m.uint8)),
        ("randint uint8 high", lambda m: m.randint(0, 300, (2,), dtype=m.uint8)),
        ("rand negative", lambda m: m.rand(-1)),
        ("randperm negative", lambda m: m.randperm(-1)),
        ("rand_like long", lambda m: m.rand_like(m.ones(2, dtype=m.long))),
        ("uniform_ range", lambda m: m.ones(3).uniform_(2, 1)),
        ("uniform_ long", lambda m: m.ones(3, dtype=m.long).uniform_()),
        ("normal_ std", lambda m: m.ones(3).normal_(0, -1)),
        ("normal std", lambda m: m.normal(0.0, -1.0, (2,))),
        ("exponential_ lambda", lambda m: m.ones(3).exponential_(-1)),
        ("exponential_ long", lambda m: m.ones(3, dtype=m.long).exponential_()),
        ("bernoulli long", lambda m: m.bernoulli(m.ones(3, dtype=m.long))),
        ("random_ range", lambda m: m.ones(3).random_(5, 3)),
        ("multinomial too many", lambda m: m.multinomial(m.tensor([0.2, 0.8]), 3)),
    ]


@pytest.mark.parametrize("label,fn", _errors(), ids=[e[0] for e in _errors()])
def test_errors_match_torch(label, fn):
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(Exception) as got:
        fn(irgrad)
    assert type(got.value) is type(want.value), f"{label}: {got.value!r} vs {want.value!r}"
    assert str(got.value) == str(want.value), f"{label}: {got.value} vs {want.value}"


def test_factory_arguments():
    g = irgrad.Generator().manual_seed(1)
    assert tuple(irgrad.rand((2, 3), generator=g).shape) == (2, 3)
    assert tuple(irgrad.rand([], generator=g).shape) == ()
    assert irgrad.randn(2, dtype=irgrad.float16, generator=g).dtype is irgrad.float16
    assert irgrad.randint(10, (2,), generator=g).dtype is irgrad.int64
    assert irgrad.randint(10, (2,), dtype=irgrad.float32, generator=g).dtype is irgrad.float32
    assert irgrad.randint(low=2, high=4, size=(3,), generator=g).numpy().min() >= 2
    assert irgrad.randint_like(irgrad.ones(2), 5, generator=g).dtype is irgrad.float32
    assert irgrad.rand(2, requires_grad=True).requires_grad
    assert irgrad.normal(irgrad.zeros(3, dtype=irgrad.float64)).dtype is irgrad.float64
    assert irgrad.normal(0.0, irgrad.ones(3)).dtype is irgrad.float32
    out = irgrad.zeros(4)
    assert irgrad.rand(4, out=out, generator=g) is out and out.numpy().max() > 0
    assert irgrad.ones(3).bernoulli(generator=g).numpy().tolist() == [1.0, 1.0, 1.0]
