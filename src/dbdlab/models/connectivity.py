"""Local connectivity between two adjacent layers: 1D pairs, 2D 2×2 patches, 3D 2×2×2 cubes.

Every upper unit ``u`` is connected to a patch of ``P = 2**ndim`` lower units, one per offset
``δ ∈ {0,1}**ndim`` (offset number ``k`` = position of ``δ`` in ``itertools.product((0, 1),
repeat=ndim)``, i.e. the binary digits of ``k`` with axis 0 most significant):

* **periodic** (upper shape = lower shape): upper ``u`` sees lower ``(u − δ) mod L``; equivalently
  lower ``i`` sees upper ``(i + δ) mod L`` — the convention of the LV and Rössler code (reference
  reproduction notes: repro-architectures: unit ``(i, j)`` of layer ``l`` ↔ units ``(i+δ1, j+δ2)``
  of layer ``l+1``, so upper ``(a, b)`` sees the lower patch ``{a−1, a} × {b−1, b}``).  Every unit
  has ``q = P`` connections in both directions.
* **open** (upper shape = lower shape − 1 per axis): upper ``u`` sees lower ``u + δ``, no wrap —
  the annihilation RBM (reproduction notes: repro-architectures: hidden ``j`` ↔ visible ``j, j+1``;
  999 hidden for 1000 visible).  Upper units have ``P`` connections, lower units ``P`` inside and
  fewer at the borders (1D: 1 at each end).

Index tables (``int64``, NumPy; device copies are made by the users of the tables):

``up_to_down[u, k]``
    lower unit seen by upper unit ``u`` through offset ``k``; shape ``(N_upper, P)``, always valid.
``down_to_up[i, k]``
    upper unit ``u`` with ``up_to_down[u, k] == i``, or the sentinel ``N_upper`` if there is none
    (open borders); shape ``(N_lower, P)``.  Append one zero row to an upper-layer array to gather
    through it without branches.

Each edge ``(i, u)`` appears exactly once in each table (a periodic axis needs at least 2 units,
otherwise ``u − 0`` and ``u − 1`` would be the same unit and the edge would be doubled).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .layers import _check_shape

__all__ = ["LocalConnectivity", "local_connectivity", "upper_shape"]

PATTERN_NAMES = {1: "1D pairs", 2: "2D 2×2 patches", 3: "3D 2×2×2 cubes"}


def upper_shape(lower_shape: tuple[int, ...], periodic: bool) -> tuple[int, ...]:
    """Shape of the upper layer that the local pattern implies for a lower layer shape.

    Raises
    ------
    ValueError
        If an axis is too short for the pattern: a periodic axis needs at least 2 units, an open
        axis at least 2 lower units (so that the upper layer is not empty).
    """
    lower_shape = _check_shape(lower_shape, "lower layer shape")
    for axis, n in enumerate(lower_shape):
        if n < 2:
            kind = "periodic" if periodic else "open"
            raise ValueError(
                f"{PATTERN_NAMES[len(lower_shape)]} ({kind}) need at least 2 units per axis of "
                f"the lower layer, but axis {axis} of shape {lower_shape} has {n}")
    if periodic:
        return lower_shape
    return tuple(n - 1 for n in lower_shape)


def _offsets(ndim: int) -> np.ndarray:
    return np.array(list(itertools.product((0, 1), repeat=ndim)), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class LocalConnectivity:
    """Edges between a lower and an upper layer (see the module docstring for the conventions).

    Attributes
    ----------
    lower_shape, upper_shape
        Lattice shapes of the two layers.
    periodic
        Wrap (periodic) or open pattern.
    up_to_down, down_to_up
        Index tables, ``int64`` of shapes ``(N_upper, q)`` and ``(N_lower, q)``.
    lower_degree, upper_degree
        Number of connections of each unit, ``int64`` of shapes ``(N_lower,)``, ``(N_upper,)``.
    """

    lower_shape: tuple[int, ...]
    upper_shape: tuple[int, ...]
    periodic: bool
    up_to_down: np.ndarray = field(repr=False)
    down_to_up: np.ndarray = field(repr=False)
    lower_degree: np.ndarray = field(repr=False)
    upper_degree: np.ndarray = field(repr=False)

    @property
    def ndim(self) -> int:
        return len(self.lower_shape)

    @property
    def q(self) -> int:
        """Nominal connection multiplicity ``q^{(l,l+1)} = q^{(l+1,l)} = 2**ndim`` (paper B eq. 4).

        Exact for every unit with periodic connectivity; with open connectivity lower border
        units have fewer connections (:attr:`lower_degree`).
        """
        return 2 ** self.ndim

    @property
    def n_edges(self) -> int:
        """Number of edges ``Σ_i deg(i)`` (``N^{(l)} q`` for periodic connectivity)."""
        return int(self.up_to_down.size)

    @property
    def regular(self) -> bool:
        """Whether every unit of both layers has exactly :attr:`q` connections."""
        return bool(np.all(self.lower_degree == self.q))

    def edges(self) -> np.ndarray:
        """All edges as ``(lower unit, upper unit)`` rows, ordered by upper unit, then offset."""
        n_up, q = self.up_to_down.shape
        upper = np.repeat(np.arange(n_up, dtype=np.int64), q)
        return np.stack([self.up_to_down.reshape(-1), upper], axis=1)


def local_connectivity(lower_shape: tuple[int, ...], periodic: bool) -> LocalConnectivity:
    """Build the index tables of the local pattern below a layer (module docstring).

    Parameters
    ----------
    lower_shape
        Shape of the lower layer (1 to 3 axes).
    periodic
        ``True`` for the periodic pattern (upper shape = lower shape), ``False`` for the open one
        (upper shape = lower shape − 1 per axis).
    """
    lower_shape = _check_shape(lower_shape, "lower layer shape")
    periodic = bool(periodic)
    up_shape = upper_shape(lower_shape, periodic)
    offsets = _offsets(len(lower_shape))
    lower_dims = np.array(lower_shape)[:, None]
    upper_dims = np.array(up_shape)[:, None]

    up_coords = np.indices(up_shape).reshape(len(up_shape), -1)  # (ndim, N_upper)
    low_coords = np.indices(lower_shape).reshape(len(lower_shape), -1)
    up_to_down = np.empty((up_coords.shape[1], len(offsets)), dtype=np.int64)
    down_to_up = np.empty((low_coords.shape[1], len(offsets)), dtype=np.int64)
    n_upper = up_coords.shape[1]
    for k, delta in enumerate(offsets):
        d = delta[:, None]
        if periodic:
            below = (up_coords - d) % lower_dims
            above = (low_coords + d) % upper_dims
            inside = np.ones(low_coords.shape[1], dtype=bool)
        else:
            below = up_coords + d
            above = low_coords - d
            inside = np.all((above >= 0) & (above < upper_dims), axis=0)
        up_to_down[:, k] = np.ravel_multi_index(tuple(below), lower_shape)
        flat_above = np.ravel_multi_index(tuple(np.clip(above, 0, upper_dims - 1)), up_shape)
        down_to_up[:, k] = np.where(inside, flat_above, n_upper)

    lower_degree = np.bincount(up_to_down.reshape(-1), minlength=low_coords.shape[1]).astype(
        np.int64)
    upper_degree = np.full(n_upper, len(offsets), dtype=np.int64)
    for table in (up_to_down, down_to_up, lower_degree, upper_degree):
        table.setflags(write=False)
    return LocalConnectivity(lower_shape, up_shape, periodic, up_to_down, down_to_up,
                             lower_degree, upper_degree)
