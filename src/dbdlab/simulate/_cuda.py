"""Driver of the CUDA simulator kernel (``kernels/advance.cu``), independent of the device.

The kernel takes five records (C structs); each is described here once, as a NumPy structured
dtype with C alignment whose fields are the struct's in order, pointers as ``uint64`` addresses.
:class:`CudaRunner` fills them from arrays of any array module and hands them to a launcher:
:class:`~dbdlab.simulate._cupy.CupyRunner` launches the NVRTC-compiled kernel on a GPU, and the
tests launch the same source compiled as C++ for the CPU (``tests/cuda_cpu``), which is how the
CUDA code is checked against the Numba kernel on machines without a GPU.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..backend import cuda_record, cuda_record_dtype
from ._runner import EnsembleRunner
from .lattice import Lattice
from .reactions import NetworkTables

__all__ = ["BLOCK_SIZE", "KERNEL_FILE", "KERNEL_NAME", "KERNEL_OPTIONS", "KERNEL_RECORDS",
           "RECORDS", "CudaRunner", "record_dtype"]

KERNEL_FILE = Path(__file__).resolve().parent / "kernels" / "advance.cu"
KERNEL_NAME = "dbd_advance"
#: no contraction of a·b + c into an FMA: results must round exactly like Numba's
KERNEL_OPTIONS = ("--fmad=false",)
BLOCK_SIZE = 64

_PTR = "ptr"
#: Field lists of the kernel's records, in the order of the structs in ``advance.cu``.
RECORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "DbdEnsemble": (("occ", _PTR), ("n_total", _PTR), ("state", _PTR), ("keys", _PTR),
                    ("dt", "f8"), ("n_rep", "i4")),
    "DbdFrames": (("lattice", _PTR), ("counts", _PTR), ("first_frame", "i8"),
                  ("last_frame", "i8"), ("n_frames", "i4")),
    "DbdLattice": (("nbr", _PTR), ("nnbr", _PTR), ("nbr_width", "i4"), ("n_sites", "i4"),
                   ("rows_per_plane", "i4"), ("row_size", "i4"), ("bag_rows_per_plane", "i4"),
                   ("bag_row_size", "i4"), ("biased", "i4")),
    "DbdNetwork": (("n_codes", "i4"), ("n_uni", "i4"), ("uni_kind", _PTR),
                   ("uni_reactant", _PTR), ("uni_product1", _PTR), ("uni_product2", _PTR),
                   ("uni_rate", _PTR), ("uni_auto", _PTR), ("pair_start", _PTR),
                   ("pair_len", _PTR), ("pair_rxn", _PTR), ("enc_prob", _PTR),
                   ("enc_nprod", _PTR), ("enc_p1", _PTR), ("enc_p2", _PTR)),
    "DbdWork": tuple((name, _PTR) for name in (
        "cnt_row", "cnt_plane", "elem", "rowlen", "pos", "prow", "nrows", "rowpos", "planes",
        "nplanes", "planepos")),
}
#: order of the records in the kernel's parameter list
KERNEL_RECORDS = ("DbdEnsemble", "DbdFrames", "DbdLattice", "DbdNetwork", "DbdWork")

# network table fields of the kernel (DbdNetwork) and their NetworkTables source and dtype
_NETWORK_TABLES = (
    ("uni_kind", "uni_kind", np.int8), ("uni_reactant", "uni_reactant", np.int8),
    ("uni_product1", "uni_product1", np.int8), ("uni_product2", "uni_product2", np.int8),
    ("uni_rate", "uni_rate", np.float64), ("uni_auto", "uni_autocatalytic", np.uint8),
    ("pair_start", "pair_start", np.int32), ("pair_len", "pair_len", np.int32),
    ("pair_rxn", "pair_rxn", np.int32), ("enc_prob", "enc_probability", np.float64),
    ("enc_nprod", "enc_nproducts", np.int8), ("enc_p1", "enc_product1", np.int8),
    ("enc_p2", "enc_product2", np.int8),
)


def record_dtype(name: str) -> np.dtype:
    """NumPy dtype with the memory layout of the kernel's struct ``name`` (C alignment)."""
    return cuda_record_dtype(RECORDS[name])


