"""The parent side of the compiler worker (see worker.py): start, talk, restart.

One worker process serves the whole Python process; it starts on the first compile and is
restarted after a crash. Calls are serialized by a lock.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading

from . import worker as protocol


class WorkerCrashed(Exception):
    """The worker died while compiling (its exit status is in `returncode`)."""

    def __init__(self, returncode, stderr_tail=""):
        super().__init__(f"compiler worker exited with status {returncode}")
        self.returncode, self.stderr_tail = returncode, stderr_tail


class CompilerWorker:
    def __init__(self):
        self._proc = None
        self._lock = threading.Lock()

    def _start(self):
        env = dict(os.environ)
        self._proc = subprocess.Popen(
            [sys.executable, "-u", protocol.__file__], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def compile(self, flags, bytecode: bytes):
        """Return (ok, diagnostics, vmfb); raise WorkerCrashed if the worker dies."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            proc = self._proc
            try:
                protocol.write_message(proc.stdin, json.dumps({"flags": list(flags)}).encode())
                protocol.write_message(proc.stdin, bytecode)
                proc.stdin.flush()
                header = protocol.read_message(proc.stdout)
                vmfb = protocol.read_message(proc.stdout) if header is not None else None
            except (BrokenPipeError, OSError):
                header = vmfb = None
            if header is None or vmfb is None:
                code = proc.wait()
                self._proc = None
                raise WorkerCrashed(code)
            reply = json.loads(header)
            return reply["ok"], reply["diagnostics"], vmfb

    def reset_after_fork(self):
        """In a forked child: the parent's compiler process is not ours to talk to."""
        self._orphan = self._proc  # kept referenced: never waited on from the child
        self._proc = None
        self._lock = threading.Lock()

    def close(self):
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=5)
            except Exception:
                proc.kill()


WORKER = CompilerWorker()
atexit.register(WORKER.close)
