"""Chunked driver of the Numba kernel: keeps the ensemble state between calls."""

from __future__ import annotations

import numpy as np

from . import _numba
from ._runner import EnsembleRunner


class NumbaRunner(EnsembleRunner):
    """Advance an ensemble chunk by chunk, yielding ``(lattices, counts)`` per chunk.

    ``lattices`` has shape ``(replicas, frames_in_chunk, n_sites)`` (int8) and ``counts``
    ``(replicas, frames_in_chunk, n_species)``.
    """

    def advance(self, first_frame: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        out_lattice = np.empty((self.n_rep, n_frames, self.n_sites), dtype=np.int8)
        out_counts = np.empty((self.n_rep, n_frames, self.n_species), dtype=np.int32)
        nbr, nnbr = self.lattice.neighbours
        t = self.tables
        geometry = _numba.Geometry(nbr, nnbr, _numba.Selection(self.biased, self.rows_per_plane,
                                                                self.row_size),
                                   *self.bag_geometry)
        network = _numba.Network(t.uni_kind, t.uni_reactant, t.uni_product1, t.uni_product2,
                                 t.uni_rate, t.uni_autocatalytic, t.pair_start, t.pair_len,
                                 t.pair_rxn, t.enc_probability, t.enc_nproducts,
                                 t.enc_product1, t.enc_product2)
        _numba.advance(_numba.Ensemble(self.occ, self.n_total, self.state, self.keys, self.dt),
                       _numba.Frames(out_lattice, out_counts, first_frame, self.steps - 1),
                       geometry, network)
        return out_lattice, out_counts
