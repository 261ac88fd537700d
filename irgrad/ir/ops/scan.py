"""Scans along a dim (cumsum, cumprod)."""
from __future__ import annotations

EXPORTS: list = []
