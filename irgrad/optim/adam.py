"""Adam (with amsgrad, maximize, and L2 or decoupled weight decay)."""
from __future__ import annotations

import math

from ..errors import fail
from ..frontend.tensor import Tensor
from .optimizer import (Optimizer, add, check_lr, check_nonneg, div, lerp, maximum, mul, neg,
                        sqrt, sub, zeros_state)

__all__ = ["Adam"]


def check_betas(betas):
    for i, b in enumerate(betas):
        if not isinstance(b, Tensor) and not 0.0 <= b < 1.0:
            fail(ValueError, f"Invalid beta parameter at index {i}: {b}")


class Adam(Optimizer):
    """PyTorch's Adam. The bias corrections depend on the step count, so they are computed
    on the host in double precision (as PyTorch does) and enter the graph as inputs."""

    _counts_steps = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_lr(lr)
        check_nonneg("epsilon", eps)
        check_betas(betas)
        check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        st = {"exp_avg": zeros_state(p), "exp_avg_sq": zeros_state(p)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = zeros_state(p)
        return st

    def _update(self, param, p, g, st, group, scalar):
        step = st["step"]
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = (float(b.item()) if isinstance(b, Tensor) else float(b)
                        for b in group["betas"])
        if group["maximize"]:
            g = neg(g)
        if wd != 0:
            if group.get("decoupled_weight_decay", False):
                if isinstance(lr, Tensor):
                    p = mul(p, sub(1.0, mul(scalar("lr", lr), scalar("weight_decay", wd))))
                else:
                    p = mul(p, scalar("decay", 1.0 - lr * wd))
            else:
                g = add(g, mul(scalar("weight_decay", wd), p))
        m = lerp(st["exp_avg"], g, scalar("one_minus_beta1", 1.0 - beta1), 1.0 - beta1)
        v = add(mul(st["exp_avg_sq"], scalar("beta2", beta2)),
                mul(scalar("one_minus_beta2", 1.0 - beta2), mul(g, g)))
        bias_correction1 = 1.0 - beta1 ** step
        bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
        if isinstance(lr, Tensor):
            step_size = div(scalar("lr", lr), scalar("bias_correction1", bias_correction1))
        else:
            step_size = scalar("step_size", lr / bias_correction1)
        new_state = {"exp_avg": m, "exp_avg_sq": v}
        second = v
        if group["amsgrad"]:
            vmax = st.get("max_exp_avg_sq")
            if vmax is None:
                self.state[param]["max_exp_avg_sq"] = zeros_state(param)
                vmax = self.state[param]["max_exp_avg_sq"].node
            second = maximum(vmax, v)
            new_state["max_exp_avg_sq"] = second
        denom = add(div(sqrt(second), scalar("bias_correction2_sqrt", bias_correction2_sqrt)),
                    scalar("eps", eps))
        new_p = sub(p, div(mul(step_size, m), denom))
        return new_p, new_state
