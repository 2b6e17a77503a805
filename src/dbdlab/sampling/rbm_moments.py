"""Moments of an RBM with the hidden layer replaced by ``p(h|v)``, from visible codes (paper A).

Paper A's wake phase (data clamped) and the end of its sleep phase both measure the moments
``M(v, p(h|v))``: visible counts, ``Σ_j p(h_jα|v)`` and ``Σ_{(i,j)} v_iβ p(h_jα|v)`` (reproduction
notes, ``(repro-rossler-config)=``).  The readable path is
``model.moments([v, hidden_probabilities(model, θ, v)])`` (:func:`rbm_moments_reference`).

The fast path (:func:`rbm_moments`) uses that, for binary visible units, ``p(h_j|v)`` depends on
``v`` only through the *pattern* of hidden unit ``j`` — the numbers ``n_jβ`` of its ``q`` visible
neighbours holding species ``β``.  A Numba kernel histograms the patterns of every chain (serial: a
``prange`` version measured slower on the shared two-core machine); the probabilities of the
patterns that can occur (``Σ_β n_β ≤ q``) come from the NumPy code
(:func:`~dbdlab.sampling.probabilities_from_activations`), and the moments are histogram-weighted
sums: ``Σ_j p_jα = Σ_n H(n) p_α(n)`` and ``Σ_j n_jβ p_jα = Σ_n H(n) n_β p_α(n)``.  The result equals
the reference up to the order of summation (≈ 1e-15 relative, tested).

The bit-identical path (:func:`rbm_moments_numba`, the learning loops' wake phase and the end of
their CD chains) keeps the reference's per-unit arithmetic and summation order instead: a Numba
kernel (``prange`` over chains, so results do not depend on the thread count) looks up every
hidden unit's ``p(h_j|v)`` in a per-pattern table built by the NumPy reference arithmetic (as
:func:`~dbdlab.sampling._numba_layers.cumulative_tables` does for the sampler), forms the same
products ``n_jβ p_jα`` and sums them over ``j`` in the order NumPy's ``sum`` uses: pairwise
(NumPy's 8-accumulator blocks of 128, :func:`_pairwise_sum`) for a contiguous reduction — the
weight moments and a one-species hidden bias — and one unit after the other for the strided
reduction of a hidden layer with several species.  Visible counts are exact integers.  The
result equals :func:`rbm_moments_reference` bit for bit (tested).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
from numba import njit, prange

from dbdlab.backend import kernel_threads

from ..models.boltzmann import BoltzmannMachine
from ._box_sums import box_sum
from .conditionals import probabilities_from_activations

__all__ = [
    "moments_from_histograms",
    "pattern_probabilities",
    "pattern_histograms",
    "kernel_applies",
    "probability_table",
    "rbm_moments",
    "rbm_moments_numba",
    "rbm_moments_reference",
    "visible_counts",
]


@njit(cache=True)
def _pattern_histogram(visible, up_to_down, step, n_patterns, use_box, box_shape, box_axes,
                       box_mode, buffer_size):
    """Histogram of the hidden units' dense visible patterns, per chain.

    With ``use_box`` the patterns are box sums (:func:`~dbdlab.sampling._box_sums.box_sum`,
    exact integers like the gathers through ``up_to_down``).
    """
    n_chains = visible.shape[0]
    n_hidden, q = up_to_down.shape
    hist = np.zeros((n_chains, n_patterns), dtype=np.int64)
    buf_a = np.empty(buffer_size, dtype=np.int64)
    buf_b = np.empty(buffer_size, dtype=np.int64)
    for c in range(n_chains):
        if use_box:
            sums = box_sum(visible[c], 0, step, box_shape, box_axes, box_mode, buf_a, buf_b)
            for j in range(n_hidden):
                hist[c, sums[j]] += 1
            continue
        for j in range(n_hidden):
            pattern = 0
            for k in range(q):
                pattern += step[visible[c, up_to_down[j, k]]]
            hist[c, pattern] += 1
    return hist


@njit(cache=True)
def _code_counts(visible, n_species):
    """Number of units holding each code ``1 … n_species``, per chain (branch-free)."""
    out = np.zeros((visible.shape[0], n_species), dtype=np.int64)
    for c in range(visible.shape[0]):
        counts = np.zeros(n_species + 1, dtype=np.int64)
        for i in range(visible.shape[1]):
            counts[visible[c, i]] += 1
        for k in range(n_species):
            out[c, k] = counts[k + 1]
    return out


def _check(model: BoltzmannMachine, theta: Any, visible: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(model, BoltzmannMachine) or model.n_layers != 2:
        raise ValueError("rbm_moments needs a two-layer BoltzmannMachine (an RBM)")
    v = np.asarray(visible)
    n_visible = model.layers[0].n_units
    if v.ndim != 2 or v.shape[1] != n_visible or v.dtype.kind not in "iu":
        raise ValueError(f"visible must be integer codes of shape (n_chains, {n_visible}), got "
                         f"{v.shape} {v.dtype}")
    theta = np.asarray(model.check_theta(theta), dtype=np.float64)
    if theta.ndim == 1:
        theta = np.broadcast_to(theta, (v.shape[0], theta.size))
    if theta.shape != (v.shape[0], model.n_theta):
        raise ValueError(f"theta must have shape ({model.n_theta},) or ({v.shape[0]}, "
                         f"{model.n_theta}), got {theta.shape}")
    return theta, v


_PATTERN_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pattern_table(model: BoltzmannMachine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-code increments, the possible patterns' dense indices and their counts ``n_β``."""
    cached = _PATTERN_TABLES.get(model)
    if cached is not None:
        return cached
    q = model.tables(np)[0][0].shape[1]
    m_v = model.layers[0].n_species
    radix = q + 1
    powers = radix ** np.arange(m_v, dtype=np.int64)
    step = np.concatenate([[0], powers]).astype(np.int64)
    dense = np.arange(radix**m_v)
    counts = ((dense[:, None] // powers) % radix).astype(np.float64)
    possible = counts.sum(axis=1) <= q
    _PATTERN_TABLES[model] = out = (step, dense[possible], counts[possible])
    return out


def pattern_histograms(model: BoltzmannMachine, visible: Any) -> np.ndarray:
    """Number of hidden units with each possible visible pattern, ``(n_chains, n_patterns)``.

    Patterns in the order of :func:`moments_from_histograms`; float64 so that histograms can be
    averaged over chains before the moments are formed (the moments are linear in them).
    """
    from ._numba_layers import _layout

    _check(model, np.zeros(model.n_theta), visible)
    step, possible, _ = _pattern_table(model)
    n_dense = int(possible[-1]) + 1  # the pattern "q of the last species" is the largest
    layout = _layout(model)
    # the sampler's box plan of the hidden layer's lower side (its increments are these steps)
    use_box = layout.box and np.array_equal(layout.step_lo[1, :len(step)], step)
    hist = _pattern_histogram(np.ascontiguousarray(visible, dtype=np.int8),
                              model.tables(np)[0][0], step, n_dense, use_box,
                              layout.box_shape[1, 0], layout.box_axes[1, 0],
                              layout.box_mode[1, 0], layout.buffer_size)
    return hist[:, possible].astype(np.float64)


def pattern_probabilities(model: BoltzmannMachine, theta: Any) -> np.ndarray:
    """``p(h_α = 1 | pattern)`` of every possible pattern, ``(n, n_patterns, M_h)``.

    ``theta`` ``(n_theta,)`` (``n = 1``) or ``(n, n_theta)``; patterns in the order of
    :func:`pattern_histograms`.
    """
    _, _, counts = _pattern_table(model)
    theta = np.atleast_2d(np.asarray(model.check_theta(theta), dtype=np.float64))
    biases, weights = model.unpack_theta(theta)
    return probabilities_from_activations(biases[1][:, None, :] + counts @ weights[0])


def moments_from_histograms(model: BoltzmannMachine, theta: Any, hist: np.ndarray,
                            visible_counts: np.ndarray,
                            probabilities: np.ndarray | None = None) -> np.ndarray:
    """``M(v, p(h|v))`` from pattern histograms (:func:`pattern_histograms`) and visible counts.

    ``theta`` ``(n_theta,)`` or ``(n, n_theta)``, ``hist`` ``(n, n_patterns)`` and
    ``visible_counts`` ``(n, M_v)`` (species counts) may be per chain or averaged over chains.
    ``probabilities`` (:func:`pattern_probabilities` of ``theta``) saves their evaluation when
    several histograms share one θ (e.g. the wake and sleep phases of a step).
    """
    _, _, counts = _pattern_table(model)
    hist = np.asarray(hist, dtype=np.float64)
    if probabilities is None:
        theta = np.asarray(model.check_theta(theta), dtype=np.float64)
        probabilities = pattern_probabilities(
            model, np.broadcast_to(theta, (hist.shape[0], model.n_theta)))
    p = np.broadcast_to(probabilities, (hist.shape[0], *np.shape(probabilities)[1:]))
    weighted = hist[:, :, None] * p
    out = np.empty((hist.shape[0], model.n_theta))
    out[:, model.bias_slices[0]] = visible_counts
    out[:, model.bias_slices[1]] = weighted.sum(axis=1)
    pair = np.swapaxes(weighted, 1, 2) @ counts  # (n, M_h, M_v): Σ_n H(n) p_α(n) n_β
    for a, b, k in model.weight_index[0]:
        out[:, k] = pair[:, b, a]
    return out


def visible_counts(model: BoltzmannMachine, visible: Any) -> np.ndarray:
    """Species counts of visible codes, ``(n_chains, M_v)`` (exact integers as float64)."""
    v = np.asarray(visible)
    m = model.layers[0].n_species
    if v.ndim == 2 and v.dtype.kind in "iu" and v.size and 0 <= v.min() and v.max() <= m:
        return _code_counts(np.ascontiguousarray(v, dtype=np.int8), m).astype(np.float64)
    return np.stack([(v == k + 1).sum(axis=1) for k in range(m)], axis=1).astype(np.float64)


def rbm_moments(model: BoltzmannMachine, theta: Any, visible: Any) -> np.ndarray:
    """Moments ``M(v, p(h|v))`` per chain, ``(n_chains, n_theta)`` (module docstring).

    Parameters
    ----------
    model
        A two-layer :class:`~dbdlab.models.BoltzmannMachine`.
    theta
        ``(n_theta,)`` or one row per chain.
    visible
        Visible codes ``(n_chains, N_0)`` (0 empty, ``k`` the ``k``-th species).
    """
    theta, v = _check(model, theta, visible)
    return moments_from_histograms(model, theta, pattern_histograms(model, v),
                                   visible_counts(model, v))


def rbm_moments_reference(model: BoltzmannMachine, theta: Any, visible: Any) -> np.ndarray:
    """The readable path: ``model.moments([v, hidden_probabilities(model, θ, v)])``."""
    from .gibbs import hidden_probabilities

    theta, v = _check(model, theta, visible)
    return np.asarray(model.moments([v, hidden_probabilities(model, theta, v)]))


# --- bit-identical kernel ---------------------------------------------------------------------

#: NumPy's pairwise-summation block (``PW_BLOCKSIZE`` of ``numpy/_core/src/umath/loops_utils.h``)
_PW_BLOCKSIZE = 128


@njit(cache=True)
def _block_sum(a, lo, n):
    """NumPy's pairwise-summation leaf (``n ≤ 128`` terms of ``a[lo:]``)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def _pairwise_sum(a, n):
    """``a[:n].sum()`` in NumPy's order for a contiguous float64 reduction.

    Below 8 terms one after the other; up to 128 terms 8 interleaved accumulators combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the remainder; above, the sum of
    the two halves (split at a multiple of 8), each summed the same way.  NumPy's recursion is
    unrolled into an explicit stack (a recursive function cannot be loaded from Numba's cache).
    """
    if n <= _PW_BLOCKSIZE:
        return _block_sum(a, 0, n)
    # tasks: (lo, n) to expand, or n = -1 "add the two last values"; depth ≤ 64 halvings
    task_lo = np.empty(256, dtype=np.int64)
    task_n = np.empty(256, dtype=np.int64)
    values = np.empty(128)
    n_tasks, n_values = 1, 0
    task_lo[0], task_n[0] = 0, n
    while n_tasks > 0:
        n_tasks -= 1
        lo, m = task_lo[n_tasks], task_n[n_tasks]
        if m < 0:
            n_values -= 1
            values[n_values - 1] = values[n_values - 1] + values[n_values]
        elif m <= _PW_BLOCKSIZE:
            values[n_values] = _block_sum(a, lo, m)
            n_values += 1
        else:
            half = m // 2
            half -= half % 8
            # popped in reverse: left half, right half, then their sum
            task_lo[n_tasks], task_n[n_tasks] = 0, -1
            task_lo[n_tasks + 1], task_n[n_tasks + 1] = lo + half, m - half
            task_lo[n_tasks + 2], task_n[n_tasks + 2] = lo, half
            n_tasks += 3
    return values[0]


@njit(parallel=True, cache=True)
def _rbm_moments_kernel(visible, up_to_down, step, p_table, counts, pairs, v_start, h_start,
                        pairwise_bias, out):
    """``out[c] = M(v_c, p(h|v_c))`` in the reference's arithmetic (module docstring).

    ``p_table`` is ``(T, D, M_h)`` (``T = 1`` shared θ, else one row per chain) over the dense
    patterns, ``counts`` ``(D, M_v)`` their neighbour counts ``n_β``, ``pairs`` ``(K, 3)`` the
    weight moments' ``(α_visible, β_hidden, θ index)``.
    """
    n_chains, n_visible = visible.shape
    n_hidden, q = up_to_down.shape
    n_dense, m_visible = counts.shape
    m_hidden = p_table.shape[2]
    t_stride = np.int64(1) if p_table.shape[0] > 1 else np.int64(0)
    for c in prange(n_chains):
        row = visible[c]
        tab = p_table[np.int64(c) * t_stride]
        # species counts, one branch-free pass per species (a branch on random codes mispredicts)
        for b in range(m_visible):
            code = np.int8(b + 1)
            total = np.int64(0)
            for i in range(n_visible):
                total += row[i] == code
            out[c, v_start + b] = np.float64(total)
        pattern = np.empty(n_hidden, dtype=np.int64)
        for j in range(n_hidden):
            d = np.int64(0)
            for k in range(q):
                d += step[row[up_to_down[j, k]]]
            pattern[j] = d
        # per unit, the value of its pattern: p_α, or the product n_β p_α (the reference's
        # operands, so the same rounding), gathered into the terms of one sum
        values = np.empty(n_dense)
        terms = np.empty(n_hidden)
        for a in range(m_hidden):
            for d in range(n_dense):
                values[d] = tab[d, a]
            if pairwise_bias:
                for j in range(n_hidden):
                    terms[j] = values[pattern[j]]
                out[c, h_start + a] = 0.0 + _pairwise_sum(terms, n_hidden)
            else:
                total_p = 0.0
                for j in range(n_hidden):
                    total_p += values[pattern[j]]
                out[c, h_start + a] = total_p
        for w in range(pairs.shape[0]):
            a, b = pairs[w, 0], pairs[w, 1]
            for d in range(n_dense):
                values[d] = counts[d, a] * tab[d, b]
            for j in range(n_hidden):
                terms[j] = values[pattern[j]]
            out[c, pairs[w, 2]] = 0.0 + _pairwise_sum(terms, n_hidden)


def kernel_applies(model: Any, theta_rows: int = 1) -> bool:
    """Whether :func:`rbm_moments_numba` takes ``model`` (with ``theta_rows`` rows of θ).

    It needs a two-layer :class:`~dbdlab.models.BoltzmannMachine` whose probability table
    (:func:`probability_table`) stays within the sampler kernel's
    :data:`~dbdlab.sampling._numba_layers.MAX_TABLE_ENTRIES`.
    """
    from ._numba_layers import MAX_TABLE_ENTRIES

    if not isinstance(model, BoltzmannMachine) or model.n_layers != 2:
        return False
    q = model.tables(np)[0][0].shape[1]
    dense = (q + 1) ** model.layers[0].n_species
    return max(int(theta_rows), 1) * dense * model.layers[1].n_species <= MAX_TABLE_ENTRIES


def probability_table(model: BoltzmannMachine, theta: np.ndarray) -> np.ndarray:
    """``p(h_jα = 1 | v)`` of every dense visible pattern, ``(T, D, M_h)`` float64.

    The hidden layer's block of the sampler's tables
    (:func:`~dbdlab.sampling._numba_layers.pattern_tables` without the cumulative sum), built by
    the NumPy reference arithmetic, so every entry is bit-identical to the probability the
    reference computes for a hidden unit with that pattern.  ``T`` is 1 for ``theta``
    ``(n_theta,)`` and the number of rows for one θ per chain; rows of patterns that cannot
    occur (more than ``q`` neighbours) are 0.
    """
    from ._numba_layers import pattern_tables

    biases, weights = model.unpack_theta(np.asarray(theta, dtype=np.float64))
    table, _ = pattern_tables(model, biases, weights, [1], cumulative=False)
    return table.reshape(len(table), -1, model.layers[1].n_species)


def rbm_moments_numba(model: BoltzmannMachine, theta: Any, visible: Any) -> np.ndarray:
    """Moments ``M(v, p(h|v))`` per chain, bit-identical to :func:`rbm_moments_reference`.

    Parameters
    ----------
    model
        A two-layer :class:`~dbdlab.models.BoltzmannMachine`.
    theta
        ``(n_theta,)`` or one row per chain.
    visible
        Visible codes ``(n_chains, N_0)`` (0 empty, ``k`` the ``k``-th species).

    Returns
    -------
    ``(n_chains, n_theta)`` float64 (module docstring: the Numba kernel).
    """
    _check(model, theta, visible)
    theta = np.asarray(model.check_theta(theta), dtype=np.float64)
    v = np.ascontiguousarray(visible, dtype=np.int8)
    step, possible, counts = _pattern_table(model)
    dense_counts = np.zeros((int(possible[-1]) + 1, counts.shape[1]))
    dense_counts[possible] = counts
    pairs = np.array(model.weight_index[0], dtype=np.int64).reshape(-1, 3)
    out = np.empty((v.shape[0], model.n_theta))
    table = probability_table(model, theta)
    with kernel_threads(v.size):
        _rbm_moments_kernel(v, model.tables(np)[0][0], step, table, dense_counts, pairs,
                            model.bias_slices[0].start, model.bias_slices[1].start,
                            model.layers[1].n_species == 1, out)
    return out
