"""Chapter 06: eq. 14 for the trained Lotka–Volterra DBM, and closures against held-out data.

* :func:`heldout_set` — Lotka–Volterra runs with the training settings and a seed not used in
  training; :func:`simulated_means` — their mean counts and pair moments.
* :func:`classical_predictions` — mean field, pair approximation and the three moment closures
  from the same initial counts; :func:`dbd_prediction` — the learned DBD sampled along its
  parameter trajectory; :func:`error_table` — RMSE over time against the held-out means.
* :func:`eq14_samples` and :func:`eq14_terms` — the channels of paper B eq. 14 on a strided time
  grid, with ``F_θ`` from any number of sources (finite differences of the low-pass θ(t), the
  learned finite elements) and references (the simulations' and the model's own derivative).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ..closure.decomposition import (
    ChainStatistics,
    Observable,
    SamplingProtocol,
    agreement,
    channel_terms,
    count_observable,
    nn_observable,
    sample_statistics,
    smoothed_derivative,
)
from ..closure.filters import DEFAULT_CUTOFF, default_kernel_length, lowpass
from ..closure.mean_field import PAIRS, SPECIES, LatticeLotkaVolterra, mean_field
from ..closure.moment_closure import CLOSURES, moment_closure
from ..closure.pair_approximation import pair_approximation
from ..closure.prediction import ClosurePrediction, physical_flags, rmse

__all__ = [
    "QUANTITIES",
    "annihilation_baselines",
    "baselines_dataset",
    "classical_predictions",
    "concat_protocols",
    "dbd_prediction",
    "eq14_samples",
    "eq14_terms",
    "error_table",
    "heldout_set",
    "load_learned_rates",
    "load_theta",
    "simulated_means",
    "strided_filter",
]

#: Quantities compared in the error table: (label, variable, index).
QUANTITIES = (("prey X", "counts", 0), ("hunter Y", "counts", 1), ("NN(X,X)", "nn", 0),
              ("NN(X,Y)", "nn", 1), ("NN(Y,Y)", "nn", 2))


def heldout_set(runs: int, steps: int, seed: int, *, training_seed: int | None = None,
                backend: str | None = None, progress: bool | None = None) -> xr.Dataset:
    """Held-out Lotka–Volterra runs: the training set's settings with another seed.

    Counts and pair moments only (no lattices); extinct runs are replaced as in the training
    set (:func:`dbdlab.experiments.datasets.lotka_volterra_set`).
    """
    from .datasets import lotka_volterra_set

    if training_seed is not None and int(seed) == int(training_seed):
        raise ValueError(f"the held-out seed {seed} is the training seed; choose another")
    return lotka_volterra_set(runs, steps, seed, store_lattices=False, backend=backend,
                              progress=progress)


def simulated_means(ds: xr.Dataset) -> xr.Dataset:
    """Replica means of ``counts``, ``nn`` and ``nnn`` of a simulation dataset."""
    return ds[["counts", "nn", "nnn"]].astype(float).mean("replica")


def classical_predictions(system: LatticeLotkaVolterra, initial_counts: Sequence[float],
                          times: Sequence[float]) -> dict[str, ClosurePrediction]:
    """Mean field, pair approximation and the normal/Poisson/log-normal moment closures."""
    out = {"mean_field": mean_field(system, initial_counts, times),
           "pair": pair_approximation(system, initial_counts, times)}
    for closure in CLOSURES:
        out[closure] = moment_closure(system, initial_counts, times, closure)
    return out


def dbd_prediction(model, thetas: np.ndarray, times: np.ndarray,
                   protocol: SamplingProtocol, *, progress: bool | None = None,
                   method: str = "learned DBD") -> tuple[ClosurePrediction, ChainStatistics]:
    """Means of the counts and NN pair counts of the model sampled at each θ(t).

    ``thetas`` are natural (uncentered) parameters ``(T, n_theta)`` at ``times``.
    """
    species = model.layers[0].species
    if tuple(species) != SPECIES:
        raise ValueError(f"the visible species must be {SPECIES}, got {species}")
    obs = [count_observable(model, s) for s in SPECIES]
    obs += [nn_observable(model, *p.split("_")) for p in PAIRS]
    stats = sample_statistics(model, thetas, obs, protocol, progress=progress)
    mean = stats.mean()
    counts, nn = mean[:, :2], mean[:, 2:]
    flags = physical_flags(counts, nn, model.layers[0].n_units)
    return ClosurePrediction(method, np.asarray(times, dtype=float), SPECIES, counts, PAIRS,
                             nn, None, tuple(flags)), stats


def error_table(predictions: Mapping[str, ClosurePrediction], heldout: xr.Dataset,
                times: np.ndarray | None = None) -> xr.Dataset:
    """RMSE over time of each prediction against held-out means (:func:`simulated_means`).

    Every prediction is compared at ``times`` (default: the held-out times); predictions are
    interpolated linearly where their own time grid differs.  Non-finite predictions (blow-up)
    give ``inf``.
    """
    t = heldout.time.values if times is None else np.asarray(times, dtype=float)
    observed = heldout.sel(time=t)
    methods = list(predictions)
    table = np.empty((len(methods), len(QUANTITIES)))
    for i, name in enumerate(methods):
        pred = predictions[name]
        for j, (_, var, k) in enumerate(QUANTITIES):
            values = getattr(pred, var)[:, k]
            on_grid = values if np.array_equal(pred.time, t) else np.interp(t, pred.time, values)
            table[i, j] = rmse(on_grid, observed[var].values[:, k])
    return xr.Dataset(
        {"rmse": (("closure", "quantity"), table),
         "flags": (("closure",), np.array(["; ".join(predictions[m].flags) for m in methods],
                                          dtype=object))},
        coords={"closure": methods, "quantity": [q[0] for q in QUANTITIES]})


def strided_filter(stride: int, cutoff: float | None,
                   kernel_length: int | None) -> tuple[float | None, int | None]:
    """Cutoff and kernel length that filter a series sampled every ``stride`` timepoints like
    the original filter does at full resolution (same cutoff in rad per original sample)."""
    if cutoff is None:
        return None, None
    if stride == 1:
        return cutoff, kernel_length
    c = cutoff * stride
    if c >= math.pi:
        raise ValueError(f"stride {stride} is too coarse for the cutoff {cutoff} rad/sample "
                         f"(the strided cutoff {c:.3g} must stay below π)")
    n = default_kernel_length(cutoff) if kernel_length is None else kernel_length
    n = max(1, math.ceil(n / stride))
    return c, n if n % 2 == 1 else n + 1


def eq14_samples(model, theta: np.ndarray, observables: Sequence[Observable],
                 protocol: SamplingProtocol, stride: int = 1, *,
                 progress: bool | None = None) -> tuple[np.ndarray, ChainStatistics]:
    """Sample the chains of eq. 14 at timepoints ``0, stride, 2·stride, … ≤ T − 2``.

    ``theta`` are the natural parameters the original analysis sampled (the low-pass θ(t)),
    ``(T, n_theta)``.  Returns the timepoint indices and the per-chain statistics.
    """
    theta = np.asarray(theta, dtype=float)
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    index = np.arange(0, theta.shape[0] - 1, stride)
    return index, sample_statistics(model, theta[index], observables, protocol,
                                    progress=progress)


def eq14_terms(index: np.ndarray, stats: ChainStatistics, rates: Mapping[str, np.ndarray],
               references: Mapping[str, np.ndarray], dt: float, *,
               cutoff: float | None = DEFAULT_CUTOFF,
               kernel_length: int | None = None) -> xr.Dataset:
    """Channels, their sums and agreement with reference derivatives (paper B eq. 14, Fig. 3).

    Parameters
    ----------
    index
        Timepoint indices of the samples (from :func:`eq14_samples`).
    stats
        Per-chain statistics at those timepoints.
    rates
        ``F_θ`` per source, each ``(≥ max(index) + 1, n_theta)`` at every timepoint (e.g.
        :func:`~dbdlab.closure.decomposition.finite_difference_rates`).
    references
        Reference moments per name, ``(T, n_observables)`` at every timepoint (e.g. the
        simulated means); their smoothed forward differences are the reference derivatives.
        The name ``"model"`` is reserved for the sampled model mean, added automatically
        (filtered on the sampled grid and differentiated by central differences there).
    dt
        Time between timepoints.
    cutoff, kernel_length
        The low-pass filter applied (as in the original analysis) to the covariance series and
        to the reference moments before differencing; ``cutoff=None`` filters nothing.
    """
    index = np.asarray(index)
    stride = int(index[1] - index[0]) if index.size > 1 else 1
    if index.size > 1 and np.any(np.diff(index) != stride):
        raise ValueError("index must be evenly spaced")
    if "model" in references:
        raise ValueError("the reference name 'model' is reserved for the sampled model mean")
    n_obs, n_theta = len(stats.observables), len(stats.theta_names)
    if index.shape != (stats.x.shape[0],):
        raise ValueError(f"index must give the {stats.x.shape[0]} sampled timepoints")
    for name, r in rates.items():
        if np.ndim(r) != 2 or np.shape(r)[0] <= index.max() or np.shape(r)[1] != n_theta:
            raise ValueError(f"rates[{name!r}] must have shape (> {index.max()}, {n_theta}), "
                             f"got {np.shape(r)}")
    for name, r in references.items():
        if np.ndim(r) != 2 or np.shape(r)[0] <= index.max() + 1 or np.shape(r)[1] != n_obs:
            raise ValueError(f"references[{name!r}] must have shape (> {index.max() + 1}, "
                             f"{n_obs}), got {np.shape(r)}")
    s_cut, s_len = strided_filter(stride, cutoff, kernel_length)
    cov_raw = stats.covariance()
    cov = cov_raw if s_cut is None else lowpass(cov_raw, s_cut, s_len, axis=0)
    sources = list(rates)
    terms = np.stack([channel_terms(np.asarray(rates[s])[index], cov) for s in sources])
    sums = terms.sum(axis=-1)
    derivs = {}
    for name, series in references.items():
        d = smoothed_derivative(np.asarray(series, dtype=float), dt, cutoff=cutoff,
                                kernel_length=kernel_length)
        derivs[name] = d[index]
    # the model's own mean is only sampled on the strided grid: filter it there and take
    # central differences (one-sided at the ends), which are centred on the sampled timepoints
    model_mean = stats.mean()
    smooth = model_mean if s_cut is None else lowpass(model_mean, s_cut, s_len, axis=0)
    derivs["model"] = (np.gradient(smooth, dt * stride, axis=0) if len(index) > 1
                       else np.full_like(smooth, np.nan))
    ref_names = list(derivs)
    corr = np.full((len(sources), len(ref_names), len(stats.observables)), np.nan)
    err = np.full_like(corr, np.nan)
    for i in range(len(sources)):
        for j, r in enumerate(ref_names):
            for k in range(len(stats.observables)):
                a = agreement(sums[i, :, k], derivs[r][:, k])
                corr[i, j, k], err[i, j, k] = a["correlation"], a["rmse"]
    ref_rms = np.array([[np.sqrt(np.nanmean(derivs[r][:, k] ** 2))
                         for k in range(len(stats.observables))] for r in ref_names])
    coords = {"time": index * dt, "timepoint": ("time", index),
              "observable": list(stats.observables), "parameter": list(stats.theta_names),
              "rates": sources, "reference": ref_names}
    return xr.Dataset(
        {
            "covariance": (("time", "observable", "parameter"), cov),
            "covariance_raw": (("time", "observable", "parameter"), cov_raw),
            "rate": (("rates", "time", "parameter"),
                     np.stack([np.asarray(rates[s])[index] for s in sources])),
            "terms": (("rates", "time", "observable", "parameter"), terms),
            "sum": (("rates", "time", "observable"), sums),
            "derivative": (("reference", "time", "observable"),
                           np.stack([derivs[r] for r in ref_names])),
            "model_mean": (("time", "observable"), model_mean),
            "correlation": (("rates", "reference", "observable"), corr),
            "rmse": (("rates", "reference", "observable"), err),
            "reference_rms": (("reference", "observable"), ref_rms),
        },
        coords=coords,
        attrs={"dt": float(dt), "stride": stride,
               "cutoff": -1.0 if cutoff is None else float(cutoff),
               "kernel_length": -1 if cutoff is None else int(
                   default_kernel_length(cutoff) if kernel_length is None else kernel_length)},
    )


def load_theta(path, model) -> tuple[dict[str, np.ndarray], float, dict]:
    """θ(t) of chapter 05 (``theta.nc``) as natural parameters per variant.

    The file holds one variable per parameter name with dims ``(variant, time)`` and the
    attribute ``dt``.  When it also holds centres ``centers(variant, time, species)`` (or
    ``centers(time, species)``), the parameters are taken as centered ones and converted with
    paper B eq. 8 (:func:`~dbdlab.closure.decomposition.natural_parameters`).

    Returns
    -------
    thetas
        ``{variant: (T, n_theta)}`` natural parameters.
    dt
        Time between timepoints.
    attrs
        The file's attributes.
    """
    from ..closure.decomposition import natural_parameters
    from ..store import load_dataset

    ds = load_dataset(path)
    missing = [n for n in model.theta_names if n not in ds]
    if missing:
        raise ValueError(f"{path}: no variable for parameter(s) {missing}")
    if "dt" not in ds.attrs:
        raise ValueError(f"{path}: attribute 'dt' is missing")
    out = {}
    for variant in ds.variant.values:
        theta = np.stack([ds[n].sel(variant=variant).values for n in model.theta_names], axis=1)
        centers = None
        if "centers" in ds:
            c = ds["centers"]
            c = c.sel(variant=variant) if "variant" in c.dims else c
            centers = c.transpose("time", ...).values
        out[str(variant)] = natural_parameters(model, theta, centers)
    return out, float(ds.attrs["dt"]), dict(ds.attrs)


def load_learned_rates(path, model, theta: np.ndarray) -> np.ndarray | None:
    """``F_θ`` of chapter 05's learned finite elements (``rhs.nc``) along ``theta``.

    The dynamics (domain, cell sizes, learned names) are read from the attribute ``dynamics``
    or from the attributes ``names``, ``domain``, ``learned``, ``cell_sizes``, ``dt`` (as
    :meth:`dbdlab.learn.Dynamics.to_attrs` writes them) when present, else the paper's: domain
    ``(hX, hY, wXX1, wYY1, wX1X2, wY1Y2)``, cells 0.1, every parameter with a stored field
    learned.  Returns ``None`` when the file is missing.
    """
    import json
    from pathlib import Path

    from ..closure.decomposition import learned_rates
    from ..learn import Dynamics, fields_from_dataset
    from ..store import load_dataset

    if not Path(path).exists():
        return None
    ds = load_dataset(path)
    spec = ds.attrs.get("dynamics")
    if spec is None and {"names", "domain", "learned", "cell_sizes", "dt"} <= set(ds.attrs):
        spec = {k: ds.attrs[k] for k in ("names", "domain", "learned", "cell_sizes", "dt",
                                         "substeps", "reference_scaling") if k in ds.attrs}
    if spec is not None:
        spec = json.loads(spec) if isinstance(spec, str) else spec
        dynamics = Dynamics(tuple(spec["names"]), tuple(spec["domain"]),
                            tuple(spec["cell_sizes"]), float(spec["dt"]),
                            tuple(spec["learned"]), int(spec.get("substeps", 1)),
                            bool(spec.get("reference_scaling", 0)))
    else:
        learned = tuple(n for n in model.theta_names if f"{n}__coefficients" in ds)
        domain = ("hX", "hY", "wXX1", "wYY1", "wX1X2", "wY1Y2")
        dynamics = Dynamics(tuple(model.theta_names), domain, (0.1,) * len(domain), 1.0,
                            learned)
    fields = fields_from_dataset(ds, dynamics.learned)
    return learned_rates(dynamics, fields, theta)


def baselines_dataset(predictions: Mapping[str, ClosurePrediction],
                      observed: xr.Dataset) -> xr.Dataset:
    """Every prediction and the held-out means in one Dataset on the held-out time grid.

    Variables ``counts(closure, time, species)``, ``nn(closure, time, pair)``,
    ``variances(closure, time, species)`` (NaN where a closure predicts none, or at times a
    prediction was not computed), ``flags(closure)``, and the held-out means
    ``observed_counts(time, species)``, ``observed_nn(time, pair)``, ``observed_nnn``.
    """
    parts = []
    for name, pred in predictions.items():
        ds = pred.to_dataset()
        if "variances" not in ds:
            ds["variances"] = xr.full_like(ds.counts, np.nan)
        ds = ds.drop_attrs().reindex(time=observed.time.values)
        parts.append(ds.expand_dims(closure=[name]))
    out = xr.concat(parts, dim="closure")
    out["flags"] = ("closure", np.array(["; ".join(p.flags) for p in predictions.values()],
                                       dtype=object))
    for var in ("counts", "nn", "nnn"):
        out[f"observed_{var}"] = observed[var]
    return out


def concat_protocols(parts: Sequence[xr.Dataset], protocols: Sequence[str]) -> xr.Dataset:
    """Join :func:`eq14_terms` results of several sampling protocols along ``protocol``."""
    if len(parts) != len(protocols) or not parts:
        raise ValueError("give one eq. 14 dataset per protocol")
    out = xr.concat(parts, dim=xr.DataArray(list(protocols), dims="protocol", name="protocol"),
                    data_vars="all", coords="minimal", compat="override")
    # quantities that do not depend on the sampling protocol
    for var in ("rate",):
        out[var] = parts[0][var]
    return out


def annihilation_baselines(ds: xr.Dataset, probability: float) -> xr.Dataset:
    """Mean field and pair approximation against 1D annihilation simulations, per initial
    condition (paper A §IV.A; :mod:`dbdlab.closure.annihilation`).

    ``ds`` is an annihilation set (:func:`dbdlab.experiments.datasets.annihilation_set`) with
    ``counts``, ``nn`` and ``ic``.  Each closure starts from the initial condition's measured
    density and nearest-neighbour bond probability at the first time point (``N − 1`` bonds
    with walls).  Returns ``m1`` and ``m2`` of the simulations (means over the lattices of an
    initial condition) and of each closure, with dims ``(ic, time)`` and ``(closure, ic, time)``,
    and ``rmse(closure, moment, time)`` over initial conditions (paper A Fig. 3c's measure).
    """
    from ..closure.annihilation import (
        annihilation_mean_field,
        annihilation_pair_approximation,
    )

    n_sites = ds.sizes["x"] if "x" in ds.dims else int(ds.attrs["shape"][0])
    bonds = n_sites - 1
    dt = float(ds.time.values[1] - ds.time.values[0])
    t = ds.time.values
    grouped = ds[["counts", "nn"]].astype(float).groupby(ds.ic).mean("replica")
    m1 = grouped.counts.isel(species=0).transpose("ic", "time").values
    m2 = grouped.nn.isel(pair=0).transpose("ic", "time").values
    pred = np.empty((2, m1.shape[0], 2, t.size))
    for i in range(m1.shape[0]):
        rho0, paa0 = m1[i, 0] / n_sites, m2[i, 0] / bonds
        rho, paa = annihilation_mean_field(rho0, t, probability, dt)
        pred[0, i] = [n_sites * rho, bonds * paa]
        rho, paa = annihilation_pair_approximation(rho0, min(paa0, rho0), t, probability, dt)
        pred[1, i] = [n_sites * rho, bonds * paa]
    sims = np.stack([m1, m2], axis=1)  # (ic, moment, time)
    err = np.sqrt(np.mean((pred - sims[None]) ** 2, axis=1))
    return xr.Dataset(
        {"simulation": (("ic", "moment", "time"), sims),
         "prediction": (("closure", "ic", "moment", "time"), pred),
         "rmse": (("closure", "moment", "time"), err)},
        coords={"closure": ["mean_field", "pair"], "ic": grouped.ic.values,
                "moment": ["m1", "m2"], "time": t},
        attrs={"probability": float(probability), "n_sites": int(n_sites)})
