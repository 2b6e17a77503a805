"""Mean field and pair approximation of the lattice annihilation ``A + A → ∅`` (paper A §IV.A).

The simulator's rules (reproduction notes, ``(repro-networks)=``, ``(repro-step)=``): every
molecule attempts one hop per timestep ``Δt`` to one of its ``z = 2d`` neighbours (hop rate
``h = 1/Δt``); a hop onto another ``A`` annihilates both with probability ``p``.  Each
nearest-neighbour ``A``–``A`` bond therefore reacts at rate ``κ = 2 p h / z`` and each event
removes two molecules, so with ``P_AA`` the probability that a bond holds two ``A``::

    dρ/dt = −2 κ (z/2) P_AA = −κ z P_AA.

* **Mean field**: ``P_AA = ρ²``, hence ``ρ(t) = ρ0 / (1 + κ z ρ0 t)``.
* **Pair approximation**: the pair probabilities ``P_ab``, ``a, b ∈ {0, A}``, with the states of
  a site's other ``z − 1`` neighbours replaced by ``q(c|a) = P_ac / ρ_a`` (as in
  :mod:`dbdlab.closure.pair_approximation`): inside a pair ``(A, 0) ↔ (0, A)`` at ``h/z`` and
  ``(A, A) → (0, 0)`` at ``κ``; a site changes because of its other neighbours by hopping out
  (``(z−1)(h/z) q(0|A)``), an outer molecule hopping in (``(z−1)(h/z) q(A|0)``) and annihilation
  with an outer molecule (``(z−1) κ q(A|A)``).

Both are translation invariant (no walls) and continuous in time.  Moments as in the data:
``m1 = N ρ`` and ``m2 = NN(A, A) = (z N / 2) P_AA``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from .mean_field import _check_times, _positive

__all__ = ["annihilation_mean_field", "annihilation_pair_approximation", "annihilation_pair_rhs"]


def _check(p: float, dt: float, ndim: int) -> tuple[float, float, int]:
    if not 0.0 <= _positive(p, "p") <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    dt = _positive(dt, "dt", allow_zero=False)
    if isinstance(ndim, bool) or not isinstance(ndim, (int, np.integer)) or not 1 <= ndim <= 3:
        raise ValueError(f"ndim must be 1, 2 or 3, got {ndim!r}")
    return float(p), dt, 2 * int(ndim)


def annihilation_mean_field(density: float, times, p: float, dt: float,
                            ndim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Mean-field density and ``A``–``A`` bond probability, ``ρ(t)`` and ``ρ(t)²``."""
    p, dt, z = _check(p, dt, ndim)
    t = _check_times(times)
    rho0 = float(density)
    if not 0.0 <= rho0 <= 1.0:
        raise ValueError(f"density must lie in [0, 1], got {density}")
    kappa = 2.0 * p / (dt * z)
    rho = rho0 / (1.0 + kappa * z * rho0 * (t - t[0]))
    return rho, rho**2


def annihilation_pair_rhs(pairs: np.ndarray, p: float, dt: float, ndim: int = 1) -> np.ndarray:
    """``dP_ab/dt`` (2 × 2, states ``0, A``) of the pair approximation (module docstring)."""
    p, dt, z = _check(p, dt, ndim)
    P = np.asarray(pairs, dtype=float).reshape(2, 2)
    rho = P.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(rho[:, None] > 0, P / rho[:, None], 0.0)
    h = 1.0 / dt
    hop, kappa, outer = h / z, 2.0 * p * h / z, z - 1
    R = np.zeros((2, 2))  # single-site rates R[a, a'] caused by the other neighbours
    R[1, 0] = outer * (hop * q[1, 0] + kappa * q[1, 1])
    R[0, 1] = outer * hop * q[0, 1]
    out = R.sum(axis=1)
    dP = R.T @ P - out[:, None] * P + P @ R - out[None, :] * P
    flow = hop * (P[1, 0] - P[0, 1])
    dP[1, 0] -= flow
    dP[0, 1] += flow
    dP[1, 1] -= kappa * P[1, 1]
    dP[0, 0] += kappa * P[1, 1]
    return dP


def annihilation_pair_approximation(density: float, pair: float, times, p: float, dt: float,
                                    ndim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pair-approximation density and ``A``–``A`` bond probability from ``ρ0`` and ``P_AA(0)``.

    ``pair`` is the probability that a bond holds two ``A`` at ``times[0]`` (e.g. the measured
    ``m2 / (z N / 2)``); it must satisfy ``max(0, 2ρ0 − 1) ≤ P_AA ≤ ρ0``.
    """
    _check(p, dt, ndim)
    t = _check_times(times)
    rho0, paa = float(density), float(pair)
    if not (0.0 <= rho0 <= 1.0 and max(0.0, 2 * rho0 - 1) - 1e-12 <= paa <= rho0 + 1e-12):
        raise ValueError(f"need 0 ≤ ρ0 ≤ 1 and max(0, 2ρ0 − 1) ≤ P_AA ≤ ρ0, got ρ0 = {rho0}, "
                         f"P_AA = {paa}")
    P0 = np.array([[1 - 2 * rho0 + paa, rho0 - paa], [rho0 - paa, paa]])
    sol = solve_ivp(lambda _, y: annihilation_pair_rhs(y, p, dt, ndim).reshape(-1),
                    (t[0], t[-1]), P0.reshape(-1), t_eval=t, rtol=1e-9, atol=1e-13,
                    method="LSODA")
    P = np.full((t.size, 4), math.nan)
    P[: sol.y.shape[1]] = sol.y.T
    return P[:, 2] + P[:, 3], P[:, 3]
