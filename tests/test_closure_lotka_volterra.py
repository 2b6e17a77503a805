"""Chapter 06 glue: eq. 14 on a time grid, error tables, chapter-05 inputs."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dbdlab.closure.decomposition import ChainStatistics, covariances
from dbdlab.closure.prediction import ClosurePrediction
from dbdlab.experiments import closure_analysis as lv
from dbdlab.models import centered_from_uncentered, lotka_volterra_dbm
from dbdlab.store import save_dataset


def test_strided_filter_keeps_the_cutoff_per_original_timestep():
    assert lv.strided_filter(1, 0.1, 209) == (0.1, 209)
    cut, n = lv.strided_filter(10, 0.1, 209)
    assert cut == pytest.approx(1.0) and n == 21
    assert lv.strided_filter(4, 0.1, None)[1] == 53  # ceil(209 / 4) = 53
    assert lv.strided_filter(5, None, None) == (None, None)
    with pytest.raises(ValueError, match="stride"):
        lv.strided_filter(40, 0.1, 209)


def synthetic_stats(n_t=12, chains=30, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n_t, chains, 2))
    x = np.stack([y[..., 0] + 0.5 * y[..., 1] + rng.normal(size=(n_t, chains)),
                  rng.normal(size=(n_t, chains))], axis=2)
    return ChainStatistics(("A", "B"), ("p", "q"), x, y)


def test_eq14_terms_combine_rates_covariances_and_references():
    stats = synthetic_stats()
    index = np.arange(0, 24, 2)
    rates = {"fd": np.random.default_rng(1).normal(size=(25, 2))}
    series = np.cumsum(np.random.default_rng(2).normal(size=(25, 2)), axis=0)
    ds = lv.eq14_terms(index, stats, rates, {"simulation": series}, 0.5, cutoff=None)
    cov = covariances(stats.x, stats.y)
    np.testing.assert_allclose(ds.terms.sel(rates="fd").values,
                               rates["fd"][index][:, None, :] * cov, atol=1e-14)
    np.testing.assert_allclose(ds["sum"].sel(rates="fd").values,
                               (rates["fd"][index][:, None, :] * cov).sum(-1), atol=1e-14)
    np.testing.assert_allclose(ds.derivative.sel(reference="simulation").values,
                               (np.diff(series, axis=0) / 0.5)[index], atol=1e-14)
    model = ds.derivative.sel(reference="model").values
    mean = stats.mean()
    np.testing.assert_allclose(model[1:-1], (mean[2:] - mean[:-2]) / 2.0, atol=1e-14)
    np.testing.assert_allclose(model[0], mean[1] - mean[0], atol=1e-14)
    np.testing.assert_allclose(ds.time.values, index * 0.5)
    assert set(ds.reference.values) == {"simulation", "model"}
    # agreement of a reference with itself
    same = lv.eq14_terms(index, stats, rates, {"simulation": series}, 0.5, cutoff=None)
    assert same.correlation.shape == (1, 2, 2)
    with pytest.raises(ValueError, match="reserved"):
        lv.eq14_terms(index, stats, rates, {"model": series}, 0.5)
    with pytest.raises(ValueError, match="rates"):
        lv.eq14_terms(index, stats, {"fd": np.ones((10, 2))}, {"simulation": series}, 0.5)
    with pytest.raises(ValueError, match="references"):
        lv.eq14_terms(index, stats, rates, {"simulation": series[:, :1]}, 0.5)


def test_eq14_terms_filter_the_covariance_series():
    stats = synthetic_stats(n_t=40)
    index = np.arange(40)
    rates = {"fd": np.ones((41, 2))}
    ds = lv.eq14_terms(index, stats, rates, {"s": np.zeros((41, 2))}, 1.0, cutoff=0.3,
                       kernel_length=11)
    from dbdlab.closure.filters import lowpass

    expected = lowpass(covariances(stats.x, stats.y), 0.3, 11, axis=0)
    np.testing.assert_allclose(ds.covariance.values, expected, atol=1e-14)
    both = lv.concat_protocols([ds, ds], ["mean_field", "binary"])
    assert both.terms.dims[0] == "protocol" and "protocol" not in both.rate.dims


def prediction(name, times, counts, nn, flags=()):
    return ClosurePrediction(name, times, ("X", "Y"), counts, ("X_X", "X_Y", "Y_Y"), nn,
                             None, flags)


def observed_means(times):
    counts = np.stack([100 + times, 50 + 0 * times], axis=1)
    nn = np.stack([times, 2 * times, 3 * times], axis=1)
    return xr.Dataset({"counts": (("time", "species"), counts),
                       "nn": (("time", "pair"), nn), "nnn": (("time", "pair"), nn)},
                      coords={"time": times, "species": ["X", "Y"],
                              "pair": ["X_X", "X_Y", "Y_Y"]})


def test_error_table_rmse_interpolation_and_blow_up():
    times = np.arange(11.0)
    obs = observed_means(times)
    exact = prediction("exact", times, obs.counts.values, obs.nn.values)
    coarse = prediction("coarse", times[::5], obs.counts.values[::5] + 2.0, obs.nn.values[::5])
    broken_counts = obs.counts.values.copy()
    broken_counts[5:] = np.nan
    broken = prediction("broken", times, broken_counts, obs.nn.values, ("blow-up",))
    table = lv.error_table({"exact": exact, "coarse": coarse, "broken": broken}, obs)
    np.testing.assert_allclose(table.rmse.sel(closure="exact").values, 0.0, atol=1e-12)
    np.testing.assert_allclose(table.rmse.sel(closure="coarse", quantity="prey X"), 2.0)
    np.testing.assert_allclose(table.rmse.sel(closure="coarse", quantity="NN(X,Y)"), 0.0,
                               atol=1e-12)
    assert np.isinf(table.rmse.sel(closure="broken", quantity="prey X"))
    assert table.flags.sel(closure="broken").item() == "blow-up"
    ds = lv.baselines_dataset({"exact": exact, "coarse": coarse}, obs)
    assert ds.counts.dims == ("closure", "time", "species")
    assert np.isnan(ds.counts.sel(closure="coarse").values[1]).all()
    np.testing.assert_allclose(ds.observed_counts.values, obs.counts.values)


def test_load_theta_converts_centered_parameters(tmp_path):
    model = lotka_volterra_dbm((4, 4))
    rng = np.random.default_rng(0)
    natural = rng.normal(size=(5, model.n_theta))
    centers = rng.uniform(0, 0.5, size=(5, len(model.species_names)))
    centered = np.stack([centered_from_uncentered(model, t, c)
                         for t, c in zip(natural, centers, strict=True)])
    ds = xr.Dataset({n: (("variant", "time"), np.stack([centered[:, k], centered[:, k]]))
                     for k, n in enumerate(model.theta_names)},
                    coords={"variant": ["raw", "lowpass"], "time": np.arange(5.0)},
                    attrs={"dt": 1.0})
    save_dataset(ds, tmp_path / "plain.nc")
    thetas, dt, _ = lv.load_theta(tmp_path / "plain.nc", model)
    assert dt == 1.0 and set(thetas) == {"raw", "lowpass"}
    np.testing.assert_allclose(thetas["raw"], centered)
    ds["centers"] = (("time", "species"), centers)
    save_dataset(ds, tmp_path / "centered.nc")
    thetas, _, _ = lv.load_theta(tmp_path / "centered.nc", model)
    np.testing.assert_allclose(thetas["lowpass"], natural, atol=1e-12)
    save_dataset(ds.drop_vars("hX"), tmp_path / "bad.nc")
    with pytest.raises(ValueError, match="hX"):
        lv.load_theta(tmp_path / "bad.nc", model)
    assert lv.load_learned_rates(tmp_path / "missing.nc", model, natural) is None


def test_heldout_seed_must_differ_from_training():
    with pytest.raises(ValueError, match="training seed"):
        lv.heldout_set(2, 5, 2019, training_seed=2019)


def test_annihilation_baselines_recover_a_mean_field_ensemble():
    from dbdlab.closure.annihilation import annihilation_mean_field

    t = np.linspace(0, 1, 11)
    n, p = 200, 0.01
    rows = []
    for rho0 in (0.3, 0.6):
        rho, paa = annihilation_mean_field(rho0, t, p, 0.1)
        rows += [(n * rho, (n - 1) * paa)] * 2  # two lattices per initial condition
    counts = np.array([r[0] for r in rows])[:, :, None]
    nn = np.array([r[1] for r in rows])[:, :, None]
    ds = xr.Dataset({"counts": (("replica", "time", "species"), counts),
                     "nn": (("replica", "time", "pair"), nn),
                     "ic": ("replica", [0, 0, 1, 1]),
                     "lattice": (("replica", "time", "x"), np.zeros((4, 11, n), np.int8))},
                    coords={"time": t, "species": ["A"], "pair": ["A_A"]})
    result = lv.annihilation_baselines(ds, p)
    np.testing.assert_allclose(result.rmse.sel(closure="mean_field").values, 0.0, atol=1e-9)
    assert result.prediction.dims == ("closure", "ic", "moment", "time")
    np.testing.assert_allclose(result.simulation.sel(moment="m1").values[:, 0], [60, 120])
