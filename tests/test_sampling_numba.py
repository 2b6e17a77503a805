"""Tests of the Numba Gibbs kernel (dbdlab.sampling._numba_layers) against the NumPy sampler.

The kernel is meant to be bit-identical to the NumPy path (same streams, same cumulative
probabilities), so most tests compare exactly; the strongest check compares every unit's
cumulative conditional probabilities, as the kernel looks them up, bit for bit with NumPy's.  One
statistical test compares chain averages with exact enumeration (|z| ≤ 4, developer guide:
dev-testing).
"""

from __future__ import annotations

import zlib

import numba
import numpy as np
import pytest

from dbdlab import backend
from dbdlab.models import BoltzmannMachine, Layer
from dbdlab.models.architectures import lotka_volterra_dbm, rossler_rbm
from dbdlab.sampling import (
    _numba_layers,
    data_chains,
    gibbs_sweeps,
    layer_conditionals,
    mean_field_steps,
    random_chains,
    sample_layer_given_neighbours,
)
from dbdlab.sampling.chains import sweep_keys

Z_MAX = 4.0

from tiny_models import CASES  # noqa: E402

#: θ multipliers: the case's θ, large weights (saturated conditionals), sign flip
SCALES = (1.0, 12.0, -4.0)


def case(name):
    layers, weights, periodic, theta = CASES[name]
    model = BoltzmannMachine([Layer(*lay) for lay in layers], weights, periodic=periodic)
    return model, np.array(theta)


def bigger_model():
    """Three 2D layers with three species and dense cross weights (many BLAS rows)."""
    sp = [("A", "B", "C"), ("X1", "Y1", "Z1"), ("X2", "Y2")]
    weights = [(a, b) for a in sp[0] for b in sp[1]] + [(a, b) for a in sp[1] for b in sp[2]]
    return BoltzmannMachine([Layer((9, 7), s) for s in sp], weights, periodic=True)


@pytest.fixture
def kernel_calls(monkeypatch):
    """Record the number of sweeps of every kernel call (proves the kernel, not NumPy, ran)."""
    calls = []
    original = _numba_layers._sweeps_kernel

    def spy(*args):
        calls.append(args[3])
        return original(*args)

    monkeypatch.setattr(_numba_layers, "_sweeps_kernel", spy)
    return calls


@pytest.fixture(params=["box", "gather"])
def sum_path(request, monkeypatch):
    """Run the test with the neighbour sums as box passes and as gathers (both exact)."""
    monkeypatch.setattr(_numba_layers, "USE_BOX_SUMS", request.param == "box")
    return request.param


def run(model, theta, backend, n_chains=12, n_sweeps=5, seed=3, **kw):
    chains = random_chains(model, n_chains, seed, backend=backend)
    return gibbs_sweeps(model, theta, chains, n_sweeps, **kw)


def assert_same(a, b):
    assert len(a.layers) == len(b.layers)
    for x, y in zip(a.layers, b.layers, strict=True):
        assert x.dtype == y.dtype == np.int8 and x.flags.c_contiguous
        np.testing.assert_array_equal(x, y)
    assert a.sweep == b.sweep


