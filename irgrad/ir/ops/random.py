"""Counter-based random number generation (reproducible under manual_seed)."""
from __future__ import annotations

EXPORTS: list = []
