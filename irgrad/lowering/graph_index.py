"""The graph index: graph structure -> the digest of a compiled module already on disk.

The disk cache (cache.py) is keyed by the digest of the lowered MLIR text, so finding an
entry means running the passes, emitting and printing the module first, and importing the
MLIR bindings. This index is a second level in front of it, keyed by what determines that
module: the graph's structure (per node: op, attributes, dtype, shape, input positions;
per input: dtype, shape; the output positions), the target and its compile flags, every
`IRGRAD_*` environment variable that may change the lowering (IRGRAD_PASSES,
IRGRAD_DATA_TILING, IRGRAD_CPU, ...; only those known to be irrelevant are left out), the
IREE compiler and runtime, Python and NumPy versions, and a digest of irgrad's own source
that lowers graphs (every .py under ir/, passes/ and lowering/). Its entries name the module
digest (with the flags chosen for the graph, for the logs); a hit loads that vmfb directly.

A wrong hit would run the wrong code, so the key is written by a strict encoder that knows
str, int, bool, None, float (exact bits), tuple, list, irgrad dtypes and NumPy arrays (dtype,
shape, SHA-256 of the bytes), each in a self-delimiting form; any other value (a NumPy
scalar, a dict, an object) refuses the index and the graph takes the normal path. Entries
are sealed and written atomically like vmfb entries; a damaged one is ignored (and logged
under IRGRAD_LOG=cache) and rewritten after the normal path succeeds.

The source digest is read from the files, once per process, but the code that runs is what
was imported: so the index is off in a process whose files are newer than its start (an
edit made while it was starting or running), and before each record the digest is checked
again (passes/ and lowering/compile.py are imported only on the first compile).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import sys
import time

import numpy as np

from .. import logs as log
from ..ir import dtypes as dt
from . import cache
from .targets import compile_flags

MAGIC = b"IRGRAD-GIDX-1\n"
FORMAT = 1
SUFFIX = ".gidx"
# IRGRAD_* variables that cannot change a compiled module: everything else is in the key.
IGNORED_ENV = frozenset({"IRGRAD_LOG", "IRGRAD_CACHE_DIR", "IRGRAD_EAGER", "IRGRAD_DUMP"})
SOURCE_DIRS = ("ir", "passes", "lowering")

_F64 = struct.Struct("<d")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# The process-wide part of the key ("part"), the source digest in it ("source") and, when
# the index is off for this process, why ("off"); filled on first use.
state: dict = {}
# irgrad's modules were loaded about now (ir/ just before, passes/ and compile later, on the
# first compile). A source file newer than that may differ from the code this process runs,
# and the digest of the files would then name the wrong code: the index is not used.
_LOADED_AT = time.time()
LOAD_MARGIN_S = 5.0


class Refused(Exception):
    """The graph holds a value the encoder does not know: do not use the index for it."""


def _enc(v, out: list) -> None:
    """Append the self-delimiting encoding of `v` to `out` (exact types only: a subclass of
    int or float, e.g. numpy.float64, could lower differently and is refused)."""
    t = type(v)
    if t is str:
        out.append(f"s{len(v)}:")
        out.append(v)
    elif t is bool:
        out.append("T" if v else "F")
    elif t is int:
        out.append(f"i{v};")
    elif v is None:
        out.append("N")
    elif t is float:
        out.append(f"f{_F64.pack(v).hex()};")  # the bit pattern: -0.0 and NaNs stay distinct
    elif t is tuple or t is list:
        out.append("(" if t is tuple else "[")
        for x in v:
            _enc(x, out)
        out.append(")" if t is tuple else "]")
    elif t is dt.DType:
        try:
            registered = dt.from_name(v.name)
        except KeyError:
            registered = None
        if registered is not v:
            raise Refused(f"unregistered dtype {v.name!r}")
        out.append(f"d{len(v.name)}:{v.name}")
    elif t is np.ndarray:
        if v.dtype.hasobject or v.dtype.fields is not None or v.dtype.kind == "V":
            raise Refused(f"array of dtype {v.dtype}")
        spelled = v.dtype.str
        out.append(f"a{len(spelled)}:{spelled}")
        _enc(tuple(int(s) for s in v.shape), out)
        out.append(hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest())
    else:
        raise Refused(f"value of type {t.__module__}.{t.__qualname__}")


def encode(value) -> str:
    """The strict encoding of `value` (raises Refused for an unknown type)."""
    out: list = []
    _enc(value, out)
    return "".join(out)


def _graph_text(graph) -> str:
    out: list = []
    inputs = {id(n) for n in graph.inputs}
    pos: dict = {}
    for i, n in enumerate(graph.nodes):
        pos[id(n)] = i
        if id(n) in inputs:
            out.append("I")
            _enc(n.dtype, out)
            _enc(n.shape, out)
            continue
        out.append("O")
        _enc(n.op, out)
        attrs = n.attrs
        if type(attrs) is not dict:
            raise Refused(f"attributes of {n.op} held in a {type(attrs).__name__}")
        out.append("{")
        for k in sorted(attrs):
            if type(k) is not str:
                raise Refused(f"attribute name of type {type(k).__name__}")
            _enc(k, out)
            _enc(attrs[k], out)
        out.append("}")
        _enc(n.dtype, out)
        _enc(n.shape, out)
        try:
            _enc(tuple([pos[id(x)] for x in n.inputs]), out)
        except KeyError:
            raise Refused(f"an input of {n.op} is not in the graph") from None
    out.append("R")
    try:
        _enc(tuple([pos[id(o)] for o in graph.outputs]), out)
    except KeyError:
        raise Refused("an output is not in the graph") from None
    return "".join(out)


def _file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _package_file(package: str, name: str) -> str | None:
    """The path of `name` inside `package`, found without importing the package."""
    from importlib.util import find_spec
    try:
        spec = find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for d in spec.submodule_search_locations:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    return None


def source_digest() -> str:
    """SHA-256 over the source files that turn a graph into a module (names and contents)."""
    return _source_state()[0]


def _source_state():
    """(source_digest, the newest modification time of those files, in seconds)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    newest = 0.0
    for sub in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, sub)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if not name.endswith(".py"):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    data = f.read()
                    newest = max(newest, os.fstat(f.fileno()).st_mtime)
                rel = os.path.relpath(path, root).replace(os.sep, "/").encode()
                h.update(len(rel).to_bytes(8, "little") + rel)
                h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest(), newest


