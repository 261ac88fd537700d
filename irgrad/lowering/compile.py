"""Compile a graph with IREE behind an on-disk cache, in a crash-isolated worker.

The module is built and verified here (in a fresh compile-session context per lowering),
then its bytecode goes to the compiler worker process (worker.py), so an IREE crash never
takes the user's process down. The cache key is sha256(module text without locations +
flags + compiler version + target): the same graph recorded from other lines or in another
process hits. Failures become `CompileError`s naming the user's line of the responsible op,
with the MLIR reproducer written next to the cache.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import time

from .. import errors
from .. import logs as log
from .cache import atomic_write, cache_dir
from . import cache
from .emit import emit_module
from .mlir import COMPILER_VERSION, Session
from .codegen_choice import codegen_flags
from .targets import compile_flags
from .worker_client import WORKER, WorkerCrashed

_LOC_RE = re.compile(r'loc\("irgrad\.([\w.]+)"\("([^"]+)":(\d+)')
_FILE_LINE_RE = re.compile(r'^(\S+?):(\d+):\d+: error', re.M)

stats = cache.stats  # {"compiles", "disk_hits", "index_hits"}: see cache.py


def _new_session(flags):
    session = Session()
    ctx = session.context
    # IREE.md crash 1: load dialects and refuse unregistered ops before building anything.
    ctx.load_all_available_dialects()
    ctx.allow_unregistered_dialects = False
    session.set_flags(*flags)
    return session


def _site_of(graph, diag_text):
    """The user site named by the first located error in the compiler's diagnostics."""
    m = _LOC_RE.search(diag_text)
    if m:
        op, path, line = m.group(1), m.group(2), int(m.group(3))
    else:
        m = _FILE_LINE_RE.search(diag_text)
        if not m:
            return None
        op, path, line = None, m.group(1), int(m.group(2))
    for n in graph.nodes:
        if (op is None or n.op == op) and n.site is not None and n.site.file == path \
                and n.site.line == line:
            return n.site
    return errors.Site(path, line, "?")


def _summarize(diag_text: str, limit: int = 12) -> str:
    """The error lines of a diagnostic dump, without the IR that notes print."""
    keep = [ln for ln in diag_text.splitlines()
            if "error" in ln and not ln.startswith(("\"", " ", ">>>"))]
    return "\n".join(keep[:limit]) or diag_text[:2000]


def module_digest(text: str, flags, target: str) -> str:
    return hashlib.sha256(
        "\n".join((text, " ".join(flags), COMPILER_VERSION, target)).encode()).hexdigest()


def compile_graph(graph, target: str = "cpu", cpu: str | None = None, dump_dir=None,
                  dump_name: str | None = None, info: dict | None = None):
    """Return (vmfb bytes, module text) for `graph`, compiling only on a disk-cache miss.

    Graph-specific choices (codegen_choice.py) are tried first; if IREE fails with them, the
    graph is compiled again with the target's plain flags before any error is raised.
    `info`, when given, receives the cache `digest` and the `flags` of the module returned
    (what the graph index records).
    """
    base = compile_flags(target, cpu)
    extra = codegen_flags(graph, target)
    if extra:
        try:
            return _compile_with(graph, base + extra, target, dump_dir, dump_name, info)
        except errors.CompileError as e:
            log.emit("compile", f"retrying without {' '.join(extra)}: {str(e).splitlines()[0]}")
    return _compile_with(graph, base, target, dump_dir, dump_name, info)


def _compile_with(graph, flags, target, dump_dir, dump_name, info=None):
    session = _new_session(flags)
    t0 = time.perf_counter()
    module = emit_module(graph, session.context)
    text = module.operation.get_asm(enable_debug_info=False)
    digest = module_digest(text, flags, target)
    if dump_dir:
        log.dump(dump_dir, dump_name or digest[:12], graph, module)
    vmfb = cache.read(digest)
    if vmfb is not None:
        stats["disk_hits"] += 1
        log.emit("cache", f"disk hit {digest[:12]} ({len(graph.nodes)} nodes)")
        if info is not None:
            info.update(digest=digest, flags=tuple(flags))
        return vmfb, text
    log.emit("cache", f"disk miss {digest[:12]} ({len(graph.nodes)} nodes)")
    diagnostics = []
    try:
        ok = module.operation.verify()
    except Exception as e:  # the bindings raise for verify failures
        ok = False
        diagnostics.append(str(e))
    if ok:
        buf = io.BytesIO()
        module.operation.write_bytecode(buf)
        try:
            ok, diag, vmfb = WORKER.compile(flags, buf.getvalue())
        except WorkerCrashed as e:
            ok, diag = False, (f"the IREE compiler crashed (worker exit status "
                               f"{e.returncode}); irgrad's process is unaffected")
        if not ok:
            diagnostics.append(diag)
    if not ok:
        raise _compile_error(graph, module, diagnostics, digest)
    stats["compiles"] += 1
    cache.write(digest, vmfb)
    tiled = " (data tiling)" if any("data-tiling" in f for f in flags) else ""
    log.emit("compile", f"compiled {digest[:12]}: {len(graph.nodes)} nodes, "
                        f"{len(vmfb)} bytes, {time.perf_counter() - t0:.2f}s for {target}{tiled}")
    if info is not None:
        info.update(digest=digest, flags=tuple(flags))
    return vmfb, text


def _compile_error(graph, module, diagnostics, digest):
    text = "\n".join(diagnostics) or "IREE reported a failure without diagnostics"
    repro = os.path.join(cache_dir(), f"repro-{digest[:12]}.mlir")
    try:
        atomic_write(repro, module.operation.get_asm(enable_debug_info=True).encode())
        atomic_write(repro[:-5] + ".log", text.encode())
    except Exception:
        repro = None
    site = _site_of(graph, text)
    where = f" for the op recorded at {site.long()}" if site else ""
    return errors.CompileError(
        f"IREE failed to compile a graph{where}:\n{_summarize(text)}\n"
        f"reproducer: {repro} (full diagnostics beside it, .log)", site, repro)
