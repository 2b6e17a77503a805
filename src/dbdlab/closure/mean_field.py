"""Mean-field rate equations of the lattice Lotka–Volterra system (paper B eq. 2).

Paper B eq. 2 is the mass-action system ``dμ_P/dt = k1 μ_P − k3 μ_H μ_P``,
``dμ_H/dt = k3 μ_H μ_P − k2 μ_H``.  Its rate constant ``k3`` is not a parameter of the
simulator; it follows from the simulator's rules (reproduction notes, ``(repro-networks)=``,
``(repro-step)=``):

* every molecule attempts one hop per timestep ``Δt`` to one of its ``z = 2d`` von Neumann
  neighbours chosen uniformly (hop rate ``h = 1/Δt``);
* a hop onto a molecule of the partner species reacts with probability ``p`` (0.4):
  ``X + Y → 2Y``, the prey's site becoming a hunter;
* so each nearest-neighbour prey–hunter bond reacts at rate ``κ = 2 p h / z`` (either end may be
  the mover, each choosing this bond with probability ``1/z``) — paper B eq. 3 with
  ``k3 ⟨Σ_⟨ij⟩ s_iH s_jP⟩`` read as ``κ · NN(X, Y)``;
* without spatial correlations ``NN(X, Y) = z N ρ_X ρ_Y`` (``z N / 2`` bonds, each an X–Y bond
  with probability ``2 ρ_X ρ_Y``), hence for the densities ``ρ = n / N``::

      dρ_X/dt = k1 ρ_X − 2 p h ρ_X ρ_Y,      dρ_Y/dt = 2 p h ρ_X ρ_Y − k2 ρ_Y,

  i.e. eq. 2 with ``k3 = 2 p h`` (0.8 per unit time for the paper's settings).
* Prey birth has propensity ``k1 n_X`` (autocatalytic; the offspring lands on a random empty site
  anywhere, so no crowding term as long as empty sites remain); hunter death ``k2 n_Y``.

Approximations (the reasons the lattice data differ): no spatial correlations; continuous time
instead of one hop sweep per step; uniform choice of the dying hunter and of the birth site
(the reference simulator's row-biased choice is not modelled).  Predicted nearest-neighbour pair
counts are those of uncorrelated sites: ``NN(a, a) = (z N / 2) ρ_a²``, ``NN(X, Y) = z N ρ_X ρ_Y``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .prediction import ClosurePrediction, physical_flags

__all__ = ["LatticeLotkaVolterra", "mean_field", "mean_field_rhs"]

SPECIES = ("X", "Y")
PAIRS = ("X_X", "X_Y", "Y_Y")


def _positive(value: float, name: str, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {kind} number, got {value}")
    return value


@dataclass(frozen=True)
class LatticeLotkaVolterra:
    """Rates and lattice of the simulated Lotka–Volterra system (``X`` prey, ``Y`` hunter).

    Parameters
    ----------
    k1
        Prey birth rate (propensity ``k1 n_X``).
    k2
        Hunter death rate.
    p
        Predation probability per hop attempt onto a partner (paper B's 0.4).
    shape
        Lattice shape (periodic), e.g. ``(40, 40)``.
    dt
        Timestep of the simulator: one hop attempt per molecule per ``dt``.
    """

    k1: float = 0.025
    k2: float = 0.06
    p: float = 0.4
    shape: tuple[int, ...] = (40, 40)
    dt: float = 1.0

    def __post_init__(self) -> None:
        _positive(self.k1, "k1")
        _positive(self.k2, "k2")
        if not 0.0 <= _positive(self.p, "p") <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {self.p}")
        _positive(self.dt, "dt", allow_zero=False)
        shape = tuple(self.shape)
        if not 1 <= len(shape) <= 3 or any(
            isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 3 for s in shape
        ):
            raise ValueError(f"shape must be 1 to 3 integer side lengths ≥ 3, got {self.shape}")
        object.__setattr__(self, "shape", tuple(int(s) for s in shape))

    @classmethod
    def from_network(cls, network, shape: Sequence[int], dt: float) -> LatticeLotkaVolterra:
        """Rates from :func:`dbdlab.simulate.networks.lotka_volterra` (``0 → X``, ``Y → 0``,
        ``X + Y → 2Y``)."""
        by_kind = {}
        for r in network.reactions:
            reactants, products = tuple(sorted(r.reactants)), tuple(sorted(r.products))
            if reactants == () and products == ("X",):
                by_kind["k1"] = r.rate
            elif reactants == ("Y",) and products == ():
                by_kind["k2"] = r.rate
            elif reactants == ("X", "Y") and products == ("Y", "Y"):
                by_kind["p"] = r.probability
        if len(network.reactions) != 3 or set(by_kind) != {"k1", "k2", "p"}:
            raise ValueError(f"network is not the Lotka–Volterra network (0 → X, Y → 0, "
                             f"X + Y → 2Y): {[str(r) for r in network.reactions]}")
        return cls(by_kind["k1"], by_kind["k2"], by_kind["p"], tuple(shape), dt)

    @property
    def z(self) -> int:
        """Coordination number ``2d`` of the von Neumann neighbourhood."""
        return 2 * len(self.shape)

    @property
    def n_sites(self) -> int:
        return math.prod(self.shape)

    @property
    def hop_rate(self) -> float:
        """Hop attempts per molecule per unit time, ``1/Δt``."""
        return 1.0 / self.dt

    @property
    def bond_rate(self) -> float:
        """Predation rate per nearest-neighbour prey–hunter bond, ``κ = 2 p h / z``."""
        return 2.0 * self.p * self.hop_rate / self.z

    @property
    def k3(self) -> float:
        """Mean-field rate constant of paper B eq. 2 for densities, ``k3 = κ z = 2 p h``."""
        return self.bond_rate * self.z


def mean_field_rhs(rho: np.ndarray, system: LatticeLotkaVolterra) -> np.ndarray:
    """Right-hand side of paper B eq. 2 for the densities ``(ρ_X, ρ_Y)``."""
    x, y = rho
    predation = system.k3 * x * y
    return np.array([system.k1 * x - predation, predation - system.k2 * y])


def _check_times(times: Sequence[float]) -> np.ndarray:
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError("times must be a 1-D increasing sequence of finite numbers")
    return t


def _check_counts(initial: Sequence[float], n_sites: int) -> np.ndarray:
    n0 = np.asarray(initial, dtype=float)
    if n0.shape != (2,) or np.any(n0 < 0) or n0.sum() > n_sites or not np.all(np.isfinite(n0)):
        raise ValueError(f"initial counts must be two non-negative numbers (n_X, n_Y) with "
                         f"n_X + n_Y ≤ N = {n_sites}, got {initial!r}")
    return n0


def mean_field(system: LatticeLotkaVolterra, initial_counts: Sequence[float],
               times: Sequence[float], *, rtol: float = 1e-9) -> ClosurePrediction:
    """Solve the mean-field equations (paper B eq. 2) from ``initial_counts = (n_X, n_Y)``.

    Returns
    -------
    ClosurePrediction
        Counts ``N ρ`` and uncorrelated nearest-neighbour pair counts at ``times`` (the solve
        starts at ``times[0]``).
    """
    t = _check_times(times)
    n = system.n_sites
    rho0 = _check_counts(initial_counts, n) / n
    sol = solve_ivp(lambda _, r: mean_field_rhs(r, system), (t[0], t[-1]), rho0, t_eval=t,
                    rtol=rtol, atol=1e-12, method="RK45")
    flags = [] if sol.success else [f"solver failed: {sol.message}"]
    rho = np.full((t.size, 2), np.nan)
    rho[: sol.y.shape[1]] = sol.y.T
    counts = n * rho
    half = system.z * n / 2
    nn = np.stack([half * rho[:, 0] ** 2, 2 * half * rho[:, 0] * rho[:, 1],
                   half * rho[:, 1] ** 2], axis=1)
    flags += physical_flags(counts, nn, n)
    return ClosurePrediction("mean_field", t, SPECIES, counts, PAIRS, nn, None, tuple(flags))
