"""Closure analysis of learned dynamic Boltzmann distributions and classical moment closures.

Modules
-------
filters
    The low-pass FIR filter applied to parameter trajectories θ(t) before the eq. (14) analysis
    of paper B (arXiv 1905.12122).
decomposition
    Paper B eq. (14): observables, sampling protocol, covariances, ``F_θ`` and the channels
    ``F_θ · Cov(X, Y_θ)``.
mean_field, pair_approximation, moment_closure
    Classical closures of the lattice Lotka–Volterra system: the rate equations of paper B
    eq. (2), a square-lattice pair approximation, and well-mixed normal / Poisson / log-normal
    second-order moment closures; their common result type is in ``prediction``.
annihilation
    Mean field and pair approximation of the 1D annihilation ``A + A → ∅`` of paper A.

The chapter-06 experiment (held-out data, error tables, eq. (14) on a time grid) is
:mod:`dbdlab.experiments.closure_analysis`.
"""

from dbdlab.closure.filters import (
    DEFAULT_CUTOFF,
    default_kernel_length,
    frequency_response,
    lowpass,
    lowpass_kernel,
)

__all__ = [
    "DEFAULT_CUTOFF",
    "default_kernel_length",
    "frequency_response",
    "lowpass",
    "lowpass_kernel",
]
