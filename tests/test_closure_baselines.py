"""Classical closures of the lattice Lotka–Volterra system, each against a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from dbdlab.closure.mean_field import LatticeLotkaVolterra, mean_field, mean_field_rhs
from dbdlab.closure.moment_closure import (
    CLOSURES,
    MomentNetwork,
    closure_third_moments,
    lotka_volterra_network,
    moment_closure,
    solve_moments,
)
from dbdlab.closure.pair_approximation import initial_pairs, pair_approximation, pair_rhs
from dbdlab.closure.prediction import physical_flags, rmse
from dbdlab.simulate import networks

# -- mean field (paper B eq. 2) ------------------------------------------------------------------


def test_rates_from_the_simulated_network():
    system = LatticeLotkaVolterra.from_network(networks.lotka_volterra(), (40, 40), 1.0)
    assert (system.k1, system.k2, system.p) == (0.025, 0.06, 0.4)
    assert system.z == 4 and system.n_sites == 1600
    assert system.bond_rate == pytest.approx(0.2)  # 2 p h / z
    assert system.k3 == pytest.approx(0.8)  # eq. 2 for densities
    with pytest.raises(ValueError, match="Lotka"):
        LatticeLotkaVolterra.from_network(networks.annihilation(), (40, 40), 1.0)


def test_mean_field_conserves_the_lotka_volterra_invariant():
    system = LatticeLotkaVolterra()
    t = np.linspace(0, 500, 501)
    pred = mean_field(system, (100, 100), t)
    x, y = pred.counts.T / system.n_sites
    # V = k3 x − k2 ln x + k3 y − k1 ln y is constant along solutions of eq. 2
    v = system.k3 * x - system.k2 * np.log(x) + system.k3 * y - system.k1 * np.log(y)
    np.testing.assert_allclose(v, v[0], rtol=1e-6)
    # fixed point (k2/k3, k1/k3) is stationary
    fixed = np.array([system.k2, system.k1]) / system.k3
    np.testing.assert_allclose(mean_field_rhs(fixed, system), 0.0, atol=1e-15)
    # uncorrelated pairs
    np.testing.assert_allclose(pred.nn[:, 1], 4 * 1600 * x * y, rtol=1e-12)
    assert pred.flags == ()


# -- pair approximation --------------------------------------------------------------------------


def test_pair_approximation_is_exact_for_the_1d_si_process_where_mean_field_is_not():
    # full ring (no empty sites), no birth/death: every prey–hunter bond reacts at rate p h
    system = LatticeLotkaVolterra(0.0, 0.0, 0.4, (2000,), 1.0)
    t = np.linspace(0, 15, 31)
    rho_x0, rho_y0 = 0.7, 0.3
    n = (rho_x0 * 2000, rho_y0 * 2000)
    exact = rho_x0 * np.exp(-2 * system.p * system.hop_rate * rho_y0 * t)
    pair = pair_approximation(system, n, t, exact_placement=False)
    mf = mean_field(system, n, t)
    np.testing.assert_allclose(pair.counts[:, 0] / 2000, exact, rtol=1e-6)
    # the exact prey–prey conditional probability stays ρ_X(0): NN(X,X) = N ρ_X(0) ρ_X(t)
    np.testing.assert_allclose(pair.nn[:, 0] / 2000, rho_x0 * exact, rtol=1e-6)
    mf_error = np.max(np.abs(mf.counts[:, 0] / 2000 - exact))
    assert mf_error > 0.1


def test_without_predation_both_approximations_keep_an_uncorrelated_state():
    system = LatticeLotkaVolterra(0.0, 0.06, 0.0, (40, 40), 1.0)
    t = np.linspace(0, 50, 11)
    pair = pair_approximation(system, (300, 400), t, exact_placement=False)
    rho_y = 400 / 1600 * np.exp(-0.06 * t)
    np.testing.assert_allclose(pair.counts[:, 1] / 1600, rho_y, rtol=1e-7)
    np.testing.assert_allclose(pair.counts[:, 0], 300, rtol=1e-9)
    np.testing.assert_allclose(pair.nn[:, 2], 2 * 1600 * rho_y**2, rtol=1e-6)
    mf = mean_field(system, (300, 400), t)
    np.testing.assert_allclose(pair.nn, mf.nn, rtol=1e-6)


def test_pair_equations_conserve_probability_and_symmetry():
    system = LatticeLotkaVolterra()
    P = initial_pairs((100, 100), 1600)
    assert P.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(P, P.T)
    # exact placement: P_XX = n(n−1)/(N(N−1))
    assert P[1, 1] == pytest.approx(100 * 99 / (1600 * 1599))
    rng = np.random.default_rng(0)
    A = rng.random((3, 3))
    A = (A + A.T) / (A + A.T).sum()
    dP = pair_rhs(A, system)
    assert dP.sum() == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(dP, dP.T, atol=1e-14)
    # the singlet equations implied by the pairs: dρ_X/dt = k1 ρ_X − 2 p h P_XY
    rho = A.sum(axis=1)
    assert dP.sum(axis=1)[1] == pytest.approx(system.k1 * rho[1] - system.k3 * A[1, 2])
    assert dP.sum(axis=1)[2] == pytest.approx(system.k3 * A[1, 2] - system.k2 * rho[2])


# -- well-mixed moment closures ------------------------------------------------------------------


def linear_network(k_conv=0.3, k_death=0.1, k_birth=0.05):
    """X → Y (k_conv), Y → ∅ (k_death), X → 2X (k_birth): first-order only."""
    return MomentNetwork(("X", "Y"), np.array([[-1.0, 1.0], [0.0, -1.0], [1.0, 0.0]]),
                         np.zeros(3), np.array([[k_conv, 0.0], [0.0, k_death], [k_birth, 0.0]]))


@pytest.mark.parametrize("closure", CLOSURES)
def test_linear_network_moments_are_exact_for_every_closure(closure):
    k_conv, k_death = 0.3, 0.1
    t = np.linspace(0, 20, 41)
    sol = solve_moments(linear_network(k_conv, k_death, 0.0), [50.0, 0.0], np.zeros((2, 2)), t,
                        closure)
    # each of the 50 molecules independently: still X, turned into a living Y, or gone
    px = np.exp(-k_conv * t)
    py = k_conv / (k_death - k_conv) * (np.exp(-k_conv * t) - np.exp(-k_death * t))
    np.testing.assert_allclose(sol.mean, 50 * np.stack([px, py], axis=1), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sol.covariance[:, 0, 0], 50 * px * (1 - px), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(sol.covariance[:, 1, 1], 50 * py * (1 - py), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(sol.covariance[:, 0, 1], -50 * px * py, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("closure", CLOSURES)
def test_yule_process_moments_are_exact(closure):
    k = 0.2
    t = np.linspace(0, 10, 21)
    sol = solve_moments(linear_network(0.0, 0.0, k), [3.0, 0.0], np.zeros((2, 2)), t, closure)
    growth = np.exp(k * t)
    np.testing.assert_allclose(sol.mean[:, 0], 3 * growth, rtol=1e-6)
    np.testing.assert_allclose(sol.covariance[:, 0, 0], 3 * growth * (growth - 1), rtol=1e-6,
                               atol=1e-8)


def test_closure_third_moments_match_their_distributions():
    # independent Poisson counts: E[n³] = μ³ + 3μ² + μ, E[n_1² n_2] = (μ_1² + μ_1) μ_2
    mu = np.array([2.0, 5.0])
    raw2 = np.diag(mu) + np.outer(mu, mu)
    poisson = closure_third_moments("poisson", mu, raw2)
    assert poisson[0, 0, 0] == pytest.approx(mu[0] ** 3 + 3 * mu[0] ** 2 + mu[0])
    assert poisson[0, 0, 1] == pytest.approx((mu[0] ** 2 + mu[0]) * mu[1])
    # normal: E[n³] = μ³ + 3 μ σ²
    normal = closure_third_moments("normal", mu, raw2)
    assert normal[1, 1, 1] == pytest.approx(mu[1] ** 3 + 3 * mu[1] * mu[1])
    # log-normal: analytic moments of exp(G), G ~ N(m, S)
    m = np.array([0.3, -0.2])
    S = np.array([[0.4, 0.1], [0.1, 0.2]])
    mean = np.exp(m + np.diag(S) / 2)
    second = np.exp(m[:, None] + m[None, :] + (np.diag(S)[:, None] + np.diag(S)[None, :]
                                               + 2 * S) / 2)
    third = closure_third_moments("lognormal", mean, second)
    for i, j, k in [(0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1)]:
        e = np.zeros(2)
        for a in (i, j, k):
            e[a] += 1
        assert third[i, j, k] == pytest.approx(np.exp(e @ m + e @ S @ e / 2), rel=1e-12)
    with pytest.raises(ValueError, match="closure"):
        closure_third_moments("gamma", mu, raw2)


def test_lotka_volterra_network_and_nn_from_moments():
    system = LatticeLotkaVolterra()
    net = lotka_volterra_network(system)
    assert not net.is_linear
    # mean of the predation propensity for fixed counts = bond rate × expected X–Y bonds
    n = 1600
    expected_bonds = 4 * n * 100 * 100 / (n * (n - 1))
    propensity = 100 * 100 * 2 * net.quadratic[2, 0, 1]
    assert propensity == pytest.approx(system.bond_rate * expected_bonds)
    pred = moment_closure(system, (100, 100), np.array([0.0, 1.0]), "normal")
    assert pred.nn[0, 1] == pytest.approx(expected_bonds)
    assert pred.nn[0, 0] == pytest.approx(2 * n * 100 * 99 / (n * (n - 1)))
    np.testing.assert_allclose(pred.variances[0], 0.0, atol=1e-9)
    assert pred.flags == ()


def test_lotka_volterra_moment_closures_report_blow_up_instead_of_hiding_it():
    system = LatticeLotkaVolterra()
    t = np.arange(500.0)
    normal = moment_closure(system, (100, 100), t, "normal")
    assert any("blow-up" in f or "non-finite" in f or "negative" in f for f in normal.flags)
    assert np.isnan(normal.counts[-1]).all()


def test_physical_flags_and_rmse():
    counts = np.array([[10.0, 5.0], [-1.0, 5.0]])
    nn = np.zeros((2, 3))
    flags = physical_flags(counts, nn, 100, variances=np.array([[1.0, -2.0], [1.0, 1.0]]))
    assert any("negative counts" in f for f in flags)
    assert any("negative variances" in f for f in flags)
    assert physical_flags(np.array([[1e5, 0.0]]), nn[:1], 100) == [
        "blow-up: |count| exceeds 10·N"]
    assert physical_flags(np.array([[np.nan, 0.0]]), nn[:1], 100)[0].startswith("non-finite")
    np.testing.assert_allclose(rmse(np.array([1.0, 3.0]), np.array([0.0, 0.0])), np.sqrt(5))
    assert rmse(np.array([np.nan, 1.0]), np.zeros(2)) == np.inf


def test_bad_inputs():
    with pytest.raises(ValueError, match="p must"):
        LatticeLotkaVolterra(p=1.5)
    with pytest.raises(ValueError, match="shape"):
        LatticeLotkaVolterra(shape=(40, 2))
    with pytest.raises(TypeError, match="k1"):
        LatticeLotkaVolterra(k1="fast")
    system = LatticeLotkaVolterra()
    with pytest.raises(ValueError, match="initial counts"):
        mean_field(system, (2000, 0), [0.0, 1.0])
    with pytest.raises(ValueError, match="times"):
        pair_approximation(system, (100, 100), [1.0, 0.0])
    with pytest.raises(ValueError, match="closure"):
        moment_closure(system, (100, 100), [0.0, 1.0], "gamma")
