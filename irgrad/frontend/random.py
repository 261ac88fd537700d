"""Random number generation: `Generator`, the default generator, seeding, and PyTorch's random
tensor functions and in-place samplers (`rand`, `randn`, `randint`, `randperm`, `normal`,
`bernoulli`, `multinomial`, `Tensor.uniform_` / `normal_` / `bernoulli_` / `random_` /
`exponential_`, ...).

A generator is a host-side (seed, offset) pair. Each draw ships that pair to the device as a
fresh int64[2] leaf (a graph input, never an attribute) and advances the offset by one, so
the graph of a training step does not change between steps; the numbers themselves come from
the counter-based Philox ops in `irgrad/ir/ops/random.py` and depend only on (seed, offset,
element position): the same seed gives the same numbers in lazy and eager mode alike. The
streams are not bit-identical to PyTorch's generator (same distributions, other numbers),
and a state from `get_state()` is 16 bytes (seed, offset), not PyTorch's 5056.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from ..errors import fail
from ..ir import dtypes as dt
from ..ir.ops import random as rops
from ..ir.ops.common import cast, const
from ..ir.shapes import as_shape
from .creation import from_host
from .device import device_name
from .tensor import Tensor

_U64 = (1 << 64) - 1
_STATE_BYTES = 16


def _nondeterministic_seed() -> int:
    return int.from_bytes(os.urandom(8), "little")


def _check_seed(seed) -> int:
    if isinstance(seed, Tensor):
        seed = seed.item()
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        fail(TypeError, f"manual_seed expected a long, but got {type(seed).__name__}")
    seed = int(seed.__index__())
    if seed < -(1 << 63) or seed > _U64:
        fail(RuntimeError, f"Overflow when unpacking long long: seed {seed} is outside "
                           f"[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff]")
    return seed & _U64


class Generator:
    """A counter-based generator: a 64-bit seed and a draw counter (the offset)."""

    def __init__(self, device="cpu"):
        self._device = device_name(device)
        self._seed = 67280421310721  # PyTorch's default seed value
        self._offset = 0

    @property
    def device(self):
        from .device import device
        return device(self._device)

    def manual_seed(self, seed) -> "Generator":
        self._seed = _check_seed(seed)
        self._offset = 0
        return self

    def seed(self) -> int:
        s = _nondeterministic_seed()
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        raw = self._seed.to_bytes(8, "little") + self._offset.to_bytes(8, "little")
        return from_host(np.frombuffer(raw, np.uint8).copy(), dt.uint8)

    def set_state(self, new_state) -> "Generator":
        if not isinstance(new_state, Tensor) or new_state.dtype is not dt.uint8:
            fail(TypeError, "expected a torch.ByteTensor (irgrad uint8 tensor) as the RNG state")
        raw = np.ascontiguousarray(new_state.detach().numpy()).reshape(-1)
        if raw.size != _STATE_BYTES:
            fail(RuntimeError, f"Expected an irgrad generator state of size {_STATE_BYTES} but "
                               f"found the input RNG state size to be {raw.size}")
        self._seed = int.from_bytes(raw[:8].tobytes(), "little")
        self._offset = int.from_bytes(raw[8:].tobytes(), "little")
        return self

    def clone_state(self) -> "Generator":
        g = Generator(self._device)
        g._seed, g._offset = self._seed, self._offset
        return g

    def _key(self, device: str):
        """The (seed, offset) input of one draw, as an int64[2] leaf on `device`."""
        seed = self._seed - (1 << 64) if self._seed >= 1 << 63 else self._seed
        key = from_host(np.array([seed, self._offset], np.int64), dt.int64, device).node
        self._offset += 1
        return key

    def __repr__(self):
        return f"<irgrad.Generator seed={self._seed} offset={self._offset}>"


default_generator = Generator()
default_generator.manual_seed(_nondeterministic_seed())


def manual_seed(seed) -> Generator:
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


# ---- helpers ----------------------------------------------------------------------------------

def _gen(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        fail(TypeError, f"generator must be an irgrad.Generator, not {type(generator).__name__}")
    return generator


def _finish(node, requires_grad=False, out=None) -> Tensor:
    if out is not None:
        return out._assign(node, "out=")
    t = Tensor._from_node(node)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype, kernel):
    d = dt.as_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    if d.category != dt.FLOAT:
        fail(NotImplementedError, f"\"{kernel}\" not implemented for '{_tname(d)}'")
    return d


def _tname(d):
    from ..ir.ops.linalg import tname
    return tname(d)


def _node(x):
    return x.node if isinstance(x, Tensor) else x


def _uniform_node(shape, dtype, generator, device):
    dev = device_name(device)
    return rops.uniform(_gen(generator)._key(dev), shape, dtype, dev)


def _normal_node(shape, dtype, generator, device):
    dev = device_name(device)
    return rops.normal(_gen(generator)._key(dev), shape, dtype, dev)


def _tensor_device(t):
    return t.node.device or "cpu"


# ---- factories --------------------------------------------------------------------------------

def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    d = _float_dtype(dtype, "check_uniform_bounds")
    return _finish(_uniform_node(as_shape(size), d, generator, device), requires_grad, out)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    d = _float_dtype(dtype, "normal_kernel_cpu")
    return _finish(_normal_node(as_shape(size), d, generator, device), requires_grad, out)


def _int_bounds(low, high, d):
    if low >= high:
        fail(RuntimeError, f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    if d.category == dt.INT or d is dt.bool_:
        lo, hi = (0, 1) if d is dt.bool_ else (
            (0, (1 << d.bits) - 1) if not d.is_signed else
            (-(1 << (d.bits - 1)), (1 << (d.bits - 1)) - 1))
        from ..ir.ops.linalg import CPP_NAME
        if low < lo or low > hi:
            fail(RuntimeError, f"from is out of bounds for {CPP_NAME[d.name]}")
        if high - 1 > hi or high - 1 < lo:
            fail(RuntimeError, f"to - 1 is out of bounds for {CPP_NAME[d.name]}")


def _randint_node(low, high, shape, d, generator, device):
    low, high = int(low), int(high)
    _int_bounds(low, high, d)
    dev = device_name(device)
    return rops.randint(_gen(generator)._key(dev), low, high, shape, d, dev)


def randint(*args, size=None, low=None, high=None, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """randint(high, size) or randint(low, high, size), as in PyTorch."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if size is None or not isinstance(size, (tuple, list)) or len(args) > 2:
        fail(TypeError, "randint() received an invalid combination of arguments - expected "
                        "(int high, tuple of ints size, ...) or (int low, int high, tuple of "
                        "ints size, ...)")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    low = 0 if low is None else low
    if high is None:
        fail(TypeError, "randint() missing required argument 'high'")
    d = dt.as_dtype(dtype) if dtype is not None else dt.int64
    return _finish(_randint_node(low, high, as_shape(size), d, generator, device),
                   requires_grad, out)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None) -> Tensor:
    d = _float_dtype(dtype or input.dtype, "check_uniform_bounds")
    return _finish(_uniform_node(input.shape, d, generator, device or _tensor_device(input)),
                   requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None) -> Tensor:
    d = _float_dtype(dtype or input.dtype, "normal_kernel_cpu")
    return _finish(_normal_node(input.shape, d, generator, device or _tensor_device(input)),
                   requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    d = dt.as_dtype(dtype) if dtype is not None else input.dtype
    return _finish(_randint_node(low, high, input.shape, d, generator,
                                 device or _tensor_device(input)), requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A uniformly random permutation: the stable argsort of 62-bit random keys."""
    from ..ir.ops.elementwise import mul
    from ..ir.ops.sort import argsort
    (n,) = as_shape((n,))
    d = dt.as_dtype(dtype) if dtype is not None else dt.int64
    keys = _randint_node(0, 1 << 62, (n,), dt.int64, generator, device)
    # keys of one or no element: the permutation is the identity (0 or [0]) either way
    perm = argsort(keys) if n > 1 else mul(keys, 0)
    return _finish(cast(perm, d), requires_grad, out)


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """normal(Tensor, Tensor), normal(Tensor, float), normal(float, Tensor) or
    normal(float, float, size). Gradients do not flow into mean and std (as in PyTorch,
    whose gradients for them are zero)."""
    from ..ir.ops.autograd_ops import detach
    from ..ir.ops.elementwise import add, mul
    from ..ir.shapes import broadcast_shapes
    m, s = _node(mean), _node(std)
    tensors = [x for x in (m, s) if hasattr(x, "shape")]
    if not tensors:
        if size is None:
            fail(TypeError, "normal() received an invalid combination of arguments - got "
                            "(float, float), but expected (float mean, float std, tuple of ints"
                            " size, ...)")
        if std < 0:
            fail(RuntimeError, f"normal expects std >= 0.0, but found std {std:g}")
        d = _float_dtype(dtype, "normal_kernel_cpu")
        z = _normal_node(as_shape(size), d, generator, device)
        return _finish(add(mul(z, float(std)), float(mean)), requires_grad, out)
    if not hasattr(s, "shape") and s < 0:
        fail(RuntimeError, f"normal expects std >= 0.0, but found std {s:g}")
    d = tensors[0].dtype
    if d.category != dt.FLOAT:
        fail(NotImplementedError, f"\"normal_kernel_cpu\" not implemented for '{_tname(d)}'")
    shape = broadcast_shapes(*(x.shape for x in tensors))
    dev = tensors[0].device or "cpu"
    z = _normal_node(shape, d, generator, dev)
    m = cast(detach(m), d) if hasattr(m, "shape") else float(m)
    s = cast(detach(s), d) if hasattr(s, "shape") else float(s)
    return _finish(add(mul(z, s), m), False, out)


def _bernoulli_node(shape, p, dtype, generator, device):
    """(u < p) as `dtype`, u uniform in p's precision (p: a float or a float node)."""
    from ..ir.ops.elementwise import lt
    ud = p.dtype if hasattr(p, "dtype") and p.dtype.category == dt.FLOAT else dt.float32
    if ud in (dt.float16, dt.bfloat16):
        ud = dt.float32
    u = _uniform_node(shape, ud, generator, device)
    pv = cast(p, ud) if hasattr(p, "dtype") else const(float(p), ud)
    return cast(lt(u, pv), dtype)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    x = _node(input)
    if x.dtype.category != dt.FLOAT:
        fail(NotImplementedError, f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                  f"'{_tname(x.dtype)}'")
    if p is not None:
        _check_p(p, "bernoulli")
    prob = x if p is None else float(p)
    return _finish(_bernoulli_node(x.shape, prob, x.dtype, generator, x.device or "cpu"),
                   False, out)


def _check_p(p, name):
    if not isinstance(p, Tensor) and not (0 <= p <= 1):
        fail(RuntimeError, f"{name}_ expects p to be in [0, 1], but got p={p}")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Sampling with replacement inverts the CDF; without replacement takes the top keys of
    log(p) + Gumbel noise, which draws the same distribution as sequential sampling."""
    from ..ir.ops.elementwise import log, lt, mul, neg, sub
    from ..ir.ops.movement import reshape
    from ..ir.ops.reduce import sum as reduce_sum
    x = _node(input)
    if x.ndim not in (1, 2):
        fail(RuntimeError, "prob_dist must be 1 or 2 dim")
    if x.dtype.category != dt.FLOAT:
        fail(RuntimeError, f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_tname(x.dtype)}")
    if num_samples <= 0:
        fail(RuntimeError, "cannot sample n_sample <= 0 samples")
    n_cat = x.shape[-1]
    if not replacement and num_samples > n_cat:
        fail(RuntimeError, "cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    rows = x if x.ndim == 2 else reshape(x, (1, n_cat))
    dev = x.device or "cpu"
    if replacement:
        from ..ir.ops.scan import cumsum
        cdf = cumsum(rows, 1)
        total = reduce_sum(rows, (1,), keepdim=True)
        u = _uniform_node((rows.shape[0], num_samples), x.dtype, generator, dev)
        target = mul(reshape(u, u.shape + (1,)), reshape(total, (rows.shape[0], 1, 1)))
        below = cast(lt(reshape(cdf, (rows.shape[0], 1, n_cat)), target), dt.int64)
        idx = reduce_sum(below, (2,))
        from ..ir.ops.elementwise import minimum
        idx = minimum(idx, n_cat - 1)
    else:
        from ..ir.ops.sort import argsort
        from ..ir.ops.movement import slice_dim
        u = _uniform_node(rows.shape, x.dtype, generator, dev)
        gumbel = neg(log(neg(log(sub(1.0, u)))))
        keys = sub(log(rows), neg(gumbel))
        idx = slice_dim(argsort(keys, 1, descending=True), 1, 0, num_samples) \
            if num_samples < n_cat else argsort(keys, 1, descending=True)
    if x.ndim == 1:
        idx = reshape(idx, (num_samples,))
    return _finish(idx, False, out)


# ---- in-place samplers (Tensor methods) ---------------------------------------------------------

def _uniform_(self, *args, generator=None, **kw):
    a = kw.pop("from", kw.pop("a", args[0] if len(args) > 0 else 0.0))
    b = kw.pop("to", kw.pop("b", args[1] if len(args) > 1 else 1.0))
    d = self.dtype
    if d.category != dt.FLOAT:
        fail(NotImplementedError, f"\"check_uniform_bounds\" not implemented for '{_tname(d)}'")
    if a > b:
        fail(RuntimeError, f"uniform_ expects to return a [from, to) range, but found from={a} "
                           f"> to={b}")
    from ..ir.ops.elementwise import add, mul
    u = _uniform_node(self.shape, d, generator, _tensor_device(self))
    return self._assign(add(mul(u, float(b) - float(a)), float(a)), "uniform_")


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    d = self.dtype
    if d.category != dt.FLOAT:
        fail(NotImplementedError, f"\"normal_kernel_cpu\" not implemented for '{_tname(d)}'")
    if std < 0:
        fail(RuntimeError, f"normal expects std >= 0.0, but found std {std:g}")
    from ..ir.ops.elementwise import add, mul
    z = _normal_node(self.shape, d, generator, _tensor_device(self))
    return self._assign(add(mul(z, float(std)), float(mean)), "normal_")


def _bernoulli_(self, p=0.5, *, generator=None):
    _check_p(p, "bernoulli")
    prob = _node(p) if isinstance(p, Tensor) else float(p)
    if hasattr(prob, "shape"):
        from ..ir.ops.movement import expand
        prob = expand(prob, self.shape)
    return self._assign(_bernoulli_node(self.shape, prob, self.dtype, generator,
                                        _tensor_device(self)), "bernoulli_")


def _bernoulli(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


def _random_(self, *args, generator=None, **kw):
    """random_(): [0, 2^mantissa] for floats, [0, max] for ints; random_(to); random_(f, t)."""
    d = self.dtype
    frm = kw.pop("from", None)
    to = kw.pop("to", None)
    if len(args) == 1:
        to = args[0]
    elif len(args) == 2:
        frm, to = args
    frm = 0 if frm is None else int(frm)
    if to is None:
        if d.category == dt.FLOAT:
            bits = {"float32": 24, "float64": 53, "float16": 11, "bfloat16": 8}[d.name]
            to = (1 << bits) + 1
        elif d is dt.bool_:
            to = 2
        else:
            to = (1 << (d.bits - (1 if d.is_signed else 0)))
    node = _randint_node(frm, int(to), self.shape, d if d.category != dt.FLOAT else dt.int64,
                         generator, _tensor_device(self))
    return self._assign(cast(node, d), "random_")


def _exponential_(self, lambd=1.0, *, generator=None):
    d = self.dtype
    if d.category != dt.FLOAT:
        fail(RuntimeError, f"Exponential distribution is a continuous probability distribution."
                           f" dtype must be a floating point but you specified {_tname(d)}")
    if not lambd > 0:
        fail(RuntimeError, f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    from ..ir.ops.elementwise import div, log, neg, sub
    u = _uniform_node(self.shape, d, generator, _tensor_device(self))
    return self._assign(div(neg(log(sub(1.0, u))), float(lambd)), "exponential_")


def _multinomial(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


def install(namespace: dict) -> None:
    """Add the random API to `irgrad` (and `irgrad.random`) and the samplers to Tensor."""
    module = sys.modules[__name__]
    for name in ("Generator", "default_generator", "manual_seed", "seed", "initial_seed",
                 "get_rng_state", "set_rng_state", "rand", "randn", "randint", "rand_like",
                 "randn_like", "randint_like", "randperm", "normal", "bernoulli",
                 "multinomial"):
        namespace[name] = getattr(module, name)
    namespace["random"] = module
    for name, fn in (("uniform_", _uniform_), ("normal_", _normal_),
                     ("bernoulli_", _bernoulli_), ("bernoulli", _bernoulli),
                     ("random_", _random_), ("exponential_", _exponential_),
                     ("multinomial", _multinomial)):
        fn.__name__ = name
        setattr(Tensor, name, fn)

