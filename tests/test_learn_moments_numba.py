"""Tests of the bit-identical moment kernels of the learning loops.

RBMs: :func:`dbdlab.sampling.rbm_moments.rbm_moments_numba`; the fully visible chain:
:func:`dbdlab.sampling.fully_visible.fully_visible_moments_numba` and the weight table of its
three-class sweep kernel (:func:`dbdlab.simulate._fully_visible_1d.three_class_sweeps`).

The RBM kernel repeats the reference's per-unit arithmetic and NumPy's summation order, so every
comparison with the readable path ``model.moments([v, hidden_probabilities(θ, v)])`` is exact
(``assert_array_equal``), as are the learning loops' moments through it (wake phase, CD chains,
:func:`~dbdlab.learn.static.fit_boltzmann`, :class:`~dbdlab.learn.LatticeCDEstimator`).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from dbdlab import backend
from dbdlab.learn.estimators import LatticeCDEstimator, cd_moments, wake_layers, wake_moments
from dbdlab.learn.static import fit_boltzmann
from dbdlab.models import BoltzmannMachine, FullyVisible1DModel, Layer
from dbdlab.models.architectures import annihilation_rbm, lotka_volterra_dbm, rossler_rbm
from dbdlab.rng import uniform_nb
from dbdlab.sampling import cd_k
from dbdlab.sampling.fully_visible import fully_visible_moments_numba
from dbdlab.sampling.rbm_moments import (
    _pairwise_sum,
    kernel_applies,
    rbm_moments,
    rbm_moments_numba,
    rbm_moments_reference,
)
from dbdlab.simulate._fully_visible_1d import conditional_field, three_class_sweeps
from tiny_models import CASES  # noqa: E402


def _models():
    models = {
        # one species each side, 999 hidden units: pairwise sums over several blocks
        "annihilation": annihilation_rbm(1000),
        # three species, diagonal weights: the hidden bias is a strided (sequential) sum
        "rossler": rossler_rbm((6, 5, 7)),
        # two species each side, dense cross weights, open borders
        "dense_1d": BoltzmannMachine(
            [Layer((300,), ("A", "B")), Layer((299,), ("X1", "Y1"))],
            [("A", "X1"), ("B", "X1"), ("A", "Y1"), ("B", "Y1")], periodic=False),
    }
    for name, (layers, weights, periodic, _) in CASES.items():
        if len(layers) == 2:
            models[name] = BoltzmannMachine([Layer(*lay) for lay in layers], weights,
                                            periodic=periodic)
    return models


MODELS = _models()


def _visible(model, n_chains, rng):
    return rng.integers(0, model.layers[0].n_species + 1,
                        (n_chains, model.layers[0].n_units)).astype(np.int8)


@pytest.mark.parametrize("n", [*range(1, 140), 255, 256, 257, 999, 1000, 4099, 20011])
def test_pairwise_sum_is_numpys_order(n):
    rng = np.random.default_rng(n)
    a = rng.random(n) * 10.0 ** rng.uniform(-4, 4, n) * rng.choice([-1.0, 1.0], n)
    assert 0.0 + _pairwise_sum(a, n) == a.sum()


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("scale", [0.3, 3.0, 40.0])
@pytest.mark.parametrize("per_chain", [False, True])
def test_kernel_equals_the_reference_bit_for_bit(name, scale, per_chain):
    model = MODELS[name]
    rng = np.random.default_rng(7)
    v = _visible(model, 9, rng)
    theta = rng.normal(0.0, scale, (9, model.n_theta) if per_chain else model.n_theta)
    np.testing.assert_array_equal(rbm_moments_numba(model, theta, v),
                                  rbm_moments_reference(model, theta, v))


def test_kernel_agrees_with_the_histogram_path():
    model = MODELS["rossler"]
    rng = np.random.default_rng(3)
    v, theta = _visible(model, 5, rng), rng.normal(0.0, 0.5, model.n_theta)
    np.testing.assert_allclose(rbm_moments_numba(model, theta, v), rbm_moments(model, theta, v),
                               rtol=1e-13, atol=1e-12)


def test_kernel_applies_only_to_rbms():
    assert kernel_applies(MODELS["annihilation"], 10_000)
    assert not kernel_applies(lotka_volterra_dbm((4, 4)))
    assert not kernel_applies(FullyVisible1DModel(10))
    assert not kernel_applies(MODELS["annihilation"], 1 << 23)  # table too large


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    monkeypatch.setattr(backend, "SERIAL_BELOW", 0)  # small calls stay parallel
    model = MODELS["dense_1d"]
    rng = np.random.default_rng(5)
    v, theta = _visible(model, 41, rng), rng.normal(0.0, 1.0, (41, model.n_theta))
    before = numba.get_num_threads()
    try:
        out = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            out.append(rbm_moments_numba(model, theta, v))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(*out)


@pytest.mark.parametrize("name", ["annihilation", "dense_1d"])
def test_phase_moments_equal_the_layered_path(name):
    model = MODELS[name]
    rng = np.random.default_rng(11)
    v = _visible(model, 6, rng)
    theta = rng.normal(0.0, 0.7, (6, model.n_theta))
    ids = np.arange(6) + 100
    layered = model.moments(wake_layers(model, theta, v, 4, ids, 1, "numba"))
    np.testing.assert_array_equal(wake_moments(model, theta, v, 4, ids, 1, "numba"), layered)
    for start in ({"visible": v}, {"n_chains": 6}):
        chains = cd_k(model, theta, 2, 4, chain_ids=ids, backend="numpy", **start)
        np.testing.assert_array_equal(
            cd_moments(model, theta, 2, 4, chain_ids=ids, backend="numba", **start),
            model.moments(chains.layers))


def _fit(backend):
    model = annihilation_rbm(40)
    rng = np.random.default_rng(2)
    data = (rng.random((12, 40)) < 0.4).astype(np.int8)
    return fit_boltzmann(model, data, groups=np.repeat([0, 1], 6), steps=4, batch=3, lr=0.05,
                         seed=3, backend=backend, average_last=2, progress=False)


def test_fit_boltzmann_is_bit_identical_to_the_numpy_backend():
    a, b = _fit("numpy"), _fit("numba")
    for key in ("theta", "awake", "asleep", "theta_fit"):
        np.testing.assert_array_equal(a[key].values, b[key].values)


def test_lattice_estimator_is_bit_identical_to_the_numpy_backend():
    model = annihilation_rbm(30)
    rng = np.random.default_rng(4)
    lattices = (rng.random((2, 5, 4, 30)) < 0.5).astype(np.int8)
    theta = rng.normal(0.0, 0.4, (3, model.n_theta))
    for cd_start in ("data", "random"):
        out = [LatticeCDEstimator(model, lattices, batch=3, k=1, cd_start=cd_start, seed=9,
                                  backend=backend)(theta, np.arange(1, 4), 1, 2)
               for backend in ("numpy", "numba")]
        for x, y in zip(*out, strict=True):
            np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------------------------------
# the fully visible chain's moments (integer counts: exact in any order)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_sites", [1, 2, 3, 50])
def test_fully_visible_moments_equal_the_model(n_sites):
    model = FullyVisible1DModel(n_sites)
    v = (np.random.default_rng(n_sites).random((13, n_sites)) < 0.6).astype(np.int8)
    np.testing.assert_array_equal(fully_visible_moments_numba(model, v), model.moments(v))
    with pytest.raises(ValueError, match="codes must be 0 or 1"):
        fully_visible_moments_numba(model, v + 1)


def test_fully_visible_lattice_estimator_is_bit_identical_to_the_numpy_path():
    model = FullyVisible1DModel(30)
    rng = np.random.default_rng(6)
    lattices = (rng.random((2, 5, 4, 30)) < 0.5).astype(np.int8)
    theta = rng.normal(0.0, 0.4, (3, 3))
    est = LatticeCDEstimator(model, lattices, batch=3, k=2, seed=9, backend="numba")
    ids = (2 * 2 + 1) * 9 + np.arange(9)
    awake, asleep = est(theta, np.arange(1, 4), 1, 2)
    data = _estimator_batch(est, np.arange(1, 4), 1, 2)
    per_chain = np.repeat(theta, 3, axis=0)
    chains = cd_k(model, per_chain, 2, 9, visible=data, chain_ids=ids, backend="numba")
    np.testing.assert_array_equal(awake, model.moments(data).reshape(3, 3, -1).mean(axis=1))
    np.testing.assert_array_equal(asleep,
                                  model.moments(chains.layers).reshape(3, 3, -1).mean(axis=1))


def _estimator_batch(est, timepoints, ic, step):
    """The estimator's data batch, gathered the readable way (all timepoints, then the window)."""
    from dbdlab.rng import Purpose, sample_without_replacement, stream_key

    rows = sample_without_replacement(stream_key(est.seed, Purpose.TRAIN_BATCH, step, ic),
                                      est.lattices.shape[1], est.batch)
    return est.lattices[ic][rows][:, timepoints].transpose(1, 0, 2).reshape(
        len(timepoints) * est.batch, -1)


