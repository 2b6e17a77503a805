"""Zero-phase FIR low-pass filter for parameter trajectories θ(t).

Paper B (arXiv 1905.12122) smooths each learned parameter trajectory before sampling it and before
differencing it for the eq. (14) closure terms.  The original analysis used a window-method FIR
low-pass filter with a Hamming window, cutoff 0.1 rad/sample (sample rate 1, Nyquist π), the
output aligned with the input (zero phase, same length) and the signal extended beyond its ends by
repeating the edge values.  This module implements exactly that design; the one setting the
original leaves undocumented, the kernel length, is a parameter here (see
:func:`default_kernel_length`; reproduction notes, ``(repro-lv-lowpass)=``).

Design
------
The kernel is the ideal low-pass impulse response (the least-squares FIR approximation of a
brick-wall response) multiplied by a Hamming window and normalised to unit DC gain::

    h[k] = w[k] · sin(ω_c m) / (π m) / Σ_j (…)_j,     m = k − (n − 1)/2,   k = 0 … n − 1,
    w[k] = 0.54 − 0.46 cos(2π k / (n − 1)).

The kernel length ``n`` is odd, so ``h`` is symmetric about its centre and the centred
convolution has the real (zero-phase) frequency response

    H(ω) = h[c] + 2 Σ_{m=1}^{c} h[c + m] cos(ω m),   c = (n − 1)/2,

evaluated by :func:`frequency_response`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DEFAULT_CUTOFF",
    "HAMMING_TRANSITION",
    "default_kernel_length",
    "frequency_response",
    "lowpass",
    "lowpass_kernel",
]

DEFAULT_CUTOFF = 0.1
"""Cutoff frequency of the original analysis, in rad/sample (paper B, Fig. 3 data)."""

HAMMING_TRANSITION = 6.6 * math.pi
"""Transition width × filter order of a Hamming-windowed sinc (rad): Δω ≈ 6.6π / (n − 1)."""


def _check_cutoff(cutoff: float) -> float:
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float, np.floating, np.integer)):
        raise TypeError(f"cutoff must be a real number in rad/sample, got {type(cutoff).__name__}")
    cutoff = float(cutoff)
    if not (0.0 < cutoff < math.pi):
        raise ValueError(f"cutoff must lie in (0, π) rad/sample, got {cutoff}")
    return cutoff


def _check_kernel_length(kernel_length: int) -> int:
    if isinstance(kernel_length, bool) or not isinstance(kernel_length, (int, np.integer)):
        raise TypeError(
            f"kernel_length must be an odd positive integer, got {type(kernel_length).__name__}"
        )
    kernel_length = int(kernel_length)
    if kernel_length < 1 or kernel_length % 2 == 0:
        raise ValueError(f"kernel_length must be an odd positive integer, got {kernel_length}")
    return kernel_length


def default_kernel_length(cutoff: float = DEFAULT_CUTOFF) -> int:
    """Default kernel length: the shortest odd ``n`` whose transition width is at most the cutoff.

    A Hamming-windowed sinc of length ``n`` falls from its pass band to its stop band (≈ −53 dB)
    over a band of width Δω ≈ 6.6π/(n − 1) rad/sample centred on the cutoff (Oppenheim & Schafer,
    Discrete-Time Signal Processing, Table 7.2).  We choose Δω ≤ ω_c: the response is flat
    (ripple ≈ 0.2 %) below about ω_c/2 and attenuated by about 53 dB above about 3ω_c/2, while
    the kernel stays as short as that allows (longer kernels smear the edges of a finite θ(t)
    more, through the repeated edge values).
    For the original cutoff 0.1 rad/sample this gives ``n = 209`` (the original kernel length is
    not documented; reproduction notes, ``(repro-lv-lowpass)=``).

    Parameters
    ----------
    cutoff
        Cutoff frequency ω_c in rad/sample, in (0, π).

    Returns
    -------
    int
        Odd kernel length.
    """
    cutoff = _check_cutoff(cutoff)
    n = math.ceil(HAMMING_TRANSITION / cutoff) + 1
    return n if n % 2 == 1 else n + 1


def lowpass_kernel(cutoff: float = DEFAULT_CUTOFF, kernel_length: int | None = None) -> np.ndarray:
    """Hamming-windowed sinc low-pass kernel with unit DC gain.

    Parameters
    ----------
    cutoff
        Cutoff frequency ω_c in rad/sample, in (0, π) (sample rate 1, Nyquist π).
    kernel_length
        Odd number of taps; ``None`` uses :func:`default_kernel_length`.

    Returns
    -------
    numpy.ndarray
        Symmetric kernel of shape ``(kernel_length,)`` summing to 1.
    """
    cutoff = _check_cutoff(cutoff)
    n = (
        default_kernel_length(cutoff)
        if kernel_length is None
        else _check_kernel_length(kernel_length)
    )
    if n == 1:
        return np.ones(1)
    m = np.arange(n) - (n - 1) / 2
    ideal = (cutoff / math.pi) * np.sinc(cutoff * m / math.pi)
    window = 0.54 - 0.46 * np.cos(2.0 * math.pi * np.arange(n) / (n - 1))
    h = ideal * window
    h = 0.5 * (h + h[::-1])  # exact symmetry (zero phase) despite rounding in the cosines
    return h / h.sum()


def frequency_response(kernel: np.ndarray, omega: np.ndarray | float) -> np.ndarray:
    """Real (zero-phase) frequency response H(ω) of a symmetric odd-length kernel.

    Parameters
    ----------
    kernel
        Symmetric kernel of odd length, as returned by :func:`lowpass_kernel`.
    omega
        Angular frequencies in rad/sample.

    Returns
    -------
    numpy.ndarray
        ``H(ω) = h[c] + 2 Σ_m h[c+m] cos(ω m)``, same shape as ``omega``.
    """
    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 1 or kernel.size % 2 == 0:
        raise ValueError(f"kernel must be one-dimensional of odd length, got shape {kernel.shape}")
    if not np.allclose(kernel, kernel[::-1], rtol=0.0, atol=1e-15):
        raise ValueError("kernel must be symmetric (zero phase)")
    omega = np.asarray(omega, dtype=float)
    c = kernel.size // 2
    m = np.arange(1, c + 1)
    return kernel[c] + 2.0 * np.tensordot(np.cos(omega[..., None] * m), kernel[c + 1 :], axes=1)


def lowpass(
    data: np.ndarray,
    cutoff: float = DEFAULT_CUTOFF,
    kernel_length: int | None = None,
    axis: int = -1,
) -> np.ndarray:
    """Zero-phase low-pass filter along one axis, with edge values repeated beyond the ends.

    Parameters
    ----------
    data
        Real array; filtered independently along ``axis`` (e.g. time for a θ(t) array of shape
        ``(n_parameters, n_times)``).
    cutoff
        Cutoff frequency ω_c in rad/sample, in (0, π); the original analysis used 0.1.
    kernel_length
        Odd number of taps; ``None`` uses :func:`default_kernel_length` (209 for ω_c = 0.1).
        The kernel may be longer than the signal: the padding then repeats the edge values.
    axis
        Axis along which to filter.

    Returns
    -------
    numpy.ndarray
        Filtered array of the same shape as ``data`` (float64).  A constant signal is returned
        unchanged; a sinusoid of frequency ω far from the edges is scaled by ``H(ω)``
        (:func:`frequency_response`) without phase shift.
    """
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"data must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError("data must have at least one dimension")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis} is out of range for data with {arr.ndim} dimensions")
    if arr.shape[axis] == 0:
        raise ValueError("data must have at least one sample along axis")
    arr = arr.astype(float, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("data must be finite (no NaN or inf)")
    kernel = lowpass_kernel(cutoff, kernel_length)
    half = kernel.size // 2
    moved = np.moveaxis(arr, axis, -1)
    n = moved.shape[-1]
    padded = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(half, half)], mode="edge")
    out = np.zeros_like(moved)
    for j in range(kernel.size):
        out += kernel[j] * padded[..., j : j + n]
    return np.moveaxis(out, -1, axis)
