"""Lotka–Volterra with a centered dynamic deep Boltzmann machine (paper B §V, Figs. 2–3).

The experiment exactly as the authors ran it (reproduction notes, (repro-lv-config)=), as
functions that a notebook calls:

* :class:`LVConfig` — every setting, defaults = the paper's run: the three-layer 40×40 DBM,
  θ(0) with ``hX = hY = ln(1/14)`` and the rest 0, centres 0.0625 (visible) and 0.33 (hidden),
  right-hand sides of all 10 parameters on the 6-D domain (hX, hY, wXX1, wYY1, wX1X2, wY1Y2)
  with cells of 0.1 centred at θ(0), batch 5, window of 10 steps shifted every 2 steps from
  step 3, 980 steps, SGD with learning rate 2.5e-6 (Adam optional);
* :func:`train_lv` — Algorithm 1 with the centered adjoint (:mod:`dbdlab.learn.centered`) and
  incremental integration, checkpointed for exact resumption;
* :func:`sample_observables` — the evaluation sampling of the authors' figures (100 chains per
  timepoint from a random start, 9 binary sweeps and one parallel mean-field step) and the
  observables prey count, NN(X,X) and NNN(X,Y), the latter with the paper's definition (all
  four distance-two directions) and the authors' code's (without (1,−1));
* :func:`simulation_observables`, :func:`relative_rmse`, :func:`theta_dataset`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "DOMAIN",
    "LVConfig",
    "LVTraining",
    "OBSERVABLES",
    "initial_centers",
    "initial_theta",
    "layer_patterns",
    "make_dynamics",
    "relative_rmse",
    "sample_observables",
    "simulation_observables",
    "theta_dataset",
    "train_lv",
    "visible_lattices",
]

#: Domain of every right-hand side (paper B §V): visible biases and the four weights.
DOMAIN = ("hX", "hY", "wXX1", "wYY1", "wX1X2", "wY1Y2")
#: Observables of paper B Fig. 3 (top row); NNN in the paper's and in the authors' code's form.
OBSERVABLES = ("prey", "nn_XX", "nnn_XY", "nnn_XY_reference")


@dataclass(frozen=True)
class LVConfig:
    """Settings of the LV experiment; the defaults are the authors' run (module docstring).

    ``sleep`` is ``"random"`` (the authors' code) or ``"persistent"`` (the paper's text);
    ``scheme`` the centered adjoint's scheme (:class:`~dbdlab.learn.centered.CenteredAdjoint`);
    ``reference_scaling`` the authors' finite-element convention (derivative DOFs in cell
    fractions), which their learning rate assumes; ``reference_derivative`` their ``∂F/∂θ``
    without ``1/Δ`` (off: we use the correct derivative); ``first_window`` the start τ of the
    first window (0; the benchmark starts late windows directly).
    """

    side: int = 40
    steps: int = 980
    window_length: int = 10
    shift_every: int = 2
    first_window: int = 0
    batch: int = 5
    wake_sweeps: int = 10
    sleep_sweeps: int = 10
    sleep: str = "random"
    r: float = 0.5
    cell: float = 0.1
    optimizer: str = "sgd"
    learning_rate: float = 2.5e-6
    scheme: str = "paper"
    reference_scaling: bool = True
    reference_derivative: bool = False
    visible_bias: float = float(np.log(1.0 / 14.0))
    visible_center: float = 0.0625
    hidden_center: float = 0.33
    seed: int = 2019

    def to_attrs(self) -> dict:
        return {k: (int(v) if isinstance(v, bool) else v) for k, v in asdict(self).items()}


def model_for(config: LVConfig):
    """The three-layer DBM of paper B Fig. 2(a) with layers of ``side × side`` units."""
    from ..models import lotka_volterra_dbm

    return lotka_volterra_dbm((config.side, config.side))


def initial_theta(model, config: LVConfig) -> np.ndarray:
    """θ(0): visible biases ``ln(1/14)`` (100 of each species on 1600 sites), the rest 0."""
    return model.theta_from_dict({"hX": config.visible_bias, "hY": config.visible_bias},
                                 default=0.0)


def initial_centers(model, config: LVConfig) -> np.ndarray:
    """Centres at the first use of a timepoint: 0.0625 visible, 0.33 hidden (per species)."""
    return np.array([config.visible_center if model.species_index(s)[0] == 0
                     else config.hidden_center for s in model.species_names])


def make_dynamics(model, config: LVConfig):
    """All 10 parameters learned on the 6-D domain, cells ``config.cell``, Δt = 1."""
    from ..learn import Dynamics

    return Dynamics(tuple(model.theta_names), DOMAIN, (config.cell,) * len(DOMAIN), 1.0,
                    reference_scaling=config.reference_scaling)


def visible_lattices(ds, side: int | None = None) -> np.ndarray:
    """Simulated lattices as int8 codes ``(run, timepoint, site)`` in the model's unit order.

    Checks that the data's species codes are the model's (X = 1, Y = 2).
    """
    codes = ds.attrs.get("species_codes")
    if isinstance(codes, str):
        import json

        codes = json.loads(codes)
    if codes is not None and dict(codes) != {"X": 1, "Y": 2}:
        raise ValueError(f"expected species codes X=1, Y=2, got {codes}")
    lat = np.asarray(ds.lattice.values, dtype=np.int8)
    if side is not None and lat.shape[-2:] != (side, side):
        raise ValueError(f"lattices are {lat.shape[-2:]}, the model {side}×{side}")
    return lat.reshape(lat.shape[0], lat.shape[1], -1)


@dataclass
class LVTraining:
    """Result of :func:`train_lv`."""

    fields: dict
    history: object
    centers: np.ndarray  # (n_timepoints_used, n_species)
    dynamics: object
    theta0: np.ndarray
    seconds: float
    steps_run: int


def train_lv(lattices: np.ndarray, config: LVConfig, *, checkpoint=None, checkpoint_every: int = 0,
             backend: str | None = None, progress: bool | None = None) -> LVTraining:
    """Algorithm 1 of paper B for the LV data (module docstring).

    Parameters
    ----------
    lattices
        Visible training data, int8 ``(n_runs, n_timepoints, side²)`` (:func:`visible_lattices`).
    config
        :class:`LVConfig`.
    checkpoint, checkpoint_every
        Checkpoint file (fields, optimiser, history, the estimator's chains and centres) written
        every ``checkpoint_every`` steps; an existing one is resumed bit-identically.
    backend, progress
        Sampling backend and progress bar.
    """
    from ..learn import FieldOptimizer, WindowSchedule, train
    from ..learn.centered import CenteredAdjoint, CenteredDBMEstimator
    from ..learn.incremental import IncrementalIntegrator

    model = model_for(config)
    theta0 = initial_theta(model, config)
    dynamics = make_dynamics(model, config)
    fields = dynamics.new_fields(theta0[dynamics.domain_index] - 0.5 * config.cell)
    estimator = CenteredDBMEstimator(model, lattices, initial_centers(model, config),
                                     batch=config.batch, wake_sweeps=config.wake_sweeps,
                                     sleep_sweeps=config.sleep_sweeps, sleep=config.sleep,
                                     r=config.r, seed=config.seed, backend=backend)
    start = time.perf_counter()
    result = train(dynamics, fields, theta0[None, :], estimator, steps=config.steps,
                   window=WindowSchedule(config.window_length, config.shift_every,
                                         config.first_window),
                   n_timepoints=lattices.shape[1],
                   optimizer=FieldOptimizer(config.optimizer, config.learning_rate),
                   adjoint=CenteredAdjoint(model, config.scheme, config.reference_derivative),
                   checkpoint=checkpoint, checkpoint_every=checkpoint_every, progress=progress,
                   integrator=IncrementalIntegrator())
    seconds = time.perf_counter() - start
    history = result.history
    history.attrs.update({f"config_{k}": v for k, v in config.to_attrs().items()})
    history.attrs["adjoint"] = f"centered ({config.scheme})"
    return LVTraining(result.fields, history, estimator.centers[: estimator.n_used].copy(),
                      dynamics, theta0, seconds, int(history.sizes["step"]))


# ------------------------------------------------------------------------------- evaluation


def _observables(layers, side: int) -> np.ndarray:
    """Prey count, NN(X,X), NNN(X,Y) (full and reference) per chain, from probabilities."""
    from ..simulate.observables import nn_pairs, nnn_pairs

    v = np.asarray(layers[0])
    if v.ndim == 2:  # binary codes
        s_x = (v == 1).astype(float)
        s_y = (v == 2).astype(float)
    else:
        s_x, s_y = v[..., 0], v[..., 1]
    s_x = s_x.reshape(-1, side, side)
    s_y = s_y.reshape(-1, side, side)
    return np.stack([
        s_x.sum(axis=(1, 2)),
        np.asarray(nn_pairs(s_x, s_x, 2, periodic=True, same_species=True)),
        np.asarray(nnn_pairs(s_x, s_y, 2, periodic=True, kind="full", same_species=False)),
        np.asarray(nnn_pairs(s_x, s_y, 2, periodic=True, kind="reference",
                             same_species=False))], axis=-1)


def sample_observables(model, thetas: np.ndarray, n_chains: int = 100, sweeps: int = 10,
                       seed: int = 0, *, chunk: int = 2000, backend: str | None = None,
                       progress: bool | None = None) -> np.ndarray:
    """Mean observables of model samples at every θ row (paper B Fig. 3, top row).

    As in the authors' evaluation (reproduction notes, (repro-lv-evaluation)=), per θ:
    ``n_chains`` chains with every layer random, ``sweeps − 1`` binary block Gibbs sweeps and
    one parallel mean-field step (all layers from the previous state, as probabilities);
    observables from the visible probabilities.  Returns ``(n_thetas, 4)`` in
    :data:`OBSERVABLES` order.
    """
    from ..backend import progress_enabled
    from ..sampling import gibbs_sweeps, mean_field_steps, random_chains

    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    if int(sweeps) != sweeps or sweeps < 1:
        raise ValueError(f"sweeps must be a positive integer, got {sweeps!r}")
    side = model.layers[0].shape[0]
    per = max(1, chunk // n_chains)
    out = np.empty((len(thetas), len(OBSERVABLES)))
    starts = range(0, len(thetas), per)
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="sample", leave=False)
    for s in starts:
        block = thetas[s: s + per]
        per_chain = np.repeat(block, n_chains, axis=0)
        ids = np.arange(s * n_chains, (s + len(block)) * n_chains, dtype=np.int64)
        chains = random_chains(model, len(per_chain), seed, chain_ids=ids, backend=backend)
        gibbs_sweeps(model, per_chain, chains, int(sweeps) - 1)
        mean_field_steps(model, per_chain, chains, 1, parallel=True)
        obs = _observables(chains.to_numpy(), side)
        out[s: s + len(block)] = obs.reshape(len(block), n_chains, -1).mean(axis=1)
    return out


def simulation_observables(lattices: np.ndarray, side: int) -> np.ndarray:
    """The same observables of the simulations, mean over runs: ``(n_timepoints, 4)``."""
    lat = np.asarray(lattices, dtype=np.int8)
    flat = lat.reshape(-1, lat.shape[-1])
    obs = _observables([flat], side)
    return obs.reshape(lat.shape[0], lat.shape[1], -1).mean(axis=0)


def relative_rmse(model_values: np.ndarray, simulation_values: np.ndarray) -> np.ndarray:
    """RMSE over time divided by the time-mean of the simulations, per observable."""
    m, s = np.asarray(model_values), np.asarray(simulation_values)
    return np.sqrt(np.mean((m - s) ** 2, axis=0)) / np.abs(s.mean(axis=0))


def layer_patterns(model, theta: np.ndarray, sweeps: int = 100, seed: int = 0,
                   backend: str | None = None) -> list[np.ndarray]:
    """Fig. 2(c): one chain from a random start, ``sweeps − 1`` Gibbs sweeps and a parallel
    mean-field step; the probabilities of every layer, ``(side, side, M_l)`` each."""
    from ..sampling import gibbs_sweeps, mean_field_steps, random_chains

    chains = random_chains(model, 1, seed, backend=backend)
    gibbs_sweeps(model, theta, chains, int(sweeps) - 1)
    mean_field_steps(model, theta, chains, 1, parallel=True)
    return [p[0].reshape(*lay.shape, lay.n_species)
            for p, lay in zip(chains.to_numpy(), model.layers, strict=True)]


def theta_dataset(names, theta_raw: np.ndarray, theta_lowpass: np.ndarray, dt: float,
                  config: LVConfig, filter_attrs: dict):
    """θ(t) raw and low-pass, one variable per parameter, dims ``(variant, time)``.

    The output contract read by the closure-analysis chapter: variant = ["raw", "lowpass"],
    coordinate time = timepoint·dt, attributes dt, the model constructor and the filter.
    """
    import xarray as xr

    stacked = np.stack([theta_raw, theta_lowpass])  # (variant, time, param)
    time_ = np.arange(theta_raw.shape[0]) * dt
    return xr.Dataset(
        {name: (("variant", "time"), stacked[:, :, k]) for k, name in enumerate(names)},
        coords={"variant": ["raw", "lowpass"], "time": time_},
        attrs={"dt": float(dt), "model": "lotka_volterra_dbm", "lattice_side": int(config.side),
               **{f"filter_{k}": v for k, v in filter_attrs.items()},
               **{f"config_{k}": v for k, v in config.to_attrs().items()}})
