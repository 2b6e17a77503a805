"""Counter-based random streams shared by every backend.

A stream is a 64-bit key; draw ``n`` of stream ``k`` is ``mix64(k + (n + 1)·γ)`` with the
SplitMix64 finaliser ``mix64`` and γ = 0x9E3779B97F4A7C15 (Steele, Lea & Flood 2014).  Keys are
derived hierarchically, e.g. ``derive(derive(derive(root(seed), SIMULATE), replica), step)``, so a
draw depends only on (seed, purpose, replica, step, position in the step) and never on which thread
or device computes it.  The same arithmetic is written three times: Python integers (readable
reference), Numba (``*_nb``) and CUDA C (``rng.cuh``, :data:`CUDA_SOURCE`); tests check that they
agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

__all__ = [
    "GAMMA",
    "MASK64",
    "Purpose",
    "mix64",
    "derive",
    "root_key",
    "stream_key",
    "bits",
    "uniform",
    "sample_without_replacement",
    "child_samples_without_replacement",
    "mix64_nb",
    "derive_nb",
    "uniform_nb",
    "mix64_array",
    "derive_array",
    "stream_keys",
    "uniform_array",
    "CUDA_SOURCE",
]

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_INV53 = 2.0**-53


class Purpose:
    """Top-level stream identifiers: one independent family of streams per use."""

    SIMULATE = 1
    INIT = 2
    GIBBS = 3
    #: data batches of static learning (:func:`dbdlab.learn.static.fit_boltzmann`)
    BATCH = 4
    CHAIN_INIT = 5
    #: data batches of the dynamic learning (:class:`dbdlab.learn.estimators.LatticeCDEstimator`)
    TRAIN_BATCH = 6


def mix64(z: int) -> int:
    """SplitMix64 finaliser (a bijection on 64-bit integers)."""
    z = int(z) & MASK64
    z = ((z ^ (z >> 30)) * _M1) & MASK64
    z = ((z ^ (z >> 27)) * _M2) & MASK64
    return z ^ (z >> 31)


def derive(key: int, index: int) -> int:
    """Child key number ``index`` of ``key``."""
    return mix64(int(key) ^ mix64(((int(index) + 1) * GAMMA) & MASK64))


def root_key(seed: int) -> int:
    """Root key of a user seed (any non-negative integer below 2**64)."""
    return mix64(int(seed) & MASK64)


def stream_key(seed: int, *path: int) -> int:
    """Key reached from ``root_key(seed)`` by deriving along ``path``."""
    key = root_key(seed)
    for index in path:
        key = derive(key, int(index))
    return key


def bits(key: int, counter: int) -> int:
    """64 random bits: draw number ``counter`` of stream ``key``."""
    return mix64((int(key) + (int(counter) + 1) * GAMMA) & MASK64)


def uniform(key: int, counter: int) -> float:
    """Uniform double in [0, 1) with 53 random bits."""
    return (bits(key, counter) >> 11) * _INV53


def sample_without_replacement(key: int, n: int, k: int) -> np.ndarray:
    """``k`` distinct indices of ``0 … n−1``, sorted, drawn uniformly from stream ``key``.

    The first ``k`` positions of a Fisher–Yates shuffle of ``0 … n−1``: position ``i`` swaps with
    ``i + ⌊u_i (n − i)⌋``, ``u_i`` being draw ``i`` of the stream, so every ``k``-subset has the
    same probability (up to the 53-bit resolution of the uniforms).

    Raises
    ------
    ValueError
        If ``n`` or ``k`` is not an integer with ``0 <= k <= n``.
    """
    if int(n) != n or int(k) != k or not 0 <= k <= n:
        raise ValueError(f"need integers 0 <= k <= n, got n={n!r}, k={k!r}")
    index = np.arange(int(n))
    for i in range(int(k)):
        j = i + int(uniform(key, i) * (n - i))
        index[i], index[j] = index[j], index[i]
    return np.sort(index[: int(k)])


# --- Numba versions (identical arithmetic on uint64) -------------------------------------------

_GAMMA_U = np.uint64(GAMMA)
_M1_U = np.uint64(_M1)
_M2_U = np.uint64(_M2)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)


@njit(cache=True)
def mix64_nb(z):
    z = (z ^ (z >> _S30)) * _M1_U
    z = (z ^ (z >> _S27)) * _M2_U
    return z ^ (z >> _S31)


@njit(cache=True)
def derive_nb(key, index):
    return mix64_nb(key ^ mix64_nb((np.uint64(index) + _ONE) * _GAMMA_U))


@njit(cache=True)
def uniform_nb(key, counter):
    z = mix64_nb(key + (np.uint64(counter) + _ONE) * _GAMMA_U)
    return np.float64(z >> _S11) * _INV53


@njit(cache=True)
def _child_samples_kernel(parent, sizes, k, out):
    """Row ``g`` of ``out``: :func:`sample_without_replacement` of stream ``derive(parent, g)``."""
    for g in range(sizes.shape[0]):
        key = derive_nb(parent, g)
        n = sizes[g]
        index = np.arange(n)
        for i in range(k):
            j = i + np.int64(uniform_nb(key, i) * (n - i))
            index[i], index[j] = index[j], index[i]
        out[g] = np.sort(index[:k])


def child_samples_without_replacement(parent: int, sizes, k: int) -> np.ndarray:
    """``sample_without_replacement(derive(parent, g), sizes[g], k)`` for every ``g``, at once.

    The same draws and arithmetic (uint64 and float64) in a Numba loop, so rows equal the
    Python function's bit for bit; for the per-group data batches of the learning loops.

    Returns
    -------
    ``(len(sizes), k)`` int64, every row sorted.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if int(k) != k or sizes.ndim != 1 or (sizes.size and not 0 <= k <= int(sizes.min())):
        raise ValueError(f"need an integer 0 <= k <= every size, got k={k!r}, sizes "
                         f"{sizes.min() if sizes.size else None}…")
    out = np.empty((sizes.size, int(k)), dtype=np.int64)
    _child_samples_kernel(np.uint64(int(parent) & MASK64), sizes, int(k), out)
    return out


