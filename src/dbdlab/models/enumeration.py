"""Exact enumeration of tiny lattice Boltzmann machines: log Z, probabilities, moments, marginals.

Joint states are numbered in mixed radix over all units — layer 0 units first, each unit a digit
``0..M_l`` (its species code), the **last unit varying fastest** (``itertools.product`` order).
Everything is NumPy; this is the reference against which the samplers are tested.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp

from .layers import Layer

__all__ = ["ExactDistribution", "enumerate_exact", "exact_distribution"]


@dataclass(frozen=True, eq=False)
class ExactDistribution:
    """A fully enumerated Boltzmann distribution.

    Attributes
    ----------
    layers
        The model's layers.
    states
        One int8 code array ``(n_states, N_l)`` per layer; row ``k`` of every array is joint
        state ``k``.
    log_weights
        ``−E(s)`` of every state.
    moments
        Moments ``M(s)`` of every state, ``(n_states, n_theta)``.
    log_z
        ``log Σ_s exp(−E(s))``.
    probabilities
        ``exp(−E(s) − log Z)``.
    """

    layers: tuple[Layer, ...]
    states: tuple[np.ndarray, ...] = field(repr=False)
    log_weights: np.ndarray = field(repr=False)
    moments: np.ndarray = field(repr=False)
    log_z: float
    probabilities: np.ndarray = field(repr=False)

    @property
    def radices(self) -> np.ndarray:
        """Number of values (``M_l + 1``) of every unit, in state-numbering order."""
        return np.concatenate([np.full(lay.n_units, lay.n_species + 1) for lay in self.layers])

    def expected_moments(self) -> np.ndarray:
        """``⟨M⟩`` under the distribution, shape ``(n_theta,)``."""
        return self.probabilities @ self.moments

    def moment_covariance(self) -> np.ndarray:
        """Covariance matrix of the moments, ``(n_theta, n_theta)``."""
        centred = self.moments - self.expected_moments()
        return (centred * self.probabilities[:, None]).T @ centred

    def expectation(self, values: np.ndarray) -> np.ndarray:
        """``Σ_s p(s) f(s)`` for values ``f`` given per state (first axis)."""
        return np.tensordot(self.probabilities, values, axes=(0, 0))

    def marginal(self, layers: Sequence[int] = (0,)) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Marginal distribution of some layers (default: the visible layer).

        Returns
        -------
        states
            One code array ``(n_marginal_states, N_l)`` per requested layer (mixed-radix order).
        probabilities
            Their probabilities, summing to 1.
        """
        layers = tuple(int(l) for l in layers)
        sizes = [self.layers[l].n_units for l in layers]
        radices = np.concatenate([np.full(self.layers[l].n_units, self.layers[l].n_species + 1)
                                  for l in layers])
        joint = np.concatenate([self.states[l] for l in layers], axis=1).astype(np.int64)
        strides = _strides(radices)
        index = joint @ strides
        probs = np.bincount(index, weights=self.probabilities, minlength=int(np.prod(radices)))
        all_states = _digits(np.arange(probs.size), radices)
        split = np.split(all_states, np.cumsum(sizes)[:-1], axis=1)
        return tuple(s.astype(np.int8) for s in split), probs

    def state_index(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        """Row numbers of joint states given as one code array ``(k, N_l)`` per layer."""
        joint = np.concatenate([np.asarray(s, dtype=np.int64).reshape(len(s), -1)
                                for s in layers], axis=1)
        return joint @ _strides(self.radices)

    def conditional(self, layer: int, unit: int, index: np.ndarray) -> np.ndarray:
        """Exact ``p(s_i = code | all other units)`` from the joint distribution.

        Parameters
        ----------
        layer, unit
            The unit ``i``.
        index
            Joint state numbers fixing the other units (the unit's own value is ignored).

        Returns
        -------
        Array ``(len(index), M_l + 1)``: column 0 = empty, column ``k`` = species ``k``.
        """
        radices = self.radices
        g = sum(lay.n_units for lay in self.layers[:layer]) + int(unit)
        stride = int(np.prod(radices[g + 1:]))
        index = np.asarray(index, dtype=np.int64)
        digit = (index // stride) % radices[g]
        base = index - digit * stride
        siblings = base[:, None] + stride * np.arange(radices[g])[None, :]
        p = self.probabilities[siblings]
        return p / p.sum(axis=1, keepdims=True)


def _strides(radices: np.ndarray) -> np.ndarray:
    strides = np.ones(len(radices), dtype=np.int64)
    for k in range(len(radices) - 2, -1, -1):
        strides[k] = strides[k + 1] * radices[k + 1]
    return strides


def _digits(index: np.ndarray, radices: np.ndarray) -> np.ndarray:
    return (index[:, None] // _strides(radices)[None, :]) % radices[None, :]


def enumerate_exact(layers: Sequence[Layer], moment_fn: Callable[[list[np.ndarray]], np.ndarray],
                    theta: np.ndarray, max_states: int) -> ExactDistribution:
    """Enumerate all joint states of ``layers`` and weight them by ``exp(θ·M(s))``.

    ``moment_fn`` maps one code array per layer (batched over states) to moments
    ``(n_states, n_theta)``; the energy is ``−θ·M`` for every model in :mod:`dbdlab.models`.
    """
    layers = tuple(layers)
    n_states = math.prod((lay.n_species + 1) ** lay.n_units for lay in layers)
    if n_states > max_states:
        raise ValueError(f"exact enumeration needs {n_states} joint states, more than "
                         f"max_states={max_states}; use a smaller model")
    radices = np.concatenate([np.full(lay.n_units, lay.n_species + 1) for lay in layers])
    digits = _digits(np.arange(n_states, dtype=np.int64), radices).astype(np.int8)
    states = tuple(np.split(digits, np.cumsum([lay.n_units for lay in layers])[:-1], axis=1))
    m = np.asarray(moment_fn(list(states)), dtype=np.float64)
    log_w = m @ np.asarray(theta, dtype=np.float64)
    log_z = float(logsumexp(log_w))
    for s in states:
        s.setflags(write=False)
    return ExactDistribution(layers, states, log_w, m, log_z, np.exp(log_w - log_z))


def exact_distribution(model: Any, theta: Any, max_states: int = 2_000_000) -> ExactDistribution:
    """Exact distribution of a :class:`~dbdlab.models.BoltzmannMachine` for one θ vector."""
    theta = np.asarray(model.check_theta(theta))
    if theta.ndim != 1:
        raise ValueError("exact enumeration takes a single theta vector")
    return enumerate_exact(model.layers, model.moments, theta, max_states)
