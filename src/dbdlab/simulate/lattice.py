"""Lattice geometry: shape, boundary, von Neumann neighbour tables, row/plane structure.

Sites are numbered in C order.  The *selection geometry* ``(P, R, C)`` views the lattice as ``P``
planes of ``R`` rows of ``C`` sites (1D: ``(1, 1, N)``; 2D ``(Lx, Ly)``: ``(1, Lx, Ly)``; 3D:
``(Lx, Ly, Lz)``); the reference simulator's "random" choices are uniform over planes, then rows,
then sites (reproduction notes: repro-selection).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Lattice"]


@dataclass(frozen=True)
class Lattice:
    """A 1D, 2D or 3D simple cubic lattice with periodic or reflecting ("walls") boundaries.

    Parameters
    ----------
    shape
        Number of sites per axis, e.g. ``(40, 40)``.
    periodic
        Wrap neighbours around (``True``) or drop out-of-lattice neighbours (``False``; a boundary
        particle then hops uniformly among its in-lattice neighbours, as in the reference).
    """

    shape: tuple[int, ...]
    periodic: bool = False

    def __post_init__(self) -> None:
        try:
            shape = tuple(int(n) for n in self.shape)
        except TypeError:
            raise TypeError(
                f"shape must be a tuple of 1 to 3 integers, got {self.shape!r}") from None
        except (ValueError, OverflowError):  # NaN, inf, "abc"
            raise ValueError(f"shape must hold integers, got {self.shape!r}") from None
        if not 1 <= len(shape) <= 3 or any(n < 1 for n in shape):
            raise ValueError(f"shape must be 1 to 3 positive integers, got {self.shape!r}")
        if any(float(n) != float(m) for n, m in zip(shape, self.shape, strict=True)):
            raise ValueError(f"shape must hold integers, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "periodic", bool(self.periodic))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n_sites(self) -> int:
        return int(np.prod(self.shape))

    @property
    def selection_geometry(self) -> tuple[int, int, int]:
        """``(planes, rows per plane, sites per row)`` of the reference's biased selection."""
        if self.ndim == 1:
            return 1, 1, self.shape[0]
        if self.ndim == 2:
            return 1, self.shape[0], self.shape[1]
        return self.shape

    @cached_property
    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """``(table, count)``: ``table[s, :count[s]]`` are the neighbours of site ``s``.

        The order is −axis0, +axis0, −axis1, +axis1, … with missing wall neighbours dropped.
        """
        coords = np.indices(self.shape).reshape(self.ndim, -1)
        candidates = []
        for axis in range(self.ndim):
            for step in (-1, 1):
                other = coords.copy()
                other[axis] += step
                if self.periodic:
                    other[axis] %= self.shape[axis]
                inside = (other[axis] >= 0) & (other[axis] < self.shape[axis])
                flat = np.ravel_multi_index(tuple(np.clip(other, 0, None)), self.shape, mode="clip")
                candidates.append(np.where(inside, flat, -1))
        full = np.stack(candidates, axis=1).astype(np.int32)
        # compact each row: valid neighbours first, in the fixed axis/direction order
        order = np.argsort(full < 0, axis=1, kind="stable")
        table = np.take_along_axis(full, order, axis=1)
        count = (table >= 0).sum(axis=1).astype(np.int32)
        return table, count

    @property
    def dims(self) -> tuple[str, ...]:
        """Names of the spatial axes in datasets."""
        return ("x", "y", "z")[: self.ndim]
