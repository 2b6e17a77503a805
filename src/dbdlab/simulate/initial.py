"""Initial lattice states of the simulations (reproduction notes: repro-initial).

* :class:`RandomCounts` — exact numbers of molecules per species at random empty sites
  (Lotka–Volterra: 100 X + 100 Y; Rössler: 200 A + 200 B + 200 C).
* :class:`FullyVisible1D` — 1D lattices sampled from the (b, J, K) model by Gibbs sweeps after a
  random fill (annihilation; paper A §IV.A), one parameter triple per replica.
* :class:`GivenLattices` — explicit lattices.

Each builds an int8 array ``(replicas, n_sites)`` of species codes from the replicas' random
streams (purpose :data:`dbdlab.rng.Purpose.INIT`), so an initial state depends only on the seed
and the replica index.

The set is open: :func:`dbdlab.simulate.simulate` accepts any object with the methods of
:class:`InitialState` (``validate``, ``build``, ``describe``, ``variables``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..rng import Purpose, stream_key
from .lattice import Lattice
from .reactions import ReactionNetwork

__all__ = ["InitialState", "RandomCounts", "FullyVisible1D", "GivenLattices", "init_keys"]


@runtime_checkable
class InitialState(Protocol):
    """What :func:`~dbdlab.simulate.simulate` needs from an initial state."""

    def validate(self, lattice: Lattice, network: ReactionNetwork) -> None:
        """Raise ``ValueError`` (message starting with ``init``) if it cannot be built."""

    def build(self, lattice: Lattice, network: ReactionNetwork, seed: int,
              replica_ids: np.ndarray, biased: bool) -> np.ndarray:
        """Codes ``(len(replica_ids), lattice.n_sites)``, int8, from the replicas' streams
        (``biased``: the authors' row-biased choice of sites)."""

    def describe(self) -> str:
        """A JSON description for the data set's attributes."""

    def variables(self, n_replicas: int) -> dict:
        """Per-replica data variables, ``{name: ("replica", values)}``."""


def init_keys(seed: int, replica_ids: np.ndarray) -> np.ndarray:
    """Stream keys of the initial-state draws of the given replicas."""
    return np.array([stream_key(seed, Purpose.INIT, int(r)) for r in replica_ids], dtype=np.uint64)


@dataclass(frozen=True)
class RandomCounts:
    """Exactly ``counts[species]`` molecules per species at random empty sites.

    Species are placed in the network's order, one molecule at a time, each on an empty site
    chosen with the simulation's selection rule (row-biased for ``selection="reference"``).
    """

    counts: Mapping[str, int]

    def validate(self, lattice: Lattice, network: ReactionNetwork) -> None:
        total = 0
        for name, count in self.counts.items():
            network.code(name)
            if int(count) != count or count < 0:
                raise ValueError(f"init: count of {name!r} must be a non-negative integer, "
                                 f"got {count!r}")
            total += int(count)
        if total > lattice.n_sites:
            raise ValueError(f"init: {total} molecules do not fit on {lattice.n_sites} sites")

    def build(self, lattice: Lattice, network: ReactionNetwork, seed: int,
              replica_ids: np.ndarray, biased: bool) -> np.ndarray:
        from ._numba import place_counts

        occ = np.zeros((len(replica_ids), lattice.n_sites), dtype=np.int8)
        per_species = np.array([int(self.counts.get(s, 0)) for s in network.species],
                               dtype=np.int64)
        _, rows_per_plane, row_size = lattice.selection_geometry
        place_counts(occ, init_keys(seed, replica_ids), per_species, biased, rows_per_plane,
                     row_size)
        return occ

    def describe(self) -> str:
        return json.dumps({"kind": "random_counts", "counts": dict(self.counts)})

    def variables(self, n_replicas: int) -> dict:
        return {}


@dataclass(frozen=True)
class FullyVisible1D:
    """Lattices drawn from ``P(v) ∝ exp(bΣv + JΣvv + KΣvvv)`` on an open chain (paper A eq. 37).

    Procedure of the reference (reproduction notes: repro-initial): a random total count uniform in
    {0…N} at random sites, then
    ``sweeps`` Gibbs sweeps in three interleaved classes.  ``b, J, K`` are scalars or arrays with
    one value per replica; ``ic`` optionally labels the initial condition of each replica.
    """

    b: np.ndarray
    J: np.ndarray
    K: np.ndarray
    sweeps: int = 100
    ic: np.ndarray | None = field(default=None)

    def _params(self, n_replicas: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = []
        for name in ("b", "J", "K"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.ndim == 0:
                value = np.full(n_replicas, float(value))
            if value.shape != (n_replicas,):
                raise ValueError(f"init: {name} must be a scalar or have one value per replica "
                                 f"({n_replicas}), got shape {value.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"init: {name} must be finite")
            out.append(value)
        return out[0], out[1], out[2]

    def validate(self, lattice: Lattice, network: ReactionNetwork) -> None:
        if lattice.ndim != 1 or len(network.species) != 1:
            raise ValueError("init: FullyVisible1D needs a 1D lattice and a single species")
        if int(self.sweeps) != self.sweeps or self.sweeps < 0:
            raise ValueError(f"init: sweeps must be a non-negative integer, got {self.sweeps!r}")

    def build(self, lattice: Lattice, network: ReactionNetwork, seed: int,
              replica_ids: np.ndarray, biased: bool) -> np.ndarray:
        from ._fully_visible_1d import random_fill, three_class_sweeps

        b, J, K = self._params(len(replica_ids))
        keys = init_keys(seed, replica_ids)
        occ = np.zeros((len(replica_ids), lattice.n_sites), dtype=np.int8)
        random_fill(occ, keys)
        three_class_sweeps(occ, b, J, K, keys, int(self.sweeps), lattice.n_sites + 1)
        return occ

    def describe(self) -> str:
        return json.dumps({"kind": "fully_visible_1d", "sweeps": int(self.sweeps)})

    def variables(self, n_replicas: int) -> dict:
        b, J, K = self._params(n_replicas)
        out = {"ic_b": ("replica", b), "ic_J": ("replica", J), "ic_K": ("replica", K)}
        if self.ic is not None:
            out["ic"] = ("replica", np.asarray(self.ic))
        return out


@dataclass(frozen=True)
class GivenLattices:
    """Explicit initial lattices: codes of shape ``(*shape)`` or ``(replicas, *shape)``."""

    lattices: np.ndarray

    def validate(self, lattice: Lattice, network: ReactionNetwork) -> None:
        arr = np.asarray(self.lattices)
        if arr.dtype.kind not in "iu":
            # a float 1.99 would become code 1 and a NaN lattice an empty one in the int8 cast
            raise TypeError(f"init: lattices must be an integer array of species codes, got "
                            f"dtype {arr.dtype}")
        if arr.ndim < lattice.ndim or arr.shape[-lattice.ndim:] != lattice.shape:
            raise ValueError(f"init: lattices must end with the lattice shape {lattice.shape}, "
                             f"got {arr.shape}")
        if arr.min(initial=0) < 0 or arr.max(initial=0) > len(network.species):
            raise ValueError(f"init: codes must lie in 0…{len(network.species)}")

    def build(self, lattice: Lattice, network: ReactionNetwork, seed: int,
              replica_ids: np.ndarray, biased: bool) -> np.ndarray:
        arr = np.asarray(self.lattices, dtype=np.int8).reshape(-1, lattice.n_sites)
        if arr.shape[0] == 1:
            arr = np.repeat(arr, len(replica_ids), axis=0)
        if arr.shape[0] != len(replica_ids):
            raise ValueError(f"init: {arr.shape[0]} lattices given for {len(replica_ids)} replicas")
        return arr.copy()

    def describe(self) -> str:
        return json.dumps({"kind": "given_lattices"})

    def variables(self, n_replicas: int) -> dict:
        return {}
