"""Adjoint sensitivities of the action ``S = Σ_k w_k D_KL(p_k ‖ p̃(θ_k))`` (paper A §III.A).

The moment difference ``Δ_k = ⟨M⟩_model − ⟨M⟩_data`` ("asleep minus awake") is the gradient of
``D_KL`` with respect to θ at timepoint ``k``, so every rule here turns the per-timepoint ``Δ``
into ``dS/du`` for every learned right-hand side.  Two rules:

:func:`discrete_adjoint`
    The exact adjoint of the forward Euler scheme actually used (every substep): with
    ``θ^{n+1} = θ^n + h f(θ^n)`` and sources ``g_n = w_k Δ_k`` at the window's timepoints
    ``n = kS``, ``λ^N = g_N``, ``λ^n = g_n + (I + h J_n)^T λ^{n+1}`` and
    ``dS/du_j = Σ_{n<N} h λ_j^{n+1} ∂F_j/∂u(x^n)``, ``J_n = ∂f/∂θ(θ^n)``.  The adjoint runs back
    to ``t = 0`` because a window's θ depends on u through the whole trajectory.  This is the
    gradient of the discretised S to rounding, which the finite-difference tests check.
:func:`continuous_adjoint`
    The papers' continuous adjoint (paper A eqs. 30–31) discretised as in the authors' code
    (reproduction notes: repro-learning-step): ``φ(K_e) = 0``, ``φ(k−1) = φ(k) − Δt(Δ_k − ψ_k)``
    with
    ``ψ_k = Σ_l φ_l(k) ∂F_l/∂θ_k``, on the window only, and
    ``dS/du_j = −Δt Σ_{k=τ}^{K_e} φ_j(k) ∂F_j/∂u(x(k))``.  It converges to the same gradient as
    Δt → 0 (for a window starting at 0, tested).  ``reference_bug_field`` reproduces the bug of
    the authors' library before May 2019 (reproduction notes: repro-adjoint-bug): ``ψ`` replaced by
    the unweighted ``∂F_last/∂θ_k`` of one field.

The optional L2 term of paper A eqs. 32–33, ``Σ_k w_k λ_r (θ_k − θ̄)²`` per regularised
parameter, enters both rules as an extra source ``2 λ_r (θ_k − θ̄)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..fem import HermiteField, SparseCoefficients
from .dynamics import Dynamics, Trajectory

__all__ = ["AdjointResult", "discrete_adjoint", "continuous_adjoint", "l2_source"]


@dataclass(frozen=True)
class AdjointResult:
    """Gradients ``dS/du`` per learned parameter and the adjoint at the window's timepoints."""

    gradients: dict[str, SparseCoefficients]
    adjoint: np.ndarray  # (n_window_timepoints, n_theta)


def l2_source(dynamics: Dynamics, theta: np.ndarray,
              l2: Mapping[str, tuple[float, float]] | None) -> np.ndarray:
    """``∂/∂θ`` of ``λ_r (θ − θ̄)²`` for each regularised parameter ``{name: (λ_r, θ̄)}``."""
    out = np.zeros_like(theta)
    for name, (strength, center) in (l2 or {}).items():
        k = dynamics.names.index(name)
        out[..., k] = 2.0 * strength * (theta[..., k] - center)
    return out


def _true_gradient(field_: HermiteField, points: np.ndarray) -> np.ndarray:
    """``∂F/∂x`` in physical units whatever the field's coefficient convention."""
    grad = field_.gradient(points)
    return grad / field_.cell_sizes if field_.reference_scaling else grad


def _check(dynamics: Dynamics, trajectory: Trajectory, delta: np.ndarray,
           window_start: int, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
    n_tp = trajectory.timepoints.shape[0]
    delta = np.asarray(delta, dtype=float)
    n_w = delta.shape[0]
    if delta.shape != (n_w, len(dynamics.names)) or window_start < 0 or \
            window_start + n_w != n_tp:
        raise ValueError(f"delta must have shape (window timepoints, {len(dynamics.names)}) and "
                         f"end at the trajectory's last timepoint {n_tp - 1}; got shape "
                         f"{delta.shape} starting at {window_start}")
    w = np.full(n_w, dynamics.dt) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_w,):
        raise ValueError(f"weights must have one entry per window timepoint ({n_w})")
    return delta, w, n_w


