"""The benchmarked models and training step, written once for any PyTorch-style library.

`lib` is `irgrad` or `torch`: both expose nn.Sequential, nn.Linear, nn.Conv2d, ...,
nn.functional.cross_entropy and optim.SGD with the same semantics. No framework is imported
here, so a fresh benchmark process loads only the framework it measures.
"""
from __future__ import annotations

MLP_SIZES = [784, 512, 512, 10]
MLP_BATCH = 128
TINY_SIZES = [16, 32, 4]


def mlp(lib, sizes):
    """Linear layers of the given widths with ReLU between them."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(lib.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(lib.nn.ReLU())
    return lib.nn.Sequential(*layers)


def cnn(lib):
    """BENCH.md's small CNN for 1x28x28 inputs: 2 conv (+ReLU, 2x2 max pool), 2 linear."""
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def mlp_step_flops(sizes, batch):
    """FLOPs of one SGD step: forward, input and weight gradients (none for the input)."""
    mm = [2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 3 * sum(mm) - mm[0]


def make_step(lib, model, opt, x, y, loss_fn=None):
    """A closure running one SGD step on (x, y) and returning the (pre-update) loss.

    `loss_fn(x, y)` replaces the model + cross-entropy (torch.compile wraps that part)."""
    F = lib.nn.functional
    loss_fn = loss_fn or (lambda a, b: F.cross_entropy(model(a), b))

    def step():
        opt.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()
        opt.step()
        return loss
    return step
