"""Compile a graph with IREE, in process, behind an on-disk cache.

The cache key is sha256(module text without locations + flags + compiler version), so the
same graph recorded from other lines or in another process hits. Files are written to a
temporary name and renamed, so a crash never leaves a partial file under the final name.
Compile failures become `CompileError`s naming the user's line of the responsible op, with
the MLIR reproducer written next to the cache.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import time

from .. import errors, log
from .emit import emit_module
from .mlir import COMPILER_VERSION, Output, Session
from .targets import compile_flags

_LOC_RE = re.compile(r'loc\("irgrad\.([\w.]+)"\("([^"]+)":(\d+)')

stats = {"compiles": 0, "disk_hits": 0}


def cache_dir() -> str:
    d = os.environ.get("IRGRAD_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "irgrad")
    os.makedirs(d, exist_ok=True)
    return d


def atomic_write(path: str, data: bytes) -> None:
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class _capture_fd2:
    """Redirect file descriptor 2 to a temporary file for the duration of a with-block."""

    def __enter__(self):
        self._file = tempfile.TemporaryFile()
        sys.stderr.flush()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        return False

    def text(self) -> str:
        self._file.seek(0)
        return self._file.read().decode(errors="replace")


def _new_session(flags):
    session = Session()
    ctx = session.context
    # IREE.md crash 1: load dialects and refuse unregistered ops before building anything.
    ctx.load_all_available_dialects()
    ctx.allow_unregistered_dialects = False
    session.set_flags(*flags)
    return session


def _site_of(graph, diag_text):
    m = _LOC_RE.search(diag_text)
    if not m:
        return None
    op, path, line = m.group(1), m.group(2), int(m.group(3))
    for n in graph.nodes:
        if n.op == op and n.site is not None and n.site.file == path and n.site.line == line:
            return n.site
    return errors.Site(path, line, "?")


def compile_graph(graph, target: str = "cpu", cpu: str | None = None, dump_dir=None):
    """Return (vmfb bytes, module text) for `graph`, compiling only on a disk-cache miss."""
    flags = compile_flags(target, cpu)
    session = _new_session(flags)
    t0 = time.perf_counter()
    module = emit_module(graph, session.context)
    text = module.operation.get_asm(enable_debug_info=False)
    digest = hashlib.sha256(
        "\n".join((text, " ".join(flags), COMPILER_VERSION, target)).encode()).hexdigest()
    path = os.path.join(cache_dir(), f"{digest[:40]}.vmfb")
    if dump_dir:
        log.dump(dump_dir, digest[:12], graph, module)
    try:
        with open(path, "rb") as f:
            vmfb = f.read()
        stats["disk_hits"] += 1
        log.emit("cache", f"disk hit {digest[:12]} ({len(graph.nodes)} nodes)")
        return vmfb, text
    except FileNotFoundError:
        pass
    diagnostics = []
    try:
        ok = module.operation.verify()
    except Exception as e:  # the bindings raise for verify failures
        ok = False
        diagnostics.append(str(e))
    if ok:
        inv = session.invocation()
        inv.enable_console_diagnostics()
        # A Python diagnostic handler is called without the GIL from inside execute() and
        # aborts the process, so diagnostics go to fd 2, which is captured around the call.
        with _capture_fd2() as captured:
            inv.import_module(module.operation)
            ok = inv.execute()
            if ok:
                out = Output.open_membuffer()
                inv.output_vm_bytecode(out)
                vmfb = bytes(out.map_memory())
        if not ok:
            diagnostics.append(captured.text())
    if not ok:
        raise _compile_error(graph, module, diagnostics, digest)
    stats["compiles"] += 1
    atomic_write(path, vmfb)
    log.emit("compile", f"compiled {digest[:12]}: {len(graph.nodes)} nodes, "
                        f"{len(vmfb)} bytes, {time.perf_counter() - t0:.2f}s for {target}")
    return vmfb, text


def _compile_error(graph, module, diagnostics, digest):
    text = "\n".join(diagnostics) or "IREE reported a failure without diagnostics"
    repro = os.path.join(cache_dir(), f"repro-{digest[:12]}.mlir")
    try:
        atomic_write(repro, module.operation.get_asm(enable_debug_info=True).encode())
    except Exception:
        repro = None
    site = _site_of(graph, text)
    where = f" at {site.long()}" if site else ""
    return errors.CompileError(
        f"IREE failed to compile a graph{where}:\n{text}\nreproducer: {repro}", site, repro)
