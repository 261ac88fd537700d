"""Every ```python block in docs/ and README.md runs, and relative links between pages resolve.

Each block is executed in a fresh namespace, compiled with the Markdown file as its file name
and its own line numbers, so a failure (and any recorded op's site) points at the page's
line. Blocks run in a temporary working directory (one per page). Blocks that must not run use a ```text fence. Process state a block may change (the
environment, the default dtype, eager mode, grad mode, log topics) is restored after it.
"""
import os
import re
from pathlib import Path

import pytest

import irgrad
from irgrad.ir.state import state
from irgrad.logs import set_topics

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)\s*$")


def python_blocks(path: Path):
    """(first line number, source) of each ```python block of a Markdown file."""
    blocks, lang, start, buf = [], None, 0, []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        m = FENCE.match(line.strip()) if line.startswith("```") else None
        if m and lang is None:
            lang, start, buf = m.group(1) or "", no + 1, []
        elif line.startswith("```") and lang is not None:
            if lang == "python":
                blocks.append((start, "\n".join(buf) + "\n"))
            lang = None
        elif lang is not None:
            buf.append(line)
    assert lang is None, f"{path}: unterminated code fence"
    return blocks


CASES = [(p, start, src) for p in PAGES if p.exists() for start, src in python_blocks(p)]


@pytest.fixture
def restored_state():
    env = dict(os.environ)
    default = irgrad.get_default_dtype()
    eager, grad = state.eager, state.grad_enabled
    yield
    os.environ.clear()
    os.environ.update(env)
    irgrad.set_default_dtype(default)
    state.eager, state.grad_enabled = eager, grad
    set_topics(None)


@pytest.fixture(scope="module")
def page_dirs(tmp_path_factory):
    """One working directory per page: files a block writes stay out of the repository,
    and a later block of the same page can read them."""
    dirs = {}

    def get(path):
        if path not in dirs:
            dirs[path] = tmp_path_factory.mktemp(path.stem)
        return dirs[path]
    return get


@pytest.mark.parametrize("path,start,src", CASES,
                         ids=[f"{p.relative_to(ROOT)}:{s}" for p, s, _ in CASES])
def test_python_block_runs(path, start, src, restored_state, page_dirs, monkeypatch):
    monkeypatch.chdir(page_dirs(path))
    code = compile("\n" * (start - 1) + src, str(path), "exec")
    exec(code, {"__name__": f"docs_block_{start}"})


def test_docs_exist_and_have_examples():
    names = {p.relative_to(ROOT / "docs").as_posix() for p in PAGES if p.parent != ROOT}
    for page in ("index.md", "architecture.md", "guide/install.md", "guide/tensors.md",
                 "guide/lazy-vs-eager.md", "guide/logs.md"):
        assert page in names, page
    assert len(CASES) >= 10


LINK = re.compile(r"\[[^\]]+\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize("path", [p for p in PAGES if p.exists()],
                         ids=[str(p.relative_to(ROOT)) for p in PAGES if p.exists()])
def test_relative_links_resolve(path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    for target, _ in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{path.name}: broken link {target}"
