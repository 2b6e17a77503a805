"""The optimisation loop of Algorithm 1 (paper A): windows, initial conditions, updates, history.

One optimisation step ``s`` (reproduction notes: repro-learning-step):

1. the window ``[τ, τ + n_w]`` of the step (:class:`WindowSchedule`);
2. for every initial condition (in order): forward Euler from its θ(0) to ``τ + n_w``, wake and
   sleep moments at the window's timepoints (the estimator), the adjoint, and — with
   ``ic_update="sequential"``, the authors' choice — an immediate update of the shared
   coefficients u; with ``"mean"`` the gradients of all initial conditions are averaged into
   one update;
3. history: window, θ in the window per initial condition, moments, adjoint-gradient norm,
   seconds per step.

Updates are SGD or Adam per right-hand side with per-parameter learning rates.  Adam keeps its
moments on the same sparse grid as the coefficients and updates only the vertices a gradient
touches ("lazy" Adam).  Checkpoints hold the coefficients, the optimiser state and the history;
since all randomness is keyed by (seed, step, initial condition), a resumed run is identical to
an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fem import HermiteField, SparseCoefficients
from .adjoint import AdjointResult, continuous_adjoint, discrete_adjoint
from .dynamics import Dynamics, integrate
from .optim import FieldOptimizer

__all__ = ["WindowSchedule", "TrainingResult", "train"]


@dataclass(frozen=True)
class WindowSchedule:
    """Sliding window of Algorithm 1's online variant (paper A eq. 41).

    The window holds ``length + 1`` timepoints ``[τ, τ + length]``; before step ``s`` (1-based)
    the window moves by one whenever ``s > 1`` and ``(s − 1) % shift_every == 0``, i.e.
    ``τ(s) = ⌊(s − 1)/shift_every⌋`` (annihilation and LV: every 2 steps from step 3; Rössler:
    every 100 from step 101), capped so the window stays within ``n_timepoints``.
    """

    length: int
    shift_every: int
    start: int = 0

    def __post_init__(self) -> None:
        if self.length < 1 or self.shift_every < 1 or self.start < 0:
            raise ValueError(f"window length and shift_every must be >= 1 and start >= 0, got "
                             f"{self}")

    def window(self, step: int, n_timepoints: int) -> tuple[int, int]:
        tau = self.start + (step - 1) // self.shift_every
        tau = min(tau, n_timepoints - 1 - self.length)
        if tau < 0:
            raise ValueError(f"a window of {self.length + 1} timepoints does not fit into "
                             f"{n_timepoints} timepoints")
        return tau, tau + self.length


@dataclass
class TrainingResult:
    """Learned right-hand sides and the training history (an ``xarray.Dataset``)."""

    fields: dict[str, HermiteField]
    history: object


Estimator = Callable[[np.ndarray, np.ndarray, int, int], tuple]
AdjointRule = Callable[..., "AdjointResult"]


def _norm(gradients: Mapping[str, SparseCoefficients]) -> float:
    return float(np.sqrt(sum(np.sum(g.values**2) for g in gradients.values())))


def _describe(value: object) -> object:
    """JSON-able fingerprint of a setting: scalars as they are, arrays by shape and digest."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return f"{value.dtype}{list(value.shape)} sha256:{digest}"
    if isinstance(value, Mapping):
        return {str(k): _describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, tuple | list):
        return [_describe(v) for v in value]
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"
    return type(value).__name__


def _settings(ics: np.ndarray, estimator: object, window: WindowSchedule, n_timepoints: int,
              optimizer: FieldOptimizer, adjoint: object, ic_update: str, l2: object,
              reference_bug_field: str | None) -> dict:
    """What a resumed run must share with the run that wrote the checkpoint.

    Everything that changes the optimisation path: θ(0), the estimator's scalar settings (e.g.
    seed, batch, k) and data (by digest), window, optimiser and adjoint.  Not the number of
    steps (a run may be extended) nor the checkpoint interval.
    """
    simple = {k: _describe(v) for k, v in sorted(getattr(estimator, "__dict__", {}).items())
              if isinstance(v, bool | int | float | str | np.ndarray | np.generic) or v is None}
    return {"initial_conditions": _describe(ics),
            "estimator": {"type": type(estimator).__qualname__, **simple},
            "window": {"length": window.length, "shift_every": window.shift_every,
                       "start": window.start},
            "n_timepoints": int(n_timepoints),
            "optimizer": {"kind": optimizer.kind, "lr": _describe(optimizer.lr),
                          "beta1": optimizer.beta1, "beta2": optimizer.beta2,
                          "eps": optimizer.eps},
            "adjoint": _describe(adjoint), "ic_update": ic_update, "l2": _describe(l2),
            "reference_bug_field": reference_bug_field}


