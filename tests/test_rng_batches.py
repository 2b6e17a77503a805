"""Batches drawn from the counter-based streams: dbdlab.rng.sample_without_replacement and its
Numba twin for many groups, child_samples_without_replacement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dbdlab.rng import (
    Purpose,
    child_samples_without_replacement,
    derive,
    sample_without_replacement,
    stream_key,
)


def test_distinct_sorted_and_reproducible():
    key = stream_key(5, Purpose.BATCH, 3, 1)
    rows = sample_without_replacement(key, 50, 10)
    assert rows.shape == (10,) and np.all(np.diff(rows) > 0)
    assert rows.min() >= 0 and rows.max() < 50
    np.testing.assert_array_equal(rows, sample_without_replacement(key, 50, 10))
    assert not np.array_equal(rows, sample_without_replacement(stream_key(5, Purpose.BATCH, 4, 1),
                                                                50, 10))
    np.testing.assert_array_equal(sample_without_replacement(key, 7, 7), np.arange(7))
    assert sample_without_replacement(key, 7, 0).size == 0


def test_every_subset_equally_likely():
    """All C(5, 2) = 10 subsets over 20000 streams: each count within 4 standard errors."""
    n, k, draws = 5, 2, 20000
    counts = dict.fromkeys(itertools.combinations(range(n), k), 0)
    for i in range(draws):
        counts[tuple(sample_without_replacement(stream_key(0, Purpose.BATCH, i), n, k))] += 1
    p = 1 / len(counts)
    se = np.sqrt(draws * p * (1 - p))
    assert all(abs(c - draws * p) <= 4 * se for c in counts.values()), counts


@pytest.mark.parametrize(("n", "k"), [(5, 6), (5, -1), (5.5, 2)])
def test_bad_sizes_raise(n, k):
    with pytest.raises(ValueError, match="0 <= k <= n"):
        sample_without_replacement(1, n, k)


@pytest.mark.parametrize("seed", range(6))
def test_child_samples_equal_the_python_draws(seed):
    rng = np.random.default_rng(seed)
    parent = stream_key(seed, Purpose.BATCH, 17)
    sizes = rng.integers(1, 3000, 9)
    for k in (0, 1, int(sizes.min()) // 2, int(sizes.min())):
        got = child_samples_without_replacement(parent, sizes, k)
        assert got.shape == (len(sizes), k)
        for g, n in enumerate(sizes):
            np.testing.assert_array_equal(got[g],
                                          sample_without_replacement(derive(parent, g), n, k))
    with pytest.raises(ValueError, match="0 <= k <= every size"):
        child_samples_without_replacement(parent, sizes, int(sizes.min()) + 1)
