"""irgrad.utils.data: datasets, samplers, collation (against torch's default_collate), and
the DataLoader with worker processes: order, errors, dead workers, shared-memory hygiene."""
import collections
import os
import signal
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import irgrad
from irgrad.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                               IterableDataset, RandomSampler, SequentialSampler, Subset,
                               SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                               default_collate, default_convert, get_worker_info, random_split)


def _segments():
    """Shared-memory segments this test process's loaders created (and must not leak)."""
    prefix = f"irgrad_dl_{os.getpid()}_"
    return sorted(f for f in os.listdir("/dev/shm") if f.startswith(prefix))


@pytest.fixture(autouse=True)
def no_leaked_segments():
    yield
    import gc
    gc.collect()
    assert _segments() == []


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else x


def _assert_same(mine, ref, where="batch"):
    """Same structure, types and values as torch's result (tensors compared by value+dtype)."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(mine, irgrad.Tensor), where
        assert mine.dtype.name == str(ref.dtype).replace("torch.", ""), where
        np.testing.assert_array_equal(mine.numpy(), ref.numpy(), err_msg=where)
    elif isinstance(ref, dict):
        assert type(mine) is type(ref) and list(mine) == list(ref), where
        for k in ref:
            _assert_same(mine[k], ref[k], f"{where}[{k!r}]")
    elif isinstance(ref, (list, tuple)):
        assert type(mine) is type(ref) and len(mine) == len(ref), (where, mine, ref)
        for i, (a, b) in enumerate(zip(mine, ref)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert mine == ref, where


Point = collections.namedtuple("Point", "x y")


def test_default_collate_matches_torch():
    samples = [
        [{"a": np.arange(3, dtype=np.float32) + i, "b": i, "c": float(i) / 3, "d": "s%d" % i,
          "e": (i, [True, False]), "f": np.int64(i), "g": Point(i, np.float64(i))}
         for i in range(4)],
        [(np.full((2, 2), i, np.int32), i % 2 == 0) for i in range(3)],
        [[1.5, 2.5], [3.5, 4.5]],
        [np.float32(1.5), np.float32(2.5)],
    ]
    for batch in samples:
        _assert_same(default_collate(batch), tud.default_collate(batch))
    tensors = [irgrad.tensor([1.0, 2.0]), irgrad.tensor([3.0, 4.0])]
    np.testing.assert_array_equal(default_collate(tensors).numpy(), [[1, 2], [3, 4]])
    conv = {"a": np.arange(3), "b": (np.float32(2.0), "x"), "c": [np.ones(2)]}
    _assert_same(default_convert(conv), tud.default_convert(conv))
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([np.zeros(2), np.zeros(3)])


class Squares(Dataset):
    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i >= self.n:
            raise IndexError(i)
        return {"x": np.full((3,), i, np.float32), "i": i, "name": f"s{i}"}


def _batches(loader):
    out = []
    for b in loader:
        if isinstance(b, dict):
            out.append((b["x"].numpy().tolist(), b["i"].tolist(), b["name"]))
        else:
            out.append([_np(t).tolist() for t in b])
    return out


def test_tensor_dataset_and_loader_in_main_process():
    x = irgrad.tensor(np.arange(30, dtype=np.float32).reshape(10, 3))
    y = irgrad.tensor(np.arange(10))
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    a, b = ds[4]
    assert a.tolist() == [12.0, 13.0, 14.0] and b.item() == 4 and b.dtype == irgrad.int64
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, irgrad.tensor(np.arange(3)))
    loader = DataLoader(ds, batch_size=4)
    assert len(loader) == 3
    got = _batches(loader)
    assert [len(g[1]) for g in got] == [4, 4, 2] and got[2][1] == [8, 9]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [len(g[1]) for g in _batches(DataLoader(ds, batch_size=4, drop_last=True))] == [4, 4]
    # the batched gather equals collating samples one by one
    ref = default_collate([ds[i] for i in range(4)])
    np.testing.assert_array_equal(ref[0].numpy(), got[0][0])


def test_shuffle_is_reproducible_with_a_generator():
    ds = Squares(17)

    def order(gen):
        return [i for b in DataLoader(ds, batch_size=5, shuffle=True, generator=gen)
                for i in b["i"].tolist()]

    g = irgrad.Generator().manual_seed(7)
    first, second = order(g), order(g)
    assert sorted(first) == list(range(17)) and first != list(range(17))
    assert first != second                       # each epoch draws anew
    assert order(irgrad.Generator().manual_seed(7)) == first
    irgrad.manual_seed(11)
    a = order(None)
    irgrad.manual_seed(11)
    assert order(None) == a


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = irgrad.Generator().manual_seed(0)
    rs = list(RandomSampler(range(10), replacement=True, num_samples=25, generator=g))
    assert len(rs) == 25 and all(0 <= i < 10 for i in rs)
    more = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert sorted(more[:4]) == [0, 1, 2, 3] and sorted(more[4:8]) == [0, 1, 2, 3]
    assert sorted(SubsetRandomSampler([3, 5, 9], generator=g)) == [3, 5, 9]
    w = list(WeightedRandomSampler([0.0, 0.0, 1.0], 6, generator=g))
    assert w == [2] * 6
    bs = BatchSampler(SequentialSampler(range(7)), 3, False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    assert len(BatchSampler(SequentialSampler(range(7)), 3, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(3), num_samples=0)


def test_random_split_subset_concat():
    ds = Squares(10)
    g = irgrad.Generator().manual_seed(1)
    a, b = random_split(ds, [7, 3], generator=g)
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices + b.indices) == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=irgrad.Generator().manual_seed(1))
    assert a2.indices == a.indices
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=g)
    assert [len(p) for p in parts] == [5, 3, 2]
    assert [len(p) for p in random_split(range(11), [0.5, 0.5], generator=g)] == [6, 5]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(ds, [3, 3])
    sub = Subset(ds, [4, 2])
    assert sub[1]["i"] == 2 and len(sub) == 2
    cat = ConcatDataset([Squares(3), Squares(2)])
    assert len(cat) == 5 and cat[3]["i"] == 0 and cat[-1]["i"] == 1
    # a Subset of a TensorDataset batches through the gather path
    t = TensorDataset(irgrad.tensor(np.arange(8.0, dtype=np.float32)))
    got = _batches(DataLoader(Subset(t, [7, 1, 3]), batch_size=2))
    assert got == [[[7.0, 1.0]], [[3.0]]]


def test_loader_argument_errors():
    ds = Squares(4)
    cases = [
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(sampler=SequentialSampler(ds), shuffle=True),
         "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=BatchSampler(SequentialSampler(ds), 2, False), batch_size=3),
         "batch_sampler option is mutually exclusive with batch_size"),
        (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
        (dict(timeout=-1), "timeout option should be non-negative"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            DataLoader(ds, **kw)
        with pytest.raises(ValueError, match=msg):
            tud.DataLoader(ds, **kw)


class Stream(IterableDataset):
    """Yields 0..n-1, split between workers by get_worker_info()."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        for i in range(start, self.n, step):
            yield np.float32(i)


