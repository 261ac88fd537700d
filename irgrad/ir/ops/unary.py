"""Unary math primitives (abs, sqrt, sin, sigmoid, relu, erf, ...) and their public forms."""
from __future__ import annotations

EXPORTS: list = []
