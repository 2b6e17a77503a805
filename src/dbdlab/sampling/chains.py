"""Markov chains of a lattice Boltzmann machine: per-layer states plus their random streams.

A :class:`Chains` object is the whole sampler state, so persistent chains (PCD) are simply the
same object passed to :func:`~dbdlab.sampling.gibbs_sweeps` again: it remembers how many sweeps
were done, and the next sweep draws fresh, reproducible uniforms.

Data layout (what kernels read and write)
-----------------------------------------
``chains.layers[l]`` is either

* **binary**: ``int8`` codes of shape ``(n_chains, N_l)``, C-contiguous; 0 = empty, ``k`` = the
  layer's ``k``-th species (units in C order of the layer's lattice shape), or
* **probabilities**: ``float64`` of shape ``(n_chains, N_l, M_l)``, ``p(s_iα = 1)`` per species.

``chains.keys[c]`` (``uint64``) = ``stream_key(seed, Purpose.GIBBS, chain_ids[c])``;
``chains.sweep`` = number of the next sweep.  Arrays live on the backend's array module
(NumPy for ``"numpy"`` and ``"numba"``, CuPy for ``"cupy"``).

Initial states (reproduction notes: repro-lv-config): ``"random"`` draws every unit uniformly over
{empty, species…} — unit ``i`` of layer ``l`` uses draw ``i`` of
``derive(stream_key(seed, Purpose.CHAIN_INIT, chain_id), l)`` — or from given state
probabilities (e.g. the Rössler code's unnormalised start, reproduction notes:
repro-rossler-config); ``"empty"`` leaves every unit empty.

Key scheme of the layered samplers: chain ``c`` owns the stream
``stream_key(seed, Purpose.GIBBS, chain_id[c])``; the uniform of unit ``i`` of layer ``l`` in
sweep ``s`` is draw number ``i`` of ``derive(derive(chain key, s), l)`` (:func:`sweep_keys`).  A
draw thus depends only on (seed, chain id, sweep, layer, unit), never on how chains are batched
or threaded.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from dbdlab.backend import Array, get_xp, resolve_backend, to_numpy
from dbdlab.rng import Purpose, derive_array, stream_keys, uniform_array

from .._checks import check_memory, integer
from ..models.layers import Layer
from ..models.states import flat_state

__all__ = ["Chains", "data_chains", "empty_chains", "random_chains", "sweep_keys"]


def sweep_keys(xp: ModuleType, keys: Array, sweep: int, layer: int) -> Array:
    """Per-chain keys of one layer update: ``derive(derive(key, sweep), layer)``."""
    return derive_array(xp, derive_array(xp, keys, int(sweep)), int(layer))


@dataclass(eq=False)
class Chains:
    """States of a batch of chains, one array per layer (layout in the module docstring).

    Attributes
    ----------
    layers
        Per-layer states: ``int8`` codes ``(n_chains, N_l)`` or ``float64`` probabilities
        ``(n_chains, N_l, M_l)``.
    keys
        Per-chain stream keys ``stream_key(seed, Purpose.GIBBS, chain_id)`` (``uint64``).
    chain_ids
        Chain numbers (NumPy ``int64``): chains with equal (seed, id) draw equal numbers.
    seed
        The seed the keys were derived from.
    clamped
        Per layer, whether samplers leave it unchanged (the visible layer in the wake phase).
    sweep
        Number of the next Gibbs sweep (each sweep draws from fresh streams).
    backend
        ``"numpy"``, ``"numba"`` or ``"cupy"``.
    """

    layers: list[Array]
    keys: Array
    chain_ids: np.ndarray
    seed: int
    clamped: tuple[bool, ...]
    sweep: int = 0
    backend: str = "numpy"

    @property
    def n_chains(self) -> int:
        return int(self.keys.shape[0])

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def xp(self) -> ModuleType:
        return get_xp(self.backend)

    def is_binary(self, layer: int) -> bool:
        """Whether ``layers[layer]`` holds codes (else probabilities)."""
        return np.dtype(self.layers[layer].dtype).kind in "iu"

    def copy(self) -> Chains:
        """Independent copy (same streams: continuing both gives identical samples)."""
        out = copy.copy(self)
        out.layers = [s.copy() for s in self.layers]
        return out

    def to_numpy(self) -> list[np.ndarray]:
        """Layer states as NumPy arrays."""
        return [to_numpy(s) for s in self.layers]


def _chain_ids(n_chains: int, chain_ids: Any) -> np.ndarray:
    if chain_ids is None:
        return np.arange(integer(n_chains, "n_chains", 1), dtype=np.int64)
    ids = np.asarray(chain_ids)
    if ids.ndim != 1 or len(ids) != n_chains or ids.dtype.kind not in "iu" or np.any(ids < 0):
        raise ValueError(f"chain_ids must be {n_chains} non-negative integers, got {chain_ids!r}")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("chain_ids must be distinct (equal ids would draw equal numbers)")
    return ids.astype(np.int64)


def _state_probabilities(layer: Layer, probs: Any, l: int) -> np.ndarray:
    if probs is None:
        return np.full(layer.n_species + 1, 1.0 / (layer.n_species + 1))
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (layer.n_species + 1,) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError(f"initial state probabilities of layer {l} must be "
                         f"{layer.n_species + 1} non-negative numbers (empty, "
                         f"{', '.join(layer.species)}) summing to 1, got {probs!r}")
    return p


def _random_layer_reference(xp: ModuleType, init_keys: Array, l: int, layer: Layer,
                            probs: np.ndarray) -> Array:
    """Random initial codes of layer ``l`` (array code; CuPy, and the reference of the tests)."""
    u = uniform_array(xp, derive_array(xp, init_keys, l)[:, None],
                      xp.arange(layer.n_units, dtype=xp.uint64))
    # code = number of cumulative state probabilities (empty first) that u has passed
    cum = xp.asarray(np.cumsum(probs)[:-1])
    return (u[..., None] >= cum).sum(axis=-1).astype(xp.int8)


def _random_layer(xp: ModuleType, init_keys: Array, l: int, layer: Layer,
                  probs: np.ndarray) -> Array:
    if xp is not np:
        return _random_layer_reference(xp, init_keys, l, layer, probs)
    from ..backend import kernel_threads
    from ._numba_layers import random_codes  # the NumPy lines' Numba twin (bit-identical)

    with kernel_threads(len(init_keys) * layer.n_units):
        return random_codes(np.asarray(init_keys, dtype=np.uint64), l, layer.n_units,
                            np.cumsum(probs)[:-1])


def _initial_layers(model: Any, xp: ModuleType, n_chains: int, seed: int, ids: np.ndarray,
                    start: str, probabilities: Sequence[Any] | None,
                    layers: Sequence[int]) -> dict[int, Array]:
    if start not in ("random", "empty"):
        raise ValueError(f"start must be 'random' or 'empty', got {start!r}")
    if probabilities is not None and len(probabilities) != len(model.layers):
        raise ValueError(f"probabilities must give one entry per layer ({len(model.layers)}), "
                         f"got {len(probabilities)}")
    out = {}
    init_keys = stream_keys(xp, seed, Purpose.CHAIN_INIT, ids) if start == "random" else None
    for l in layers:
        layer = model.layers[l]
        if start == "empty":
            out[l] = xp.zeros((n_chains, layer.n_units), dtype=xp.int8)
        else:
            probs = _state_probabilities(layer, None if probabilities is None
                                         else probabilities[l], l)
            out[l] = _random_layer(xp, init_keys, l, layer, probs)
    return out


def _free_chains(model: Any, n_chains: int, seed: int, start: str, probabilities: Any,
                 chain_ids: Any, backend: str | None) -> Chains:
    """Unclamped chains with every layer initialised by ``start`` ("random" or "empty")."""
    if chain_ids is None:
        n_chains = integer(n_chains, "n_chains", 1)
        # per unit: the int8 state, and while drawing it a float64 uniform and comparisons
        per_chain = sum(lay.n_units * (lay.n_species + 18) for lay in model.layers) + 64
        check_memory(float(n_chains) * per_chain, f"n_chains={n_chains} chains",
                     "use fewer chains, or run them in batches with chain_ids")
    ids = _chain_ids(n_chains, chain_ids)
    name = resolve_backend(backend)
    xp = get_xp(name)
    init = _initial_layers(model, xp, len(ids), seed, ids, start, probabilities,
                           range(len(model.layers)))
    return Chains([init[l] for l in range(len(model.layers))],
                  stream_keys(xp, seed, Purpose.GIBBS, ids), ids, int(seed),
                  (False,) * len(model.layers), 0, name)


def random_chains(model: Any, n_chains: int, seed: int, *, chain_ids: Any = None,
                  probabilities: Sequence[Any] | None = None,
                  backend: str | None = None) -> Chains:
    """Free chains with every layer in a random binary state (sleep phase start, reproduction notes:
    repro-lv-config).

    Parameters
    ----------
    model
        A :class:`~dbdlab.models.BoltzmannMachine` or :class:`~dbdlab.models.FullyVisible1DModel`.
    n_chains
        Number of chains.
    seed
        Seed of all the chains' random streams.
    chain_ids
        Chain numbers (default ``0..n_chains−1``); a chain's samples depend only on (seed, id).
    probabilities
        Per layer, probabilities of (empty, species…) for each unit (default uniform).
    backend
        ``None`` (``DBDLAB_BACKEND``), ``"numpy"``, ``"numba"`` or ``"cupy"``.
    """
    return _free_chains(model, n_chains, seed, "random", probabilities, chain_ids, backend)


def empty_chains(model: Any, n_chains: int, seed: int, *, chain_ids: Any = None,
                 backend: str | None = None) -> Chains:
    """Free chains with every unit empty (the start of paper A's test sampling, reproduction notes:
    repro-annihilation-test)."""
    return _free_chains(model, n_chains, seed, "empty", None, chain_ids, backend)


def data_chains(model: Any, visible: Any, seed: int, *, clamp: bool = False,
                hidden: str = "random", chain_ids: Any = None,
                backend: str | None = None) -> Chains:
    """Chains whose visible layer starts at data, one chain per data lattice.

    Parameters
    ----------
    model
        The model.
    visible
        Visible codes ``(n_chains, N_0)`` or ``(n_chains, *shape_0)`` (e.g. simulated lattices).
    seed
        Seed of the chains' random streams.
    clamp
        ``True`` for the wake phase (the visible layer is never resampled); ``False`` for CD
        from the data.
    hidden
        Initial hidden states, ``"random"`` or ``"empty"``.
    chain_ids, backend
        As in :func:`random_chains`.
    """
    name = resolve_backend(backend)
    xp = get_xp(name)
    v = xp.asarray(visible)
    if np.dtype(v.dtype).kind not in "iu":
        raise TypeError(f"visible data must be integer species codes, got dtype {v.dtype}")
    v = flat_state(v, model.layers[0], "visible").astype(xp.int8)
    ids = _chain_ids(v.shape[0], chain_ids)
    init = _initial_layers(model, xp, len(ids), seed, ids, hidden, None,
                           range(1, len(model.layers)))
    layers = [xp.ascontiguousarray(v)] + [init[l] for l in range(1, len(model.layers))]
    clamped = (bool(clamp),) + (False,) * (len(model.layers) - 1)
    return Chains(layers, stream_keys(xp, seed, Purpose.GIBBS, ids), ids, int(seed), clamped,
                  0, name)
