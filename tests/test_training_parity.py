"""Training parity with PyTorch: three model families (MLP, CNN with batch norm, a
transformer encoder block) and each optimizer; the same weights and batches give the same
loss at every step and the same final weights."""
import numpy as np
import pytest
import torch

import irgrad

STEPS = 4


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(12, 16), nn.GELU(), nn.Linear(16, 5))


def cnn(lib):
    nn = lib.nn
    # No conv bias before batch norm: its gradient is pure rounding noise, which Adam
    # normalizes into steps that differ between any two implementations.
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))


class Block:
    """A transformer encoder block (attention + layer norm) followed by a classifier."""

    def __new__(cls, lib):
        nn = lib.nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                        batch_first=True)
                self.head = nn.Linear(8, 5)

            def forward(self, x):
                return self.head(self.layer(x).mean(1))
        return Model()


FAMILIES = {"mlp": (mlp, (6, 12)), "cnn_bn": (cnn, (6, 1, 6, 6)), "transformer": (Block, (6, 4, 8))}
OPTIMIZERS = {
    "sgd": lambda lib, p: lib.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "adam": lambda lib, p: lib.optim.Adam(p, lr=1e-2),
    "adamw": lambda lib, p: lib.optim.AdamW(p, lr=1e-2, weight_decay=0.05),
    "rmsprop": lambda lib, p: lib.optim.RMSprop(p, lr=1e-2, momentum=0.5),
}
# The transformer trains with SGD: attention's key bias has an exactly-zero gradient, and
# Adam-style optimizers turn its rounding noise into full-size steps in any implementation.
CASES = [("mlp", o) for o in OPTIMIZERS] + [("cnn_bn", "adam"), ("transformer", "sgd")]


@pytest.mark.parametrize("family,opt_name", CASES)
def test_losses_and_weights_match_torch(family, opt_name):
    build, x_shape = FAMILIES[family]
    torch.manual_seed(0)
    tmodel = build(torch)
    model = build(irgrad)
    model.load_state_dict({k: irgrad.tensor(v.detach().numpy())
                           for k, v in tmodel.state_dict().items()})
    topt = OPTIMIZERS[opt_name](torch, tmodel.parameters())
    opt = OPTIMIZERS[opt_name](irgrad, model.parameters())
    rng = np.random.default_rng(1)
    for step in range(STEPS):
        xh = rng.standard_normal(x_shape).astype(np.float32)
        yh = rng.integers(0, 5, size=x_shape[0])
        topt.zero_grad()
        tl = torch.nn.functional.cross_entropy(tmodel(torch.tensor(xh)), torch.tensor(yh))
        tl.backward()
        topt.step()
        opt.zero_grad()
        loss = irgrad.nn.functional.cross_entropy(model(irgrad.tensor(xh)), irgrad.tensor(yh))
        loss.backward()
        opt.step()
        np.testing.assert_allclose(loss.item(), tl.item(), rtol=2e-4,
                                   err_msg=f"{family}/{opt_name} loss at step {step}")
    theirs = tmodel.state_dict()
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v.detach().numpy(), theirs[k].detach().numpy(),
                                   rtol=2e-3, atol=2e-4, err_msg=f"{family}/{opt_name} {k}")
