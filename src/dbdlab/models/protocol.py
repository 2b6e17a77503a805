"""The model protocol: what samplers, estimators and learning ask of a model.

Two kinds of model implement it: :class:`~dbdlab.models.BoltzmannMachine` (layered, paper B
eq. 4) and :class:`~dbdlab.models.FullyVisible1DModel` (the (b, J, K) chain of paper A eq. 37).
Code above the models layer checks ``isinstance(model, Model)`` and uses these members; what a
model needs beyond them (e.g. the inter-layer ``connections`` of the layered Numba kernel) it
asks for by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from dbdlab.backend import Array

from .layers import Layer

__all__ = ["Model"]


@runtime_checkable
class Model(Protocol):
    """A Boltzmann distribution over lattice layers with named parameters θ."""

    #: Parameter names, in the order of θ.
    theta_names: tuple[str, ...]

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers, visible first."""

    @property
    def n_layers(self) -> int:
        """Number of layers (1 for a fully visible model)."""

    @property
    def n_theta(self) -> int:
        """Number of parameters."""

    def check_theta(self, theta: Any) -> Array:
        """θ as an array ``(n_theta,)`` or ``(rows, n_theta)``; ``ValueError`` if malformed."""

    def moments(self, layers: Sequence[Array]) -> Array:
        """Moments conjugate to θ (totals over units), one row per chain."""

    def energy(self, layers: Sequence[Array], theta: Any) -> Array:
        """Energy ``−θ·M`` per chain."""
