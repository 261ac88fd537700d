"""`IRGRAD_LOG` topics and `IRGRAD_DUMP`: what each prints or writes.

In-process tests switch topics with `irgrad.logs.set_topics` and read stderr; one child
process checks that the environment variables themselves are honoured.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import irgrad
from irgrad.logs import set_topics  # (`irgrad.log` itself is the logarithm, as in torch)
from irgrad.frontend import realize

from source_lines import marked_line

HERE = os.path.basename(__file__)


@pytest.fixture
def topics():
    """Set the log topics for one test, then restore IRGRAD_LOG's."""
    yield set_topics
    set_topics(None)


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty disk cache and memory cache, so compiles and misses really happen."""
    monkeypatch.setenv("IRGRAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(realize, "_memory_cache", {})
    return tmp_path


def lines(text, topic):
    return [ln for ln in text.splitlines() if ln.startswith(f"[irgrad:{topic}] ")]


def line_of(marker: str) -> int:
    return marked_line(__file__, marker)


def code(x):
    """The same small computation, recorded anew by each call."""
    return (x * 2.0 + 1.0).sum()


def test_compile_cache_and_realize_topics(topics, fresh, capsys):
    topics("compile,cache,realize")
    x = irgrad.tensor(np.arange(6, dtype=np.float32).reshape(3, 2))
    code(x).numpy()  # MARK-numpy
    err = capsys.readouterr().err
    realize_lines = lines(err, "realize")
    assert re.search(rf"numpy\(\): 1 outputs, \d+ ops, 1 inputs at {HERE}:"
                     rf"{line_of('MARK-numpy')}$", realize_lines[0]), realize_lines
    assert re.search(r"ran in [\d.]+ ms", realize_lines[-1])
    cache = lines(err, "cache")
    assert any(re.search(r"memory miss \(\d+ nodes\)", ln) for ln in cache), cache
    assert any(re.search(r"disk miss [0-9a-f]{12}", ln) for ln in cache), cache
    (compiled,) = lines(err, "compile")
    assert re.search(r"compiled [0-9a-f]{12}: \d+ nodes, \d+ bytes, [\d.]+s for cpu", compiled)

    # The same code on new data: memory hits, no compile; each realization says why it ran.
    y = irgrad.tensor(np.ones((3, 2), np.float32))
    assert code(y).tolist() == 18.0
    assert code(y).item() == 18.0
    irgrad.realize(code(y))
    print(code(y))
    with irgrad.eager():
        y * 2.0  # each op runs at once
    err = capsys.readouterr().err
    assert len(lines(err, "compile")) == 1  # only the eager multiplication
    assert sum("memory hit" in ln for ln in lines(err, "cache")) == 4
    reasons = [ln.split("] ", 1)[1].split(":", 1)[0] for ln in lines(err, "realize")
               if "outputs" in ln]
    assert reasons == ["tolist()", "item()", "irgrad.realize", "print", "eager"], reasons


def test_disk_hit_is_logged(topics, fresh, capsys):
    x = irgrad.tensor(np.ones((4, 3), np.float32))
    (x * 5.0).numpy()  # compiled (log off)
    realize._memory_cache.clear()
    topics("cache")
    (x * 5.0).numpy()
    err = capsys.readouterr().err
    assert any(re.search(r"disk hit [0-9a-f]{12}", ln) for ln in lines(err, "cache")), err


def test_topics_filter_and_all(topics, fresh, capsys):
    x = irgrad.tensor(np.ones((2, 5), np.float32))
    topics("cache")
    (x + 3.0).numpy()
    err = capsys.readouterr().err
    assert lines(err, "cache") and not lines(err, "compile") and not lines(err, "realize")
    topics("")
    (x + 3.0).numpy()
    assert "[irgrad:" not in capsys.readouterr().err
    topics("all")
    realize._memory_cache.clear()
    (x + 3.0).numpy()
    err = capsys.readouterr().err
    for t in ("cache", "realize", "passes"):
        assert lines(err, t), (t, err)


def test_dump_writes_ir_and_mlir_per_graph(fresh, monkeypatch):
    dump = fresh / "dump"
    monkeypatch.setenv("IRGRAD_DUMP", str(dump))
    x = irgrad.tensor(np.ones((3, 4), np.float32))
    (x * 7.0).exp().numpy()  # MARK-dump1
    x.sum(1).numpy()  # MARK-dump2
    irs = sorted(dump.glob("*.irgrad.txt"))
    mlirs = sorted(dump.glob("*.mlir"))
    names = {p.name.split(".")[0] for p in irs}
    assert len(names) == 2 and {p.name.split(".")[0] for p in mlirs} == names
    ir_text = "\n".join(p.read_text() for p in irs)
    mlir_text = "\n".join(p.read_text() for p in mlirs)
    # (after passes the exp may sit inside a fused elementwise node)
    assert re.search(rf"= \w+ %\d+.*exp.*# {HERE}:{line_of('MARK-dump1')}", ir_text), ir_text
    assert re.search(rf"= sum %\d+.*# {HERE}:{line_of('MARK-dump2')}", ir_text), ir_text
    assert "func.func @main" in mlir_text and "linalg.generic" in mlir_text
    # MLIR locations carry the op and the user's file and line.
    assert re.search(rf'loc\("irgrad\.sum"\("{re.escape(__file__)}":{line_of("MARK-dump2")}',
                     mlir_text) or f'"{__file__}":{line_of("MARK-dump2")}' in mlir_text


def test_environment_variables_in_a_new_process(tmp_path):
    script = (
        "import irgrad\n"
        "x = irgrad.tensor([[1.0, 2.0], [3.0, 4.0]])\n"
        "print((x * 3.0 - 1.0).tolist())\n"
    )
    env = dict(os.environ, IRGRAD_LOG="compile,cache,realize", IRGRAD_DUMP=str(tmp_path / "d"),
               IRGRAD_CACHE_DIR=str(tmp_path / "c"))
    env.pop("IRGRAD_EAGER", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[[2.0, 5.0], [8.0, 11.0]]"
    assert re.search(r"^\[irgrad:realize\] tolist\(\): 1 outputs, \d+ ops, 1 inputs at "
                     r"<string>:3$", proc.stderr, re.M), proc.stderr
    assert re.search(r"^\[irgrad:cache\] memory miss", proc.stderr, re.M)
    assert re.search(r"^\[irgrad:compile\] compiled ", proc.stderr, re.M)
    # One graph: its lowered IR, its MLIR, and the graph as recorded and after each pass.
    assert len({p.name.split(".")[0] for p in (tmp_path / "d").glob("*.irgrad.txt")}) == 1
    assert len(list((tmp_path / "d").glob("*.mlir"))) == 1
    assert len(list((tmp_path / "d").glob("*.0-recorded.irgrad.txt"))) == 1
    assert list((tmp_path / "d").glob("*-simplify.irgrad.txt"))
