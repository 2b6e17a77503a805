"""The CuPy (CUDA) simulation kernel against the Numba kernel; needs a CUDA device with CuPy.

Without unimolecular reactions the kernel never calls ``log`` and must agree with Numba bit for
bit.  With Gillespie waiting times CUDA's ``log`` may differ from glibc's in the last ulp, so a
replica can (rarely) diverge; then the ensembles must at least agree in distribution.

Timings are in ``benchmarks/gpu.py`` (``make gpu-check``).
"""

from __future__ import annotations

import numpy as np
import pytest

from dbdlab.backend import gpu_status
from dbdlab.simulate import networks, simulate

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not gpu_status()[0], reason=f"no usable GPU: {gpu_status()[1]}"),
]

SELECTIONS = ("reference", "uniform")


def _pair(network, shape, steps, dt, replicas, init, *, seed=7, chunk=None, **kwargs):
    """The same ensemble simulated with Numba and with CuPy."""
    common = dict(seed=seed, progress=False, **kwargs)
    cpu = simulate(network, shape, steps, dt, replicas, init, backend="numba", **common)
    gpu = simulate(network, shape, steps, dt, replicas, init, backend="cupy", chunk=chunk,
                   **common)
    assert gpu.attrs["backend"] == "cupy"
    return cpu, gpu


def _exactly_equal(cpu, gpu) -> bool:
    return (np.array_equal(cpu["lattice"].values, gpu["lattice"].values)
            and np.array_equal(cpu["counts"].values, gpu["counts"].values))


def _assert_equal_or_same_distribution(cpu, gpu) -> None:
    """Bit-identical ensembles, or final mean counts within 4 standard errors of each other."""
    np.testing.assert_array_equal(cpu["lattice"].values[:, 0], gpu["lattice"].values[:, 0])
    if _exactly_equal(cpu, gpu):
        return
    a = cpu["counts"].values[:, -1].astype(np.float64)
    b = gpu["counts"].values[:, -1].astype(np.float64)
    n = a.shape[0]
    differ = int((cpu["counts"].values != gpu["counts"].values).any(axis=(1, 2)).sum())
    print(f"CuPy and Numba differ in {differ}/{n} replicas (log rounding); comparing means")
    diff = a.mean(axis=0) - b.mean(axis=0)
    se = np.sqrt(a.var(axis=0, ddof=1) / n + b.var(axis=0, ddof=1) / n)
    for species, d, s in zip(cpu.species.values, diff, se, strict=True):
        assert abs(d) <= 4.0 * s, f"{species}: mean difference {d:.3g} > 4 SE ({s:.3g})"


# --- networks without unimolecular reactions: exact ------------------------------------------


@pytest.mark.parametrize("selection", SELECTIONS)
@pytest.mark.parametrize("periodic", [False, True])
def test_annihilation_1d_exact(selection, periodic):
    # 70 replicas: more than one thread block, the last one partly idle
    cpu, gpu = _pair(networks.annihilation(0.5), (40,), 30, 0.01, 70, {"A": 25},
                     periodic=periodic, selection=selection)
    np.testing.assert_array_equal(gpu["lattice"].values, cpu["lattice"].values)
    np.testing.assert_array_equal(gpu["counts"].values, cpu["counts"].values)
    assert gpu["counts"].values[:, -1].sum() < cpu["counts"].values[:, 0].sum()  # it reacted


@pytest.mark.parametrize("selection", SELECTIONS)
@pytest.mark.parametrize("shape", [(6, 7), (3, 4, 5)])
def test_annihilation_2d_3d_exact(selection, shape):
    # the reference selection's bag has several rows (2D) and planes (3D) here
    cpu, gpu = _pair(networks.annihilation(0.5), shape, 25, 0.01, 9, {"A": 30},
                     selection=selection)
    np.testing.assert_array_equal(gpu["lattice"].values, cpu["lattice"].values)
    np.testing.assert_array_equal(gpu["counts"].values, cpu["counts"].values)


def test_chunks_continue_on_device():
    """The ensemble state stays on the device: chunked runs equal one long kernel call."""
    kwargs = dict(periodic=True, selection="reference")
    net = networks.lotka_volterra()
    _, one = _pair(net, (8, 8), 30, 1.0, 5, {"X": 10, "Y": 10}, chunk=30, **kwargs)
    _, many = _pair(net, (8, 8), 30, 1.0, 5, {"X": 10, "Y": 10}, chunk=7, **kwargs)
    assert _exactly_equal(one, many)


def test_runner_returns_host_arrays():
    from dbdlab.simulate._cupy import CupyRunner
    from dbdlab.simulate.lattice import Lattice

    net = networks.annihilation(0.5)
    lattice = Lattice((10,), False)
    initial = np.zeros((3, 10), dtype=np.int8)
    initial[:, ::2] = 1
    runner = CupyRunner(lattice, net.tables(), 1, initial, [1, 2, 3], 6, 0.01, True)
    chunks = list(runner.run(4, False, "test"))
    assert [c[0].shape for c in chunks] == [(3, 4, 10), (3, 2, 10)]
    for frames, counts in chunks:
        assert isinstance(frames, np.ndarray) and frames.dtype == np.int8
        assert isinstance(counts, np.ndarray) and counts.dtype == np.int32
        np.testing.assert_array_equal(counts[..., 0], (frames == 1).sum(axis=-1))
    np.testing.assert_array_equal(chunks[0][0][:, 0], initial)


# --- networks with Gillespie waiting times: exact, or else equal in distribution -------------


@pytest.mark.parametrize("selection", SELECTIONS)
def test_lotka_volterra_matches_numba(selection):
    cpu, gpu = _pair(networks.lotka_volterra(), (12, 12), 40, 1.0, 64, {"X": 20, "Y": 20},
                     periodic=True, selection=selection)
    _assert_equal_or_same_distribution(cpu, gpu)


@pytest.mark.parametrize("selection", SELECTIONS)
def test_rossler_matches_numba(selection):
    cpu, gpu = _pair(networks.rossler(), (4, 4, 4), 40, 0.01, 64,
                     {"A": 10, "B": 10, "C": 10}, periodic=False, selection=selection)
    _assert_equal_or_same_distribution(cpu, gpu)


def test_record_layout_on_the_device():
    """NVRTC lays the kernel's records out as the NumPy dtypes passed by CuPy."""
    from cuda_cpu_build import device_layout
    from dbdlab.simulate._cuda import KERNEL_FILE, RECORDS, record_dtype

    for name, (size, offsets) in device_layout(KERNEL_FILE, RECORDS).items():
        dtype = record_dtype(name)
        assert (size, offsets) == (dtype.itemsize,
                                   [dtype.fields[f][1] for f, _ in RECORDS[name]]), name
