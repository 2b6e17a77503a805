"""Eq. 14 of paper B: covariances and channels against exact enumeration of a tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from dbdlab.closure.decomposition import (
    Observable,
    SamplingProtocol,
    agreement,
    channel_terms,
    count_observable,
    covariances,
    finite_difference_rates,
    lattice_observable,
    learned_rates,
    natural_parameters,
    nn_observable,
    nnn_observable,
    sample_statistics,
    smoothed_derivative,
)
from dbdlab.closure.filters import frequency_response, lowpass_kernel
from dbdlab.learn import Dynamics
from dbdlab.models import BoltzmannMachine, centered_from_uncentered, lotka_volterra_dbm
from dbdlab.models.moments import layer_occupations
from dbdlab.sampling import mean_field_steps, random_chains

# An LV-like RBM small enough to enumerate: 2×2 periodic visible {X, Y}, 2×2 hidden {X1, Y1}
# (6561 joint states); θ = (hX, hY, bX1, bY1, wXX1, wYY1).
THETA = np.array([-0.4, 0.2, 0.3, -0.5, 0.7, -0.6])


def tiny_model() -> BoltzmannMachine:
    return BoltzmannMachine([((2, 2), ("X", "Y")), ((2, 2), ("X1", "Y1"))],
                            [("X", "X1"), ("Y", "Y1")], periodic=True)


def observables(model):
    return [count_observable(model, "X"), nn_observable(model, "X", "X"),
            nn_observable(model, "X", "Y"),
            lattice_observable(model, "Y corner", lambda s: s[:, 0, 0, 1])]


def exact_values(model, theta, obs, final):
    """Exact ⟨X⟩, Cov(X, Y_θ) of per-chain statistics under the protocol's final step."""
    exact = model.exact(theta)
    layers = [s.copy() for s in exact.states]
    if final == "mean_field":
        chains = random_chains(model, len(exact.probabilities), 0, backend="numpy")
        chains.layers = layers
        mean_field_steps(model, theta, chains, 1, parallel=True)
        layers = chains.layers
    occ = layer_occupations(model, layers)
    x = np.stack([o(occ) for o in obs], axis=1)
    y = np.asarray(model.moments(layers))
    p = exact.probabilities
    mx, my = p @ x, p @ y
    return mx, np.einsum("s,so,sp->op", p, x - mx, y - my)


@pytest.mark.parametrize("final", ["binary", "mean_field"])
def test_sampled_covariances_match_exact_enumeration(final):
    model = tiny_model()
    obs = observables(model)
    n = 4000
    protocol = SamplingProtocol(n_chains=n, sweeps=25, final=final, seed=11, backend="numpy")
    stats = sample_statistics(model, THETA[None, :], obs, protocol, progress=False)
    assert stats.x.shape == (1, n, len(obs)) and stats.y.shape == (1, n, model.n_theta)
    mean_exact, cov_exact = exact_values(model, THETA, obs, final)
    # standard errors from the sample itself
    x, y = stats.x[0], stats.y[0]
    se_mean = x.std(axis=0) / np.sqrt(n)
    z_mean = (stats.mean()[0] - mean_exact) / se_mean
    assert np.max(np.abs(z_mean)) <= 4, z_mean
    prod = (x - x.mean(0))[:, :, None] * (y - y.mean(0))[:, None, :]
    se_cov = prod.std(axis=0) / np.sqrt(n)
    cov = stats.covariance()[0]
    informative = se_cov > 1e-12
    z = (cov - cov_exact)[informative] / se_cov[informative]
    assert np.max(np.abs(z)) <= 4, z
    # entries with no variability must agree exactly
    np.testing.assert_allclose(cov[~informative], cov_exact[~informative], atol=1e-12)


def test_mean_field_final_step_differs_from_binary_covariances():
    """The original protocol measures E[X|rest]-type statistics, not the model covariance."""
    model = tiny_model()
    obs = observables(model)
    _, binary = exact_values(model, THETA, obs, "binary")
    _, mean_field = exact_values(model, THETA, obs, "mean_field")
    assert np.max(np.abs(binary - mean_field)) > 0.05


