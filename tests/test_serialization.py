"""irgrad.save / irgrad.load: bit-exact round trips, a corruption suite in which every
damaged or forged file raises a typed CheckpointError, and kill -9 during save."""
import collections
import hashlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import irgrad
from irgrad import serialization as S
from irgrad.frontend.creation import from_host
from irgrad.runtime.buffer import _from_bf16_bits


def _bits(t):
    """The raw bit pattern of a tensor's values (bfloat16 as its 16-bit pattern)."""
    a = t.detach().numpy()
    if t.dtype == irgrad.bfloat16:
        return (a.view(np.uint32) >> 16).astype(np.uint16)
    return a.view(np.uint8) if a.dtype == np.bool_ else a.view(f"u{a.dtype.itemsize}")


def _all_dtype_tensors(rng):
    """One tensor per dtype, from random bit patterns (NaN payloads, -0.0, denormals...)."""
    out = {}
    for name, np_dt in (("float32", np.float32), ("float64", np.float64),
                        ("float16", np.float16), ("int8", np.int8), ("int16", np.int16),
                        ("int32", np.int32), ("int64", np.int64), ("uint8", np.uint8)):
        n = np.dtype(np_dt).itemsize
        raw = rng.integers(0, 256, size=(5, 7, n), dtype=np.uint8).tobytes()
        arr = np.frombuffer(raw, dtype=np_dt).reshape(5, 7)
        out[name] = irgrad.from_numpy(arr.copy())
    out["bool"] = irgrad.from_numpy(rng.random((4, 3)) > 0.5)
    bf = rng.integers(0, 1 << 16, size=(6,), dtype=np.uint32).astype(np.uint16)
    out["bfloat16"] = from_host(_from_bf16_bits(bf), irgrad.bfloat16)
    out["empty"] = irgrad.from_numpy(np.zeros((0, 3), np.float32))
    out["scalar"] = irgrad.tensor(3.5)
    return out


def test_round_trip_every_dtype_bit_exact(rng, tmp_path):
    tensors = _all_dtype_tensors(rng)
    path = tmp_path / "all.irg"
    irgrad.save(tensors, path)
    back = irgrad.load(path)
    assert list(back) == list(tensors)
    for k, t in tensors.items():
        b = back[k]
        assert b.dtype == t.dtype and b.shape == t.shape, k
        np.testing.assert_array_equal(_bits(b), _bits(t), err_msg=k)


