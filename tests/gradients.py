"""Comparison of sparse finite-element gradients shared by the adjoint tests."""

import numpy as np


def relative_difference(a, b) -> float:
    """``‖a − b‖ / ‖a‖`` over all fields' coefficients; the touched vertices must agree."""
    diff = norm = 0.0
    for name in a:
        np.testing.assert_array_equal(a[name].vertices, b[name].vertices)
        diff += np.sum((a[name].values - b[name].values) ** 2)
        norm += np.sum(a[name].values ** 2)
    return np.sqrt(diff / norm)
