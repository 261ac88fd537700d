"""The on-disk compile cache: one file per compiled module, verified on every read.

Location: `IRGRAD_CACHE_DIR`, else `~/.cache/irgrad`. Each entry is written to a temporary
file, fsync'd and renamed, so a crash never leaves a partial file under the final name. An
entry starts with a magic tag and the SHA-256 of the vmfb that follows; a truncated or
corrupted entry is reported as a miss (and later overwritten), never loaded: a vmfb is
native code.

The graph index (graph_index.py) keeps its small entries in the same directory and seals
them with `seal`/`unseal` below; `stats` counts compiles and hits for both.
"""
from __future__ import annotations

import hashlib
import os
import tempfile

from .. import logs as log

MAGIC = b"IRGRAD-VMFB-1\n"

# IREE compiles, disk-cache hits (index hits included) and graph-index hits in this process.
# `irgrad.lowering.compile.stats` is this dict; it lives here so that counting needs no MLIR.
stats = {"compiles": 0, "disk_hits": 0, "index_hits": 0}


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


def entry_path(digest: str) -> str:
    return os.path.join(cache_dir(), f"{digest[:40]}.vmfb")


def read(digest: str) -> bytes | None:
    """The cached vmfb for `digest`, or None when absent or failing its integrity check."""
    path = entry_path(digest)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except FileNotFoundError:
        return None
    head = len(MAGIC) + 32
    if len(blob) < head or not blob.startswith(MAGIC):
        log.emit("cache", f"ignoring malformed cache entry {path}")
        return None
    vmfb = blob[head:]
    if hashlib.sha256(vmfb).digest() != blob[len(MAGIC):head]:
        log.emit("cache", f"ignoring corrupted cache entry {path} (checksum mismatch)")
        return None
    return vmfb


def write(digest: str, vmfb: bytes) -> None:
    atomic_write(entry_path(digest), MAGIC + hashlib.sha256(vmfb).digest() + vmfb)


def seal(magic: bytes, payload: bytes) -> bytes:
    """`payload` framed as `magic` + its SHA-256 + itself (the layout of a vmfb entry)."""
    return magic + hashlib.sha256(payload).digest() + payload


def unseal(magic: bytes, blob: bytes) -> bytes | None:
    """The payload of a sealed blob, or None when the tag or the checksum is wrong."""
    head = len(magic) + 32
    if len(blob) < head or not blob.startswith(magic):
        return None
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(magic):head]:
        return None
    return payload
