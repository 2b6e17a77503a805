"""Gibbs sweeps of the fully visible 1D (b, J, K) model (paper A eq. 37) behind the common API.

A sweep visits the sites in three interleaved classes (0-based ``i ≡ 0, 1, 2 mod 3``); sites of
one class are three apart, hence conditionally independent, and each class is one block
(reproduction notes: repro-initial, repro-annihilation-config).  Two implementations draw the same
numbers:

* ``"numba"``: the kernel :func:`dbdlab.simulate._fully_visible_1d.three_class_sweeps` (parallel
  over chains);
* ``"numpy"``/``"cupy"``: :func:`three_class_sweeps_xp`, vectorised over chains and over the sites
  of a class.

The moments ``(m_b, m_J, m_K)`` of binary chains have a Numba kernel too
(:func:`fully_visible_moments_numba`): they are integer counts, exact in float64 in any order,
so it equals :meth:`~dbdlab.models.FullyVisible1DModel.moments` bit for bit.

Randomness: chain ``c`` uses the stream ``chains.keys[c]``; in sweep ``s`` the site at position
``r`` of the visiting order (class 0 sites, then class 1, then class 2) takes draw
``s·N + r`` (the kernel's running counter), so a sweep split over several calls gives the same
samples as one call.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit, prange

from dbdlab.backend import Array, kernel_threads
from dbdlab.rng import uniform_array

from ..simulate._fully_visible_1d import three_class_sweeps

if TYPE_CHECKING:
    from ..models.fully_visible import FullyVisible1DModel
    from .chains import Chains

__all__ = ["fully_visible_moments_numba", "fully_visible_sweeps", "three_class_sweeps_xp"]


def three_class_sweeps_xp(xp: ModuleType, v: Array, b: Array, J: Array, K: Array, keys: Array,
                    n_sweeps: int, first_counter: int) -> Array:
    """Array-module twin of the Numba kernel: same arguments, same draws, returns new ``v``.

    ``v``: ``int8`` 0/1 ``(chains, N)``; ``b, J, K``: float64 ``(chains,)``; ``keys``: uint64
    ``(chains,)``.  The acceptance test is the kernel's, ``u (1 + e^{−field}) < 1``.
    """
    n_chains, n = v.shape
    v = v.copy()
    classes = [xp.arange(c, n, 3) for c in range(3)]
    offsets = np.cumsum([0] + [len(range(c, n, 3)) for c in range(3)])
    b, J, K = (xp.asarray(x, dtype=xp.float64)[:, None] for x in (b, J, K))
    keys = xp.asarray(keys, dtype=xp.uint64)[:, None]
    pad = xp.zeros((n_chains, 2), dtype=xp.int64)
    for s in range(int(n_sweeps)):
        for c, sites in enumerate(classes):
            p = xp.concatenate([pad, v.astype(xp.int64), pad], axis=1)  # p[:, i + 2] = v[:, i]
            l2, l1, r1, r2 = p[:, sites], p[:, sites + 1], p[:, sites + 3], p[:, sites + 4]
            field = b + J * (l1 + r1) + K * (l2 * l1 + l1 * r1 + r1 * r2)
            counters = first_counter + s * n + int(offsets[c]) + xp.arange(len(sites),
                                                                             dtype=xp.uint64)
            u = uniform_array(xp, keys, counters)
            v[:, sites] = (u * (1.0 + xp.exp(-field)) < 1.0).astype(xp.int8)
    return v


def fully_visible_sweeps(model: FullyVisible1DModel, theta: Any, chains: Chains,
                         n_sweeps: int) -> Chains:
    """Run ``n_sweeps`` three-class sweeps on ``chains`` in place (binary), any backend.

    θ = ``(b, J, K)`` or one row per chain ``(n_chains, 3)``.
    """
    if chains.n_layers != 1 or not chains.is_binary(0) or \
            tuple(chains.layers[0].shape) != (chains.n_chains, model.n_sites):
        raise ValueError(f"chains of the fully visible model hold one binary layer of shape "
                         f"(n_chains, {model.n_sites})")
    if chains.clamped[0]:
        raise ValueError("the only layer of the fully visible model is clamped; nothing to sample")
    xp = chains.xp
    theta = xp.asarray(model.check_theta(theta))
    if theta.ndim > 2 or (theta.ndim == 2 and theta.shape[0] != chains.n_chains):
        raise ValueError(f"theta must have shape (3,) or ({chains.n_chains}, 3), got "
                         f"{tuple(theta.shape)}")
    per_chain = xp.broadcast_to(theta, (chains.n_chains, 3))
    b, J, K = (xp.ascontiguousarray(per_chain[:, k]) for k in range(3))
    first = chains.sweep * model.n_sites
    if chains.backend == "numba":
        v = np.ascontiguousarray(chains.layers[0], dtype=np.int8)
        with kernel_threads(v.size * int(n_sweeps)):
            three_class_sweeps(v, b, J, K, chains.keys, int(n_sweeps), first)
        chains.layers[0] = v
    else:
        chains.layers[0] = three_class_sweeps_xp(xp, chains.layers[0], b, J, K, chains.keys,
                                           n_sweeps, first)
    chains.sweep += int(n_sweeps)
    return chains


@njit(parallel=True, cache=True)
def _moments_kernel(v, out):
    """``out[c] = (Σ v_i, Σ v_i v_{i+1}, Σ v_i v_{i+1} v_{i+2})`` of 0/1 rows, integer counts."""
    n_chains, n = v.shape
    for c in prange(n_chains):
        row = v[c]
        m_b, m_j, m_k = np.int64(0), np.int64(0), np.int64(0)
        for i in range(n):
            m_b += row[i]
        for i in range(n - 1):
            m_j += row[i] & row[i + 1]
        for i in range(n - 2):
            m_k += row[i] & row[i + 1] & row[i + 2]
        out[c, 0] = np.float64(m_b)
        out[c, 1] = np.float64(m_j)
        out[c, 2] = np.float64(m_k)


def fully_visible_moments_numba(model: FullyVisible1DModel, v: np.ndarray) -> np.ndarray:
    """Moments ``(m_b, m_J, m_K)`` of binary chains, ``(n_chains, 3)`` float64.

    Bit-identical to :meth:`~dbdlab.models.FullyVisible1DModel.moments` (the readable reference):
    the moments are integer counts, exact in float64.

    Parameters
    ----------
    model
        The fully visible 1D model.
    v
        Codes ``(n_chains, N)``, 0 (empty) or 1.
    """
    v = np.asarray(v)
    if v.ndim != 2 or v.shape[1] != model.n_sites or v.dtype.kind not in "iu":
        raise ValueError(f"v must be integer codes of shape (n_chains, {model.n_sites}), got "
                         f"{v.shape} {v.dtype}")
    if v.size and (int(v.min()) < 0 or int(v.max()) > 1):
        raise ValueError(f"v: codes must be 0 or 1, got {int(v.min())}..{int(v.max())}")
    out = np.empty((v.shape[0], 3))
    with kernel_threads(v.size):
        _moments_kernel(np.ascontiguousarray(v, dtype=np.int8), out)
    return out
