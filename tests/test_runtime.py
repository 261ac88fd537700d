"""Runtime robustness: queued (asynchronous) runs, released results, clean process exit."""
import subprocess
import sys

import numpy as np

import irgrad


def test_releasing_unread_results_between_runs():
    """Results dropped before anyone waited on them must not disturb later runs (a shared
    timeline once failed with 'semaphore already signaled past N')."""
    with irgrad.eager():
        for _ in range(3):
            x = irgrad.tensor(np.ones((3, 4), np.float32))
            w = irgrad.tensor(np.ones((3, 4), np.float32))
            s = (x * w).sum()
            e = irgrad.full((), 1.0).reshape(1, 1).expand(3, 4) * w
            del x, w, s, e
    y = irgrad.arange(6).float().reshape(2, 3) * 2
    np.testing.assert_array_equal(y.numpy(), np.arange(6).reshape(2, 3) * 2.0)


def test_many_queued_runs_then_read():
    x = irgrad.tensor(np.zeros(4, np.float32))
    for _ in range(50):
        x = x + 1.0
        irgrad.realize(x)  # queued, not waited on
    assert x.tolist() == [50.0] * 4


def test_process_exits_cleanly_after_running_graphs():
    code = ("import irgrad as t\n"
            "x = t.tensor([1.0, 2.0]) * 2\n"
            "print(x.tolist())\n"
            "with t.eager():\n"
            "    y = (t.ones(3) * 2).sum()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[2.0, 4.0]"
