"""Convolutions and pooling: conv1d/conv2d, conv_transpose2d, max/avg/adaptive pooling, pad."""
from __future__ import annotations

EXPORTS: list = []
