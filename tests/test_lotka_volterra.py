"""The LV experiment glue: configuration, observables, evaluation sampling, resumable training."""

import numpy as np
import pytest

from dbdlab.experiments import lotka_volterra as lv
from dbdlab.learn import WindowSchedule
from dbdlab.models import lotka_volterra_dbm


def test_configuration_is_the_authors():
    config = lv.LVConfig()
    model = lv.model_for(config)
    theta0 = lv.initial_theta(model, config)
    assert model.theta_names == ("hX", "hY", "bX1", "bY1", "bX2", "bY2", "wXX1", "wYY1",
                                 "wX1X2", "wY1Y2")
    np.testing.assert_allclose(theta0[:2], np.log(1 / 14))
    assert not theta0[2:].any()
    np.testing.assert_array_equal(lv.initial_centers(model, config),
                                  [0.0625, 0.0625, 0.33, 0.33, 0.33, 0.33])
    dyn = lv.make_dynamics(model, config)
    assert dyn.domain == lv.DOMAIN and dyn.learned == model.theta_names
    assert dyn.new_fields()["hX"].n_types == 64
    # window [τ, τ + 10] moved every 2 steps from step 3; 980 steps end at timepoint 499
    schedule = WindowSchedule(config.window_length, config.shift_every)
    assert [schedule.window(s, 500)[0] for s in (1, 2, 3, 4, 5)] == [0, 0, 1, 1, 2]
    assert schedule.window(config.steps, 500) == (489, 499)
    # MaxEnt: with zero weights each site is X with probability e^h / (1 + 2 e^h) = 1/16
    h = theta0[0]
    assert np.exp(h) / (1 + 2 * np.exp(h)) * 1600 == pytest.approx(100.0)


def test_observables_on_hand_made_lattices():
    side = 6
    lat = np.zeros((1, 1, side, side), dtype=np.int8)
    lat[0, 0, 0, 0] = 1  # X
    lat[0, 0, 0, 1] = 1  # X: one X–X bond
    lat[0, 0, 1, 2] = 2  # Y at (1, 1) from (0, 1): distance two along the diagonal
    lat[0, 0, 1, side - 1] = 2  # Y at (1, −1) from (0, 0) (wrapped): the anti-diagonal
    obs = lv.simulation_observables(lat.reshape(1, 1, -1), side)[0]
    prey, nn_xx, nnn_full, nnn_ref = obs
    assert prey == 2 and nn_xx == 1
    # pairs at distance two: (0,0)-(1,5) anti-diagonal; (0,1)-(1,2) diagonal;
    # (0,1)-(1,0)? no Y there; (0,0)-(0,2)? no; so full = 2, the code's set misses (1,-1)
    assert nnn_full == 2 and nnn_ref == 1


def test_sample_observables_of_an_independent_model_are_exact():
    """Zero weights: the visible probabilities after the mean-field step are e^h/(1+2e^h)."""
    model = lotka_volterra_dbm((6, 6))
    theta = np.zeros((2, 10))
    theta[:, 0] = [-1.0, 0.5]  # hX
    theta[:, 1] = -0.3  # hY
    obs = lv.sample_observables(model, theta, n_chains=3, sweeps=2, seed=1, progress=False)
    p_x = np.exp(theta[:, 0]) / (1 + np.exp(theta[:, 0]) + np.exp(theta[:, 1]))
    p_y = np.exp(theta[:, 1]) / (1 + np.exp(theta[:, 0]) + np.exp(theta[:, 1]))
    np.testing.assert_allclose(obs[:, 0], 36 * p_x, rtol=1e-12)
    np.testing.assert_allclose(obs[:, 1], 2 * 36 * p_x**2, rtol=1e-12)
    np.testing.assert_allclose(obs[:, 2], 4 * 2 * 36 * p_x * p_y, rtol=1e-12)
    np.testing.assert_allclose(obs[:, 3], 3 * 2 * 36 * p_x * p_y, rtol=1e-12)


def test_relative_rmse():
    sim = np.array([[10.0, 1.0], [30.0, 3.0]])
    model = sim + np.array([[2.0, 0.0], [-2.0, 0.0]])
    np.testing.assert_allclose(lv.relative_rmse(model, sim), [2.0 / 20.0, 0.0])


def test_theta_dataset_contract():
    names = lv.model_for(lv.LVConfig(side=4)).theta_names
    raw = np.arange(50.0).reshape(5, 10)
    ds = lv.theta_dataset(names, raw, raw + 1, 1.0, lv.LVConfig(side=4), {"cutoff": 0.1})
    assert set(ds.data_vars) == set(names)
    assert ds["wXX1"].dims == ("variant", "time")
    assert list(ds.variant.values) == ["raw", "lowpass"]
    np.testing.assert_array_equal(ds.time.values, np.arange(5.0))
    assert ds.attrs["model"] == "lotka_volterra_dbm" and ds.attrs["lattice_side"] == 4
    assert ds.attrs["dt"] == 1.0 and ds.attrs["filter_cutoff"] == 0.1
    np.testing.assert_array_equal(ds["hY"].sel(variant="lowpass").values, raw[:, 1] + 1)


def _tiny_data(side=6, runs=6, n_tp=16, seed=3):
    rng = np.random.default_rng(seed)
    return rng.choice(3, size=(runs, n_tp, side * side), p=[0.8, 0.1, 0.1]).astype(np.int8)


@pytest.mark.parametrize("sleep", ["random", "persistent"])
def test_training_resumes_bit_identically(tmp_path, sleep):
    lat = _tiny_data()
    config = lv.LVConfig(side=6, steps=6, sleep=sleep, learning_rate=1e-3, batch=3,
                         wake_sweeps=2, sleep_sweeps=2)
    full = lv.train_lv(lat, config, progress=False)
    path = tmp_path / "ckpt.nc"
    partial = lv.LVConfig(**{**config.__dict__, "steps": 4})
    lv.train_lv(lat, partial, checkpoint=path, checkpoint_every=2, progress=False)
    resumed = lv.train_lv(lat, config, checkpoint=path, checkpoint_every=2, progress=False)
    for name in full.fields:
        np.testing.assert_array_equal(full.fields[name].coefficients,
                                      resumed.fields[name].coefficients)
    np.testing.assert_array_equal(full.centers, resumed.centers)
    np.testing.assert_array_equal(full.history.theta.values, resumed.history.theta.values)
    assert np.abs(full.fields["hX"].coefficients).max() > 0  # it learned something


def test_bad_input():
    with pytest.raises(ValueError, match="sweeps"):
        lv.sample_observables(lotka_volterra_dbm((4, 4)), np.zeros(10), 2, 0)
    lat = _tiny_data(side=4)
    with pytest.raises(ValueError, match="lattices"):
        lv.train_lv(lat, lv.LVConfig(side=6, steps=1))
