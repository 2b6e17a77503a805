"""The fully visible 1D model of paper A eq. 37 (bias b, pair coupling J, triplet K).

``P(v) ∝ exp(b Σ_i v_i + J Σ_{i=1}^{N−1} v_i v_{i+1} + K Σ_{i=1}^{N−2} v_i v_{i+1} v_{i+2})`` on an
open chain of ``N`` binary sites holding one species (empty or occupied), the visible model of the
annihilation experiments and the distribution of their initial lattices (reproduction notes:
repro-initial, repro-model-moments, repro-architectures).  θ = ``(b, J, K)``; moments
``m_b = Σ v``, ``m_J = Σ v_i v_{i+1}``, ``m_K = Σ v_i v_{i+1} v_{i+2}`` (totals, open ends),
energy ``E = −θ·M``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dbdlab.backend import Array, array_module

from .boltzmann import NamedParameters
from .layers import Layer
from .states import flat_state, occupation

__all__ = ["FullyVisible1DModel"]


@dataclass(frozen=True)
class FullyVisible1DModel(NamedParameters):
    """Fully visible open-chain model with b, J, K (paper A eq. 37).

    Parameters
    ----------
    n_sites
        Chain length ``N`` (the papers use 1000).
    species
        Name of the single species (``"A"`` for annihilation).

    States are codes ``(chains, N)`` (0 = empty, 1 = occupied) or occupation probabilities
    ``(chains, N)``/``(chains, N, 1)`` (float).
    """

    n_sites: int
    species: str = "A"

    theta_names = ("b", "J", "K")

    def __post_init__(self) -> None:
        if int(self.n_sites) != self.n_sites or self.n_sites < 1:
            raise ValueError(f"n_sites must be a positive integer, got {self.n_sites!r}")
        object.__setattr__(self, "n_sites", int(self.n_sites))
        Layer((self.n_sites,), (self.species,))  # validates the species name

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The single visible layer (lets the generic chain constructors handle this model)."""
        return (Layer((self.n_sites,), (self.species,)),)

    @property
    def n_layers(self) -> int:
        return 1

    @property
    def n_theta(self) -> int:
        return 3

    def _occupied(self, v: Array | Sequence[Array]) -> Array:
        if isinstance(v, list | tuple):
            if len(v) != 1:
                raise ValueError(f"the fully visible model has one layer, got {len(v)} states")
            v = v[0]
        if np.dtype(v.dtype).kind == "f" and v.ndim == 2:
            v = v[..., None]
        return occupation(flat_state(v, self.layers[0], "v"), 1)[..., 0]

    def moments(self, v: Array | Sequence[Array]) -> Array:
        """``(m_b, m_J, m_K)`` per chain, shape ``(chains, 3)`` (reproduction notes:
        repro-model-moments)."""
        s = self._occupied(v)
        xp = array_module(s)
        pair = s[:, :-1] * s[:, 1:]
        triple = pair[:, :-1] * s[:, 2:]
        return xp.stack([s.sum(axis=1), pair.sum(axis=1), triple.sum(axis=1)], axis=1)

    def energy(self, v: Array | Sequence[Array], theta: Any) -> Array:
        """``E(v) = −b m_b − J m_J − K m_K`` per chain (paper A eq. 37)."""
        m = self.moments(v)
        xp = array_module(m)
        return -(m * xp.asarray(self.check_theta(theta))).sum(axis=-1)

    def conditional_log_odds(self, v: Array, theta: Any) -> Array:
        """``log p(v_i = 1 | rest) − log p(v_i = 0 | rest)`` for every site, ``(chains, N)``.

        ``b + J(v_{i−1} + v_{i+1}) + K(v_{i−2}v_{i−1} + v_{i−1}v_{i+1} + v_{i+1}v_{i+2})`` with
        sites outside the chain counted as empty (reproduction notes: repro-initial).
        """
        s = self._occupied(v)
        xp = array_module(s)
        theta = xp.asarray(self.check_theta(theta))
        b, J, K = (theta[..., k, None] for k in range(3))
        pad = xp.zeros((s.shape[0], 2))
        p = xp.concatenate([pad, s, pad], axis=1)
        l2, l1, r1, r2 = p[:, :-4], p[:, 1:-3], p[:, 3:-1], p[:, 4:]
        return b + J * (l1 + r1) + K * (l2 * l1 + l1 * r1 + r1 * r2)

    def exact(self, theta: Any, max_states: int = 2_000_000):
        """Exact distribution by enumeration of all ``2**N`` states."""
        from .enumeration import enumerate_exact

        theta = np.asarray(self.check_theta(theta))
        if theta.ndim != 1:
            raise ValueError("exact enumeration takes a single theta vector")
        return enumerate_exact(self.layers, self.moments, theta, max_states)
