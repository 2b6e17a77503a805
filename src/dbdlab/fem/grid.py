"""The unbounded grid of the finite elements: cell location and a hash table of vertices.

A point is located in its cell by the authors' rule (:mod:`dbdlab.fem`); vertices are stored
sparsely and found through an open-addressing hash table keyed by a 64-bit hash of their
integer index vector, every hit verified against the stored indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from dbdlab.rng import mix64_nb

# Cell indices are exact int64 and fractions meaningful only while |x − z0|/Δ stays well inside
# the float64 mantissa.
_MAX_CELL_OFFSET = 2.0**52

_HASH_SEED = np.uint64(0x243F6A8885A308D3)
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _hash_vertex(vertex):
    h = _HASH_SEED
    for k in range(vertex.shape[0]):
        h = mix64_nb(h ^ (np.uint64(vertex[k]) * _HASH_MULT))
    return h



@njit(cache=True)
def _hash_rows(rows):
    out = np.empty(rows.shape[0], dtype=np.uint64)
    for i in range(rows.shape[0]):
        out[i] = _hash_vertex(rows[i])
    return out



@njit(cache=True)
def _same_row(a, i, b, j):
    for k in range(a.shape[1]):
        if a[i, k] != b[j, k]:
            return False
    return True



@njit(cache=True)
def _table_insert(slots, slot_hashes, hashes, first, stop):
    """Enter storage rows ``first … stop−1`` (known to be absent) into the open-address table."""
    mask = np.uint64(slots.shape[0] - 1)
    for r in range(first, stop):
        pos = hashes[r] & mask
        while slots[pos] >= 0:
            pos = (pos + np.uint64(1)) & mask
        slots[pos] = r
        slot_hashes[pos] = hashes[r]



@njit(cache=True)
def _cell_rows(cells, corner_offsets, slots, slot_hashes, vertices):
    """Storage row of every vertex of every cell, −1 where absent (linear probing, verified)."""
    n_cells, d = cells.shape
    n_corners = corner_offsets.shape[0]
    mask = np.uint64(slots.shape[0] - 1)
    rows = np.full((n_cells, n_corners), -1, dtype=np.int64)
    vertex = np.empty((1, d), dtype=np.int64)
    for c in range(n_cells):
        for corner in range(n_corners):
            for k in range(d):
                vertex[0, k] = cells[c, k] + corner_offsets[corner, k]
            h = _hash_vertex(vertex[0])
            pos = h & mask
            while slots[pos] >= 0:
                if slot_hashes[pos] == h and _same_row(vertices, slots[pos], vertex, 0):
                    rows[c, corner] = slots[pos]
                    break
                pos = (pos + np.uint64(1)) & mask
    return rows



@njit(cache=True)
def _dedup_rows(rows):
    """First occurrence of each distinct row and the map row → distinct index, in O(k)."""
    k = rows.shape[0]
    size = 4
    while size < 2 * k:
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, dtype=np.int64)
    first = np.empty(k, dtype=np.int64)
    inverse = np.empty(k, dtype=np.int64)
    n_unique = 0
    for i in range(k):
        pos = _hash_vertex(rows[i]) & mask
        while True:
            u = slots[pos]
            if u < 0:
                slots[pos] = n_unique
                first[n_unique] = i
                inverse[i] = n_unique
                n_unique += 1
                break
            if _same_row(rows, first[u], rows, i):
                inverse[i] = u
                break
            pos = (pos + np.uint64(1)) & mask
    return first[:n_unique].copy(), inverse



@njit(cache=True)
def _locate_kernel(points, origin, cell_sizes):
    """Cell indices and fractions by the authors' rule; ``ok`` is False for unusable input."""
    n, d = points.shape
    cells = np.empty((n, d), dtype=np.int64)
    fractions = np.empty((n, d))
    for p in range(n):
        for k in range(d):
            offset = (points[p, k] - origin[k]) / cell_sizes[k]
            # The comparison is False for NaN, so non-finite input is rejected too.
            if not abs(offset) < _MAX_CELL_OFFSET:
                return cells, fractions, False
            index = np.int64(offset)  # truncation toward zero, as C++ int conversion
            if points[p, k] < origin[k]:
                index -= 1
            cells[p, k] = index
            fractions[p, k] = (points[p, k] - (origin[k] + index * cell_sizes[k])) / cell_sizes[k]
    return cells, fractions, True



@njit(cache=True)
def _scatter_add(dst, index, src, scale):
    for i in range(index.shape[0]):
        r = index[i]
        for j in range(src.shape[1]):
            dst[r, j] += scale * src[i, j]



def _float_vector(value: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a sequence of numbers, got {value!r}") from err
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr



def _unique_rows(rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distinct rows in order of first occurrence, and the index of each input row among them."""
    first, inverse = _dedup_rows(rows)
    return rows[first], inverse



def _grown(arr: NDArray[Any], capacity: int, used: int) -> NDArray[Any]:
    """``arr`` with ``capacity`` rows, the first ``used`` copied and the rest zero."""
    out = np.zeros((capacity, *arr.shape[1:]), dtype=arr.dtype)
    out[:used] = arr[:used]
    return out
