"""Tests of dbdlab.models: connectivity, θ naming, energy/moments, enumeration, centering.

References are written from the papers' definitions and never call the implementation: edges
come from the coordinate rules of reproduction notes: repro-architectures (lower unit i ↔ upper
units i + δ with wrap; hidden j ↔ visible j, j + 1 on open chains), energies and moments from
explicit loops over those edges, log Z from explicit loops over states.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from dbdlab.models import (
    BoltzmannMachine,
    FullyVisible1DModel,
    Layer,
    annihilation_rbm,
    centered_energy,
    centered_from_uncentered,
    local_connectivity,
    lotka_volterra_dbm,
    mean_activations,
    rossler_rbm,
    slide_centers,
    uncentered_from_centered,
    unit_biases_from_centered,
)

# ----------------------------------------------------------------------------------------------
# test models and independent references
# ----------------------------------------------------------------------------------------------

#: name → (layers, weights, periodic); small enough for loops, some small enough to enumerate
CASES = {
    "rbm1d_open": ([((6,), ("A", "B")), ((5,), ("X1",))], [("A", "X1"), ("B", "X1")], False),
    "rbm1d_open_small": ([((4,), ("A", "B")), ((3,), ("X1",))], [("A", "X1"), ("B", "X1")],
                         False),
    "dbm2d_periodic": ([((2, 2), ("X", "Y")), ((2, 2), ("X1", "Y1")), ((2, 2), ("X2",))],
                       [("X", "X1"), ("Y", "Y1"), ("X", "Y1"), ("X1", "X2"), ("Y1", "X2")], True),
    "rbm3d_periodic": ([((2, 2, 2), ("A",)), ((2, 2, 2), ("X1",))], [("A", "X1")], True),
    "rbm3d_open": ([((2, 2, 2), ("A", "B")), ((1, 1, 1), ("X1", "Y1"))],
                   [("A", "X1"), ("B", "Y1"), ("B", "X1")], False),
    # too big to enumerate, but asymmetric enough to expose index-convention errors
    "dbm2d_periodic_big": ([((4, 3), ("X", "Y")), ((4, 3), ("X1", "Y1")), ((4, 3), ("X2",))],
                           [("X", "X1"), ("Y", "Y1"), ("Y", "X1"), ("X1", "X2")], True),
    "dbm2d_open_big": ([((4, 3), ("X", "Y")), ((3, 2), ("X1",)), ((2, 1), ("X2", "Y2"))],
                       [("X", "X1"), ("Y", "X1"), ("X1", "X2"), ("X1", "Y2")], False),
    "rbm3d_mixed_big": ([((3, 2, 4), ("A", "B", "C")), ((3, 2, 4), ("X1", "Y1", "Z1"))],
                        [("A", "X1"), ("B", "Y1"), ("C", "Z1")], True),
}
ENUMERABLE = ["rbm1d_open", "dbm2d_periodic", "rbm3d_periodic", "rbm3d_open"]


def build(name):
    layers, weights, periodic = CASES[name]
    return BoltzmannMachine([Layer(*lay) for lay in layers], weights, periodic=periodic)


def random_theta(model, seed):
    rng = np.random.default_rng(seed)
    n_bias = len(model.species_names)
    return np.concatenate([rng.uniform(-0.6, 0.4, n_bias),
                           rng.uniform(-1.0, 1.0, model.n_theta - n_bias)])


def random_codes(model, n_chains, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, lay.n_species + 1, (n_chains, lay.n_units)).astype(np.int8)
            for lay in model.layers]


def random_probabilities(model, n_chains, seed):
    rng = np.random.default_rng(seed)
    out = []
    for lay in model.layers:
        p = rng.dirichlet(np.ones(lay.n_species + 1), (n_chains, lay.n_units))
        out.append(p[..., 1:])
    return out


def one_hot(codes, n_species):
    """Occupation from codes by an explicit loop."""
    out = np.zeros(codes.shape + (n_species,))
    for idx in np.ndindex(codes.shape):
        if codes[idx] > 0:
            out[idx + (codes[idx] - 1,)] = 1.0
    return out


def brute_edges(lower_shape, periodic):
    """(lower, upper) flat index pairs from the coordinate rules of reproduction notes:
    repro-architectures."""
    ravel = np.ravel_multi_index
    edges = []
    deltas = list(itertools.product((0, 1), repeat=len(lower_shape)))
    if periodic:  # lower unit i ↔ upper units i + δ, wrapped (LV, Rössler)
        for i in itertools.product(*(range(n) for n in lower_shape)):
            for d in deltas:
                j = tuple((a + b) % n for a, b, n in zip(i, d, lower_shape, strict=True))
                edges.append((ravel(i, lower_shape), ravel(j, lower_shape)))
    else:  # upper unit j ↔ lower units j + δ (annihilation: hidden j ↔ visible j, j+1)
        upper = tuple(n - 1 for n in lower_shape)
        for j in itertools.product(*(range(n) for n in upper)):
            for d in deltas:
                i = tuple(a + b for a, b in zip(j, d, strict=True))
                edges.append((ravel(i, lower_shape), ravel(j, upper)))
    return edges


def brute_moments(name, occ, centers=None):
    """Moments by loops over units and edges, placed by parameter *name*."""
    layers, weights, periodic = CASES[name]
    model = build(name)
    names = model.theta_names
    mu = dict(zip(model.species_names, centers, strict=True)) if centers is not None else None
    out = np.zeros((occ[0].shape[0], len(names)))
    for l, (_, species) in enumerate(layers):
        for a, sp in enumerate(species):
            k = names.index(("h" if l == 0 else "b") + sp)
            for i in range(occ[l].shape[1]):
                out[:, k] += occ[l][:, i, a]
    for lo, up in weights:
        l = next(l for l, (_, sp) in enumerate(layers) if lo in sp)
        a, b = layers[l][1].index(lo), layers[l + 1][1].index(up)
        k = names.index("w" + lo + up)
        for i, j in brute_edges(layers[l][0], periodic):
            x, y = occ[l][:, i, a], occ[l + 1][:, j, b]
            if mu is not None:
                x, y = x - mu[lo], y - mu[up]
            out[:, k] += x * y
    return out


def brute_energy(name, occ, theta):
    """E(s) of paper B eq. 4 term by term."""
    return -brute_moments(name, occ) @ theta


# ----------------------------------------------------------------------------------------------
# 1. connectivity: index conventions, degrees, errors
# ----------------------------------------------------------------------------------------------


def test_lv_patch_convention():
    # reproduction notes: repro-architectures: upper (a, b) sees the lower 2×2 patch {a−1, a} ×
    # {b−1, b} (wrapped)
    conn = local_connectivity((5, 4), periodic=True)
    assert conn.upper_shape == (5, 4) and conn.q == 4 and conn.regular
    for a, b in itertools.product(range(5), range(4)):
        u = np.ravel_multi_index((a, b), (5, 4))
        seen = {np.unravel_index(i, (5, 4)) for i in conn.up_to_down[u]}
        assert seen == {((a - da) % 5, (b - db) % 4) for da in (0, 1) for db in (0, 1)}
    assert np.all(conn.lower_degree == 4) and np.all(conn.upper_degree == 4)


def test_annihilation_pairs_convention():
    # reproduction notes: repro-architectures: hidden j ↔ visible j, j+1; 999 hidden for 1000
    # visible
    model = annihilation_rbm(1000)
    conn = model.connections[0]
    assert model.layers[1].shape == (999,) and conn.q == 2 and not conn.regular
    np.testing.assert_array_equal(conn.up_to_down, np.stack([np.arange(999),
                                                             np.arange(1, 1000)], axis=1))
    expected_degree = np.full(1000, 2)
    expected_degree[[0, -1]] = 1
    np.testing.assert_array_equal(conn.lower_degree, expected_degree)
    assert conn.n_edges == 2 * 999


@pytest.mark.parametrize("shape,periodic", [((7,), True), ((7,), False), ((4, 3), True),
                                            ((4, 3), False), ((3, 2, 4), True),
                                            ((3, 2, 4), False)])
def test_tables_are_consistent_and_match_the_coordinate_rules(shape, periodic):
    conn = local_connectivity(shape, periodic)
    assert sorted(map(tuple, conn.edges().tolist())) == sorted(brute_edges(shape, periodic))
    n_upper, q = conn.up_to_down.shape
    for i, k in np.ndindex(conn.down_to_up.shape):
        u = conn.down_to_up[i, k]
        if u < n_upper:
            assert conn.up_to_down[u, k] == i
    # each edge appears exactly once in down_to_up as well
    valid = conn.down_to_up < n_upper
    assert valid.sum() == conn.n_edges
    np.testing.assert_array_equal(valid.sum(axis=1), conn.lower_degree)


def test_rossler_and_lv_architectures():
    ros = rossler_rbm((3, 4, 5))
    assert ros.connections[0].q == 8 and ros.connections[0].regular
    assert ros.theta_names == ("hA", "hB", "hC", "bX1", "bY1", "bZ1", "wAX1", "wBY1", "wCZ1")
    lv = lotka_volterra_dbm((4, 6))
    assert lv.theta_names == ("hX", "hY", "bX1", "bY1", "bX2", "bY2",
                              "wXX1", "wYY1", "wX1X2", "wY1Y2")
    assert lv.q(0, 1) == lv.q(2, 1) == 4 and [lay.shape for lay in lv.layers] == [(4, 6)] * 3
    assert annihilation_rbm(10).theta_names == ("hA", "bX1", "wAX1")


@pytest.mark.parametrize("layers,weights,periodic,match", [
    ([((4,), ("A",)), ((4,), ("X1",))], [("A", "X1")], False, r"needs \(3,\)"),
    ([((4,), ("A",)), ((3,), ("X1",))], [("A", "X1")], True, r"needs \(4,\)"),
    ([((1, 3), ("A",)), ((1, 3), ("X1",))], [("A", "X1")], True, "axis 0 of shape"),
    ([((1,), ("A",)), ((1,), ("X1",))], [("A", "X1")], False, "at least 2 units"),
    ([((4,), ("A",)), ((4, 4), ("X1",))], [("A", "X1")], True, "same number of axes"),
    ([((4,), ("A",)), ((4,), ("X1",))], [("A", "Q1")], True, "unknown species 'Q1'"),
    ([((4,), ("A",)), ((4,), ("X1",))], [("X1", "A")], True, "adjacent layers"),
    ([((4,), ("A",)), ((4,), ("X1",)), ((4,), ("X2",))], [("A", "X2"), ("A", "X1")], True,
     "adjacent layers"),
    ([((4,), ("A",)), ((4,), ("X1",)), ((4,), ("X2",))], [("A", "X1")], True,
     "layers 1 and 2 have no weight"),
    ([((4,), ("A",)), ((4,), ("A",))], [("A", "A")], True, "unique across layers"),
    ([((4,), ("A",)), ((4,), ("X1",))], [("A", "X1"), ("A", "X1")], True, "given twice"),
    ([((4,), ("A",)), ((4,), ("X1",))], [("A", "X1")], [True, False], "one per adjacent"),
])
def test_bad_architectures_raise(layers, weights, periodic, match):
    with pytest.raises(ValueError, match=match):
        BoltzmannMachine([Layer(*lay) for lay in layers], weights, periodic=periodic)


def test_bad_layers_raise():
    with pytest.raises(ValueError, match="positive integers"):
        Layer((0, 3), ("A",))
    with pytest.raises(ValueError, match="1 to 3"):
        Layer((2, 2, 2, 2), ("A",))
    with pytest.raises(TypeError, match="sequence of names"):
        Layer((3,), "A")
    with pytest.raises(ValueError, match="identifiers"):
        Layer((3,), ("A B",))


# ----------------------------------------------------------------------------------------------
# 2. parameter names, order, θ conversion and errors
# ----------------------------------------------------------------------------------------------


def test_theta_order_and_dict_round_trip():
    model = build("dbm2d_open_big")
    assert model.theta_names == ("hX", "hY", "bX1", "bX2", "bY2",
                                 "wXX1", "wYX1", "wX1X2", "wX1Y2")
    values = {n: float(k) for k, n in enumerate(reversed(model.theta_names))}
    theta = model.theta_from_dict(values)
    assert model.theta_to_dict(theta) == values
    np.testing.assert_array_equal(theta, np.arange(model.n_theta)[::-1])
    # one θ per chain
    batch = model.theta_from_dict({n: np.arange(3.0) + k for k, n in enumerate(model.theta_names)})
    assert batch.shape == (3, model.n_theta)
    np.testing.assert_array_equal(model.theta_to_dict(batch)["wXX1"], np.arange(3.0) + 5)
    filled = model.theta_from_dict({"hX": -2.63}, default=0.0)
    assert filled[0] == -2.63 and not filled[1:].any()


def test_unpack_theta_places_weights_by_species_pair():
    model = build("dbm2d_open_big")
    theta = model.theta_from_dict({"wYX1": 2.0, "wX1Y2": 3.0, "hY": -1.0, "bY2": 4.0},
                                  default=0.0)
    biases, weights = model.unpack_theta(theta)
    np.testing.assert_array_equal(biases[0], [0.0, -1.0])
    np.testing.assert_array_equal(biases[2], [0.0, 4.0])
    np.testing.assert_array_equal(weights[0], [[0.0], [2.0]])   # rows X, Y; column X1
    np.testing.assert_array_equal(weights[1], [[0.0, 3.0]])     # row X1; columns X2, Y2


def test_theta_errors_name_the_expected_entries():
    model = annihilation_rbm(5)
    with pytest.raises(ValueError, match=r"3 entries .*\(hA, bX1, wAX1\).*got shape \(4,\)"):
        model.energy([np.zeros((1, 5), np.int8), np.zeros((1, 4), np.int8)], np.zeros(4))
    with pytest.raises(ValueError, match=r"unknown parameter name\(s\) \['b'\]"):
        model.theta_from_dict({"b": 1.0, "hA": 0.0, "bX1": 0.0, "wAX1": 0.0})
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['wAX1'\]"):
        model.theta_from_dict({"hA": 0.0, "bX1": 0.0})
    with pytest.raises(ValueError, match="unknown species 'Z'"):
        model.species_index("Z")
    with pytest.raises(ValueError, match="one value per species"):
        model.check_centers([0.1])
    fv = FullyVisible1DModel(4)
    with pytest.raises(ValueError, match=r"3 entries .*\(b, J, K\)"):
        fv.energy(np.zeros((1, 4), np.int8), [1.0, 2.0])


def test_bad_states_raise():
    model = build("rbm1d_open")
    good = random_codes(model, 2, 0)
    with pytest.raises(ValueError, match="codes must lie in 0..2"):
        model.moments([good[0] + 3, good[1]])
    with pytest.raises(ValueError, match=r"shape \(chains, 5\)"):
        model.moments([good[0], good[1][:, :4]])
    with pytest.raises(ValueError, match="one state per layer"):
        model.moments(good[:1])
    with pytest.raises(ValueError, match="same number of chains"):
        model.moments([good[0], good[1][:1]])
    probs = random_probabilities(model, 2, 0)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        model.moments([2 * probs[0] + 0.5, probs[1]])


def test_config_round_trip():
    model = build("dbm2d_open_big")
    again = BoltzmannMachine.from_config(model.config())
    assert again.theta_names == model.theta_names and again.config() == model.config()


# ----------------------------------------------------------------------------------------------
# 3. energy and moments against loops over edges
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_moments_and_energy_match_brute_force(name):
    model = build(name)
    theta = random_theta(model, 1)
    codes = random_codes(model, 5, 2)
    occ = [one_hot(c, lay.n_species) for c, lay in zip(codes, model.layers, strict=True)]
    np.testing.assert_allclose(model.moments(codes), brute_moments(name, occ), atol=1e-12)
    np.testing.assert_allclose(model.energy(codes, theta), brute_energy(name, occ, theta),
                               atol=1e-12)
    # lattice-shaped codes are accepted too
    shaped = [c.reshape((5,) + lay.shape) for c, lay in zip(codes, model.layers, strict=True)]
    np.testing.assert_array_equal(model.moments(shaped), model.moments(codes))
    # probabilities: the same sums with real values
    probs = random_probabilities(model, 4, 3)
    np.testing.assert_allclose(model.moments(probs), brute_moments(name, probs), atol=1e-12)
    # centered weight moments (paper B eq. 9); bias moments stay uncentered
    mu = np.random.default_rng(4).uniform(0.05, 0.4, len(model.species_names))
    np.testing.assert_allclose(model.moments(codes, mu), brute_moments(name, occ, mu),
                               atol=1e-12)


def test_per_chain_theta_energy():
    model = build("rbm1d_open")
    codes = random_codes(model, 3, 5)
    thetas = np.stack([random_theta(model, s) for s in range(3)])
    each = [model.energy([c[k:k + 1] for c in codes], thetas[k])[0] for k in range(3)]
    np.testing.assert_allclose(model.energy(codes, thetas), each, rtol=1e-14)


def test_mean_activations_and_sliding_centers():
    model = build("dbm2d_open_big")
    codes = random_codes(model, 6, 7)
    act = mean_activations(model, codes)
    expected = np.concatenate([one_hot(c, lay.n_species).mean(axis=1)
                               for c, lay in zip(codes, model.layers, strict=True)], axis=1)
    np.testing.assert_allclose(act, expected)
    mu = np.full(len(model.species_names), 0.33)
    np.testing.assert_allclose(slide_centers(mu, act, 0.5), 0.5 * mu + 0.5 * expected.mean(0))
    with pytest.raises(ValueError, match=r"r must lie in \[0, 1\]"):
        slide_centers(mu, act, 1.5)


# ----------------------------------------------------------------------------------------------
# 4. exact enumeration
# ----------------------------------------------------------------------------------------------


def test_enumeration_log_z_matches_loop_over_states():
    name = "rbm1d_open_small"
    model = build(name)
    theta = random_theta(model, 8)
    exact = model.exact(theta)
    radices = [lay.n_species + 1 for lay in model.layers for _ in range(lay.n_units)]
    log_w = []
    for state in itertools.product(*(range(r) for r in radices)):
        codes = [np.array([state[:4]], np.int8), np.array([state[4:]], np.int8)]
        occ = [one_hot(c, lay.n_species) for c, lay in zip(codes, model.layers, strict=True)]
        log_w.append(-brute_energy(name, occ, theta)[0])
    assert exact.log_z == pytest.approx(logsumexp(log_w), abs=1e-10)
    np.testing.assert_allclose(exact.log_weights, log_w, atol=1e-12)
    assert exact.probabilities.sum() == pytest.approx(1.0, abs=1e-12)


def test_enumeration_without_weights_factorises():
    # zero weights: units independent, P(α) = e^{a_α} / (1 + Σ_ζ e^{a_ζ})
    model = build("dbm2d_periodic")
    theta = model.theta_from_dict({"hX": 0.3, "hY": -0.7, "bX1": 0.2, "bY1": -1.1, "bX2": 0.5},
                                  default=0.0)
    exact = model.exact(theta)
    biases, _ = model.unpack_theta(theta)
    log_z = sum(lay.n_units * np.log1p(np.exp(b).sum())
                for b, lay in zip(biases, model.layers, strict=True))
    assert exact.log_z == pytest.approx(log_z, abs=1e-10)
    p = np.concatenate([np.exp(b) / (1 + np.exp(b).sum()) for b in biases])
    n = np.concatenate([np.full(lay.n_species, lay.n_units) for lay in model.layers])
    np.testing.assert_allclose(exact.expected_moments()[:5], n * p, atol=1e-12)


def test_visible_marginal_and_state_index():
    model = build("rbm3d_open")
    exact = model.exact(random_theta(model, 9))
    (vis,), pv = exact.marginal()
    assert vis.shape == (3**8, 8) and pv.sum() == pytest.approx(1.0, abs=1e-12)
    # marginal by summing the joint over the hidden unit, state by state
    for row in np.random.default_rng(0).choice(len(vis), 20, replace=False):
        rows = [exact.state_index([vis[row:row + 1], np.array([[h]])])[0] for h in range(3)]
        assert pv[row] == pytest.approx(exact.probabilities[rows].sum(), rel=1e-12)
    # state_index inverts the numbering
    rows = np.array([0, 17, 4000, len(exact.probabilities) - 1])
    np.testing.assert_array_equal(exact.state_index([s[rows] for s in exact.states]), rows)


def test_enumeration_refuses_big_models():
    with pytest.raises(ValueError, match="more than max_states"):
        build("dbm2d_periodic_big").exact(np.zeros(9))


# ----------------------------------------------------------------------------------------------
# 5. centering (paper B eqs. 7–8)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dbm2d_periodic", "rbm3d_periodic"])
def test_centered_and_uncentered_parameterisations_agree(name):
    model = build(name)
    theta_c = random_theta(model, 10)
    mu = np.random.default_rng(11).uniform(0.1, 0.5, len(model.species_names))
    theta = uncentered_from_centered(model, theta_c, mu)
    np.testing.assert_allclose(centered_from_uncentered(model, theta, mu), theta_c, atol=1e-14)
    assert not np.allclose(theta[:len(mu)], theta_c[:len(mu)])  # the shift is not trivial
    exact = model.exact(theta)
    log_w_c = -centered_energy(model, list(exact.states), theta_c, mu)
    p_c = np.exp(log_w_c - logsumexp(log_w_c))
    np.testing.assert_allclose(p_c, exact.probabilities, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p_c / exact.probabilities, 1.0, atol=1e-10)
    # with periodic connectivity every unit's exact bias is the homogeneous one
    for a, sl in zip(unit_biases_from_centered(model, theta_c, mu), model.species_slices,
                     strict=True):
        np.testing.assert_allclose(a, np.broadcast_to(theta[sl], a.shape), atol=1e-14)


def test_centering_with_open_connectivity_needs_per_unit_biases():
    name = "rbm1d_open"
    model = build(name)
    theta_c = random_theta(model, 12)
    mu = np.array([0.2, 0.3, 0.4])
    exact = model.exact(model.theta_from_dict({}, default=0.0))  # only for its states
    states = list(exact.states)
    log_w_c = -centered_energy(model, states, theta_c, mu)
    # exact: per-unit biases (border units have one connection, not q = 2)
    unit_a = unit_biases_from_centered(model, theta_c, mu)
    occ = [one_hot(s, lay.n_species) for s, lay in zip(states, model.layers, strict=True)]
    n_bias = len(mu)
    log_w = sum((o * a).sum(axis=(1, 2)) for o, a in zip(occ, unit_a, strict=True)) \
        + model.moments(states)[:, n_bias:] @ theta_c[n_bias:]
    np.testing.assert_allclose(log_w - log_w_c, (log_w - log_w_c)[0], atol=1e-12)
    # only the border units differ from eq. 8 with the nominal q
    homogeneous = uncentered_from_centered(model, theta_c, mu)
    differs = ~np.isclose(unit_a[0], homogeneous[model.species_slices[0]]).all(axis=1)
    np.testing.assert_array_equal(np.flatnonzero(differs), [0, 5])
    # so the homogeneous conversion is not exact here
    log_p_hom = np.log(model.exact(homogeneous).probabilities)
    assert np.abs(log_p_hom - (log_w_c - logsumexp(log_w_c))).max() > 0.05


# ----------------------------------------------------------------------------------------------
# 6. fully visible (b, J, K) model
# ----------------------------------------------------------------------------------------------


def test_fully_visible_moments_energy_and_enumeration():
    model = FullyVisible1DModel(7)
    v = np.random.default_rng(13).integers(0, 2, (9, 7)).astype(np.int8)
    m = np.array([[sum(r), sum(r[i] * r[i + 1] for i in range(6)),
                   sum(r[i] * r[i + 1] * r[i + 2] for i in range(5))] for r in v.tolist()])
    np.testing.assert_array_equal(model.moments(v), m)
    theta = np.array([0.3, -0.8, 0.6])
    np.testing.assert_allclose(model.energy(v, theta), -m @ theta)
    exact = model.exact(theta)
    assert exact.states[0].shape == (128, 7)
    log_w = [theta @ model.moments(np.array([s], np.int8))[0]
             for s in itertools.product((0, 1), repeat=7)]
    assert exact.log_z == pytest.approx(logsumexp(log_w), abs=1e-12)
    # probabilities (chains, N) work and reduce to the codes for 0/1 values
    np.testing.assert_array_equal(model.moments(v.astype(float)), m)
    assert model.theta_names == ("b", "J", "K")
    with pytest.raises(ValueError, match="positive integer"):
        FullyVisible1DModel(0)


def test_fully_visible_conditional_matches_enumeration():
    model = FullyVisible1DModel(6)
    theta = np.array([-0.4, 0.9, -1.2])
    exact = model.exact(theta)
    rows = np.arange(0, 64, 5)
    log_odds = model.conditional_log_odds(exact.states[0][rows], theta)
    for i in range(6):
        p = exact.conditional(0, i, rows)
        np.testing.assert_allclose(1 / (1 + np.exp(-log_odds[:, i])), p[:, 1], atol=1e-13)
