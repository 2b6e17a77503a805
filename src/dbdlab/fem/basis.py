"""The cubic Hermite basis of the C1 finite elements: 1-D factors and their tensor products.

One-dimensional factors ``g_V0, g_D0, g_V1, g_D1`` of the cell fraction (paper A Fig. 1(d)),
the flat coefficient index of a type vector, and the Numba kernels that contract the ``4^d``
basis functions of a cell with its coefficients (value and ∂F/∂x) or list them (∂F/∂u).  The
conventions are described in :mod:`dbdlab.fem`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

__all__ = ["MAX_NDIM", "hermite_basis", "type_index", "type_labels"]

#: Largest supported number of dimensions. A cell has ``4^d`` basis functions, so the Jacobian
#: of one point takes ``8·4^d`` bytes (32 KiB for the 6-D LV domain, 8 MiB for d = 10).
MAX_NDIM = 10


def hermite_basis(f: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cubic Hermite polynomials of the cell fraction and their derivatives with respect to it.

    reproduction notes: repro-fem (Q3 ``basis_func.cpp``); paper A Fig. 1(d). These are the factors
    of the authors' convention; the physical basis multiplies the D columns by ``Δ``.

    Parameters
    ----------
    f : array_like
        Fractions within a cell, normally in ``[0, 1]``.

    Returns
    -------
    values, derivatives : ndarray, shape ``f.shape + (4,)``
        Last axis ordered ``(g_V0, g_D0, g_V1, g_D1)``, i.e. index ``2ℓ + τ`` with local vertex
        ``ℓ`` (0 left, 1 right) and type ``τ`` (0 = value, 1 = derivative); ``derivatives``
        holds ``d/df`` of each.
    """
    f = np.asarray(f, dtype=np.float64)
    f2 = f * f
    f3 = f2 * f
    values = np.stack(
        [1.0 - 3.0 * f2 + 2.0 * f3, f - 2.0 * f2 + f3, 3.0 * f2 - 2.0 * f3, f3 - f2], -1
    )
    derivatives = np.stack(
        [-6.0 * f + 6.0 * f2, 1.0 - 4.0 * f + 3.0 * f2, 6.0 * f - 6.0 * f2, 3.0 * f2 - 2.0 * f], -1
    )
    return values, derivatives


def type_index(types: str) -> int:
    """Flat coefficient index of a type vector such as ``"VDV"`` (reproduction notes: repro-fem).

    Dimension 0 is the most significant bit: ``Σ_{k: types[k] == "D"} 2^(d−1−k)``.
    """
    if not isinstance(types, str) or not types or set(types) - {"V", "D"}:
        raise ValueError(f"types must be a non-empty string of 'V' and 'D', got {types!r}")
    return int(types.replace("V", "0").replace("D", "1"), 2)


def type_labels(ndim: int) -> tuple[str, ...]:
    """All type vectors of ``ndim`` dimensions as strings, in coefficient-index order."""
    ndim = _check_ndim(ndim)
    return tuple(
        "".join("D" if (t >> (ndim - 1 - k)) & 1 else "V" for k in range(ndim))
        for t in range(2**ndim)
    )


def _check_ndim(ndim: Any) -> int:
    if isinstance(ndim, bool) or not isinstance(ndim, int | np.integer):
        raise TypeError(f"ndim must be an int, got {type(ndim).__name__}")
    if not 1 <= ndim <= MAX_NDIM:
        raise ValueError(f"ndim must be between 1 and {MAX_NDIM}, got {ndim}")
    return int(ndim)



@njit(cache=True)
def _fill_basis(f, delta, reference, b, db):
    """Physical (or, with ``reference``, fraction-unit) 1-D factors in ``2ℓ + τ`` order."""
    f2 = f * f
    f3 = f2 * f
    scale = 1.0 if reference else delta
    inv = 1.0 if reference else 1.0 / delta
    b[0] = 1.0 - 3.0 * f2 + 2.0 * f3
    b[1] = scale * (f - 2.0 * f2 + f3)
    b[2] = 3.0 * f2 - 2.0 * f3
    b[3] = scale * (f3 - f2)
    # d/dx = (1/Δ) d/df; the Δ of the D factor cancels it (physical) or neither appears (reference).
    db[0] = inv * (-6.0 * f + 6.0 * f2)
    db[1] = 1.0 - 4.0 * f + 3.0 * f2
    db[2] = inv * (6.0 * f - 6.0 * f2)
    db[3] = 3.0 * f2 - 2.0 * f



@njit(cache=True)
def _contract(src, vec, side, dst):
    """Contract the leading (ℓ, τ) bit pair of a ``side × side`` block with a 4-vector."""
    h = side // 2
    for l in range(h):
        top = l * side
        bottom = (h + l) * side
        for t in range(h):
            dst[l * h + t] = (
                vec[0] * src[top + t]
                + vec[1] * src[top + h + t]
                + vec[2] * src[bottom + t]
                + vec[3] * src[bottom + h + t]
            )



