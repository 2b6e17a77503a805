"""The θ(t) low-pass filter against its analytic frequency response (paper B, Fig. 3 analysis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from dbdlab.closure.filters import (
    DEFAULT_CUTOFF,
    default_kernel_length,
    frequency_response,
    lowpass,
    lowpass_kernel,
)

# Hamming-windowed sinc (Oppenheim & Schafer, Discrete-Time Signal Processing, Table 7.2): peak
# approximation error δ ≈ 0.0022 (−53 dB) over a transition band of approximate width 6.6π/(n − 1).
# The band edges below are taken 20 % wider than that approximate width; normalising the kernel to
# unit DC gain divides by 1 ± δ, which at most doubles the pass-band error.
HAMMING_RIPPLE = 0.0025
TRANSITION_MARGIN = 1.2


def test_default_kernel_length_matches_the_documented_rule():
    n = default_kernel_length(DEFAULT_CUTOFF)
    assert n == 209
    assert n % 2 == 1
    assert 6.6 * math.pi / (n - 1) <= DEFAULT_CUTOFF < 6.6 * math.pi / (n - 3)
    assert default_kernel_length(0.5) == 43


@pytest.mark.parametrize("n", [31, 101, 209])
def test_kernel_is_the_hamming_window_method_design(n):
    h = lowpass_kernel(DEFAULT_CUTOFF, n)
    np.testing.assert_allclose(h, h[::-1], rtol=0, atol=1e-17)
    assert h.sum() == pytest.approx(1.0, abs=1e-14)
    reference = signal.firwin(n, DEFAULT_CUTOFF / math.pi, window="hamming", scale=True)
    np.testing.assert_allclose(h, reference, rtol=1e-10, atol=1e-15)


def test_frequency_response_is_the_dtft_of_the_kernel():
    h = lowpass_kernel(0.3, 41)
    omega = np.linspace(0, math.pi, 57)
    _, dtft = signal.freqz(h, worN=omega)
    # freqz is the causal response; removing the (n-1)/2 delay leaves the real zero-phase one.
    zero_phase = dtft * np.exp(1j * omega * (h.size - 1) / 2)
    np.testing.assert_allclose(zero_phase.imag, 0.0, atol=1e-12)
    np.testing.assert_allclose(frequency_response(h, omega), zero_phase.real, atol=1e-12)


@pytest.mark.parametrize(
    ("cutoff", "n"), [(DEFAULT_CUTOFF, None), (DEFAULT_CUTOFF, 301), (0.4, 101), (1.0, 41)]
)
def test_response_has_the_designed_pass_cutoff_and_stop_bands(cutoff, n):
    h = lowpass_kernel(cutoff, n)
    width = TRANSITION_MARGIN * 6.6 * math.pi / (h.size - 1)
    assert width / 2 < cutoff  # the pass band [0, ω_c − Δω/2] is not empty
    omega = np.linspace(0, math.pi, 4001)
    response = frequency_response(h, omega)
    assert frequency_response(h, 0.0) == pytest.approx(1.0, abs=1e-14)
    # window method: the response crosses one half at the cutoff, to within the ripple
    assert frequency_response(h, cutoff) == pytest.approx(0.5, abs=HAMMING_RIPPLE)
    passband = omega <= cutoff - width / 2
    stopband = omega >= cutoff + width / 2
    assert np.max(np.abs(response[passband] - 1.0)) <= 2 * HAMMING_RIPPLE
    assert np.max(np.abs(response[stopband])) <= HAMMING_RIPPLE


@pytest.mark.parametrize("omega", [0.02, 0.1, 0.13, 0.5, 2.0])
def test_sinusoid_is_scaled_by_the_response_without_phase_shift(omega):
    n = 101
    t = np.arange(2000)
    x = np.cos(omega * t + 0.3)
    y = lowpass(x, DEFAULT_CUTOFF, n)
    interior = slice(n, -n)  # away from the padded edges the filter is an exact LTI operator
    expected = frequency_response(lowpass_kernel(DEFAULT_CUTOFF, n), omega) * x
    np.testing.assert_allclose(y[interior], expected[interior], atol=1e-12)


def test_edge_padding_repeats_the_edge_values():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    n = 21
    half = n // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    expected = np.convolve(padded, lowpass_kernel(DEFAULT_CUTOFF, n), mode="valid")
    np.testing.assert_allclose(lowpass(x, DEFAULT_CUTOFF, n), expected, atol=1e-14)
    # constants, including a kernel longer than the signal, pass unchanged
    np.testing.assert_allclose(lowpass(np.full(7, 2.5)), 2.5, atol=1e-13)


def test_filters_along_the_requested_axis_with_same_shape():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 50, 2))
    y = lowpass(x, 0.2, 15, axis=1)
    assert y.shape == x.shape
    for i in range(3):
        for k in range(2):
            np.testing.assert_allclose(y[i, :, k], lowpass(x[i, :, k], 0.2, 15), atol=1e-14)
    np.testing.assert_allclose(lowpass(x, 0.2, 15, axis=-2), y, atol=0)
    np.testing.assert_allclose(lowpass(x, 0.2, 1, axis=0), x, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cutoff": 0.0}, ValueError, "cutoff"),
        ({"cutoff": math.pi}, ValueError, "cutoff"),
        ({"cutoff": "0.1"}, TypeError, "cutoff"),
        ({"kernel_length": 20}, ValueError, "kernel_length"),
        ({"kernel_length": 0}, ValueError, "kernel_length"),
        ({"kernel_length": 21.0}, TypeError, "kernel_length"),
        ({"axis": 2}, ValueError, "axis"),
        ({"axis": 0.5}, TypeError, "axis"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        lowpass(np.zeros((4, 5)), **kwargs)


def test_bad_data_is_rejected():
    with pytest.raises(ValueError, match="finite"):
        lowpass(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="dimension"):
        lowpass(np.float64(1.0))
    with pytest.raises(ValueError, match="at least one sample"):
        lowpass(np.zeros((3, 0)))
    with pytest.raises(TypeError, match="real numeric"):
        lowpass(np.array([1 + 1j]))
    with pytest.raises(ValueError, match="odd length"):
        frequency_response(np.ones(4) / 4, 0.1)
