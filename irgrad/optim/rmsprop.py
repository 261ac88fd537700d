"""RMSprop (with momentum, centering, weight decay, maximize)."""
from __future__ import annotations

from .optimizer import (Optimizer, add, check_lr, check_nonneg, div, lerp, mul, neg, sqrt, sub,
                        zeros_state)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """PyTorch's RMSprop; all state starts at zeros, so every step runs the same graph."""

    _counts_steps = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_lr(lr)
        check_nonneg("epsilon", eps)
        check_nonneg("momentum", momentum)
        check_nonneg("weight_decay", weight_decay)
        check_nonneg("alpha", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        st = {"square_avg": zeros_state(p)}
        if group["momentum"] > 0:
            st["momentum_buffer"] = zeros_state(p)
        if group["centered"]:
            st["grad_avg"] = zeros_state(p)
        return st

    def _state_node(self, param, st, name):
        n = st.get(name)
        if n is None:
            self.state[param][name] = zeros_state(param)
            n = self.state[param][name].node
        return n

    def _update(self, param, p, g, st, group, scalar):
        alpha, wd, momentum = group["alpha"], group["weight_decay"], group["momentum"]
        if group["maximize"]:
            g = neg(g)
        if wd != 0:
            g = add(g, mul(scalar("weight_decay", wd), p))
        sq = add(mul(st["square_avg"], scalar("alpha", alpha)),
                 mul(scalar("one_minus_alpha", 1.0 - alpha), mul(g, g)))
        new_state = {"square_avg": sq}
        if group["centered"]:
            ga = lerp(self._state_node(param, st, "grad_avg"), g,
                      scalar("one_minus_alpha", 1.0 - alpha), 1.0 - alpha)
            new_state["grad_avg"] = ga
            avg = sqrt(sub(sq, mul(ga, ga)))
        else:
            avg = sqrt(sq)
        avg = add(avg, scalar("eps", group["eps"]))
        lr = scalar("lr", group["lr"])
        if momentum > 0:
            buf = add(mul(self._state_node(param, st, "momentum_buffer"),
                          scalar("momentum", momentum)), div(g, avg))
            new_state["momentum_buffer"] = buf
            new_p = sub(p, mul(lr, buf))
        else:
            new_p = sub(p, div(mul(lr, g), avg))
        return new_p, new_state
