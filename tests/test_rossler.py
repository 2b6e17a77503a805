"""The Rössler experiment (paper A §IV.B): gradients, samplers and glue against exact answers.

The 10×10×10 model cannot be enumerated (4^2000 states), so exact checks use tiny models with
the same ingredients — multinomial visible {A, B, C} and hidden {X1, Y1, Z1} units,
species-diagonal weights A–X1, B–Y1, C–Z1, the nine θ names, the domain (hA, hB, hC), Q3 C1
cells of 0.1 in the authors' convention, Δt = 0.01 with 10 substeps — on lattices small enough
to enumerate.  The samplers of the 3D model itself are checked against the NumPy reference path
and against exact distributions computed through its transition matrix on tiny lattices.
"""

import math

import numpy as np
import pytest

from dbdlab.experiments import rossler as R
from dbdlab.learn import Dynamics, ExactMoments, discrete_adjoint, integrate, visible_marginal
from dbdlab.models import BoltzmannMachine, Layer, rossler_rbm
from dbdlab.sampling import hidden_probabilities
from dbdlab.sampling.rbm_moments import rbm_moments, rbm_moments_reference

NAMES = ("hA", "hB", "hC", "bX1", "bY1", "bZ1", "wAX1", "wBY1", "wCZ1")


def tiny_rossler(n_sites: int = 3) -> BoltzmannMachine:
    """The Rössler RBM on a periodic ring: ``n_sites`` visible and hidden units, ``q = 2``."""
    return BoltzmannMachine(
        [Layer((n_sites,), ("A", "B", "C")), Layer((n_sites,), ("X1", "Y1", "Z1"))],
        [("A", "X1"), ("B", "Y1"), ("C", "Z1")], periodic=True)


def _visible_states(model):
    """Every visible state of a tiny model, in the order of :func:`visible_marginal`."""
    exact = model.exact(np.zeros(model.n_theta))
    v = np.ascontiguousarray(exact.states[0])
    keys = v.view(np.dtype((np.void, v.dtype.itemsize * v.shape[1])))[:, 0]
    _, first = np.unique(keys, return_index=True)
    return v[first]


# --------------------------------------------------------------------------- gradient


def _truth(t):
    """A smooth 'true' parameter trajectory that generates the data distributions."""
    return np.array([-0.69 + 0.8 * t, -0.69 - 0.5 * t, -0.69 + 0.3 * np.sin(6 * t),
                     -1.95 + 0.4 * t, -1.95, -1.95 - 0.3 * t,
                     0.5 * t, -0.4 * t, 0.3 * np.cos(5 * t)])


def _gradient_setup(seed: int):
    model = tiny_rossler(3)
    assert model.theta_names == NAMES
    config = R.RosslerConfig(shape=(10, 10, 10))
    dyn = Dynamics(NAMES, R.DOMAIN, (config.cell_size,) * 3, config.dt,
                   substeps=config.substeps, reference_scaling=True)
    theta0 = R.initial_theta(rossler_rbm())
    fields = R.new_fields(dyn, theta0)
    rng = np.random.default_rng(seed)
    box = theta0[:3] + rng.uniform(-0.3, 0.3, (300, 3))
    for f in fields.values():
        support = f.accumulate(box, np.ones(len(box))).vertices
        f.set_coefficients(support, rng.normal(0.0, 2.0, (len(support), f.n_types)))
    n_tp = 9
    data = np.stack([visible_marginal(model, _truth(k * dyn.dt * 5)) for k in range(n_tp)])
    return model, dyn, fields, theta0, ExactMoments(model, data), data


def _action(dyn, fields, theta0, exact, window):
    traj = integrate(dyn, fields, theta0, window[1] + 1).timepoints
    return sum(dyn.dt * exact.kl(traj[k], k) for k in range(window[0], window[1] + 1))


