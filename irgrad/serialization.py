"""`irgrad.save` / `irgrad.load`: checkpoints in a documented, pickle-free format.

A file is, in order (all integers little-endian):

    preamble  32 bytes   magic b"IRGRADCK", u32 format version, u32 flags (0),
                         u64 header length H, u64 total file length N
    header    H bytes    strict UTF-8 JSON: {"format", "version", "root", "tensors"}
    payload              every tensor's raw bytes, back to back, in `tensors` order
    digest    32 bytes   SHA-256 of everything before it

Loading checks, before anything from the file is used: the magic, the version, the header
length against a fixed cap, the file length against N (truncation and trailing bytes are
refused with both numbers), then the SHA-256 of the whole content. Only then is the header
parsed (duplicate keys, NaN and non-integer numbers refused) and every tensor's dtype, shape
and byte range validated: ranges start at 0, follow each other with no gap or overlap, have
exactly prod(shape) * itemsize bytes, and the last one ends where the payload ends. Nothing
in the file can name code, a module or a path; see docs/guide/data-and-checkpoints.md.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import json
import os
import struct
import tempfile

import numpy as np


MAGIC = b"IRGRADCK"
FORMAT_VERSION = 1
FORMAT_NAME = "irgrad.save"
PREAMBLE = struct.Struct("<8sIIQQ")
DIGEST_SIZE = 32
HEADER_CAP = 64 << 20          # bytes of JSON header accepted at most
MAX_DEPTH = 200                # nesting of containers, on save and on load
MAX_NDIM = 64
MAX_BYTES = 1 << 62            # no single tensor or file may claim more

__all__ = ["save", "load", "CheckpointError", "CheckpointTruncatedError",
           "CheckpointIntegrityError", "CheckpointFormatError", "CheckpointVersionError"]


from .checkpoint_errors import (CheckpointError, CheckpointFormatError,  # noqa: E402
                                CheckpointIntegrityError, CheckpointTruncatedError,
                                CheckpointVersionError)


# dtype name -> (NumPy dtype of the stored bytes, itemsize). bfloat16 is stored as its bits.
_STORED = {
    "float32": np.dtype("<f4"), "float64": np.dtype("<f8"), "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2"), "int8": np.dtype("i1"), "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"), "int64": np.dtype("<i8"), "uint8": np.dtype("u1"),
    "bool": np.dtype("u1"),
}
# NumPy arrays that are saved as arrays (and loaded back as NumPy arrays).
_NUMPY_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64",
                np.dtype(np.float16): "float16", np.dtype(np.int8): "int8",
                np.dtype(np.int16): "int16", np.dtype(np.int32): "int32",
                np.dtype(np.int64): "int64", np.dtype(np.uint8): "uint8",
                np.dtype(np.bool_): "bool"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


# ---- save ------------------------------------------------------------------------------------

class _Encoder:
    """Turns a Python object into the JSON `root` plus a list of tensors to write."""

    def __init__(self):
        self.tensors = []            # (kind, object)
        self._index = {}             # id(tensor) -> index, so a shared tensor is stored once
        self._active = set()         # ids of containers being encoded (cycle detection)

    def tensor_index(self, kind, obj) -> int:
        key = id(obj)
        i = self._index.get(key)
        if i is None:
            i = len(self.tensors)
            self._index[key] = i
            self.tensors.append((kind, obj))
        return i

    def encode(self, obj, where="root", depth=0):
        from .frontend.tensor import Tensor
        if depth > MAX_DEPTH:
            raise ValueError(f"irgrad.save: {where} is nested more than {MAX_DEPTH} levels deep")
        if obj is None:
            return {"type": "none"}
        t = type(obj)
        if t is bool:
            return {"type": "bool", "value": obj}
        if t is int:
            return {"type": "int", "value": obj}
        if t is float:
            return {"type": "float", "value": obj.hex()}
        if t is str:
            return {"type": "str", "value": obj}
        if isinstance(obj, Tensor):
            entry = {"type": "tensor", "index": self.tensor_index("tensor", obj)}
            if obj.requires_grad:
                entry["requires_grad"] = True
            if getattr(obj, "_is_param", False) or type(obj).__name__ == "Parameter":
                entry["parameter"] = True
            return entry
        if isinstance(obj, np.ndarray):
            if obj.dtype not in _NUMPY_NAMES:
                raise TypeError(f"irgrad.save: {where} is a NumPy array of dtype {obj.dtype}, "
                                f"which the format does not store")
            return {"type": "ndarray", "index": self.tensor_index("ndarray", obj)}
        if isinstance(obj, np.generic) and np.dtype(type(obj)) in _NUMPY_NAMES:
            return {"type": "numpy_scalar", "index": self.tensor_index("ndarray",
                                                                       np.asarray(obj))}
        from .ir.dtypes import DType
        if isinstance(obj, DType):
            return {"type": "dtype", "value": obj.name}
        if isinstance(obj, (list, tuple, dict)):
            if id(obj) in self._active:
                raise ValueError(f"irgrad.save: {where} contains itself (a reference cycle)")
            self._active.add(id(obj))
            try:
                return self._container(obj, where, depth)
            finally:
                self._active.discard(id(obj))
        hint = " Save its state_dict() instead." if hasattr(obj, "state_dict") else ""
        raise TypeError(f"irgrad.save stores tensors, NumPy arrays, numbers, strings, None and "
                        f"lists/tuples/dicts of them (no pickle); {where} is a "
                        f"{type(obj).__name__}.{hint}")

    def _container(self, obj, where, depth):
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or type(k) in (bool, int, float, str)
                        or (type(k) is tuple and all(type(x) in (bool, int, float, str)
                                                     for x in k))):
                    raise TypeError(f"irgrad.save: {where} has a key of type "
                                    f"{type(k).__name__}; keys must be str, int, float, bool, "
                                    f"None or tuples of those")
                items.append([self.encode(k, f"{where} key {k!r}", depth + 1),
                              self.encode(v, f"{where}[{k!r}]", depth + 1)])
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            return {"type": kind, "items": items}
        kind = "tuple" if isinstance(obj, tuple) else "list"
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            kind = "tuple"  # a namedtuple comes back as a plain tuple: no class names in files
        return {"type": kind, "items": [self.encode(v, f"{where}[{i}]", depth + 1)
                                        for i, v in enumerate(obj)]}


def _host_arrays(tensors):
    """Host copies of the objects to store, realizing every pending tensor in one graph."""
    from .frontend.realize import realize_nodes
    from .runtime.buffer import _to_bf16_bits
    from .ir import dtypes as dt
    pending = [obj.node for kind, obj in tensors if kind == "tensor"]
    realize_nodes(pending, "irgrad.save")
    out = []
    for kind, obj in tensors:
        if kind == "ndarray":
            name = _NUMPY_NAMES[obj.dtype]
            out.append((name, obj.shape, np.ascontiguousarray(obj), "cpu"))
            continue
        node = obj.node
        host = node.data.to_numpy()
        name = node.dtype.name
        if node.dtype is dt.bfloat16:
            host = _to_bf16_bits(host)
        out.append((name, tuple(node.shape), host, node.device or "cpu"))
    return out


def _build(obj):
    enc = _Encoder()
    root = enc.encode(obj)
    arrays = _host_arrays(enc.tensors)
    entries, blobs, offset = [], [], 0
    for (kind, _), (name, shape, host, device) in zip(enc.tensors, arrays):
        data = np.ascontiguousarray(host, dtype=_STORED[name]).tobytes()
        entries.append({"dtype": name, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)], "device": device})
        blobs.append(data)
        offset += len(data)
    header = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root,
                         "tensors": entries}, ensure_ascii=True, allow_nan=False,
                        separators=(",", ":")).encode("ascii")
    if len(header) > HEADER_CAP:
        raise ValueError(f"irgrad.save: the header would be {len(header)} bytes, above the "
                         f"format's cap of {HEADER_CAP}; store fewer, larger tensors")
    total = PREAMBLE.size + len(header) + offset + DIGEST_SIZE
    preamble = PREAMBLE.pack(MAGIC, FORMAT_VERSION, 0, len(header), total)
    return [preamble, header] + blobs


def _write_parts(f, parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
        f.write(p)
    f.write(h.digest())


def save(obj, f, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:
    """Write `obj` (tensors and nested dicts/lists/tuples of tensors and plain values) to `f`.

    `f` is a path or a binary file object. A path is written through a temporary file in the
    same directory that is fsync'd and then renamed over the final name, so a crash at any
    moment leaves either the old file or the new one, never a partial file under the name.
    """
    if pickle_module is not None:
        raise TypeError("irgrad.save never pickles; pickle_module is not supported")
    parts = _build(obj)
    if hasattr(f, "write"):
        _write_parts(f, parts)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            _write_parts(out, parts)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---- load ------------------------------------------------------------------------------------

def _read_all(f) -> tuple:
    if hasattr(f, "read"):
        data = f.read()
        name = getattr(f, "name", "<file object>")
    else:
        name = os.fspath(f)
        with open(name, "rb") as fh:
            data = fh.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("irgrad.load: the file object must be opened in binary mode")
    return bytes(data), str(name)


def _check_container(data: bytes, name: str):
    """Preamble, lengths and digest; returns (header bytes, payload memoryview)."""
    n = len(data)
    if n < PREAMBLE.size:
        if data == MAGIC[:n] or data[:len(MAGIC)] == MAGIC:
            raise CheckpointTruncatedError(
                f"{name}: truncated: expected at least {PREAMBLE.size + DIGEST_SIZE} bytes "
                f"(the preamble and digest), found {n}")
        raise CheckpointFormatError(f"{name}: not an irgrad checkpoint (found {n} bytes that "
                                    f"do not start with {MAGIC!r})")
    magic, version, flags, header_len, total = PREAMBLE.unpack_from(data)
    if magic != MAGIC:
        raise CheckpointFormatError(f"{name}: not an irgrad checkpoint (magic bytes "
                                    f"{magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise CheckpointVersionError(f"{name}: format version {version} is not supported "
                                     f"(this irgrad reads version {FORMAT_VERSION})")
    if flags != 0:
        raise CheckpointFormatError(f"{name}: reserved flags field is {flags:#x}, expected 0")
    if header_len > HEADER_CAP:
        raise CheckpointFormatError(f"{name}: header length {header_len} exceeds the cap of "
                                    f"{HEADER_CAP} bytes")
    if n < total:
        raise CheckpointTruncatedError(f"{name}: truncated: expected {total} bytes, found {n}")
    if n > total:
        raise CheckpointTruncatedError(f"{name}: trailing bytes: expected {total} bytes, "
                                       f"found {n} ({n - total} extra)")
    if PREAMBLE.size + header_len + DIGEST_SIZE > total:
        raise CheckpointFormatError(f"{name}: header length {header_len} does not fit in a "
                                    f"file of {total} bytes")
    body = memoryview(data)[:n - DIGEST_SIZE]
    digest = hashlib.sha256(body).digest()
    stored = data[n - DIGEST_SIZE:]
    if not hmac.compare_digest(digest, stored):
        raise CheckpointIntegrityError(
            f"{name}: SHA-256 mismatch, the file is corrupted (stored {stored.hex()[:16]}..., "
            f"computed {digest.hex()[:16]}...)")
    header = data[PREAMBLE.size:PREAMBLE.size + header_len]
    payload = body[PREAMBLE.size + header_len:]
    return header, payload


def _strict_object(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def _reject(what):
    def fn(s):
        raise ValueError(f"{what} {s!r} is not allowed")
    return fn


def _parse_header(header: bytes, name: str):
    try:
        text = header.decode("utf-8", errors="strict")
        return json.loads(text, object_pairs_hook=_strict_object,
                          parse_constant=_reject("constant"), parse_float=_reject("float"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointFormatError(f"{name}: header is not valid strict JSON: "
                                    f"{type(e).__name__}: {e}") from None


def _fail(name, msg):
    raise CheckpointFormatError(f"{name}: {msg}")


def _expect_keys(name, where, obj, required, optional=()):
    if type(obj) is not dict:
        _fail(name, f"{where} must be a JSON object, found {type(obj).__name__}")
    keys = set(obj)
    missing = set(required) - keys
    extra = keys - set(required) - set(optional)
    if missing:
        _fail(name, f"{where} lacks field(s) {sorted(missing)}")
    if extra:
        _fail(name, f"{where} has unknown field(s) {sorted(extra)}")


def _is_int(x) -> bool:
    return type(x) is int


def _validate_tensors(name, entries, payload_len):
    if type(entries) is not list:
        _fail(name, f"'tensors' must be a list, found {type(entries).__name__}")
    specs, end = [], 0
    for i, e in enumerate(entries):
        where = f"tensors[{i}]"
        _expect_keys(name, where, e, ("dtype", "shape", "data_offsets", "device"))
        dtype = e["dtype"]
        if type(dtype) is not str or dtype not in _STORED:
            _fail(name, f"{where}.dtype {dtype!r} is not one of {sorted(_STORED)}")
        device = e["device"]
        if type(device) is not str or not 0 < len(device) <= 32:
            _fail(name, f"{where}.device must be a short string, found {device!r}")
        shape = e["shape"]
        if type(shape) is not list or len(shape) > MAX_NDIM:
            _fail(name, f"{where}.shape must be a list of at most {MAX_NDIM} sizes, "
                        f"found {shape!r:.80}")
        nbytes = _STORED[dtype].itemsize
        for d, s in enumerate(shape):
            if not _is_int(s) or s < 0 or s > MAX_BYTES:
                _fail(name, f"{where}.shape[{d}] = {s!r} is not a size in [0, {MAX_BYTES}]")
            nbytes *= s
            if nbytes > MAX_BYTES:
                _fail(name, f"{where}.shape {shape} overflows: more than {MAX_BYTES} bytes")
        offs = e["data_offsets"]
        if type(offs) is not list or len(offs) != 2 or not all(_is_int(x) for x in offs):
            _fail(name, f"{where}.data_offsets must be [begin, end] integers, found {offs!r}")
        begin, stop = offs
        if begin != end:
            what = "overlaps the previous tensor" if begin < end else "leaves a gap after " \
                                                                       "the previous tensor"
            _fail(name, f"{where}.data_offsets begin at {begin}, expected {end} ({what})")
        if stop < begin or stop > payload_len:
            _fail(name, f"{where}.data_offsets [{begin}, {stop}] out of bounds of the "
                        f"{payload_len}-byte payload")
        if stop - begin != nbytes:
            _fail(name, f"{where} has {stop - begin} bytes, but dtype {dtype} and shape "
                        f"{shape} need {nbytes}")
        specs.append((dtype, tuple(shape), begin, stop, device))
        end = stop
    if end != payload_len:
        _fail(name, f"tensor data ends at byte {end} of the payload, but the payload has "
                    f"{payload_len} bytes")
    return specs


class _Decoder:
    def __init__(self, name, n_tensors):
        self.name = name
        self.n = n_tensors
        self.used = {}               # index -> "tensor" | "ndarray"

    def index(self, node, where, kind):
        i = node["index"]
        if not _is_int(i) or not 0 <= i < self.n:
            _fail(self.name, f"{where}.index {i!r} is not a tensor index in [0, {self.n})")
        prev = self.used.setdefault(i, kind)
        if prev != kind:
            _fail(self.name, f"{where}: tensor {i} is used both as a tensor and as an array")
        return i

    def decode(self, node, where="root", depth=0):
        name = self.name
        if depth > MAX_DEPTH:
            _fail(name, f"{where} is nested more than {MAX_DEPTH} levels deep")
        if type(node) is not dict or type(node.get("type")) is not str:
            _fail(name, f"{where} must be an object with a string 'type'")
        kind = node["type"]
        if kind == "none":
            _expect_keys(name, where, node, ("type",))
            return None
        if kind in ("bool", "int", "str", "float", "dtype"):
            _expect_keys(name, where, node, ("type", "value"))
            v = node["value"]
            want = {"bool": bool, "int": int, "str": str, "float": str, "dtype": str}[kind]
            if type(v) is not want:
                _fail(name, f"{where}.value must be a JSON {want.__name__}, found {v!r:.80}")
            if kind == "float":
                try:
                    return float.fromhex(v)
                except (ValueError, OverflowError):
                    _fail(name, f"{where}.value {v!r:.80} is not a hexadecimal float")
            if kind == "dtype":
                from .ir import dtypes as dt
                if v not in _STORED:
                    _fail(name, f"{where}.value {v!r:.80} is not a dtype name")
                return dt.from_name(v)
            return v
        if kind == "tensor":
            _expect_keys(name, where, node, ("type", "index"), ("requires_grad", "parameter"))
            for flag in ("requires_grad", "parameter"):
                if flag in node and node[flag] is not True:
                    _fail(name, f"{where}.{flag} must be true when present")
            return ("__tensor__", self.index(node, where, "tensor"),
                    "requires_grad" in node, "parameter" in node)
        if kind in ("ndarray", "numpy_scalar"):
            _expect_keys(name, where, node, ("type", "index"))
            return ("__" + kind + "__", self.index(node, where, "ndarray"))
        if kind in ("list", "tuple", "dict", "odict"):
            _expect_keys(name, where, node, ("type", "items"))
            items = node["items"]
            if type(items) is not list:
                _fail(name, f"{where}.items must be a list")
            if kind in ("list", "tuple"):
                vals = [self.decode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(items)]
                return _Seq(kind, vals)
            pairs = []
            for i, kv in enumerate(items):
                if type(kv) is not list or len(kv) != 2:
                    _fail(name, f"{where}.items[{i}] must be a [key, value] pair")
                k = self.decode(kv[0], f"{where} key {i}", depth + 1)
                if isinstance(k, _Seq) and k.kind == "tuple" and all(
                        type(x) in (bool, int, float, str) for x in k.items):
                    k = tuple(k.items)
                elif not (k is None or type(k) in (bool, int, float, str)):
                    _fail(name, f"{where} key {i} is not a str, number, bool, None or tuple")
                pairs.append((k, self.decode(kv[1], f"{where}[{k!r:.40}]", depth + 1)))
            if len({k for k, _ in pairs}) != len(pairs):
                _fail(name, f"{where} has duplicate keys")
            return _Map(kind, pairs)
        _fail(name, f"{where}.type {kind!r:.40} is not a known type")


class _Seq:
    __slots__ = ("kind", "items")

    def __init__(self, kind, items):
        self.kind, self.items = kind, items


class _Map:
    __slots__ = ("kind", "pairs")

    def __init__(self, kind, pairs):
        self.kind, self.pairs = kind, pairs


def _target_device(map_location, saved: str):
    if map_location is None:
        return saved
    if isinstance(map_location, dict):
        dst = map_location.get(saved, saved)
        return str(dst)
    if callable(map_location):
        return None  # decided per tensor, after it is built
    return str(map_location)


def _materialize(tree, arrays, specs, map_location):
    """Turn the validated tree into Python objects."""
    from .frontend.creation import from_host
    from .frontend.device import device_name
    from .ir import dtypes as dt
    built = {}

    def tensor(i, requires_grad, parameter):
        key = (i, requires_grad, parameter)
        t = built.get(key)
        if t is not None:
            return t
        dtype_name, shape, _, _, saved_dev = specs[i]
        dev = _target_device(map_location, saved_dev)
        t = from_host(arrays[i], dt.from_name(dtype_name),
                      device_name(dev if dev is not None else "cpu"))
        if dev is None:  # a callable map_location: (tensor, saved location) -> tensor
            r = map_location(t, saved_dev)
            t = r if r is not None and hasattr(r, "node") else t.to(r) if r is not None else t
        if requires_grad:
            t.requires_grad_(True)
        if parameter:
            try:
                from .nn import Parameter
                t = Parameter(t, requires_grad=requires_grad)
            except ImportError:
                pass
        built[key] = t
        return t

    def build(v):
        # Depth is bounded by MAX_DEPTH (checked while decoding), so recursion is safe.
        if isinstance(v, _Seq):
            items = [build(x) for x in v.items]
            return tuple(items) if v.kind == "tuple" else items
        if isinstance(v, _Map):
            cls = collections.OrderedDict if v.kind == "odict" else dict
            return cls((k, build(x)) for k, x in v.pairs)
        if type(v) is tuple and v and v[0] == "__tensor__":
            return tensor(*v[1:])
        if type(v) is tuple and v and v[0] == "__ndarray__":
            return arrays[v[1]].copy()
        if type(v) is tuple and v and v[0] == "__numpy_scalar__":
            return arrays[v[1]][()]
        return v

    return build(tree)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Read an object written by `irgrad.save`, after checking its integrity and layout.

    `map_location` moves tensors: None (where they were saved), a device or its name, a dict
    {saved device: device}, or a callable (tensor, saved device name) -> tensor or device.
    Raises a `CheckpointError` subclass naming the field and the numbers for any file that
    is truncated, corrupted or breaks the format; never runs code from the file.
    """
    if pickle_module is not None:
        raise TypeError("irgrad.load never unpickles; pickle_module is not supported")
    data, name = _read_all(f)
    header_bytes, payload = _check_container(data, name)
    header = _parse_header(header_bytes, name)
    _expect_keys(name, "header", header, ("format", "version", "root", "tensors"))
    if header["format"] != FORMAT_NAME:
        _fail(name, f"header.format is {header['format']!r:.40}, expected {FORMAT_NAME!r}")
    if header["version"] != FORMAT_VERSION or not _is_int(header["version"]):
        raise CheckpointVersionError(f"{name}: header.version {header['version']!r:.20} does "
                                     f"not match the preamble's version {FORMAT_VERSION}")
    specs = _validate_tensors(name, header["tensors"], len(payload))
    dec = _Decoder(name, len(specs))
    tree = dec.decode(header["root"])
    unused = sorted(set(range(len(specs))) - set(dec.used))
    if unused:
        _fail(name, f"tensors {unused[:8]} are stored but never referenced")
    arrays = []
    for i, (dtype_name, shape, begin, stop, _) in enumerate(specs):
        raw = np.frombuffer(payload[begin:stop], dtype=_STORED[dtype_name]).reshape(shape)
        if dtype_name == "bool":
            if raw.size and raw.max() > 1:
                _fail(name, f"tensors[{i}] is bool but holds a byte other than 0 or 1")
            arr = raw.astype(np.bool_)
        elif dtype_name == "bfloat16":
            from .runtime.buffer import _from_bf16_bits
            arr = _from_bf16_bits(raw)
        else:
            arr = raw.astype(raw.dtype.newbyteorder("="), copy=True)
        if dec.used[i] == "ndarray" and dtype_name == "bfloat16":
            _fail(name, f"tensors[{i}]: NumPy arrays cannot be bfloat16")
        arrays.append(arr)
    return _materialize(tree, arrays, specs, map_location)
