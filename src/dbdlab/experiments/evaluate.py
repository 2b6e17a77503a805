"""Evaluating learned dynamics: sample the model along its learned parameter trajectories.

Paper A's test (reproduction notes: repro-annihilation-test): integrate the learned ``F`` from each
initial condition, then at every timepoint start chains empty, run a few Gibbs sweeps and measure
the moments of the visible layer.  All (initial condition, timepoint, chain) combinations run in one
sampler call with per-chain parameters.
"""

from __future__ import annotations

import numpy as np

from .._checks import integer

__all__ = ["sample_visible", "annihilation_moments", "rmse_over_ics"]


def sample_visible(model, thetas: np.ndarray, n_chains: int, sweeps: int, seed: int, *,
                   start: str = "empty", backend: str | None = None) -> np.ndarray:
    """Visible layers sampled at parameters ``thetas`` (any leading shape, last axis θ).

    Returns int8 codes of shape ``(*thetas.shape[:-1], n_chains, N_visible)``.
    """
    from ..backend import to_numpy
    from ..sampling import empty_chains, gibbs_sweeps, random_chains

    n_chains = integer(n_chains, "n_chains", 1)
    sweeps = integer(sweeps, "sweeps", 0)
    seed = integer(seed, "seed", 0, 2**64 - 1)
    thetas = np.asarray(model.check_theta(thetas))
    flat = thetas.reshape(-1, thetas.shape[-1])
    per_chain = np.repeat(flat, n_chains, axis=0)
    if start == "empty":
        chains = empty_chains(model, len(per_chain), seed, backend=backend)
    elif start == "random":
        chains = random_chains(model, len(per_chain), seed, backend=backend)
    else:
        raise ValueError(f"start must be 'empty' or 'random', got {start!r}")
    gibbs_sweeps(model, per_chain, chains, sweeps)
    visible = np.asarray(to_numpy(chains.layers[0]))
    return visible.reshape(*thetas.shape[:-1], n_chains, -1)


def annihilation_moments(v: np.ndarray, orders=(1, 2, 3, 4)) -> np.ndarray:
    """Paper A's moments m1…m4 (open-chain windows, reproduction notes: repro-moments), last axis =
    order."""
    from ..simulate.observables import chain_moment_1d

    v = np.asarray(v).astype(np.int8)
    return np.stack([np.asarray(chain_moment_1d(v, k), dtype=float) for k in orders], axis=-1)


def rmse_over_ics(model_moments: np.ndarray, true_moments: np.ndarray) -> np.ndarray:
    """``ε(t) = sqrt(mean_IC (m_model − m_true)²)`` (reproduction notes: repro-annihilation-test);
    IC axis first."""
    return np.sqrt(np.mean((np.asarray(model_moments) - np.asarray(true_moments)) ** 2, axis=0))