def test_adjoint_gradient_of_the_rossler_architecture_matches_finite_differences():
    """Discrete adjoint (10 substeps, all nine F on (hA, hB, hC)) vs central differences.

    The data moments use the experiment's hidden-probability moments ``M(v, p(h|v))``
    (:func:`rbm_moments`) averaged over the exact data distribution, the model moments exact
    enumeration; the action ``S = Σ_k Δt D_KL`` is computed by enumeration as well.
    """
    model, dyn, fields, theta0, exact, data = _gradient_setup(seed=3)
    window = (3, 8)
    states = _visible_states(model)
    traj = integrate(dyn, fields, theta0, window[1] + 1)
    delta = []
    for k in range(window[0], window[1] + 1):
        theta = traj.timepoints[k]
        awake = data[k] @ rbm_moments(model, theta, states)
        asleep = model.exact(theta).expected_moments()
        np.testing.assert_allclose(awake, exact.moments(theta, k)[0], rtol=1e-12, atol=1e-12)
        delta.append(asleep - awake)
    result = discrete_adjoint(dyn, fields, traj, np.array(delta), window[0])
    checked = 0
    for name, grad in result.gradients.items():
        for flat in np.argsort(-np.abs(grad.values).ravel())[:2]:
            row, typ = np.unravel_index(flat, grad.values.shape)
            vertex = grad.vertices[row:row + 1]
            base = fields[name].get_coefficients(vertex)
            eps = 1e-4 * max(1.0, abs(base[0, typ]))
            values = []
            for sign in (1, -1):
                bumped = base.copy()
                bumped[0, typ] += sign * eps
                fields[name].set_coefficients(vertex, bumped)
                values.append(_action(dyn, fields, theta0, exact, window))
            fields[name].set_coefficients(vertex, base)
            fd = (values[0] - values[1]) / (2 * eps)
            adj = grad.values[row, typ]
            assert abs(adj - fd) <= 1e-5 * abs(fd), (name, typ, adj, fd)
            checked += 1
    assert checked == 18


def test_numba_forward_euler_is_bit_identical_to_the_loop():
    _, dyn, fields, theta0, _, _ = _gradient_setup(seed=5)
    fast = integrate(dyn, fields, theta0, 12)
    slow = integrate(dyn, fields, theta0, 12, reference=True)
    assert fast.theta.shape == (111, 9)
    np.testing.assert_array_equal(fast.theta, slow.theta)
    assert np.ptp(fast.theta[:, :3], axis=0).min() > 1e-3  # the fields really move θ


def test_forward_euler_reports_a_trajectory_that_leaves_the_grid():
    dyn = Dynamics(("a",), ("a",), (0.1,), 1.0)
    fields = dyn.new_fields()
    fields["a"].set_coefficients(np.array([[0], [1]]), np.array([[1e308, 0.0], [1e308, 0.0]]))
    with pytest.raises(ValueError, match="left the grid"):
        integrate(dyn, fields, [0.05], 4)


# --------------------------------------------------------------------------- moments


def test_rbm_moments_equal_the_reference_path_on_the_3d_model():
    model = rossler_rbm()
    rng = np.random.default_rng(0)
    v = rng.integers(0, 4, size=(7, 1000)).astype(np.int8)
    theta = rng.normal(0.0, 1.0, size=(7, 9))
    fast = rbm_moments(model, theta, v)
    ref = rbm_moments_reference(model, theta, v)
    np.testing.assert_allclose(fast, ref, rtol=1e-13, atol=1e-10)
    np.testing.assert_array_equal(fast[:, :3], [[(row == k).sum() for k in (1, 2, 3)]
                                                for row in v])


def test_rbm_moments_are_the_exact_conditional_expectations():
    """``M(v, p(h|v)) = E[M(v, h) | v]`` by enumeration, for every visible state (open 3D cube)."""
    model = R.open_rossler_rbm((2, 2, 2))
    theta = np.array([-0.4, 0.3, -0.2, -1.0, 0.5, 0.1, 0.9, -0.7, 1.3])
    exact = model.exact(theta)
    rng = np.random.default_rng(1)
    picks = rng.choice(len(exact.probabilities), 40, replace=False)
    v = exact.states[0][picks]
    # condition on v: all joint states with this visible part
    for vis, got in zip(v, rbm_moments(model, theta, v), strict=True):
        same = np.all(exact.states[0] == vis, axis=1)
        w = exact.probabilities[same] / exact.probabilities[same].sum()
        np.testing.assert_allclose(got, w @ exact.moments[same], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- samplers


def test_reference_start_probabilities_follow_the_unnormalised_walk():
    """The authors' start: uniform per-species 'probabilities' walked without normalising."""
    p = R.reference_start_probabilities(3)
    np.testing.assert_allclose(p, [1 / 24, 1 / 2, 1 / 3, 1 / 8], rtol=1e-15)
    rng = np.random.default_rng(7)
    n = 400_000
    u = rng.uniform(size=(n, 3))
    r = rng.uniform(size=n)
    passed = (r[:, None] >= np.cumsum(u, axis=1)).sum(axis=1)  # species walked past
    code = np.where(passed == 3, 0, passed + 1)
    freq = np.bincount(code, minlength=4) / n
    z = (freq - p) / np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(z) < 4), z
    assert np.isclose(R.reference_start_probabilities(1).sum(), 1.0)
    assert math.isclose(R.reference_start_probabilities(2)[0], 1 / 6)


