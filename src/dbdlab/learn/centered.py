"""Centered dynamic deep Boltzmann machines: the adjoint and the wake/sleep estimator (paper B §IV).

The evolved and sampled parameters are always the uncentered ``θ = (a, W)`` with
``dθ/dt = F(x; u)``; centering only changes the coordinates in which the adjoint system is
written (paper B eqs. 7–8 and 15–17).  With centers ``μ`` (one per species and layer, per
timepoint) the centered parameters are ``ã_α = a_α + Σ_{m=l±1} q Σ_β W_αβ μ_β^{(m)}``,
``W̃ = W`` (eq. 8), so the adjoint variables ``ν = (φ, Λ)`` of the centered parameters and the
uncentered adjoint ``λ`` are related by the transposed Jacobian of that change of variables::

    λ_a = φ_a,     λ_W_αβ = Λ_αβ + q μ_β φ_α + q μ_α φ_β          (the bracket of eq. 17).

:class:`CenteredAdjoint` integrates eq. 15 backwards over the window, explicit Euler as in the
authors' code (reproduction notes, (repro-lv-centered-adjoint)=), with ``φ(K_e) = Λ(K_e) = 0``::

    φ(k−1) = φ(k) − Δt [ Δ[Σ_i s_iα](k) − ψ_a(k) ]
    Λ(k−1) = Λ(k) − Δt [ Δ[Σ_(ij)(s_iα − μ*_α)(s_jβ − μ*_β)](k) − ψ_W(k)
                         + q μ*_β ψ_aα(k) + q μ*_α ψ_aβ(k) − q φ_α(k) μ̇_β(k) − q φ_β(k) μ̇_α(k) ]

with ``ψ`` of eq. 16 (equivalently ``ψ_θ = Σ_l λ_l ∂F_l/∂θ`` with ``λ`` from ``ν`` above, zero
for θ outside the domain), the backward difference ``μ̇(k) = (μ(k) − μ(k−1))/Δt`` of the
authors' code, and the gradients of eq. 17, ``dS/du = −Δt Σ_{k=τ}^{K_e} λ(k) ∂F/∂u(x(k))``.
The centre ``μ*`` in the centered moment and in the ``ψ_a`` terms is the only choice left:

``scheme="paper"``
    ``μ* = μ(k)``, the paper's equations evaluated at timepoint ``k`` as in the authors' code;
    first-order accurate in Δt when the centres move.
``scheme="exact"``
    ``μ* = μ(k−1)``: then ``ν`` is exactly the transform of the uncentered scheme of
    :func:`~dbdlab.learn.continuous_adjoint`, so the gradient equals, to rounding, the exact
    gradient of the discretised action for one substep and a window starting at 0 (the same
    statement as for the uncentered scheme; tested against finite differences).

With ``μ ≡ 0`` both reduce to :func:`~dbdlab.learn.continuous_adjoint`.  The centered weight
moments of the estimator are totals over the edges, and re-centring them from ``μ(k)`` to ``μ*``
uses ``Σ_(ij) s_iα = q Σ_i s_iα``, exact for periodic connectivity (the LV model).

:class:`CenteredDBMEstimator` is the wake/sleep estimator of paper B with the authors'
bookkeeping (reproduction notes, (repro-lv-config)=): the B visible lattices of a batch clamped and
10 binary sweeps of the hidden layers, whose states are kept per timepoint across optimisation
steps; sleep chains from a random start (the authors' code) or persistent per timepoint (the
paper's text); bias moments, then the centres slid toward the wake means (eq. 10), then the
centered weight moments with the new centres.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numba
import numpy as np

from ..fem import HermiteField
from .adjoint import AdjointResult, _true_gradient
from .dynamics import Dynamics, Trajectory

__all__ = ["CenteredAdjoint", "CenteredDBMEstimator", "centered_binary_moments"]

SCHEMES = ("paper", "exact")
SLEEP_MODES = ("random", "persistent")


def _weight_table(model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """θ index, lower and upper species (index into the centres) and ``q`` of every weight."""
    rows = []
    for c, triples in enumerate(model.weight_index):
        lo, up = model.species_slices[c].start, model.species_slices[c + 1].start
        for a, b, k in triples:
            rows.append((k, lo + a, up + b, model.connections[c].q))
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3].astype(float)


class CenteredAdjoint:
    """The centered adjoint rule of paper B eqs. 15–17 as a plug-in of :func:`~dbdlab.learn.train`.

    Called as ``rule(dynamics, fields, trajectory, awake, asleep, window_start, centers)``, the
    signature :func:`~dbdlab.learn.train` uses for callables (``centers`` is the estimator's
    extra item).

    Parameters
    ----------
    model
        The :class:`~dbdlab.models.BoltzmannMachine`; ``dynamics.names`` must be its θ names.
    scheme
        ``"paper"`` or ``"exact"`` (module docstring).
    reference_derivative
        Use the authors' ``∂F/∂x`` without the ``1/Δ`` factor (reproduction notes,
        (repro-lv-config)=).
    """

    def __init__(self, model, scheme: str = "paper", reference_derivative: bool = False) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.model = model
        self.scheme = scheme
        self.reference_derivative = bool(reference_derivative)
        self.n_species = len(model.species_names)
        self.w_theta, self.w_lower, self.w_upper, self.w_q = _weight_table(model)

    def to_uncentered(self, nu: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """``λ`` from the centered adjoint ``ν = (φ, Λ)``: ``λ_W = Λ + q μ_β φ_α + q μ_α φ_β``."""
        lam = np.array(nu, dtype=float, copy=True)
        i, j, q = self.w_lower, self.w_upper, self.w_q
        lam[..., self.w_theta] += q * (centers[..., j] * nu[..., i] + centers[..., i] * nu[..., j])
        return lam

    def __call__(self, dynamics: Dynamics, fields: Mapping[str, HermiteField],
                 trajectory: Trajectory, awake: np.ndarray, asleep: np.ndarray,
                 window_start: int, centers: np.ndarray) -> AdjointResult:
        if tuple(dynamics.names) != tuple(self.model.theta_names):
            raise ValueError(f"dynamics.names {dynamics.names} must be the model's θ names "
                             f"{self.model.theta_names}")
        theta = trajectory.timepoints[window_start:]
        n_w = theta.shape[0]
        delta = np.asarray(asleep, dtype=float) - np.asarray(awake, dtype=float)
        mu = np.asarray(centers, dtype=float)
        if delta.shape != (n_w, len(dynamics.names)) or window_start < 0:
            raise ValueError(f"awake/asleep must have shape ({n_w}, {len(dynamics.names)}) (the "
                             f"window from timepoint {window_start} to the trajectory's end), "
                             f"got {delta.shape}")
        if mu.shape != (n_w, self.n_species):
            raise ValueError(f"centers must have shape ({n_w}, {self.n_species}), one row per "
                             f"window timepoint, got {mu.shape}")
        dt = dynamics.dt
        points = theta[:, dynamics.domain_index]
        learned = [fields[name] for name in dynamics.learned]
        jac = np.stack([_true_gradient(f, points) for f in learned], axis=1)
        if self.reference_derivative:
            jac = jac * np.asarray(dynamics.cell_sizes)
        k_w, i, j, q = self.w_theta, self.w_lower, self.w_upper, self.w_q
        nu = np.zeros_like(theta)
        for k in range(n_w - 1, 0, -1):
            lam = self.to_uncentered(nu[k], mu[k])
            psi = np.zeros(theta.shape[1])
            psi[dynamics.domain_index] = jac[k].T @ lam[dynamics.learned_index]
            star = mu[k] if self.scheme == "paper" else mu[k - 1]
            mu_dot = (mu[k] - mu[k - 1]) / dt
            rhs = delta[k] - psi
            # re-centre the weight moments from μ(k) to μ* (periodic: Σ_edges s_iα = q Σ_i s_iα)
            rhs[k_w] += q * ((mu[k, j] - star[j]) * delta[k, i] +
                             (mu[k, i] - star[i]) * delta[k, j])
            rhs[k_w] += q * (star[j] * psi[i] + star[i] * psi[j])
            rhs[k_w] -= q * (nu[k, i] * mu_dot[j] + nu[k, j] * mu_dot[i])
            nu[k - 1] = nu[k] - dt * rhs
        lam = self.to_uncentered(nu, mu)
        gradients = {name: f.accumulate(points, -dt * lam[:, dynamics.learned_index[n]])
                     for n, (name, f) in enumerate(zip(dynamics.learned, learned, strict=True))}
        return AdjointResult(gradients, nu)


# ---------------------------------------------------------------------------------- moments


@numba.njit(cache=True)
def _edge_sums(lower, upper, up_to_down, n_lower, pair_a, pair_b, mu_a, mu_b,
               out):  # pragma: no cover
    """``out[c, p] = Σ_j Σ_{i∈patch(j)} (s_i,a − μ_a)(s_j,b − μ_b)`` for binary codes."""
    n_chains, n_upper = upper.shape
    q = up_to_down.shape[1]
    n_pairs = pair_a.shape[0]
    for c in range(n_chains):
        counts = np.zeros(n_lower + 1)
        total = np.zeros(n_pairs)
        for u in range(n_upper):
            counts[:] = 0.0
            for t in range(q):
                counts[lower[c, up_to_down[u, t]]] += 1.0
            code = upper[c, u]
            for p in range(n_pairs):
                s_up = (1.0 if code == pair_b[p] + 1 else 0.0) - mu_b[c, p]
                total[p] += (counts[pair_a[p] + 1] - q * mu_a[c, p]) * s_up
        for p in range(n_pairs):
            out[c, p] = total[p]


def centered_binary_moments(model, layers: Sequence[np.ndarray], centers: np.ndarray) -> np.ndarray:
    """Moments of binary chains with centered weight moments, per chain (Numba kernel).

    Bias moments ``Σ_i s_iα``; weight moments ``Σ_(ij)(s_iα − μ_α)(s_jβ − μ_β)`` (paper B
    eq. 9) with per-chain centres ``centers`` of shape ``(chains, n_species)``.
    The same numbers as :func:`dbdlab.models.moments` with centres, for int8 codes only.
    """
    codes = [np.ascontiguousarray(s, dtype=np.int8) for s in layers]
    n_chains = codes[0].shape[0]
    mu = np.asarray(centers, dtype=float)
    if mu.shape != (n_chains, len(model.species_names)):
        raise ValueError(f"centers must have shape ({n_chains}, {len(model.species_names)})")
    out = np.empty((n_chains, model.n_theta))
    for l, (s, lay) in enumerate(zip(codes, model.layers, strict=True)):
        if s.shape != (n_chains, lay.n_units):
            raise ValueError(f"layer {l} must hold int8 codes of shape ({n_chains}, "
                             f"{lay.n_units}), got {s.shape}")
        start = model.bias_slices[l].start
        for a in range(lay.n_species):
            out[:, start + a] = (s == a + 1).sum(axis=1)
    for c, (up_to_down, _) in enumerate(model.tables(np)):
        triples = np.array(model.weight_index[c], dtype=np.int64)
        lo, up = model.species_slices[c].start, model.species_slices[c + 1].start
        sums = np.empty((n_chains, len(triples)))
        _edge_sums(codes[c], codes[c + 1], np.ascontiguousarray(up_to_down, dtype=np.int64),
                   model.layers[c].n_species, triples[:, 0], triples[:, 1],
                   np.ascontiguousarray(mu[:, lo + triples[:, 0]]),
                   np.ascontiguousarray(mu[:, up + triples[:, 1]]), sums)
        out[:, triples[:, 2]] = sums
    return out


# -------------------------------------------------------------------------------- estimator


class CenteredDBMEstimator:
    """Wake/sleep moments of a centered DBM with per-timepoint centres and chains (paper B §V).

    Called as ``estimator(theta, timepoints, ic, step)`` by :func:`~dbdlab.learn.train`; returns
    ``(awake, asleep, centers)`` at the window's timepoints: bias moments ``Σ_i s_iα`` and
    centered weight moments (totals, means over the chains) and the centres used.

    Parameters
    ----------
    model
        The :class:`~dbdlab.models.BoltzmannMachine` (paper B: three 40×40 layers).
    lattices
        Visible data as int8 codes ``(n_runs, n_timepoints, N_0)`` (one initial condition).
    initial_centers
        Centres of every species at the first use of a timepoint (paper B: 0.0625 visible,
        0.33 hidden); later timepoints start from the centres of the last timepoint used.
    batch
        Data lattices per step (the same for every timepoint of the step); also the number of
        sleep chains per timepoint.
    wake_sweeps, sleep_sweeps
        Gibbs sweeps of the wake (hidden layers, visible clamped) and sleep phases.
    sleep
        ``"random"``: every sleep phase starts from random binary states (the authors' code);
        ``"persistent"``: sleep chains are kept per timepoint across steps (the paper's text).
    r
        Sliding factor of the centres (paper B eq. 10).
    seed, backend
        Random streams and sampling backend.
    """

    def __init__(self, model, lattices: np.ndarray, initial_centers: Sequence[float], *,
                 batch: int = 5, wake_sweeps: int = 10, sleep_sweeps: int = 10,
                 sleep: str = "random", r: float = 0.5, seed: int = 0,
                 backend: str | None = None) -> None:
        lattices = np.asarray(lattices)
        n_visible = model.layers[0].n_units
        if lattices.ndim != 3 or lattices.shape[2] != n_visible or lattices.dtype.kind not in "iu":
            raise ValueError(f"lattices must be integer codes of shape (n_runs, n_timepoints, "
                             f"{n_visible}), got {lattices.shape} {lattices.dtype}")
        if not 1 <= int(batch) <= lattices.shape[0]:
            raise ValueError(f"batch must be in 1…{lattices.shape[0]}, got {batch}")
        if sleep not in SLEEP_MODES:
            raise ValueError(f"sleep must be one of {SLEEP_MODES}, got {sleep!r}")
        for name, value in (("wake_sweeps", wake_sweeps), ("sleep_sweeps", sleep_sweeps)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= float(r) <= 1.0:
            raise ValueError(f"r must lie in [0, 1], got {r!r}")
        self.model = model
        self.lattices = lattices.astype(np.int8, copy=False)
        self.initial_centers = np.asarray(model.check_centers(initial_centers), dtype=float)
        self.batch, self.wake_sweeps, self.sleep_sweeps = int(batch), int(wake_sweeps), \
            int(sleep_sweeps)
        self.sleep, self.r, self.seed, self.backend = sleep, float(r), int(seed), backend
        n_tp = lattices.shape[1]
        self.centers = np.full((n_tp, len(model.species_names)), np.nan)
        self.wake_hidden = [np.zeros((n_tp, self.batch, lay.n_units), dtype=np.int8)
                            for lay in model.layers[1:]]
        self.sleep_layers = [np.zeros((n_tp, self.batch, lay.n_units), dtype=np.int8)
                             for lay in model.layers] if sleep == "persistent" else []
        self.n_used = 0  # timepoints 0 … n_used − 1 have state

    @property
    def n_timepoints(self) -> int:
        return self.lattices.shape[1]

    def _chain_ids(self, step: int, phase: int, timepoints: np.ndarray) -> np.ndarray:
        """Distinct stream ids per (step, phase, timepoint, chain); phases: 0 wake, 1 sleep,
        2 and 3 the first wake and sleep states."""
        per_step = self.n_timepoints * self.batch
        local = (timepoints[:, None] * self.batch + np.arange(self.batch)).ravel()
        return ((int(step) * 4 + phase) * per_step + local).astype(np.int64)

    def _extend(self, last: int, step: int) -> None:
        """Give timepoints ``n_used … last`` state: copies of the last used timepoint's."""
        from ..sampling import data_chains, random_chains

        if last < self.n_used:
            return
        new = np.arange(self.n_used, last + 1)
        if self.n_used == 0:
            self.centers[new] = self.initial_centers
            # first use: random hidden states (and sleep chains), one stream per chain
            v = self.lattices[0, :1].repeat(self.batch, axis=0)
            wake = data_chains(self.model, v, self.seed, hidden="random",
                               chain_ids=self._chain_ids(step, 2, np.array([0])),
                               backend="numpy")
            for l, arr in enumerate(self.wake_hidden):
                arr[new] = wake.layers[l + 1]
            if self.sleep_layers:
                start = random_chains(self.model, self.batch, self.seed,
                                      chain_ids=self._chain_ids(step, 3, np.array([0])),
                                      backend="numpy")
                for l, arr in enumerate(self.sleep_layers):
                    arr[new] = start.layers[l]
        else:
            src = self.n_used - 1
            self.centers[new] = self.centers[src]
            for arr in self.wake_hidden + self.sleep_layers:
                arr[new] = arr[src]
        self.n_used = last + 1

    def __call__(self, theta: np.ndarray, timepoints: np.ndarray, ic: int,
                 step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from ..backend import to_numpy
        from ..sampling import data_chains, gibbs_sweeps, random_chains

        if int(ic) != 0:
            raise ValueError(f"the centered DBM estimator holds one initial condition, got ic={ic}")
        timepoints = np.asarray(timepoints, dtype=np.int64)
        if timepoints.min() < 0 or timepoints.max() >= self.n_timepoints:
            raise ValueError(f"timepoints must lie in 0…{self.n_timepoints - 1}")
        self._extend(int(timepoints.max()), step)
        rng = np.random.default_rng([self.seed, int(step), int(ic)])
        rows = np.sort(rng.choice(self.lattices.shape[0], self.batch, replace=False))
        n_w, b = len(timepoints), self.batch
        per_chain = np.repeat(np.asarray(theta, dtype=float), b, axis=0)
        visible = self.lattices[rows][:, timepoints].transpose(1, 0, 2).reshape(n_w * b, -1)

        wake = data_chains(self.model, visible, self.seed, clamp=True, hidden="empty",
                           chain_ids=self._chain_ids(step, 0, timepoints), backend=self.backend)
        for l, arr in enumerate(self.wake_hidden):
            wake.layers[l + 1][...] = wake.xp.asarray(arr[timepoints].reshape(n_w * b, -1))
        gibbs_sweeps(self.model, per_chain, wake, self.wake_sweeps)
        awake_layers = wake.to_numpy()
        for l, arr in enumerate(self.wake_hidden):
            arr[timepoints] = awake_layers[l + 1].reshape(n_w, b, -1)

        sleep = random_chains(self.model, n_w * b, self.seed,
                              chain_ids=self._chain_ids(step, 1, timepoints), backend=self.backend)
        if self.sleep_layers:
            for l, arr in enumerate(self.sleep_layers):
                sleep.layers[l][...] = sleep.xp.asarray(arr[timepoints].reshape(n_w * b, -1))
        gibbs_sweeps(self.model, per_chain, sleep, self.sleep_sweeps)
        asleep_layers = [to_numpy(s) for s in sleep.layers]
        for l, arr in enumerate(self.sleep_layers):
            arr[timepoints] = asleep_layers[l].reshape(n_w, b, -1)

        # bias moments, then slide the centres toward the wake means (eq. 10), then the
        # centered weight moments with the new centres (reproduction notes, (repro-lv-config)=)
        n_units = np.concatenate([np.full(lay.n_species, lay.n_units)
                                  for lay in self.model.layers])
        counts = np.concatenate([np.stack([(s == a + 1).sum(axis=1) for a in
                                           range(lay.n_species)], axis=1)
                                 for s, lay in zip(awake_layers, self.model.layers, strict=True)],
                                axis=1)
        wake_mean = counts.reshape(n_w, b, -1).mean(axis=1) / n_units
        self.centers[timepoints] = (1.0 - self.r) * self.centers[timepoints] + self.r * wake_mean
        mu_chain = np.repeat(self.centers[timepoints], b, axis=0)
        awake = centered_binary_moments(self.model, awake_layers, mu_chain)
        asleep = centered_binary_moments(self.model, asleep_layers, mu_chain)
        shape = (n_w, b, -1)
        return (awake.reshape(shape).mean(axis=1), asleep.reshape(shape).mean(axis=1),
                self.centers[timepoints].copy())

    # -- checkpoint state ------------------------------------------------------------------

    def state_dataset(self):
        """Per-timepoint centres and chains, for bit-identical resumption (an xarray Dataset)."""
        import xarray as xr

        used = slice(0, self.n_used)
        data = {"estimator__centers": (("estimator__timepoint", "estimator__species"),
                                       self.centers[used])}
        for name, arrays in (("wake", self.wake_hidden), ("sleep", self.sleep_layers)):
            first = 1 if name == "wake" else 0
            for l, arr in enumerate(arrays, start=first):
                data[f"estimator__{name}_layer{l}"] = (
                    ("estimator__timepoint", "estimator__chain", f"estimator__unit{l}"),
                    arr[used])
        return xr.Dataset(data, attrs={"estimator_n_used": int(self.n_used),
                                       "estimator_sleep": self.sleep})

    def load_state(self, ds) -> None:
        """Restore the state written by :meth:`state_dataset` (e.g. from a checkpoint)."""
        if ds.attrs.get("estimator_sleep") != self.sleep:
            raise ValueError(f"checkpoint estimator state has sleep mode "
                             f"{ds.attrs.get('estimator_sleep')!r}, this estimator {self.sleep!r}")
        n = int(ds.attrs["estimator_n_used"])
        self.n_used = n
        self.centers[:n] = ds["estimator__centers"].values
        for name, arrays in (("wake", self.wake_hidden), ("sleep", self.sleep_layers)):
            first = 1 if name == "wake" else 0
            for l, arr in enumerate(arrays, start=first):
                arr[:n] = ds[f"estimator__{name}_layer{l}"].values
