"""Logical and bitwise primitives, and the NaN/Inf predicates."""
from __future__ import annotations

EXPORTS: list = []