def test_sleep_start_distribution_of_the_3d_model():
    """Random chains of the estimator start with the authors' state probabilities."""
    model = rossler_rbm()
    est = R.RosslerEstimator(model, np.zeros((1, 11, 1000), np.int8), 1, 1, "reference", 3)
    from dbdlab.sampling import random_chains

    chains = random_chains(model, 60, 3, probabilities=est.start_probabilities(),
                           backend="numpy")
    codes = np.asarray(chains.layers[0]).ravel()
    n = codes.size
    p = R.reference_start_probabilities()
    freq = np.bincount(codes, minlength=4) / n
    z = (freq - p) / np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(z) < 4), z


def _exact_after_sweeps(model, theta, start, sweeps):
    """Exact law of the visible state after ``sweeps`` reconstructions from ``start``."""
    states = _visible_states(model)
    exact = model.exact(theta)
    # index of every joint state's visible and hidden part
    vkey = {tuple(s): i for i, s in enumerate(states)}
    vi = np.array([vkey[tuple(s)] for s in exact.states[0]])
    hstates, hi = np.unique(exact.states[1], axis=0, return_inverse=True)
    joint = np.zeros((len(states), len(hstates)))
    np.add.at(joint, (vi, hi.ravel()), exact.probabilities)
    h_given_v = joint / joint.sum(axis=1, keepdims=True)
    v_given_h = (joint / joint.sum(axis=0, keepdims=True)).T
    transition = h_given_v @ v_given_h
    law = np.array([np.prod(start[s]) for s in states])
    for _ in range(sweeps):
        law = law @ transition
    return states, law


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_sleep_phase_matches_the_exact_law_after_ten_reconstructions(backend):
    """Sleep chains (random start, 10 reconstructions, p(h|v)) vs the exact transition law."""
    model = tiny_rossler(2)
    theta = np.array([0.3, -0.5, 0.1, -0.2, 0.4, -0.8, 1.5, -1.2, 2.0])
    start = R.reference_start_probabilities()
    states, law = _exact_after_sweeps(model, theta, start, 10)
    per_state = rbm_moments(model, theta, states)
    expected = law @ per_state
    var = law @ (per_state - expected) ** 2
    est = R.RosslerEstimator(model, np.zeros((1, 11, 2), np.int8), 1, 10, "reference", 11,
                             backend=backend)
    n = 20_000
    v = est.sleep(theta[None, :], n, 0)
    got = est.mean_moments(theta[None, :], v)[0]
    z = (got - expected) / np.sqrt(var / n)
    assert np.all(np.abs(z) < 4), z
    # the start matters after 10 sweeps here (strong weights): not yet the stationary law
    stationary = model.exact(theta).expected_moments()
    assert np.max(np.abs(expected - stationary) / np.sqrt(var / n)) > 4