# --- array-module versions (NumPy or CuPy), for vectorised samplers -----------------------------


def mix64_array(xp, z):
    """Elementwise :func:`mix64` of a ``uint64`` array of module ``xp``."""
    z = (z ^ (z >> xp.uint64(30))) * xp.uint64(_M1)
    z = (z ^ (z >> xp.uint64(27))) * xp.uint64(_M2)
    return z ^ (z >> xp.uint64(31))


def derive_array(xp, keys, index):
    """Elementwise :func:`derive` for arrays of keys (and indices, broadcast), ``uint64``."""
    keys = xp.asarray(keys, dtype=xp.uint64)
    # broadcast first: uint64 overflow is the intended arithmetic, and NumPy warns about it
    # only for scalars
    index = xp.asarray(index, dtype=xp.uint64) + xp.zeros_like(keys)
    return mix64_array(xp, keys ^ mix64_array(xp, (index + xp.uint64(1)) * xp.uint64(GAMMA)))


def stream_keys(xp, seed: int, purpose: int, ids) -> object:
    """``stream_key(seed, purpose, id)`` for every ``id`` of ``ids``, ``uint64`` of module ``xp``.

    Raises
    ------
    ValueError
        If ``seed`` is not an integer in ``[0, 2**64)``.
    """
    from dbdlab._checks import integer

    seed = integer(seed, "seed", 0, MASK64)
    base = derive(root_key(seed), int(purpose))
    # derived on the host: filling a device array with a Python int >= 2**63 is not portable
    ids = np.asarray(ids, dtype=np.uint64)
    keys = derive_array(np, np.full(len(ids), base, dtype=np.uint64), ids)
    return xp.asarray(keys)


def uniform_array(xp, keys, counters):
    """Vectorised :func:`uniform` for arrays of keys and counters (broadcast), any array module."""
    keys = xp.asarray(keys, dtype=xp.uint64)
    counters = xp.asarray(counters, dtype=xp.uint64)
    z = mix64_array(xp, keys + (counters + xp.uint64(1)) * xp.uint64(GAMMA))
    return (z >> xp.uint64(11)).astype(xp.float64) * _INV53


#: CUDA C twin of :func:`mix64`, :func:`derive` and :func:`uniform` (``dbd_mix64``, ``dbd_derive``,
#: ``dbd_uniform``): the text of ``rng.cuh``, which the CUDA kernels include
CUDA_SOURCE = (Path(__file__).resolve().parent / "rng.cuh").read_text()