class CudaRunner(EnsembleRunner):
    """Advance an ensemble with the CUDA kernel; subclasses say where the arrays live and how
    the kernel is launched.

    Subclasses set :attr:`xp` (the array module of the kernel's memory) and implement
    :meth:`pointer` (address of an array) and :meth:`launch`.  ``advance`` returns host NumPy
    arrays ``lattices (replicas, frames, n_sites)`` int8 and ``counts (replicas, frames,
    n_species)`` int32, like :class:`~dbdlab.simulate._numba_runner.NumbaRunner`; the ensemble
    state stays in the kernel's memory between chunks.
    """

    xp: ModuleType = np

    def __init__(self, lattice: Lattice, tables: NetworkTables, n_species: int,
                 initial: np.ndarray, keys: list[int], steps: int, dt: float,
                 biased: bool) -> None:
        super().__init__(lattice, tables, n_species, initial, keys, steps, dt, biased)
        xp = self.xp
        self.occ = xp.asarray(self.occ)
        self.n_total = xp.asarray(self.n_total)
        self.state = xp.asarray(self.state)
        self.keys = xp.asarray(self.keys)
        nbr, nnbr = lattice.neighbours
        # every array a record points at is kept alive by self._arrays
        self._arrays: dict[str, Any] = {"nbr": self._table(nbr, np.int32),
                                        "nnbr": self._table(nnbr, np.int32)}
        for field, source, dtype in _NETWORK_TABLES:
            self._arrays[field] = self._table(getattr(tables, source), dtype)
        bag_rows_per_plane, bag_row_size = self.bag_geometry
        self.lattice_record = self._record("DbdLattice", nbr_width=nbr.shape[1],
                                           n_sites=self.n_sites,
                                           rows_per_plane=self.rows_per_plane,
                                           row_size=self.row_size,
                                           bag_rows_per_plane=bag_rows_per_plane,
                                           bag_row_size=bag_row_size, biased=int(biased))
        self.network_record = self._record("DbdNetwork", n_codes=self.n_codes,
                                           n_uni=tables.uni_kind.shape[0])

        # per-replica work arrays, allocated once: (replicas, size) int32
        n_rows = self.n_sites // self.row_size
        n_planes = n_rows // self.rows_per_plane
        n_bag_rows = self.n_sites // bag_row_size
        n_bag_planes = n_bag_rows // bag_rows_per_plane
        sizes = {"cnt_row": self.n_codes * n_rows, "cnt_plane": self.n_codes * n_planes,
                 "elem": self.n_sites, "rowlen": n_bag_rows, "pos": self.n_sites,
                 "prow": n_bag_rows, "nrows": n_bag_planes, "rowpos": n_bag_rows,
                 "planes": n_bag_planes, "nplanes": 1, "planepos": n_bag_planes}
        self._work = {name: xp.zeros((self.n_rep, size), dtype=np.int32)
                      for name, size in sizes.items()}
        self.work_record = self._record("DbdWork", **self._work)

    def pointer(self, array: Any) -> int:
        """Address of a contiguous array of :attr:`xp`."""
        raise NotImplementedError

    def launch(self, grid: int, block: int, records: tuple[np.ndarray, ...]) -> None:
        """Run the kernel on ``grid`` blocks of ``block`` threads with the given records."""
        raise NotImplementedError

    def _table(self, array: np.ndarray, dtype) -> Any:
        """Contiguous copy in the kernel's memory; empty tables get one element (never read)."""
        host = np.ascontiguousarray(array, dtype=dtype)
        if host.size == 0:
            host = np.zeros(1, dtype=dtype)
        return self.xp.asarray(host)

    def _record(self, name: str, **values: Any) -> np.ndarray:
        """Record ``name`` (a one-element structured array, the form CuPy passes by value) from
        the given fields; pointer fields not given point at the tables of the same name."""
        return cuda_record(RECORDS[name], self.pointer, **{**self._arrays, **values})

    def advance(self, first_frame: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        xp = self.xp
        lattices = xp.empty((self.n_rep, n_frames, self.n_sites), dtype=np.int8)
        counts = xp.empty((self.n_rep, n_frames, self.n_species), dtype=np.int32)
        ensemble = self._record("DbdEnsemble", occ=self.occ, n_total=self.n_total,
                                state=self.state, keys=self.keys, dt=self.dt, n_rep=self.n_rep)
        frames = self._record("DbdFrames", lattice=lattices, counts=counts,
                              first_frame=first_frame, last_frame=self.steps - 1,
                              n_frames=n_frames)
        grid = (self.n_rep + BLOCK_SIZE - 1) // BLOCK_SIZE
        self.launch(grid, BLOCK_SIZE, (ensemble, frames, self.lattice_record,
                                       self.network_record, self.work_record))
        to_host = getattr(xp, "asnumpy", np.asarray)
        return to_host(lattices), to_host(counts)
