"""The CUDA Gibbs kernel (``sampling/kernels/gibbs.cu``) checked without a GPU.

The ``.cu`` source is compiled as C++ for the CPU through ``tests/cuda_cpu/cuda_cpu_shim.h`` and
run by the GPU driver's own code (:mod:`dbdlab.sampling._cuda_layers`) on host arrays, inside
:func:`~dbdlab.sampling.gibbs_sweeps` exactly where the CuPy backend calls it; samples must be
bit-identical to the NumPy sampler (and so to the Numba kernel) for the same seed: tiny models
with off-diagonal weights, binary and multinomial layers, open and periodic borders, the paper
architectures at small size, θ per chain, clamped layers, other orders, persistent chains.
Where ``nvcc`` exists the source is also compiled to PTX.  Both parts skip with the reason when
their compiler is missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from cuda_cpu_build import cpu_library, cxx, launch, layout, layout_probe_source, nvcc, ptx
from dbdlab.models import BoltzmannMachine, Layer
from dbdlab.models.architectures import annihilation_rbm, lotka_volterra_dbm, rossler_rbm
from dbdlab.sampling import (
    _cuda_layers,
    _numba_layers,
    data_chains,
    gibbs,
    gibbs_sweeps,
    layer_conditionals,
    mean_field_steps,
    random_chains,
    sample_layer_given_neighbours,
)
from dbdlab.sampling.chains import sweep_keys
from tiny_models import CASES


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """``gibbs.cu`` compiled for the CPU once per test session."""
    if cxx() is None:
        pytest.skip("no C++ compiler (g++/c++) to build the CUDA source for the CPU")
    return cpu_library(_cuda_layers.KERNEL_FILE, [_cuda_layers.KERNEL_NAME],
                       _cuda_layers.RECORDS, tmp_path_factory.mktemp("gibbs"))


class CpuLauncher:
    """Kernel memory on the host; launches run the CPU build of ``gibbs.cu``."""

    xp = np

    def __init__(self, library):
        self.library = library
        self.launches: list[tuple[int, int]] = []

    def pointer(self, array: np.ndarray) -> int:
        assert array.flags.c_contiguous
        return int(array.ctypes.data)

    def launch(self, grid, block, records):
        self.launches.append((grid, block))
        launch(self.library, _cuda_layers.KERNEL_NAME, grid, block, records)


@pytest.fixture
def cuda_cpu(library, monkeypatch):
    """Make gibbs_sweeps use the CUDA kernel (CPU build) for chains of backend ``"numpy"``."""
    launcher = CpuLauncher(library)
    calls = []

    def kernel_for(backend):
        def kernel(*args):
            calls.append(args[-1])
            return _cuda_layers.run_sweeps(launcher, *args)

        return kernel if backend == "numpy" else None

    monkeypatch.setattr(gibbs, "_sweeps_kernel", kernel_for)
    return calls


def case(name):
    layers, weights, periodic, theta = CASES[name]
    model = BoltzmannMachine([Layer(*lay) for lay in layers], weights, periodic=periodic)
    return model, np.array(theta)


def _numpy_reference(run):
    """Run ``run()`` with the plain NumPy sampler (the fixture's patch lifted meanwhile)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gibbs, "_sweeps_kernel", lambda backend: None)
        return run()


def run(model, theta, n_chains=12, n_sweeps=5, seed=3, **kw):
    chains = random_chains(model, n_chains, seed, backend="numpy")
    return gibbs_sweeps(model, theta, chains, n_sweeps, **kw)


def assert_same(a, b):
    for x, y in zip(a.layers, b.layers, strict=True):
        assert x.dtype == y.dtype == np.int8
        np.testing.assert_array_equal(x, y)
    assert a.sweep == b.sweep


def test_record_layout_matches_the_compiler(library):
    compiled = layout(library, _cuda_layers.RECORDS)
    for name, fields in _cuda_layers.RECORDS.items():
        dtype = _cuda_layers.record_dtype(name)
        assert compiled[name] == (dtype.itemsize, [dtype.fields[f][1] for f, _ in fields]), name
    assert set(_cuda_layers.KERNEL_RECORDS) == set(_cuda_layers.RECORDS)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("scale", (1.0, 12.0, -4.0))
def test_sweeps_equal_numpy(cuda_cpu, name, scale):
    model, theta = case(name)
    expected = _numpy_reference(lambda: run(model, scale * theta, n_sweeps=6))
    assert_same(run(model, scale * theta, n_sweeps=6), expected)
    assert cuda_cpu == [6]


@pytest.mark.parametrize("name", sorted(CASES))
def test_per_chain_parameters(cuda_cpu, name):
    model, theta = case(name)
    thetas = theta * np.linspace(-6, 9, 12)[:, None]
    assert_same(run(model, thetas), _numpy_reference(lambda: run(model, thetas)))
    assert cuda_cpu == [5]


def test_paper_architectures_equal_numpy_and_numba(cuda_cpu):
    """LV DBM (3 layers × 2 species, q = 4), Rössler RBM (3 species, q = 8), annihilation RBM
    (open chain: sentinel pad units) at small size; also against the Numba kernel."""
    lv = lotka_volterra_dbm((6, 6))
    lv_theta = lv.theta_from_dict(dict(hX=-2.6, hY=-2.6, bX1=0.3, bY1=-0.2, bX2=0, bY2=0.1,
                                       wXX1=0.5, wYY1=0.7, wX1X2=-0.5, wY1Y2=0.4))
    ross = rossler_rbm((3, 3, 2))
    ann = annihilation_rbm(11)
    for model, theta in ((lv, lv_theta), (ross, np.linspace(-1.5, 1.2, ross.n_theta)),
                         (ann, np.array([-0.4, 0.3, 1.1]))):
        got = run(model, theta, 20, 4)
        assert_same(got, _numpy_reference(lambda m=model, t=theta: run(m, t, 20, 4)))
        numba_chains = gibbs_sweeps(model, theta, random_chains(model, 20, 3, backend="numba"),
                                    4)
        assert_same(got, numba_chains)
        assert len({s.tobytes() for s in got.layers[0]}) > 1  # chains differ
    assert cuda_cpu == [4, 4, 4]


def test_orders_clamping_and_persistent_chains(cuda_cpu):
    model, theta = case("dbm2d_periodic")
    for order in (((0, 2), (1,)), ((2,), (0,), (1,)), ((1,),)):
        assert_same(run(model, theta, order=order),
                    _numpy_reference(lambda o=order: run(model, theta, order=o)))
    data = random_chains(model, 9, 1, backend="numpy").layers[0]

    def wake():
        return gibbs_sweeps(model, theta, data_chains(model, data, 8, clamp=True,
                                                      backend="numpy"), 3)

    got = wake()
    assert_same(got, _numpy_reference(wake))
    np.testing.assert_array_equal(got.layers[0], data)
    a = random_chains(model, 7, 2, backend="numpy")
    b = a.copy()
    for k in (1, 3, 2):
        gibbs_sweeps(model, theta, a, k)
        _numpy_reference(lambda k=k: gibbs_sweeps(model, theta, b, k))
        assert_same(a, b)
    assert cuda_cpu == [5, 5, 5, 3, 1, 3, 2]


def test_probability_layers_fall_back_then_use_the_kernel(cuda_cpu):
    model, theta = case("dbm2d_periodic")

    def sample():
        chains = random_chains(model, 8, 4, backend="numpy")
        mean_field_steps(model, theta, chains, 1)  # hidden layers now hold probabilities
        return gibbs_sweeps(model, theta, chains, 4)

    got = sample()
    assert cuda_cpu == [4, 3]  # refused while layers held probabilities; then ran 3 sweeps
    assert_same(got, _numpy_reference(sample))


def test_oversized_tables_fall_back(cuda_cpu, monkeypatch):
    monkeypatch.setattr(_numba_layers, "MAX_TABLE_ENTRIES", 0)
    model, theta = case("rbm1d_open")
    chains = random_chains(model, 4, 1, backend="numpy")
    before = [s.copy() for s in chains.layers]
    launcher = CpuLauncher(None)
    biases, weights = model.unpack_theta(theta)
    assert not _cuda_layers.run_sweeps(launcher, model, biases, weights, chains, ((1,), (0,)),
                                       2)
    assert launcher.launches == [] and chains.sweep == 0
    for x, y in zip(before, chains.layers, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_layer_twin_of_the_hook(library, name):
    model, theta = case(name)
    chains = random_chains(model, 10, 6, backend="numpy")
    keys = sweep_keys(np, chains.keys, 5, 0)
    launcher = CpuLauncher(library)
    for th in (theta, theta * np.linspace(-3, 3, 10)[:, None]):
        biases, weights = model.unpack_theta(th)
        for l in range(model.n_layers):
            expected = sample_layer_given_neighbours(model, biases, weights, chains.layers, l,
                                                     keys, np)
            got = _cuda_layers.sample_layer(launcher, model, biases, weights, chains.layers, l,
                                            keys)
            np.testing.assert_array_equal(got, expected)
    probs = list(chains.layers)
    probs[1] = layer_conditionals(model, theta, chains.layers, 1)
    biases, weights = model.unpack_theta(theta)
    assert _cuda_layers.sample_layer(launcher, model, biases, weights, probs, 0, keys) is None


def test_one_launch_one_block_per_chain(library):
    model = lotka_volterra_dbm((4, 5))
    launcher = CpuLauncher(library)
    chains = random_chains(model, 3, 0, backend="numpy")
    biases, weights = model.unpack_theta(np.full(model.n_theta, 0.1))
    assert _cuda_layers.run_sweeps(launcher, model, biases, weights, chains, ((1,), (0, 2)), 4)
    assert launcher.launches == [(3, 32)]  # 3 chains; 20 units per layer: one warp


@pytest.mark.parametrize("block", [1, 3, 7])
def test_blocks_smaller_than_layers(cuda_cpu, monkeypatch, block):
    """Threads stride over a layer's units and meet at barriers between layers."""
    monkeypatch.setattr(_cuda_layers, "BLOCK_SIZE", block)
    lv = lotka_volterra_dbm((4, 4))
    theta = np.linspace(-1.2, 1.5, lv.n_theta)
    assert_same(run(lv, theta, 6, 5), _numpy_reference(lambda: run(lv, theta, 6, 5)))
    model, theta = case("dbm2d_periodic")
    thetas = theta * np.linspace(-3, 5, 6)[:, None]
    assert_same(run(model, thetas, 6, 4), _numpy_reference(lambda: run(model, thetas, 6, 4)))
    assert cuda_cpu == [5, 4]


@pytest.mark.skipif(nvcc() is None, reason="nvcc not found: device compilation not checked")
def test_kernel_compiles_to_ptx(tmp_path):
    target = ptx(_cuda_layers.KERNEL_FILE, tmp_path)
    assert f".entry {_cuda_layers.KERNEL_NAME}(" in target.read_text()
    probe = tmp_path / "gibbs_layout_probe.cu"  # the GPU tests' layout check
    probe.write_text(layout_probe_source(_cuda_layers.KERNEL_FILE, _cuda_layers.RECORDS))
    assert ".entry dbd_layout_probe(" in ptx(probe, tmp_path).read_text()


