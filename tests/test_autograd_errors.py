"""PyTorch's autograd errors (RELIABILITY.md cases 13 and 19-27): same exception class, same
message (irgrad may add information after PyTorch's text), raised at the user's line."""
import traceback

import numpy as np
import pytest
import torch

import irgrad


def leaf(lib, values=(1.0, 2.0, 3.0)):
    return lib.tensor(list(values), requires_grad=True)


def case13(lib):
    lib.arange(3).requires_grad_()


def case19(lib):
    x = leaf(lib)
    x.add_(1.0)


def case19_view(lib):
    x = leaf(lib)
    x.mul_(2.0)


def case20(lib):
    x = leaf(lib)
    y = (x * x).sum()
    y.backward()
    y.backward()


def case20_shared(lib):
    x = leaf(lib)
    h = x.exp()
    h.sum().backward()
    (h * 2.0).sum().backward()


def case20_grad(lib):
    x = leaf(lib)
    y = (x.exp() * x).sum()
    lib.autograd.grad(y, x)
    lib.autograd.grad(y, x)


def case21(lib):
    x = leaf(lib)
    (x * 2.0).backward()


def case22(lib):
    lib.tensor([1.0, 2.0]).sum().backward()


def case22_second(lib):
    x = leaf(lib)
    lib.autograd.backward([(x * 2.0).sum(), lib.tensor([1.0]).sum()])


def case23(lib):
    x = leaf(lib)
    y = x.exp()
    y.add_(1.0)
    y.sum().backward()


def case23_input(lib):
    x = leaf(lib)
    w = lib.tensor([1.0, 2.0, 3.0])
    y = x * w
    w.mul_(2.0)
    y.sum().backward()


def case23_param_step(lib):
    x = leaf(lib)
    w = leaf(lib, (4.0, 5.0, 6.0))
    loss = (x * w).sum()
    loss.backward(retain_graph=True)
    with lib.no_grad():
        w.sub_(0.1 * w.grad)
    loss.backward()


def case24(lib):
    x = leaf(lib)
    u = leaf(lib, (1.0, 2.0))
    lib.autograd.grad((x * 2.0).sum(), [x, u])


def case25(lib):
    x = leaf(lib)
    (x * 2.0).requires_grad_(False)


def case26(lib):
    leaf(lib).numpy()


def case_grad_shape(lib):
    x = leaf(lib)
    (x * 2.0).backward(lib.ones(2))


def case_input_no_grad(lib):
    x = leaf(lib)
    lib.autograd.grad((x * 2.0).sum(), [lib.tensor([1.0])])


def case_backward_empty_inputs(lib):
    x = leaf(lib)
    (x * 2.0).sum().backward(inputs=[])


def case_retain_grad_no_grad(lib):
    lib.tensor([1.0]).retain_grad()


CASES = [case13, case19, case19_view, case20, case20_shared, case20_grad, case21, case22,
         case22_second, case23, case23_input, case23_param_step, case24, case25, case26,
         case_grad_shape, case_input_no_grad, case_backward_empty_inputs,
         case_retain_grad_no_grad]


def _normalize(msg):
    return msg.replace("torch.autograd.set_detect_anomaly", "irgrad.autograd.set_detect_anomaly")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_error_matches_torch(case):
    with pytest.raises(Exception) as theirs:
        case(torch)
    with pytest.raises(Exception) as ours:
        case(irgrad)
    assert type(ours.value) is type(theirs.value) or \
        type(theirs.value) in type(ours.value).__mro__, (ours.value, theirs.value)
    want, got = _normalize(str(theirs.value)), str(ours.value)
    if "modified by an inplace operation" in want:
        # PyTorch's text up to "instead.", then irgrad names the backward op, then the hint.
        head = want.split(" Hint:")[0]
        assert got.startswith(head), (got, want)
        assert got.endswith("Hint:" + want.split(" Hint:")[1])
    else:
        assert got == want
    frames = traceback.extract_tb(ours.value.__traceback__)
    assert frames[-1].filename == __file__, frames[-1]


def test_saved_tensor_modified_before_use_is_fine():
    """Modifying a tensor before an op records it, or a tensor no rule saves, is allowed."""
    x = leaf(irgrad)
    w = irgrad.tensor([1.0, 2.0, 3.0])
    w.mul_(2.0)
    y = x * w
    z = y + 1.0
    y2 = x + 0.0
    y2.add_(1.0)  # add's backward saves nothing
    (z.sum() + y2.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 5.0, 7.0])


def test_inplace_ops_in_forward_that_torch_allows():
    """An in-place op may use the value it replaces (relu_, clamp_): only later changes of a
    saved value are errors."""
    grads = []
    for lib in (torch, irgrad):
        x = leaf(lib, (1.0, -2.0, 3.0))
        h = x * 2.0
        h.clamp_(0.0, 5.0)
        g = h * 3.0
        g.relu_()
        g.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_rerecording_the_same_graph_is_a_new_graph():
    """Interned nodes: recording the same ops again gives a graph that can be backpropagated
    (PyTorch builds a new graph each time; so do we, as far as the user can tell)."""
    x = leaf(irgrad)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0, 18.0])


def test_graph_without_saved_values_can_be_walked_twice():
    x = leaf(irgrad)
    y = (x + 1.0).sum()
    y.backward()
    y.backward()  # like PyTorch: add and sum save nothing
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_function_errors_match_torch():
    def wrong_count(lib):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a * 2.0

            @staticmethod
            def backward(ctx, g):
                return g
        x = leaf(lib)
        F.apply(x, x).sum().backward()

    def wrong_shape(lib):
        class G(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2.0

            @staticmethod
            def backward(ctx, g):
                return lib.ones(2)
        G.apply(leaf(lib)).sum().backward()

    def saved_twice(lib):
        class H(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * 2.0

            @staticmethod
            def backward(ctx, g):
                a, = ctx.saved_tensors
                return g * a
        y = H.apply(leaf(lib)).sum()
        y.backward()
        y.backward()

    def saved_modified(lib):
        class K(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(b)
                return a * b

            @staticmethod
            def backward(ctx, g):
                b, = ctx.saved_tensors
                return g * b, None
        b = lib.tensor([1.0, 2.0, 3.0])
        y = K.apply(leaf(lib), b)
        b.add_(1.0)
        y.sum().backward()

    for case in (wrong_count, wrong_shape, saved_twice, saved_modified):
        with pytest.raises(Exception) as theirs:
            case(torch)
        with pytest.raises(Exception) as ours:
            case(irgrad)
        assert type(ours.value) is type(theirs.value)
        want = _normalize(str(theirs.value))
        assert str(ours.value) == want, (case.__name__, str(ours.value), want)