# ----------------------------------------------------------------------------------------------
# the three-class sweep kernel's weight table (one exp per (pair, triple) sum, not per site)
# ----------------------------------------------------------------------------------------------


@numba.njit
def _per_site_sweeps(v, b, J, K, keys, n_sweeps, first_counter):
    """The kernel as it was: the log-odds and ``1 + e^{−field}`` evaluated at every site."""
    for c in range(v.shape[0]):
        counter = first_counter
        vc = v[c]
        for _ in range(n_sweeps):
            for cls in range(3):
                for i in range(cls, v.shape[1], 3):
                    field = conditional_field(vc, i, b[c], J[c], K[c])
                    u = uniform_nb(keys[c], counter)
                    counter += 1
                    vc[i] = 1 if u * (1.0 + np.exp(-field)) < 1.0 else 0


@pytest.mark.parametrize("scale", [0.5, 3.0, 30.0])
def test_three_class_sweeps_equal_the_per_site_evaluation(scale):
    rng = np.random.default_rng(int(scale * 10))
    v = (rng.random((11, 47)) < 0.5).astype(np.int8)
    b, J, K = (rng.normal(0.0, scale, 11) for _ in range(3))
    keys = rng.integers(0, 2**63, 11, dtype=np.uint64)
    expected = v.copy()
    _per_site_sweeps(expected, b, J, K, keys, 4, 7)
    three_class_sweeps(v, b, J, K, keys, 4, 7)
    np.testing.assert_array_equal(v, expected)


def test_small_kernel_calls_run_on_one_thread(monkeypatch):
    seen = []

    @numba.njit
    def threads():
        return numba.get_num_threads()

    before = numba.get_num_threads()
    with backend.kernel_threads(backend.SERIAL_BELOW - 1):
        seen.append(threads())
    with backend.kernel_threads(backend.SERIAL_BELOW):
        seen.append(threads())
    assert seen == [1, before] and numba.get_num_threads() == before
    with pytest.raises(RuntimeError), backend.kernel_threads(1):
        raise RuntimeError
    assert numba.get_num_threads() == before
