"""The only module that imports the MLIR Python bindings shipped in iree-base-compiler.

Everything else in irgrad reaches MLIR through these aliases, so a change of binding layout
touches one file.
"""
from iree.compiler import ir  # noqa: F401
from iree.compiler.api import Output, Session  # noqa: F401
from iree.compiler.dialects import arith as arith_d  # noqa: F401
from iree.compiler.dialects import func as func_d  # noqa: F401
from iree.compiler.dialects import linalg as linalg_d  # noqa: F401
from iree.compiler.dialects import math as math_d  # noqa: F401
from iree.compiler.dialects import scf as scf_d  # noqa: F401
from iree.compiler.dialects import tensor as tensor_d  # noqa: F401
from iree.compiler.dialects import util as util_d  # noqa: F401
from iree.compiler.version import VERSION as COMPILER_VERSION  # noqa: F401
