"""Well-mixed second-order moment closures: normal, Poisson and log-normal.

For a well-mixed network with propensities of degree ≤ 2 in the copy numbers ``n``, the first
and second moments obey (chemical master equation)::

    d⟨n_i⟩/dt     = Σ_r ν_ri ⟨a_r(n)⟩,
    d⟨n_i n_j⟩/dt = Σ_r ( ν_ri ⟨a_r n_j⟩ + ν_rj ⟨a_r n_i⟩ + ν_ri ν_rj ⟨a_r⟩ ).

A bimolecular propensity makes ``⟨a_r n_j⟩`` a third moment; the closures express third raw
moments ``⟨n_i n_j n_k⟩`` through the means ``μ`` and covariances ``C`` (raw second moments
``M = C + μ μᵀ``), as compared e.g. by Schnoerr, Sanguinetti & Grima, J. Chem. Phys. 143,
185101 (2015):

* **normal**: third central moments vanish,
  ``⟨n_i n_j n_k⟩ = μ_iμ_jμ_k + μ_i C_jk + μ_j C_ik + μ_k C_ij``;
* **Poisson**: third cumulants as for independent Poisson counts, ``κ_iii = μ_i`` and mixed
  ``κ_ijk = 0``: the normal expression plus ``μ_i`` when ``i = j = k``;
* **log-normal**: as for a multivariate log-normal, ``⟨n_i n_j n_k⟩ = M_ij M_ik M_jk /
  (μ_i μ_j μ_k)``.

For a linear network (propensities of degree ≤ 1) no third moment appears and every closure
gives the exact first and second moments.

The Lotka–Volterra network of paper B, well mixed on ``N`` sites (:func:`lotka_volterra_network`):
``X → 2X`` (``k1 n_X``), ``Y → ∅`` (``k2 n_Y``), ``X + Y → 2Y`` with propensity
``κ · z N n_X n_Y / (N (N − 1))`` — the bond rate ``κ = 2ph/z`` of
:mod:`dbdlab.closure.mean_field` times the expected number of prey–hunter bonds of ``n_X`` prey
and ``n_Y`` hunters placed at random.  Expected nearest-neighbour pair counts follow the same
random-placement rule from the second moments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .mean_field import PAIRS, SPECIES, LatticeLotkaVolterra, _check_counts, _check_times
from .prediction import ClosurePrediction, physical_flags

__all__ = [
    "CLOSURES",
    "MomentNetwork",
    "closure_third_moments",
    "lotka_volterra_network",
    "moment_closure",
    "moment_rhs",
    "solve_moments",
]

CLOSURES = ("normal", "poisson", "lognormal")


@dataclass(frozen=True)
class MomentNetwork:
    """A well-mixed network with polynomial propensities of degree ≤ 2.

    Parameters
    ----------
    species
        Species names.
    stoichiometry
        Net change ``ν_r`` of each reaction, shape ``(R, S)``.
    constant, linear, quadratic
        Propensity ``a_r(n) = c_r + Σ_i l_ri n_i + Σ_ij Q_rij n_i n_j``: shapes ``(R,)``,
        ``(R, S)``, ``(R, S, S)`` (``quadratic`` may be ``None`` for a linear network).
    """

    species: tuple[str, ...]
    stoichiometry: np.ndarray
    constant: np.ndarray
    linear: np.ndarray
    quadratic: np.ndarray | None = None

    def __post_init__(self) -> None:
        s = len(self.species)
        nu = np.asarray(self.stoichiometry, dtype=float)
        if nu.ndim != 2 or nu.shape[1] != s:
            raise ValueError(f"stoichiometry must have shape (reactions, {s}), got {nu.shape}")
        r = nu.shape[0]
        c = np.asarray(self.constant, dtype=float)
        lin = np.asarray(self.linear, dtype=float)
        quad = np.zeros((r, s, s)) if self.quadratic is None else np.asarray(
            self.quadratic, dtype=float)
        for name, arr, shape in (("constant", c, (r,)), ("linear", lin, (r, s)),
                                 ("quadratic", quad, (r, s, s))):
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(f"{name} propensity coefficients must be finite and ≥ 0")
        object.__setattr__(self, "stoichiometry", nu)
        object.__setattr__(self, "constant", c)
        object.__setattr__(self, "linear", lin)
        object.__setattr__(self, "quadratic", 0.5 * (quad + quad.transpose(0, 2, 1)))

    @property
    def is_linear(self) -> bool:
        return not np.any(self.quadratic)


def lotka_volterra_network(system: LatticeLotkaVolterra) -> MomentNetwork:
    """The Lotka–Volterra network well mixed on the lattice's ``N`` sites (module docstring)."""
    n = system.n_sites
    predation = system.bond_rate * system.z * n / (n * (n - 1.0))
    quad = np.zeros((3, 2, 2))
    quad[2, 0, 1] = quad[2, 1, 0] = predation / 2
    return MomentNetwork(
        SPECIES,
        np.array([[1.0, 0.0], [0.0, -1.0], [-1.0, 1.0]]),
        np.zeros(3),
        np.array([[system.k1, 0.0], [0.0, system.k2], [0.0, 0.0]]),
        quad,
    )


