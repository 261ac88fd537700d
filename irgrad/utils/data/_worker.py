"""DataLoader worker processes and the shared-memory transport of their batches.

A worker fetches and collates a batch, writes every array leaf into ONE shared-memory
segment (named after the parent's pid, the iterator and the task, so the parent can always
find and unlink it), and sends only the batch's small skeleton through a pipe. The parent
maps the segment, copies each leaf into a device tensor, and unlinks the segment. A worker
that raises sends the exception's type and traceback text instead; a worker that dies is
noticed through its process sentinel.

Forked workers must not use the parent's device runtime (its threads do not exist in the
child): `irgrad.multiprocessing._fork` gives every forked child its own synchronous CPU
device and compiler worker, so a dataset may still run irgrad ops in a worker.
"""
from __future__ import annotations

import os
import random
import sys
import traceback

import numpy as np

from ._collate import HostArray, _collate, _convert, to_host

__all__ = ["WorkerInfo", "get_worker_info"]

_ALIGN = 64
_worker_info = None


class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: id, num_workers, seed, dataset."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)
        self._frozen = True

    def __setattr__(self, key, value):
        if self.__dict__.get("_frozen"):
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, value)

    def __repr__(self):
        items = ", ".join(f"{k}={self.__dict__[k]}" for k in ("id", "num_workers", "seed"))
        return f"WorkerInfo({items}, dataset={type(self.dataset).__name__})"


def get_worker_info():
    """The current worker's WorkerInfo, or None in the main process."""
    return _worker_info


# ---- shared-memory transport --------------------------------------------------------------

class _Ref:
    """A leaf of a batch skeleton: where its bytes sit in the segment."""

    __slots__ = ("kind", "dtype", "shape", "offset", "device")

    def __init__(self, kind, dtype, shape, offset, device):
        self.kind, self.dtype, self.shape = kind, dtype, shape
        self.offset, self.device = offset, device

    def __getstate__(self):
        return (self.kind, self.dtype, self.shape, self.offset, self.device)

    def __setstate__(self, s):
        self.kind, self.dtype, self.shape, self.offset, self.device = s


def segment_name(prefix: str, task: int) -> str:
    return f"{prefix}_{task}"


def _skeleton(data, leaves):
    from ...frontend.tensor import Tensor
    if isinstance(data, HostArray):
        leaves.append((data.array, "tensor", data.dtype.name, data.device))
        return _Ref("tensor", None, None, len(leaves) - 1, None)
    if isinstance(data, Tensor):
        n = data.detach().node
        if n.data is None:
            from ...frontend.realize import realize_nodes
            realize_nodes([n], "DataLoader worker")
        leaves.append((n.data.to_numpy(), "tensor", n.dtype.name, n.device or "cpu"))
        return _Ref("tensor", None, None, len(leaves) - 1, None)
    if isinstance(data, np.ndarray) and data.dtype.char not in "SaUOV":
        leaves.append((data, "ndarray", None, None))
        return _Ref("ndarray", None, None, len(leaves) - 1, None)
    t = type(data)
    if t in (list, tuple):
        return t(_skeleton(x, leaves) for x in data)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return t(*(_skeleton(x, leaves) for x in data))
    if isinstance(data, dict):
        out = {k: _skeleton(v, leaves) for k, v in data.items()}
        try:
            return t(out)
        except TypeError:
            return out
    return data


def pack(data, name: str):
    """(skeleton, segment name or None, segment size): the batch ready to send."""
    from multiprocessing import shared_memory
    leaves = []
    skel = _skeleton(data, leaves)
    if not leaves:
        return skel, None, 0
    offsets, total = [], 0
    for arr, *_ in leaves:
        offsets.append(total)
        total += (arr.nbytes + _ALIGN - 1) // _ALIGN * _ALIGN
    try:
        shm = shared_memory.SharedMemory(name=name, create=True, size=max(total, 1))
    except FileExistsError:  # left by an earlier process that had our pid: it is stale
        unlink_quietly(name)
        shm = shared_memory.SharedMemory(name=name, create=True, size=max(total, 1))
    try:
        for (arr, *_), off in zip(leaves, offsets):
            dst = np.ndarray(arr.shape, arr.dtype, buffer=shm.buf, offset=off)
            dst[...] = arr
            del dst
    finally:
        shm.close()
    refs = []
    _collect_refs(skel, refs)
    for r in refs:
        arr, kind, dtype_name, device = leaves[r.offset]
        r.dtype = dtype_name if kind == "tensor" else arr.dtype.str
        r.shape, r.offset, r.device = arr.shape, offsets[r.offset], device
        r.kind = kind if kind == "ndarray" else f"tensor:{arr.dtype.str}"
    return skel, name, total


def _collect_refs(skel, out):
    stack = [skel]
    while stack:
        x = stack.pop()
        if isinstance(x, _Ref):
            out.append(x)
        elif type(x) in (list, tuple) or (isinstance(x, tuple) and hasattr(x, "_fields")):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())


