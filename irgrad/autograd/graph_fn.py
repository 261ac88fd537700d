"""`Tensor.grad_fn`: a light view of the node that produced a tensor, PyTorch-style.

There is no tape of backward objects: a `GradFn` is made on demand from the node (the IR is
the graph). It has PyTorch's `name()` (`MulBackward0`, `MyFunctionBackward`) and
`next_functions`, whose entries are the inputs' GradFns, an `AccumulateGrad` for a leaf that
requires grad, or None. Two GradFns of the same node compare equal.
"""
from __future__ import annotations

# Where PyTorch's name for an op's backward is not "<Op>Backward0".
_TORCH_NAMES = {"cast": "ToCopyBackward0", "reshape": "ViewBackward0",
                "custom_function": "CustomFunctionBackward0"}


def grad_fn_name(node) -> str:
    op = node.op
    if op == "custom_function" and "name" in node.attrs and node.attrs["name"] != "Sample":
        return f"{node.attrs['name']}Backward"
    if op == "sum":
        full = len(node.attrs.get("dims", ())) == node.inputs[0].ndim
        return "SumBackward0" if full and not node.attrs.get("keepdim") else "SumBackward1"
    named = _TORCH_NAMES.get(op)
    if named is not None:
        return named
    return "".join(p.capitalize() for p in op.split("_")) + "Backward0"


class GradFn:
    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def name(self) -> str:
        return grad_fn_name(self.node)

    @property
    def next_functions(self):
        inputs = self.node.inputs
        if self.node.op == "custom_function":
            inputs = inputs[1:]
        return tuple((_edge(i), 0) for i in inputs)

    def __eq__(self, other):
        return isinstance(other, GradFn) and other.node is self.node

    def __hash__(self):
        return hash(id(self.node))

    def __repr__(self):
        return f"<{self.name()} object>"


class AccumulateGrad:
    """The end of a path: the leaf tensor whose `.grad` receives the gradient."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def variable(self):
        from ..frontend.autograd_api import leaf_owner
        return leaf_owner(self.node)

    next_functions = ()

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.node is self.node

    def __hash__(self):
        return hash(id(self.node))

    def __repr__(self):
        return "<AccumulateGrad object>"


def _edge(node):
    if not node.requires_grad:
        return None
    if node.op == "buffer":
        return AccumulateGrad(node)
    return GradFn(node)


def grad_fn_of_node(node):
    if not node.requires_grad or node.op == "buffer":
        return None
    return GradFn(node)


def grad_fn_of(tensor):
    return grad_fn_of_node(tensor.node)
