"""Checks against exact results, shared by the test suite and the book's validation chapter.

Each function runs one check and returns what was measured next to what theory predicts, with
the standard errors that set the tolerance; ``tests/`` asserts on the result and
``notebooks/validation.ipynb`` plots and tabulates the very same numbers.

- :func:`annihilation_decay`: 1D diffusion-limited annihilation :math:`A + A \\to \\varnothing`
  with encounter probability 1 decays as :math:`\\rho(t) \\simeq (8\\pi D t)^{-1/2}`.
- :func:`walker_msd`: a lone molecule is a simple random walk, :math:`\\langle R_t^2\\rangle = t`.
- :func:`sampler_moments`: Gibbs samples against the exactly enumerated moments (z-scores).
- :func:`adjoint_finite_differences`: the adjoint gradient of the action (paper A eqs. 28-31)
  against central finite differences over a range of step sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AdjointCheck",
    "AnnihilationDecay",
    "SamplerCheck",
    "WalkerMSD",
    "action",
    "adjoint_finite_differences",
    "annihilation_decay",
    "moment_differences",
    "sampler_moments",
    "tiny_adjoint_problem",
    "walker_msd",
    "z_scores",
]


def z_scores(samples: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """(mean of ``samples`` over axis 0 − ``expected``) / its standard error, per column.

    A column with zero spread gets z = 0 when it equals ``expected`` and ±inf otherwise.
    """
    samples = np.asarray(samples, dtype=np.float64)
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    diff = samples.mean(axis=0) - expected
    return np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.inf))


# ------------------------------------------------------------------------- lattice simulator


@dataclass(frozen=True)
class AnnihilationDecay:
    """Density of 1D annihilation against the exact law ρ(t) = (8πDt)^(−1/2), D = 1/2.

    ``t`` and ``density`` hold the mean density on the fit window; ``slope`` is the fitted
    log–log slope (exact: −1/2) and ``amplitude`` the mean of ρ(t)·(8πDt)^(1/2) (exact: 1),
    each with its standard error over ``blocks`` independent blocks of replicas.
    """

    t: np.ndarray
    density: np.ndarray
    diffusion: float
    slope: float
    se_slope: float
    amplitude: float
    se_amplitude: float
    all_t: np.ndarray
    all_density: np.ndarray

    def law(self, t: np.ndarray) -> np.ndarray:
        """The exact asymptotic density (8πDt)^(−1/2)."""
        return 1.0 / np.sqrt(8.0 * np.pi * self.diffusion * np.asarray(t, dtype=np.float64))


def annihilation_decay(
    size: int = 4000,
    replicas: int = 128,
    steps: int = 1001,
    seed: int = 51,
    blocks: int = 16,
    window: tuple[int, int] = (100, 1000),
    n_points: int = 12,
    backend: str = "numba",
) -> AnnihilationDecay:
    """Simulate A + A → ∅ (probability 1) on a periodic ring started half filled.

    Every molecule attempts one hop per step (Δt = 1), so D = 1/2 site² per step and the
    exact asymptotic density is (8πDt)^(−1/2) = (4πt)^(−1/2).  On the window
    t ∈ [100, 1000] the diffusion length √t ≪ ``size`` and the finite-time correction of the
    exact continuum solution to the local slope is +1/(2t) ≤ 0.005.
    """
    from dbdlab.simulate import networks, simulate

    if blocks < 2 or replicas % blocks:
        raise ValueError(f"replicas ({replicas}) must be a multiple of blocks ({blocks}) ≥ 2")
    ds = simulate(networks.annihilation(1.0), (size,), steps, 1.0, replicas=replicas,
                  init={"A": size // 2}, seed=seed, periodic=True, store_lattices=False,
                  progress=False, backend=backend)
    rho = ds.counts.sel(species="A").values / size
    ts = np.unique(np.round(np.geomspace(window[0], window[1], n_points)).astype(int))
    diffusion = 0.5

    def slope_and_amplitude(r: np.ndarray) -> tuple[float, float]:
        mean = r.mean(axis=0)[ts]
        slope = np.polyfit(np.log(ts), np.log(mean), 1)[0]
        return float(slope), float(np.mean(mean * np.sqrt(8 * np.pi * diffusion * ts)))

    slope, amplitude = slope_and_amplitude(rho)
    per_block = np.array([slope_and_amplitude(b) for b in np.split(rho, blocks)])
    se_slope, se_amplitude = per_block.std(axis=0, ddof=1) / math.sqrt(blocks)
    mean = rho.mean(axis=0)
    return AnnihilationDecay(ts, mean[ts], diffusion, slope, float(se_slope), amplitude,
                             float(se_amplitude), np.arange(1, steps), mean[1:])


@dataclass(frozen=True)
class WalkerMSD:
    """Mean squared displacement of a lone molecule: exact ⟨R_t²⟩ = t, Var R_t² = 2t(t−1)/d."""

    t: np.ndarray
    msd: np.ndarray
    se: np.ndarray
    z: np.ndarray
    steps: np.ndarray  # (replica, step, axis) unit displacements


def walker_msd(shape: tuple[int, ...], steps: int, replicas: int, seed: int,
               backend: str = "numba") -> WalkerMSD:
    """Random walk of one molecule on a periodic lattice of ``shape`` (all axes ≥ 3 sites)."""
    from dbdlab.simulate import simulate
    from dbdlab.simulate.initial import GivenLattices
    from dbdlab.simulate.reactions import ReactionNetwork

    if min(shape) < 3:
        raise ValueError(f"every axis of shape must have at least 3 sites, got {shape}")
    d = len(shape)
    init = np.zeros(shape, dtype=np.int8)
    init[(0,) * d] = 1
    ds = simulate(ReactionNetwork(("A",), (), name="walker"), shape, steps + 1, 1.0,
                  replicas=replicas, init=GivenLattices(init), seed=seed, periodic=True,
                  progress=False, backend=backend)
    flat = ds.lattice.values.reshape(replicas, steps + 1, -1)
    if not np.all((flat != 0).sum(-1) == 1):
        raise RuntimeError("the lone molecule disappeared or multiplied")
    pos = np.stack(np.unravel_index(np.argmax(flat != 0, axis=-1), shape), axis=-1)
    size = np.array(shape)
    step = np.diff(pos, axis=1)
    step = (step + size // 2) % size - size // 2  # minimum image
    r2 = (np.cumsum(step, axis=1) ** 2).sum(-1)
    t = np.arange(1, steps + 1)
    msd = r2.mean(axis=0)
    se = np.sqrt(2.0 * t * (t - 1) / d / replicas)
    z = np.where(se > 0, (msd - t) / np.where(se > 0, se, 1.0), 0.0)
    return WalkerMSD(t, msd, se, z, step)


# ------------------------------------------------------------------------- samplers


@dataclass(frozen=True)
class SamplerCheck:
    """Chain-averaged moments against the exact expectations of an enumerated model."""

    names: tuple[str, ...]
    sampled: np.ndarray
    se: np.ndarray
    exact: np.ndarray
    z: np.ndarray


def sampler_moments(model, theta: np.ndarray, n_chains: int, sweeps: int, seed: int,
                    backend: str = "numpy") -> SamplerCheck:
    """Gibbs sweeps from a random start; every moment conjugate to θ against enumeration."""
    from dbdlab.sampling import gibbs_sweeps, random_chains

    theta = np.asarray(theta, dtype=np.float64)
    exact = model.exact(theta).expected_moments()
    chains = gibbs_sweeps(model, theta, random_chains(model, n_chains, seed, backend=backend),
                          sweeps)
    samples = np.asarray(model.moments(chains.layers), dtype=np.float64)
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    return SamplerCheck(tuple(model.theta_names), samples.mean(axis=0), se,
                        np.asarray(exact, dtype=np.float64), z_scores(samples, exact))


# ------------------------------------------------------------------------- adjoint gradient


def _true_theta(t: float) -> np.ndarray:
    return np.array([-0.4 + 0.3 * np.sin(2 * t), 0.6 - 0.5 * t, 0.2 * np.cos(3 * t)])


def tiny_adjoint_problem(model, n_timepoints: int, dt: float, substeps: int, seed: int,
                         cell: float = 0.5, reference_scaling: bool = False):
    """A learning problem small enough for exact moments: (dynamics, fields, θ0, exact).

    The data are the visible marginals of ``model`` along a smooth parameter path; the
    right-hand sides get random coefficients around the region the trajectory visits.
    """
    from dbdlab.learn import Dynamics, ExactMoments, visible_marginal

    names = tuple(model.theta_names)
    dyn = Dynamics(names, names, (cell,) * 3, dt, substeps=substeps,
                   reference_scaling=reference_scaling)
    theta0 = np.array([0.1, -0.2, 0.3])
    truth = np.stack([_true_theta(k * dt) for k in range(n_timepoints)])
    data = np.stack([visible_marginal(model, th) for th in truth])
    fields = dyn.new_fields()
    rng = np.random.default_rng(seed)
    box = theta0 + rng.uniform(-1.0, 1.0, (400, 3))
    for f in fields.values():
        support = f.accumulate(box, np.ones(len(box))).vertices
        f.set_coefficients(support, rng.normal(0.0, 0.4, (len(support), f.n_types)))
    return dyn, fields, theta0, ExactMoments(model, data)


def action(dyn, fields, theta0, exact, window: tuple[int, int]) -> float:
    """S = Σ_k Δt D_KL(p_k ‖ p̃(θ_k)) over the window, from exact moments."""
    from dbdlab.learn import integrate

    traj = integrate(dyn, fields, theta0, window[1] + 1).timepoints
    return float(sum(dyn.dt * exact.kl(traj[k], k) for k in range(window[0], window[1] + 1)))


def moment_differences(dyn, fields, theta0, exact, window: tuple[int, int]):
    """The forward trajectory and Δμ = model − data moments on the window."""
    from dbdlab.learn import integrate

    traj = integrate(dyn, fields, theta0, window[1] + 1)
    rows = []
    for k in range(window[0], window[1] + 1):
        awake, asleep = exact.moments(traj.timepoints[k], k)
        rows.append(asleep - awake)
    return traj, np.array(rows)


@dataclass(frozen=True)
class AdjointCheck:
    """Adjoint gradient entries against central finite differences, one row per step size.

    ``adjoint`` has one value per checked coefficient; ``finite`` has shape
    (len(epsilons), coefficients); ``relative_error`` is |adjoint − fd| / max(|fd|, 1e-3).
    """

    labels: tuple[str, ...]
    adjoint: np.ndarray
    epsilons: np.ndarray
    finite: np.ndarray

    @property
    def relative_error(self) -> np.ndarray:
        return np.abs(self.adjoint - self.finite) / np.maximum(np.abs(self.finite), 1e-3)


def adjoint_finite_differences(problem, window: tuple[int, int], epsilons, per_field: int = 4
                               ) -> AdjointCheck:
    """Check the exact discrete adjoint on the ``per_field`` largest entries of each field.

    A step ε is relative: each coefficient c is bumped by ε·max(1, |c|).
    """
    from dbdlab.learn import discrete_adjoint

    dyn, fields, theta0, exact = problem
    traj, delta = moment_differences(dyn, fields, theta0, exact, window)
    result = discrete_adjoint(dyn, fields, traj, delta, window[0])
    epsilons = np.asarray(epsilons, dtype=np.float64)
    labels, adjoint, finite = [], [], []
    for name, grad in result.gradients.items():
        for flat in np.argsort(-np.abs(grad.values).ravel())[:per_field]:
            row, typ = np.unravel_index(flat, grad.values.shape)
            vertex = grad.vertices[row: row + 1]
            base = fields[name].get_coefficients(vertex)
            column = []
            for eps in epsilons:
                h = eps * max(1.0, abs(base[0, typ]))
                values = []
                for sign in (1, -1):
                    bumped = base.copy()
                    bumped[0, typ] += sign * h
                    fields[name].set_coefficients(vertex, bumped)
                    values.append(action(dyn, fields, theta0, exact, window))
                fields[name].set_coefficients(vertex, base)
                column.append((values[0] - values[1]) / (2 * h))
            labels.append(f"{name}[{row},{typ}]")
            adjoint.append(grad.values[row, typ])
            finite.append(column)
    return AdjointCheck(tuple(labels), np.array(adjoint), epsilons, np.array(finite).T)
