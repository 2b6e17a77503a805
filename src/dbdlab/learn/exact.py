"""Exact moments and KL divergences by enumeration, for tiny models (tests, validation).

The data distribution at timepoint ``k`` is given as a probability vector over the model's
visible states (e.g. the visible marginal of the same model at "true" parameters).  For a
model with hidden units the data moments are ``E_{v∼p_k} E_{h|v;θ}[M]`` and depend on θ; the
gradient of ``D_KL(p_k ‖ p̃_θ)`` with respect to θ is ``⟨M⟩_θ − E_{v∼p_k} E_{h|v;θ}[M]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ExactMoments", "visible_marginal"]


def _visible_keys(model, exact) -> tuple[np.ndarray, np.ndarray]:
    """Index of every joint state's visible configuration among the unique visible states."""
    visible = np.ascontiguousarray(exact.states[0])
    keys = visible.view(np.dtype((np.void, visible.dtype.itemsize * visible.shape[1])))[:, 0]
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, inverse.reshape(-1)


def visible_marginal(model, theta: Sequence[float]) -> np.ndarray:
    """Probabilities of the visible states (in a fixed canonical order) at parameters θ."""
    exact = model.exact(np.asarray(theta, dtype=float))
    unique, inverse = _visible_keys(model, exact)
    return np.bincount(inverse, weights=exact.probabilities, minlength=len(unique))


class ExactMoments:
    """Exact wake/sleep moments and KL divergences of a tiny model against given data.

    Parameters
    ----------
    model
        A model with ``exact(θ)`` (enumeration) and ``theta_names``.
    data
        Visible-state probabilities per timepoint, ``(n_timepoints, n_visible_states)`` in the
        order of :func:`visible_marginal`.
    """

    def __init__(self, model, data: np.ndarray) -> None:
        self.model = model
        self.data = np.asarray(data, dtype=float)
        if self.data.ndim != 2 or not np.allclose(self.data.sum(axis=1), 1.0):
            raise ValueError("data must hold one probability vector per timepoint")

    def _parts(self, theta):
        exact = self.model.exact(np.asarray(theta, dtype=float))
        unique, inverse = _visible_keys(self.model, exact)
        if len(unique) != self.data.shape[1]:
            raise ValueError(f"data has {self.data.shape[1]} visible states, the model "
                             f"{len(unique)}")
        marginal = np.bincount(inverse, weights=exact.probabilities, minlength=len(unique))
        return exact, inverse, marginal

    def moments(self, theta: Sequence[float], k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(awake, asleep)`` moments at timepoint ``k`` for parameters θ."""
        exact, inverse, marginal = self._parts(theta)
        asleep = exact.probabilities @ exact.moments
        # p_k(v) p(h|v; θ) = p_k(v) p(v, h; θ) / p(v; θ)
        weights = self.data[k, inverse] * exact.probabilities / marginal[inverse]
        awake = weights @ exact.moments
        return awake, asleep

    def kl(self, theta: Sequence[float], k: int) -> float:
        """``D_KL(p_k ‖ p̃_θ)`` over the visible states."""
        _, _, marginal = self._parts(theta)
        p = self.data[k]
        keep = p > 0
        return float(np.sum(p[keep] * (np.log(p[keep]) - np.log(marginal[keep]))))
