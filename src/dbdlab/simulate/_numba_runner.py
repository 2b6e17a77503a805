"""Chunked driver of the Numba kernel: keeps the ensemble state between calls."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..lattice import Lattice
from ..reactions import NetworkTables
from . import _numba


class NumbaRunner:
    """Advance an ensemble chunk by chunk, yielding ``(lattices, counts)`` per chunk.

    ``lattices`` has shape ``(replicas, frames_in_chunk, n_sites)`` (int8) and ``counts``
    ``(replicas, frames_in_chunk, n_species)``.
    """

    def __init__(self, lattice: Lattice, tables: NetworkTables, n_species: int,
                 initial: np.ndarray, keys: list[int], steps: int, dt: float, biased: bool,
                 store_lattices: bool) -> None:
        self.lattice = lattice
        self.tables = tables
        self.n_species = n_species
        self.occ = np.array(initial, dtype=np.int8, order="C")
        n_codes = n_species + 1
        self.n_total = np.stack([np.bincount(row, minlength=n_codes) for row in self.occ])
        self.n_total = self.n_total.astype(np.int64)
        self.state = np.zeros((len(keys), 3), dtype=np.float64)
        self.state[:, 0] = -1.0
        self.keys = np.array(keys, dtype=np.uint64)
        self.steps = steps
        self.dt = dt
        self.biased = biased
        _, self.rows_per_plane, self.row_size = lattice.selection_geometry
        if biased:
            self.bag_geometry = (self.rows_per_plane, self.row_size)
        else:
            self.bag_geometry = (1, lattice.n_sites)

    def advance(self, first_frame: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        n_rep, n_sites = self.occ.shape
        out_lattice = np.empty((n_rep, n_frames, n_sites), dtype=np.int8)
        out_counts = np.empty((n_rep, n_frames, self.n_species), dtype=np.int32)
        nbr, nnbr = self.lattice.neighbours
        t = self.tables
        _numba.advance(self.occ, self.n_total, self.state, self.keys, first_frame, n_frames,
                       self.steps - 1, out_lattice, out_counts, True, self.dt, self.biased,
                       self.rows_per_plane, self.row_size, *self.bag_geometry, nbr, nnbr,
                       t.uni_kind, t.uni_reactant, t.uni_product1, t.uni_product2, t.uni_rate,
                       t.uni_autocatalytic, t.pair_start, t.pair_len, t.pair_rxn,
                       t.enc_probability, t.enc_nproducts, t.enc_product1, t.enc_product2)
        return out_lattice, out_counts

    def run(self, chunk: int, progress: bool,
            label: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.steps, desc=label, unit="step", leave=False)
        try:
            for first in range(0, self.steps, chunk):
                n = min(chunk, self.steps - first)
                yield self.advance(first, n)
                if bar is not None:
                    bar.update(n)
        finally:
            if bar is not None:
                bar.close()
