"""The learning loop: it lowers the action, windows move as the authors', resume is exact."""

import numpy as np
import pytest

from dbdlab.learn import Dynamics, ExactMoments, integrate, visible_marginal
from dbdlab.learn.estimators import ExactEstimator, LatticeCDEstimator
from dbdlab.learn.optim import FieldOptimizer
from dbdlab.learn.train import WindowSchedule, train
from dbdlab.models import FullyVisible1DModel, annihilation_rbm


def _problem(n_tp=16, dt=0.05, n_ic=2):
    model = FullyVisible1DModel(4)
    names = tuple(model.theta_names)
    dyn = Dynamics(names, names, (0.5, 0.5, 0.5), dt)
    # data: the distribution of a model whose parameters drift linearly, from two ICs
    ics = np.array([[0.2, -0.3, 0.1], [-0.4, 0.5, 0.0]])[:n_ic]
    rate = np.array([-1.0, 0.8, 0.5])
    exact = [ExactMoments(model, np.stack([visible_marginal(model, ic + rate * k * dt)
                                           for k in range(n_tp)])) for ic in ics]
    return dyn, ics, ExactEstimator(exact)


def _action(dyn, fields, ics, est, n_tp):
    trajs = [integrate(dyn, fields, ic, n_tp).timepoints for ic in ics]
    return est.action(trajs, (0, n_tp - 1), dyn.dt)


@pytest.mark.parametrize(("kind", "lr"), [("sgd", 4.0), ("adam", 0.05)])
def test_training_decreases_the_action(kind, lr):
    n_tp = 16
    dyn, ics, est = _problem(n_tp)
    fields = dyn.new_fields()
    before = _action(dyn, fields, ics, est, n_tp)
    result = train(dyn, fields, ics, est, steps=30, window=WindowSchedule(n_tp - 1, 1000),
                   n_timepoints=n_tp, optimizer=FieldOptimizer(kind, lr), progress=False)
    after = _action(dyn, result.fields, ics, est, n_tp)
    assert after < 0.5 * before, (before, after)
    # the learned right-hand side points the way the data drift: dθ/dt ≈ (−1, 0.8, 0.5)
    f = {n: result.fields[n].value(ics[:1])[0] for n in dyn.names}
    assert f["b"] < 0 and f["J"] > 0 and f["K"] > 0
    assert result.history.sizes["step"] == 30
    assert result.history.theta.dims == ("step", "ic", "lag", "param")
    np.testing.assert_allclose(result.history.theta.values[0, :, 0], ics)  # θ(0) of each IC


def test_window_schedule_of_the_authors():
    sched = WindowSchedule(length=5, shift_every=2)
    windows = [sched.window(s, 201) for s in range(1, 191)]
    assert windows[:4] == [(0, 5), (0, 5), (1, 6), (1, 6)]
    # final window [94, 99]: reproduction notes, repro-annihilation-config
    assert windows[-1] == (94, 99)
    rossler = WindowSchedule(length=10, shift_every=100)
    assert rossler.window(100, 250) == (0, 10) and rossler.window(101, 250) == (1, 11)
    assert rossler.window(10_000, 250) == (99, 109)  # final window [99, 109]
    with pytest.raises(ValueError, match="does not fit"):
        WindowSchedule(10, 1).window(1, 5)


def test_resume_from_checkpoint_equals_uninterrupted(tmp_path):
    n_tp = 12
    dyn, ics, est = _problem(n_tp)
    kwargs = dict(window=WindowSchedule(4, 2), n_timepoints=n_tp, progress=False)
    full = train(dyn, dyn.new_fields(), ics, est, steps=8,
                 optimizer=FieldOptimizer("adam", 0.05), **kwargs)
    path = tmp_path / "ckpt.nc"
    train(dyn, dyn.new_fields(), ics, est, steps=5, optimizer=FieldOptimizer("adam", 0.05),
          checkpoint=path, checkpoint_every=5, **kwargs)
    resumed = train(dyn, dyn.new_fields(), ics, est, steps=8,
                    optimizer=FieldOptimizer("adam", 0.05), checkpoint=path,
                    checkpoint_every=4, **kwargs)
    for name in dyn.learned:
        np.testing.assert_array_equal(full.fields[name].vertices, resumed.fields[name].vertices)
        np.testing.assert_array_equal(full.fields[name].coefficients,
                                      resumed.fields[name].coefficients)
    np.testing.assert_array_equal(full.history.asleep.values, resumed.history.asleep.values)
    assert list(resumed.history.step.values) == list(range(1, 9))


def test_lattice_estimator_on_simulated_lattices():
    rng = np.random.default_rng(0)
    lattices = (rng.random((2, 6, 4, 30)) < 0.4).astype(np.int8)
    model = annihilation_rbm(30)
    est = LatticeCDEstimator(model, lattices, batch=3, seed=1)
    theta = np.tile([0.1, -0.2, 0.3], (3, 1))
    awake, asleep = est(theta, np.array([1, 2, 3]), ic=1, step=7)
    assert awake.shape == asleep.shape == (3, 3)
    # awake visible moment = mean particle count of the 3 chosen lattices
    counts = lattices[1][:, 1:4].sum(axis=-1)
    assert np.all(awake[:, 0] >= counts.min(axis=0)) and np.all(awake[:, 0] <= counts.max(0))
    again = est(theta, np.array([1, 2, 3]), ic=1, step=7)
    np.testing.assert_array_equal(again[1], asleep)
    with pytest.raises(ValueError, match="batch"):
        LatticeCDEstimator(model, lattices, batch=7)


def test_bad_arguments():
    dyn, ics, est = _problem(8)
    with pytest.raises(ValueError, match="adjoint"):
        train(dyn, dyn.new_fields(), ics, est, steps=1, window=WindowSchedule(3, 1),
              n_timepoints=8, adjoint="exact", progress=False)
    with pytest.raises(ValueError, match="initial_conditions"):
        train(dyn, dyn.new_fields(), np.zeros((2, 2)), est, steps=1,
              window=WindowSchedule(3, 1), n_timepoints=8, progress=False)
    with pytest.raises(ValueError, match="lr"):
        FieldOptimizer("sgd", {"b": 1.0}).rate("J")


def test_custom_adjoint_rule_and_estimator_extras():
    """Other adjoint systems plug in as a callable that gets the estimator's extra items."""
    from dbdlab.learn import discrete_adjoint

    n_tp = 10
    dyn, ics, est = _problem(n_tp)
    seen = []

    def estimator(theta, timepoints, ic, step):
        awake, asleep = est(theta, timepoints, ic, step)
        return awake, asleep, {"ic": ic}

    def rule(dynamics, fields, traj, awake, asleep, tau, extras):
        seen.append(extras["ic"])
        return discrete_adjoint(dynamics, fields, traj, asleep - awake, tau)

    kwargs = dict(steps=3, window=WindowSchedule(4, 2), n_timepoints=n_tp, progress=False)
    custom = train(dyn, dyn.new_fields(), ics, estimator, adjoint=rule, **kwargs)
    plain = train(dyn, dyn.new_fields(), ics, est, **kwargs)
    assert seen == [0, 1] * 3
    for name in dyn.learned:
        np.testing.assert_array_equal(custom.fields[name].coefficients,
                                      plain.fields[name].coefficients)
