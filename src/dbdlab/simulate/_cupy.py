"""The CUDA simulator kernel on a GPU through CuPy (one thread per replica).

The kernel source is ``kernels/advance.cu`` (loaded at run time, compiled by NVRTC on the first
launch and cached on disk by CuPy); its records and the chunked driver are in
:mod:`dbdlab.simulate._cuda`, shared with the CPU build of the same source that the tests use.
"""

from __future__ import annotations

import functools

import cupy as cp
import numpy as np

from ..backend import cuda_source
from ._cuda import KERNEL_FILE, KERNEL_NAME, KERNEL_OPTIONS, CudaRunner

__all__ = ["CupyRunner"]


@functools.lru_cache(maxsize=1)
def _kernel() -> cp.RawKernel:
    """The kernel of ``advance.cu`` (compiled on first launch)."""
    return cp.RawKernel(cuda_source(KERNEL_FILE), KERNEL_NAME, options=KERNEL_OPTIONS)


class CupyRunner(CudaRunner):
    """Advance an ensemble chunk by chunk on the GPU; the ensemble state stays on the device."""

    xp = cp

    def pointer(self, array: cp.ndarray) -> int:
        return int(array.data.ptr)

    def launch(self, grid: int, block: int, records: tuple[np.ndarray, ...]) -> None:
        _kernel()((grid,), (block,), records)
