"""Samplers: which dataset indices a DataLoader visits, and in what order.

Random order comes from a NumPy generator seeded by one 63-bit draw from an irgrad
`Generator` (the loader's, or irgrad's default one), so `irgrad.manual_seed(s)` or a seeded
`Generator` makes shuffling reproducible, and each epoch draws a fresh seed.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "draw_seed"]


def draw_seed(generator=None) -> int:
    """A 63-bit seed drawn from `generator` (default: irgrad's default generator)."""
    g = generator
    if g is None:
        import irgrad
        g = getattr(irgrad, "default_generator", None)
    if g is not None:
        for name in ("_draw_seed", "draw_seed", "next_seed"):
            fn = getattr(g, name, None)
            if callable(fn):
                return int(fn()) & ((1 << 63) - 1)
        if isinstance(g, np.random.Generator):
            return int(g.integers(0, 1 << 63))
        if hasattr(g, "_seed") and hasattr(g, "_offset"):
            # irgrad's counter-based Generator: one draw = one offset step, on the host, so
            # shuffling never compiles a graph or waits for the device.
            seed = np.random.SeedSequence([int(g._seed), int(g._offset), 0x5EED])
            g._offset += 1
            return int(seed.generate_state(2, np.uint64)[0]) & ((1 << 63) - 1)
        import irgrad
        randint = getattr(irgrad, "randint", None)
        if randint is not None:
            return int(randint(0, 1 << 62, (), generator=g).item())
    return int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)


class Sampler:
    """Base class: an iterable over dataset indices (or lists of indices)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation each epoch (or `num_samples` draws with replacement)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError("replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = np.random.default_rng(draw_seed(self.generator))
        k = self.num_samples
        if self.replacement:
            yield from rng.integers(0, n, size=k).tolist()
            return
        for _ in range(k // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[: k % n].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        rng = np.random.default_rng(draw_seed(self.generator))
        for i in rng.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices drawn with probabilities proportional to `weights`."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or \
                num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError("replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        self.weights, self.num_samples = w, num_samples
        self.replacement, self.generator = replacement, generator

    def __iter__(self):
        rng = np.random.default_rng(draw_seed(self.generator))
        p = self.weights / self.weights.sum()
        yield from rng.choice(len(p), size=self.num_samples, replace=self.replacement,
                              p=p).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size`."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError("drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size
