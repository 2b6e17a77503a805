"""Samplers of lattice Boltzmann machines: block Gibbs, CD-k, PCD, mean field (paper B §III.B).

* :mod:`~dbdlab.sampling.chains` — :class:`Chains` (per-layer states + random streams) and their
  starts: :func:`random_chains`, :func:`empty_chains`, :func:`data_chains` (clamped or not).
* :mod:`~dbdlab.sampling.conditionals` — one layer given its neighbours:
  :func:`layer_activations`, :func:`layer_conditionals`, :func:`sample_layer`.
* :mod:`~dbdlab.sampling.gibbs` — :func:`gibbs_sweeps`, :func:`mean_field_steps`,
  :func:`hidden_probabilities`, :func:`cd_k`.
* :mod:`~dbdlab.sampling.fully_visible` — the (b, J, K) chain's three-class sweep (Numba kernel
  in :mod:`~dbdlab.simulate._fully_visible_1d`, array-module twin).

All of it is written against an array module, so the same code runs on NumPy and CuPy.
"""

from .chains import Chains, data_chains, empty_chains, random_chains
from .conditionals import (
    layer_activations,
    layer_conditionals,
    probabilities_from_activations,
    sample_layer,
    sample_layer_given_neighbours,
)
from .fully_visible import fully_visible_sweeps, three_class_sweeps_xp
from .gibbs import cd_k, default_order, gibbs_sweeps, hidden_probabilities, mean_field_steps

__all__ = [
    "Chains",
    "cd_k",
    "data_chains",
    "default_order",
    "empty_chains",
    "fully_visible_sweeps",
    "gibbs_sweeps",
    "three_class_sweeps_xp",
    "hidden_probabilities",
    "layer_activations",
    "layer_conditionals",
    "mean_field_steps",
    "probabilities_from_activations",
    "random_chains",
    "sample_layer",
    "sample_layer_given_neighbours",
]
