"""The compile caches: one compile per graph, memory hits on new values, disk hits in a new
process, atomic cache writes, and corrupted entries detected and recompiled.

Compiles are counted with `irgrad.lowering.compile.stats` (real IREE compiles, disk hits)
and `irgrad.frontend.realize.counters` (memory-cache misses and hits). Every test uses its
own cache directory, and shapes no other test file uses, so nothing is warm by accident.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import irgrad
from irgrad.frontend import realize
from irgrad.ir.graph import Graph
from irgrad.lowering import cache
from irgrad.lowering import compile as compile_mod

# The "same code" that the tests (and a child process) run: 300 recorded elementwise ops.
CHAIN_SRC = '''
def chain(x, w):
    y = x
    for _ in range(100):
        y = (y * 0.5 + w) - 0.25
    return y


def chain_ref(x, w):
    y = x.astype("float64")
    for _ in range(100):
        y = (y * 0.5 + w) - 0.25
    return y
'''
exec(CHAIN_SRC)
SHAPE = (5, 7)  # unique to this file


def small(x):
    """A small graph for the corruption tests (shape unique to this file)."""
    return (x * 3.0 + 1.0).exp()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("IRGRAD_CACHE_DIR", str(d))
    return d


def snapshot():
    return dict(compile_mod.stats), dict(realize.counters)


def delta(before):
    (s0, c0), (s1, c1) = before, snapshot()
    out = {k: s1[k] - s0[k] for k in s1}
    out.update({"memory_" + k: c1[k] - c0[k] for k in c1})
    return out


def inputs(seed):
    r = np.random.default_rng(seed)
    return r.normal(size=SHAPE).astype(np.float32), r.normal(size=SHAPE[1:]).astype(np.float32)


def entries(d):
    return sorted(p for p in os.listdir(d) if p.endswith(".vmfb"))


def test_300_op_graph_compiles_once_then_hits_memory_and_disk(fresh_cache, tmp_path):
    xa, wa = inputs(0)
    y = chain(irgrad.tensor(xa), irgrad.tensor(wa))
    graph = Graph.cut([y.node])
    assert len(graph.compute_nodes()) >= 300
    before = snapshot()
    got = y.numpy()
    d = delta(before)
    assert d["compiles"] == 1 and d["memory_compiles"] == 1 and d["memory_realizations"] == 1
    np.testing.assert_allclose(got, chain_ref(xa, wa), rtol=1e-5, atol=1e-5)
    assert len(entries(fresh_cache)) == 1

    # The same code on new values: the structural key matches, nothing compiles.
    xb, wb = inputs(1)
    before = snapshot()
    y2 = chain(irgrad.tensor(xb), irgrad.tensor(wb))
    got2 = y2.numpy()
    d = delta(before)
    assert d["compiles"] == 0 and d["disk_hits"] == 0 and d["memory_compiles"] == 0
    assert d["memory_memory_hits"] == 1
    np.testing.assert_allclose(got2, chain_ref(xb, wb), rtol=1e-5, atol=1e-5)

    # A new process with the same cache directory: a disk hit, no compile.
    xc, wc = inputs(2)
    np.save(tmp_path / "x.npy", xc)
    np.save(tmp_path / "w.npy", wc)
    script = CHAIN_SRC + f'''
import json, numpy as np, irgrad
from irgrad.frontend import realize
from irgrad.lowering import compile as compile_mod
x = irgrad.tensor(np.load({str(tmp_path / "x.npy")!r}))
w = irgrad.tensor(np.load({str(tmp_path / "w.npy")!r}))
np.save({str(tmp_path / "out.npy")!r}, chain(x, w).numpy())
print(json.dumps(dict(iree_compiles=compile_mod.stats["compiles"],
                      disk_hits=compile_mod.stats["disk_hits"],
                      memory_misses=realize.counters["compiles"])))
'''
    env = dict(os.environ, IRGRAD_CACHE_DIR=str(fresh_cache))
    env.pop("IRGRAD_EAGER", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats == {"iree_compiles": 0, "disk_hits": 1, "memory_misses": 1}, stats
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), chain_ref(xc, wc), rtol=1e-5,
                               atol=1e-5)


def _disk_lookup(x_np, monkeypatch):
    """Realize `small` with an empty memory cache, so the disk cache is consulted."""
    monkeypatch.setattr(realize, "_memory_cache", {})
    before = snapshot()
    got = small(irgrad.tensor(x_np)).numpy()
    np.testing.assert_allclose(got, np.exp(x_np.astype(np.float64) * 3.0 + 1.0), rtol=1e-5)
    return delta(before)


@pytest.fixture(scope="module")
def pristine_entry(tmp_path_factory):
    """(file name, bytes) of the cache entry for `small`, compiled once for this module."""
    d = tmp_path_factory.mktemp("pristine")
    old = os.environ.get("IRGRAD_CACHE_DIR")
    os.environ["IRGRAD_CACHE_DIR"] = str(d)
    try:
        saved = realize._memory_cache
        realize._memory_cache = {}
        try:
            small(irgrad.tensor(np.zeros((2, 3), np.float32))).numpy()
        finally:
            realize._memory_cache = saved
    finally:
        if old is None:
            del os.environ["IRGRAD_CACHE_DIR"]
        else:
            os.environ["IRGRAD_CACHE_DIR"] = old
    (name,) = entries(d)
    return name, (d / name).read_bytes()


@pytest.mark.parametrize("damage", ["intact", "truncate", "flip", "garbage", "empty"])
def test_damaged_cache_entry_is_detected_and_recompiled(fresh_cache, monkeypatch,
                                                        pristine_entry, damage):
    name, blob = pristine_entry
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    fresh_cache.mkdir()
    path = fresh_cache / name
    if damage == "intact":
        path.write_bytes(blob)
    elif damage == "truncate":
        path.write_bytes(blob[:len(blob) // 2])
    elif damage == "flip":
        mid = len(blob) // 2
        path.write_bytes(blob[:mid] + bytes([blob[mid] ^ 0x01]) + blob[mid + 1:])
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(len(blob)))
    else:
        path.write_bytes(b"")
    d = _disk_lookup(x, monkeypatch)
    if damage == "intact":
        assert d["compiles"] == 0 and d["disk_hits"] == 1, d
        return
    assert d["compiles"] == 1 and d["disk_hits"] == 0, d
    assert path.read_bytes() == blob  # rewritten whole
    assert _disk_lookup(x + 1, monkeypatch)["disk_hits"] == 1


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    final = tmp_path / "entry.vmfb"
    data = os.urandom(1 << 20)
    seen = {}
    real_replace = os.replace

    def checking_replace(src, dst):
        # At the moment of the rename the final name does not exist yet and the temporary
        # file already holds every byte.
        seen["final_existed"] = os.path.exists(dst)
        seen["tmp_size"] = os.path.getsize(src)
        seen["tmp_dir"] = os.path.dirname(src)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", checking_replace)
    cache.atomic_write(str(final), data)
    assert seen == {"final_existed": False, "tmp_size": len(data), "tmp_dir": str(tmp_path)}
    assert final.read_bytes() == data

    # A failure in the middle of a write leaves the previous file and no temporary file.
    def failing_fsync(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        cache.atomic_write(str(final), b"new contents")
    assert final.read_bytes() == data
    assert os.listdir(tmp_path) == ["entry.vmfb"]


KILL_SCRIPT = '''
import os, sys
from irgrad.lowering import cache
payloads = [bytes([i]) * (3 << 20) for i in range(4)]
print("ready", flush=True)
i = 0
while True:
    cache.write(sys.argv[1], payloads[i % 4])
    i += 1
'''


def test_kill_during_cache_writes_never_leaves_a_partial_entry(fresh_cache):
    """kill -9 at random points while entries are rewritten: the entry always verifies."""
    digest = "ab" * 32
    env = dict(os.environ, IRGRAD_CACHE_DIR=str(fresh_cache))
    r = np.random.default_rng(0)
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, digest], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.3 * r.random())
        proc.kill()
        proc.wait()
        proc.stdout.close()
        blob = cache.read(digest)
        if blob is not None:  # the first write may not have finished: absent is fine
            assert len(blob) == 3 << 20 and len(set(blob)) == 1
        # only complete entries (and perhaps an orphaned temporary file) are in the directory
        for name in os.listdir(fresh_cache):
            assert name.endswith(".vmfb") or name.startswith(".tmp-"), name


def test_graph_reading_many_inputs_realizes():
    """IREE binds at most 32 buffers per dispatch: fusion must split a 70-input chain."""
    xs = [irgrad.tensor(np.full((3,), float(i), np.float32)) for i in range(70)]
    acc = xs[0]
    for x in xs[1:]:
        acc = acc + x
    assert acc.tolist() == [float(sum(range(70)))] * 3
