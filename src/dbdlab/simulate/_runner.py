"""What the Numba and CUDA drivers share: the ensemble state and the chunked run loop."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .lattice import Lattice
from .reactions import NetworkTables


class EnsembleRunner:
    """Ensemble state on the host; subclasses implement :meth:`advance`.

    State per replica: ``occ`` (int8 codes), ``n_total`` (molecules per code, int64) and
    ``state = [pending reaction (−1 none), its firing time, current time]``.  ``run`` yields
    ``(lattices, counts)`` per chunk of frames with an optional progress bar.
    """

    def __init__(self, lattice: Lattice, tables: NetworkTables, n_species: int,
                 initial: np.ndarray, keys: list[int], steps: int, dt: float,
                 biased: bool) -> None:
        self.lattice = lattice
        self.tables = tables
        self.n_species = n_species
        self.n_codes = n_species + 1
        self.occ = np.array(initial, dtype=np.int8, order="C")
        self.n_rep, self.n_sites = self.occ.shape
        self.n_total = np.stack([np.bincount(row, minlength=self.n_codes)
                                 for row in self.occ]).astype(np.int64)
        self.state = np.zeros((len(keys), 3), dtype=np.float64)
        self.state[:, 0] = -1.0
        self.keys = np.array(keys, dtype=np.uint64)
        self.steps = steps
        self.dt = dt
        self.biased = biased
        _, self.rows_per_plane, self.row_size = lattice.selection_geometry
        # the reference's row-biased hop order uses the lattice rows; uniform, one flat bag
        self.bag_geometry = (self.rows_per_plane, self.row_size) if biased else \
            (1, lattice.n_sites)

    def advance(self, first_frame: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

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
