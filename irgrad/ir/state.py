"""Process-wide recording state that node construction consults.

Kept in `ir/` (which depends on nothing above it) so that node construction can read the
grad mode and call the eager hook without importing the frontend: the frontend installs
`eager_hook` and flips the flags.
"""
from __future__ import annotations

import os
import threading


class _State(threading.local):
    def __init__(self):
        self.grad_enabled = True
        self.eager = os.environ.get("IRGRAD_EAGER", "") not in ("", "0")
        self.anomaly = False


state = _State()

# Set by irgrad.frontend.realize: called with each new compute node while eager mode is on.
eager_hook = [None]

# Training steps seen so far (optimizers call frontend.realize.mark_step()). Each node
# remembers the step of its oldest still-pending ancestor, so a graph that keeps growing
# across steps without being realized is noticed once, at the user's line.
steps = [0]
GROWTH_WARN_STEPS = 3
growth_warned = [False]