def closure_third_moments(closure: str, mean: np.ndarray, raw2: np.ndarray) -> np.ndarray:
    """Third raw moments ``⟨n_i n_j n_k⟩`` (S × S × S) from ``μ`` and ``M = ⟨n nᵀ⟩``."""
    mu = np.asarray(mean, dtype=float)
    M = np.asarray(raw2, dtype=float)
    if closure == "lognormal":
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.einsum("ij,ik,jk->ijk", M, M, M)
                    / np.einsum("i,j,k->ijk", mu, mu, mu))
    C = M - np.outer(mu, mu)
    third = (np.einsum("i,j,k->ijk", mu, mu, mu) + np.einsum("i,jk->ijk", mu, C)
             + np.einsum("j,ik->ijk", mu, C) + np.einsum("k,ij->ijk", mu, C))
    if closure == "normal":
        return third
    if closure == "poisson":
        s = mu.size
        third[np.arange(s), np.arange(s), np.arange(s)] += mu
        return third
    raise ValueError(f"closure must be one of {CLOSURES}, got {closure!r}")


def moment_rhs(network: MomentNetwork, mean: np.ndarray, raw2: np.ndarray,
               closure: str) -> tuple[np.ndarray, np.ndarray]:
    """``(dμ/dt, dM/dt)`` of the second-order moment equations under ``closure``."""
    mu, M = np.asarray(mean, dtype=float), np.asarray(raw2, dtype=float)
    nu, c, lin, quad = network.stoichiometry, network.constant, network.linear, \
        network.quadratic
    # ⟨a_r⟩ and ⟨a_r n_j⟩
    mean_a = c + lin @ mu + np.einsum("rik,ik->r", quad, M)
    if network.is_linear:
        a_n = c[:, None] * mu[None, :] + lin @ M
    else:
        T = closure_third_moments(closure, mu, M)
        a_n = c[:, None] * mu[None, :] + lin @ M + np.einsum("rik,ikj->rj", quad, T)
    d_mean = nu.T @ mean_a
    d_raw = nu.T @ a_n
    d_raw = d_raw + d_raw.T + np.einsum("ri,rj,r->ij", nu, nu, mean_a)
    return d_mean, d_raw


@dataclass(frozen=True)
class MomentSolution:
    """Means ``(T, S)``, covariances ``(T, S, S)`` and raw second moments of a closure."""

    time: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    raw2: np.ndarray
    success: bool
    message: str


def solve_moments(network: MomentNetwork, initial_mean: Sequence[float],
                  initial_covariance: np.ndarray, times: Sequence[float], closure: str, *,
                  rtol: float = 1e-9, blow_up: float = 1e12) -> MomentSolution:
    """Integrate the closed moment equations; stops early on blow-up (``|M| > blow_up``).

    Values after a failure are NaN.
    """
    if closure not in CLOSURES:
        raise ValueError(f"closure must be one of {CLOSURES}, got {closure!r}")
    t = _check_times(times)
    s = len(network.species)
    mu0 = np.asarray(initial_mean, dtype=float)
    C0 = np.asarray(initial_covariance, dtype=float)
    if mu0.shape != (s,) or C0.shape != (s, s) or not np.allclose(C0, C0.T):
        raise ValueError(f"initial_mean must have shape ({s},) and initial_covariance be a "
                         f"symmetric ({s}, {s}) matrix")
    iu = np.triu_indices(s)

    def pack(mu, M):
        return np.concatenate([mu, M[iu]])

    def unpack(y):
        M = np.zeros((s, s))
        M[iu] = y[s:]
        M = M + np.triu(M, 1).T
        return y[:s], M

    def rhs(_, y):
        d_mean, d_raw = moment_rhs(network, *unpack(y), closure)
        return pack(d_mean, d_raw)

    def exploded(_, y):
        return blow_up - np.max(np.abs(y)) if np.all(np.isfinite(y)) else -1.0

    exploded.terminal = True
    with np.errstate(all="ignore"):
        sol = solve_ivp(rhs, (t[0], t[-1]), pack(mu0, C0 + np.outer(mu0, mu0)), t_eval=t,
                        rtol=rtol, atol=1e-10, method="LSODA", events=exploded)
    ok = sol.status == 0
    message = "" if ok else ("blow-up" if sol.status == 1 else sol.message)
    mean = np.full((t.size, s), np.nan)
    raw2 = np.full((t.size, s, s), np.nan)
    for k in range(sol.y.shape[1]):
        mean[k], raw2[k] = unpack(sol.y[:, k])
    cov = raw2 - np.einsum("ti,tj->tij", mean, mean)
    return MomentSolution(t, mean, cov, raw2, ok, message)


def moment_closure(system: LatticeLotkaVolterra, initial_counts: Sequence[float],
                   times: Sequence[float], closure: str) -> ClosurePrediction:
    """Well-mixed Lotka–Volterra moments under ``closure`` from exact initial counts.

    The initial counts are fixed (zero variance).  Nearest-neighbour pair counts are the
    expected bonds of randomly placed molecules: ``NN(a, a) = (z N / 2) ⟨n_a (n_a − 1)⟩ /
    (N (N − 1))``, ``NN(X, Y) = z N ⟨n_X n_Y⟩ / (N (N − 1))``.
    """
    n = system.n_sites
    n0 = _check_counts(initial_counts, n)
    sol = solve_moments(lotka_volterra_network(system), n0, np.zeros((2, 2)), times, closure)
    flags = [] if sol.success else [f"solver stopped: {sol.message} at time "
                                    f"{sol.time[np.argmax(np.isnan(sol.mean[:, 0]))]:g}"]
    M, mu = sol.raw2, sol.mean
    scale = system.z * n / (n * (n - 1.0))
    nn = np.stack([scale / 2 * (M[:, 0, 0] - mu[:, 0]), scale * M[:, 0, 1],
                   scale / 2 * (M[:, 1, 1] - mu[:, 1])], axis=1)
    variances = np.stack([sol.covariance[:, 0, 0], sol.covariance[:, 1, 1]], axis=1)
    flags += physical_flags(mu, nn, n, variances)
    return ClosurePrediction(closure, sol.time, SPECIES, mu, PAIRS, nn, variances, tuple(flags))
