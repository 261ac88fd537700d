"""`autograd.functional`: vjp, jvp, jacobian, hessian, vhp, hvp (PyTorch's signatures).

All of them are built from `autograd.grad`, so they return lazy Tensors like every other
gradient: a Jacobian is one graph that realizes in one compile. `jvp` uses the double-vjp
trick: with a dummy cotangent u, g(u) = J^T u is linear in u, so d<g(u), v>/du = J v.
"""
from __future__ import annotations

import numpy as np


def _grad(*args, **kwargs):
    from ..frontend.autograd_api import grad
    return grad(*args, **kwargs)


def _as_tuple(x, arg_name, fn_name):
    from ..frontend.tensor import Tensor
    is_tuple = isinstance(x, tuple)
    xs = x if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or "
                                f"a tuple of Tensors but the value at index {i} has type "
                                f"{type(t)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the given {arg_name} has type {type(t)}.")
    return is_tuple, xs


def _post(xs, is_tuple):
    return xs if is_tuple else xs[0]


def _prepare(inputs, create_graph):
    """Fresh leaves for the inputs (or the inputs themselves when building a graph on them)."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t)
        else:
            out.append(_fresh_leaf(t))
    return tuple(out)


def _fresh_leaf(t):
    d = t.detach()
    if d.node.data is None:
        d = d.clone() if hasattr(d, "clone") else d
    return d.requires_grad_(True)


def _zeros(n):
    from ..frontend.tensor import Tensor
    from ..ir.ops.source import full
    return Tensor._from_node(full(n.shape, 0, n.dtype, n.device or "cpu"))


def _fill_none(grads, inputs):
    return tuple(_zeros(x.node) if g is None else g for g, x in zip(grads, inputs))


def _finish(xs, create_graph):
    return tuple(x if create_graph else x.detach() for x in xs)


def _enable_grad():
    from ..frontend.modes import enable_grad
    return enable_grad()


def _check_v(v, outputs, fn_name):
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
        return None
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(outputs):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(outputs)} but got "
                           f"{len(vs)}.")
    for i, (a, b) in enumerate(zip(vs, outputs)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Entry {i} in v has invalid size: should be "
                               f"{tuple(b.shape)} but got {tuple(a.shape)}.")
    return vs


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J)."""
    with _enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph)
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                          "function", "vjp")
        vs = _check_v(v, outputs, "vjp")
        diff = [i for i, o in enumerate(outputs) if o.requires_grad]
        if diff:
            grads = _grad([outputs[i] for i in diff], inputs,
                          None if vs is None else [vs[i] for i in diff],
                          create_graph=create_graph, allow_unused=True)
        else:
            grads = (None,) * len(inputs)
        grads = _fill_none(grads, inputs)
    return (_post(_finish(outputs, create_graph), is_out_tuple),
            _post(_finish(grads, create_graph), is_in_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v), by differentiating a vjp w.r.t. its cotangent."""
    from ..frontend.creation import from_host
    with _enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the "
                                   "user-provided function is a single Tensor with a single "
                                   "element.")
            vs = None
        else:
            vs = _check_v(v, inputs, "jvp")
        inputs = _prepare(inputs, create_graph)
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                          "function", "jvp")
        diff = [o for o in outputs if o.requires_grad]
        if not diff:
            jv = tuple(_zeros(o.node) for o in outputs)
        else:
            dummies = [from_host(np.zeros(o.shape, o.dtype.np or np.float32), o.dtype,
                                 requires_grad=True) for o in diff]
            g_in = _grad(diff, inputs, dummies, create_graph=True, allow_unused=True)
            pairs = [(g, x if vs is None else vs[k]) for k, (g, x) in enumerate(zip(g_in, inputs))
                     if g is not None and g.requires_grad]
            if pairs:
                ones = None if vs is not None else [None] * len(pairs)
                jd = _grad([g for g, _ in pairs], dummies,
                           ones if vs is None else [v_ for _, v_ in pairs],
                           create_graph=create_graph, allow_unused=True)
            else:
                jd = (None,) * len(dummies)
            it = iter(jd)
            jv = tuple(_zeros(o.node) if not o.requires_grad else
                       (lambda g, o=o: _zeros(o.node) if g is None else g)(next(it))
                       for o in outputs)
    return (_post(_finish(outputs, create_graph), is_out_tuple),
            _post(_finish(jv, create_graph), is_out_tuple))


def _onehot(k, shape, like):
    """Node of `shape` (dtype and device of node `like`): 1 at flat position k, else 0."""
    from ..ir import dtypes as dt
    from ..ir.node import make
    from ..ir.ops.common import cast, const
    from ..ir.ops.movement import reshape
    from ..ir.ops.source import arange
    m = int(np.prod(shape, dtype=np.int64))
    hot = cast(make("eq", (arange(0, m, 1, dt.int64, like.device or "cpu"),
                           const(k, dt.int64))), like.dtype)
    return reshape(hot, tuple(shape))


def _assemble(rows, out_node, in_node):
    """Stack m gradient rows (each of the input's shape) into out.shape + in.shape."""
    from ..frontend.tensor import Tensor
    from ..ir.node import make
    from ..ir.ops.movement import reshape
    m, n = out_node.numel, in_node.numel
    shape = tuple(out_node.shape) + tuple(in_node.shape)
    if m == 0 or n == 0:
        return _zeros_shape(shape, in_node)
    onehot_rows = [_onehot(j, (m, 1), in_node) for j in range(m)]
    total = None
    for e, r in zip(onehot_rows, rows):
        term = make("mul", (e, reshape(r.node, (1, n))))
        total = term if total is None else make("add", (total, term))
    return Tensor._from_node(reshape(total, shape))


def _zeros_shape(shape, like):
    from ..frontend.tensor import Tensor
    from ..ir.ops.source import full
    return Tensor._from_node(full(shape, 0, like.dtype, like.device or "cpu"))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """J[i][k] = d outputs[i] / d inputs[k], of shape outputs[i].shape + inputs[k].shape."""
    from ..frontend.tensor import Tensor
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         f'Hint: If your function has the same number of outputs as inputs, '
                         f'you may want to set strategy to "reverse-mode", got {strategy}.')
    with _enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph)
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                          "function", "jacobian")
        jac = []
        for out in outputs:
            rows = [[] for _ in inputs]
            on = out.node
            for j in range(on.numel if out.requires_grad else 0):
                gs = _grad([out], inputs, [Tensor._from_node(_onehot(j, on.shape, on))],
                           retain_graph=True, create_graph=create_graph, allow_unused=True)
                for k, g in enumerate(_fill_none(gs, inputs)):
                    rows[k].append(g)
            jac.append(tuple(
                _assemble(rows[k], on, x.node) if rows[k] else
                _zeros_shape(tuple(on.shape) + tuple(x.shape), x.node)
                for k, x in enumerate(inputs)))
    jac = [tuple(_finish(row, create_graph)) for row in jac]
    if is_out_tuple:
        return tuple(row if is_in_tuple else row[0] for row in jac)
    return jac[0] if is_in_tuple else jac[0][0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """H[i][j] = d^2 func / d inputs[i] d inputs[j] for a scalar-valued func."""
    is_in_tuple, tup = _as_tuple(inputs, "inputs", "hessian")

    def grad_fn(*xs):
        out = func(*xs)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function",
                                       "hessian")
        if is_out_tuple or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element.")
        if not outs[0].requires_grad:
            return tuple(_zeros(x.node) for x in xs)
        gs = _grad(outs[0], xs, create_graph=True, allow_unused=True)
        return _fill_none(gs, xs)

    res = jacobian(grad_fn, tup, create_graph=create_graph)
    if is_in_tuple:
        return res
    return res[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H)."""
    with _enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        vs = _check_v(v, inputs, "vhp") if v is not None else None
        inputs = _prepare(inputs, create_graph)
        _, outs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vhp")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The function given to vhp should return a single Tensor with "
                               "a single element.")
        out = outs[0]
        if vs is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the "
                                   "user-provided function is a single Tensor with a single "
                                   "element.")
        if not out.requires_grad:
            res = tuple(_zeros(x.node) for x in inputs)
        else:
            gs = _grad(out, inputs, create_graph=True, allow_unused=True)
            pairs = [(g, k) for k, g in enumerate(gs) if g is not None and g.requires_grad]
            if pairs:
                hv = _grad([g for g, _ in pairs], inputs,
                           None if vs is None else [vs[k] for _, k in pairs],
                           create_graph=create_graph, allow_unused=True)
            else:
                hv = (None,) * len(inputs)
            res = _fill_none(hv, inputs)
    return (_finish((out,), create_graph)[0], _post(_finish(res, create_graph), is_in_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v); equal to vhp for the symmetric Hessian of a C^2 function."""
    return vhp(func, inputs, v, create_graph, strict)
