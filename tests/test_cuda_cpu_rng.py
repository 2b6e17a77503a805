"""The CUDA C random streams (``rng.cuh``) against :mod:`dbdlab.rng`, compiled for the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from cuda_cpu_build import cpu_library, cxx, launch
from dbdlab import rng

PROBE = r"""
#include "rng.cuh"

extern "C" __global__ void rng_probe(const u64* keys, const u64* index, double* uniform,
                                     u64* derived, int n) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n) {
        uniform[t] = dbd_uniform(keys[t], index[t]);
        derived[t] = dbd_derive(keys[t], index[t]);
    }
}
"""


@pytest.mark.skipif(cxx() is None, reason="no C++ compiler (g++/c++) to build CUDA sources "
                    "for the CPU")
def test_cuda_streams_equal_python_streams(tmp_path):
    source = tmp_path / "rng_probe.cu"
    source.write_text(PROBE)
    library = cpu_library(source, ["rng_probe"], {}, tmp_path)
    keys = np.array([0, 1, rng.MASK64, rng.stream_key(7, rng.Purpose.GIBBS, 3), 2**63 + 5],
                    dtype=np.uint64)
    index = np.array([0, 5, 2**40, 123456, rng.MASK64 - 1], dtype=np.uint64)
    n = len(keys)
    uniform = np.zeros(n)
    derived = np.zeros(n, dtype=np.uint64)

    def address(a):
        return np.array([a.ctypes.data], dtype=np.uint64)

    launch(library, "rng_probe", 2, 4, [address(keys), address(index), address(uniform),
                                        address(derived), np.array([n], dtype=np.int32)])
    for k, i, u, d in zip(keys, index, uniform, derived, strict=True):
        assert u == rng.uniform(int(k), int(i))
        assert int(d) == rng.derive(int(k), int(i))
