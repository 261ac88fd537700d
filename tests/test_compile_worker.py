"""The compiler runs in a worker process: a crash there must not take the user's process
down, and compile failures must name the user's line of the responsible op."""
import io

import numpy as np
import pytest

import irgrad
from irgrad.errors import CompileError
from irgrad.lowering.compile import _new_session, compile_graph
from irgrad.lowering.mlir import func_d, ir, linalg_d, math_d, tensor_d
from irgrad.lowering.targets import compile_flags
from irgrad.lowering.worker_client import WORKER, WorkerCrashed


def _module_bytes(build):
    session = _new_session(compile_flags("cpu"))
    with session.context, ir.Location.unknown():
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            build()
        buf = io.BytesIO()
        module.operation.write_bytecode(buf)
    return buf.getvalue()


def test_worker_survives_garbage_and_reports_failure():
    ok, diagnostics, vmfb = WORKER.compile(compile_flags("cpu"), b"not mlir bytecode at all")
    assert not ok and vmfb == b""
    assert diagnostics  # the parser said why
    # The same worker (or a restarted one) still compiles a valid module afterwards.
    f32 = None

    def build():
        t = ir.RankedTensorType.get([4], ir.F32Type.get())

        @func_d.FuncOp.from_py_func(t)
        def main(a):
            out = tensor_d.EmptyOp([4], ir.F32Type.get()).result
            m = ir.AffineMap.get_identity(1)

            @linalg_d.generic([a], [out], [m, m], [linalg_d.IteratorType.parallel])
            def body(x, o):
                return x
            return body

    ok, diagnostics, vmfb = WORKER.compile(compile_flags("cpu"), _module_bytes(build))
    assert ok, diagnostics
    assert vmfb[:2] == b"PK"  # a vmfb is a zip-framed flatbuffer


def test_worker_crash_is_reported_not_fatal(monkeypatch):
    # Kill the worker while it is alive: the next compile restarts it transparently.
    WORKER.compile(compile_flags("cpu"), b"x")
    WORKER._proc.kill()
    WORKER._proc.wait()
    ok, _, _ = WORKER.compile(compile_flags("cpu"), b"x")
    assert ok is False  # a fresh worker answered (garbage input), nothing crashed here


def test_worker_death_mid_compile_raises_worker_crashed(tmp_path):
    """A worker that aborts while compiling (as IREE does on a fatal error) is reported."""
    import subprocess
    import sys

    from irgrad.lowering.worker_client import CompilerWorker

    script = tmp_path / "dying_worker.py"
    script.write_text("import os, sys\nsys.stdin.buffer.read(8)\nos.abort()\n")

    class Dying(CompilerWorker):
        def _start(self):
            self._proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    worker = Dying()
    with pytest.raises(WorkerCrashed) as info:
        worker.compile(compile_flags("cpu"), b"payload")
    assert info.value.returncode != 0
    worker.close()


def test_compile_error_names_user_line():
    # float64 tanh is a libm call llvm-cpu cannot link unless irgrad rewrites it; build the
    # failure with a deliberately unsupported graph instead: an op whose lowering emits an
    # f64 libm symbol directly through the raw math dialect.
    from irgrad.ir.graph import Graph
    from irgrad.ir.node import make
    from irgrad.ir.opdef import defop, REGISTRY

    if "test_raw_f64_cbrt" not in REGISTRY:
        defop("test_raw_f64_cbrt", infer=lambda i, a: (i[0].dtype, i[0].shape),
              reference=np.cbrt, scalar=lambda S, x: math_d.cbrt(x), differentiable=False)
    x = irgrad.tensor(np.ones(3))
    bad = make("test_raw_f64_cbrt", (x.node,))  # the line the error must name
    line = bad.site.line
    try:
        with pytest.raises(CompileError) as info:
            compile_graph(Graph.cut([bad]))
        assert info.value.site is not None
        assert info.value.site.line == line and info.value.site.file == __file__
        assert "reproducer" in str(info.value)
    finally:
        del REGISTRY["test_raw_f64_cbrt"]