def discrete_adjoint(dynamics: Dynamics, fields: Mapping[str, HermiteField],
                     trajectory: Trajectory, delta: np.ndarray, window_start: int,
                     weights: np.ndarray | None = None,
                     l2: Mapping[str, tuple[float, float]] | None = None) -> AdjointResult:
    """Exact gradient of ``S = Σ_k w_k D_KL,k`` through the forward Euler scheme (module doc).

    Parameters
    ----------
    dynamics, fields, trajectory
        The dynamics, its right-hand sides and the forward solution (up to the window's end).
    delta
        ``Δ_k = ⟨M⟩_model − ⟨M⟩_data`` at the window's timepoints, ``(n_window, n_theta)``.
    window_start
        Timepoint ``τ`` of ``delta[0]``; the window ends at the trajectory's last timepoint.
    weights
        Quadrature weights ``w_k`` of the window's timepoints (default ``Δt`` each).
    l2
        Optional L2 terms ``{name: (λ_r, θ̄)}`` (paper A eqs. 32–33).
    """
    delta, w, n_w = _check(dynamics, trajectory, delta, window_start, weights)
    s, h = dynamics.substeps, dynamics.h
    theta = trajectory.theta
    n_sub = theta.shape[0] - 1
    sources = np.zeros_like(theta)
    window_tp = np.arange(window_start, window_start + n_w)
    sources[window_tp * s] = w[:, None] * (delta + l2_source(dynamics, theta[window_tp * s], l2))
    points = theta[:n_sub][:, dynamics.domain_index]
    learned = [fields[name] for name in dynamics.learned]
    # J_n^T λ only needs ∂F_j/∂x_d: rows = learned parameters, columns = domain coordinates
    jac = np.stack([_true_gradient(f, points) for f in learned], axis=1) if n_sub else None
    lam = np.zeros_like(theta)
    lam[n_sub] = sources[n_sub]
    for n in range(n_sub - 1, -1, -1):
        nxt = lam[n + 1]
        lam[n] = sources[n] + nxt
        lam[n, dynamics.domain_index] += h * (jac[n].T @ nxt[dynamics.learned_index])
    gradients = {}
    for j, (name, f) in enumerate(zip(dynamics.learned, learned, strict=True)):
        index = dynamics.learned_index[j]
        gradients[name] = f.accumulate(points, h * lam[1:, index]) if n_sub else \
            f.accumulate(np.zeros((0, len(dynamics.domain))), np.zeros(0))
    return AdjointResult(gradients, lam[window_tp * s])


def continuous_adjoint(dynamics: Dynamics, fields: Mapping[str, HermiteField],
                       trajectory: Trajectory, delta: np.ndarray, window_start: int,
                       l2: Mapping[str, tuple[float, float]] | None = None,
                       reference_bug_field: str | None = None,
                       reference_derivative: bool = False) -> AdjointResult:
    """The papers' adjoint discretised as in the authors' code (module docstring).

    Uses the timepoints only (not the substeps), explicit backward Euler on the window, and the
    rectangle rule over the window including both ends.  ``Δ`` at the window start is not used,
    as in the authors' code.  With one substep and a window starting at 0 this *is* the exact
    discrete adjoint (``φ(k) = −λ^{k+1}``); it differs by the window truncation (contributions
    before τ are dropped: the papers' online variant, eq. 41) and, with substeps, by evaluating
    the Jacobian at timepoints only.  ``reference_derivative`` uses the authors' ``∂F/∂x``
    without the ``1/Δ`` factor (reproduction notes: repro-fem).
    """
    delta, _, n_w = _check(dynamics, trajectory, delta, window_start, None)
    if reference_bug_field is not None and reference_bug_field not in dynamics.learned:
        raise ValueError(f"reference_bug_field must be a learned parameter, got "
                         f"{reference_bug_field!r}")
    dt = dynamics.dt
    theta = trajectory.timepoints[window_start:]
    points = theta[:, dynamics.domain_index]
    learned = [fields[name] for name in dynamics.learned]
    jac = np.stack([_true_gradient(f, points) for f in learned], axis=1)  # (n_w, ℓ, domain)
    if reference_derivative:
        jac = jac * np.asarray(dynamics.cell_sizes)
    source = delta + l2_source(dynamics, theta, l2)
    phi = np.zeros_like(theta)
    for k in range(n_w - 1, 0, -1):
        psi = np.zeros(theta.shape[1])
        if reference_bug_field is None:
            psi[dynamics.domain_index] = jac[k].T @ phi[k, dynamics.learned_index]
        else:
            last = dynamics.learned.index(reference_bug_field)
            psi[dynamics.domain_index] = jac[k, last]
        phi[k - 1] = phi[k] - dt * (source[k] - psi)
    gradients = {}
    for j, (name, f) in enumerate(zip(dynamics.learned, learned, strict=True)):
        gradients[name] = f.accumulate(points, -dt * phi[:, dynamics.learned_index[j]])
    return AdjointResult(gradients, phi)
