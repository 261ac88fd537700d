"""`IRGRAD_LOG=recompile`: each recompile at a call site says what changed, and where.

The first tests really compile (tiny graphs; the memory cache is emptied so misses happen,
the session's disk cache is shared); the rest feed `recompile.note_miss` graphs cut from
unrealized nodes, which needs no compile at all.
"""
import gc
import os
import re
import weakref

import numpy as np
import pytest

import irgrad
import irgrad.nn as nn
from irgrad.frontend import realize, recompile
from irgrad.ir.graph import Graph
from irgrad.logs import set_topics

from source_lines import marked_line

HERE = os.path.basename(__file__)


def line_of(marker: str) -> int:
    return marked_line(__file__, marker)


def at(marker: str) -> str:
    return f"{HERE}:{line_of(marker)}"


def messages(err: str):
    return [ln.split("] ", 1)[1] for ln in err.splitlines()
            if ln.startswith("[irgrad:recompile] ")]


@pytest.fixture
def recompile_log(monkeypatch):
    """The topic on, no remembered sites, and an empty memory cache (so misses happen)."""
    monkeypatch.setattr(realize, "_memory_cache", {})
    recompile._sites.clear()
    set_topics("recompile")
    yield
    set_topics(None)
    recompile._sites.clear()


def test_batch_size_change_in_a_training_step(recompile_log, capfd):
    irgrad.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Linear(4, 2)
    opt = irgrad.optim.SGD(model.parameters(), lr=0.1)

    def step(batch):
        x = irgrad.tensor(rng.standard_normal((batch, 4), dtype=np.float32))  # MARK-x
        y = irgrad.tensor(rng.standard_normal((batch, 2), dtype=np.float32))
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()  # MARK-step
        return loss

    step(8)
    step(8)
    assert messages(capfd.readouterr().err) == []  # a first compile, then a memory hit
    compiles = realize.counters["compiles"]
    loss = step(5)  # the last, smaller batch of an epoch
    assert realize.counters["compiles"] == compiles + 1
    (msg,) = messages(capfd.readouterr().err)
    assert msg.startswith(f"graph for {at('MARK-step')} recompiled (compile #2 for this "
                          f"site): input %"), msg
    assert f"shape (8, 4) -> (5, 4) (recorded at {at('MARK-x')})" in msg, msg
    assert "shape (8, 2) -> (5, 2)" in msg, msg
    assert re.search(r"; \d+ nodes change shape as a result$", msg), msg
    assert np.isfinite(loss.item())


def scaled_sum(t):
    return (t * 2.0).sum()  # MARK-dtype-op


def test_input_dtype_change(recompile_log, capfd):
    for dt in (np.float32, np.float64):
        x = irgrad.tensor(np.arange(6, dtype=dt).reshape(2, 3))  # MARK-dtype-x
        assert scaled_sum(x).item() == 30.0
    (msg,) = messages(capfd.readouterr().err)
    assert msg.startswith(f"graph for {at('MARK-dtype-op')} recompiled (compile #2 for this "
                          f"site): input %0 dtype float32 -> float64 (recorded at "
                          f"{at('MARK-dtype-x')})"), msg
    assert "dtype as a result" in msg, msg


def test_reduction_dim_change(recompile_log, capfd):
    x = irgrad.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    got = [(x * 1.5).sum(d).tolist() for d in (1, 0)]  # MARK-attr
    want = [(np.arange(12, dtype=np.float32).reshape(3, 4) * 1.5).sum(d).tolist()
            for d in (1, 0)]
    assert got == want
    (msg,) = messages(capfd.readouterr().err)
    assert msg == (f"graph for {at('MARK-attr')} recompiled (compile #2 for this site): "
                   f"attr of sum at {at('MARK-attr')}: dims=(1,) -> dims=(0,)"), msg
    (x * 1.5).sum(1).tolist()  # the same graph again: a memory hit prints nothing
    assert messages(capfd.readouterr().err) == []


