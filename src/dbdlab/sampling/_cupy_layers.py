"""The CUDA Gibbs kernel (``kernels/gibbs.cu``) on a GPU through CuPy.

Used by :func:`~dbdlab.sampling.gibbs_sweeps` for chains of the ``"cupy"`` backend; the driver
is :mod:`dbdlab.sampling._cuda_layers`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cupy as cp
import numpy as np

from ..backend import cuda_source
from ..models.boltzmann import BoltzmannMachine
from . import _cuda_layers
from ._cuda_layers import KERNEL_FILE, KERNEL_NAME

__all__ = ["run_sweeps"]


@functools.lru_cache(maxsize=1)
def _kernel() -> cp.RawKernel:
    """The kernel of ``gibbs.cu`` (compiled by NVRTC on first launch, cached on disk)."""
    return cp.RawKernel(cuda_source(KERNEL_FILE), KERNEL_NAME)


class CupyLauncher:
    """Arrays on the current CUDA device; launches the NVRTC-compiled kernel."""

    xp = cp

    def pointer(self, array: cp.ndarray) -> int:
        return int(array.data.ptr)

    def launch(self, grid: int, block: int, records: tuple[np.ndarray, ...]) -> None:
        _kernel()((grid,), (block,), records)


_LAUNCHER = CupyLauncher()


def run_sweeps(model: BoltzmannMachine, biases, weights, chains,
               groups: Sequence[Sequence[int]], n_sweeps: int) -> bool:
    """:func:`dbdlab.sampling._cuda_layers.run_sweeps` on the GPU."""
    return _cuda_layers.run_sweeps(_LAUNCHER, model, biases, weights, chains, groups, n_sweeps)
