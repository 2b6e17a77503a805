"""Neighbour-pattern sums of the local 2×2(×2) connectivity as separable box filters.

The Gibbs kernel needs, for every unit ``i`` of the layer it updates, the pattern index
``Σ_k step[code(n_k(i))]`` over the ``q = 2^d`` neighbours ``n_k(i)`` in an adjacent layer
(:mod:`dbdlab.sampling._numba_layers`).  Every connection of this package is the local pattern of
:mod:`dbdlab.models.connectivity`: the neighbours of a unit form a box ``x ± δ``, ``δ ∈ {0, 1}^d``,
so the sum factorises into one two-tap sum per axis,

``Σ_{δ ∈ {0,1}^d} v(x ∓ δ) = S_1 S_2 … S_d v``,  ``(S_a v)(x) = v(x) + v(x ∓ e_a)``,

``d`` passes over contiguous memory instead of ``2^d`` indirect loads per unit: the 3D Rössler
RBM's sweep (8 gathers of 3 dependent loads per unit) becomes ≈ 3× faster.  The sums are of
integers, so any order gives the same value and the samples stay bit-identical to the gather
path (and to the NumPy sampler).

Four modes, by the side the neighbours lie on and the connectivity (module docstring of
:mod:`dbdlab.models.connectivity`):

==========  ===================================  ========================================
mode        neighbours of unit ``x``             one axis, length ``n`` → ``n'``
==========  ===================================  ========================================
``0``       lower layer, periodic: ``x − δ``     ``v(x) + v(x−1 mod n)``, ``n' = n``
``1``       upper layer, periodic: ``x + δ``     ``v(x) + v(x+1 mod n)``, ``n' = n``
``2``       lower layer, open: ``x + δ``         ``v(x) + v(x+1)``, ``n' = n − 1``
``3``       upper layer, open: ``x − δ`` inside  ``v(x)[x<n] + v(x−1)[x≥1]``, ``n' = n + 1``
==========  ===================================  ========================================

:func:`box_plan` derives the modes of a model and *checks* them against the model's index tables
with random integer values (a mismatch leaves the model to the gather path), so a connectivity
with other conventions can never be summed wrongly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..models.boltzmann import BoltzmannMachine

__all__ = ["box_plan", "box_sum", "box_sum_reference"]

PERIODIC_LOWER, PERIODIC_UPPER, OPEN_LOWER, OPEN_UPPER = 0, 1, 2, 3


@njit(cache=True)
def _axis_length(n: int, mode: int) -> int:
    """Length ``n'`` of an axis of length ``n`` after one box pass of ``mode``."""
    return n - 1 if mode == OPEN_LOWER else n + 1 if mode == OPEN_UPPER else n


def box_sum_reference(values: np.ndarray, mode: int) -> np.ndarray:
    """The box sum of ``values`` (the neighbour layer's lattice) along every axis, in NumPy."""
    out = np.asarray(values)
    for axis in range(out.ndim):
        if mode == PERIODIC_LOWER:
            out = out + np.roll(out, 1, axis)
        elif mode == PERIODIC_UPPER:
            out = out + np.roll(out, -1, axis)
        elif mode == OPEN_LOWER:
            n = out.shape[axis]
            out = out.take(range(n - 1), axis) + out.take(range(1, n), axis)
        elif mode == OPEN_UPPER:
            pad_end = [(0, 0)] * out.ndim
            pad_start = [(0, 0)] * out.ndim
            pad_end[axis], pad_start[axis] = (0, 1), (1, 0)
            out = np.pad(out, pad_end) + np.pad(out, pad_start)
        else:
            raise ValueError(f"unknown box mode {mode}")
    return out


