"""The public surface of API.md: submodules reachable after `import irgrad`, linalg names."""
import numpy as np
import torch

import irgrad


def test_submodules_are_attributes():
    for name in ("nn", "optim", "utils", "autograd", "linalg", "multiprocessing", "cuda",
                 "backends"):
        assert hasattr(irgrad, name), name
    assert hasattr(irgrad.nn, "functional") and hasattr(irgrad.utils, "data")


def test_linalg_norms_match_torch():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    got = [irgrad.linalg.vector_norm(irgrad.tensor(x), dim=1),
           irgrad.linalg.vector_norm(irgrad.tensor(x), ord=1),
           irgrad.linalg.norm(irgrad.tensor(x)),
           irgrad.linalg.matrix_norm(irgrad.tensor(x))]
    irgrad.realize(*got)
    tx = torch.tensor(x)
    want = [torch.linalg.vector_norm(tx, dim=1), torch.linalg.vector_norm(tx, ord=1),
            torch.linalg.norm(tx), torch.linalg.matrix_norm(tx)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5)


def test_backends_list_what_runs():
    names = irgrad.backends.available()
    assert "cpu" in names
    assert irgrad.cuda.is_available() == ("cuda" in names)
