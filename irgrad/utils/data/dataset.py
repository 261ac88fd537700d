"""Datasets: the map-style and iterable protocols, TensorDataset, Subset, ConcatDataset,
ChainDataset, StackDataset and random_split.

TensorDataset keeps one host (NumPy) copy of its tensors, read from the device once, so
indexing a sample or gathering a whole batch never records per-sample graph ops; a
DataLoader with the default collate gathers a batch with one NumPy fancy-index per tensor
(`_gather`) instead of stacking samples one by one.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings

import numpy as np

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "StackDataset", "random_split"]


class Dataset:
    """A map-style dataset: `__getitem__(index)` and usually `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: `__iter__` yields samples."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


def _host_array(t):
    """(host array, dtype) of an irgrad Tensor, realizing it if it is pending."""
    n = t.detach().node
    if n.data is None:
        from ...frontend.realize import realize_nodes
        realize_nodes([n], "TensorDataset")
    return n.data.to_numpy(), n.dtype


def _as_index(index):
    from ...frontend.tensor import Tensor
    if isinstance(index, Tensor):
        return _host_array(index)[0]
    return index


class TensorDataset(Dataset):
    """Samples are the tensors' rows: `dataset[i] == tuple(t[i] for t in tensors)`."""

    def __init__(self, *tensors):
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors) if tensors else False:
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors
        self._host = None
        self._host_key = None

    def _host_arrays(self):
        key = tuple(id(t.node) for t in self.tensors)
        if self._host is None or key != self._host_key:
            from ...frontend.realize import realize_nodes
            realize_nodes([t.detach().node for t in self.tensors], "TensorDataset")
            self._host = [_host_array(t) for t in self.tensors]
            self._host_key = key
        return self._host

    def _prepare(self):
        """Read the host copy now (before worker processes fork and share it)."""
        self._host_arrays()

    def __getitem__(self, index):
        from ...frontend.creation import from_host
        index = _as_index(index)
        return tuple(from_host(np.ascontiguousarray(a[index]), d, t.node.device or "cpu")
                     for (a, d), t in zip(self._host_arrays(), self.tensors))

    def _gather(self, indices):
        """The default-collated batch for `indices`, as host arrays: [(array, dtype), ...]."""
        idx = np.asarray(indices, dtype=np.int64)
        return [(a[idx], d) for a, d in self._host_arrays()]

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        inner = getattr(self.dataset, "__getitems__", None)
        if callable(inner):
            return inner([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def _prepare(self):
        prep = getattr(self.dataset, "_prepare", None)
        if prep is not None:
            prep()

    @property
    def _gather(self):
        inner = getattr(self.dataset, "_gather", None)
        if inner is None:
            raise AttributeError("_gather")
        return lambda indices: inner([self.indices[i] for i in indices])

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]

    def _prepare(self):
        for d in self.datasets:
            prep = getattr(d, "_prepare", None)
            if prep is not None:
                prep()


class ChainDataset(IterableDataset):
    """Several iterable datasets chained."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Zips datasets of equal length: a tuple (positional) or dict (keyword) per sample."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        parts = args or tuple(kwargs.values())
        if not parts:
            raise ValueError("At least one dataset should be passed")
        n = len(parts[0])
        if any(len(d) != n for d in parts):
            raise ValueError("Size mismatch between datasets")
        self._length = n
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping Subsets of the given lengths (or fractions summing to 1)."""
    from .sampler import draw_seed
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = np.random.default_rng(draw_seed(generator)).permutation(n).tolist()
    return [Subset(dataset, perm[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