def _process_part():
    """The key's parts that cannot change while the process runs; None when the index is
    off in this process (unknown compiler, irgrad's source edited since it was loaded)."""
    if not state:
        compiler = _package_file("iree.compiler", "version.py")
        runtime = _package_file("iree.runtime", "version.py")
        source, newest = _source_state()
        state.update(part=None, source=source, off=None)
        if compiler is None or runtime is None:
            _turn_off("the IREE compiler or runtime was not found")
        elif newest > _LOADED_AT - LOAD_MARGIN_S:
            _turn_off("irgrad's source changed around or after the time this process "
                      "loaded it")
        else:
            state["part"] = (tuple(sys.version_info[:3]), np.__version__,
                             _file_digest(compiler), _file_digest(runtime), source)
    return state["part"]


def _turn_off(why: str) -> None:
    state.update(part=None, off=why)
    log.emit("cache", f"graph index off for this process: {why}")


def _source_unchanged() -> bool:
    """Whether the source still has the digest in this process's keys (checked before each
    record: passes/ and lowering/compile.py are imported lazily, after the key was made).
    If not, the index is off for the rest of the process."""
    if state.get("part") is not None and source_digest() != state["source"]:
        _turn_off("irgrad's source changed while this process ran")
    return state.get("part") is not None


def key_for(graph, target: str) -> str | None:
    """The index key of `graph` compiled for `target`, or None when the index must not be
    used for it (a value the encoder refuses, an unknown target or compiler)."""
    try:
        flags = compile_flags(target)
    except ValueError:
        return None  # the normal path raises the user-facing error
    proc = _process_part()
    if proc is None:
        return None
    env = tuple(sorted((k, v) for k, v in os.environ.items()
                       if k.startswith("IRGRAD_") and k not in IGNORED_ENV))
    try:
        text = encode((FORMAT, target, flags, env, proc)) + _graph_text(graph)
    except Refused as e:
        log.emit("cache", f"graph index not used: {e}")
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def entry_path(key: str) -> str:
    return os.path.join(cache.cache_dir(), key[:40] + SUFFIX)


def lookup(key: str) -> bytes | None:
    """The vmfb that `key` names, when its index entry and its cache entry are intact."""
    path = entry_path(key)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except FileNotFoundError:
        log.emit("cache", f"index miss {key[:12]}")
        return None
    except OSError as e:
        log.emit("cache", f"ignoring unreadable index entry {path}: {e}")
        return None
    entry = _parse(cache.unseal(MAGIC, blob), key)
    if entry is None:
        log.emit("cache", f"ignoring damaged index entry {path}")
        return None
    vmfb = cache.read(entry["digest"])
    if vmfb is None:
        log.emit("cache", f"index entry {key[:12]} names a missing or damaged module "
                          f"{entry['digest'][:12]}")
        return None
    cache.stats["disk_hits"] += 1
    cache.stats["index_hits"] += 1
    log.emit("cache", f"index hit {key[:12]} -> disk hit {entry['digest'][:12]}")
    return vmfb


def _parse(payload: bytes | None, key: str):
    """The entry dict when `payload` is a well-formed entry for exactly `key`, else None."""
    if payload is None:
        return None
    try:
        entry = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
        return None
    digest = entry.get("digest")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        return None
    return entry


def record(key: str, digest: str, flags=()) -> None:
    """Remember that `key` compiles to the cached module `digest` (best effort: an unwritable
    cache directory only costs the next process the normal path)."""
    if not _source_unchanged():
        return
    payload = json.dumps({"format": FORMAT, "key": key, "digest": digest,
                          "flags": list(flags)}, sort_keys=True).encode()
    try:
        cache.atomic_write(entry_path(key), cache.seal(MAGIC, payload))
    except OSError as e:
        log.emit("cache", f"could not write index entry {key[:12]}: {e}")
