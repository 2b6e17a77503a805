"""Gibbs sampling of the fully visible 1D model with bias b, pair coupling J and triplet K.

``P(v) ∝ exp(b Σ v_i + J Σ v_i v_{i+1} + K Σ v_i v_{i+1} v_{i+2})`` on an open chain
(paper A eq. 37).  A sweep visits the sites in three interleaved classes (0-based ``i ≡ 0, 1, 2
mod 3``); sites of one class are three apart, so their conditionals are independent and the class
is updated as a block.  The "on" log-weight of site ``i`` is
``b + J(v_{i−1} + v_{i+1}) + K(v_{i−2}v_{i−1} + v_{i−1}v_{i+1} + v_{i+1}v_{i+2})`` with terms
outside the chain omitted (reproduction notes: repro-initial).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..rng import uniform_nb

__all__ = ["conditional_field", "three_class_sweeps"]


@njit(cache=True)
def _field(b, J, K, pair, triple):
    """``b + J·pair + K·triple`` (integer neighbour sums), the one expression of the log-odds."""
    return b + J * pair + K * triple


@njit(cache=True)
def conditional_field(v, i, b, J, K):
    """Log-odds of ``v_i = 1`` given the other sites (open chain)."""
    n = v.shape[0]
    left1 = v[i - 1] if i >= 1 else 0
    left2 = v[i - 2] if i >= 2 else 0
    right1 = v[i + 1] if i + 1 < n else 0
    right2 = v[i + 2] if i + 2 < n else 0
    return _field(b, J, K, left1 + right1, left2 * left1 + left1 * right1 + right1 * right2)


@njit(parallel=True, cache=True)
def three_class_sweeps(v, b, J, K, keys, n_sweeps, first_counter):
    """Run ``n_sweeps`` three-class sweeps on every chain ``v[c]`` (int8 0/1, in place).

    Chain ``c`` uses parameters ``(b[c], J[c], K[c])`` and stream ``keys[c]``, one uniform per
    site update, counters starting at ``first_counter``.  Sites must be 0/1: the acceptance
    weights ``1 + e^{−field}`` are looked up by the neighbour sums (pair ≤ 2, triple ≤ 3).
    """
    n_chains, n = v.shape
    for c in prange(n_chains):
        # 1 + e^{−field} of the 3 × 4 possible (pair, triple) neighbour sums of 0/1 sites, each
        # computed once by the same expression (so the same bits) instead of once per site
        weight = np.empty((3, 4))
        for pair in range(3):
            for triple in range(4):
                weight[pair, triple] = 1.0 + np.exp(-_field(b[c], J[c], K[c], pair, triple))
        counter = first_counter
        vc = v[c]
        for _ in range(n_sweeps):
            for cls in range(3):
                for i in range(cls, n, 3):
                    left1 = vc[i - 1] if i >= 1 else 0
                    left2 = vc[i - 2] if i >= 2 else 0
                    right1 = vc[i + 1] if i + 1 < n else 0
                    right2 = vc[i + 2] if i + 2 < n else 0
                    pair = left1 + right1
                    triple = left2 * left1 + left1 * right1 + right1 * right2
                    u = uniform_nb(keys[c], counter)
                    counter += 1
                    vc[i] = 1 if u * weight[pair, triple] < 1.0 else 0


@njit(parallel=True, cache=True)
def random_fill(v, keys):
    """Random total count uniform in {0…N}, placed on uniformly random sites (reproduction notes:
    repro-initial).

    Uses draws 0 … N of each chain's stream (partial Fisher–Yates shuffle).
    """
    n_chains, n = v.shape
    for c in prange(n_chains):
        u = uniform_nb(keys[c], 0)
        total = min(int(u * (n + 1)), n)
        order = np.arange(n)
        for j in range(total):
            k = j + min(int(uniform_nb(keys[c], j + 1) * (n - j)), n - j - 1)
            order[j], order[k] = order[k], order[j]
            v[c, order[j]] = 1
