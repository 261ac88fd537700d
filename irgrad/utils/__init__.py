"""`irgrad.utils`: utilities (`irgrad.utils.data`)."""
from . import data

__all__ = ["data"]