def unpack(skel, name, size):
    """Rebuild a packed batch in the parent (tensors on their devices); unlinks the segment."""
    if name is None:
        return skel
    from multiprocessing import shared_memory
    from ...frontend.creation import from_host
    from ...ir import dtypes as dt
    shm = shared_memory.SharedMemory(name=name)
    try:
        def build(x):
            if isinstance(x, _Ref):
                if x.kind == "ndarray":
                    return np.ndarray(x.shape, np.dtype(x.dtype), buffer=shm.buf,
                                      offset=x.offset).copy()
                host = np.ndarray(x.shape, np.dtype(x.kind.split(":", 1)[1]), buffer=shm.buf,
                                  offset=x.offset)
                t = from_host(host, dt.from_name(x.dtype), x.device or "cpu")
                del host
                return t
            t = type(x)
            if t in (list, tuple):
                return t(build(v) for v in x)
            if isinstance(x, tuple) and hasattr(x, "_fields"):
                return t(*(build(v) for v in x))
            if isinstance(x, dict):
                out = {k: build(v) for k, v in x.items()}
                try:
                    return t(out)
                except TypeError:
                    return out
            return x
        return build(skel)
    finally:
        shm.close()
        shm.unlink()


def unlink_quietly(name: str) -> None:
    """Remove a segment that may or may not exist (cleanup after a dead worker)."""
    from multiprocessing import shared_memory
    try:
        shm = shared_memory.SharedMemory(name=name)
    except (FileNotFoundError, ValueError, OSError):
        return
    shm.close()
    try:
        shm.unlink()
    except FileNotFoundError:
        pass


# ---- exceptions ----------------------------------------------------------------------------------

class ExceptionInfo:
    """A worker's exception: its type and the formatted traceback text."""

    def __init__(self, exc: BaseException, where: str):
        self.exc_type = type(exc)
        self.where = where
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def __getstate__(self):
        import pickle
        try:
            pickle.dumps(self.exc_type)
            t = self.exc_type
        except Exception:
            t = None
        return {"exc_type": t, "name": self.exc_type.__name__, "where": self.where,
                "text": self.text}

    def __setstate__(self, s):
        self.exc_type = s["exc_type"] or RuntimeError
        self.name, self.where, self.text = s["name"], s["where"], s["text"]

    def reraise(self):
        name = getattr(self, "name", self.exc_type.__name__)
        msg = f"Caught {name} {self.where}.\nOriginal {self.text}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


class _KeyErrorMessage(str):
    """KeyError repr()s its argument; this keeps the traceback text readable."""

    def __repr__(self):
        return str(self)


# ---- the worker process ---------------------------------------------------------------------

class _IterFetcher:
    def __init__(self, dataset, auto_collation, collate, drop_last, batch_size):
        self.dataset, self.auto, self.collate = dataset, auto_collation, collate
        self.drop_last, self.batch_size = drop_last, batch_size
        self.it = iter(dataset)

    def fetch(self, _index):
        if not self.auto:
            return self.collate(next(self.it))
        batch = []
        for _ in range(self.batch_size):
            try:
                batch.append(next(self.it))
            except StopIteration:
                break
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise StopIteration
        return self.collate(batch)


def fetch_map(dataset, indices, auto_collation, collate, make):
    """One batch of a map-style dataset (the batched fast path when it applies)."""
    if auto_collation:
        if collate is None:
            gather = getattr(dataset, "_gather", None)
            if gather is not None:
                return [make(a, d) for a, d in gather(indices)]
            many = getattr(dataset, "__getitems__", None)
            data = many(indices) if callable(many) else [dataset[i] for i in indices]
            return _collate(data, make)
        many = getattr(dataset, "__getitems__", None)
        data = many(indices) if callable(many) else [dataset[i] for i in indices]
        return collate(data)
    data = dataset[indices]
    return _convert(data, make) if collate is None else collate(data)


def worker_loop(conn, kind, dataset, auto_collation, collate, drop_last, batch_size,
                base_seed, init_fn, worker_id, num_workers, prefix, parent_pid):
    """Main function of a worker process. `collate` None means the default (host) collate."""
    global _worker_info
    try:
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        seed = base_seed + worker_id
        random.seed(seed)
        np.random.seed(np.random.SeedSequence([base_seed, worker_id]).generate_state(4))
        import irgrad
        manual_seed = getattr(irgrad, "manual_seed", None)
        if manual_seed is not None:
            manual_seed(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = None
        if kind == "iterable":
            fetcher = _IterFetcher(dataset, auto_collation,
                                   collate or (lambda b: _collate(b, to_host)
                                               if auto_collation else _convert(b, to_host)),
                                   drop_last, batch_size)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which re-raises it
        conn.send((-1, "error", ExceptionInfo(e, f"in DataLoader worker process {worker_id}")))
        conn.close()
        return
    exhausted = False
    while True:
        try:
            if not conn.poll(2.0):
                if os.getppid() != parent_pid:
                    break  # the parent died; nobody will ever read our results
                continue
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        if msg[0] == "reset":
            if kind == "iterable":
                fetcher.it = iter(dataset)
                exhausted = False
            prefix = msg[2]
            conn.send((-1, "reset_ack", msg[1]))
            continue
        task, index = msg
        if exhausted:
            conn.send((task, "stop", None))
            continue
        try:
            if kind == "iterable":
                data = fetcher.fetch(index)
            else:
                data = fetch_map(dataset, index, auto_collation, collate, to_host)
            reply = (task, "ok", pack(data, segment_name(prefix, task)))
        except StopIteration:
            exhausted = True
            reply = (task, "stop", None)
        except Exception as e:  # noqa: BLE001
            reply = (task, "error", ExceptionInfo(e, f"in DataLoader worker process "
                                                     f"{worker_id}"))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            break
    try:
        conn.close()
    except OSError:
        pass
    sys.stdout.flush()
