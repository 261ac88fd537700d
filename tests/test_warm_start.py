"""The graph index (lowering/graph_index.py): a warm on-disk cache in a new process.

A second process running the same training step finds each graph's module through the
index: no passes, no MLIR, no IREE compile, and `iree.compiler` is never imported. Changed
attributes, shapes and dtypes miss the index (results checked against torch), damaged index
entries fall back to the normal path, and values the strict key encoder does not know
refuse the index. Shapes here are unique to this file, so the session's shared cache
(tests/conftest.py) is cold for them.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import irgrad
from irgrad.frontend import realize
from irgrad.ir import dtypes as dt
from irgrad.ir.graph import Graph
from irgrad.ir.node import make
from irgrad.lowering import cache, graph_index

# The training step that both the child processes and torch (in this process) run.
STEP_SRC = '''
import numpy as np


def train(lib, steps=2):
    r = np.random.default_rng(7)
    x = lib.tensor(r.standard_normal((6, 11)).astype(np.float32))
    y = lib.tensor(r.integers(0, 3, size=6))
    params = [lib.tensor(r.standard_normal(s).astype(np.float32) * 0.3, requires_grad=True)
              for s in ((13, 11), (13,), (3, 13), (3,))]
    opt = lib.optim.SGD(params, lr=0.1)
    losses = []
    for _ in range(steps):
        w1, b1, w2, b2 = params
        h = lib.relu(x @ w1.T + b1)
        loss = lib.nn.functional.cross_entropy(h @ w2.T + b2, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().tolist() for p in params]
'''
exec(STEP_SRC)

CHILD = STEP_SRC + '''
import json, sys
import irgrad
imported_at_start = "iree.compiler" in sys.modules or "networkx" in sys.modules
losses, params = train(irgrad)
from irgrad.frontend import realize
from irgrad.lowering import cache, graph_index
print(json.dumps(dict(losses=losses, params=params, memory_misses=realize.counters["compiles"],
                      compiler_imported="iree.compiler" in sys.modules,
                      imported_at_start=imported_at_start, index_off=graph_index.state["off"],
                      source=graph_index.state["source"], **cache.stats)))
'''


def run_child(cache_dir):
    env = {k: v for k, v in os.environ.items()
           if k not in ("IRGRAD_EAGER", "IRGRAD_DUMP", "IRGRAD_LOG")}
    env["IRGRAD_CACHE_DIR"] = cache_dir
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fail_if_source_edited(*children):
    """Editing irgrad while this runs turns the index off (or changes its keys) on purpose;
    say so plainly instead of reporting it as a broken index."""
    for c in children:
        if c["index_off"] and "source changed" in c["index_off"]:
            pytest.fail(f"irgrad's source was edited during the test (rerun it): "
                        f"{c['index_off']}")
    if len({c["source"] for c in children}) > 1:
        pytest.fail("irgrad's source was edited between the two processes (rerun the test)")


def test_second_process_loads_modules_without_compiler(cache_dir):
    first = run_child(cache_dir)
    assert first["compiles"] + first["disk_hits"] == first["memory_misses"] >= 1
    assert not first["imported_at_start"]
    second = run_child(cache_dir)
    fail_if_source_edited(first, second)
    assert first["index_off"] is None and second["index_off"] is None
    assert second["compiles"] == 0, second
    assert second["index_hits"] == second["disk_hits"] == second["memory_misses"] >= 1
    assert second["compiler_imported"] is False and not second["imported_at_start"]
    assert second["losses"] == first["losses"] and second["params"] == first["params"]
    want_losses, want_params = train(torch)
    np.testing.assert_allclose(second["losses"], want_losses, rtol=1e-5, atol=1e-6)
    for got, want in zip(second["params"], want_params):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module", autouse=True)
def fresh_index_state():
    """Tests in this process start the index afresh (a source edit by other work earlier in
    the session would have turned it off); what they record goes to the session's own
    temporary cache directory. The guard against such edits is tested separately."""
    saved, loaded_at = dict(graph_index.state), graph_index._LOADED_AT
    graph_index.state.clear()
    graph_index._LOADED_AT = time.time() + graph_index.LOAD_MARGIN_S
    yield
    graph_index.state.clear()
    graph_index.state.update(saved)
    graph_index._LOADED_AT = loaded_at


def snapshot():
    return dict(cache.stats)


def delta(before):
    return {k: v - before.get(k, 0) for k, v in cache.stats.items()}


def fn(lib, x, scale=2.0):
    return (lib.exp(x * scale) - x).sum(1)


def realize_fresh(monkeypatch, x, scale=2.0):
    """fn(x) realized with an empty memory cache, so the index is consulted."""
    monkeypatch.setattr(realize, "_memory_cache", {})
    before = snapshot()
    got = fn(irgrad, irgrad.tensor(x), scale).numpy()
    return got, delta(before)


BASE = np.linspace(-1, 1, 5 * 9, dtype=np.float32).reshape(5, 9)  # shape unique to this file


@pytest.fixture(scope="module")
def base_entry(cache_dir):
    """Realize the base graph once (compile or disk hit): its index entry is then on disk."""
    saved = realize._memory_cache
    realize._memory_cache = {}
    try:
        fn(irgrad, irgrad.tensor(BASE)).numpy()
    finally:
        realize._memory_cache = saved
    key = graph_index.key_for(Graph.cut([fn(irgrad, irgrad.tensor(BASE)).node]), "cpu")
    path = graph_index.entry_path(key)
    assert os.path.exists(path)
    return key, path


def torch_fn(x, scale=2.0):
    return fn(torch, torch.tensor(x), scale).numpy()


def test_index_hit_in_process(base_entry, monkeypatch):
    got, d = realize_fresh(monkeypatch, BASE + 1)
    assert d["index_hits"] == 1 and d["compiles"] == 0, d
    np.testing.assert_allclose(got, torch_fn(BASE + 1), rtol=1e-5)


@pytest.mark.parametrize("change", ["attr", "shape", "dtype"])
def test_changed_graph_misses_the_index(base_entry, monkeypatch, change):
    x, scale = BASE, 2.0
    if change == "attr":
        scale = 3.0
    elif change == "shape":
        x = BASE.reshape(9, 5)
    else:
        x = BASE.astype(np.float64)
    key = graph_index.key_for(Graph.cut([fn(irgrad, irgrad.tensor(x), scale).node]), "cpu")
    assert key is not None and key != base_entry[0]
    got, d = realize_fresh(monkeypatch, x, scale)
    assert d["index_hits"] == 0 and d["compiles"] + d["disk_hits"] == 1, d
    assert got.dtype == x.dtype
    np.testing.assert_allclose(got, torch_fn(x, scale), rtol=1e-6 if change == "dtype" else 1e-5)


def key_of(node, target="cpu"):
    return graph_index.key_for(Graph.cut([node]), target)


def test_keys_follow_everything_that_shapes_the_module(monkeypatch):
    """No compile: keys of structurally different graphs, and under settings that change
    the lowering, all differ; the same structure recorded again has the same key."""
    a = irgrad.tensor(np.ones((2, 3), np.float32)).node
    b = irgrad.tensor(np.ones((2, 3), np.float32)).node
    mul = lambda u, v, **kw: make("mul", (u, v), **kw)  # noqa: E731
    base = key_of(make("add", (mul(a, b), a)))
    assert base == key_of(make("add", (mul(a, b), a)))  # recorded again: same key
    variants = [
        make("add", (mul(b, a), a)),          # same ops and types, other input positions
        make("add", (a, mul(a, b))),          # operands swapped
        make("sub", (mul(a, b), a)),          # another op
        make("add", (mul(a, a), a)),          # one input instead of two
        make("add", (mul(a, b), mul(a, b))),  # one product used twice
    ]
    keys = [key_of(v) for v in variants]
    # attributes: -0.0 and 0.0, 1 and True, 1 and 1.0 are different constants
    consts = [make("const", (), value=v, dtype=dt.float32)
              for v in (0.0, -0.0, 1.0, 1.0 + 2.0 ** -20)]
    keys += [key_of(make("add", (a, c))) for c in consts]
    n = irgrad.tensor(np.ones((2, 3), np.int64)).node
    keys += [key_of(make("add", (n, make("const", (), value=v, dtype=dt.int64))))
             for v in (1, True)]
    keys.append(key_of(make("add", (mul(a, b), a)), "vulkan"))
    for var, value in (("IRGRAD_PASSES", "none"), ("IRGRAD_DATA_TILING", "1"),
                       ("IRGRAD_CPU", "generic"), ("IRGRAD_SOMETHING_NEW", "x")):
        monkeypatch.setenv(var, value)
        keys.append(key_of(make("add", (mul(a, b), a))))
        monkeypatch.delenv(var)
    monkeypatch.setenv("IRGRAD_LOG", "cache")  # logging does not change the module
    assert key_of(make("add", (mul(a, b), a))) == base
    assert None not in keys and len(set(keys + [base])) == len(keys) + 1


@pytest.mark.parametrize("value", [np.float32(1.5), np.float64(1.5), np.int64(2), {"a": 1},
                                   {1, 2}, object(), b"bytes", 1 + 2j],
                         ids=lambda v: type(v).__name__)
def test_unknown_attribute_type_refuses_the_index(value):
    with pytest.raises(graph_index.Refused):
        graph_index.encode(("ok", 1, [2.5, None], value))
    try:
        hash(value)
    except TypeError:
        return  # unhashable: cannot even be recorded as an attribute
    a = irgrad.tensor(np.ones((3,), np.float32)).node
    node = make("const", (), value=value, dtype=dt.float32)
    assert key_of(make("add", (a, node))) is None


def test_known_attribute_types_encode_unambiguously():
    arr = np.arange(6, dtype=np.int32)
    values = ["ab", ("ab",), ("a", "b"), 1, True, 1.0, None, (), [], ((),), [()], dt.float32,
              dt.float64, "d7:float32", arr, arr.reshape(2, 3), arr.astype(np.int64),
              arr[::-1], -0.0, 0.0, float("nan"), float("inf"), 2 ** 80, "s2:ab"]
    codes = [graph_index.encode(v) for v in values]
    assert len(set(codes)) == len(codes)
    assert graph_index.encode(np.arange(3)) == graph_index.encode(np.arange(3))


def test_refused_graph_still_runs_and_records_no_entry(cache_dir, monkeypatch):
    """A graph with a NumPy scalar attribute takes the normal path (and is correct)."""
    monkeypatch.setattr(realize, "_memory_cache", {})
    x = irgrad.tensor(np.arange(7, dtype=np.float32))
    node = make("add", (x.node, make("const", (), value=np.float64(0.25), dtype=dt.float32)))
    assert key_of(node) is None
    before = set(os.listdir(cache_dir))
    got = irgrad.Tensor._from_node(node).numpy()
    np.testing.assert_allclose(got, np.arange(7) + 0.25)
    assert not [f for f in set(os.listdir(cache_dir)) - before if f.endswith(".gidx")]


def _reseal(payload):
    return cache.seal(graph_index.MAGIC, json.dumps(payload).encode())


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "other_key",
                                    "bad_digest", "missing_module"])
def test_damaged_index_entry_falls_back(base_entry, monkeypatch, capfd, damage):
    key, path = base_entry
    with open(path, "rb") as f:
        blob = f.read()
    entry = json.loads(cache.unseal(graph_index.MAGIC, blob))
    if damage == "truncate":
        bad = blob[:len(blob) // 2]
    elif damage == "flip":  # still valid JSON naming a well-formed digest: the seal tells
        at = blob.index(entry["digest"].encode()) + 5
        bad = blob[:at] + (b"0" if blob[at:at + 1] != b"0" else b"1") + blob[at + 1:]
    elif damage == "garbage":
        bad = np.random.default_rng(0).bytes(len(blob))
    elif damage == "empty":
        bad = b""
    elif damage == "other_key":  # well sealed, but written for another key
        bad = _reseal(dict(entry, key="0" * 64))
    elif damage == "bad_digest":
        bad = _reseal(dict(entry, digest="../" + entry["digest"][3:]))
    else:
        bad = _reseal(dict(entry, digest="f" * 64))
    try:
        with open(path, "wb") as f:
            f.write(bad)
        irgrad.logs.set_topics("cache")
        got, d = realize_fresh(monkeypatch, BASE * 0.5)
        err = capfd.readouterr().err
    finally:
        irgrad.logs.set_topics(None)
    np.testing.assert_allclose(got, torch_fn(BASE * 0.5), rtol=1e-5)
    assert d["index_hits"] == 0 and d["disk_hits"] == 1 and d["compiles"] == 0, d
    if damage == "missing_module":
        assert "names a missing or damaged module" in err, err
    else:
        assert "ignoring damaged index entry" in err, err
    # the normal path rewrote the entry: the next lookup hits again
    with open(path, "rb") as f:
        assert f.read() == blob
    assert realize_fresh(monkeypatch, BASE)[1]["index_hits"] == 1


def test_source_edited_after_loading_turns_the_index_off(monkeypatch):
    """Files newer than the process's load time may not be the code it runs."""
    monkeypatch.setattr(graph_index, "state", {})
    monkeypatch.setattr(graph_index, "_LOADED_AT", 0.0)
    a = irgrad.tensor(np.ones((2, 2), np.float32)).node
    assert key_of(make("neg", (a,))) is None
    assert "source changed" in graph_index.state["off"]


def test_source_edited_while_running_records_nothing(cache_dir, monkeypatch):
    """passes/ is imported on the first compile, after the key was made: a source change in
    between must not be recorded under the old digest, and turns the index off."""
    monkeypatch.setattr(graph_index, "state", {})
    monkeypatch.setattr(graph_index, "_LOADED_AT", time.time() + graph_index.LOAD_MARGIN_S)
    a = irgrad.tensor(np.ones((2, 2), np.float32)).node
    key = key_of(make("neg", (a,)))
    assert key is not None
    monkeypatch.setattr(graph_index, "source_digest", lambda: "0" * 64)
    graph_index.record(key, "ab" * 32)
    assert not os.path.exists(graph_index.entry_path(key))
    assert key_of(make("neg", (a,))) is None
    assert "while this process ran" in graph_index.state["off"]
