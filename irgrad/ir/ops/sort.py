"""Sorting and selection (sort, argsort, topk, kthvalue-style ops)."""
from __future__ import annotations

EXPORTS: list = []
