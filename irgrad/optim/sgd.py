"""Stochastic gradient descent with momentum, dampening, Nesterov, weight decay, maximize."""
from __future__ import annotations

from ..errors import fail
from .optimizer import Optimizer, add, check_lr, check_nonneg, mul, neg, sub, zeros_state

__all__ = ["SGD"]


class SGD(Optimizer):
    """PyTorch's SGD. The momentum buffer starts as zeros and, on its first step, is set
    through the same graph as later steps (buf = 0*buf + 1*grad), so the first step does not
    compile a graph of its own; the result equals PyTorch's `buf = grad.clone()`."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        check_lr(lr)
        check_nonneg("momentum", momentum)
        check_nonneg("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            fail(ValueError, "Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        self._fresh = set()   # ids of parameters whose momentum buffer has never been used
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {}

    def _update(self, param, p, g, st, group, scalar):
        if group["maximize"]:
            g = neg(g)
        wd = group["weight_decay"]
        if wd != 0:
            g = add(g, mul(scalar("weight_decay", wd), p))
        momentum = group["momentum"]
        new_state = {}
        if momentum != 0:
            pstate = self.state[param]
            buf = st.get("momentum_buffer")
            if buf is None:
                pstate["momentum_buffer"] = zeros_state(param)
                buf = pstate["momentum_buffer"].node
                self._fresh.add(id(param))
            fresh = id(param) in self._fresh
            self._fresh.discard(id(param))
            keep = scalar("buffer_decay", 0.0 if fresh else momentum)
            gain = scalar("grad_gain", 1.0 if fresh else 1.0 - group["dampening"])
            buf = add(mul(buf, keep), mul(g, gain))
            new_state["momentum_buffer"] = buf
            if group["nesterov"]:
                g = add(g, mul(scalar("momentum", momentum), buf))
            else:
                g = buf
        new_p = sub(p, mul(scalar("lr", group["lr"]), g))
        return new_p, new_state