def test_eq14_sum_of_exact_channels_is_the_exact_derivative():
    model = tiny_model()
    obs = observables(model)
    velocity = np.array([0.3, -0.2, 0.5, 0.1, -0.4, 0.25])  # F_θ along a straight θ(t)
    h = 1e-4
    plus, _ = exact_values(model, THETA + h * velocity, obs, "binary")
    minus, _ = exact_values(model, THETA - h * velocity, obs, "binary")
    derivative = (plus - minus) / (2 * h)
    _, cov = exact_values(model, THETA, obs, "binary")
    terms = channel_terms(velocity[None, :], cov[None])
    assert terms.shape == (1, len(obs), model.n_theta)
    np.testing.assert_allclose(terms.sum(axis=-1)[0], derivative, rtol=1e-6, atol=1e-8)


def test_covariances_are_population_covariances():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 50, 2))
    y = rng.normal(size=(4, 50, 3)) + x[:, :, :1]
    cov = covariances(x, y)
    for t in range(4):
        full = np.cov(np.concatenate([x[t], y[t]], axis=1).T, bias=True)
        np.testing.assert_allclose(cov[t], full[:2, 2:], atol=1e-12)
    with pytest.raises(ValueError, match="chains"):
        covariances(x, y[:, :10])


def test_sampling_is_independent_of_batching():
    model = tiny_model()
    thetas = np.stack([THETA, THETA * 0.5, -THETA])
    obs = observables(model)[:2]
    a = sample_statistics(model, thetas, obs, SamplingProtocol(20, 3, seed=5, batch=1,
                                                               backend="numpy"), progress=False)
    b = sample_statistics(model, thetas, obs, SamplingProtocol(20, 3, seed=5, batch=3,
                                                               backend="numpy"), progress=False)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)


def test_observables_on_the_lv_lattice():
    model = lotka_volterra_dbm((6, 6))
    codes = np.zeros((1, 36), dtype=np.int8)
    codes[0, [0, 1, 7]] = 1  # prey at (0,0), (0,1), (1,1)
    codes[0, [2, 13]] = 2  # hunters at (0,2), (2,1)
    occ = layer_occupations(model, [codes, np.zeros((1, 36), np.int8),
                                    np.zeros((1, 36), np.int8)])
    assert count_observable(model, "X")(occ)[0] == 3
    assert nn_observable(model, "X", "X")(occ)[0] == 2  # (0,0)-(0,1), (0,1)-(1,1)
    assert nn_observable(model, "X", "Y")(occ)[0] == 2  # (0,1)-(0,2), (1,1)-(2,1)
    # NNN reference directions (0,2), (1,1), (2,0): (0,0)-(0,2) and (0,0)-(1,1)... X–Y only
    assert nnn_observable(model, "X", "Y")(occ)[0] == 2  # (0,0)-(0,2), (0,1)-(2,1)
    with pytest.raises(ValueError, match="layer 1"):
        count_observable(model, "X1")
    bad = Observable("bad", lambda occ: np.zeros(3))
    with pytest.raises(ValueError, match="one value per chain"):
        bad(occ)


def test_natural_parameters_undo_centering():
    model = tiny_model()
    centers = np.array([0.1, 0.2, 0.3, 0.4])
    thetas = np.stack([THETA, 2 * THETA])
    centered = np.stack([centered_from_uncentered(model, t, centers) for t in thetas])
    np.testing.assert_allclose(natural_parameters(model, centered, np.stack([centers] * 2)),
                               thetas, atol=1e-14)
    np.testing.assert_array_equal(natural_parameters(model, thetas), thetas)
    with pytest.raises(ValueError, match="centers"):
        natural_parameters(model, centered, np.ones((3, 4)))


def test_finite_difference_rates_and_smoothed_derivative():
    t = np.arange(300.0)
    theta = np.stack([0.01 * t, -0.02 * t + 1.0], axis=1)
    raw = finite_difference_rates(theta, 1.0, cutoff=None)
    np.testing.assert_allclose(raw, np.tile([0.01, -0.02], (299, 1)), atol=1e-14)
    smooth = finite_difference_rates(theta, 2.0, kernel_length=51)
    # a symmetric kernel preserves straight lines away from the (edge-padded) ends
    np.testing.assert_allclose(smooth[30:-30], np.tile([0.005, -0.01], (239, 1)), atol=1e-12)
    d = smoothed_derivative(np.sin(0.02 * t), 1.0, kernel_length=51)
    assert d.shape == (299,)
    # interior: the filter scales the sinusoid by H(ω) (no phase shift), then differences it
    gain = frequency_response(lowpass_kernel(0.1, 51), 0.02)
    expected = gain * np.diff(np.sin(0.02 * t))
    np.testing.assert_allclose(d[30:-30], expected[30:-30], atol=1e-12)


