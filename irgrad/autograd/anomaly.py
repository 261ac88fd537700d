"""Anomaly detection: name the backward op that produced NaN or Inf, and its forward line.

`with irgrad.autograd.detect_anomaly():` (also a decorator) or
`irgrad.autograd.set_detect_anomaly(True)`. While it is on, every backward adds one check
per backward op output to the gradient graph (`nonfinite_code`, an in-graph reduction) and
folds them into a single int64 with `minimum`, so the first offending op in backward order
is found inside the compiled graph. `backward()`/`autograd.grad()` then realize the
gradients together with that one scalar and raise PyTorch's error:

    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output.

after a warning that gives the forward line of the op (`Error detected in SqrtBackward0.
Traceback of forward call that caused the error: File "train.py", line 12, ...`).
Unlike normal mode, which never syncs, anomaly mode reads that scalar at each backward.
PyTorch checks NaN only; irgrad reports infinities too ("returned inf values") unless
`check_nan=False`.
"""
from __future__ import annotations

import functools
import warnings

from .. import errors
from ..ir.state import state

_check_nan = [True]


def is_anomaly_enabled() -> bool:
    return state.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    return state.anomaly and _check_nan[0]


def _enable_warning():
    warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                  "and should only be enabled for debugging.", stacklevel=3)


class detect_anomaly:
    """Context manager and decorator that turns anomaly detection on."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self._prev = None

    def __enter__(self):
        _enable_warning()
        self._prev = (state.anomaly, _check_nan[0])
        state.anomaly, _check_nan[0] = True, self.check_nan
        return self

    def __exit__(self, *exc):
        state.anomaly, _check_nan[0] = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off now; also usable as a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (state.anomaly, _check_nan[0])
        state.anomaly, _check_nan[0] = bool(mode), bool(check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.anomaly, _check_nan[0] = self._prev
        return False


def raise_if_anomalous(result, realize) -> None:
    """Realize the walk's check (with its gradients, in one graph) and raise if it fired."""
    if result.anomaly is None or not _check_nan[0]:
        return
    from . import engine

    realize([result.anomaly] + list(result.grads.values()))
    code = int(result.anomaly.data.to_numpy().reshape(()))
    found = engine.decode_anomaly(result, code)
    if found is None:
        return
    name, index, kind, site = found
    where = site.long() if site is not None else "(unknown location)"
    warnings.warn(f"Error detected in {name}. Traceback of forward call that caused the "
                  f"error:\n  {where}", stacklevel=3)
    errors.fail(RuntimeError, f"Function '{name}' returned {kind} values in its {index}th "
                              f"output. (The forward op was recorded at {site}.)")