def test_round_trip_nested_structures(tmp_path):
    w = irgrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    p = irgrad.tensor([0.5, -1.5], requires_grad=True)
    obj = {
        "model": collections.OrderedDict([("weight", w), ("bias", p)]),
        "optim": {"state": {0: {"step": irgrad.tensor(3.0)}},
                  "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1]}]},
        "misc": [None, True, False, 0, -(2 ** 70), 1.5, float("inf"), float("-inf"),
                 float("nan"), -0.0, "héllo ✓", (1, (2, "x"))],
        (1, "tuple key"): 2.5, 3: "int key", None: "none key", 2.5: "float key",
        "numpy": np.arange(6, dtype=np.int32).reshape(2, 3), "np_scalar": np.float64(2.25),
        "dtype": irgrad.float16, "shared": [w, w],
    }
    buf = io.BytesIO()
    irgrad.save(obj, buf)
    back = irgrad.load(io.BytesIO(buf.getvalue()))
    assert isinstance(back["model"], collections.OrderedDict)
    np.testing.assert_array_equal(back["model"]["weight"].numpy(), w.numpy())
    assert back["model"]["bias"].requires_grad
    assert back["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["optim"]["state"][0]["step"].item() == 3.0
    misc = back["misc"]
    assert misc[:6] == [None, True, False, 0, -(2 ** 70), 1.5]
    assert misc[6] == float("inf") and misc[7] == float("-inf") and np.isnan(misc[8])
    assert str(misc[9]) == "-0.0" and misc[10] == "héllo ✓" and misc[11] == (1, (2, "x"))
    assert back[(1, "tuple key")] == 2.5 and back[3] == "int key" and back[None] == "none key"
    assert back[2.5] == "float key"
    assert isinstance(back["numpy"], np.ndarray) and back["numpy"].dtype == np.int32
    np.testing.assert_array_equal(back["numpy"], obj["numpy"])
    assert back["np_scalar"] == np.float64(2.25) and isinstance(back["np_scalar"], np.float64)
    assert back["dtype"] is irgrad.float16
    assert back["shared"][0] is back["shared"][1]   # a shared tensor is stored once


def test_save_rejects_what_it_cannot_store(tmp_path):
    class Model:
        def state_dict(self):
            return {}
    with pytest.raises(TypeError, match="Save its state_dict"):
        irgrad.save({"m": Model()}, tmp_path / "x")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="reference cycle"):
        irgrad.save(loop, tmp_path / "x")
    with pytest.raises(TypeError, match="keys must be"):
        irgrad.save({object(): 1}, tmp_path / "x")
    assert not os.path.exists(tmp_path / "x")
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_map_location(tmp_path):
    path = tmp_path / "m.irg"
    irgrad.save({"a": irgrad.tensor([1.0, 2.0])}, path)
    seen = []

    def fn(t, loc):
        seen.append(loc)
        return t * 2

    for loc in (None, "cpu", irgrad.device("cpu"), {"cpu": "cpu"}):
        np.testing.assert_array_equal(irgrad.load(path, map_location=loc)["a"].numpy(),
                                      [1.0, 2.0])
    np.testing.assert_array_equal(irgrad.load(path, map_location=fn)["a"].numpy(), [2.0, 4.0])
    assert seen == ["cpu"]
    with pytest.raises(RuntimeError):
        irgrad.load(path, map_location="nonsense")


# ---- the corruption suite ----------------------------------------------------------------------

def _sample_file(rng):
    obj = {"w": irgrad.from_numpy(rng.normal(size=(4, 5)).astype(np.float32)),
           "b": irgrad.from_numpy(np.arange(3, dtype=np.int64)),
           "m": irgrad.from_numpy(np.array([True, False])), "lr": 0.1, "name": "x"}
    buf = io.BytesIO()
    irgrad.save(obj, buf)
    return buf.getvalue()


def _parts(data):
    magic, version, flags, hlen, total = S.PREAMBLE.unpack_from(data)
    header = json.loads(data[S.PREAMBLE.size:S.PREAMBLE.size + hlen])
    payload = data[S.PREAMBLE.size + hlen:len(data) - 32]
    return header, payload, version


def _forge(header, payload, version=S.FORMAT_VERSION, flags=0, raw_header=None):
    """A file with a correct digest around any header: what an attacker could write."""
    hb = raw_header if raw_header is not None else json.dumps(header).encode()
    total = S.PREAMBLE.size + len(hb) + len(payload) + 32
    body = S.PREAMBLE.pack(S.MAGIC, version, flags, len(hb), total) + hb + payload
    return body + hashlib.sha256(body).digest()


def _refused(data, cls=S.CheckpointError, match=None):
    with pytest.raises(cls, match=match) as info:
        irgrad.load(io.BytesIO(data))
    return str(info.value)


def test_sample_file_loads(rng):
    back = irgrad.load(io.BytesIO(_sample_file(rng)))
    assert back["lr"] == 0.1 and back["b"].tolist() == [0, 1, 2]


def test_truncation_at_every_boundary_and_random_offsets(rng):
    data = _sample_file(rng)
    header, payload, _ = _parts(data)
    hlen = S.PREAMBLE.unpack_from(data)[3]
    start = S.PREAMBLE.size + hlen
    cuts = {0, 1, 4, 8, 12, 16, 24, 31, 32, start - 1, start, len(data) - 32,
            len(data) - 31, len(data) - 1}
    for t in header["tensors"]:
        cuts.update(start + o for o in t["data_offsets"])
    cuts.update(int(x) for x in rng.integers(1, len(data), size=60))
    for cut in sorted(c for c in cuts if c < len(data)):
        msg = _refused(data[:cut])
        if cut >= S.PREAMBLE.size:
            assert f"truncated: expected {len(data)} bytes, found {cut}" in msg, msg


def test_trailing_bytes(rng):
    data = _sample_file(rng)
    for extra in (b"\0", b"x" * 100, data):
        msg = _refused(data + extra, S.CheckpointTruncatedError)
        assert f"expected {len(data)} bytes, found {len(data) + len(extra)}" in msg


def test_header_length_limits(rng):
    data = bytearray(_sample_file(rng))
    huge = bytearray(data)
    struct.pack_into("<Q", huge, 16, 1 << 40)
    _refused(bytes(huge), S.CheckpointFormatError, "exceeds the cap")
    beyond = bytearray(data)
    struct.pack_into("<Q", beyond, 16, len(data))
    _refused(bytes(beyond), S.CheckpointFormatError)


def test_wrong_version_and_magic(rng):
    data = _sample_file(rng)
    header, payload, _ = _parts(data)
    _refused(_forge(header, payload, version=2), S.CheckpointVersionError,
             "format version 2 is not supported")
    _refused(_forge(dict(header, version=2), payload), S.CheckpointVersionError)
    _refused(_forge(header, payload, flags=1), S.CheckpointFormatError, "flags")
    _refused(b"PK\x03\x04" + data[4:], S.CheckpointFormatError, "not an irgrad checkpoint")


def _with_tensor(header, i, **changes):
    h = json.loads(json.dumps(header))
    h["tensors"][i].update(changes)
    return h


def test_forged_headers_are_refused(rng):
    """Files with a valid digest but a header that lies: every one is refused."""
    data = _sample_file(rng)
    header, payload, _ = _parts(data)
    t0 = header["tensors"][0]
    n0 = t0["data_offsets"][1]
    forged = {
        "bad dtype": _with_tensor(header, 0, dtype="complex64"),
        "dtype not a string": _with_tensor(header, 0, dtype=7),
        "negative size": _with_tensor(header, 0, shape=[-4, -5]),
        "bool size": _with_tensor(header, 0, shape=[True, 20]),
        "shape overflow": _with_tensor(header, 0, shape=[1 << 40, 1 << 40, 1 << 40]),
        "too many dims": _with_tensor(header, 0, shape=[1] * 100),
        "size mismatch": _with_tensor(header, 0, shape=[4, 4]),
        "offsets out of bounds": _with_tensor(header, 2, data_offsets=[
            header["tensors"][2]["data_offsets"][0], len(payload) + 8]),
        "overlap": _with_tensor(header, 1, data_offsets=[n0 - 8, n0 + 16]),
        "gap": _with_tensor(header, 1, data_offsets=[n0 + 8, n0 + 32]),
        "reversed range": _with_tensor(header, 0, data_offsets=[n0, 0]),
        "offsets not ints": _with_tensor(header, 0, data_offsets=["0", str(n0)]),
        "unknown tensor field": _with_tensor(header, 0, extra=1),
        "missing field": {**header, "tensors": [{k: v for k, v in t0.items() if k != "shape"}]
                          + header["tensors"][1:]},
        "unknown type": {**header, "root": {"type": "pickle", "value": "cos\nsystem"}},
        "index out of range": {**header, "root": {"type": "tensor", "index": 99}},
        "unreferenced tensor": {**header, "root": {"type": "none"}},
        "bad float": {**header, "root": {"type": "float", "value": "0x1.zzp+1"}},
        "bad format name": {**header, "format": "safetensors"},
        "header not an object": [1, 2, 3],
        "deep nesting": {**header, "root": json.loads(
            '{"type":"list","items":[' * 300 + ']}' * 300)},
    }
    for name, h in forged.items():
        with pytest.raises(S.CheckpointError):
            irgrad.load(io.BytesIO(_forge(h, payload)))
    raw = {
        "duplicate names": b'{"format":"irgrad.save","format":"irgrad.save","version":1,'
                           b'"root":{"type":"none"},"tensors":[]}',
        "nan constant": b'{"format":"irgrad.save","version":1,"root":{"type":"int","value":'
                        b'NaN},"tensors":[]}',
        "json float": b'{"format":"irgrad.save","version":1.0,"root":{"type":"none"},'
                      b'"tensors":[]}',
        "not utf-8": b'{"format":"\xff\xfe","version":1,"root":{"type":"none"},"tensors":[]}',
        "not json": b"\x80\x04\x95 pickle bytes",
        "very deep json": b'[' * 100000 + b']' * 100000,
        "duplicate dict keys": b'{"format":"irgrad.save","version":1,"root":{"type":"dict",'
                               b'"items":[[{"type":"str","value":"a"},{"type":"none"}],'
                               b'[{"type":"str","value":"a"},{"type":"none"}]]},'
                               b'"tensors":[]}',
    }
    for name, hb in raw.items():
        with pytest.raises(S.CheckpointFormatError):
            irgrad.load(io.BytesIO(_forge(None, b"", raw_header=hb)))
    # a bool tensor holding a byte other than 0/1
    bool_i = [i for i, t in enumerate(header["tensors"]) if t["dtype"] == "bool"][0]
    b0 = header["tensors"][bool_i]["data_offsets"][0]
    bad = bytearray(payload)
    bad[b0] = 7
    _refused(_forge(header, bytes(bad)), S.CheckpointFormatError, "bool")
    # the untouched forge helper itself produces a loadable file (the cases above are real)
    assert irgrad.load(io.BytesIO(_forge(header, payload)))["name"] == "x"


def test_one_bit_flips_are_refused(rng):
    data = _sample_file(rng)
    hlen = S.PREAMBLE.unpack_from(data)[3]
    end_header = S.PREAMBLE.size + hlen
    positions = list(range(end_header))   # every bit of preamble and header
    positions += [int(x) for x in rng.integers(end_header, len(data), size=64)]
    for pos in positions:
        for bit in range(8) if pos < end_header else (int(rng.integers(8)),):
            bad = bytearray(data)
            bad[pos] ^= 1 << bit
            with pytest.raises(S.CheckpointError):
                irgrad.load(io.BytesIO(bytes(bad)))


def test_random_garbage_is_refused(rng):
    for n in (0, 1, 7, 31, 32, 33, 100, 5000):
        _refused(rng.integers(0, 256, size=n, dtype=np.uint8).tobytes())
        _refused(S.MAGIC + rng.integers(0, 256, size=n, dtype=np.uint8).tobytes())
    # a plausible preamble with random content behind it
    for _ in range(20):
        body = rng.integers(0, 256, size=200, dtype=np.uint8).tobytes()
        pre = S.PREAMBLE.pack(S.MAGIC, 1, 0, 100, S.PREAMBLE.size + len(body))
        _refused(pre + body, S.CheckpointIntegrityError)


def test_error_is_typed_for_files_on_disk(rng, tmp_path):
    data = _sample_file(rng)
    path = tmp_path / "half.irg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(S.CheckpointTruncatedError,
                       match=f"truncated: expected {len(data)} bytes, found {len(data) // 2}"):
        irgrad.load(path)
    assert issubclass(S.CheckpointError, RuntimeError)


