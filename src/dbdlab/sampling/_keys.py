"""Vectorised key derivation for the samplers (same arithmetic as :func:`dbdlab.rng.derive`).

Key scheme of the layered samplers (DESIGN §4): chain ``c`` owns the stream
``stream_key(seed, Purpose.GIBBS, chain_id[c])``; the uniform of unit ``i`` of layer ``l`` in
sweep ``s`` is draw number ``i`` of ``derive(derive(chain key, s), l)``.  Initial states use
``derive(stream_key(seed, Purpose.CHAIN_INIT, chain_id), l)`` the same way.  A draw thus depends
only on (seed, chain id, sweep, layer, unit), never on how chains are batched or threaded.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from dbdlab._checks import integer
from dbdlab.rng import _M1, _M2, GAMMA, MASK64, derive, root_key

from ..models._arrays import Array

__all__ = ["chain_keys", "derive_array", "sweep_keys"]


def _mix64(xp: ModuleType, z: Array) -> Array:
    z = (z ^ (z >> xp.uint64(30))) * xp.uint64(_M1)
    z = (z ^ (z >> xp.uint64(27))) * xp.uint64(_M2)
    return z ^ (z >> xp.uint64(31))


def derive_array(xp: ModuleType, keys: Array, index: int | Array) -> Array:
    """``derive(key, index)`` elementwise for arrays of keys (and indices), uint64."""
    keys = xp.asarray(keys, dtype=xp.uint64)
    # broadcast first: uint64 overflow is the intended arithmetic, and NumPy warns about it
    # only for scalars
    index = xp.asarray(index, dtype=xp.uint64) + xp.zeros_like(keys)
    return _mix64(xp, keys ^ _mix64(xp, (index + xp.uint64(1)) * xp.uint64(GAMMA)))


def chain_keys(xp: ModuleType, seed: int, purpose: int, chain_ids: np.ndarray) -> Array:
    """``stream_key(seed, purpose, chain_id)`` for every chain id, uint64 of module ``xp``."""
    seed = integer(seed, "seed", 0, MASK64)
    base = derive(root_key(seed), int(purpose))
    # derived on the host: filling a device array with a Python int ≥ 2**63 is not portable
    ids = np.asarray(chain_ids, dtype=np.uint64)
    keys = derive_array(np, np.full(len(ids), base, dtype=np.uint64), ids)
    return xp.asarray(keys)


def sweep_keys(xp: ModuleType, keys: Array, sweep: int, layer: int) -> Array:
    """Per-chain keys of one layer update: ``derive(derive(key, sweep), layer)``."""
    return derive_array(xp, derive_array(xp, keys, int(sweep)), int(layer))
