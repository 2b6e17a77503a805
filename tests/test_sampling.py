"""Tests of dbdlab.sampling against exact enumeration of tiny models.

Statistical tests compare chain averages of moments with the enumerated expectations, using the
sample standard error over independent chains and |z| ≤ 4 (developer guide: dev-testing);
conditionals are compared exactly with conditionals read off the enumerated joint distribution.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dbdlab.backend import gpu_status
from dbdlab.experiments.validation import sampler_moments, z_scores
from dbdlab.models import BoltzmannMachine, FullyVisible1DModel, Layer
from dbdlab.rng import Purpose, derive, stream_key, uniform_array
from dbdlab.sampling import (
    cd_k,
    data_chains,
    empty_chains,
    gibbs_sweeps,
    hidden_probabilities,
    layer_activations,
    layer_conditionals,
    mean_field_steps,
    probabilities_from_activations,
    random_chains,
    sample_layer,
)

Z_MAX = 4.0

from tiny_models import CASES  # noqa: E402

_EXACT: dict = {}


def case(name):
    layers, weights, periodic, theta = CASES[name]
    model = BoltzmannMachine([Layer(*lay) for lay in layers], weights, periodic=periodic)
    if name not in _EXACT:
        _EXACT[name] = model.exact(np.array(theta))
    return model, np.array(theta), _EXACT[name]


def assert_moments_match(model, layers, exact):
    z = z_scores(model.moments(layers), exact.expected_moments())
    assert np.all(np.abs(z) <= Z_MAX), dict(zip(model.theta_names, np.round(z, 2), strict=True))


def draw_visible(exact, n, seed):
    """Visible lattices drawn from the exact marginal (the "data")."""
    (vis,), p = exact.marginal()
    rows = np.random.default_rng(seed).choice(len(p), size=n, p=p)
    return vis[rows]


def brute_edges(lower_shape, periodic):
    """(lower, upper) pairs from the coordinate rules of reproduction notes: repro-architectures."""
    ravel = np.ravel_multi_index
    deltas = list(itertools.product((0, 1), repeat=len(lower_shape)))
    if periodic:
        return [(ravel(i, lower_shape),
                 ravel(tuple((a + b) % n for a, b, n in zip(i, d, lower_shape, strict=True)),
                       lower_shape))
                for i in itertools.product(*(range(n) for n in lower_shape)) for d in deltas]
    upper = tuple(n - 1 for n in lower_shape)
    return [(ravel(tuple(a + b for a, b in zip(j, d, strict=True)), lower_shape), ravel(j, upper))
            for j in itertools.product(*(range(n) for n in upper)) for d in deltas]


# ----------------------------------------------------------------------------------------------
# 1. one layer given its neighbours
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_conditionals_equal_those_of_the_enumerated_joint(name):
    model, theta, exact = case(name)
    rows = np.random.default_rng(1).choice(len(exact.probabilities), 12, replace=False)
    states = [s[rows] for s in exact.states]
    for l, lay in enumerate(model.layers):
        p = layer_conditionals(model, theta, states, l)
        assert p.shape == (12, lay.n_units, lay.n_species)
        for i in range(lay.n_units):
            cond = exact.conditional(l, i, rows)  # columns: empty, species…
            np.testing.assert_allclose(p[:, i, :], cond[:, 1:], rtol=0, atol=1e-12)
            np.testing.assert_allclose(1 - p[:, i, :].sum(-1), cond[:, 0], rtol=0, atol=1e-12)


def test_activations_with_probabilities_are_the_mean_field_sums():
    # φ_iα = a_α + Σ_m Σ_β W_αβ Σ_{j∼i} p_jβ, summed here over explicit edges (paper B eq. 6)
    # periodic 0–1, open 1–2: both table conventions and the sentinel of missing connections
    model = BoltzmannMachine([Layer((4, 3), ("X", "Y")), Layer((4, 3), ("X1", "Y1")),
                              Layer((3, 2), ("X2", "Y2"))],
                             [("X", "X1"), ("Y", "Y1"), ("Y", "X1"), ("X1", "X2"), ("Y1", "Y2")],
                             periodic=[True, False])
    theta = np.random.default_rng(2).uniform(-1, 1, model.n_theta)
    rng = np.random.default_rng(3)
    probs = [rng.dirichlet(np.ones(3), (5, lay.n_units))[..., 1:] for lay in model.layers]
    biases, weights = model.unpack_theta(theta)
    for l, lay in enumerate(model.layers):
        phi = np.broadcast_to(biases[l], (5, lay.n_units, lay.n_species)).copy()
        if l > 0:
            below = model.layers[l - 1]
            for i_low, j in brute_edges(below.shape, model.connections[l - 1].periodic):
                phi[:, j, :] += probs[l - 1][:, i_low, :] @ weights[l - 1]
        if l < model.n_layers - 1:
            for i, j_up in brute_edges(lay.shape, model.connections[l].periodic):
                phi[:, i, :] += probs[l + 1][:, j_up, :] @ weights[l].T
        np.testing.assert_allclose(layer_activations(model, theta, probs, l), phi, atol=1e-12)


def test_probabilities_are_stable_for_large_activations():
    phi = np.array([[[800.0, 799.0], [-900.0, -901.0], [0.0, 0.0], [40.0, -1000.0]]])
    p = probabilities_from_activations(phi)
    assert np.all(np.isfinite(p))
    e = np.exp(-1.0)
    np.testing.assert_allclose(p[0, 0], [1 / (1 + e), e / (1 + e)], rtol=1e-14)
    np.testing.assert_allclose(p[0, 1], [np.exp(-900.0), np.exp(-901.0)], rtol=1e-12)
    np.testing.assert_allclose(p[0, 2], [1 / 3, 1 / 3], rtol=1e-14)
    assert p[0, 3, 0] == pytest.approx(1.0) and p[0, 3, 1] == 0.0


def test_sample_layer_walks_the_species_with_one_uniform_per_unit():
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(4), (6, 50))[..., :3]
    keys = np.array([stream_key(9, k) for k in range(6)], dtype=np.uint64)
    codes = sample_layer(p, keys)
    assert codes.dtype == np.int8
    u = uniform_array(np, keys[:, None], np.arange(50))
    for c, i in np.ndindex(6, 50):
        r, expected = u[c, i], 0
        for alpha in range(3):  # reproduction notes: repro-units: subtract p until negative
            r -= p[c, i, alpha]
            if r < 0:
                expected = alpha + 1
                break
        assert codes[c, i] == expected


# ----------------------------------------------------------------------------------------------
# 2. chain starts
# ----------------------------------------------------------------------------------------------


def test_random_start_is_uniform_over_empty_and_species():
    model, _, _ = case("rbm3d_open")
    chains = random_chains(model, 4000, 5, backend="numpy")
    v = chains.layers[0]
    n = v.size
    for code in range(3):
        k = int((v == code).sum())
        assert abs(k - n / 3) / np.sqrt(n * (1 / 3) * (2 / 3)) <= Z_MAX
    # given state probabilities (e.g. the Rössler code's unnormalised start, reproduction notes:
    # repro-rossler-config)
    chains = random_chains(model, 4000, 5, probabilities=[[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]],
                           backend="numpy")
    for code, p in enumerate([0.1, 0.2, 0.7]):
        k = int((chains.layers[0] == code).sum())
        assert abs(k - n * p) / np.sqrt(n * p * (1 - p)) <= Z_MAX
    assert not empty_chains(model, 3, 5).layers[1].any()


def test_random_start_uses_the_documented_streams():
    model, _, _ = case("rbm1d_open")
    chains = random_chains(model, 3, 17, chain_ids=[4, 9, 2], backend="numpy")
    for row, cid in enumerate([4, 9, 2]):
        key = derive(stream_key(17, Purpose.CHAIN_INIT, cid), 0)
        u = uniform_array(np, np.uint64(key), np.arange(6))
        np.testing.assert_array_equal(chains.layers[0][row], np.floor(3 * u).astype(np.int8))
        assert int(chains.keys[row]) == stream_key(17, Purpose.GIBBS, cid)


# ----------------------------------------------------------------------------------------------
# 3. samplers against exact enumeration
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_block_gibbs_from_a_random_start_samples_the_model(name):
    model, theta, exact = case(name)
    chains = gibbs_sweeps(model, theta, random_chains(model, 8000, 11, backend="numpy"), 40)
    assert all(chains.is_binary(l) for l in range(model.n_layers)) and chains.sweep == 40
    assert_moments_match(model, chains.layers, exact)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_sampler_check_of_the_validation_chapter(backend):
    # The book's validation chapter tabulates this check's z-scores.
    check = sampler_moments(FullyVisible1DModel(8), np.array([0.3, -0.8, 0.6]), 8000, 30,
                            seed=12, backend=backend)
    assert len(check.names) == len(check.z) == 3 and np.all(check.se > 0)
    assert np.all(np.abs(check.z) <= Z_MAX), dict(zip(check.names, check.z, strict=True))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_fully_visible_gibbs_samples_the_model(backend):
    model = FullyVisible1DModel(8)
    theta = np.array([0.3, -0.8, 0.6])
    exact = model.exact(theta)
    chains = gibbs_sweeps(model, theta, random_chains(model, 8000, 12, backend=backend), 30)
    assert_moments_match(model, chains.layers, exact)


def test_fully_visible_numba_and_array_sweeps_are_identical():
    model = FullyVisible1DModel(11)
    theta = np.array([[0.3, -0.8, 0.6], [-0.5, 1.0, -1.0], [1.0, -1.0, -1.0]] * 20)
    a = gibbs_sweeps(model, theta, random_chains(model, 60, 13, backend="numba"), 7)
    b = random_chains(model, 60, 13, backend="numpy")
    for n in (3, 4):  # split over calls: the counters continue
        gibbs_sweeps(model, theta, b, n)
    np.testing.assert_array_equal(a.layers[0], b.layers[0])


@pytest.mark.parametrize("name", ["rbm1d_open", "rbm3d_open"])
def test_cd1_from_exact_data_reproduces_the_model(name):
    # v ~ p(v), h ~ p(h|v), v' ~ p(v|h): every step keeps the joint distribution; the final
    # p(h|v') enters the weight moments in place of h (paper A, reproduction notes:
    # repro-annihilation-config)
    model, theta, exact = case(name)
    data = draw_visible(exact, 8000, 14)
    chains = cd_k(model, theta, 1, 15, visible=data, backend="numpy")
    assert chains.is_binary(0) and not chains.is_binary(1)
    assert not np.array_equal(chains.layers[0], data)
    assert_moments_match(model, chains.layers, exact)


def test_cd_from_a_random_start_and_binary_output():
    model, theta, exact = case("rbm3d_periodic")
    chains = cd_k(model, theta, 30, 16, n_chains=8000, final="binary", backend="numpy")
    assert chains.is_binary(1)
    assert_moments_match(model, chains.layers, exact)


def test_fully_visible_cd1_from_exact_data():
    model = FullyVisible1DModel(7)
    theta = np.array([-0.4, 0.9, -1.2])
    exact = model.exact(theta)
    data = draw_visible(exact, 8000, 17)
    chains = cd_k(model, theta, 1, 18, visible=data, backend="numba")
    assert_moments_match(model, chains.layers, exact)


def test_persistent_chains_carry_their_state_between_calls():
    model, theta, exact = case("dbm2d_periodic")
    other = np.zeros_like(theta)
    other[:2] = [2.0, -2.0]  # a very different model for the first calls
    chains = random_chains(model, 8000, 19, backend="numpy")
    gibbs_sweeps(model, other, chains, 5)
    twin = chains.copy()
    for _ in range(3):  # PCD: the same object, new parameters
        gibbs_sweeps(model, theta, chains, 10)
    gibbs_sweeps(model, theta, twin, 30)
    for a, b in zip(chains.layers, twin.layers, strict=True):
        np.testing.assert_array_equal(a, b)
    assert chains.sweep == 35
    assert_moments_match(model, chains.layers, exact)


def test_clamped_wake_phase_samples_the_hidden_layers_given_the_data():
    # data from p(v) and hidden layers from p(h1, h2 | v) give the joint distribution
    model, theta, exact = case("dbm2d_periodic")
    data = draw_visible(exact, 8000, 20)
    chains = data_chains(model, data.reshape(-1, 2, 2), 21, clamp=True, backend="numpy")
    gibbs_sweeps(model, theta, chains, 25)
    np.testing.assert_array_equal(chains.layers[0], data)
    assert_moments_match(model, chains.layers, exact)


def test_hidden_probabilities_give_exact_moments_over_the_visible_marginal():
    # Σ_v p(v) M(v, p(h|v)) = ⟨M⟩: exact, no sampling
    for name in ("rbm1d_open", "rbm3d_open", "rbm3d_periodic"):
        model, theta, exact = case(name)
        (vis,), pv = exact.marginal()
        m = model.moments([vis, hidden_probabilities(model, theta, vis)])
        np.testing.assert_allclose(pv @ m, exact.expected_moments(), rtol=1e-11)


def test_mean_field_steps():
    model, theta, exact = case("dbm2d_periodic")
    chains = random_chains(model, 6, 22, backend="numpy")
    before = [s.copy() for s in chains.layers]
    # parallel: every layer from the previous state (paper B evaluation, reproduction notes:
    # repro-lv-sampling)
    mean_field_steps(model, theta, chains, parallel=True)
    for l in range(3):
        np.testing.assert_allclose(chains.layers[l], layer_conditionals(model, theta, before, l),
                                   atol=1e-15)
    # sequential: layer 2 sees the new layer 1
    chains = random_chains(model, 6, 22, backend="numpy")
    mean_field_steps(model, theta, chains, order=[[1], [2]])
    np.testing.assert_array_equal(chains.layers[0], before[0])
    p1 = layer_conditionals(model, theta, before, 1)
    np.testing.assert_allclose(chains.layers[1], p1, atol=1e-15)
    np.testing.assert_allclose(chains.layers[2], layer_conditionals(
        model, theta, [before[0], p1, before[2]], 2), atol=1e-15)
    # a Gibbs sweep after mean field draws binary states again
    gibbs_sweeps(model, theta, chains, 1)
    assert all(chains.is_binary(l) for l in range(3))


# ----------------------------------------------------------------------------------------------
# 4. determinism and reproducibility
# ----------------------------------------------------------------------------------------------


def test_same_seed_same_samples_and_chain_by_chain_reproducibility():
    model, theta, _ = case("dbm2d_periodic")
    run = lambda seed, ids=None, backend="numpy", n=10: gibbs_sweeps(  # noqa: E731
        model, theta, random_chains(model, n, seed, chain_ids=ids, backend=backend), 6).layers
    a, b, c = run(23), run(23), run(24)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    subset = run(23, ids=[7, 2], n=2)
    for x, y in zip(a, subset, strict=True):
        np.testing.assert_array_equal(x[[7, 2]], y)
    for x, y in zip(a, run(23, backend="numba"), strict=True):
        np.testing.assert_array_equal(x, y)


def test_sweeps_use_the_documented_streams():
    # layer l in sweep s of chain c: draws 0..N−1 of
    # derive(derive(stream_key(seed, GIBBS, c), s), l)
    model, theta, _ = case("dbm2d_periodic")
    chains = random_chains(model, 5, 30, chain_ids=[3, 1, 4, 0, 2], backend="numpy")
    gibbs_sweeps(model, theta, chains, 2)
    state = [s.copy() for s in chains.layers]
    gibbs_sweeps(model, theta, chains, 1)  # sweep number 2: layer 1, then layers 0 and 2
    expected = list(state)
    for l in (1, 0, 2):
        keys = np.array([derive(derive(stream_key(30, Purpose.GIBBS, c), 2), l)
                         for c in [3, 1, 4, 0, 2]], dtype=np.uint64)
        expected[l] = sample_layer(layer_conditionals(model, theta, expected, l), keys)
    for x, y in zip(chains.layers, expected, strict=True):
        np.testing.assert_array_equal(x, y)


def test_per_chain_parameters_equal_separate_runs():
    model, theta, _ = case("rbm1d_open")
    thetas = np.stack([theta, -theta, 0.5 * theta])
    together = gibbs_sweeps(model, thetas, random_chains(model, 3, 25, backend="numpy"), 5)
    for k in range(3):
        alone = gibbs_sweeps(model, thetas[k],
                             random_chains(model, 1, 25, chain_ids=[k], backend="numpy"), 5)
        for x, y in zip(together.layers, alone.layers, strict=True):
            np.testing.assert_array_equal(x[k:k + 1], y)


# ----------------------------------------------------------------------------------------------
# 5. bad input
# ----------------------------------------------------------------------------------------------


def test_bad_sampler_input_raises():
    model, theta, exact = case("dbm2d_periodic")
    chains = random_chains(model, 4, 26, backend="numpy")
    with pytest.raises(ValueError, match="adjacent"):
        gibbs_sweeps(model, theta, chains, order=[[0, 1], [2]])
    with pytest.raises(ValueError, match="twice"):
        gibbs_sweeps(model, theta, chains, order=[[1], [1]])
    with pytest.raises(ValueError, match=r"\(4, 10\)"):
        gibbs_sweeps(model, np.zeros((3, 10)), chains)
    with pytest.raises(ValueError, match="10 entries"):
        gibbs_sweeps(model, theta[:9], chains)
    with pytest.raises(ValueError, match="non-negative integer"):
        gibbs_sweeps(model, theta, chains, -1)
    clamped = data_chains(model, exact.states[0][:4], 27, clamp=True)
    with pytest.raises(ValueError, match="clamped"):
        gibbs_sweeps(model, theta, clamped, order=[[0, 2]])
    with pytest.raises(ValueError, match="two-layer"):
        hidden_probabilities(model, theta, exact.states[0][:4])
    with pytest.raises(ValueError, match="either visible data or n_chains"):
        cd_k(model, theta, 1, 0, visible=exact.states[0][:4], n_chains=4)
    with pytest.raises(TypeError, match="integer species codes"):
        data_chains(model, np.zeros((2, 4)), 0)
    with pytest.raises(ValueError, match="codes must have shape"):
        data_chains(model, np.zeros((2, 5), np.int8), 0)
    with pytest.raises(ValueError, match="distinct"):
        random_chains(model, 2, 0, chain_ids=[1, 1])
    with pytest.raises(ValueError, match="summing to 1"):
        random_chains(model, 2, 0, probabilities=[[0.5, 0.5], None, None])
    with pytest.raises(ValueError, match="layer must be in"):
        layer_conditionals(model, theta, exact.states, 3)
    with pytest.raises(ValueError, match="seed"):
        random_chains(model, 2, -1)


# ----------------------------------------------------------------------------------------------
# 6. GPU: the same code on CuPy
# ----------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_status()[0], reason="needs a CUDA device with CuPy")
def test_cupy_matches_numpy():
    model, theta, exact = case("dbm2d_periodic")
    cpu = gibbs_sweeps(model, theta, random_chains(model, 4000, 28, backend="numpy"), 20)
    gpu = gibbs_sweeps(model, theta, random_chains(model, 4000, 28, backend="cupy"), 20)
    for x, y in zip(cpu.layers, gpu.to_numpy(), strict=True):
        # exp may differ in the last bit between the libraries; a flip needs u within ~1e-16
        assert np.mean(x != y) < 1e-3
    assert_moments_match(model, gpu.to_numpy(), exact)
    fv = FullyVisible1DModel(9)
    a = gibbs_sweeps(fv, [0.3, -0.8, 0.6], random_chains(fv, 500, 29, backend="numba"), 5)
    b = gibbs_sweeps(fv, [0.3, -0.8, 0.6], random_chains(fv, 500, 29, backend="cupy"), 5)
    assert np.mean(a.layers[0] != b.to_numpy()[0]) < 1e-3
