"""The CUDA Gibbs kernel on a GPU (CuPy backend) against the NumPy sampler; needs a CUDA device.

The kernel only reads tables built on the host and compares exactly computed uniforms, so the
samples must be bit-identical to the NumPy sampler on any device.
"""

from __future__ import annotations

import numpy as np
import pytest

from dbdlab.backend import gpu_status, to_numpy
from dbdlab.models import BoltzmannMachine, Layer
from dbdlab.models.architectures import lotka_volterra_dbm, rossler_rbm
from dbdlab.sampling import data_chains, gibbs_sweeps, mean_field_steps, random_chains
from tiny_models import CASES

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not gpu_status()[0], reason=f"no usable GPU: {gpu_status()[1]}"),
]


@pytest.fixture
def launches(monkeypatch):
    """Count the CUDA kernel's launches (proves the kernel, not the array-module loop, ran)."""
    from dbdlab.sampling import _cupy_layers

    calls = []
    original = _cupy_layers.CupyLauncher.launch

    def spy(self, grid, block, records):
        calls.append(grid)
        return original(self, grid, block, records)

    monkeypatch.setattr(_cupy_layers.CupyLauncher, "launch", spy)
    return calls


def _pair(model, theta, n_chains=16, n_sweeps=5, **kw):
    out = []
    for backend in ("numpy", "cupy"):
        chains = random_chains(model, n_chains, 3, backend=backend)
        out.append(gibbs_sweeps(model, theta, chains, n_sweeps, **kw))
    return out


def _assert_same(a, b):
    for x, y in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(to_numpy(y), x)
    assert a.sweep == b.sweep


@pytest.mark.parametrize("name", sorted(CASES))
def test_tiny_models_equal_numpy(name, launches):
    layers, weights, periodic, theta = CASES[name]
    model = BoltzmannMachine([Layer(*lay) for lay in layers], weights, periodic=periodic)
    for th in (np.array(theta), 8.0 * np.array(theta) * np.linspace(-1, 1, 16)[:, None]):
        _assert_same(*_pair(model, th))
    assert launches


def test_paper_architectures_equal_numpy(launches):
    lv = lotka_volterra_dbm((12, 10))
    theta = lv.theta_from_dict(dict(hX=-2.6, hY=-2.6, bX1=0.2, bY1=0, bX2=0, bY2=-0.1,
                                    wXX1=0.5, wYY1=0.6, wX1X2=0.5, wY1Y2=-0.4))
    _assert_same(*_pair(lv, theta, 300, 4))
    ross = rossler_rbm((4, 3, 5))
    _assert_same(*_pair(ross, np.linspace(-1.5, 1.2, ross.n_theta), 100, 4))
    assert len(launches) == 2  # one launch per gibbs_sweeps call


def test_clamped_and_probability_layers(launches):
    lv = lotka_volterra_dbm((6, 6))
    theta = np.linspace(-1, 1, lv.n_theta)
    data = to_numpy(random_chains(lv, 9, 1, backend="numpy").layers[0])
    a, b = (gibbs_sweeps(lv, theta, data_chains(lv, data, 8, clamp=True, backend=bk), 3)
            for bk in ("numpy", "cupy"))
    _assert_same(a, b)
    # probability layers: the first sweep runs the array-module path (CuPy's last-bit rounding
    # could flip a sample only if a uniform fell within it, ~1e-16 per unit); then the kernel
    a, b = (random_chains(lv, 8, 4, backend=bk) for bk in ("numpy", "cupy"))
    for chains in (a, b):
        mean_field_steps(lv, theta, chains, 1)
        gibbs_sweeps(lv, theta, chains, 3)
    _assert_same(a, b)
    assert len(launches) == 2  # the wake phase; the sweeps after the array-module one


def test_record_layout_on_the_device():
    """NVRTC lays the kernel's records out as the NumPy dtypes passed by CuPy."""
    from cuda_cpu_build import device_layout
    from dbdlab.sampling._cuda_layers import KERNEL_FILE, RECORDS, record_dtype

    for name, (size, offsets) in device_layout(KERNEL_FILE, RECORDS).items():
        dtype = record_dtype(name)
        assert (size, offsets) == (dtype.itemsize,
                                   [dtype.fields[f][1] for f, _ in RECORDS[name]]), name
