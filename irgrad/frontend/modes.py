"""Execution and gradient modes: eager vs lazy, and grad enabled/disabled.

Each mode object works as a context manager and as a decorator, like PyTorch's.
"""
from __future__ import annotations

import functools

from ..ir.state import state


class _Mode:
    """Base for a context manager that is also a decorator and restores the prior value."""

    def _enter(self):
        raise NotImplementedError

    def _exit(self, prev):
        raise NotImplementedError

    def __enter__(self):
        self._prev = self._enter()
        return self

    def __exit__(self, *exc):
        self._exit(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)
        return wrapper

    def _args(self):
        return ()


class eager(_Mode):
    """Run every op at once (for debugging): `with irgrad.eager():` or `@irgrad.eager()`."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def _args(self):
        return (self.enabled,)

    def _enter(self):
        prev, state.eager = state.eager, self.enabled
        return prev

    def _exit(self, prev):
        state.eager = prev


def is_eager() -> bool:
    return state.eager


class set_grad_enabled(_Mode):
    def __init__(self, mode: bool):
        self.mode = bool(mode)
        # Like PyTorch, calling set_grad_enabled(False) as a function takes effect at once.
        self._prev_global = state.grad_enabled
        state.grad_enabled = self.mode

    def _args(self):
        return (self.mode,)

    def _enter(self):
        prev, state.grad_enabled = self._prev_global, self.mode
        return prev

    def _exit(self, prev):
        state.grad_enabled = prev

    def __call__(self, fn):
        state.grad_enabled = self._prev_global
        return super().__call__(fn)


class no_grad(_Mode):
    def __new__(cls, orig_func=None):
        # `@no_grad` without parentheses decorates directly, as in PyTorch.
        if callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None):
        self._fn = orig_func

    def _enter(self):
        prev, state.grad_enabled = state.grad_enabled, False
        return prev

    def _exit(self, prev):
        state.grad_enabled = prev


class enable_grad(no_grad):
    def _enter(self):
        prev, state.grad_enabled = state.grad_enabled, True
        return prev


class inference_mode(no_grad):
    def __new__(cls, mode=True):
        if callable(mode):
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = mode

    def _args(self):
        return (self.mode,)

    def _enter(self):
        prev = state.grad_enabled
        if self.mode:
            state.grad_enabled = False
        return prev


def is_grad_enabled() -> bool:
    return state.grad_enabled
