"""MaxEnt initial conditions: paper A eq. 46 and its inverse."""

import numpy as np
import pytest

from dbdlab.learn.maxent import zero_weight_biases, zero_weight_counts


def test_lotka_volterra_bias_is_minus_ln_14():
    biases = zero_weight_biases({"X": 100, "Y": 100}, 1600)
    assert biases["X"] == pytest.approx(-np.log(14), abs=1e-14)
    assert biases["Y"] == pytest.approx(-np.log(14), abs=1e-14)


def test_rossler_biases():
    visible = zero_weight_biases({"A": 200, "B": 200, "C": 200}, 1000)
    assert all(v == pytest.approx(-np.log(2), abs=1e-14) for v in visible.values())
    hidden = zero_weight_counts({"X1": np.log(1 / 7), "Y1": np.log(1 / 7), "Z1": np.log(1 / 7)},
                                1000)
    assert all(c == pytest.approx(100.0, abs=1e-9) for c in hidden.values())


def test_round_trip_with_unequal_counts():
    counts = {"A": 13.0, "B": 250.0, "C": 600.0}
    biases = zero_weight_biases(counts, 1000)
    assert zero_weight_counts(biases, 1000) == pytest.approx(counts, rel=1e-12)


def test_counts_stay_finite_for_large_biases():
    counts = zero_weight_counts({"A": 800.0, "B": 0.0}, 10)
    assert counts["A"] == pytest.approx(10.0) and counts["B"] < 1e-300


@pytest.mark.parametrize(
    ("counts", "match"),
    [({"A": 0}, "counts\\['A'\\] must be positive"), ({"A": 600, "B": 400}, "fills all"),
     ({}, "at least one species")],
)
def test_bad_counts(counts, match):
    with pytest.raises(ValueError, match=match):
        zero_weight_biases(counts, 1000)


def test_bad_units():
    with pytest.raises(ValueError, match="n_units"):
        zero_weight_counts({"A": 0.0}, 0)


# --- static Boltzmann-machine learning ----------------------------------------------------------

from dbdlab.learn.static import fit_boltzmann  # noqa: E402
from dbdlab.models import BoltzmannMachine, FullyVisible1DModel, Layer  # noqa: E402


def _exact_samples(exact, n, seed):
    rng = np.random.default_rng(seed)
    index = rng.choice(len(exact.probabilities), n, p=exact.probabilities)
    return [layer[index] for layer in exact.states]


def test_fit_recovers_fully_visible_parameters():
    """PCD + Adam recovers (b, J, K) from exact samples (an identifiable exponential family).

    The maximum-likelihood estimate has standard errors sqrt(diag(I⁻¹)/n) with the exact Fisher
    information I = Cov(M); the averaged PCD iterate adds noise of at most the same size (200
    chains × 500 averaged steps ≫ 20 000 data), hence the allowance 4·√2·SE.
    """
    model = FullyVisible1DModel(10)
    theta_true = np.array([-0.4, 0.8, -0.5])
    exact = model.exact(theta_true)
    n = 20_000
    data = _exact_samples(exact, n, seed=1)[0]
    se = np.sqrt(np.diag(np.linalg.inv(exact.moment_covariance())) / n)
    fit = fit_boltzmann(model, data, steps=1500, batch=200, lr=0.02, optimizer="adam",
                        sleep="pcd", n_sleep_chains=200, average_last=500, seed=3,
                        progress=False)
    theta = fit.theta_fit.values[0]
    assert np.all(np.abs(theta - theta_true) <= 4 * np.sqrt(2) * se), (theta, theta_true, se)
    # MaxEnt condition: the fitted model's moments equal the data's (up to optimisation noise)
    m_fit = model.exact(theta).expected_moments()
    m_data = model.moments(data).mean(axis=0)
    se_m = np.sqrt(np.diag(exact.moment_covariance()) / n)
    assert np.all(np.abs(m_fit - m_data) <= 4 * np.sqrt(2) * se_m)


