"""`Tensor.grad_fn`: a light view of the node that produced a tensor, PyTorch-style."""
from __future__ import annotations


class GradFn:
    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def name(self) -> str:
        op = "".join(p.capitalize() for p in self.node.op.split("_"))
        return f"{op}Backward0"

    @property
    def next_functions(self):
        return tuple((grad_fn_of_node(i), 0) for i in self.node.inputs)

    def __repr__(self):
        return f"<{self.name()} object>"


def grad_fn_of_node(node):
    if not node.requires_grad or node.op == "buffer":
        return None
    return GradFn(node)


def grad_fn_of(tensor):
    return grad_fn_of_node(tensor.node)
