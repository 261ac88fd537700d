"""`irgrad.utils.data`: datasets, samplers, collation and the DataLoader (PyTorch's API)."""
from .dataset import (Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset,
                      ChainDataset, StackDataset, random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                      WeightedRandomSampler, BatchSampler)
from ._collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from ._worker import WorkerInfo

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "StackDataset", "random_split", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "default_collate", "default_convert", "DataLoader", "get_worker_info", "WorkerInfo"]
