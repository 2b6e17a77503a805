"""Moments of an RBM with the hidden layer replaced by ``p(h|v)``, from visible codes (paper A).

Paper A's wake phase (data clamped) and the end of its sleep phase both measure the moments
``M(v, p(h|v))``: visible counts, ``Σ_j p(h_jα|v)`` and ``Σ_{(i,j)} v_iβ p(h_jα|v)`` (reproduction
notes, ``(repro-rossler-config)=``).  The readable path is
``model.moments([v, hidden_probabilities(model, θ, v)])`` (:func:`rbm_moments_reference`).

The fast path (:func:`rbm_moments`) uses that, for binary visible units, ``p(h_j|v)`` depends on
``v`` only through the *pattern* of hidden unit ``j`` — the numbers ``n_jβ`` of its ``q`` visible
neighbours holding species ``β``.  A Numba kernel histograms the patterns of every chain (serial: a
``prange`` version measured slower on the shared two-core machine); the probabilities of the
patterns that can occur (``Σ_β n_β ≤ q``) come from the NumPy code
(:func:`~dbdlab.sampling.probabilities_from_activations`), and the moments are histogram-weighted
sums: ``Σ_j p_jα = Σ_n H(n) p_α(n)`` and ``Σ_j n_jβ p_jα = Σ_n H(n) n_β p_α(n)``.  The result equals
the reference up to the order of summation (≈ 1e-15 relative, tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ..models.boltzmann import BoltzmannMachine
from .conditionals import probabilities_from_activations

__all__ = [
    "moments_from_histograms",
    "pattern_histograms",
    "rbm_moments",
    "rbm_moments_reference",
    "visible_counts",
]


@njit(cache=True)
def _pattern_histogram(visible, up_to_down, step, n_patterns):
    n_chains = visible.shape[0]
    n_hidden, q = up_to_down.shape
    hist = np.zeros((n_chains, n_patterns), dtype=np.int64)
    for c in range(n_chains):
        for j in range(n_hidden):
            pattern = 0
            for k in range(q):
                pattern += step[visible[c, up_to_down[j, k]]]
            hist[c, pattern] += 1
    return hist


def _check(model: BoltzmannMachine, theta: Any, visible: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(model, BoltzmannMachine) or model.n_layers != 2:
        raise ValueError("rbm_moments needs a two-layer BoltzmannMachine (an RBM)")
    v = np.asarray(visible)
    n_visible = model.layers[0].n_units
    if v.ndim != 2 or v.shape[1] != n_visible or v.dtype.kind not in "iu":
        raise ValueError(f"visible must be integer codes of shape (n_chains, {n_visible}), got "
                         f"{v.shape} {v.dtype}")
    theta = np.asarray(model.check_theta(theta), dtype=np.float64)
    if theta.ndim == 1:
        theta = np.broadcast_to(theta, (v.shape[0], theta.size))
    if theta.shape != (v.shape[0], model.n_theta):
        raise ValueError(f"theta must have shape ({model.n_theta},) or ({v.shape[0]}, "
                         f"{model.n_theta}), got {theta.shape}")
    return theta, v


def _pattern_table(model: BoltzmannMachine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-code increments, the possible patterns' dense indices and their counts ``n_β``."""
    q = model.tables(np)[0][0].shape[1]
    m_v = model.layers[0].n_species
    radix = q + 1
    powers = radix ** np.arange(m_v, dtype=np.int64)
    step = np.concatenate([[0], powers]).astype(np.int64)
    dense = np.arange(radix**m_v)
    counts = ((dense[:, None] // powers) % radix).astype(np.float64)
    possible = counts.sum(axis=1) <= q
    return step, dense[possible], counts[possible]


def pattern_histograms(model: BoltzmannMachine, visible: Any) -> np.ndarray:
    """Number of hidden units with each possible visible pattern, ``(n_chains, n_patterns)``.

    Patterns in the order of :func:`moments_from_histograms`; float64 so that histograms can be
    averaged over chains before the moments are formed (the moments are linear in them).
    """
    _check(model, np.zeros(model.n_theta), visible)
    step, possible, _ = _pattern_table(model)
    n_dense = int(possible[-1]) + 1  # the pattern "q of the last species" is the largest
    hist = _pattern_histogram(np.ascontiguousarray(visible, dtype=np.int8),
                              model.tables(np)[0][0], step, n_dense)
    return hist[:, possible].astype(np.float64)


def moments_from_histograms(model: BoltzmannMachine, theta: Any, hist: np.ndarray,
                            visible_counts: np.ndarray) -> np.ndarray:
    """``M(v, p(h|v))`` from pattern histograms (:func:`pattern_histograms`) and visible counts.

    ``theta`` ``(n_theta,)`` or ``(n, n_theta)``, ``hist`` ``(n, n_patterns)`` and
    ``visible_counts`` ``(n, M_v)`` (species counts) may be per chain or averaged over chains.
    """
    _, _, counts = _pattern_table(model)
    hist = np.asarray(hist, dtype=np.float64)
    theta = np.asarray(model.check_theta(theta), dtype=np.float64)
    theta = np.broadcast_to(theta, (hist.shape[0], model.n_theta))
    biases, weights = model.unpack_theta(theta)
    # activations of every pattern, per row: (n, n_patterns, M_h)
    p = probabilities_from_activations(biases[1][:, None, :] + counts @ weights[0])
    weighted = hist[:, :, None] * p
    out = np.empty((hist.shape[0], model.n_theta))
    out[:, model.bias_slices[0]] = visible_counts
    out[:, model.bias_slices[1]] = weighted.sum(axis=1)
    pair = np.swapaxes(weighted, 1, 2) @ counts  # (n, M_h, M_v): Σ_n H(n) p_α(n) n_β
    for a, b, k in model.weight_index[0]:
        out[:, k] = pair[:, b, a]
    return out


def visible_counts(model: BoltzmannMachine, visible: Any) -> np.ndarray:
    """Species counts of visible codes, ``(n_chains, M_v)`` (exact integers as float64)."""
    v = np.asarray(visible)
    return np.stack([(v == k + 1).sum(axis=1) for k in range(model.layers[0].n_species)],
                    axis=1).astype(np.float64)


def rbm_moments(model: BoltzmannMachine, theta: Any, visible: Any) -> np.ndarray:
    """Moments ``M(v, p(h|v))`` per chain, ``(n_chains, n_theta)`` (module docstring).

    Parameters
    ----------
    model
        A two-layer :class:`~dbdlab.models.BoltzmannMachine`.
    theta
        ``(n_theta,)`` or one row per chain.
    visible
        Visible codes ``(n_chains, N_0)`` (0 empty, ``k`` the ``k``-th species).
    """
    theta, v = _check(model, theta, visible)
    return moments_from_histograms(model, theta, pattern_histograms(model, v),
                                   visible_counts(model, v))


def rbm_moments_reference(model: BoltzmannMachine, theta: Any, visible: Any) -> np.ndarray:
    """The readable path: ``model.moments([v, hidden_probabilities(model, θ, v)])``."""
    from .gibbs import hidden_probabilities

    theta, v = _check(model, theta, visible)
    return np.asarray(model.moments([v, hidden_probabilities(model, theta, v)]))
