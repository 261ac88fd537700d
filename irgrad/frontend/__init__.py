"""The PyTorch-facing frontend: Tensor, factories, modes and the realize driver."""
