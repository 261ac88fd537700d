"""Finding irgrad's ops from nn.functional, at call time.

nn.functional is a thin layer over the op table. The op families publish node-level functions
with nn.functional's names and signatures in their `FUNCTIONAL` tables (activations, norms,
convolutions, pooling); `table(name)` finds one and wraps it the way `frontend/exports.py`
wraps public ops (Tensors in, Tensors out). `op(name)` is a public `irgrad.<name>` function.
Lookups are cached, and a missing op is reported by name, so nn never re-implements an op.
"""
from __future__ import annotations

import importlib
import pkgutil

from ...frontend.exports import as_function

_table: dict = {}
_cache: dict = {}


def _load_tables() -> dict:
    if _table:
        return _table
    from ...ir import ops as ops_pkg
    for info in pkgutil.iter_modules(ops_pkg.__path__):
        mod = importlib.import_module(f"{ops_pkg.__name__}.{info.name}")
        entries = getattr(mod, "FUNCTIONAL", None)
        if entries is None:
            continue
        items = entries.items() if isinstance(entries, dict) else entries
        for name, fn in items:
            _table.setdefault(name, fn)
    return _table


def table(name: str):
    """The Tensor-level form of the op families' nn.functional function `name`."""
    fn = _cache.get(("t", name))
    if fn is None:
        node_fn = _load_tables().get(name)
        if node_fn is None:
            raise NotImplementedError(f"irgrad.nn.functional.{name} needs an op that this "
                                      f"build of irgrad does not provide")
        fn = _cache[("t", name)] = as_function(node_fn, name)
    return fn


def node_function(module: str, name: str):
    """The Tensor-level form of node function `name` of family module `module`."""
    key = (module, name)
    fn = _cache.get(key)
    if fn is None:
        mod = importlib.import_module(f"irgrad.ir.ops.{module}")
        fn = _cache[key] = as_function(getattr(mod, name), name)
    return fn


def op(name: str):
    """The public function irgrad.<name>."""
    import irgrad
    fn = getattr(irgrad, name, None)
    if fn is None:
        raise NotImplementedError(f"irgrad.nn.functional needs irgrad.{name}, which this build "
                                  f"of irgrad does not provide")
    return fn


def find(name: str):
    """irgrad.<name>, or None when irgrad has no such function."""
    import irgrad
    return getattr(irgrad, name, None)
