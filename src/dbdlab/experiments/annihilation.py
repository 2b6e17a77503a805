"""Glue of the annihilation experiment (paper A §IV A), shared by notebooks 02, 03 and the
learning benchmark.

An annihilation data set (:func:`dbdlab.experiments.datasets.annihilation_set`) holds
``n_ic × lattices_per_ic`` replicas, the lattices of one initial condition ``(b, J, K)`` in
consecutive replicas, labelled by ``ic(replica)``.  The helpers below regroup it per initial
condition, build the two models of the experiment with their learning domains, and measure the
moments the chapters compare (reproduction notes: repro-moments, repro-annihilation-config).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..learn.dynamics import Dynamics
from ..models import FullyVisible1DModel, annihilation_rbm
from .evaluate import sample_visible
from .settings import SETTINGS

__all__ = [
    "LearningSetup",
    "data_moments_per_ic",
    "initial_conditions",
    "initial_density_and_nn",
    "lattices_per_ic",
    "learning_setups",
    "sampled_density_and_nn",
]


def _n_ic(ds) -> int:
    """Number of initial conditions; checks that each labels a contiguous, equal-size block."""
    ic = np.asarray(ds.ic.values)
    n_ic = int(ic.max()) + 1
    if ic.size % n_ic or not np.array_equal(ic, np.repeat(np.arange(n_ic), ic.size // n_ic)):
        raise ValueError("ds: replicas must be grouped by initial condition 0, 1, … in blocks of "
                         "equal size, as annihilation_set builds them")
    return n_ic


def initial_conditions(ds) -> np.ndarray:
    """``(b, J, K)`` of every initial condition, shape ``(n_ic, 3)``, in ``ic`` order."""
    _n_ic(ds)
    first = ds[["ic_b", "ic_J", "ic_K"]].groupby(ds.ic).first()
    return np.stack([first.ic_b, first.ic_J, first.ic_K], axis=1)


def lattices_per_ic(ds, n_timepoints: int | None = None) -> np.ndarray:
    """Lattices as ``(initial condition, lattice, time, site)``, the first ``n_timepoints``."""
    n_ic = _n_ic(ds)
    n_timepoints = ds.sizes["time"] if n_timepoints is None else int(n_timepoints)
    if not 1 <= n_timepoints <= ds.sizes["time"]:
        raise ValueError(f"n_timepoints must be in 1…{ds.sizes['time']}, got {n_timepoints}")
    lat = ds.lattice.isel(time=slice(0, n_timepoints)).values
    return lat.reshape(n_ic, -1, n_timepoints, lat.shape[-1])


def data_moments_per_ic(ds, times: np.ndarray | None = None) -> np.ndarray:
    """Mean over each initial condition's lattices of ``m1 … m4`` (paper A Fig. 3).

    Returns shape ``(n_ic, time, 4)``, from the data set's ``counts``, ``nn``, ``triplets`` and
    ``quartics`` at the time indices ``times`` (default: all).
    """
    n_ic = _n_ic(ds)
    parts = [ds.counts.sel(species="A"), ds.nn.sel(pair="A_A"),
             ds.triplets.sel(species="A"), ds.quartics.sel(species="A")]
    moments = np.stack([p.values.astype(float) for p in parts], axis=-1)  # (replica, t, 4)
    n_lat = moments.shape[0] // n_ic
    per_ic = moments.reshape(-1, n_lat, *moments.shape[1:]).mean(axis=1)
    return per_ic if times is None else per_ic[:, times]


def initial_density_and_nn(ds) -> tuple[np.ndarray, np.ndarray]:
    """Density and nearest-neighbour moment per site at ``t = 0``, mean per initial condition."""
    _n_ic(ds)
    n = ds.sizes["x"]
    density = (ds.lattice.isel(time=0).sum("x") / n).groupby(ds.ic).mean().values
    nn = (ds.nn.isel(time=0).sel(pair="A_A") / n).groupby(ds.ic).mean().values
    return density, nn


def sampled_density_and_nn(model, theta_per_ic: np.ndarray, n_chains: int, sweeps: int,
                           seed: int, *, backend: str | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Density and NN moment per site of the model at each θ, from ``n_chains`` chains each.

    The chains start from a random state and run ``sweeps`` Gibbs sweeps.
    """
    from ..simulate.observables import chain_moment_1d

    theta_per_ic = np.asarray(theta_per_ic, dtype=float)
    n_ic = len(theta_per_ic)
    v = sample_visible(model, theta_per_ic, n_chains, sweeps, seed, start="random",
                       backend=backend).reshape(n_ic * n_chains, -1).astype(float)
    n = v.shape[1]
    density = v.mean(axis=1).reshape(n_ic, n_chains).mean(axis=1)
    nn = (chain_moment_1d(v, 2) / n).reshape(n_ic, n_chains).mean(axis=1)
    return density, nn


@dataclass(frozen=True)
class LearningSetup:
    """One model of the experiment with the dynamics its right-hand sides are learned on."""

    model: Any
    dynamics: Dynamics

    @property
    def domain(self) -> tuple[str, ...]:
        return self.dynamics.domain


def learning_setups(n_sites: int, dt: float) -> dict[str, LearningSetup]:
    """The visible ``(b, J, K)`` model and the hidden-layer RBM with the authors' domains and
    cells (reproduction notes: repro-fem-domains)."""
    learning = SETTINGS["annihilation"]["learning"]
    models = {"visible": FullyVisible1DModel(n_sites), "hidden": annihilation_rbm(n_sites)}
    return {name: LearningSetup(model, Dynamics(tuple(model.theta_names),
                                                learning["domains"][name],
                                                learning["cells"][name], dt))
            for name, model in models.items()}