def test_estimator_numba_and_numpy_paths_agree_on_the_3d_model():
    model = rossler_rbm()
    rng = np.random.default_rng(2)
    lattices = rng.integers(0, 4, size=(6, 13, 1000)).astype(np.int8)
    theta = R.initial_theta(model) + rng.normal(0.0, 0.2, size=(11, 9))
    a = R.RosslerEstimator(model, lattices, 3, 2, "reference", 5, backend="numba")
    b = R.RosslerEstimator(model, lattices, 3, 2, "reference", 5, backend="numpy", fast=False)
    for x, y in zip(a(theta, np.arange(2, 13), 0, 7), b(theta, np.arange(2, 13), 0, 7),
                    strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_sample_states_returns_hidden_probabilities_of_the_samples():
    model = tiny_rossler(4)
    theta = np.array([[0.2, -0.1, 0.3, -0.5, 0.0, 0.4, 0.8, -0.6, 0.5]] * 2)
    v, p = R.sample_states(model, theta, 5, 3, seed=1, hidden=True)
    assert v.shape == (2, 5, 4) and p.shape == (2, 5, 4, 3)
    np.testing.assert_allclose(p[1, 2], np.asarray(hidden_probabilities(model, theta[1],
                                                                        v[1, 2][None]))[0])


# --------------------------------------------------------------------------- configuration


def test_initial_condition_is_the_zero_weight_maxent_state():
    theta = R.initial_theta(rossler_rbm())
    d = dict(zip(NAMES, theta, strict=True))
    for s in "ABC":
        assert math.isclose(d[f"h{s}"], -math.log(2), rel_tol=1e-12)
    for s in ("X1", "Y1", "Z1"):
        assert math.isclose(d[f"b{s}"], math.log(1 / 7), rel_tol=1e-12)
    assert all(d[w] == 0 for w in ("wAX1", "wBY1", "wCZ1"))


def test_zero_weight_trajectory_inverts_eq_46():
    from dbdlab.learn.maxent import zero_weight_counts

    model = rossler_rbm()
    counts = np.array([[200.0, 200.0, 200.0], [350.0, 120.0, 90.0], [60.0, 500.0, 300.0]])
    theta = R.zero_weight_theta(model, counts)
    for row, target in zip(theta, counts, strict=True):
        back = zero_weight_counts({s: row[NAMES.index(f"h{s}")] for s in "ABC"}, 1000)
        np.testing.assert_allclose([back[s] for s in "ABC"], target, rtol=1e-12)
        assert np.all(row[6:] == 0)


def test_zero_weight_moments_match_independent_lattices():
    """Baseline NN pair counts vs iid lattices at the same densities (z-scores)."""
    rng = np.random.default_rng(4)
    counts = np.array([[300.0, 150.0, 250.0]])
    rho = np.concatenate([[1 - counts.sum() / 1000], counts[0] / 1000])
    codes = rng.choice(4, p=rho, size=(4000, 1000)).astype(np.int8)
    got = R.visible_moments(codes, (10, 10, 10))
    base = R.zero_weight_moments(counts, (10, 10, 10))
    assert R._n_bonds((10, 10, 10)) == 2700
    for key in ("counts", "nn"):
        mean, sd = got[key].mean(axis=0), got[key].std(axis=0) / np.sqrt(len(codes))
        z = (mean - base[key][0]) / sd
        assert np.all(np.abs(z) < 4), (key, z)


def test_configuration_and_schedule_of_the_paper():
    config = R.RosslerConfig()
    dyn = R.make_dynamics(config)
    assert dyn.substeps == 10 and dyn.dt == 0.01 and dyn.domain == R.DOMAIN
    rates = R.learning_rates(config, dyn)
    assert rates["hA"] == rates["bZ1"] == 0.8 and rates["wBY1"] == 0.05
    from dbdlab.learn import WindowSchedule

    sched = WindowSchedule(config.window, config.shift_every)
    assert sched.window(100, 250) == (0, 10) and sched.window(101, 250) == (1, 11)
    assert sched.window(config.steps, 250) == (99, 109)
    full = WindowSchedule(config.window, 41)
    assert full.window(config.steps, 250) == (239, 249)
    fields = R.new_fields(dyn, R.initial_theta(rossler_rbm()))
    centre = fields["hA"].origin + 0.05
    np.testing.assert_allclose(centre, [-math.log(2)] * 3)
    attrs = config.to_attrs()
    assert attrs["config_batch"] == 5 and attrs["config_periodic"] == 1


def test_open_model_has_the_cube_connectivity_without_wrap():
    model = R.open_rossler_rbm((4, 4, 4))
    assert model.layers[1].shape == (3, 3, 3)
    assert model.theta_names == NAMES


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"batch": 0}, "batch"), ({"sleep_start": "data"}, "sleep_start"),
    ({"adjoint": "exact"}, "adjoint"), ({"adjoint": "discrete", "reference_bug": True},
                                        "reference_bug"),
    ({"lr_bias": -1.0}, "lr_bias"), ({"n_timepoints": 5}, "n_timepoints"),
])
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        R.RosslerConfig(**kwargs)


def test_bad_estimator_input():
    model = rossler_rbm()
    with pytest.raises(ValueError, match="lattices"):
        R.RosslerEstimator(model, np.zeros((3, 5, 999), np.int8))
    with pytest.raises(ValueError, match="batch"):
        R.RosslerEstimator(model, np.zeros((3, 5, 1000), np.int8), batch=4)
    with pytest.raises(ValueError, match="mean_counts"):
        R.zero_weight_theta(model, np.zeros(3))
    with pytest.raises(ValueError, match="visible"):
        rbm_moments(model, np.zeros(9), np.zeros((2, 10), np.int8))


# --------------------------------------------------------------------------- training


def _tiny_training(tmp_path, steps, name="ck"):
    rng = np.random.default_rng(8)
    lattices = rng.integers(0, 4, size=(4, 14, 64)).astype(np.int8)
    config = R.RosslerConfig(shape=(4, 4, 4), steps=steps, batch=2, window=3, shift_every=2,
                             sleep_sweeps=2, n_timepoints=14, seed=9)
    return R.train_rossler(config, lattices, checkpoint=tmp_path / f"{name}.nc",
                           checkpoint_every=3, progress=False)


def test_training_resumes_bit_identically(tmp_path):
    full = _tiny_training(tmp_path, 6, "full")
    _tiny_training(tmp_path, 3, "part")
    resumed = _tiny_training(tmp_path, 6, "part")
    for name in NAMES:
        np.testing.assert_array_equal(full.fields[name].coefficients,
                                      resumed.fields[name].coefficients)
    np.testing.assert_array_equal(full.history.theta.values, resumed.history.theta.values)
    assert full.history.attrs["config_batch"] == 2
    assert int(full.history.tau[-1]) == 2
    assert np.any(full.fields["wAX1"].coefficients != 0)