def _check_finite(step: int, arrays: Mapping[str, object]) -> None:
    """Stop a diverging run before it writes NaNs into the history or a checkpoint."""
    broken = [name for name, a in arrays.items() if not np.all(np.isfinite(np.asarray(a)))]
    if broken:
        raise ValueError(f"training diverged at step {step}: non-finite {', '.join(broken)}; "
                         "lower the learning rate (optimizer lr) or shorten the window (the "
                         "last checkpoint, if any, holds the state before this step)")


def _mean_gradient(all_grads: list[dict[str, SparseCoefficients]]) -> dict:
    out = {}
    for name in all_grads[0]:
        vertices = np.concatenate([g[name].vertices for g in all_grads])
        values = np.concatenate([g[name].values for g in all_grads]) / len(all_grads)
        out[name] = SparseCoefficients(vertices, values)  # HermiteField.add sums repeats
    return out


def train(dynamics: Dynamics, fields: dict[str, HermiteField], initial_conditions: np.ndarray,
          estimator: Estimator, *, steps: int, window: WindowSchedule, n_timepoints: int,
          optimizer: FieldOptimizer | None = None, adjoint: str | AdjointRule = "discrete",
          ic_update: str = "sequential", l2: Mapping[str, tuple[float, float]] | None = None,
          reference_bug_field: str | None = None, checkpoint: str | Path | None = None,
          checkpoint_every: int = 0, progress: bool | None = None,
          integrator: Callable | None = None) -> TrainingResult:
    """Learn the right-hand sides ``F`` by Algorithm 1 (module docstring).

    Parameters
    ----------
    dynamics, fields
        The dynamics and its right-hand sides (updated in place and returned).
    initial_conditions
        θ(0) of every initial condition, ``(n_ic, n_theta)``; the estimator is called with the
        initial condition's index.
    estimator
        Wake/sleep moments (:mod:`dbdlab.learn.estimators`).
    steps, window, n_timepoints
        Number of optimisation steps, the window schedule, and the number of data timepoints.
    optimizer
        :class:`FieldOptimizer` (default SGD with learning rate 1).
    adjoint
        ``"discrete"`` (exact gradient of the discretised action), ``"continuous"`` (the
        papers' scheme as coded by the authors), or a callable
        ``rule(dynamics, fields, trajectory, awake, asleep, window_start, *extras)`` returning
        an :class:`~dbdlab.learn.adjoint.AdjointResult` — the hook for other adjoint systems
        (e.g. the centered DBM of paper B eqs. 15–17), which receive whatever extra items the
        estimator returns after ``(awake, asleep)`` (e.g. centers).
    ic_update
        ``"sequential"`` (update after every initial condition, the authors') or ``"mean"``.
    l2, reference_bug_field
        L2 terms (paper A eqs. 32–33) and the authors' adjoint bug (continuous adjoint only).
    checkpoint, checkpoint_every
        Write a checkpoint every ``checkpoint_every`` steps (and at the end) to this file, and
        resume from it if it exists.  An estimator with state (per-timepoint chains, centres)
        provides ``state_dataset()`` and ``load_state(ds)``, which the checkpoint includes.
    progress
        Progress bar (default on, except in CI).
    integrator
        Forward solver with the signature of :func:`~dbdlab.learn.integrate` (default), e.g.
        :class:`~dbdlab.learn.IncrementalIntegrator`, which re-integrates only what changed.
    """
    import xarray as xr

    from ..backend import progress_enabled
    from .checkpoint import load_checkpoint, save_checkpoint

    dynamics.check_fields(fields)
    ics = np.atleast_2d(np.asarray(initial_conditions, dtype=float))
    if ics.shape[1] != len(dynamics.names):
        raise ValueError(f"initial_conditions must have {len(dynamics.names)} columns "
                         f"({dynamics.names}), got shape {ics.shape}")
    if not callable(adjoint) and adjoint not in ("discrete", "continuous"):
        raise ValueError(f"adjoint must be 'discrete', 'continuous' or a callable, got "
                         f"{adjoint!r}")
    if ic_update not in ("sequential", "mean"):
        raise ValueError(f"ic_update must be 'sequential' or 'mean', got {ic_update!r}")
    if reference_bug_field is not None and adjoint != "continuous":
        raise ValueError("reference_bug_field needs adjoint='continuous'")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    window.window(int(steps), n_timepoints)  # fails early if the window cannot fit
    optimizer = optimizer or FieldOptimizer()
    integrator = integrator or integrate
    stateful = hasattr(estimator, "state_dataset") and hasattr(estimator, "load_state")
    records: list[dict] = []
    first = 1
    settings = _settings(ics, estimator, window, n_timepoints, optimizer, adjoint, ic_update, l2,
                         reference_bug_field)
    settings["integrator"] = _describe(integrator)
    if checkpoint is not None and Path(checkpoint).exists():
        first, records = load_checkpoint(checkpoint, dynamics, fields, optimizer, settings)
        if first > steps:
            raise ValueError(f"checkpoint {checkpoint} is at step {first}, beyond steps={steps}; "
                             f"pass steps >= {first} or another checkpoint path")
        first += 1
        if stateful:
            from ..store import load_dataset

            estimator.load_state(load_dataset(checkpoint))

    def solve(ic: int, tau: int, end: int):
        try:
            traj = integrator(dynamics, fields, ics[ic], end + 1)
        except ValueError as exc:  # e.g. θ(t) ran off the grid after a huge update
            raise ValueError(f"training stopped at step {step}, initial condition {ic}: "
                             f"{exc}") from exc
        timepoints = np.arange(tau, end + 1)
        awake, asleep, *extras = estimator(traj.timepoints[tau:], timepoints, ic, step)
        _check_finite(step, {"θ trajectory": traj.timepoints, "data moments": awake,
                             "model moments": asleep})
        if callable(adjoint):
            result = adjoint(dynamics, fields, traj, awake, asleep, tau, *extras)
        elif adjoint == "discrete":
            result = discrete_adjoint(dynamics, fields, traj, asleep - awake, tau, l2=l2)
        else:
            result = continuous_adjoint(dynamics, fields, traj, asleep - awake, tau, l2=l2,
                                        reference_bug_field=reference_bug_field)
        return result.gradients, awake, asleep, traj.timepoints[tau:]

    iterator = range(first, int(steps) + 1)
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="train", total=int(steps), initial=first - 1,
                        leave=False)
    for step in iterator:
        start = time.perf_counter()
        tau, end = window.window(step, n_timepoints)
        awake_sum, asleep_sum, norms, grads, thetas = 0.0, 0.0, [], [], []
        for ic in range(len(ics)):
            gradients, awake, asleep, theta_window = solve(ic, tau, end)
            thetas.append(theta_window)
            awake_sum, asleep_sum = awake_sum + awake, asleep_sum + asleep
            norms.append(_norm(gradients))
            if ic_update == "sequential":
                optimizer.apply(fields, gradients)
            else:
                grads.append(gradients)
        if ic_update == "mean":
            optimizer.apply(fields, _mean_gradient(grads))
        _check_finite(step, {"adjoint gradient": norms,
                             **{f"field {n}": f.coefficients for n, f in fields.items()}})
        records.append({"step": step, "tau": tau, "theta": np.stack(thetas),
                        "awake": awake_sum / len(ics),
                        "asleep": asleep_sum / len(ics), "grad_norm": float(np.mean(norms)),
                        "seconds": time.perf_counter() - start})
        if checkpoint is not None and checkpoint_every and (step % checkpoint_every == 0 or
                                                            step == steps):
            save_checkpoint(checkpoint, step, records, dynamics, fields, optimizer,
                            estimator.state_dataset() if stateful else None, settings)

    n_w = window.length + 1
    history = xr.Dataset(
        {"tau": ("step", [r["tau"] for r in records]),
         "theta": (("step", "ic", "lag", "param"), np.stack([r["theta"] for r in records])),
         "awake": (("step", "lag", "param"), np.stack([r["awake"] for r in records])),
         "asleep": (("step", "lag", "param"), np.stack([r["asleep"] for r in records])),
         "grad_norm": ("step", [r["grad_norm"] for r in records]),
         "seconds": ("step", [r["seconds"] for r in records])},
        coords={"step": [r["step"] for r in records], "lag": np.arange(n_w),
                "param": list(dynamics.names)},
        attrs={**dynamics.to_attrs(), "adjoint": adjoint, "ic_update": ic_update,
               "optimizer": optimizer.kind, "window_length": window.length,
               "shift_every": window.shift_every})
    history["theta"].attrs["description"] = "θ(tau + lag) per initial condition, before update"
    history["awake"].attrs["description"] = "data moments at timepoint tau + lag, mean over ICs"
    history["asleep"].attrs["description"] = "model moments at timepoint tau + lag"
    return TrainingResult(fields, history)
