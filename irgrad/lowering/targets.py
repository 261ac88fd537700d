"""One table: irgrad device name -> IREE compile flags -> runtime driver.

Flags that apply to every target (f64 kept as f64, optimization level) are listed once.
"""
from __future__ import annotations

import os

COMMON_FLAGS = (
    "--iree-opt-level=O2",
    "--iree-input-demote-f64-to-f32=false",
    # Coarse-fences ABI: each call waits on/signals a timeline, so runs are queued, not
    # synchronous (runtime/executable.py passes the fences).
    "--iree-execution-model=async-external",
    # O2 strips cf.assert; index ops assert their bounds when values are unknown at record time.
    "--iree-opt-strip-assertions=false",
    # O2's defaults, restated: once the compiler worker has initialized IREE's process-wide
    # options (worker.GLOBAL_CL_FLAGS), options whose default follows --iree-opt-level keep
    # their O0 default. Not aggressive fusion: with it, IREE 3.13 fuses multi-reduction
    # loops into dispatches that miss operands ("operand #2 does not dominate this use",
    # cross_entropy with label smoothing), the bug GLOBAL_CL_FLAGS works around.
    "--iree-opt-generalize-matmul=true",
    "--iree-opt-outer-dim-concat=true",
)

TARGETS = {
    "cpu": {
        "flags": ("--iree-hal-target-device=local",
                  "--iree-hal-local-target-device-backends=llvm-cpu",
                  # IREE 3.13 sometimes tiles a reduction (BatchNorm's variance over
                  # 64x16x64) into a 32.9 KB stack buffer, just over the 32 KB default.
                  "--iree-llvmcpu-stack-allocation-limit=131072",
                  # O2's default, restated: once the compiler worker initializes IREE's
                  # global options (worker.GLOBAL_CL_FLAGS), opt-level defaults no longer
                  # apply and float reductions compiled to one scalar add chain (a 4M-value
                  # sum: 4 ms and sequential rounding, instead of 16-lane vectors, 0.8 ms).
                  "--iree-llvmcpu-reassociate-fp-reductions=true"),
        "cpu_flag": "--iree-llvmcpu-target-cpu",
        "driver": "local-task",
    },
    "cuda": {
        "flags": ("--iree-hal-target-device=cuda", "--iree-cuda-target=sm_80"),
        "driver": "cuda",
    },
    "rocm": {
        "flags": ("--iree-hal-target-device=hip", "--iree-rocm-target=gfx942"),
        "driver": "hip",
    },
    "vulkan": {
        "flags": ("--iree-hal-target-device=vulkan", "--iree-vulkan-target=rdna3"),
        "driver": "vulkan",
    },
}

assert all({"flags", "driver"} <= set(t) for t in TARGETS.values())


def compile_flags(target: str, cpu: str | None = None) -> tuple:
    """Flags for compiling to `target`; `cpu` names the CPU for llvm-cpu (default: host)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
    t = TARGETS[target]
    flags = tuple(t["flags"]) + COMMON_FLAGS
    if "cpu_flag" in t:
        flags += (f"{t['cpu_flag']}={cpu or os.environ.get('IRGRAD_CPU', 'host')}",)
    return flags


def driver(target: str) -> str:
    return TARGETS[target]["driver"]
