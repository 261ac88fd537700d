"""Symbolic reverse-mode differentiation on the IR."""
