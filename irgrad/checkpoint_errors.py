"""The typed errors `irgrad.load` raises for files it refuses (see serialization.py)."""
from __future__ import annotations

from .errors import IrgradError


class CheckpointError(IrgradError):
    """A file that `irgrad.load` refuses (a RuntimeError, like PyTorch's load failures)."""


class CheckpointTruncatedError(CheckpointError):
    """The file is shorter or longer than its preamble says."""


class CheckpointIntegrityError(CheckpointError):
    """The SHA-256 of the content does not match the stored digest."""


class CheckpointFormatError(CheckpointError):
    """Not an irgrad checkpoint, or a header that breaks the format's rules."""


class CheckpointVersionError(CheckpointFormatError):
    """A format version this irgrad cannot read."""