# ---- atomic save ---------------------------------------------------------------------------

_SAVER = textwrap.dedent("""
    import os, sys, time, numpy as np, irgrad
    from irgrad import serialization as S
    path, pause = sys.argv[1], sys.argv[2]
    real_write, real_replace = S._write_parts, os.replace

    def write_parts(f, parts):          # pause in the middle of writing the payload
        if pause == "write":
            f.write(parts[0]); f.write(parts[1]); f.write(parts[2][:1000]); f.flush()
            print("paused", flush=True); time.sleep(60)
        real_write(f, parts)

    def replace(a, b):                  # pause with the temp file complete, not yet renamed
        if pause == "rename":
            print("paused", flush=True); time.sleep(60)
        real_replace(a, b)

    big = [irgrad.from_numpy(np.full((1 << 20,), float(v), np.float32)) for v in (1, 2)]
    irgrad.save({"which": 0, "data": big[0]}, path)
    print("saved", 0, flush=True)
    S._write_parts, S.os.replace = write_parts, replace
    i = 1
    while True:
        irgrad.save({"which": i % 2, "data": big[i % 2]}, path)
        print("saved", i, flush=True)
        i += 1
""")


@pytest.mark.parametrize("pause", ["write", "rename", "random"])
def test_kill_during_save_leaves_previous_file(tmp_path, pause):
    """SIGKILL while a save is writing its temp file, or before the rename, or at a random
    moment: the final name always holds a complete, loadable file, never a partial one."""
    path = str(tmp_path / "ck.irg")
    script = tmp_path / "saver.py"
    script.write_text(_SAVER)
    proc = subprocess.Popen([sys.executable, str(script), path, pause],
                            stdout=subprocess.PIPE, cwd=os.getcwd(), text=True)
    try:
        assert proc.stdout.readline().startswith("saved")   # one complete save exists
        if pause == "random":
            time.sleep(0.3)
        else:
            assert proc.stdout.readline().startswith("paused")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    back = irgrad.load(path)
    assert back["which"] in (0, 1)
    assert float(back["data"][0].item()) == back["which"] + 1
    if pause != "random":
        assert back["which"] == 0                            # the previous file, intact
        leftovers = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
        assert len(leftovers) == 1 and leftovers[0].startswith(".ck.irg.")
