"""Lowering: Graph -> MLIR (linalg/tensor/arith/math) -> IREE vmfb."""
