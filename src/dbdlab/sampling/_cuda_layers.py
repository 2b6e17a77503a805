"""Driver of the CUDA Gibbs kernel (``kernels/gibbs.cu``), independent of the device.

The kernel is the CUDA twin of the Numba layer kernel (:mod:`dbdlab.sampling._numba_layers`): it
reads the same model layout and the same cumulative-probability tables, built on the host by the
NumPy sampler's code, so its samples are bit-identical to the NumPy and Numba samplers.  One
launch runs all sweeps of a call: one thread block per chain, whose threads share the units of
each layer update and meet at a barrier between layers (layers of a group are non-adjacent, so
updating them one after the other is the block update).  A single launch keeps the host out of
the loop; a per-layer launch would cost a kernel call per layer and sweep.

A :class:`Launcher` says where the arrays live and how the kernel runs:
:mod:`dbdlab.sampling._cupy_layers` on a GPU; the tests run the same source compiled as C++ for
the CPU (``tests/cuda_cpu``).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from ..backend import Array, cuda_record, cuda_record_dtype, to_numpy
from ..models.boltzmann import BoltzmannMachine
from . import _numba_layers
from ._numba_layers import _layout, _needed, _tables

__all__ = ["BLOCK_SIZE", "KERNEL_FILE", "KERNEL_NAME", "KERNEL_RECORDS", "RECORDS", "Launcher",
           "applies", "record_dtype", "run_sweeps", "sample_layer"]

KERNEL_FILE = Path(__file__).resolve().parent / "kernels" / "gibbs.cu"
KERNEL_NAME = "dbd_gibbs_sweeps"
#: threads per block (one block per chain), at most; fewer for small layers (whole warps)
BLOCK_SIZE = 256

_PTR = "ptr"
#: Field lists of the kernel's records, in the order of the structs in ``gibbs.cu``.
RECORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "DbdGibbsModel": (("offsets", _PTR), ("n_units", _PTR), ("n_species", _PTR),
                      ("nbr_lo", _PTR), ("lo_start", _PTR), ("q_lo", _PTR), ("step_lo", _PTR),
                      ("nbr_hi", _PTR), ("hi_start", _PTR), ("q_hi", _PTR), ("step_hi", _PTR),
                      ("table", _PTR), ("table_start", _PTR), ("step_width", "i8"),
                      ("table_width", "i8"), ("per_chain_table", "i4")),
    "DbdGibbsChains": (("state", _PTR), ("keys", _PTR), ("row_length", "i8"),
                       ("n_chains", "i4")),
    "DbdGibbsRun": (("sequence", _PTR), ("first_sweep", "i8"), ("n_sequence", "i4"),
                    ("n_sweeps", "i4"), ("keys_are_layer_keys", "i4")),
}
#: order of the records in the kernel's parameter list
KERNEL_RECORDS = ("DbdGibbsChains", "DbdGibbsModel", "DbdGibbsRun")

# layout arrays of the kernel, with their dtypes
_LAYOUT_ARRAYS = (("offsets", np.int64), ("n_units", np.int64), ("n_species", np.int64),
                  ("nbr_lo", np.uint32), ("lo_start", np.int64), ("q_lo", np.int64),
                  ("step_lo", np.int64), ("nbr_hi", np.uint32), ("hi_start", np.int64),
                  ("q_hi", np.int64), ("step_hi", np.int64))


def record_dtype(name: str) -> np.dtype:
    """NumPy dtype with the memory layout of the kernel's struct ``name`` (C alignment)."""
    return cuda_record_dtype(RECORDS[name])


class Launcher(Protocol):
    """Where the kernel's arrays live (:attr:`xp`) and how it is launched."""

    xp: ModuleType

    def pointer(self, array: Any) -> int:
        """Address of a contiguous array of :attr:`xp`."""

    def launch(self, grid: int, block: int, records: tuple[np.ndarray, ...]) -> None:
        """Run the kernel on ``grid`` blocks of ``block`` threads with one-element records."""


def _is_codes(state: Array) -> bool:
    return np.dtype(state.dtype).kind in "iu" and state.ndim == 2


def applies(model: BoltzmannMachine, layers: Sequence[Array], sequence: Sequence[int],
            n_theta_rows: int = 1) -> bool:
    """Whether the kernel can update ``sequence`` of ``layers``: every layer it reads holds
    codes and the tables fit (the Numba kernel's rule, for arrays of any module)."""
    if not isinstance(model, BoltzmannMachine):
        return False
    layout = _layout(model)
    return (layout.supported
            and all(_is_codes(layers[l]) for l in _needed(model, sequence))
            and n_theta_rows * layout.table_entries(sequence) <= _numba_layers.MAX_TABLE_ENTRIES)