def test_op_change(recompile_log, capfd):
    x = irgrad.tensor(np.linspace(-1, 1, 6, dtype=np.float32))
    for act in (irgrad.relu, irgrad.sigmoid):
        act(x * 2.0).sum().item()  # MARK-op
    (msg,) = messages(capfd.readouterr().err)
    assert msg == (f"graph for {at('MARK-op')} recompiled (compile #2 for this site): "
                   f"op at {at('MARK-op')} changed: relu -> sigmoid"), msg


def test_silent_when_topic_off(recompile_log, capfd):
    set_topics("")
    compiles = realize.counters["compiles"]
    for n in (3, 4):
        (irgrad.tensor(np.ones(n, np.float32)) - 0.25).sum().item()
    assert realize.counters["compiles"] == compiles + 2
    assert "[irgrad:recompile]" not in capfd.readouterr().err


# Below: graphs cut from unrealized nodes and handed to note_miss directly (no compiles).

def note(*tensors):
    recompile.note_miss(Graph.cut([t.node for t in tensors]), "cpu")


def head(x, extra):
    y = x * 2.0
    if extra:
        y = y.exp()  # MARK-added
    return y.sum()  # MARK-head


def test_added_op_and_added_output(recompile_log, capsys):
    x = irgrad.tensor(np.ones((2, 3), np.float32))
    note(head(x, False))
    note(head(x, True))
    y = x * 2.0
    note(head(x, False), y.exp())  # MARK-output
    first, second = messages(capsys.readouterr().err)
    assert first == (f"graph for {at('MARK-head')} recompiled (compile #2 for this site): "
                     f"1 op added at {at('MARK-added')}: exp"), first
    # The nearest earlier graph is the first one (the second has its exp in the middle).
    assert second.endswith(f"outputs 1 -> 2 (new: exp at {at('MARK-output')})"), second


def test_const_change_is_pointed_out(recompile_log, capsys):
    x = irgrad.tensor(np.ones(3, np.float32))
    for lr in (0.1, 0.05):
        note(x * lr)  # MARK-const
    (msg,) = messages(capsys.readouterr().err)
    assert f"attr of const at {at('MARK-const')}: value=0.1 -> value=0.05" in msg, msg
    assert "pass a tensor" in msg


def test_same_structure_after_cache_clear(recompile_log, capsys):
    x = irgrad.tensor(np.ones(3, np.float32))
    for _ in range(2):
        note(x.exp())  # the same graph twice, as after reset_after_fork
    (msg,) = messages(capsys.readouterr().err)
    assert "same structure as compile #1" in msg, msg


def test_message_is_capped(recompile_log, capsys):
    for n in (2, 3):
        xs = [irgrad.tensor(np.ones((n, k + 1), np.float32)) for k in range(40)]
        note(irgrad.stack([x.sum() for x in xs]))  # MARK-many
    (msg,) = messages(capsys.readouterr().err)
    assert len(msg) < 700, len(msg)
    assert re.search(r"and \d+ more differences", msg), msg
    assert msg.split(": ", 1)[1].startswith("input %0 shape (2, 1) -> (3, 1)"), msg


def test_history_is_bounded_and_keeps_nothing_alive(recompile_log, capsys):
    refs = []
    for n in range(recompile.MAX_GRAPHS + 4):
        x = irgrad.tensor(np.ones(n + 1, np.float32))
        y = x.neg()  # MARK-bounded
        refs.append(weakref.ref(y.node))
        note(y)
        del x, y
    gc.collect()
    assert all(r() is None for r in refs)
    (entry,) = recompile._sites.values()
    assert entry[0] == recompile.MAX_GRAPHS + 4 and len(entry[1]) == recompile.MAX_GRAPHS
    last = messages(capsys.readouterr().err)[-1]
    assert "shape (11,) -> (12,)" in last and f"(compile #{entry[0]} " in last, last
