"""irgrad.multiprocessing: shared-memory tensors seen across processes, tensors through
queues as plain data, Hogwild training, fork safety, and spawn()."""
import os
import time

import numpy as np
import pytest

import irgrad
import irgrad.multiprocessing as mp
from irgrad.frontend.creation import from_host


def test_share_memory_keeps_values_and_dtype():
    cases = [irgrad.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
             irgrad.tensor([True, False, True]), irgrad.tensor(np.arange(4)),
             from_host(np.array([1.5, -2.0], np.float32), irgrad.bfloat16),
             irgrad.tensor(2.5)]
    for t in cases:
        before = t.numpy().copy()
        assert not t.is_shared()
        assert t.share_memory_() is t and t.is_shared()
        assert t.share_memory_() is t                 # idempotent
        np.testing.assert_array_equal(t.numpy(), before)
    # shared tensors are ordinary graph inputs
    np.testing.assert_array_equal((cases[0] * 2).numpy(), np.arange(6).reshape(2, 3) * 2)
    p = irgrad.nn.Parameter(irgrad.tensor([1.0, 2.0]))
    p.share_memory_()
    assert p.is_shared() and p.requires_grad and isinstance(p, irgrad.nn.Parameter)


def _child_add(t, q):
    seen = t.detach().numpy().tolist()                # inherited through fork
    t2 = q.get()                                      # a shared tensor sent through a queue
    opt = irgrad.optim.SGD([t2], lr=1.0)
    t2.grad = irgrad.tensor([-10.0, -20.0, -30.0])
    opt.step()                                        # writes into the shared segment
    after = t.detach().numpy().tolist()               # t and t2 map the same memory
    q.put(("done", irgrad.tensor([7, 8, 9]), seen, after))


def test_child_sees_and_updates_shared_tensor():
    ctx = mp.get_context("fork")
    w = irgrad.tensor([1.0, 2.0, 3.0], requires_grad=True).share_memory_()
    q = ctx.Queue()
    q.put(w)
    proc = ctx.Process(target=_child_add, args=(w, q))
    proc.start()
    time.sleep(0.2)
    msg, plain, seen, after = q.get(timeout=60)
    proc.join(timeout=60)
    assert proc.exitcode == 0 and msg == "done"
    assert seen == [1.0, 2.0, 3.0] and after == [11.0, 22.0, 33.0]
    np.testing.assert_array_equal(plain.numpy(), [7, 8, 9])
    assert plain.dtype == irgrad.int64 and not plain.is_shared()
    np.testing.assert_array_equal(w.detach().numpy(), [11.0, 22.0, 33.0])
    np.testing.assert_array_equal((w * 1).detach().numpy(), [11.0, 22.0, 33.0])


def _hogwild_worker(rank, w, xs, ys, steps):
    opt = irgrad.optim.SGD([w], lr=0.05)
    x, y = irgrad.tensor(xs[rank]), irgrad.tensor(ys[rank])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        opt.step()


def test_hogwild_training():
    rng = np.random.default_rng(0)
    true_w = rng.normal(size=(4, 1)).astype(np.float32)
    xs = [rng.normal(size=(32, 4)).astype(np.float32) for _ in range(2)]
    ys = [x @ true_w for x in xs]
    w = irgrad.tensor(np.zeros((4, 1), np.float32), requires_grad=True).share_memory_()

    def loss():
        return float(np.mean([((x @ w.detach().numpy() - y) ** 2).mean()
                              for x, y in zip(xs, ys)]))

    start = loss()
    mp.spawn(_hogwild_worker, args=(w, xs, ys, 30), nprocs=2, start_method="fork")
    assert loss() < 0.1 * start


def test_tensors_through_a_pipe_are_plain_data():
    a, b = mp.Pipe()
    p = irgrad.nn.Parameter(irgrad.tensor([1.0, 2.0]))
    t = irgrad.tensor(np.arange(3, dtype=np.float64))
    a.send([p, t, (t + 1)])
    p2, t2, t3 = b.recv()
    assert isinstance(p2, irgrad.nn.Parameter) and p2.requires_grad
    assert t2.dtype == irgrad.float64 and t3.tolist() == [1.0, 2.0, 3.0]
    assert not t2.is_shared()


def _child_graph(conn):
    conn.send((irgrad.tensor([1.0, 2.0]) * 4 - 1).tolist())


def test_forked_child_runs_graphs():
    """A plain fork after the parent used the device: the child gets its own runtime."""
    (irgrad.tensor([1.0]) + 1).numpy()
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    proc = ctx.Process(target=_child_graph, args=(b,))
    proc.start()
    assert a.poll(120), "the forked child hung"
    assert a.recv() == [3.0, 7.0]
    proc.join(timeout=30)
    assert proc.exitcode == 0


def _fails(rank):
    if rank == 1:
        raise ValueError("rank 1 failed")


def _exits(rank):
    os._exit(3)


def test_spawn_reports_failures():
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 failed"):
        mp.spawn(_fails, nprocs=2, start_method="fork")
    with pytest.raises(mp.ProcessExitedException, match="exit code 3"):
        mp.spawn(_exits, nprocs=1, start_method="fork")
    ctx = mp.spawn(_fails, args=(), nprocs=1, join=False, start_method="fork")
    while not ctx.join():
        pass