def test_learned_rates_evaluate_the_fields_and_leave_other_parameters_zero():
    dynamics = Dynamics(("a", "b", "c"), ("a",), (0.1,), 1.0, learned=("a", "c"))
    fields = dynamics.new_fields([-0.05])
    # vertex 0 at x = -0.05, vertex 1 at 0.05: F_a = 2 on both (constant), F_c = value 1 at x=0.05
    fields["a"].set_coefficients([[0], [1]], [[2.0, 0.0], [2.0, 0.0]])
    fields["c"].set_coefficients([[1]], [[1.0, 0.0]])
    theta = np.array([[-0.05, 7.0, 0.0], [0.05, 7.0, 0.0]])
    rates = learned_rates(dynamics, fields, theta)
    np.testing.assert_allclose(rates, [[2.0, 0.0, 0.0], [2.0, 0.0, 1.0]], atol=1e-12)


def test_agreement_metrics():
    x = np.sin(np.linspace(0, 6, 100))
    result = agreement(2 * x, x)
    assert result["correlation"] == pytest.approx(1.0)
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean(x**2)))
    with pytest.raises(ValueError):
        agreement(x, x[:5])


def test_protocol_validation():
    with pytest.raises(ValueError, match="final"):
        SamplingProtocol(final="exact")
    with pytest.raises(ValueError, match="n_chains"):
        SamplingProtocol(n_chains=1)
    with pytest.raises(TypeError, match="sweeps"):
        SamplingProtocol(sweeps=2.5)
    model = tiny_model()
    with pytest.raises(ValueError, match="thetas"):
        sample_statistics(model, THETA, observables(model))


@pytest.mark.parametrize("shape", [(6, 6), (4, 6)])
def test_numba_mean_field_kernel_matches_the_numpy_path(shape):
    from dbdlab.closure._mean_field_kernel import mean_field_statistics

    model = lotka_volterra_dbm(shape)
    rng = np.random.default_rng(4)
    theta = rng.normal(scale=0.8, size=(7, model.n_theta))
    chains = random_chains(model, 7, 2, backend="numpy")
    from dbdlab.sampling import gibbs_sweeps

    gibbs_sweeps(model, theta, chains, 2)
    probs, moments = mean_field_statistics(model, theta, [s.copy() for s in chains.layers])
    mean_field_steps(model, theta, chains, 1, parallel=True)
    for p, ref in zip(probs, chains.layers, strict=True):
        np.testing.assert_allclose(p, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moments, model.moments(chains.layers), rtol=1e-12)


def test_open_connectivity_kernel_and_backends_agree():
    model = BoltzmannMachine([((6,), ("A", "B")), ((5,), ("X1",))], [("A", "X1"), ("B", "X1")],
                             periodic=False)
    obs = [lattice_observable(model, "A sites", lambda s: s[..., 0].sum(axis=1))]
    theta = np.array([[0.2, -0.3, 0.1, 0.8, -0.6], [0.0, 0.4, -0.2, -0.5, 0.9]])
    a = sample_statistics(model, theta, obs, SamplingProtocol(30, 4, seed=3, backend="numpy"),
                          progress=False)
    b = sample_statistics(model, theta, obs, SamplingProtocol(30, 4, seed=3, backend="numba"),
                          progress=False)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.y, b.y, rtol=1e-12, atol=1e-14)


def test_learned_rates_along_an_euler_trajectory_are_its_forward_differences():
    from dbdlab.learn import integrate

    dynamics = Dynamics(("a", "b"), ("a", "b"), (0.1, 0.1), 1.0)
    fields = dynamics.new_fields([-0.05, -0.05])
    rng = np.random.default_rng(0)
    vertices = [[i, j] for i in range(-2, 3) for j in range(-2, 3)]
    for f in fields.values():
        f.set_coefficients(vertices, 0.01 * rng.normal(size=(len(vertices), 4)))
    traj = integrate(dynamics, fields, [0.0, 0.0], 20).timepoints
    rates = learned_rates(dynamics, fields, traj)
    np.testing.assert_allclose(rates[:-1], finite_difference_rates(traj, 1.0, cutoff=None),
                               atol=1e-15)