def _tiny_rbm(periodic: bool = False):
    hidden = 6 if periodic else 5
    return BoltzmannMachine([Layer((6,), ("A",)), Layer((hidden,), ("X1",))], [("A", "X1")],
                            periodic=periodic)


@pytest.mark.parametrize("centered", [False, True])
def test_fit_rbm_matches_visible_density(centered):
    """A fitted RBM reproduces the density and the nearest-neighbour moment of its data; both
    the uncentered and the centered gradient (paper B eq. 9) get there.  Periodic connectivity,
    where centering is an exact change of variables: with open borders the nominal-q bias
    correction moves the fixed point (border units have fewer connections)."""
    model = _tiny_rbm(periodic=True)
    theta_true = model.theta_from_dict({"hA": -0.3, "bX1": 0.4, "wAX1": 1.2})
    exact = model.exact(theta_true)
    n = 4000
    visible = _exact_samples(exact, n, seed=5)[0]
    fit = fit_boltzmann(model, visible, steps=800, batch=400, lr=0.02, optimizer="adam",
                        sleep="pcd", n_sleep_chains=400, centered=centered, average_last=300,
                        seed=7, progress=False)
    theta = fit.theta_fit.values[0]
    fitted = model.exact(theta)
    density_fit = fitted.expected_moments()[0]
    density_data = visible.astype(bool).sum(axis=1).mean()
    sd = visible.astype(bool).sum(axis=1).std()
    assert abs(density_fit - density_data) <= 4 * np.sqrt(2) * sd / np.sqrt(n)
    # and the data's nearest-neighbour moment, which only the weight can produce
    vis_states, vis_p = fitted.marginal((0,))
    nn_fit = (vis_p * (vis_states[0][:, 1:] * vis_states[0][:, :-1]).sum(axis=1)).sum()
    nn = (visible[:, 1:] * visible[:, :-1]).sum(axis=1)
    assert abs(nn_fit - nn.mean()) <= 4 * np.sqrt(2) * nn.std() / np.sqrt(n)


def test_fit_groups_are_independent_and_deterministic():
    model = _tiny_rbm()
    exact = model.exact(model.theta_from_dict({"hA": -0.3, "bX1": 0.4, "wAX1": 1.2}))
    visible = _exact_samples(exact, 60, seed=2)[0]
    groups = np.repeat([0, 1, 2], 20)
    kwargs = dict(groups=groups, steps=30, batch=10, lr=1e-3, seed=4, average_last=10,
                  progress=False)
    a = fit_boltzmann(model, visible, **kwargs)
    b = fit_boltzmann(model, visible, **kwargs)
    assert a.theta_fit.dims == ("group", "param") and a.sizes["group"] == 3
    np.testing.assert_array_equal(a.theta.values, b.theta.values)
    assert not np.allclose(a.theta_fit.values[0], a.theta_fit.values[1])


def test_fit_fixed_parameters_do_not_move():
    model = _tiny_rbm()
    visible = np.random.default_rng(0).integers(0, 2, (40, 6)).astype(np.int8)
    fit = fit_boltzmann(model, visible, theta0=[0.1, 0.2, 0.3], steps=20, batch=10, lr=0.05,
                        optimizer="adam", fixed=("wAX1",), average_last=5, progress=False)
    assert np.all(fit.theta.sel(param="wAX1").values == 0.3)
    assert np.any(fit.theta.sel(param="hA").values != 0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"batch": 0}, "batch"), ({"sleep": "gibbs"}, "sleep"), ({"sleep": "pcd"}, "n_sleep_chains"),
     ({"fixed": ("nope",)}, "fixed"), ({"optimizer": "lbfgs"}, "optimizer"),
     ({"average_last": 0}, "average_last"), ({"groups": np.zeros(3)}, "groups")],
)
def test_fit_bad_input(kwargs, match):
    visible = np.zeros((20, 6), dtype=np.int8)
    with pytest.raises(ValueError, match=match):
        fit_boltzmann(_tiny_rbm(), visible, steps=5, average_last=kwargs.pop("average_last", 5),
                      progress=False, **kwargs)
