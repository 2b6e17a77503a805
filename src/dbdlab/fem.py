r"""Q3 C1 (tensor-product cubic Hermite) finite elements in d dimensions.

The time-evolution functions of a dynamic Boltzmann distribution, ``dθ_k/dt = F_k(x; u_k)``
(paper A, eq. 27), are parameterised by C1 finite elements (paper A §III B, eq. 34):
``F(x) = Σ_l u_l f_l(x)``. The learning algorithm needs three things from this module: the value
``F`` (forward Euler solve), the derivative ``∂F/∂x`` with respect to the domain coordinates (the
``ψ`` terms of the adjoint equations, paper A eq. 31, paper B eqs. 15–17, reference notes §4.2)
and the derivative ``∂F/∂u`` with respect to the coefficients (the sensitivity, paper A eq. 30,
reference notes §4.1 step 6). :class:`HermiteField` provides all three, vectorised over points.

Grid (reference notes §3.1)
---------------------------
Dimension ``k`` has a cell size ``Δ_k > 0`` and an origin ``z0_k``; the vertices are
``z0 + n·Δ`` for every integer vector ``n`` — the grid is unbounded. A coordinate ``x_k`` lies in
cell ``n_k = trunc((x_k − z0_k)/Δ_k) − [x_k < z0_k]`` at fraction
``f_k = (x_k − (z0_k + n_k Δ_k))/Δ_k``. This is the authors' rule (Q3 ``Dimension1D``): it equals
``floor`` except that a point exactly on a vertex below the origin is put into the lower cell
with fraction 1 instead of the upper cell with fraction 0. Because F is C1 this changes neither
F nor ∂F/∂x, only which (zero-weight) vertices ``∂F/∂u`` lists.

Coefficients are stored sparsely per vertex. A vertex that was never written has all
coefficients 0, so F ≡ 0 far from the data. Reading (:meth:`~HermiteField.value`,
:meth:`~HermiteField.gradient`, :meth:`~HermiteField.coefficient_jacobian`,
:meth:`~HermiteField.accumulate`, :meth:`~HermiteField.get_coefficients`) never creates a
vertex; only :meth:`~HermiteField.add` and :meth:`~HermiteField.set_coefficients` do.

Basis (reference notes §3.2–3.3)
--------------------------------
In one dimension a cell has two vertices (local index ``ℓ = 0`` left, ``1`` right) and each
vertex carries a value DOF (type ``V``) and a derivative DOF (type ``D``). With the cubic
Hermite polynomials of the fraction ``f`` (:func:`hermite_basis`)::

    g_V0 = 1 − 3f² + 2f³    g_V1 = 3f² − 2f³    g_D0 = f − 2f² + f³    g_D1 = f³ − f²

the d-dimensional basis is the tensor product: a vertex has ``2^d`` coefficients, one per type
vector ``τ ∈ {V, D}^d``, stored at the flat index ``Σ_{k: τ_k = D} 2^(d−1−k)`` (dimension 0 is
the most significant bit, all-V = 0, all-D = 2^d − 1; :func:`type_index`). The ``2^d`` vertices
of a cell use the same bit order for their local index ``ℓ ∈ {0,1}^d``, so a cell has ``4^d``
active basis functions (4096 for the 6-D LV domain, reference notes §3.4)::

    F(x) = Σ_ℓ Σ_τ u[n + ℓ, τ] · Π_k b_k(ℓ_k, τ_k; f_k).

Value and all first derivatives are continuous across cell faces because neighbouring cells
share vertices (C1).

Physical units versus the authors' convention (reference notes §3.3, §9.3 items 1–2)
-------------------------------------------------------------------------------------
``reference_scaling=False`` (default, *correct*): every DOF means what it says in the physical
coordinates ``x``. The value DOF is ``F`` at the vertex and the DOF of type ``τ`` is the mixed
partial derivative ``Π_{k: τ_k = D} ∂/∂x_k F`` at the vertex, so the 1-D factors are
``b(ℓ, V) = g_Vℓ(f)`` and ``b(ℓ, D) = Δ·g_Dℓ(f)``, and :meth:`~HermiteField.gradient` returns
the true ``∂F/∂x_k``, which includes the chain-rule factor ``1/Δ_k``.

``reference_scaling=True`` (*faithful* to Q3 ``grid.cpp``/``basis_func.cpp`` and DBZ
``diff_eq_rhs.cpp``, all tags): the D factor is ``g_Dℓ(f)`` without ``Δ``, i.e. derivative DOFs
are derivatives with respect to the fraction ``f`` (``Δ_k`` times the physical derivative), and
:meth:`~HermiteField.gradient` returns ``∂F/∂f_k = Δ_k·∂F/∂x_k`` — the authors' "∂F/∂θ", which
lacks the ``1/Δ`` factor. The two conventions differ in two independent ways:

1. *Parameterisation* (not a bug). Both span the same function space; the coefficient vectors
   are related by ``u_ref[v, τ] = u_phys[v, τ] · Π_{k: τ_k = D} Δ_k``
   (:meth:`~HermiteField.rescaled` converts, leaving F unchanged). The basis functions differ
   by the inverse factor, so ``∂F/∂u_ref = ∂F/∂u_phys / Π_{k: τ_k = D} Δ_k``. Plain SGD is
   *not* invariant under this change of variables: with the same learning rate, a step on a
   DOF whose type has D in the dimensions ``K`` changes F by ``Π_{k∈K} Δ_k^{-2}`` times more
   in the authors' parameterisation (100× per D-dimension for Δ = 0.1). The published
   learning rates were tuned for that parameterisation.
2. *Derivative with respect to x* (a bug in the authors' code). The ``ψ`` terms of the adjoint
   equations use ``∂F/∂θ``; the authors' code supplies ``Δ·∂F/∂θ`` (10× too small for Δ = 0.1,
   2× or 20× for the annihilation grids). With ``reference_scaling=True`` this module returns
   that same quantity, so that the published runs can be reproduced; the true derivative of the
   same field is ``gradient(points) / cell_sizes``.

For one function represented in both conventions (``g = f.rescaled(True)``) the relations
``g.value(x) == f.value(x)`` and ``g.gradient(x) == f.gradient(x) * cell_sizes`` hold up to
rounding, and ``∂F/∂u`` of ``g`` is that of ``f`` divided by ``Π_{k: τ_k = D} Δ_k``.

Implementation notes
--------------------
Vertices are found through an open-addressing hash table keyed by a 64-bit hash of their
integer index vector, every hit verified against the stored indices (so the grid is exactly
unbounded and hash collisions only cost time). Evaluation makes no Python-level pass over
points or vertices: the cells of all points are deduplicated, their ``2^d`` vertex rows found in
one Numba lookup, and a Numba kernel contracts the ``4^d`` coefficients of each point's cell
one dimension at a time, reading them straight from storage (``(4/3)·4^d`` multiply-adds per
point for F, about ``3·4^d`` for F and ∂F/∂x together).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import xarray as xr
from numba import njit
from numpy.typing import ArrayLike, NDArray

from dbdlab.rng import mix64_nb

__all__ = [
    "MAX_NDIM",
    "CoefficientJacobian",
    "HermiteField",
    "SparseCoefficients",
    "hermite_basis",
    "type_index",
    "type_labels",
]

#: Largest supported number of dimensions. A cell has ``4^d`` basis functions, so the Jacobian
#: of one point takes ``8·4^d`` bytes (32 KiB for the 6-D LV domain, 8 MiB for d = 10).
MAX_NDIM = 10

# Cell indices are exact int64 and fractions meaningful only while |x − z0|/Δ stays well inside
# the float64 mantissa.
_MAX_CELL_OFFSET = 2.0**52

_HASH_SEED = np.uint64(0x243F6A8885A308D3)
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)


# --------------------------------------------------------------------------- 1-D basis


def hermite_basis(f: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cubic Hermite polynomials of the cell fraction and their derivatives with respect to it.

    Reference notes §3.2 (Q3 ``basis_func.cpp``); paper A Fig. 1(d). These are the factors of the
    authors' convention; the physical basis multiplies the D columns by ``Δ``.

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
    """Flat coefficient index of a type vector such as ``"VDV"`` (reference notes §3.3).

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


