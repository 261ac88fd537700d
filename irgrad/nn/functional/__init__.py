"""irgrad.nn.functional: PyTorch's functional neural-network API over irgrad's op table.

Each function parses PyTorch's arguments and calls irgrad's ops (see `_ops.py`); the modules
in irgrad.nn are thin stateful wrappers over these functions.
"""
from __future__ import annotations

from .activation import *  # noqa: F401,F403
from .activation import __all__ as _a
from .attention import *  # noqa: F401,F403
from .attention import __all__ as _b
from .linear import *  # noqa: F401,F403
from .linear import __all__ as _c
from .loss import *  # noqa: F401,F403
from .loss import __all__ as _d
from .normalization import *  # noqa: F401,F403
from .normalization import __all__ as _e
from .pooling import *  # noqa: F401,F403
from .pooling import __all__ as _f
from .sparse import *  # noqa: F401,F403
from .sparse import __all__ as _g
from .vision import *  # noqa: F401,F403
from .vision import __all__ as _h

__all__ = [*_a, *_b, *_c, *_d, *_e, *_f, *_g, *_h]
