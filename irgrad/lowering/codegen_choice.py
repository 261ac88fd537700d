"""Per-graph compile choices, decided from the graph: data tiling for large matmuls.

IREE's data tiling (`--iree-opt-data-tiling`) repacks matmul operands into the CPU's
register-tile layout. Measured on this project's machine (IREE 3.13, llvm-cpu, 2 threads):
it takes the MLP 784-512-512-10 train step from ~8.4 ms to ~5.7 ms and a 128x512x512 matmul
from 2.8 to 1.8 ms, but makes small matmuls slower (a 32x512x512 one 0.53 -> 0.69 ms, tiny
ones 0.03 -> 0.05 ms) because the packing dispatches cost more than they save. So a graph
gets data tiling only when it holds a contraction that is large on all three sides.
Microkernels (`--iree-llvmcpu-enable-ukernels=all`) measured slower than plain data-tiled
codegen for these sizes and are not used.

`IRGRAD_DATA_TILING=1` forces it on, `0` off, `auto` (default) decides per graph.
"""
from __future__ import annotations

import os

from ..ir.ops.linalg import parse_spec

DATA_TILING_FLAGS = ("--iree-opt-data-tiling",)

# Each of M, N and K at least this, and M*N*K at least MIN_MACS, for data tiling to pay.
MIN_SIDE = 64
MIN_MACS = 1 << 22


def contraction_sides(node) -> tuple:
    """(M, N, K) of a `contract` node: the free sizes of each operand and the reduced size
    (batch dimensions count in neither)."""
    la, lb, lo = parse_spec(node.attrs["spec"])
    a, b = node.inputs
    size = dict(zip(la, a.shape))
    size.update(zip(lb, b.shape))
    m = n = k = 1
    for c, s in size.items():
        in_a, in_b, in_out = c in la, c in lb, c in lo
        if in_a and in_b and not in_out:
            k *= s
        elif in_a and not in_b:
            m *= s
        elif in_b and not in_a:
            n *= s
    return m, n, k


def wants_data_tiling(graph) -> bool:
    for node in graph.nodes:
        if node.op != "contract" or node.data is not None or node.dtype.category != 2:
            continue
        m, n, k = contraction_sides(node)
        if min(m, n, k) >= MIN_SIDE and m * n * k >= MIN_MACS:
            return True
    return False


def codegen_flags(graph, target: str) -> tuple:
    """Extra compile flags chosen for this graph on this target."""
    if target != "cpu":
        return ()
    mode = os.environ.get("IRGRAD_DATA_TILING", "auto").strip().lower()
    if mode in ("1", "on", "true"):
        return DATA_TILING_FLAGS
    if mode in ("0", "off", "false"):
        return ()
    return DATA_TILING_FLAGS if wants_data_tiling(graph) else ()
