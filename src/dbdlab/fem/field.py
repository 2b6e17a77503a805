"""The time-evolution function ``F(x; u)`` as C1 finite elements: :class:`HermiteField`.

Conventions (grid, basis order, physical versus the authors' units) are described in
:mod:`dbdlab.fem`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from .basis import (
    _accumulate_kernel,
    _check_ndim,
    _evaluate_kernel,
    _jacobian_kernel,
    type_labels,
)
from .grid import (
    _cell_rows,
    _float_vector,
    _grown,
    _hash_rows,
    _locate_kernel,
    _scatter_add,
    _table_insert,
    _unique_rows,
)

__all__ = ["CoefficientJacobian", "HermiteField", "SparseCoefficients"]


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
    (reproduction notes: repro-fem, Q3 ``get_deriv_wrt_coeffs_for_all_surrounding_verts``).

    Attributes
    ----------
    vertices : ndarray of int64, shape ``(n, 2^d, d)``
        The cell's vertices, local index ``ℓ`` with dimension 0 as the most significant bit.
    basis : ndarray of float64, shape ``(n, 2^d, 2^d)``
        Basis function values, axes (point, local vertex ``ℓ``, type ``τ``).
    """

    vertices: NDArray[np.int64]
    basis: NDArray[np.float64]


# --------------------------------------------------------------------------- the field


class HermiteField:
    """A scalar function on ``R^d`` represented by Q3 C1 finite elements on an unbounded grid.

    One instance is one time-evolution function ``F_k(x; u_k)`` of paper A eq. (27)/(34);
    its coefficients ``u_k`` are created on demand, per vertex (reproduction notes: repro-fem).

    Parameters
    ----------
    cell_sizes : array_like, shape ``(d,)``
        Cell widths ``Δ_k > 0``; ``d`` (1 to :data:`MAX_NDIM`) is the number of arguments of F.
    origin : array_like, shape ``(d,)``, optional
        Position ``z0`` of vertex ``(0, …, 0)``; zeros by default (annihilation grids,
        reproduction notes: repro-fem-domains). See :meth:`centered_at` for the LV/Rössler choice.
    reference_scaling : bool, default False
        ``False``: derivative DOFs and :meth:`gradient` in physical units (correct).
        ``True``: the authors' convention — derivative DOFs in fraction units and
        :meth:`gradient` returning ``Δ_k ∂F/∂x_k`` (module docstring; reproduction notes:
        repro-fem).

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
        ``θ(0)`` (reproduction notes: repro-fem-domains).
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
        """Cell index and fraction of each point (reproduction notes: repro-fem, module docstring).

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

        With ``reference_scaling=True`` this is the authors' ``Δ_k ∂F/∂x_k`` (reproduction notes:
        repro-fem); divide by :attr:`cell_sizes` for the true derivative.
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

        F is linear in u, so this does not depend on the coefficients (reproduction notes:
        repro-fem); it is what the sensitivity (paper A eq. 30) multiplies by the adjoint. Use
        :meth:`accumulate` to sum it over points without materialising ``n·4^d`` numbers.
        """
        cells, fractions = self.locate(points)
        vertices = cells[:, None, :] + self._corner_offsets
        basis = _jacobian_kernel(fractions, self._cell_sizes, self._reference)
        return CoefficientJacobian(vertices, basis.reshape(-1, self._n_types, self._n_types))

    def accumulate(self, points: ArrayLike, weights: ArrayLike) -> SparseCoefficients:
        """``Σ_p w_p ∂F(x_p)/∂u`` per vertex, e.g. the gradient ``g_u`` of reproduction notes:
        repro-learning-step.

        For the adjoint sensitivity (paper A eq. 30) pass the window's points ``x(k)`` with
        weights ``−dt·φ(k)`` (or the centered combination of reproduction notes:
        repro-centered-adjoint); then
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
        reproduction notes: repro-learning-step. Repeated vertices in ``increments`` are summed.
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
        physical to reference scaling and divided by it the other way (reproduction notes:
        repro-fem); values are unchanged. Returns a copy if the convention already matches.
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