@njit(cache=True)
def _evaluate_point(coeffs, cell_rows, b, db, with_gradient, cur, nxt, grad_out):
    """F at one point, and ∂F/∂x into ``grad_out``, by successive contraction over dimensions.

    ``b``/``db`` hold the point's 1-D factors and their x-derivatives (``_fill_basis``);
    ``cur``/``nxt`` are scratch blocks of shape ``(d + 1, 4^(d−1))``. Slot 0 carries F, slot
    ``k + 1`` carries ∂F/∂x_k once dimension k has been contracted with the derivative factor.
    The dimension-0 contraction reads the coefficient rows directly, so the ``4^d``
    coefficients of the cell are never copied per point.
    """
    d = b.shape[0]
    half = cell_rows.shape[0] // 2
    size = half * half
    cur[0, :size] = 0.0
    if with_gradient:
        cur[1, :size] = 0.0
    for lo in range(half):
        out = lo * half
        for a in range(2):
            r = cell_rows[a * half + lo]
            if r < 0:
                continue  # absent vertex: coefficients 0
            bv, bd = b[0, 2 * a], b[0, 2 * a + 1]
            for t in range(half):
                cur[0, out + t] += bv * coeffs[r, t] + bd * coeffs[r, half + t]
            if with_gradient:
                dv, dd = db[0, 2 * a], db[0, 2 * a + 1]
                for t in range(half):
                    cur[1, out + t] += dv * coeffs[r, t] + dd * coeffs[r, half + t]
    side = half
    active = 2 if with_gradient else 1
    for j in range(1, d):
        for s in range(active):
            _contract(cur[s], b[j], side, nxt[s])
        if with_gradient:
            _contract(cur[0], db[j], side, nxt[active])
            active += 1
        cur, nxt = nxt, cur
        side //= 2
    if with_gradient:
        for k in range(d):
            grad_out[k] = cur[k + 1, 0]
    return cur[0, 0]



@njit(cache=True)
def _evaluate_kernel(coeffs, rows, point_cell, frac, cell_sizes, reference, with_gradient):
    n, d = frac.shape
    value = np.zeros(n)
    gradient = np.zeros((n, d))
    block = 4 ** (d - 1)
    cur = np.empty((d + 1, block))
    nxt = np.empty((d + 1, block))
    b = np.empty((d, 4))
    db = np.empty((d, 4))
    for p in range(n):
        for k in range(d):
            _fill_basis(frac[p, k], cell_sizes[k], reference, b[k], db[k])
        value[p] = _evaluate_point(
            coeffs, rows[point_cell[p]], b, db, with_gradient, cur, nxt, gradient[p]
        )
    return value, gradient



@njit(cache=True)
def _basis_tensor(frac_p, cell_sizes, reference, out):
    """All ``4^d`` basis values of one point, ``out[ℓ·2^d + τ]``, as a Kronecker product."""
    d = frac_p.shape[0]
    b = np.empty(4)
    db = np.empty(4)
    cur = np.ones(1)
    side = 1
    for k in range(d):
        _fill_basis(frac_p[k], cell_sizes[k], reference, b, db)
        nxt = out if k == d - 1 else np.empty(4 * side * side)
        wide = 2 * side
        # Dimension k becomes the least significant bit of both ℓ and τ so far.
        for l in range(side):
            for t in range(side):
                w = cur[l * side + t]
                for a in range(2):
                    base = (2 * l + a) * wide + 2 * t
                    nxt[base] = w * b[2 * a]
                    nxt[base + 1] = w * b[2 * a + 1]
        cur = nxt
        side = wide



@njit(cache=True)
def _jacobian_kernel(frac, cell_sizes, reference):
    out = np.empty((frac.shape[0], 4 ** frac.shape[1]))
    for p in range(frac.shape[0]):
        _basis_tensor(frac[p], cell_sizes, reference, out[p])
    return out



@njit(cache=True)
def _accumulate_kernel(frac, cell_sizes, reference, weights, vertex_of, n_vertices):
    """``Σ_p w_p ∂F(x_p)/∂u`` scattered straight into the per-vertex rows.

    No per-cell intermediate: for scattered points it would take ``8·4^d`` bytes per cell
    (16 MB for 500 points in 6-D), and writing it costs more than the arithmetic.
    """
    n, d = frac.shape
    n_types = vertex_of.shape[1]
    out = np.zeros((n_vertices, n_types))
    tensor = np.empty(n_types * n_types)
    for p in range(n):
        _basis_tensor(frac[p], cell_sizes, reference, tensor)
        w = weights[p]
        for corner in range(n_types):
            row = vertex_of[p, corner]
            base = corner * n_types
            for t in range(n_types):
                out[row, t] += w * tensor[base + t]
    return out
