"""Errors that point at the user's line, and the capture of that line.

Every recorded op remembers the first stack frame outside the irgrad package (its *site*).
Errors found while recording are raised with a traceback whose innermost frame is the user's
own line (`fail`); errors found later (compile, run, backward) name the site of the op that
caused them (`CompileError`, `RuntimeFailure`).
"""
from __future__ import annotations

import os
import sys
import types

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class Site:
    """A user source location: file, line and function name of the calling frame."""

    __slots__ = ("file", "line", "func")

    def __init__(self, file: str, line: int, func: str):
        self.file, self.line, self.func = file, line, func

    def __str__(self):
        return f"{os.path.basename(self.file)}:{self.line}"

    def __repr__(self):
        return f"Site({self.file!r}, {self.line})"

    def long(self) -> str:
        return f'File "{self.file}", line {self.line}, in {self.func}'


_site_cache: dict = {}


def _is_internal(filename: str) -> bool:
    internal = _site_cache.get(filename)
    if internal is None:
        internal = filename.startswith(PACKAGE_DIR) or filename.startswith("<frozen")
        _site_cache[filename] = internal
    return internal


def user_frame():
    """The innermost frame that is not irgrad's own (or the outermost frame if all are)."""
    frame = sys._getframe(1)
    last = frame
    while frame is not None:
        if not _is_internal(frame.f_code.co_filename):
            return frame
        last = frame
        frame = frame.f_back
    return last


def current_site() -> Site:
    frame = sys._getframe(1)
    cache = _site_cache
    while frame is not None:
        code = frame.f_code
        internal = cache.get(code.co_filename)
        if internal is None:
            internal = _is_internal(code.co_filename)
        if not internal:
            return Site(code.co_filename, frame.f_lineno, code.co_name)
        last = frame
        frame = frame.f_back
    return Site(last.f_code.co_filename, last.f_lineno, last.f_code.co_name)


def fail(cls, message: str):
    """Raise `cls(message)` so that the traceback's innermost frame is the user's line."""
    exc = cls(message)
    f = user_frame()
    raise exc.with_traceback(types.TracebackType(None, f, f.f_lasti, f.f_lineno))


def relocate(exc: BaseException):
    """Re-raise an exception with the user's line as its innermost frame."""
    f = user_frame()
    raise exc.with_traceback(types.TracebackType(None, f, f.f_lasti, f.f_lineno))


class IrgradError(RuntimeError):
    """Base of irgrad's own failures (a RuntimeError, as PyTorch raises for its own)."""


class CompileError(IrgradError):
    """IREE failed to compile a graph. `site` is the user's line of the responsible op."""

    def __init__(self, message, site=None, reproducer=None):
        super().__init__(message)
        self.site, self.reproducer = site, reproducer


class RuntimeFailure(IrgradError):
    """A compiled graph failed while running."""

    def __init__(self, message, site=None):
        super().__init__(message)
        self.site = site
