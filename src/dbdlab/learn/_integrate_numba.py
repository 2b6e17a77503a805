"""Numba kernel of the forward Euler solve, bit-identical to the per-substep NumPy loop.

:func:`~dbdlab.learn.dynamics.integrate` evaluates every learned right-hand side once per
substep.  Calling :meth:`~dbdlab.fem.HermiteField.value` per substep costs about 10 µs of Python
overhead, i.e. ≈ 0.1 s for the Rössler experiment's ≈ 1100 substeps of 9 fields — more than the
rest of an optimisation step.  This kernel does the whole solve in one call: per substep and
field it locates the cell, finds the cell's vertex rows in the field's own hash table and
contracts the coefficients, with the same Numba helpers, in the same order and with the same
operations as the NumPy loop (``θ^{n+1} = θ^n``, then ``θ^{n+1}_k += h·F_k(x^n)`` field by field),
so the states are bit-for-bit those of :func:`integrate_reference`.

It reads the fields' storage arrays directly (coefficients, open-address table, vertex
indices); nothing is copied or created.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from ..fem import HermiteField
from ..fem.basis import _evaluate_point, _fill_basis
from ..fem.grid import _MAX_CELL_OFFSET, _cell_rows

__all__ = ["integrate_numba", "integrate_reference"]


@njit(cache=True)
def _euler_kernel(theta, n_sub, h, domain_index, learned_index, origins, cell_sizes,
                  references, corner_offsets, coeffs, slots, slot_hashes, vertices):
    d = domain_index.shape[0]
    n_fields = learned_index.shape[0]
    n_corners = corner_offsets.shape[0]
    point = np.empty((1, d))
    cell = np.empty((1, d), dtype=np.int64)
    b = np.empty((d, 4))
    db = np.empty((d, 4))
    block = 4 ** (d - 1)
    cur = np.empty((d + 1, block))
    nxt = np.empty((d + 1, block))
    grad = np.empty(d)
    # per field: the cell of the previous substep and its vertex rows (cells change rarely)
    last_cell = np.full((n_fields, d), np.iinfo(np.int64).min, dtype=np.int64)
    rows = np.empty((n_fields, n_corners), dtype=np.int64)
    for n in range(n_sub):
        for k in range(d):
            point[0, k] = theta[n, domain_index[k]]
        theta[n + 1] = theta[n]
        for j in range(n_fields):
            # the cell and fraction exactly as _locate_kernel computes them
            same = True
            for k in range(d):
                offset = (point[0, k] - origins[j, k]) / cell_sizes[j, k]
                if not abs(offset) < _MAX_CELL_OFFSET:
                    return n
                index = np.int64(offset)
                if point[0, k] < origins[j, k]:
                    index -= 1
                frac = (point[0, k] - (origins[j, k] + index * cell_sizes[j, k])) / \
                    cell_sizes[j, k]
                _fill_basis(frac, cell_sizes[j, k], references[j], b[k], db[k])
                if index != last_cell[j, k]:
                    same = False
                cell[0, k] = index
            if not same:
                rows[j] = _cell_rows(cell, corner_offsets, slots[j], slot_hashes[j],
                                     vertices[j])[0]
                last_cell[j] = cell[0]
            value = _evaluate_point(coeffs[j], rows[j], b, db, False, cur, nxt, grad)
            theta[n + 1, learned_index[j]] += h * value
    return n_sub


def integrate_numba(theta: np.ndarray, h: float, domain_index: np.ndarray,
                    learned_index: np.ndarray, fields: Sequence[HermiteField]) -> None:
    """Fill ``theta[1:]`` (``theta[0]`` = θ(0)) by forward Euler with step ``h``, in place.

    Raises
    ------
    ValueError
        If the trajectory leaves the representable grid (non-finite θ).
    """
    ndim = fields[0].ndim
    corner_offsets = np.array([[(c >> (ndim - 1 - k)) & 1 for k in range(ndim)]
                               for c in range(2**ndim)], dtype=np.int64)
    done = _euler_kernel(
        theta, theta.shape[0] - 1, float(h), np.asarray(domain_index, dtype=np.int64),
        np.asarray(learned_index, dtype=np.int64),
        np.stack([f.origin for f in fields]), np.stack([f.cell_sizes for f in fields]),
        np.array([f.reference_scaling for f in fields]), corner_offsets,
        tuple(f._coeffs for f in fields), tuple(f._slots for f in fields),
        tuple(f._slot_hashes for f in fields), tuple(f._vertices for f in fields))
    if done != theta.shape[0] - 1:
        raise ValueError(f"the forward solve left the grid at substep {done}: θ = "
                         f"{theta[done].tolist()} (non-finite or too far from the origin)")


def integrate_reference(theta: np.ndarray, h: float, domain_index: np.ndarray,
                        learned_index: np.ndarray, fields: Sequence[HermiteField]) -> None:
    """The readable per-substep loop that :func:`integrate_numba` reproduces bit for bit."""
    for n in range(theta.shape[0] - 1):
        x = theta[n, domain_index][None, :]
        theta[n + 1] = theta[n]
        for index, field_ in zip(learned_index, fields, strict=True):
            theta[n + 1, index] += h * field_.value(x)[0]
