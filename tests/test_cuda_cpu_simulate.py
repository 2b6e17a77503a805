"""The CUDA simulator kernel (``simulate/kernels/advance.cu``) checked without a GPU.

The same ``.cu`` source is compiled as C++ for the CPU through ``tests/cuda_cpu/cuda_cpu_shim.h``
and driven by the GPU runner's own record-packing code (:class:`~dbdlab.simulate._cuda.
CudaRunner`), then compared draw for draw with the Numba kernel: lattices and counts must be
bit-identical, also with Gillespie waiting times (both call the C library's ``log`` here).  Where
``nvcc`` exists the source is also compiled to PTX, which catches device-only errors.  Both parts
skip with the reason when their compiler is missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from cuda_cpu_build import cpu_library, cxx, launch, layout, layout_probe_source, nvcc, ptx
from dbdlab.rng import Purpose, stream_key
from dbdlab.simulate import networks
from dbdlab.simulate._cuda import (
    KERNEL_FILE,
    KERNEL_NAME,
    KERNEL_OPTIONS,
    KERNEL_RECORDS,
    RECORDS,
    CudaRunner,
    record_dtype,
)
from dbdlab.simulate._numba_runner import NumbaRunner
from dbdlab.simulate.initial import RandomCounts
from dbdlab.simulate.lattice import Lattice

needs_cxx = pytest.mark.skipif(cxx() is None, reason="no C++ compiler (g++/c++) to build the "
                               "CUDA source for the CPU")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """``advance.cu`` compiled for the CPU once per test session."""
    if cxx() is None:
        pytest.skip("no C++ compiler (g++/c++) to build the CUDA source for the CPU")
    return cpu_library(KERNEL_FILE, [KERNEL_NAME], RECORDS, tmp_path_factory.mktemp("advance"))


@pytest.fixture(scope="module")
def cpu_runner(library):
    """:class:`CudaRunner` whose launches run the CPU build of the kernel on host arrays."""

    class CpuShimRunner(CudaRunner):
        xp = np

        def pointer(self, array: np.ndarray) -> int:
            assert array.flags.c_contiguous
            return int(array.ctypes.data)

        def launch(self, grid, block, records):
            launch(library, KERNEL_NAME, grid, block, records)

    return CpuShimRunner


def _runners(runner_cls, network, shape, periodic, selection, replicas, init, steps, dt,
             seed=3):
    lattice = Lattice(shape, periodic)
    biased = selection == "reference"
    ids = np.arange(replicas)
    initial = RandomCounts(init).build(lattice, network, seed, ids, biased)
    keys = [stream_key(seed, Purpose.SIMULATE, int(r)) for r in ids]
    args = (lattice, network.tables(), len(network.species), initial, keys, steps, dt, biased)
    return NumbaRunner(*args), runner_cls(*args)


def _run(runner, chunk):
    chunks = list(runner.run(chunk, False, "test"))
    return (np.concatenate([c[0] for c in chunks], axis=1),
            np.concatenate([c[1] for c in chunks], axis=1))


def test_record_layout_matches_the_compiler(library):
    """The NumPy record dtypes have the C++ structs' size and field offsets (the GPU uses the
    same layout for kernel parameters as the host compiler)."""
    compiled = layout(library, RECORDS)
    for name in RECORDS:
        dtype = record_dtype(name)
        offsets = [dtype.fields[field][1] for field, _ in RECORDS[name]]
        assert compiled[name] == (dtype.itemsize, offsets), name
    assert set(KERNEL_RECORDS) == set(RECORDS)


CASES = {
    # name: network, shape, periodic, init, steps, dt
    "annihilation_1d": (networks.annihilation(0.5), (40,), False, {"A": 25}, 30, 0.01),
    "annihilation_1d_periodic": (networks.annihilation(0.5), (40,), True, {"A": 25}, 30, 0.01),
    "annihilation_2d": (networks.annihilation(0.5), (6, 7), False, {"A": 30}, 25, 0.01),
    "annihilation_3d": (networks.annihilation(0.5), (3, 4, 5), False, {"A": 30}, 25, 0.01),
    "lotka_volterra": (networks.lotka_volterra(), (12, 12), True, {"X": 20, "Y": 20}, 40, 1.0),
    "rossler": (networks.rossler(), (4, 4, 4), False, {"A": 10, "B": 10, "C": 10}, 40, 0.01),
}


@needs_cxx
@pytest.mark.parametrize("selection", ["reference", "uniform"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_cuda_kernel_equals_numba(cpu_runner, case, selection):
    """Bit-identical lattices and counts, frame by frame, in chunks (state kept between
    launches); 70 replicas span two thread blocks, the last one partly idle."""
    network, shape, periodic, init, steps, dt = CASES[case]
    numba_runner, cuda_runner = _runners(cpu_runner, network, shape, periodic, selection, 70,
                                         init, steps, dt)
    lat_nb, cnt_nb = _run(numba_runner, 7)
    lat_cu, cnt_cu = _run(cuda_runner, 7)
    assert lat_cu.shape == (70, steps, Lattice(shape, periodic).n_sites)
    np.testing.assert_array_equal(lat_cu, lat_nb)
    np.testing.assert_array_equal(cnt_cu, cnt_nb)
    assert not np.array_equal(cnt_nb[:, -1], cnt_nb[:, 0])  # something happened
    if not case.startswith("annihilation"):
        assert np.any(np.diff(cnt_nb, axis=1) > 0)  # births: Gillespie events were drawn


@needs_cxx
def test_chunking_does_not_change_the_run(cpu_runner):
    network, shape, periodic, init, steps, dt = CASES["lotka_volterra"]
    _, one = _runners(cpu_runner, network, shape, periodic, "reference", 5, init, steps, dt)
    _, many = _runners(cpu_runner, network, shape, periodic, "reference", 5, init, steps, dt)
    for a, b in zip(_run(one, steps), _run(many, 3), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(nvcc() is None, reason="nvcc not found: device compilation not checked")
def test_kernel_compiles_to_ptx(tmp_path):
    target = ptx(KERNEL_FILE, tmp_path, KERNEL_OPTIONS)
    assert f".entry {KERNEL_NAME}(" in target.read_text()
    probe = tmp_path / "advance_layout_probe.cu"  # the GPU tests' layout check
    probe.write_text(layout_probe_source(KERNEL_FILE, RECORDS))
    assert ".entry dbd_layout_probe(" in ptx(probe, tmp_path).read_text()