def box_plan(model: BoltzmannMachine) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, int]:
    """Box-sum modes of every layer's two sides, checked against the index tables.

    Returns
    -------
    ok
        Whether every side's neighbour sums equal the box sums (else use the gather path).
    mode
        ``(L, 2)`` int64: the mode of the lower (0) and upper (1) side, −1 where there is no
        adjacent layer.
    shape
        ``(L, 2, 3)`` int64: the neighbour layer's shape, padded in front with 1s to 3 axes.
    axes
        ``(L, 2)`` int64: the neighbour layer's number of axes.
    buffer_size
        Length of the scratch arrays :func:`box_sum` needs.
    """
    n_layers = model.n_layers
    mode = np.full((n_layers, 2), -1, dtype=np.int64)
    shape = np.ones((n_layers, 2, 3), dtype=np.int64)
    axes = np.zeros((n_layers, 2), dtype=np.int64)
    buffer_size = max(lay.n_units for lay in model.layers)
    ok = True
    rng = np.random.default_rng(0)
    for l in range(n_layers):
        for side, other in ((0, l - 1), (1, l + 1)):
            if not 0 <= other < n_layers:
                continue
            conn = model.connections[min(l, other)]
            source = tuple(model.layers[other].shape)
            if not hasattr(conn, "periodic") or not 1 <= len(source) <= 3:
                ok = False
                continue
            m = (PERIODIC_LOWER if side == 0 else PERIODIC_UPPER) if conn.periodic else \
                (OPEN_LOWER if side == 0 else OPEN_UPPER)
            mode[l, side], axes[l, side] = m, len(source)
            shape[l, side, 3 - len(source):] = source
            dims = list(source)
            for a in range(len(dims)):
                dims[a] = _axis_length(dims[a], m)
                buffer_size = max(buffer_size, int(np.prod(dims)))
            # the check: random integer values summed both ways (equal sums for random weights
            # means the same neighbours)
            values = rng.integers(0, 1 << 40, size=model.layers[other].n_units)
            table = conn.up_to_down if side == 0 else conn.down_to_up
            gathered = np.append(values, 0)[table].sum(axis=1)
            boxed = box_sum_reference(values.reshape(source), m).reshape(-1)
            if boxed.shape != gathered.shape or not np.array_equal(boxed, gathered):
                ok = False
    return ok, mode, shape, axes, buffer_size


@njit(cache=True, inline="always")
def _add(dst, d, src, s1, s2, length):
    """``dst[d:d+length] = src[s1:s1+length] + src[s2:s2+length]``.

    Unsigned indices: no negative-index fix-up, so LLVM vectorises the loop.
    """
    ud, u1, u2 = np.uint64(d), np.uint64(s1), np.uint64(s2)
    for k in range(np.uint64(length)):
        dst[ud + k] = src[u1 + k] + src[u2 + k]


@njit(cache=True, inline="always")
def _copy(dst, d, src, s, length):
    ud, us = np.uint64(d), np.uint64(s)
    for k in range(np.uint64(length)):
        dst[ud + k] = src[us + k]


@njit(cache=True)
def _box_pass(src, dst, outer, n, inner, mode):
    """One axis of the box sum: ``src`` ``(outer, n, inner)`` → ``dst`` ``(outer, n', inner)``.

    Periodic modes: one shifted addition over the whole array (shift ``inner``), then the
    slices that wrap are redone per ``outer`` block.  Open modes: for each ``outer`` index the
    axis and everything inside it is one contiguous block.  Returns ``n'``.
    """
    new = _axis_length(n, mode)
    # (n − 1)·inner: the length of the x ± 1 pairs that need no wrap, and the start of the
    # last slice x = n − 1
    last = (n - 1) * inner
    total = outer * n * inner
    if mode == PERIODIC_LOWER:  # v(x) + v(x − 1 mod n)
        _add(dst, inner, src, inner, 0, total - inner)
        for o in range(outer):
            s = o * n * inner
            _add(dst, s, src, s, s + last, inner)
    elif mode == PERIODIC_UPPER:  # v(x) + v(x + 1 mod n)
        _add(dst, 0, src, 0, inner, total - inner)
        for o in range(outer):
            s = o * n * inner
            _add(dst, s + last, src, s + last, s, inner)
    else:
        for o in range(outer):
            s = o * n * inner
            d = o * new * inner
            if mode == OPEN_LOWER:  # v(x) + v(x + 1), x < n − 1
                _add(dst, d, src, s, s + inner, last)
            else:  # v(x)[x < n] + v(x − 1)[x ≥ 1], x ≤ n
                _copy(dst, d, src, s, inner)
                _add(dst, d + inner, src, s + inner, s, last)
                _copy(dst, d + n * inner, src, s + last, inner)
    return new


@njit(cache=True)
def box_sum(row, src, step, shape, n_axes, mode, buf_a, buf_b):
    """Neighbour sums ``Σ_k step[row[src + n_k(i)]]`` of every unit, by box passes.

    ``row[src:]`` holds the neighbour layer's codes (C order, ``shape`` padded to 3 axes);
    ``buf_a`` and ``buf_b`` are scratch (``buffer_size`` of :func:`box_plan`).  Returns the
    buffer that holds the sums, in the updated layer's C order.
    """
    d0, d1, d2 = shape[0], shape[1], shape[2]
    first = np.uint64(src)
    for i in range(np.uint64(d0 * d1 * d2)):
        buf_a[i] = step[row[first + i]]
    cur, nxt = buf_a, buf_b
    for axis in range(3 - n_axes, 3):
        if axis == 0:
            d0 = _box_pass(cur, nxt, 1, d0, d1 * d2, mode)
        elif axis == 1:
            d1 = _box_pass(cur, nxt, d0, d1, d2, mode)
        else:
            d2 = _box_pass(cur, nxt, d0 * d1, d2, 1, mode)
        cur, nxt = nxt, cur
    return cur
