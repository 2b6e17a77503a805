"""Maximum-entropy initial conditions.

With all weights zero a multinomial Boltzmann machine factorises over units, and the expected
number of particles of species α on ``N`` units is (paper A eq. 46)

.. math:: \\mu_\\alpha = N \\frac{e^{a_\\alpha}}{1 + \\sum_\\beta e^{a_\\beta}},

so the MaxEnt biases that reproduce given counts are
``a_α = ln(ρ_α / (1 − Σ_β ρ_β))`` with densities ``ρ_α = μ_α / N``.  Examples: the Lotka–Volterra
visible biases for 100 + 100 particles on 1600 sites, ``a = ln(1/14) = −2.639`` (the authors use
−2.63, reproduction notes: repro-maxent); the Rössler visible biases for 200 of each species on 1000
sites,
``a = −ln 2``, and the hidden bias ``ln(1/7) = −1.95`` for ≈100 per species (reproduction notes:
repro-maxent).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dbdlab._checks import integer

__all__ = ["zero_weight_counts", "zero_weight_biases"]


def zero_weight_counts(biases: Mapping[str, float], n_units: int) -> dict[str, float]:
    """Expected particle numbers of a zero-weight layer with the given biases (paper A eq. 46).

    Parameters
    ----------
    biases
        Bias ``a_α`` per species of the layer.
    n_units
        Number of units of the layer.
    """
    if not biases:
        raise ValueError("biases: at least one species is needed")
    n_units = integer(n_units, "n_units", 1)
    values = np.array([float(a) for a in biases.values()])
    if not np.all(np.isfinite(values)):
        raise ValueError(f"biases must be finite, got {dict(biases)}")
    shift = max(0.0, values.max())  # log-sum-exp with the empty state's weight e^0
    weights = np.exp(values - shift)
    density = weights / (np.exp(-shift) + weights.sum())
    return {name: float(n_units * p) for name, p in zip(biases, density, strict=True)}


def zero_weight_biases(counts: Mapping[str, float], n_units: int) -> dict[str, float]:
    """MaxEnt biases of a zero-weight layer that reproduce the expected counts (inverse of eq. 46).

    Parameters
    ----------
    counts
        Target expected number of particles per species.
    n_units
        Number of units of the layer.

    Raises
    ------
    ValueError
        If a count is not positive or the counts fill the layer (Σ counts ≥ n_units).
    """
    if not counts:
        raise ValueError("counts: at least one species is needed")
    n_units = integer(n_units, "n_units", 1)
    density = {name: float(c) / n_units for name, c in counts.items()}
    for name, rho in density.items():
        if not rho > 0:
            raise ValueError(f"counts[{name!r}] must be positive, got {counts[name]!r}")
    empty = 1.0 - sum(density.values())
    if not empty > 0:
        raise ValueError(f"counts sum to {sum(counts.values())}, which fills all {n_units} units")
    return {name: float(np.log(rho / empty)) for name, rho in density.items()}
