"""Closure analysis of learned dynamic Boltzmann distributions and classical moment closures.

Modules
-------
filters
    The low-pass FIR filter applied to parameter trajectories θ(t) before the eq. (14) analysis
    of paper B (arXiv 1905.12122).
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