# device copies of the layout per (model, array module): uploaded once
_DEVICE_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _device_layout(model: BoltzmannMachine, xp: ModuleType) -> dict[str, Any]:
    per_model = _DEVICE_LAYOUTS.setdefault(model, {})
    arrays = per_model.get(xp.__name__)
    if arrays is None:
        layout = _layout(model)
        arrays = {}
        for name, dtype in _LAYOUT_ARRAYS:
            host = np.ascontiguousarray(getattr(layout, name), dtype=dtype)
            arrays[name] = xp.asarray(host if host.size else np.zeros(1, dtype=dtype))
        per_model[xp.__name__] = arrays
    return arrays


def _record(launcher: Launcher, name: str, **values: Any) -> np.ndarray:
    return cuda_record(RECORDS[name], launcher.pointer, **values)


def _run(launcher: Launcher, model: BoltzmannMachine, biases, weights,
         layers: Sequence[Array], keys: Array, sequence: Sequence[int], first_sweep: int,
         n_sweeps: int, keys_are_layer_keys: bool) -> dict[int, Array] | None:
    """One kernel launch on copies of the layers; the new states of the updated layers, or
    ``None`` when the kernel does not apply."""
    xp = launcher.xp
    n_rows = 1 if np.ndim(biases[0]) == 1 else int(np.shape(biases[0])[0])
    if not applies(model, layers, sequence, n_rows):
        return None
    layout = _layout(model)
    # the tables are built on the host by the NumPy sampler's code (exactness: see _numba_layers)
    table, table_start, rows = _tables(model, [to_numpy(b) for b in biases],
                                       [to_numpy(w) for w in weights], sequence)
    if len(table) > 1:  # the device kernel reads one row per chain
        table = table[rows]
    tables = {"table": xp.asarray(np.ascontiguousarray(table)),
              "table_start": xp.asarray(table_start)}
    n_chains = int(keys.shape[0])
    state = xp.zeros((n_chains, layout.row_length), dtype=np.uint8)
    for l in _needed(model, sequence):
        state[:, layout.offsets[l]:layout.offsets[l] + layout.n_units[l]] = layers[l]
    keys = xp.ascontiguousarray(xp.asarray(keys, dtype=np.uint64))
    chains = _record(launcher, "DbdGibbsChains", state=state, keys=keys,
                     row_length=layout.row_length, n_chains=n_chains)
    model_record = _record(launcher, "DbdGibbsModel", **_device_layout(model, xp), **tables,
                           step_width=layout.step_lo.shape[1], table_width=table.shape[1],
                           per_chain_table=int(table.shape[0] > 1))
    order = xp.asarray(np.asarray(sequence, dtype=np.int64))
    run = _record(launcher, "DbdGibbsRun", sequence=order, first_sweep=int(first_sweep),
                  n_sequence=len(sequence), n_sweeps=int(n_sweeps),
                  keys_are_layer_keys=int(keys_are_layer_keys))
    widest = max(int(layout.n_units[l]) for l in sequence)
    block = min(BLOCK_SIZE, 32 * -(-widest // 32))
    launcher.launch(n_chains, block, (chains, model_record, run))
    return {l: state[:, layout.offsets[l]:layout.offsets[l] + layout.n_units[l]].astype(np.int8)
            for l in set(sequence)}


def run_sweeps(launcher: Launcher, model: BoltzmannMachine, biases: Sequence[Array],
               weights: Sequence[Array], chains, groups: Sequence[Sequence[int]],
               n_sweeps: int) -> bool:
    """Run ``n_sweeps`` Gibbs sweeps of ``chains`` with the kernel, if it applies.

    Same contract as :func:`dbdlab.sampling._numba_layers.run_sweeps`: ``True`` if the sweeps
    were done (layers and sweep counter of ``chains`` updated in place, bit-identical to the
    NumPy loop); ``False`` if the kernel does not apply, in which case nothing was changed.
    """
    sequence = [int(l) for g in groups for l in g]
    if n_sweeps <= 0 or not sequence:
        return n_sweeps <= 0
    new = _run(launcher, model, biases, weights, chains.layers, chains.keys, sequence,
               chains.sweep, n_sweeps, False)
    if new is None:
        return False
    for l, s in new.items():
        chains.layers[l] = s
    chains.sweep += int(n_sweeps)
    return True


def sample_layer(launcher: Launcher, model: BoltzmannMachine, biases: Sequence[Array],
                 weights: Sequence[Array], layers: Sequence[Array], l: int,
                 keys: Array) -> Array | None:
    """Twin of :func:`~dbdlab.sampling.sample_layer_given_neighbours` (``keys``: the per-chain
    keys of this layer update); ``None`` when the kernel does not apply."""
    new = _run(launcher, model, biases, weights, layers, keys, [int(l)], 0, 1, True)
    return None if new is None else new[int(l)]
