"""DataLoader: batches from a dataset, in the main process or in worker processes.

With `num_workers > 0`, worker processes (forked by default on Linux, as in PyTorch) fetch
and collate batches and pass them through shared memory (see `_worker.py`). Batches come
back in sampler order. A worker's exception is re-raised in the parent with its type and the
worker's traceback; a worker that dies (even by SIGKILL) is reported within seconds as
`RuntimeError: DataLoader worker (pid N) exited unexpectedly`, after the parent has unlinked
every shared-memory segment that worker may have created.
"""
from __future__ import annotations

import atexit
import itertools
import multiprocessing
import multiprocessing.connection
import os
import signal
import time

from ._collate import default_collate, default_convert, to_tensor
from . import _worker
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, draw_seed

__all__ = ["DataLoader", "get_worker_info"]

get_worker_info = _worker.get_worker_info
_iter_ids = itertools.count()
_live = {}   # id -> weakref of every multi-process iterator with running workers


@atexit.register
def _shutdown_all():
    """Stop workers and unlink their segments before the interpreter tears modules down."""
    for ref in list(_live.values()):
        it = ref()
        if it is not None:
            try:
                it._shutdown()
            except Exception:
                pass


class _InfiniteConstantSampler(Sampler):
    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """PyTorch's DataLoader (map-style and iterable datasets, samplers, workers)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._iterator is None or not self._iterator._alive:
                self._iterator = _MultiProcessIter(self)
            else:
                self._iterator._reset()
            return self._iterator
        return _MultiProcessIter(self)

    def _default_collate_kind(self):
        """None when the collate is the default one (workers then collate on the host)."""
        return None if self.collate_fn in (default_collate, default_convert) else self.collate_fn


class _BaseIter:
    def __init__(self, loader):
        self._loader = loader
        self._sampler_iter = iter(loader._index_sampler)
        self._yielded = 0

    def __iter__(self):
        return self

    def _next_index(self):
        return next(self._sampler_iter)

    def __len__(self):
        return len(self._loader)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._collate = loader._default_collate_kind()
        self._fetch_iter = iter(loader.dataset) if loader._iterable else None
        if loader._iterable:
            self._fetcher = _worker._IterFetcher(
                loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last,
                loader.batch_size)

    def __next__(self):
        index = self._next_index()
        ld = self._loader
        if ld._iterable:
            data = self._fetcher.fetch(index)
        else:
            data = _worker.fetch_map(ld.dataset, index, ld._auto_collation, self._collate,
                                     to_tensor)
        self._yielded += 1
        return data


def _context(spec):
    if spec is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    if isinstance(spec, str):
        return multiprocessing.get_context(spec)
    return spec


class _MultiProcessIter(_BaseIter):
    """Batches from worker processes, delivered in sampler order."""

    def __init__(self, loader):
        super().__init__(loader)
        ctx = _context(loader.multiprocessing_context)
        prep = getattr(loader.dataset, "_prepare", None)
        if prep is not None:
            prep()
        from ...multiprocessing import _fork
        _fork.install()
        _fork.synchronize_devices()
        from multiprocessing import resource_tracker
        resource_tracker.ensure_running()   # one tracker shared by the workers, as a backstop
        self._epoch = 0
        self._prefix = self._new_prefix()
        base_seed = draw_seed(loader.generator)
        n = loader.num_workers
        self._workers, self._conns = [], []
        kind = "iterable" if loader._iterable else "map"
        for wid in range(n):
            parent_conn, child_conn = ctx.Pipe(duplex=True)
            w = ctx.Process(target=_worker.worker_loop, daemon=True, args=(
                child_conn, kind, loader.dataset, loader._auto_collation,
                loader._default_collate_kind(), loader.drop_last, loader.batch_size, base_seed,
                loader.worker_init_fn, wid, n, self._prefix, os.getpid()))
            w.start()
            child_conn.close()
            self._workers.append(w)
            self._conns.append(parent_conn)
        self._alive = True
        import weakref
        _live[id(self)] = weakref.ref(self)
        self._start_epoch()

    def _new_prefix(self):
        return f"irgrad_dl_{os.getpid()}_{next(_iter_ids)}"

    def _start_epoch(self):
        n = self._loader.num_workers
        self._send_idx = 0
        self._rcvd_idx = 0
        self._tasks = {}            # task -> [worker id] or [worker id, payload]
        self._active = [True] * n
        self._cycle = itertools.cycle(range(n))
        self._sampler_done = False
        for _ in range(self._loader.prefetch_factor * n):
            self._try_put_index()

    def _reset(self):
        """Start a new epoch on the same (persistent) workers."""
        self._sampler_iter = iter(self._loader._index_sampler)
        old_tasks = dict(self._tasks)
        self._epoch += 1
        old_prefix, self._prefix = self._prefix, self._new_prefix()
        for conn in self._conns:
            self._send(conn, ("reset", self._epoch, self._prefix))
        acks = 0
        while acks < len(self._conns):
            task, kind, payload = self._get_message()
            if kind == "reset_ack" and payload == self._epoch:
                acks += 1
            elif kind == "ok" and payload[1] is not None:
                _worker.unlink_quietly(payload[1])   # a stale batch of the previous epoch
        for task in old_tasks:
            _worker.unlink_quietly(_worker.segment_name(old_prefix, task))
        self._start_epoch()

    def _try_put_index(self):
        if self._sampler_done or not any(self._active):
            return
        try:
            index = self._next_index()
        except StopIteration:
            self._sampler_done = True
            return
        for _ in range(len(self._active)):
            wid = next(self._cycle)
            if self._active[wid]:
                break
        else:
            return
        task = self._send_idx
        self._send(self._conns[wid], (task, index))
        self._tasks[task] = [wid]
        self._send_idx += 1

    def _send(self, conn, msg):
        try:
            conn.send(msg)
        except (BrokenPipeError, OSError):
            self._check_workers(force=True)
            raise

    def __next__(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._tasks.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._active[info[0]]):
                    break
                self._tasks.pop(self._rcvd_idx, None)  # skipped: its worker ran dry
                self._rcvd_idx += 1
            else:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            info = self._tasks[self._rcvd_idx]
            if len(info) == 2:
                self._tasks.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                self._try_put_index()
                return self._deliver(info[1])
            task, kind, payload = self._get_message()
            if kind == "stop":
                self._active[self._tasks[task][0]] = False
                self._tasks.pop(task, None)
                self._try_put_index()
                continue
            if kind == "reset_ack":
                continue
            if task in self._tasks:
                self._tasks[task].append((kind, payload))
            elif kind == "ok" and payload[1] is not None:
                _worker.unlink_quietly(payload[1])

    def _deliver(self, result):
        kind, payload = result
        self._yielded += 1
        if kind == "error":
            payload.reraise()
        skel, name, size = payload
        return _worker.unpack(skel, name, size)

    def _get_message(self):
        """The next message from any worker; raises if a worker died or on timeout."""
        timeout = self._loader.timeout
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            waits = [c for c in self._conns if not c.closed]
            wait_for = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            ready = multiprocessing.connection.wait(waits, timeout=wait_for)
            for conn in ready:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    # The worker closed its end: it is exiting or already dead.
                    w = self._workers[self._conns.index(conn)]
                    w.join(timeout=2.0)
                    self._report_death(w)
                if msg[0] == -1 and msg[1] == "error":
                    self._shutdown()
                    msg[2].reraise()
                return msg
            self._check_workers()
            if deadline is not None and time.monotonic() >= deadline:
                self._shutdown()
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def _check_workers(self, force=False):
        for w in self._workers:
            if not w.is_alive():
                w.join(timeout=1.0)
                self._report_death(w)
        if force:
            self._shutdown()
            raise RuntimeError("DataLoader worker connection closed unexpectedly")

    def _report_death(self, w):
        code = w.exitcode
        self._shutdown()
        how = "still running" if code is None else f"exit code {code}"
        if code is not None and code < 0:
            try:
                how = f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        raise RuntimeError(f"DataLoader worker (pid {w.pid}) exited unexpectedly ({how})") \
            from None

    def _shutdown(self):
        if not self._alive:
            return
        self._alive = False
        _live.pop(id(self), None)
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + 2.0
        for w in self._workers:
            w.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                # Busy in a slow __getitem__: its work is unwanted, and any segment it
                # may be writing is unlinked below by name.
                w.terminate()
                w.join(timeout=2.0)
        for conn in self._conns:
            conn.close()
        # Every batch a worker may have written and nobody consumed: unlink by name.
        for task in list(self._tasks):
            _worker.unlink_quietly(_worker.segment_name(self._prefix, task))
        self._tasks.clear()

    def __del__(self):
        try:
            self._shutdown()
        except Exception:
            pass
