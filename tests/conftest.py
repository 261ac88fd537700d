"""Test session setup: one shared compile-cache directory for the whole session."""
import os

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory):
    """Every compile in the session shares this cache directory (IRGRAD_CACHE_DIR)."""
    path = str(tmp_path_factory.mktemp("irgrad-cache"))
    old = os.environ.get("IRGRAD_CACHE_DIR")
    os.environ["IRGRAD_CACHE_DIR"] = path
    yield path
    if old is None:
        os.environ.pop("IRGRAD_CACHE_DIR", None)
    else:
        os.environ["IRGRAD_CACHE_DIR"] = old


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def eager_mode():
    import irgrad
    with irgrad.eager():
        yield