# --------------------------------------------------------------------------- result types


class SparseCoefficients(NamedTuple):
    """Per-vertex coefficient vectors of a subset of vertices (increments, gradients).

    Attributes
    ----------
    vertices : ndarray of int64, shape ``(k, d)``
        Integer vertex indices ``n`` (vertex at ``z0 + n·Δ``), unique when produced by
        :meth:`HermiteField.accumulate`.
    values : ndarray of float64, shape ``(k, 2^d)``
        One coefficient per type, in :func:`type_index` order.
    """

    vertices: NDArray[np.int64]
    values: NDArray[np.float64]


class CoefficientJacobian(NamedTuple):
    """``∂F(x_p)/∂u`` for a batch of points, restricted to the vertices of each point's cell.

    ``∂F(x_p)/∂u[vertices[p, ℓ], τ] = basis[p, ℓ, τ]``; every other coefficient has derivative 0
    (reference notes §3.3, Q3 ``get_deriv_wrt_coeffs_for_all_surrounding_verts``).

    Attributes
    ----------
    vertices : ndarray of int64, shape ``(n, 2^d, d)``
        The cell's vertices, local index ``ℓ`` with dimension 0 as the most significant bit.
    basis : ndarray of float64, shape ``(n, 2^d, 2^d)``
        Basis function values, axes (point, local vertex ``ℓ``, type ``τ``).
    """

    vertices: NDArray[np.int64]
    basis: NDArray[np.float64]