# ----------------------------------------------------------------------------------------------
# bit-identity with the NumPy sampler
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("scale", SCALES)
def test_numba_sweeps_equal_numpy_sweeps(name, scale, kernel_calls, sum_path):
    model, theta = case(name)
    assert _numba_layers._layout(model).box  # the box path is the one that runs
    a = run(model, scale * theta, "numpy", n_sweeps=6)
    b = run(model, scale * theta, "numba", n_sweeps=6)
    assert kernel_calls == [6]
    assert_same(a, b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_per_chain_parameters(name, kernel_calls, sum_path):
    model, theta = case(name)
    thetas = theta * np.linspace(-6, 9, 12)[:, None]
    assert_same(run(model, thetas, "numpy"), run(model, thetas, "numba"))
    assert kernel_calls == [5]


@pytest.mark.parametrize("name", sorted(CASES) + ["bigger", "lv", "rossler"])
def test_cumulative_probabilities_are_bit_identical_unit_by_unit(name):
    # u is compared with these numbers, so equal tables mean equal samples for every u (a
    # sample comparison alone would miss a last-bit difference almost surely)
    model, theta = {"bigger": (bigger_model(), None), "lv": (lotka_volterra_dbm((6, 8)), None),
                    "rossler": (rossler_rbm((3, 4, 2)), None)}.get(name) or case(name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    layout = _numba_layers._layout(model)
    for scale in (0.3, 3.0, 40.0):
        thetas = rng.normal(0.0, scale, (2, model.n_theta))
        for th in (thetas[0], thetas):  # one θ, and one θ per chain
            layers = random_chains(model, 2, int(rng.integers(1000)), backend="numpy").layers
            biases, weights = model.unpack_theta(th)
            state = np.zeros((2, layout.row_length), dtype=np.uint8)
            for l, s in enumerate(layers):
                state[:, layout.offsets[l]:layout.offsets[l] + layout.n_units[l]] = s
            for l in range(model.n_layers):
                table, start = _numba_layers.cumulative_tables(model, biases, weights, [l])
                n, m = int(layout.n_units[l]), int(layout.n_species[l])
                row = np.zeros((2, n), dtype=np.int64)
                for side, nbr, first, q in (
                        ("lo", layout.nbr_lo, layout.lo_start[l], layout.q_lo[l]),
                        ("hi", layout.nbr_hi, layout.hi_start[l], layout.q_hi[l])):
                    step = getattr(layout, f"step_{side}")[l]
                    idx = nbr[first:first + n * q].reshape(n, q).astype(np.int64)
                    row += step[state[:, idx]].sum(axis=-1)
                t = np.arange(2)[:, None, None] if th.ndim == 2 else 0
                looked_up = table[t, start[l] + row[..., None] * m + np.arange(m)]
                expected = np.cumsum(layer_conditionals(model, th, layers, l), axis=-1)
                np.testing.assert_array_equal(looked_up, expected)


def test_paper_architectures_equal_numpy(kernel_calls, sum_path):
    lv = lotka_volterra_dbm((6, 6))
    theta = lv.theta_from_dict(dict(hX=-2.6, hY=-2.6, bX1=0, bY1=0, bX2=0, bY2=0, wXX1=0.5,
                                    wYY1=0.5, wX1X2=0.5, wY1Y2=0.5))
    assert_same(run(lv, theta, "numpy", 20, 4), run(lv, theta, "numba", 20, 4))
    ross = rossler_rbm((3, 3, 2))
    theta = np.linspace(-1.5, 1.2, ross.n_theta)
    assert_same(run(ross, theta, "numpy", 20, 4), run(ross, theta, "numba", 20, 4))
    big = bigger_model()
    theta = np.random.default_rng(5).normal(0, 1.5, big.n_theta)
    assert_same(run(big, theta, "numpy", 20, 4), run(big, theta, "numba", 20, 4))
    assert kernel_calls == [4, 4, 4]


def test_orders_clamping_and_persistent_chains(kernel_calls):
    model, theta = case("dbm2d_periodic")
    for order in (((0, 2), (1,)), ((2,), (0,), (1,)), ((1,),)):
        assert_same(run(model, theta, "numpy", order=order),
                    run(model, theta, "numba", order=order))
    # wake phase: visible layer clamped at data
    data = random_chains(model, 9, 1, backend="numpy").layers[0]
    a, b = (gibbs_sweeps(model, theta, data_chains(model, data, 8, clamp=True, backend=bk), 3)
            for bk in ("numpy", "numba"))
    assert_same(a, b)
    np.testing.assert_array_equal(b.layers[0], data)
    # persistent chains continue their streams across calls
    a, b = (random_chains(model, 7, 2, backend=bk) for bk in ("numpy", "numba"))
    for k in (1, 3, 2):
        gibbs_sweeps(model, theta, a, k)
        gibbs_sweeps(model, theta, b, k)
        assert_same(a, b)
    assert kernel_calls == [5, 5, 5, 3, 1, 3, 2]


def test_probability_layers_fall_back_to_numpy_then_use_the_kernel(kernel_calls):
    model, theta = case("dbm2d_periodic")
    a, b = (random_chains(model, 8, 4, backend=bk) for bk in ("numpy", "numba"))
    for chains in (a, b):
        mean_field_steps(model, theta, chains, 1)  # hidden layers now hold probabilities
        gibbs_sweeps(model, theta, chains, 4)
    assert kernel_calls == [3]  # the first sweep ran in NumPy and made every layer binary
    assert_same(a, b)


def test_oversized_tables_fall_back_to_numpy(monkeypatch, kernel_calls):
    monkeypatch.setattr(_numba_layers, "MAX_TABLE_ENTRIES", 0)
    model, theta = case("rbm1d_open")
    assert_same(run(model, theta, "numpy"), run(model, theta, "numba"))
    assert kernel_calls == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_layer_twin_of_the_hook(name, sum_path):
    model, theta = case(name)
    layers = random_chains(model, 10, 6, backend="numpy").layers
    keys = sweep_keys(np, random_chains(model, 10, 6, backend="numpy").keys, 5, 0)
    for th in (theta, theta * np.linspace(-3, 3, 10)[:, None]):
        biases, weights = model.unpack_theta(th)
        for l in range(model.n_layers):
            expected = sample_layer_given_neighbours(model, biases, weights, layers, l, keys, np)
            got = _numba_layers.sample_layer_numba(model, biases, weights, layers, l, keys)
            np.testing.assert_array_equal(got, expected)
    probs = list(layers)
    probs[1] = layer_conditionals(model, theta, layers, 1)
    biases, weights = model.unpack_theta(theta)
    assert _numba_layers.sample_layer_numba(model, biases, weights, probs, 0, keys) is None


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    monkeypatch.setattr(backend, "SERIAL_BELOW", 0)  # small calls stay parallel
    model = lotka_volterra_dbm((8, 8))
    theta = np.linspace(-1.0, 0.8, model.n_theta)
    before = numba.get_num_threads()
    try:
        out = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            out.append(run(model, theta, "numba", n_chains=33, n_sweeps=7))
        probabilities = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            chains = run(model, theta, "numba", n_chains=33, n_sweeps=2)
            probabilities.append(mean_field_steps(model, theta, chains, parallel=True).layers)
    finally:
        numba.set_num_threads(before)
    assert_same(*out)
    for a, b in zip(*probabilities, strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------
# statistics against exact enumeration
# ----------------------------------------------------------------------------------------------


def test_numba_chains_sample_the_exact_distribution(kernel_calls):
    model, theta = case("dbm2d_periodic")
    exact = model.exact(theta)
    chains = run(model, theta, "numba", n_chains=4000, n_sweeps=40, seed=11)
    assert kernel_calls == [40]
    moments = np.asarray(model.moments(chains.layers))
    se = moments.std(axis=0, ddof=1) / np.sqrt(len(moments))
    z = (moments.mean(axis=0) - exact.expected_moments()) / se
    assert np.all(np.abs(z) <= Z_MAX), dict(zip(model.theta_names, np.round(z, 2), strict=True))


@pytest.mark.parametrize("probs", [None, (1 / 24, 1 / 2, 1 / 3, 1 / 8), (0.0, 0.0, 1.0, 0.0)])
def test_random_initial_codes_equal_the_array_reference(probs):
    # the Numba start (NumPy arrays) draws exactly the codes of the array code (CuPy's path)
    from dbdlab.rng import Purpose, stream_keys
    from dbdlab.sampling import chains as chains_module

    model = rossler_rbm((3, 4, 5))
    keys = stream_keys(np, 7, Purpose.CHAIN_INIT, np.array([0, 3, 11, 2**40]))
    for l, layer in enumerate(model.layers):
        p = chains_module._state_probabilities(layer, probs if l == 0 else None, l)
        fast = chains_module._random_layer(np, keys, l, layer, p)
        reference = chains_module._random_layer_reference(np, keys, l, layer, p)
        assert fast.dtype == np.int8
        np.testing.assert_array_equal(fast, reference)
        # no code outside the support of the start probabilities
        assert set(np.unique(fast)) <= set(np.flatnonzero(p))


# ----------------------------------------------------------------------------------------------
# the parallel mean-field step (pattern tables of probabilities)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES) + ["bigger", "lv", "rossler"])
@pytest.mark.parametrize("per_chain", [False, True])
def test_parallel_mean_field_step_equals_numpy(name, per_chain, monkeypatch, sum_path):
    model, theta = {"bigger": (bigger_model(), None), "lv": (lotka_volterra_dbm((6, 8)), None),
                    "rossler": (rossler_rbm((3, 4, 2)), None)}.get(name) or case(name)
    rng = np.random.default_rng(zlib.crc32(name.encode()) + per_chain)
    theta = rng.normal(0.0, 3.0, (10, model.n_theta) if per_chain else model.n_theta)
    calls = []
    original = _numba_layers._mean_field_kernel
    monkeypatch.setattr(_numba_layers, "_mean_field_kernel",
                        lambda *a: calls.append(1) or original(*a))
    out = {}
    for which in ("numpy", "numba"):
        chains = run(model, theta, which, n_chains=10, n_sweeps=2)
        out[which] = mean_field_steps(model, theta, chains, 1, parallel=True).layers
    assert calls == [1]  # the kernel ran (NumPy's call did not use it)
    for p_numpy, p_numba in zip(out["numpy"], out["numba"], strict=True):
        assert p_numba.dtype == np.float64 and p_numba.flags.c_contiguous
        np.testing.assert_array_equal(p_numba, p_numpy)


def test_mean_field_kernel_leaves_probability_inputs_and_clamped_layers_to_numpy():
    model = lotka_volterra_dbm((6, 6))
    theta = np.linspace(-1.0, 0.8, model.n_theta)
    lattices = np.random.default_rng(1).integers(0, 3, (4, 36)).astype(np.int8)
    chains = {b: data_chains(model, lattices, 5, clamp=True, backend=b)
              for b in ("numpy", "numba")}
    for b in chains:
        gibbs_sweeps(model, theta, chains[b], 2)
        mean_field_steps(model, theta, chains[b], 2, parallel=True)  # 2nd step: from p
        np.testing.assert_array_equal(chains[b].layers[0], lattices)  # clamped stays data
    for a, b in zip(chains["numpy"].layers, chains["numba"].layers, strict=True):
        np.testing.assert_array_equal(a, b)
