"""The compiler worker: a child process that turns MLIR bytecode into a vmfb.

IREE runs inside this process, not the user's, so a compiler crash (abort, segfault, fatal
LLVM error) kills only the worker: the parent sees the pipe close, reports a typed
`CompileError` naming the user's line, and starts a fresh worker for the next compile.

This file runs as a script (`python worker.py`) and imports nothing from irgrad, so the
worker starts with only iree.compiler loaded. Protocol over stdin/stdout, each message a
4-byte big-endian length then the bytes:
    request:  JSON {"flags": [...]}          then the MLIR bytecode
    response: JSON {"ok": bool, "diagnostics": str}  then the vmfb (empty on failure)
"""
from __future__ import annotations

import json
import os
import struct
import sys
import tempfile


def read_message(stream) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return data


def write_message(stream, data: bytes) -> None:
    stream.write(struct.pack(">I", len(data)))
    stream.write(data)


def _compile(flags, bytecode):
    from iree.compiler.api import Output, Session, Source

    session = Session()
    session.set_flags(*flags)
    inv = session.invocation()
    inv.enable_console_diagnostics()
    capture = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(capture.fileno(), 2)
    vmfb = b""
    try:
        ok = inv.parse_source(Source.wrap_buffer(session, bytecode)) and inv.execute()
        if ok:
            out = Output.open_membuffer()
            inv.output_vm_bytecode(out)
            vmfb = bytes(out.map_memory())
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    capture.seek(0)
    diagnostics = capture.read().decode(errors="replace")
    return bool(ok), diagnostics, vmfb


# Process-wide LLVM options of IREE passes, which Session.set_flags cannot set (they are not
# session options): applied once, before the first session.
GLOBAL_CL_FLAGS = (
    # IREE 3.13's element-wise fusion of multi-reduction loops can move a consumer into a
    # dispatch region without the values it uses ("operand #N does not dominate this use"),
    # e.g. for the backward of (exp(x).sum(1, keepdim=True) * (2 * m)).sum(), which every
    # log_softmax times a computed tensor (cross_entropy with label smoothing) contains.
    "--iree-dispatch-creation-element-wise-fuse-multi-reduction=false",
)


def main() -> None:
    from iree.compiler.api import ctypes_dl
    ctypes_dl._initializeGlobalCL("irgrad-compiler-worker", *GLOBAL_CL_FLAGS)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = read_message(stdin)
        if header is None:
            return
        bytecode = read_message(stdin)
        if bytecode is None:
            return
        flags = json.loads(header)["flags"]
        try:
            ok, diagnostics, vmfb = _compile(flags, bytecode)
        except Exception as e:  # a Python-level failure: report it, keep serving
            ok, diagnostics, vmfb = False, f"{type(e).__name__}: {e}", b""
        write_message(stdout, json.dumps({"ok": ok, "diagnostics": diagnostics}).encode())
        write_message(stdout, vmfb)
        stdout.flush()


if __name__ == "__main__":
    main()