def test_iterable_dataset():
    got = [b.tolist() for b in DataLoader(Stream(7), batch_size=3)]
    assert got == [[0, 1, 2], [3, 4, 5], [6]]
    got = [b.tolist() for b in DataLoader(Stream(9), batch_size=2, num_workers=2)]
    assert sorted(x for b in got for x in b) == list(range(9))
    got = [b.tolist() for b in DataLoader(Stream(9), batch_size=2, num_workers=2,
                                          drop_last=True)]
    assert all(len(b) == 2 for b in got) and len(got) == 4
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)


def test_workers_give_the_same_batches_in_order():
    x = irgrad.tensor(np.arange(60, dtype=np.float32).reshape(20, 3))
    y = irgrad.tensor(np.arange(20) % 3)
    tds = TensorDataset(x, y)
    for ds, bs in ((tds, 6), (Squares(23), 4)):
        ref = _batches(DataLoader(ds, batch_size=bs))
        for nw in (1, 3):
            assert _batches(DataLoader(ds, batch_size=bs, num_workers=nw)) == ref
    # no auto-batching: samples converted one by one
    got = [b["i"] for b in DataLoader(Squares(5), batch_size=None, num_workers=2)]
    assert got == [0, 1, 2, 3, 4]


class Initialized(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([info.id, info.seed, info.num_workers, _seen.get("init", -1)])


_seen = {}


def _init(worker_id):
    _seen["init"] = worker_id


def test_worker_info_init_fn_and_seeds():
    loader = DataLoader(Initialized(), batch_size=2, num_workers=2, worker_init_fn=_init,
                        generator=irgrad.Generator().manual_seed(5))
    rows = np.concatenate([b.numpy() for b in loader])
    ids, seeds, nws, inits = rows.T
    assert set(ids) == {0, 1} and set(nws) == {2}
    assert (ids == inits).all()                     # worker_init_fn ran in each worker
    assert len(set(seeds)) == 2 and (seeds - ids == seeds[0] - ids[0]).all()
    assert get_worker_info() is None


class Lazy(Dataset):
    """Runs irgrad ops inside the worker: a forked child must get its own device runtime."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        t = irgrad.tensor([float(i), 1.0]) * 3 + 1
        return t.numpy(), t * 2          # a host value, and a pending tensor to collate


def test_irgrad_ops_inside_forked_workers():
    got = [(a.numpy().tolist(), b.numpy().tolist())
           for a, b in DataLoader(Lazy(), batch_size=2, num_workers=2)]
    assert got == [([[1.0, 4.0], [4.0, 4.0]], [[2.0, 8.0], [8.0, 8.0]]),
                   ([[7.0, 4.0], [10.0, 4.0]], [[14.0, 8.0], [20.0, 8.0]])]


class Failing(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 5:
            raise ZeroDivisionError(f"sample {i} is broken")
        return np.float32(i)


def test_worker_exception_is_reraised_with_traceback():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    assert next(it).tolist() == [2, 3]
    with pytest.raises(ZeroDivisionError) as info:
        next(it)
    msg = str(info.value)
    assert "Caught ZeroDivisionError in DataLoader worker process" in msg
    assert "sample 5 is broken" in msg and "in __getitem__" in msg and "test_data.py" in msg
    del it, info


class Slow(Dataset):
    def __len__(self):
        return 100

    def __getitem__(self, i):
        time.sleep(0.05)
        return np.full((1000,), i, np.float32)


def test_killed_worker_is_reported_and_segments_are_unlinked():
    loader = DataLoader(Slow(), batch_size=2, num_workers=2, prefetch_factor=4)
    it = iter(loader)
    next(it)
    time.sleep(0.5)                              # let workers write batches not yet read
    assert _segments()                           # ... so segments exist now
    victim = it._workers[1].pid
    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"DataLoader worker \(pid {victim}\) exited "
                                           r"unexpectedly \(killed by signal SIGKILL\)"):
        for _ in it:
            pass
    assert time.monotonic() - t0 < 10
    assert _segments() == []
    assert not any(w.is_alive() for w in it._workers)


class DiesWhileSending:
    """Pickling this kills the worker: after it wrote the batch's segment, before sending."""

    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGKILL)
        return (object, ())


class Poisoned(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return (np.full((256,), i, np.float32), DiesWhileSending() if i == 2 else None)


def test_worker_killed_after_writing_a_segment_leaks_nothing():
    loader = DataLoader(Poisoned(), batch_size=1, num_workers=1, collate_fn=lambda b: b[0])
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        for _ in loader:
            pass
    assert _segments() == []


def test_persistent_workers_and_early_break():
    loader = DataLoader(Squares(12), batch_size=3, num_workers=2, persistent_workers=True)
    first = _batches(loader)
    it = loader._iterator
    pids = [w.pid for w in it._workers]
    for b in loader:                             # leave an epoch early: stale batches
        break
    assert _batches(loader) == first
    assert [w.pid for w in loader._iterator._workers] == pids
    loader._iterator._shutdown()
    for _ in DataLoader(Squares(12), batch_size=3, num_workers=2):
        break                                    # a dropped iterator cleans up


def test_timeout():
    loader = DataLoader(Slow(), batch_size=40, num_workers=1, timeout=0.5)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
        next(iter(loader))
