"""MaxEnt initial conditions: paper A eq. 46 and its inverse."""

import numpy as np
import pytest

from dbdlab.maxent import zero_weight_biases, zero_weight_counts


def test_lotka_volterra_bias_is_minus_ln_14():
    biases = zero_weight_biases({"X": 100, "Y": 100}, 1600)
    assert biases["X"] == pytest.approx(-np.log(14), abs=1e-14)
    assert biases["Y"] == pytest.approx(-np.log(14), abs=1e-14)


def test_rossler_biases():
    visible = zero_weight_biases({"A": 200, "B": 200, "C": 200}, 1000)
    assert all(v == pytest.approx(-np.log(2), abs=1e-14) for v in visible.values())
    hidden = zero_weight_counts({"X1": np.log(1 / 7), "Y1": np.log(1 / 7), "Z1": np.log(1 / 7)},
                                1000)
    assert all(c == pytest.approx(100.0, abs=1e-9) for c in hidden.values())


def test_round_trip_with_unequal_counts():
    counts = {"A": 13.0, "B": 250.0, "C": 600.0}
    biases = zero_weight_biases(counts, 1000)
    assert zero_weight_counts(biases, 1000) == pytest.approx(counts, rel=1e-12)


def test_counts_stay_finite_for_large_biases():
    counts = zero_weight_counts({"A": 800.0, "B": 0.0}, 10)
    assert counts["A"] == pytest.approx(10.0) and counts["B"] < 1e-300


@pytest.mark.parametrize(
    ("counts", "match"),
    [({"A": 0}, "counts\\['A'\\] must be positive"), ({"A": 600, "B": 400}, "fills all"),
     ({}, "at least one species")],
)
def test_bad_counts(counts, match):
    with pytest.raises(ValueError, match=match):
        zero_weight_biases(counts, 1000)


def test_bad_units():
    with pytest.raises(ValueError, match="n_units"):
        zero_weight_counts({"A": 0.0}, 0)
