"""The Optimizer base: param groups, state, state_dict, and the compiled update step.

`step()` builds every parameter's new value and new optimizer state as lazy nodes under
`no_grad`, then realizes all of them (with the gradients and any tensor registered through
`realize_with_next_step`, such as the loss) in ONE `realize` call: forward, backward and
update become one graph, compiled once and cached. Afterwards each parameter is rebound to a
leaf holding its new buffer; nothing travels to the host.

Hyperparameters are graph inputs, never constants: each float hyperparameter of a group
(lr, momentum, betas, eps, weight decay, bias corrections...) is a small device tensor kept
in a slot keyed by (group, name, dtype, device) and re-uploaded only when its value changes.
So a learning-rate schedule changes input values, not the graph, and never recompiles. Only
structural choices (momentum on/off, nesterov, amsgrad, weight decay zero or not) pick a
different graph, as they pick different code in PyTorch.
"""
from __future__ import annotations

import copy
from collections import defaultdict

import numpy as np

from ..errors import fail
from ..frontend.tensor import Tensor
from ..ir import dtypes as dt
from ..ir.node import leaf
from ..ir.ops import elementwise as ew
from ..ir.state import state as _ir_state

__all__ = ["Optimizer", "required", "realize_with_next_step"]


class _RequiredParameter:
    """Singleton marking a hyperparameter that has no default (like torch.optim's)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def realize_with_next_step(*tensors) -> None:
    """Ask the next realization (normally `Optimizer.step()`) to compute these too.

    `backward()` does this for its root (the loss), so `loss.item()` after `step()` reads a
    value computed by the training step's single graph instead of running the forward again.
    """
    from ..frontend import realize
    for t in tensors:
        if isinstance(t, Tensor):
            realize.want(t.node)


# ---- node-level math used by the update rules ------------------------------------------------

def sqrt(x):
    """Square root of a float node (the unary family's op when it is registered)."""
    try:
        from ..ir.ops import unary
        fn = getattr(unary, "sqrt", None)
    except ImportError:
        fn = None
    if fn is not None:
        return fn(x)
    # Fallback until the unary family lands: exp(log(x)/2) with sqrt(0) = 0.
    pos = ew.gt(x, 0.0)
    safe = ew.where(pos, x, 1.0)
    return ew.where(pos, ew.exp(ew.mul(ew.log(safe), 0.5)), 0.0)


add, sub, mul, div, maximum, neg = ew.add, ew.sub, ew.mul, ew.div, ew.maximum, ew.neg


def lerp(a, b, w, w_value: float):
    """PyTorch's lerp(a, b, w): a + w*(b-a) for w < 0.5, else b - (b-a)*(1-w)."""
    if w_value < 0.5:
        return add(a, mul(w, sub(b, a)))
    return sub(b, mul(sub(b, a), sub(1.0, w)))


class _Scalars:
    """Device tensors for the scalar hyperparameters of one optimizer, one per slot."""

    def __init__(self):
        self._slots = {}

    def get(self, slot, value, dtype, device):
        """The node holding `value` for `slot`; uploaded only when the value changed."""
        if isinstance(value, Tensor):
            n = value.node
            return ew.cast(n, dtype) if n.dtype is not dtype else n
        key = (slot, dtype.name, device)
        v = float(value)
        hit = self._slots.get(key)
        # Compare bit patterns so that 0.0/-0.0 and NaN are distinct values too.
        if hit is not None and hit[0] == v.hex():
            return hit[1].node
        from ..frontend.creation import from_host
        t = from_host(np.asarray(v, dtype=dt.numpy_dtype(dtype)), dtype, device)
        self._slots[key] = (v.hex(), t)
        return t.node


def _to_state_tensor(value, like: Tensor, keep_dtype=False):
    """A loaded state value as a tensor on the parameter's device (and dtype, for floats)."""
    from ..frontend.creation import tensor as make_tensor
    if isinstance(value, Tensor):
        t = Tensor._from_node(value.detach().node)
    elif hasattr(value, "detach") and hasattr(value, "cpu"):   # a torch tensor
        t = make_tensor(value.detach().cpu().numpy())
    else:
        t = make_tensor(np.asarray(value))
    if not keep_dtype and t.dtype.category == dt.FLOAT and t.dtype is not like.dtype:
        t = t.to(like.dtype)
    if (t.node.device or "cpu") != (like.node.device or "cpu"):
        t = t.to(like.device)
    return t


class Optimizer:
    """Base class: subclasses define `_init_state` and `_update` (see SGD for the pattern).

    `_update(param, p, g, st, group, scalar)` receives the parameter Tensor `param`, its
    value node `p`, its gradient
    node `g`, a dict of state nodes `st` (the step count as a float in st["step"] when the
    optimizer counts steps), the param group, and `scalar(name, value)` returning the graph
    input for a hyperparameter; it returns (new parameter node, {state name: new node}).
    """

    _counts_steps = False

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scalars = _Scalars()
        self._host_step = {}
        self._step_count = 0
        self._step_pre_hooks = {}
        self._step_post_hooks = {}
        if isinstance(params, Tensor):
            fail(TypeError, "params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        param_groups = list(params)
        if len(param_groups) == 0:
            fail(ValueError, "optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # ---- param groups ---------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            fail(TypeError, f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            fail(TypeError, "optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                fail(TypeError, "optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not p.is_leaf:
                fail(ValueError, "can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                fail(ValueError, "parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in param_group["params"]]
        if len(ids) != len(set(ids)):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error", stacklevel=3)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & set(ids):
            fail(ValueError, "some parameters appear in more than one parameter group")
        self._check_group(param_group)
        self.param_groups.append(param_group)

    def _check_group(self, group: dict) -> None:
        """Subclasses validate hyperparameters (PyTorch raises at construction)."""

    # ---- gradients --------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        from ..frontend.creation import zeros_like
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = zeros_like(p.grad)

    # ---- state dict ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        index, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        packed_state = {(index[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items() if v}
        return {"state": packed_state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = self.param_groups
        saved_groups = list(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            fail(ValueError, "loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            fail(ValueError, "loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = {old: p for g, s in zip(groups, saved_groups)
                  for old, p in zip(s["params"], g["params"])}
        new_state = defaultdict(dict)
        pending = []
        for k, v in state_dict["state"].items():
            p = id_map.get(k)
            if p is None:
                new_state[k] = copy.deepcopy(v)
                continue
            entry = {}
            for name, value in v.items():
                if value is None:
                    entry[name] = None
                elif name == "step":
                    s = _scalar_value(value)
                    self._host_step[p] = s
                    entry[name] = _step_tensor(s, p)
                else:
                    entry[name] = _to_state_tensor(value, p)
                pending.append(entry[name])
            new_state[p] = entry
        # Loaded values become device buffers now, so the next step's graph matches the
        # steady-state graph (same inputs), and the caller's dict is never aliased.
        from ..frontend.realize import realize_nodes
        realize_nodes([t.node for t in pending if isinstance(t, Tensor)], "load_state_dict")
        new_groups = []
        for g, s in zip(groups, saved_groups):
            ng = {k: copy.deepcopy(v) if not isinstance(v, Tensor) else v
                  for k, v in s.items() if k != "params"}
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups

    # ---- hooks --------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        return _Handle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        return _Handle(self._step_post_hooks, hook)

    # ---- the step ------------------------------------------------------------------------------
    def _init_state(self, p: Tensor, group: dict) -> dict:
        """State tensors of a parameter that has none yet (realized device buffers)."""
        return {}

    def _update(self, param, p, g, st, group, scalar):
        raise NotImplementedError

    def step(self, closure=None):
        """One update of every parameter that has a gradient, as part of one compiled graph."""
        loss = None
        if closure is not None:
            from ..frontend.modes import enable_grad
            with enable_grad():
                loss = closure()
        for hook in list(self._step_pre_hooks.values()):
            r = hook(self, (), {})
            if r is not None:
                raise RuntimeError("optimizer step pre-hooks must return None")
        prev = _ir_state.grad_enabled
        _ir_state.grad_enabled = False
        try:
            self._step_graph(loss)
        finally:
            _ir_state.grad_enabled = prev
        self._step_count += 1
        for hook in list(self._step_post_hooks.values()):
            hook(self, (), {})
        return loss

    def _step_graph(self, loss) -> None:
        updates = []   # (param, new param node, state dict, {name: new node})
        memo = {}
        steps = {}     # new host step counts, committed once the graph has run
        outputs = []
        for gi, group in enumerate(self.param_groups):
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                pn, gn = p.node, grad.node
                if gn.shape != pn.shape:
                    fail(RuntimeError, f"gradient of shape {list(gn.shape)} does not match "
                                       f"parameter of shape {list(pn.shape)}")
                st = self.state.get(p)
                if not st:
                    st = self._init_state(p, group)
                    if self._counts_steps:
                        self._host_step[p] = 0.0
                        st["step"] = _step_tensor(0.0, p)
                    if st:
                        self.state[p] = st
                nodes = {k: v.node for k, v in st.items()
                         if isinstance(v, Tensor) and k != "step"}
                if self._counts_steps:
                    if p not in self._host_step:   # state set by hand: read its count once
                        self._host_step[p] = _scalar_value(st["step"])
                    nodes["step"] = self._host_step[p] + 1.0
                    steps[p] = nodes["step"]
                device = pn.device or "cpu"

                def scalar(name, value, _gi=gi, _d=pn.dtype, _dev=device):
                    if isinstance(value, Tensor):
                        return self._scalars.get((_gi, name), value, _d, _dev)
                    # Params of a group share each hyperparameter's input within a step.
                    key = (_gi, name, _d, _dev, value)
                    n = memo.get(key)
                    if n is None:
                        n = memo[key] = self._scalars.get((_gi, name), value, _d, _dev)
                    return n

                if gn.dtype is not pn.dtype:
                    gn = ew.cast(gn, pn.dtype)
                new_p, new_st = self._update(p, pn, gn, nodes, group, scalar)
                if new_st or st:  # _update may have created state tensors on demand
                    st = self.state.setdefault(p, st)
                if self._counts_steps:
                    new_st["step"] = ew.add(st["step"].node, 1.0)
                updates.append((p, new_p, st, new_st))
                outputs.append(new_p)
                outputs.extend(new_st.values())
                outputs.append(grad.node)
        if isinstance(loss, Tensor):
            outputs.append(loss.node)
        # Parameters with a pending value (e.g. not yet materialized, or updated in place
        # under no_grad) are computed in the same graph rather than in one of their own.
        late = _late_imports()
        if late["pending_parameters"] is not None:
            outputs.extend(q._n for q in late["pending_parameters"]())
        if not outputs:
            return
        late["realize_nodes"](outputs, "optimizer.step")
        self._host_step.update(steps)
        for p, new_p, st, new_st in updates:
            _rebind_param(p, new_p)
            for name, node in new_st.items():
                t = st.get(name)
                if isinstance(t, Tensor):
                    t._n = node
                    t._version += 1
                else:
                    st[name] = Tensor._from_node(node)


class _Handle:
    """A removable hook handle (like torch.utils.hooks.RemovableHandle)."""

    _next = 0

    def __init__(self, table, hook):
        _Handle._next += 1
        self.id, self._table = _Handle._next, table
        table[self.id] = hook

    def remove(self):
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_late: dict = {}


def _late_imports() -> dict:
    """Modules that import this one (nn, multiprocessing, realize), imported on first use
    and kept: an import statement in the per-step path costs a lookup every call."""
    if not _late:
        from ..frontend.realize import realize_nodes
        from ..multiprocessing._shared import write_shared
        try:
            from ..nn.modules.parameter import Parameter, pending_parameters
        except ImportError:
            Parameter = pending_parameters = None
        _late.update(realize_nodes=realize_nodes, write_shared=write_shared,
                     Parameter=Parameter, pending_parameters=pending_parameters)
    return _late


def _rebind_param(p: Tensor, node) -> None:
    """Make parameter `p` hold the realized value `node`, staying a leaf that requires grad.

    A parameter in shared memory (Hogwild) keeps its segment: the new values are written
    into it, so every process sharing it sees them."""
    late = _late_imports()
    if late["write_shared"](p, node):
        return
    Parameter = late["Parameter"]
    if Parameter is not None and isinstance(p, Parameter):
        p.data = Tensor._from_node(node)
        return
    p._n = leaf(node.dtype, node.shape, node.data, requires_grad=p._n.requires_grad,
                device=node.device)
    p._view = None
    p._version += 1


def _step_tensor(value: float, p: Tensor) -> Tensor:
    from ..frontend.creation import from_host
    return from_host(np.asarray(value, np.float32), dt.float32, p.node.device or "cpu")


def _scalar_value(v) -> float:
    if isinstance(v, Tensor) or hasattr(v, "item"):
        return float(v.item())
    return float(v)


def _typename(x) -> str:
    if isinstance(x, Tensor):
        kind = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                "int64": "LongTensor"}.get(x.dtype.name, "Tensor")
        return f"irgrad.{kind}"
    return type(x).__name__


def zeros_state(p: Tensor) -> Tensor:
    """A zero-filled device buffer shaped like `p` (state that starts at zero)."""
    from ..frontend.creation import from_host
    n = p.node
    return from_host(np.zeros(n.shape, dt.numpy_dtype(n.dtype)), n.dtype, n.device or "cpu")


def check_nonneg(name: str, value, label: str | None = None):
    if not isinstance(value, Tensor) and not 0.0 <= value:
        fail(ValueError, f"Invalid {label or name} value: {value}")


def check_lr(lr):
    if not isinstance(lr, Tensor) and not 0.0 <= lr:
        fail(ValueError, f"Invalid learning rate: {lr}")