# --------------------------------------------------------------------------- Numba kernels


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


@njit(cache=True)
def _scatter_add(dst, index, src, scale):
    for i in range(index.shape[0]):
        r = index[i]
        for j in range(src.shape[1]):
            dst[r, j] += scale * src[i, j]


# --------------------------------------------------------------------------- validation helpers


def _check_ndim(ndim: Any) -> int:
    if isinstance(ndim, bool) or not isinstance(ndim, int | np.integer):
        raise TypeError(f"ndim must be an int, got {type(ndim).__name__}")
    if not 1 <= ndim <= MAX_NDIM:
        raise ValueError(f"ndim must be between 1 and {MAX_NDIM}, got {ndim}")
    return int(ndim)


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


# --------------------------------------------------------------------------- the field


class HermiteField:
    """A scalar function on ``R^d`` represented by Q3 C1 finite elements on an unbounded grid.

    One instance is one time-evolution function ``F_k(x; u_k)`` of paper A eq. (27)/(34);
    its coefficients ``u_k`` are created on demand, per vertex (reference notes §3).

    Parameters
    ----------
    cell_sizes : array_like, shape ``(d,)``
        Cell widths ``Δ_k > 0``; ``d`` (1 to :data:`MAX_NDIM`) is the number of arguments of F.
    origin : array_like, shape ``(d,)``, optional
        Position ``z0`` of vertex ``(0, …, 0)``; zeros by default (annihilation grids,
        reference notes §3.4). See :meth:`centered_at` for the LV/Rössler choice.
    reference_scaling : bool, default False
        ``False``: derivative DOFs and :meth:`gradient` in physical units (correct).
        ``True``: the authors' convention — derivative DOFs in fraction units and
        :meth:`gradient` returning ``Δ_k ∂F/∂x_k`` (module docstring; reference notes §9.3).

    Examples
    --------
    >>> field = HermiteField([0.1, 0.1], origin=[-0.05, -0.05])
    >>> field.set_coefficients([[0, 0]], [[1.0, 0.0, 0.0, 0.0]])  # F = 1 at vertex (0, 0)
    >>> float(field.value([[-0.05, -0.05]])[0])
    1.0
    """

    def __init__(
        self,
        cell_sizes: ArrayLike,
        origin: ArrayLike | None = None,
        *,
        reference_scaling: bool = False,
    ) -> None:
        sizes = _float_vector(cell_sizes, "cell_sizes")
        if np.any(sizes <= 0.0):
            raise ValueError(f"cell_sizes must be > 0, got {sizes.tolist()}")
        ndim = _check_ndim(sizes.size)
        if origin is None:
            zero = np.zeros(ndim)
        else:
            zero = _float_vector(origin, "origin")
            if zero.size != ndim:
                raise ValueError(
                    f"origin must have one entry per dimension ({ndim}, the length of "
                    f"cell_sizes), got {zero.size}"
                )
        if not isinstance(reference_scaling, bool | np.bool_):
            raise TypeError(f"reference_scaling must be a bool, got {reference_scaling!r}")
        self._cell_sizes = sizes
        self._origin = zero
        self._reference = bool(reference_scaling)
        self._ndim = ndim
        self._n_types = 2**ndim
        # Local vertex offsets, dimension 0 most significant (same bit order as the types).
        self._corner_offsets = np.array(
            [[(corner >> (ndim - 1 - k)) & 1 for k in range(ndim)] for corner in range(2**ndim)],
            dtype=np.int64,
        )
        self._no_offset = np.zeros((1, ndim), dtype=np.int64)
        self._size = 0
        self._vertices = np.empty((0, ndim), dtype=np.int64)
        self._coeffs = np.empty((0, self._n_types), dtype=np.float64)
        # Open-address hash table over the stored vertices: slot → storage row (−1 = free),
        # kept at most half full so that probe sequences stay short.
        self._hashes = np.empty(0, dtype=np.uint64)
        self._slots = np.full(1, -1, dtype=np.int64)
        self._slot_hashes = np.zeros(1, dtype=np.uint64)

    @classmethod
    def centered_at(
        cls, point: ArrayLike, cell_sizes: ArrayLike, *, reference_scaling: bool = False
    ) -> HermiteField:
        """Grid whose origin puts ``point`` at a cell centre: ``z0 = point − Δ/2``.

        This is how the authors place the LV and Rössler grids around the initial condition
        ``θ(0)`` (reference notes §3.4).
        """
        sizes = _float_vector(cell_sizes, "cell_sizes")
        centre = _float_vector(point, "point")
        if centre.size != sizes.size:
            raise ValueError(
                f"point must have one entry per dimension ({sizes.size}), got {centre.size}"
            )
        return cls(sizes, centre - 0.5 * sizes, reference_scaling=reference_scaling)

    # ------------------------------------------------------------------ properties

    @property
    def ndim(self) -> int:
        """Number of arguments ``d`` of F."""
        return self._ndim

    @property
    def n_types(self) -> int:
        """Coefficients per vertex, ``2^d``."""
        return self._n_types

    @property
    def cell_sizes(self) -> NDArray[np.float64]:
        """Cell widths ``Δ`` (a copy)."""
        return self._cell_sizes.copy()

    @property
    def origin(self) -> NDArray[np.float64]:
        """Grid origin ``z0`` (a copy)."""
        return self._origin.copy()

    @property
    def reference_scaling(self) -> bool:
        """Whether the authors' fraction-unit convention is used (module docstring)."""
        return self._reference

    @property
    def n_vertices(self) -> int:
        """Number of stored vertices (written at least once, possibly with zeros)."""
        return self._size

    @property
    def vertices(self) -> NDArray[np.int64]:
        """Stored vertex indices, shape ``(n_vertices, d)``, in creation order (a copy)."""
        return self._vertices[: self._size].copy()

    @property
    def coefficients(self) -> NDArray[np.float64]:
        """Stored coefficients, shape ``(n_vertices, 2^d)``, rows as in :attr:`vertices`."""
        return self._coeffs[: self._size].copy()

    @property
    def vertex_coordinates(self) -> NDArray[np.float64]:
        """Physical positions ``z0 + n·Δ`` of the stored vertices (paper A Fig. 2, right)."""
        return self._origin + self._vertices[: self._size] * self._cell_sizes

    def __repr__(self) -> str:
        scaling = "reference" if self._reference else "physical"
        return (
            f"HermiteField(ndim={self._ndim}, cell_sizes={self._cell_sizes.tolist()}, "
            f"origin={self._origin.tolist()}, n_vertices={self._size}, scaling={scaling})"
        )

    # ------------------------------------------------------------------ input checks

    def _points(self, points: ArrayLike) -> NDArray[np.float64]:
        try:
            arr = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError("points must be a numeric array of shape (n_points, d)") from err
        if arr.ndim != 2 or arr.shape[1] != self._ndim:
            hint = " (use points[None, :] for a single point)" if arr.ndim == 1 else ""
            raise ValueError(
                f"points must have shape (n_points, {self._ndim}), got {arr.shape}{hint}"
            )
        return arr

    def _vertex_array(self, vertices: ArrayLike, name: str) -> NDArray[np.int64]:
        arr = np.asarray(vertices)
        if arr.size == 0:
            arr = arr.reshape(0, self._ndim)
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer vertex indices, got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[1] != self._ndim:
            raise ValueError(f"{name} must have shape (n, {self._ndim}), got {arr.shape}")
        return np.ascontiguousarray(arr, dtype=np.int64)

    def _value_array(self, values: ArrayLike, n: int, name: str) -> NDArray[np.float64]:
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (n, self._n_types):
            raise ValueError(f"{name} must have shape ({n}, {self._n_types}), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
        return arr

    # ------------------------------------------------------------------ grid geometry

    def locate(self, points: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Cell index and fraction of each point (reference notes §3.1, module docstring).

        Parameters
        ----------
        points : array_like, shape ``(n, d)``

        Returns
        -------
        cells : ndarray of int64, shape ``(n, d)``
            Index ``n`` of the cell's lower vertex.
        fractions : ndarray of float64, shape ``(n, d)``
            ``(x − (z0 + nΔ))/Δ``: in ``[0, 1)`` up to rounding, but exactly 1 at vertices
            below the origin.

        Raises
        ------
        ValueError
            If a coordinate is not finite or lies more than 2**52 cells from the origin.
        """
        cells, fractions, ok = _locate_kernel(self._points(points), self._origin, self._cell_sizes)
        if not ok:
            raise ValueError("points must be finite and within 2**52 cells of the grid origin")
        return cells, fractions

    def _cells_and_rows(
        self, points: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
        """Fractions, the (deduplicated) cell of each point and the storage rows of its vertices."""
        cells, fractions = self.locate(points)
        if cells.shape[0] <= 1:
            unique_cells, point_cell = cells, np.zeros(cells.shape[0], dtype=np.int64)
        else:
            unique_cells, point_cell = _unique_rows(cells)
        return fractions, point_cell, self._lookup(unique_cells, self._corner_offsets)

    def _lookup(self, cells: NDArray[np.int64], offsets: NDArray[np.int64]) -> NDArray[np.int64]:
        """Storage rows of ``cells[c] + offsets[j]``, shape ``(n_cells, n_offsets)``; −1 absent."""
        if self._size == 0:
            return np.full((cells.shape[0], offsets.shape[0]), -1, dtype=np.int64)
        return _cell_rows(cells, offsets, self._slots, self._slot_hashes, self._vertices)

    # ------------------------------------------------------------------ evaluation

    def value(self, points: ArrayLike) -> NDArray[np.float64]:
        """F at each point (paper A eq. 34).

        Parameters
        ----------
        points : array_like, shape ``(n, d)``

        Returns
        -------
        ndarray, shape ``(n,)``
        """
        return self._evaluate(points, with_gradient=False)[0]

    def gradient(self, points: ArrayLike) -> NDArray[np.float64]:
        """∂F/∂x_k at each point, shape ``(n, d)`` (the ``∂F/∂θ`` of paper A eq. 31).

        With ``reference_scaling=True`` this is the authors' ``Δ_k ∂F/∂x_k`` (reference notes
        §3.3, §9.3.1); divide by :attr:`cell_sizes` for the true derivative.
        """
        return self._evaluate(points, with_gradient=True)[1]

    def value_and_gradient(
        self, points: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """F and ∂F/∂x (as :meth:`gradient`) from one cell lookup; shapes ``(n,)``, ``(n, d)``."""
        return self._evaluate(points, with_gradient=True)

    def _evaluate(
        self, points: ArrayLike, *, with_gradient: bool
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        fractions, point_cell, rows = self._cells_and_rows(points)
        return _evaluate_kernel(
            self._coeffs,
            rows,
            point_cell,
            fractions,
            self._cell_sizes,
            self._reference,
            with_gradient,
        )

    def coefficient_jacobian(self, points: ArrayLike) -> CoefficientJacobian:
        """∂F(x_p)/∂u for each point, as its cell's vertices and ``4^d`` basis values.

        F is linear in u, so this does not depend on the coefficients (reference notes §3.3);
        it is what the sensitivity (paper A eq. 30) multiplies by the adjoint. Use
        :meth:`accumulate` to sum it over points without materialising ``n·4^d`` numbers.
        """
        cells, fractions = self.locate(points)
        vertices = cells[:, None, :] + self._corner_offsets
        basis = _jacobian_kernel(fractions, self._cell_sizes, self._reference)
        return CoefficientJacobian(vertices, basis.reshape(-1, self._n_types, self._n_types))

    def accumulate(self, points: ArrayLike, weights: ArrayLike) -> SparseCoefficients:
        """``Σ_p w_p ∂F(x_p)/∂u`` per vertex, e.g. the gradient ``g_u`` of reference notes §4.1.

        For the adjoint sensitivity (paper A eq. 30) pass the window's points ``x(k)`` with
        weights ``−dt·φ(k)`` (or the centered combination of §4.2 b); then
        ``field.add(result, -learning_rate)`` is one SGD step.

        Parameters
        ----------
        points : array_like, shape ``(n, d)``
        weights : array_like, shape ``(n,)``

        Returns
        -------
        SparseCoefficients
            The distinct vertices of all cells touched (in order of first appearance) and their
            summed increments. Every vertex of a touched cell is listed, also where its sum is 0
            (e.g. the lower vertex of a point with fraction exactly 1).
        """
        cells, fractions = self.locate(points)
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (cells.shape[0],):
            raise ValueError(f"weights must have shape ({cells.shape[0]},), got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("weights must be finite")
        unique_cells, point_cell = _unique_rows(cells)
        corners = (unique_cells[:, None, :] + self._corner_offsets).reshape(-1, self._ndim)
        vertices, inverse = _unique_rows(corners)
        vertex_of = inverse.reshape(-1, self._n_types)[point_cell]
        values = _accumulate_kernel(
            fractions, self._cell_sizes, self._reference, w, vertex_of, vertices.shape[0]
        )
        return SparseCoefficients(vertices, values)

    # ------------------------------------------------------------------ coefficients

    def get_coefficients(self, vertices: ArrayLike) -> NDArray[np.float64]:
        """Coefficients of the given vertices, shape ``(k, 2^d)``; 0 for absent vertices.

        Never creates a vertex.
        """
        index = self._vertex_array(vertices, "vertices")
        rows = self._lookup(index, self._no_offset)[:, 0]
        out = np.zeros((index.shape[0], self._n_types))
        present = rows >= 0
        out[present] = self._coeffs[rows[present]]
        return out

    def set_coefficients(self, vertices: ArrayLike, values: ArrayLike) -> None:
        """Overwrite the coefficients of the given vertices, creating them as needed.

        Parameters
        ----------
        vertices : array_like of int, shape ``(k, d)``
            Distinct vertex indices.
        values : array_like, shape ``(k, 2^d)``
            Coefficients in :func:`type_index` order, in this field's units (module docstring).
        """
        index = self._vertex_array(vertices, "vertices")
        vals = self._value_array(values, index.shape[0], "values")
        if index.shape[0] and _unique_rows(index)[0].shape[0] != index.shape[0]:
            raise ValueError("vertices must be distinct in set_coefficients")
        rows = self._rows_creating(index)
        self._coeffs[rows] = vals

    def add(self, increments: SparseCoefficients, scale: float = 1.0) -> None:
        """``u[v] += scale · increments.values[v]``, creating vertices as needed.

        ``field.add(field.accumulate(points, weights), -lr)`` is the SGD update of reference
        notes §4.1 step 7. Repeated vertices in ``increments`` are summed.
        """
        if not isinstance(increments, SparseCoefficients):
            raise TypeError(
                f"increments must be a SparseCoefficients, got {type(increments).__name__}"
            )
        index = self._vertex_array(increments.vertices, "increments.vertices")
        vals = self._value_array(increments.values, index.shape[0], "increments.values")
        factor = float(scale)
        if not np.isfinite(factor):
            raise ValueError(f"scale must be finite, got {scale!r}")
        rows = self._rows_creating(index)
        _scatter_add(self._coeffs, rows, vals, factor)

    def _rows_creating(self, index: NDArray[np.int64]) -> NDArray[np.int64]:
        rows = self._lookup(index, self._no_offset)[:, 0]
        missing = rows < 0
        if np.any(missing):
            new, inverse = _unique_rows(index[missing])
            first_row = self._size
            self._insert(new)
            rows[missing] = first_row + inverse
        return rows

    def _insert(self, new: NDArray[np.int64]) -> None:
        """Append absent, distinct vertices with zero coefficients and index them."""
        start = self._size
        needed = start + new.shape[0]
        if needed > self._vertices.shape[0]:
            # Doubling keeps the cost of many small SGD-step insertions amortised O(1) per vertex.
            capacity = max(needed, 2 * self._vertices.shape[0], 64)
            self._vertices = _grown(self._vertices, capacity, start)
            self._coeffs = _grown(self._coeffs, capacity, start)
            self._hashes = _grown(self._hashes, capacity, start)
        self._vertices[start:needed] = new
        self._coeffs[start:needed] = 0.0
        self._hashes[start:needed] = _hash_rows(new)
        self._size = needed
        if 2 * needed > self._slots.shape[0]:
            size = self._slots.shape[0]
            while 2 * needed > size:
                size *= 2
            self._slots = np.full(size, -1, dtype=np.int64)
            self._slot_hashes = np.zeros(size, dtype=np.uint64)
            start = 0
        _table_insert(self._slots, self._slot_hashes, self._hashes, start, needed)

    # ------------------------------------------------------------------ conversion and I/O

    def copy(self) -> HermiteField:
        """Independent copy (grid, convention and coefficients)."""
        out = HermiteField(self._cell_sizes, self._origin, reference_scaling=self._reference)
        if self._size:
            out._insert(self._vertices[: self._size])
            out._coeffs[: self._size] = self._coeffs[: self._size]
        return out

    def _type_scale(self) -> NDArray[np.float64]:
        """``Π_{k: τ_k = D} Δ_k`` for every type ``τ`` (the physical → fraction-unit factor)."""
        is_deriv = (
            np.arange(self._n_types)[:, None] >> (self._ndim - 1 - np.arange(self._ndim))
        ) & 1
        return np.prod(np.where(is_deriv == 1, self._cell_sizes, 1.0), axis=1)

    def rescaled(self, reference_scaling: bool) -> HermiteField:
        """The same function F in the requested convention (a new field).

        Derivative coefficients are multiplied by ``Π_{k: τ_k = D} Δ_k`` when going from
        physical to reference scaling and divided by it the other way (reference notes §9.3.2);
        values are unchanged. Returns a copy if the convention already matches.
        """
        if not isinstance(reference_scaling, bool | np.bool_):
            raise TypeError(f"reference_scaling must be a bool, got {reference_scaling!r}")
        out = self.copy()
        if bool(reference_scaling) != self._reference:
            scale = self._type_scale()
            out._coeffs[: out._size] *= scale if reference_scaling else 1.0 / scale
            out._reference = bool(reference_scaling)
        return out

    def to_dataset(self) -> xr.Dataset:
        """The field as an ``xarray.Dataset`` for :func:`dbdlab.store.save_dataset`.

        Variables ``vertex_index (vertex, dim)`` int64 and ``coefficients (vertex, type)``
        float64 (type coordinate = labels such as ``"VD"``, :func:`type_labels`); attributes
        ``cell_sizes``, ``origin`` (float arrays) and ``reference_scaling`` (0/1, as netCDF has
        no boolean attributes).
        """
        return xr.Dataset(
            {
                "vertex_index": (("vertex", "dim"), self.vertices),
                "coefficients": (("vertex", "type"), self.coefficients),
            },
            coords={"type": list(type_labels(self._ndim)), "dim": np.arange(self._ndim)},
            attrs={
                "description": "Q3 C1 Hermite finite-element function (dbdlab.fem.HermiteField)",
                "cell_sizes": self._cell_sizes.copy(),
                "origin": self._origin.copy(),
                "reference_scaling": int(self._reference),
            },
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> HermiteField:
        """Rebuild a field written by :meth:`to_dataset`, checking the schema."""
        for name in ("vertex_index", "coefficients"):
            if name not in ds:
                raise ValueError(f"dataset has no variable {name!r}; not a HermiteField dataset")
        for name in ("cell_sizes", "origin", "reference_scaling"):
            if name not in ds.attrs:
                raise ValueError(f"dataset has no attribute {name!r}; not a HermiteField dataset")
        if ds["vertex_index"].dims != ("vertex", "dim"):
            raise ValueError(
                f"vertex_index must have dims (vertex, dim), got {ds['vertex_index'].dims}"
            )
        if ds["coefficients"].dims != ("vertex", "type"):
            raise ValueError(
                f"coefficients must have dims (vertex, type), got {ds['coefficients'].dims}"
            )
        flag = ds.attrs["reference_scaling"]
        if np.ndim(flag) != 0 or flag not in (0, 1):
            raise ValueError(f"attribute reference_scaling must be 0 or 1, got {flag!r}")
        field = cls(
            np.atleast_1d(ds.attrs["cell_sizes"]),
            np.atleast_1d(ds.attrs["origin"]),
            reference_scaling=bool(flag),
        )
        if "type" in ds.coords and list(ds["type"].values) != list(type_labels(field.ndim)):
            raise ValueError(
                f"type coordinate must be {list(type_labels(field.ndim))} (type_index order), "
                f"got {list(ds['type'].values)}"
            )
        field.set_coefficients(ds["vertex_index"].values, ds["coefficients"].values)
        return field
