"""`autograd.gradcheck` / `gradgradcheck`: analytical vs finite-difference Jacobians.

The analytical Jacobian comes from the engine (one vjp per output element, all realized in
one graph); the numerical one from central differences, evaluating `func` on perturbed
copies of the inputs (same graph structure each time, so one compile and cheap runs).
Use float64 inputs, as with PyTorch.
"""
from __future__ import annotations

import warnings

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical gradients disagree."""


def _tensor_cls():
    from ..frontend.tensor import Tensor
    return Tensor


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _outputs(func, inputs):
    Tensor = _tensor_cls()
    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]


def _host(t):
    return t.detach().numpy().astype(np.float64)


def _numerical(func, inputs, diff, eps):
    """J[o][k] as arrays of shape (out.numel, in.numel)."""
    from ..frontend.creation import from_host
    Tensor = _tensor_cls()
    base = [_host(t) if isinstance(t, Tensor) else t for t in inputs]

    def evaluate(k=None, values=None):
        args = [from_host(b, t.dtype, requires_grad=t.requires_grad)
                if isinstance(t, Tensor) else b for b, t in zip(base, inputs)]
        if k is not None:
            args[k] = from_host(values, inputs[k].dtype, requires_grad=True)
        return [_host(o).reshape(-1) for o in _outputs(func, args)]

    outs0 = evaluate()
    jac = [[np.zeros((o.size, inputs[k].numel())) for k in diff] for o in outs0]
    for kk, k in enumerate(diff):
        flat = base[k].reshape(-1)
        for e in range(flat.size):
            vals = []
            for sign in (1.0, -1.0):
                pert = flat.copy()
                pert[e] += sign * eps
                vals.append(evaluate(k, pert.reshape(base[k].shape)))
            for oi in range(len(outs0)):
                jac[oi][kk][:, e] = (vals[0][oi] - vals[1][oi]) / (2 * eps)
    return jac


def _analytical(func, inputs, diff):
    from ..frontend.autograd_api import grad
    from .functional import _onehot
    Tensor = _tensor_cls()
    outs = _outputs(func, inputs)
    rows = []
    for o in outs:
        per_out = []
        if o.requires_grad and o.dtype.is_floating_point:
            for j in range(o.numel()):
                gs = grad(o, [inputs[k] for k in diff],
                          Tensor._from_node(_onehot(j, o.node.shape, o.node)),
                          retain_graph=True, allow_unused=True)
                per_out.append(gs)
        rows.append((o, per_out))
    import irgrad
    irgrad.realize(*[g for _, per in rows for gs in per for g in gs if g is not None])
    jac = []
    for o, per in rows:
        mats = [np.zeros((o.numel(), inputs[k].numel())) for k in diff]
        for j, gs in enumerate(per):
            for kk, g in enumerate(gs):
                if g is not None:
                    mats[kk][j] = _host(g).reshape(-1)
        jac.append(mats)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """True if the engine's gradients of `func` at `inputs` match finite differences."""
    Tensor = _tensor_cls()
    inputs = _as_tuple(inputs)
    diff = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for k in diff:
        if inputs[k].dtype.name != "float64":
            warnings.warn(f"Input #{k} requires gradient and is not a double precision "
                          "floating point. This check will likely fail if all the inputs "
                          "are not of double precision floating point. ")
    analytical = _analytical(func, inputs, diff)
    numerical = _numerical(func, inputs, diff, eps)
    for oi, (arow, nrow) in enumerate(zip(analytical, numerical)):
        for kk, (a, n) in enumerate(zip(arow, nrow)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {oi} with respect to input "
                                     f"{diff[kk]},\nnumerical:{n}\nanalytical:{a}\n")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """gradcheck of the gradient: checks second derivatives (the engine run on its own
    gradient graph) against finite differences of the first."""
    from ..frontend.autograd_api import grad
    from ..frontend.creation import from_host
    Tensor = _tensor_cls()
    inputs = _as_tuple(inputs)
    diff = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(from_host(rng.standard_normal(tuple(o.shape)), o.dtype,
                                       requires_grad=True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_order(*args):
        xs, vs = args[:n_in], args[n_in:]
        ys = _outputs(func, xs)
        gs = grad(ys, [xs[k] for k in diff], list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_order, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
