"""irgrad: PyTorch-style deep learning on a lazy IR, compiled through MLIR and IREE.

`import irgrad as torch` runs PyTorch-style code: tensor ops record nodes of a lazy graph,
which is compiled and run when values are needed (or at once, in eager mode).
"""
from __future__ import annotations

from .ir import ops as _ops  # registers the op table
from .ir.dtypes import (bfloat16, bool_ as bool, double, float_ as float, float16, float32,  # noqa: A004
                        float64, half, int8, int16, int32, int64, long, short, uint8,
                        get_default_dtype, set_default_dtype, promote_types)
from .ir.dtypes import DType as dtype
from .ir.dtypes import int_ as int  # noqa: A004
from .frontend.tensor import Tensor, Size
from .frontend.device import device
from .frontend.modes import (eager, is_eager, no_grad, enable_grad, set_grad_enabled,
                             is_grad_enabled, inference_mode)
from .frontend.creation import (tensor, as_tensor, from_numpy, zeros, ones, empty, full,
                                zeros_like, ones_like, empty_like, full_like, arange, linspace,
                                eye)
from .frontend import conversion as _conversion
from .frontend import exports as _exports
from .frontend.realize import realize_nodes as _realize_nodes
from .errors import CompileError, RuntimeFailure, IrgradError

_conversion.install()
_exports.install(globals(), _ops.FAMILIES)
_exports.install_dunders({name: fn for mod in _ops.FAMILIES
                          for name, fn, where in getattr(mod, "EXPORTS", ())})


def realize(*tensors) -> None:
    """Compute all given tensors in one graph (lazy mode's explicit materialization)."""
    flat = []
    for t in tensors:
        if isinstance(t, (list, tuple)):
            flat.extend(t)
        else:
            flat.append(t)
    _realize_nodes([t.node for t in flat if t is not None], "irgrad.realize")


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t) -> int:
    return t.numel()


__version__ = "0.1.0"

from .frontend import autograd_api as _autograd_api  # noqa: E402
from . import autograd  # noqa: E402,F401

_autograd_api.install()
from . import nn  # noqa: E402,F401
from . import optim, utils, multiprocessing, serialization  # noqa: E402,F401
from .serialization import save, load  # noqa: E402,F401

from .frontend import indexing as _indexing  # noqa: E402

_indexing.install(globals())

from .frontend import random as _random  # noqa: E402

_random.install(globals())

from . import linalg, cuda, backends  # noqa: E402,F401
