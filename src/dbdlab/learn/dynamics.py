"""The learned dynamics ``dθ/dt = F(x; u)`` and its forward Euler solution (paper A eqs. 26–27).

A :class:`Dynamics` names the parameters θ of a Boltzmann model, the *domain* ``x`` (a subset of
θ on which every F depends), and the parameters whose right-hand sides are learned (the others
stay constant, ``F ≡ 0``).  Each learned right-hand side is a :class:`~dbdlab.fem.HermiteField`
over the domain.  All of it is configuration, so one engine serves the annihilation (domain
(b, J, K) or (b, W, b′)), Rössler (domain (h_A, h_B, h_C), 10 substeps) and Lotka–Volterra
(6-D domain) experiments.

Forward Euler with ``S`` substeps per timestep (reproduction notes: repro-learning-step):
``θ^{n+1} = θ^n + h f(θ^n)``, ``h = Δt/S``, timepoint ``k`` being substep ``n = kS``.  All
substep states are kept, because the exact discrete adjoint needs the Jacobian at each of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..fem import HermiteField
from ._integrate_numba import integrate_numba, integrate_reference

__all__ = ["Dynamics", "Trajectory", "integrate"]


@dataclass(frozen=True)
class Dynamics:
    """Which parameters evolve, on which domain, with which grid and timestep.

    Parameters
    ----------
    names
        All parameter names θ, in the model's order.
    domain
        Names of the domain coordinates ``x`` of every F (paper A eq. 27; reproduction notes:
        repro-fem-domains).
    learned
        Names of the parameters with a learned right-hand side (default: all).
    cell_sizes
        Finite-element cell size per domain coordinate.
    dt, substeps
        Timestep of the data and Euler substeps per timestep (Rössler: 10).
    reference_scaling
        Use the authors' finite-element convention (derivative DOFs in cell-fraction units and
        ``∂F/∂x`` without the ``1/Δ`` factor, :mod:`dbdlab.fem`), needed for their learning
        rates to mean the same; the default is the correct physical convention.
    """

    names: tuple[str, ...]
    domain: tuple[str, ...]
    cell_sizes: tuple[float, ...]
    dt: float
    learned: tuple[str, ...] | None = None
    substeps: int = 1
    reference_scaling: bool = False
    domain_index: np.ndarray = field(init=False, repr=False, compare=False)
    learned_index: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(self.names)
        domain = tuple(self.domain)
        learned = names if self.learned is None else tuple(self.learned)
        for what, subset in (("domain", domain), ("learned", learned)):
            unknown = [n for n in subset if n not in names]
            if unknown or len(set(subset)) != len(subset) or not subset:
                raise ValueError(f"{what} must be distinct parameter names among {names}; "
                                 f"got {subset}")
        cells = tuple(float(c) for c in self.cell_sizes)
        if len(cells) != len(domain) or not all(c > 0 for c in cells):
            raise ValueError(f"cell_sizes must give one positive size per domain coordinate "
                             f"({len(domain)}), got {self.cell_sizes}")
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be positive, got {self.dt}")
        if int(self.substeps) != self.substeps or self.substeps < 1:
            raise ValueError(f"substeps must be a positive integer, got {self.substeps}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "learned", learned)
        object.__setattr__(self, "cell_sizes", cells)
        object.__setattr__(self, "substeps", int(self.substeps))
        object.__setattr__(self, "domain_index", np.array([names.index(n) for n in domain]))
        object.__setattr__(self, "learned_index", np.array([names.index(n) for n in learned]))

    @property
    def h(self) -> float:
        """Euler substep ``Δt / S``."""
        return self.dt / self.substeps

    def new_fields(self, origin: Sequence[float] | None = None) -> dict[str, HermiteField]:
        """Zero right-hand sides ``F_k`` for every learned parameter.

        ``origin`` is the grid origin per domain coordinate (default 0; the LV and Rössler
        experiments put the initial condition at a cell centre, ``θ(0) − Δ/2``).
        """
        return {name: HermiteField(self.cell_sizes, origin,
                                   reference_scaling=self.reference_scaling)
                for name in self.learned}

    def check_fields(self, fields: Mapping[str, HermiteField]) -> None:
        missing = [n for n in self.learned if n not in fields]
        if missing:
            raise ValueError(f"fields: no right-hand side for {missing}")
        for name in self.learned:
            if fields[name].ndim != len(self.domain):
                raise ValueError(f"fields[{name!r}] has {fields[name].ndim} dimensions, the "
                                 f"domain {self.domain} has {len(self.domain)}")

    def to_attrs(self) -> dict:
        return {"names": list(self.names), "domain": list(self.domain),
                "learned": list(self.learned), "cell_sizes": list(self.cell_sizes),
                "dt": self.dt, "substeps": self.substeps,
                "reference_scaling": int(self.reference_scaling)}


@dataclass(frozen=True)
class Trajectory:
    """Forward Euler solution: every substep state and the timepoints.

    Attributes
    ----------
    theta
        ``(n_timepoints − 1)·S + 1`` substep states, shape ``(N + 1, n_theta)``.
    substeps
        ``S``; timepoint ``k`` is ``theta[k·S]``.
    """

    theta: np.ndarray
    substeps: int

    @property
    def timepoints(self) -> np.ndarray:
        """θ at the timepoints, shape ``(n_timepoints, n_theta)``."""
        return self.theta[:: self.substeps]


def integrate(dynamics: Dynamics, fields: Mapping[str, HermiteField], theta0: Sequence[float],
              n_timepoints: int, *, reference: bool = False) -> Trajectory:
    """Solve ``dθ/dt = F(x; u)`` by explicit Euler from ``θ(0) = theta0`` (paper A eq. 27).

    Returns the states at every substep up to timepoint ``n_timepoints − 1``.  The solve runs in
    one Numba kernel (:mod:`dbdlab.learn._integrate_numba`), bit-identical to the readable
    per-substep NumPy loop that ``reference=True`` selects.
    """
    dynamics.check_fields(fields)
    theta0 = np.asarray(theta0, dtype=float)
    if theta0.shape != (len(dynamics.names),):
        raise ValueError(f"theta0 must have {len(dynamics.names)} entries ({dynamics.names}), "
                         f"got shape {theta0.shape}")
    if int(n_timepoints) != n_timepoints or n_timepoints < 1:
        raise ValueError(f"n_timepoints must be a positive integer, got {n_timepoints}")
    n_sub = (int(n_timepoints) - 1) * dynamics.substeps
    theta = np.empty((n_sub + 1, theta0.size))
    theta[0] = theta0
    solve = integrate_reference if reference else integrate_numba
    solve(theta, dynamics.h, dynamics.domain_index, dynamics.learned_index,
          [fields[name] for name in dynamics.learned])
    return Trajectory(theta, dynamics.substeps)
