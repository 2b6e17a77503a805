"""Pair approximation of the lattice Lotka–Volterra system (densities and nearest-neighbour pairs).

Variables: the probabilities ``P_ab`` that an ordered pair of neighbouring sites ``(i, j)`` holds
``(a, b)``, ``a, b ∈ {0 (empty), X, Y}`` (symmetric, summing to 1); densities are
``ρ_a = Σ_b P_ab``.  The master equation of a pair needs the states of the sites' *other*
``z − 1`` neighbours; the pair approximation replaces them by the conditional probabilities
``q(c | a) = P_ac / ρ_a`` given the site's own state only (Matsuda et al. 1992; the standard
closure of lattice population models at the level of pairs).

Processes (continuous time; the simulator's rules as in :mod:`dbdlab.closure.mean_field`, hop
rate ``h = 1/Δt``, coordination number ``z``):

* inside the pair: a molecule hops to an empty partner site at rate ``h/z``; a prey–hunter pair
  becomes hunter–hunter at rate ``2 p h / z`` (either end may be the mover);
* a site in state ``a`` changes because of its other neighbours: a molecule hops out to an empty
  outer site at rate ``(z−1)(h/z) q(0|a)``, an outer molecule ``c`` hops in at rate
  ``(z−1)(h/z) q(c|0)``, a prey is eaten by an outer hunter at rate ``(z−1)(2ph/z) q(Y|X)``;
* hunter death ``k2`` per hunter; prey birth on empty sites at rate ``k1 ρ_X / ρ_0`` per empty
  site (the offspring lands on a random empty site anywhere, so this term is exact given the
  densities).

Nearest-neighbour pair counts (unordered bonds, as in the simulation data):
``NN(a, a) = (z N / 2) P_aa``, ``NN(X, Y) = z N P_XY``.

Known answers (tests): on a full one-dimensional lattice (``z = 2``, no empty sites,
``k1 = k2 = 0``) the model is the SI process, whose exact prey density from an uncorrelated start is
``ρ_X(0) exp(−2 p h ρ_Y(0) t)`` (a prey site survives while neither infection front has reached
it); the pair approximation is exact there while mean field (logistic decay) is not.  With
``p = 0`` an uncorrelated state stays uncorrelated (exclusion hopping and independent deaths keep
a product measure), and both approximations are exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.integrate import solve_ivp

from .mean_field import PAIRS, SPECIES, LatticeLotkaVolterra, _check_counts, _check_times
from .prediction import ClosurePrediction, physical_flags

__all__ = ["initial_pairs", "pair_approximation", "pair_rhs"]

EMPTY, PREY, HUNTER = 0, 1, 2


def initial_pairs(initial_counts: Sequence[float], n_sites: int, *,
                  exact_placement: bool = True) -> np.ndarray:
    """Pair probabilities ``P_ab`` (3 × 3) of molecules placed at random sites.

    With ``exact_placement`` the counts are exact (sampling without replacement:
    ``P_ab = n_a (n_b − δ_ab) / (N (N − 1))``), else sites are independent (``P_ab = ρ_a ρ_b``).
    """
    n = _check_counts(initial_counts, n_sites)
    counts = np.array([n_sites - n.sum(), n[0], n[1]])
    if not exact_placement:
        rho = counts / n_sites
        return np.outer(rho, rho)
    return (np.outer(counts, counts) - np.diag(counts)) / (n_sites * (n_sites - 1.0))


def pair_rhs(pairs: np.ndarray, system: LatticeLotkaVolterra) -> np.ndarray:
    """``dP_ab/dt`` (3 × 3) of the pair approximation (module docstring)."""
    P = np.asarray(pairs, dtype=float).reshape(3, 3)
    rho = P.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(rho[:, None] > 0, P / rho[:, None], 0.0)  # q[a, c] = P(c | a)
    z, h, p = system.z, system.hop_rate, system.p
    hop = h / z
    eat = 2.0 * p * h / z
    outer = z - 1
    # single-site rates R[a, a'] of a site's change caused by everything outside the pair
    R = np.zeros((3, 3))
    R[HUNTER, EMPTY] += system.k2
    if rho[EMPTY] > 0:
        R[EMPTY, PREY] += system.k1 * rho[PREY] / rho[EMPTY]
    for a in (PREY, HUNTER):
        R[a, EMPTY] += outer * hop * q[a, EMPTY]
        R[EMPTY, a] += outer * hop * q[EMPTY, a]
    R[PREY, HUNTER] += outer * eat * q[PREY, HUNTER]
    out_rate = R.sum(axis=1)
    dP = np.zeros((3, 3))
    # first site changes (R acts on rows), second site changes (on columns)
    dP += R.T @ P - out_rate[:, None] * P
    dP += P @ R - out_rate[None, :] * P
    # transitions inside the pair
    for a in (PREY, HUNTER):
        flow = hop * (P[a, EMPTY] - P[EMPTY, a])  # (a, 0) → (0, a) minus the reverse
        dP[a, EMPTY] -= flow
        dP[EMPTY, a] += flow
    for a, b in ((PREY, HUNTER), (HUNTER, PREY)):
        dP[a, b] -= eat * P[a, b]
        dP[HUNTER, HUNTER] += eat * P[a, b]
    return dP


def pair_approximation(system: LatticeLotkaVolterra, initial_counts: Sequence[float],
                       times: Sequence[float], *, exact_placement: bool = True,
                       rtol: float = 1e-9) -> ClosurePrediction:
    """Solve the pair approximation from molecules placed at random (:func:`initial_pairs`).

    Returns
    -------
    ClosurePrediction
        Counts ``N ρ`` and nearest-neighbour pair counts at ``times``.
    """
    t = _check_times(times)
    n = system.n_sites
    P0 = initial_pairs(initial_counts, n, exact_placement=exact_placement)
    sol = solve_ivp(lambda _, y: pair_rhs(y, system).reshape(-1), (t[0], t[-1]),
                    P0.reshape(-1), t_eval=t, rtol=rtol, atol=1e-14, method="RK45")
    flags = [] if sol.success else [f"solver failed: {sol.message}"]
    P = np.full((t.size, 3, 3), np.nan)
    P[: sol.y.shape[1]] = sol.y.T.reshape(-1, 3, 3)
    rho = P.sum(axis=2)
    counts = n * rho[:, [PREY, HUNTER]]
    half = system.z * n / 2
    nn = np.stack([half * P[:, PREY, PREY], 2 * half * P[:, PREY, HUNTER],
                   half * P[:, HUNTER, HUNTER]], axis=1)
    flags += physical_flags(counts, nn, n)
    if np.any(P[np.isfinite(P)] < -1e-12):
        flags.append("negative pair probability")
    return ClosurePrediction("pair", t, SPECIES, counts, PAIRS, nn, None, tuple(flags))
