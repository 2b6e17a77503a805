"""The centered DBM estimator, its moment kernel, and the incremental forward solver."""

import numpy as np
import pytest

from dbdlab.learn import Dynamics, integrate
from dbdlab.learn.centered import CenteredDBMEstimator, centered_binary_moments
from dbdlab.learn.incremental import IncrementalIntegrator
from dbdlab.models import BoltzmannMachine, Layer, lotka_volterra_dbm
from dbdlab.sampling import random_chains

CENTERS = [0.0625, 0.0625, 0.33, 0.33, 0.33, 0.33]


def test_moment_kernel_equals_the_reference_moments():
    model = lotka_volterra_dbm((4, 6))
    chains = random_chains(model, 9, seed=4)
    mu = np.random.default_rng(0).uniform(0.0, 0.6, (9, 6))
    fast = centered_binary_moments(model, chains.layers, mu)
    slow = np.stack([model.moments([s[c:c + 1] for s in chains.layers], mu[c])[0]
                     for c in range(9)])
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def _data(side=4, runs=8, n_tp=14, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice(3, size=(runs, n_tp, side * side), p=[0.7, 0.15, 0.15]).astype(np.int8)


def _theta(n):
    th = np.zeros((n, 10))
    th[:, :2] = np.log(1 / 14) + 1.0
    th[:, 6:] = [0.3, -0.2, 0.4, 0.1]
    return th


@pytest.mark.parametrize("sleep", ["random", "persistent"])
def test_estimator_is_deterministic_and_resumes_from_its_state(sleep):
    model = lotka_volterra_dbm((4, 4))
    lat = _data()
    a = CenteredDBMEstimator(model, lat, CENTERS, batch=3, sleep=sleep, seed=7)
    b = CenteredDBMEstimator(model, lat, CENTERS, batch=3, sleep=sleep, seed=7)
    first = [a(_theta(4), np.arange(4), 0, 1), a(_theta(4), np.arange(1, 5), 0, 3)]
    for out, ref in zip([b(_theta(4), np.arange(4), 0, 1)], first[:1], strict=True):
        for x, y in zip(out, ref, strict=True):
            np.testing.assert_array_equal(x, y)
    # b resumes from a state saved after b's first call
    c = CenteredDBMEstimator(model, lat, CENTERS, batch=3, sleep=sleep, seed=7)
    c.load_state(b.state_dataset())
    for x, y in zip(c(_theta(4), np.arange(1, 5), 0, 3), first[1], strict=True):
        np.testing.assert_array_equal(x, y)


def test_centres_slide_toward_the_wake_means():
    model = lotka_volterra_dbm((4, 4))
    lat = _data()
    est = CenteredDBMEstimator(model, lat, CENTERS, batch=4, r=0.5, seed=1)
    awake, asleep, centers = est(_theta(3), np.arange(3), 0, 1)
    n_units = 16
    expected = 0.5 * np.array(CENTERS) + 0.5 * awake[:, :6] / n_units
    np.testing.assert_allclose(centers, expected, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(est.centers[:3], centers)
    # a new timepoint starts from the last one used; earlier ones go on from their own centres
    awake2, _, later = est(_theta(3), np.arange(1, 4), 0, 3)
    before = np.stack([centers[1], centers[2], centers[2]])
    np.testing.assert_allclose(later, 0.5 * before + 0.5 * awake2[:, :6] / n_units, atol=1e-14)
    assert np.all(np.isnan(est.centers[4:]))


def test_wake_phase_clamps_the_batch_visible_lattices():
    model = lotka_volterra_dbm((4, 4))
    lat = np.repeat(_data(runs=1), 6, axis=0)  # every run identical: any batch gives the data
    est = CenteredDBMEstimator(model, lat, CENTERS, batch=5, seed=2)
    awake, _, _ = est(_theta(5), np.arange(2, 7), 0, 1)
    np.testing.assert_array_equal(awake[:, 0], (lat[0, 2:7] == 1).sum(axis=1))
    np.testing.assert_array_equal(awake[:, 1], (lat[0, 2:7] == 2).sum(axis=1))


def test_persistent_and_random_sleep_differ_only_in_the_sleep_phase():
    model = lotka_volterra_dbm((4, 4))
    lat = _data()
    outs = {}
    for sleep in ("random", "persistent"):
        # one sweep: with common random numbers, many sweeps make chains coalesce on 4×4
        est = CenteredDBMEstimator(model, lat, CENTERS, batch=3, sleep=sleep, sleep_sweeps=1,
                                   seed=5)
        est(_theta(4), np.arange(4), 0, 1)
        outs[sleep] = est(_theta(4), np.arange(4), 0, 2)
    np.testing.assert_array_equal(outs["random"][0], outs["persistent"][0])
    assert not np.array_equal(outs["random"][1], outs["persistent"][1])


def _tiny():
    """Three periodic layers of 2 units (729 joint states), LV species and weights."""
    return BoltzmannMachine(
        [Layer((2,), ("X", "Y")), Layer((2,), ("X1", "Y1")), Layer((2,), ("X2", "Y2"))],
        [("X", "X1"), ("Y", "Y1"), ("X1", "X2"), ("Y1", "Y2")], periodic=True)


def test_sleep_moments_match_exact_enumeration():
    """Random-start sleep chains (20 sweeps) sample the model: centered moments, |z| ≤ 4."""
    model = _tiny()
    theta = np.array([-0.5, -0.8, 0.2, -0.3, 0.1, 0.0, 0.6, -0.4, 0.5, 0.3])
    exact = model.exact(theta)
    lat = np.zeros((4, 1, 2), dtype=np.int8)
    est = CenteredDBMEstimator(model, lat, [0.3] * 6, batch=4, sleep_sweeps=20, seed=11)
    diffs = []
    for step in range(1, 601):
        _, asleep, centers = est(theta[None, :], np.array([0]), 0, step)
        expected = exact.probabilities @ model.moments(exact.states, centers[0])
        diffs.append(asleep[0] - expected)
    diffs = np.array(diffs)
    z = diffs.mean(axis=0) / (diffs.std(axis=0, ddof=1) / np.sqrt(len(diffs)))
    assert np.all(np.abs(z) <= 4), z


@pytest.mark.parametrize("substeps, key_bits", [(1, 62), (3, 62), (1, 0)])
def test_incremental_integration_is_bit_identical(monkeypatch, substeps, key_bits):
    # key_bits 0: the row-comparison fallback for index ranges beyond int64 keys
    from dbdlab.learn import incremental

    monkeypatch.setattr(incremental, "_MAX_KEY_BITS", key_bits)
    names = tuple("abcd")
    dyn = Dynamics(names, ("a", "b", "c"), (0.1, 0.1, 0.1), 1.0, substeps=substeps)
    theta0 = np.array([0.01, -0.02, 0.03, 0.0])
    fields = dyn.new_fields(theta0[:3] - 0.05)
    rng = np.random.default_rng(3)
    box = theta0[:3] + rng.uniform(-0.3, 0.3, (200, 3))
    for f in fields.values():
        support = f.accumulate(box, np.ones(len(box))).vertices
        f.set_coefficients(support, rng.normal(0.0, 0.02, (len(support), f.n_types)))
    inc = IncrementalIntegrator()
    for step in range(12):
        n_tp = 20 + step
        got = inc(dyn, fields, theta0, n_tp)
        np.testing.assert_array_equal(got.theta, integrate(dyn, fields, theta0, n_tp).theta)
        if step == 0:
            assert inc.recomputed == (n_tp - 1) * substeps
        # an update around the end of the trajectory, like a window's gradient step
        window = got.timepoints[-11:, :3]
        for f in fields.values():
            f.add(f.accumulate(window, rng.normal(size=11)), 1e-3)
        if step == 6:  # and once near the start: everything must be recomputed
            fields["a"].add(fields["a"].accumulate(theta0[None, :3], [1.0]), 1e-2)
    again = inc(dyn, fields, theta0, 31)
    assert inc.recomputed < 30 * substeps
    np.testing.assert_array_equal(again.theta, integrate(dyn, fields, theta0, 31).theta)


def test_bad_input():
    model = lotka_volterra_dbm((4, 4))
    lat = _data()
    with pytest.raises(ValueError, match="lattices"):
        CenteredDBMEstimator(model, lat[..., :5], CENTERS)
    with pytest.raises(ValueError, match="batch"):
        CenteredDBMEstimator(model, lat, CENTERS, batch=9)
    with pytest.raises(ValueError, match="sleep"):
        CenteredDBMEstimator(model, lat, CENTERS, sleep="pcd")
    with pytest.raises(ValueError, match="centers"):
        CenteredDBMEstimator(model, lat, CENTERS[:4])
    est = CenteredDBMEstimator(model, lat, CENTERS)
    with pytest.raises(ValueError, match="timepoints"):
        est(_theta(2), np.array([13, 14]), 0, 1)


def test_changed_rows_finds_edits_new_rows_and_nan():
    from dbdlab.learn.incremental import _changed_rows

    old = np.arange(12.0).reshape(4, 3)
    now = np.vstack([old, np.zeros((2, 3)), [[0.0, 0.0, 1e-300]]])
    assert _changed_rows(now, old).tolist() == [6]  # new rows count only if nonzero
    now[1, 2] = -now[1, 2]
    now[3, 0] = np.nan
    assert _changed_rows(now, old).tolist() == [1, 3, 6]
    np.testing.assert_array_equal(
        _changed_rows(now, old),
        np.flatnonzero(np.concatenate([np.any(now[:4] != old, axis=1),
                                       np.any(now[4:] != 0.0, axis=1)])))
