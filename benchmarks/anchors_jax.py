"""JAX jit equivalents of the benchmarked work (the JAX anchor of BENCH.md).

`sequential_spec` reads an irgrad (or torch) `nn.Sequential` of Linear / Conv2d / ReLU /
MaxPool2d / Flatten layers into a layer list and its parameters as NumPy arrays, so the JAX
model starts from the very weights the other contenders use. `train_step` builds the jitted
SGD step (value_and_grad + update, parameters donated); `Stepper` keeps the parameters
between calls and blocks until the step's outputs are ready, so timings cover the work.
Layouts follow PyTorch: NCHW activations, OIHW kernels, Linear weights (out, in).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def sequential_spec(model):
    """([(kind, attrs)], [np.ndarray parameters]) for a Sequential of supported layers."""
    layers, params = [], []
    for m in model.children():
        kind = type(m).__name__
        if kind in ("Linear", "Conv2d"):
            params.append(m.weight.detach().numpy().astype(np.float32))
            params.append(m.bias.detach().numpy().astype(np.float32))
            attrs = {}
            if kind == "Conv2d":
                if m.groups != 1 or tuple(m.dilation) != (1, 1):
                    raise NotImplementedError("only groups=1, dilation=1 convolutions")
                attrs = {"stride": tuple(m.stride), "padding": tuple(m.padding)}
            layers.append((kind, attrs))
        elif kind == "MaxPool2d":
            k, s = m.kernel_size, m.stride if m.stride is not None else m.kernel_size
            k = (k, k) if isinstance(k, int) else tuple(k)
            s = (s, s) if isinstance(s, int) else tuple(s)
            if m.padding not in (0, (0, 0)):
                raise NotImplementedError("only unpadded max pooling")
            layers.append((kind, {"kernel": k, "stride": s}))
        elif kind in ("ReLU", "Flatten"):
            layers.append((kind, {}))
        else:
            raise NotImplementedError(f"no JAX equivalent for {kind}")
    return layers, params


def forward(layers, params, x):
    """Apply the layer list to x with parameters consumed in order (two per layer)."""
    i = 0
    for kind, attrs in layers:
        if kind == "Linear":
            w, b = params[i], params[i + 1]
            i += 2
            x = x @ w.T + b
        elif kind == "Conv2d":
            w, b = params[i], params[i + 1]
            i += 2
            pad = [(p, p) for p in attrs["padding"]]
            x = lax.conv_general_dilated(x, w, attrs["stride"], pad,
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
            x = x + b[None, :, None, None]
        elif kind == "ReLU":
            x = jnp.maximum(x, 0)
        elif kind == "MaxPool2d":
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 1) + attrs["kernel"],
                                  (1, 1) + attrs["stride"], "VALID")
        elif kind == "Flatten":
            x = x.reshape(x.shape[0], -1)
    return x


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy over the batch (torch.nn.functional.cross_entropy)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def train_step(layers, lr: float):
    """Jitted (params, x, y) -> (new params, loss): one SGD step, params donated."""
    def loss_fn(params, x, y):
        return cross_entropy(forward(layers, params, x), y)

    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return [p - lr * g for p, g in zip(params, grads)], loss
    return jax.jit(step, donate_argnums=(0,))


def mlp_spec(sizes, seed: int = 0):
    """(layers, params) of an MLP with ReLUs, initialized like nn.Linear (uniform +-1/sqrt(in)).

    For a process that measures JAX alone (no irgrad or torch model to copy from)."""
    rng = np.random.default_rng(seed)
    layers, params = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1.0 / np.sqrt(a)
        params.append(rng.uniform(-bound, bound, (b, a)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (b,)).astype(np.float32))
        layers.append(("Linear", {}))
        if i < len(sizes) - 2:
            layers.append(("ReLU", {}))
    return layers, params


class Stepper:
    """Callable running one jitted SGD step on device-resident data; returns the loss.

    `spec` is a model (read by sequential_spec) or a (layers, params) pair."""

    def __init__(self, spec, x: np.ndarray, y: np.ndarray, lr: float = 0.01):
        layers, params = spec if isinstance(spec, tuple) else sequential_spec(spec)
        self.params = [jnp.asarray(p) for p in params]
        self.x, self.y = jnp.asarray(x), jnp.asarray(y.astype(np.int32))
        self.step = train_step(layers, lr)

    def __call__(self):
        self.params, loss = self.step(self.params, self.x, self.y)
        jax.block_until_ready((self.params, loss))
        return loss


def elementwise_chain():
    """Jitted tanh(x)*sigmoid(x) + gelu(x)*0.5 with exact (erf) GELU, as torch's default."""
    return jax.jit(lambda v: jnp.tanh(v) * jax.nn.sigmoid(v)
                   + jax.nn.gelu(v, approximate=False) * 0.5)


def matmul():
    return jax.jit(lambda a, b: a @ b)
