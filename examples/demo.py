"""`make demo`: build a lazy graph, print its IR, realize it and print the result.

(The training demo replaces this once nn/optim land.)
"""
from __future__ import annotations

import irgrad as torch
from irgrad.ir.graph import Graph


def main() -> None:
    x = torch.linspace(-2, 2, 8).reshape(2, 4)
    w = torch.tensor([[0.5], [-1.0]])
    y = (x * w + 1.0).tanh().sum(1)
    print("The pending graph for y (nothing has run yet):")
    print(Graph.cut([y.node]))
    print("\ny =", y)


if __name__ == "__main__":
    main()
