"""Boltzmann machines on lattices: layers, local connectivity, θ naming, energy, moments.

* :class:`BoltzmannMachine` — layered multinomial model (paper B eq. 4), any number of 1D/2D/3D
  layers with local periodic or open connectivity; :class:`Layer`, :class:`LocalConnectivity`.
* :class:`FullyVisible1DModel` — the (b, J, K) chain of paper A eq. 37.
* :class:`Model` — the protocol both implement (:mod:`~dbdlab.models.protocol`).
* :mod:`~dbdlab.models.moments` — moments (uncentered and centered), energy, centers.
* :mod:`~dbdlab.models.centering` — centered parameterisation (paper B eqs. 7–8).
* :mod:`~dbdlab.models.enumeration` — exact enumeration of tiny models.
* :mod:`~dbdlab.models.architectures` — the papers' models.
"""

from .architectures import annihilation_rbm, lotka_volterra_dbm, rossler_rbm
from .boltzmann import BoltzmannMachine
from .centering import (
    bias_shift,
    centered_energy,
    centered_from_uncentered,
    uncentered_from_centered,
    unit_biases_from_centered,
)
from .connectivity import LocalConnectivity, local_connectivity, upper_shape
from .enumeration import ExactDistribution, exact_distribution
from .fully_visible import FullyVisible1DModel
from .layers import Layer
from .moments import energy, layer_occupations, mean_activations, moments, slide_centers
from .protocol import Model

__all__ = [
    "BoltzmannMachine",
    "ExactDistribution",
    "FullyVisible1DModel",
    "Layer",
    "LocalConnectivity",
    "Model",
    "annihilation_rbm",
    "bias_shift",
    "centered_energy",
    "centered_from_uncentered",
    "energy",
    "exact_distribution",
    "layer_occupations",
    "local_connectivity",
    "lotka_volterra_dbm",
    "mean_activations",
    "moments",
    "rossler_rbm",
    "slide_centers",
    "uncentered_from_centered",
    "unit_biases_from_centered",
    "upper_shape",
]
