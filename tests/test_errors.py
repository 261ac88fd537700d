"""Bad inputs raise what PyTorch raises, when the op is recorded, at the user's own line.

The cases are RELIABILITY.md's catalogue entries 1, 3, 5, 6, 9, 11, 12, 14, 16, 18 and 27
(plus a few spellings of the same mistake). Each case runs against torch for the expected
exception class and message, then against irgrad in lazy and in eager mode: the class must
be the same, the message must carry torch's numbers (sizes, shapes, indices), and the
innermost traceback frame must be the line of this file that made the bad call.
"""
import re
import traceback

import numpy as np
import pytest
import torch

import irgrad

R = np.random.default_rng(0)
A23 = R.normal(size=(2, 3)).astype(np.float32)
A33 = R.normal(size=(3, 3)).astype(np.float32)
A45 = R.normal(size=(4, 5)).astype(np.float32)
A32_F64 = R.normal(size=(3, 2))
V3 = R.normal(size=(3,)).astype(np.float32)
V4 = R.normal(size=(4,)).astype(np.float32)
V6 = R.normal(size=(6,)).astype(np.float32)
V2 = np.array([1.5, 2.5], dtype=np.float32)

# name -> (inputs from module m, the bad call). Each bad call is a one-line lambda so that its
# line is the one the traceback must end at.
CASES = {
    "1 matmul shapes": (lambda m: (m.tensor(A23), m.tensor(A45)),
                        lambda m, a, b: a @ b),
    "1 matmul function": (lambda m: (m.tensor(A23), m.tensor(A45)),
                          lambda m, a, b: m.matmul(a, b)),
    "3 broadcast add": (lambda m: (m.tensor(A23), m.tensor(V4)),
                        lambda m, a, b: a + b),
    "3 broadcast mul": (lambda m: (m.tensor(A23), m.tensor(V4)),
                        lambda m, a, b: m.mul(a, b)),
    "5 cat sizes": (lambda m: (m.tensor(A23), m.tensor(A33)),
                    lambda m, a, b: m.cat([a, b], dim=1)),
    "6 view size": (lambda m: (m.tensor(V6),),
                    lambda m, a: a.view(4, 4)),
    "6 reshape size": (lambda m: (m.tensor(V6),),
                       lambda m, a: a.reshape(4, 4)),
    "9 matmul dtypes": (lambda m: (m.tensor(A23), m.tensor(A32_F64)),
                        lambda m, a, b: a @ b),
    "11 float index": (lambda m: (m.tensor(V3), m.tensor([0.0, 1.0])),
                       lambda m, a, i: a[i]),
    "12 mean of int": (lambda m: (m.arange(3),),
                       lambda m, a: a.mean()),
    "14 index out of range": (lambda m: (m.tensor(V3),),
                              lambda m, a: a[5]),
    "14 negative index out of range": (lambda m: (m.tensor(A23),),
                                       lambda m, a: a[-3]),
    "16 gather out of range": (lambda m: (m.tensor(V3), m.tensor([7])),
                               lambda m, a, i: m.gather(a, 0, i)),
    "18 sum dim": (lambda m: (m.tensor(A23),),
                   lambda m, a: a.sum(dim=2)),
    "18 sum dim function": (lambda m: (m.tensor(A23),),
                            lambda m, a: m.sum(a, -3)),
    "27 item": (lambda m: (m.tensor(V2),),
                lambda m, a: a.item()),
}


def numbers(message: str) -> set:
    return set(re.findall(r"-?\d+", message))


@pytest.mark.parametrize("mode", ["lazy", "eager"])
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_like_torch_at_user_line(name, mode):
    make_inputs, bad_call = CASES[name]
    with pytest.raises(Exception) as want:
        bad_call(torch, *make_inputs(torch))
    with irgrad.eager(mode == "eager"):
        inputs = make_inputs(irgrad)
        with pytest.raises(Exception) as got:
            bad_call(irgrad, *inputs)
    assert type(got.value) is type(want.value), \
        f"{name}: irgrad raised {type(got.value).__name__}: {got.value}; " \
        f"torch raises {type(want.value).__name__}: {want.value}"
    missing = numbers(str(want.value)) - numbers(str(got.value))
    assert not missing, f"{name}: message {str(got.value)!r} lacks {sorted(missing)} " \
                        f"(torch: {str(want.value)!r})"
    frame = traceback.extract_tb(got.tb)[-1]
    assert frame.filename == __file__ and frame.lineno == bad_call.__code__.co_firstlineno, \
        f"{name}: innermost frame is {frame.filename}:{frame.lineno} ({frame.line}), not " \
        f"this file's line {bad_call.__code__.co_firstlineno}"


def test_error_line_is_the_statement_in_a_plain_function():
    """Not only lambdas: a statement in an ordinary function body is the innermost frame."""
    a, b = irgrad.tensor(A23), irgrad.tensor(V4)
    with pytest.raises(RuntimeError) as got:
        c = a * 2.0
        c = c + b  # the bad line
    frame = traceback.extract_tb(got.tb)[-1]
    assert frame.filename == __file__ and frame.line.endswith("# the bad line")


def test_error_is_raised_when_recorded_not_when_realized():
    """The shape check runs when the op is recorded: nothing has been compiled."""
    from irgrad.frontend import realize

    before = dict(realize.counters)
    x = irgrad.tensor(A23).exp()  # lazy: not run
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\).*tensor b \(4\)"):
        x + irgrad.tensor(V4)
    assert realize.counters == before
