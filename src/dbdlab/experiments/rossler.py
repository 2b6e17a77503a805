"""The Rössler experiment of paper A §IV.B: a hidden-layer DBD learned on a 3D lattice.

Configuration (paper A §IV.B and the authors' code; reproduction notes,
``(repro-rossler-config)=``):

* model — :func:`~dbdlab.models.rossler_rbm`: visible {A, B, C}, hidden {X1, Y1, Z1} on
  10×10×10 lattices, each hidden unit connected to a 2×2×2 visible cube with periodic wrap
  (the simulations have walls), weights A–X1, B–Y1, C–Z1 only (eq. 44);
* θ(0) — the zero-weight MaxEnt state (eq. 46): ``h = −ln 2`` (200 of each species on 1000
  sites), ``w = 0``, hidden ``b = ln(1/7)`` (≈ 100 of each; the paper's ``−ln(1/7)`` is a sign
  error);
* dynamics — all nine right-hand sides on the domain ``(hA, hB, hC)`` (eq. 45), Q3 C1 cells of
  0.1 with θ(0) at a cell centre, ``Δt = 0.01`` with 10 Euler substeps;
* training — window of 10 timesteps (11 timepoints) moved by one every 100 steps, 10 000 steps,
  SGD with learning rate 0.8 for the visible and hidden biases and 0.05 for the weights; batch 5
  (the paper) or 1 (the authors' code);
* wake — ``p(h|v)`` given each data lattice; sleep — 10 visible reconstructions from a random
  start, hidden probabilities at the end (:class:`RosslerEstimator`);
* test — 100 samples per timepoint by the same protocol, counts and nearest-neighbour pair
  counts against the simulation means (Fig. 8).

The finite elements use the authors' coefficient convention (``reference_scaling``: derivative
DOFs in cell-fraction units), for which their learning rates were chosen, and the correct
adjoint (the papers' continuous adjoint with ``ψ = Σ_l φ_l ∂F_l/∂θ`` and the true ``∂F/∂θ``), with
switches for the authors' adjoint bug and for the exact discrete adjoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..fem import HermiteField
from ..learn import Dynamics, FieldOptimizer, TrainingResult, WindowSchedule, integrate, train
from ..learn.incremental import IncrementalIntegrator
from ..learn.maxent import zero_weight_biases
from ..models import BoltzmannMachine, Layer, rossler_rbm

__all__ = [
    "DOMAIN",
    "SPECIES",
    "RosslerConfig",
    "RosslerEstimator",
    "initial_theta",
    "learned_trajectory",
    "make_dynamics",
    "new_fields",
    "open_rossler_rbm",
    "reference_start_probabilities",
    "rmse",
    "sample_states",
    "train_rossler",
    "visible_moments",
    "zero_weight_moments",
    "zero_weight_theta",
]

SPECIES = ("A", "B", "C")
DOMAIN = ("hA", "hB", "hC")
#: The authors' adjoint bug (reproduction notes, ``(repro-adjoint-bug)=``): ψ of every domain
#: coordinate replaced by the raw derivative of the last registered field, ``F_bZ1``.
BUG_FIELD = "bZ1"


@dataclass(frozen=True)
class RosslerConfig:
    """Everything that defines one training run (defaults: paper A §IV.B as the authors ran it).

    Attributes
    ----------
    shape
        Lattice shape (the data's).
    periodic
        Periodic 2×2×2 connectivity (the paper's model) or open (hidden 9×9×9, no wrap).
    dt, substeps, cell_size
        Timestep of the data, Euler substeps per timestep, finite-element cell side.
    steps, window, shift_every
        Optimisation steps; window length in timesteps (``window + 1`` timepoints); the window
        moves by one every ``shift_every`` steps.
    lr_bias, lr_weight
        SGD learning rates of the visible and hidden biases, and of the weights.
    optimizer
        ``"sgd"`` (the authors') or ``"adam"``.
    batch
        Data lattices (= sleep chains) per step and timepoint: 5 in the paper, 1 in the code.
    sleep_sweeps
        Visible reconstructions of the sleep phase.
    sleep_start
        ``"reference"``: the authors' unnormalised random start
        (:func:`reference_start_probabilities`); ``"uniform"``: each state with probability 1/4.
    adjoint
        ``"continuous"`` (the papers' windowed adjoint, eq. 31) or ``"discrete"`` (the exact
        gradient of the discretised action through all substeps back to t = 0).
    reference_bug
        Reproduce the authors' adjoint bug (continuous adjoint only).
    n_timepoints
        Data timepoints the window may reach (the window stops at the last one).
    seed
        Seed of the batches and chains.
    """

    shape: tuple[int, int, int] = (10, 10, 10)
    periodic: bool = True
    dt: float = 0.01
    substeps: int = 10
    cell_size: float = 0.1
    steps: int = 10_000
    window: int = 10
    shift_every: int = 100
    lr_bias: float = 0.8
    lr_weight: float = 0.05
    optimizer: str = "sgd"
    batch: int = 5
    sleep_sweeps: int = 10
    sleep_start: str = "reference"
    adjoint: str = "continuous"
    reference_bug: bool = False
    n_timepoints: int = 250
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {"steps": self.steps, "window": self.window,
                    "shift_every": self.shift_every, "batch": self.batch,
                    "sleep_sweeps": self.sleep_sweeps, "substeps": self.substeps}
        for name, value in positive.items():
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("dt", "cell_size", "lr_bias", "lr_weight"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {value!r}")
        if self.sleep_start not in ("reference", "uniform"):
            raise ValueError(f"sleep_start must be 'reference' or 'uniform', got "
                             f"{self.sleep_start!r}")
        if self.adjoint not in ("continuous", "discrete"):
            raise ValueError(f"adjoint must be 'continuous' or 'discrete', got {self.adjoint!r}")
        if self.reference_bug and self.adjoint != "continuous":
            raise ValueError("reference_bug needs adjoint='continuous'")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.n_timepoints < self.window + 1:
            raise ValueError(f"n_timepoints ({self.n_timepoints}) must hold one window "
                             f"({self.window + 1} timepoints)")

    def to_attrs(self) -> dict:
        """The configuration as netCDF-friendly attributes."""
        out = asdict(self)
        out["shape"] = list(self.shape)
        return {f"config_{k}": (int(v) if isinstance(v, bool) else v) for k, v in out.items()}

    def with_(self, **changes) -> RosslerConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)


def model_for(config: RosslerConfig) -> BoltzmannMachine:
    """The paper's periodic RBM, or its open-boundary variant (:func:`open_rossler_rbm`)."""
    return rossler_rbm(config.shape) if config.periodic else open_rossler_rbm(config.shape)


def open_rossler_rbm(shape: tuple[int, int, int] = (10, 10, 10)) -> BoltzmannMachine:
    """The Rössler RBM without wrap: hidden ``(L−1)³`` units, each on a 2×2×2 visible cube.

    Matches the walls of the simulations; visible units on faces, edges and corners have 4, 2
    and 1 hidden neighbours instead of 8.  Same θ names as :func:`~dbdlab.models.rossler_rbm`.
    """
    return BoltzmannMachine(
        [Layer(shape, SPECIES), Layer(tuple(n - 1 for n in shape), ("X1", "Y1", "Z1"))],
        [("A", "X1"), ("B", "Y1"), ("C", "Z1")], periodic=False)


def reference_start_probabilities(n_species: int = 3) -> np.ndarray:
    """State probabilities (empty, species 1 … M) of the authors' random start.

    The authors' library draws one uniform "probability" per species without normalising and
    walks the species subtracting them from one uniform ``r`` (reproduction notes,
    ``(repro-rossler-config)=``): species ``k`` is chosen if ``S_{k−1} ≤ r < S_k`` with ``S_k``
    the sum of ``k`` uniforms, so ``P(k) = E[min(S_k, 1)] − E[min(S_{k−1}, 1)]``
    ``= 1/k! − 1/(k+1)!`` and ``P(empty) = 1/(M+1)!``: (1/24, 1/2, 1/3, 1/8) for three species.
    """
    if int(n_species) != n_species or n_species < 1:
        raise ValueError(f"n_species must be a positive integer, got {n_species!r}")
    species = [1 / math.factorial(k) - 1 / math.factorial(k + 1)
               for k in range(1, n_species + 1)]
    return np.array([1 / math.factorial(n_species + 1)] + species)


def initial_theta(model: BoltzmannMachine, visible_density: float = 0.2,
                  hidden_density: float = 0.1) -> np.ndarray:
    """θ(0): zero weights and the MaxEnt biases of eq. 46 for the given densities per species.

    Defaults: 200 of each visible species on 1000 sites (``h = −ln 2``) and ≈ 100 of each hidden
    species (``b = ln(1/7)``) — the authors' values (−0.69, −1.95).
    """
    out = {}
    for layer, density, prefix in ((model.layers[0], visible_density, "h"),
                                   (model.layers[1], hidden_density, "b")):
        biases = zero_weight_biases({s: density * layer.n_units for s in layer.species},
                                    layer.n_units)
        out.update({f"{prefix}{s}": v for s, v in biases.items()})
    return model.theta_from_dict(out, default=0.0)


def zero_weight_theta(model: BoltzmannMachine, mean_counts: np.ndarray,
                      hidden_bias: float = math.log(1 / 7)) -> np.ndarray:
    """The zero-weight MaxEnt trajectory of paper A Fig. 6(b): eq. 46 inverted at every time.

    ``mean_counts`` has shape ``(n_times, 3)`` (A, B, C); returns θ ``(n_times, n_theta)`` with
    the visible biases that reproduce the counts, zero weights and the hidden bias fixed.
    """
    counts = np.asarray(mean_counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != len(SPECIES):
        raise ValueError(f"mean_counts must have shape (n_times, 3), got {counts.shape}")
    n_v = model.layers[0].n_units
    out = np.zeros((counts.shape[0], model.n_theta))
    for t, row in enumerate(counts):
        h = zero_weight_biases(dict(zip(SPECIES, row, strict=True)), n_v)
        for s, value in h.items():
            out[t, model.theta_names.index(f"h{s}")] = value
    for s in model.layers[1].species:
        out[:, model.theta_names.index(f"b{s}")] = hidden_bias
    return out


def _n_bonds(shape: Sequence[int]) -> int:
    """Nearest-neighbour bonds of a box with walls (+x, +y, +z directions)."""
    total = 0
    for axis in range(len(shape)):
        total += int(np.prod([n - (k == axis) for k, n in enumerate(shape)]))
    return total


def zero_weight_moments(mean_counts: np.ndarray, shape: Sequence[int]) -> dict[str, np.ndarray]:
    """Expected counts and NN pair counts of the zero-weight MaxEnt model (the baseline).

    With zero weights the sites are independent with densities ``ρ_α = μ_α / N`` (eq. 46), so
    the expected number of α–α bonds is ``n_b ρ_α²`` and of unordered α–β bonds ``2 n_b ρ_α ρ_β``
    (``n_b`` = NN bonds of the box with walls).  Returns ``counts (n_times, 3)`` and
    ``nn (n_times, 6)`` in the pair order AA, AB, AC, BB, BC, CC.
    """
    counts = np.asarray(mean_counts, dtype=float)
    n_sites = int(np.prod(shape))
    rho = counts / n_sites
    n_b = _n_bonds(shape)
    pairs = []
    for a in range(len(SPECIES)):
        for b in range(a, len(SPECIES)):
            factor = 1.0 if a == b else 2.0
            pairs.append(factor * n_b * rho[:, a] * rho[:, b])
    return {"counts": counts.copy(), "nn": np.stack(pairs, axis=-1)}


def pair_labels() -> list[str]:
    """``["A_A", "A_B", …, "C_C"]``, the order of the ``nn`` moments."""
    return [f"{a}_{b}" for i, a in enumerate(SPECIES) for b in SPECIES[i:]]


def make_dynamics(config: RosslerConfig, model: BoltzmannMachine | None = None) -> Dynamics:
    """All nine parameters learned on the domain (hA, hB, hC) (eq. 45)."""
    model = model or model_for(config)
    return Dynamics(tuple(model.theta_names), DOMAIN, (config.cell_size,) * 3, config.dt,
                    substeps=config.substeps, reference_scaling=True)


def new_fields(dynamics: Dynamics, theta0: np.ndarray) -> dict[str, HermiteField]:
    """Zero right-hand sides on a grid that puts θ(0) at a cell centre."""
    x0 = np.asarray(theta0, dtype=float)[dynamics.domain_index]
    return dynamics.new_fields(x0 - 0.5 * np.asarray(dynamics.cell_sizes))


def learning_rates(config: RosslerConfig, dynamics: Dynamics) -> dict[str, float]:
    """0.8 for visible and hidden biases, 0.05 for weights (paper A §IV.B)."""
    return {n: (config.lr_weight if n.startswith("w") else config.lr_bias)
            for n in dynamics.learned}


class RosslerEstimator:
    """Wake/sleep moments of paper A's Rössler training (Algorithm 1, lines 9–12).

    For every timepoint of the window: awake = the moments ``M(v, p(h|v))`` of ``batch`` data
    lattices (the same lattices at every timepoint of a step, drawn without replacement by a
    generator seeded with ``(seed, step, 0)``); asleep = ``batch`` chains from a random start
    (:func:`reference_start_probabilities` or uniform), ``sleep_sweeps`` visible
    reconstructions (hidden given visible, then visible given hidden, binary), then the moments
    ``M(v, p(h|v))`` of the last visible state.  The chains' streams are keyed by
    ``(seed, chain id)`` with ids ``step · n_chains + chain``, so a resumed run
    repeats an uninterrupted one exactly.

    Parameters
    ----------
    model
        The RBM.
    lattices
        Visible data, integer codes ``(n_runs, n_timepoints, N)``.
    batch, sleep_sweeps, sleep_start, seed
        As in :class:`RosslerConfig`.
    backend
        Sampler backend (``None``: the default; ``"numba"``, ``"numpy"``, ``"cupy"``).
    fast
        Moments by the pattern-histogram kernel (:func:`~dbdlab.sampling.rbm_moments.rbm_moments`)
        rather than the NumPy reference path.
    """

    def __init__(self, model: BoltzmannMachine, lattices: np.ndarray, batch: int = 5,
                 sleep_sweeps: int = 10, sleep_start: str = "reference", seed: int = 0,
                 backend: str | None = None, fast: bool = True) -> None:
        lattices = np.asarray(lattices)
        n_visible = model.layers[0].n_units
        if lattices.ndim != 3 or lattices.shape[2] != n_visible or lattices.dtype.kind not in "iu":
            raise ValueError(f"lattices must be integer codes of shape (n_runs, n_timepoints, "
                             f"{n_visible}), got {lattices.shape} {lattices.dtype}")
        if int(batch) != batch or not 1 <= batch <= lattices.shape[0]:
            raise ValueError(f"batch must be an integer in 1…{lattices.shape[0]}, got {batch!r}")
        if int(sleep_sweeps) != sleep_sweeps or sleep_sweeps < 1:
            raise ValueError(f"sleep_sweeps must be a positive integer, got {sleep_sweeps!r}")
        if sleep_start not in ("reference", "uniform"):
            raise ValueError(f"sleep_start must be 'reference' or 'uniform', got {sleep_start!r}")
        self.model = model
        self.lattices = lattices.astype(np.int8, copy=False)
        self.batch, self.sleep_sweeps = int(batch), int(sleep_sweeps)
        self.sleep_start, self.seed, self.backend, self.fast = sleep_start, int(seed), backend, fast

    def start_probabilities(self) -> list[np.ndarray | None]:
        """Initial state probabilities per layer for :func:`~dbdlab.sampling.random_chains`."""
        if self.sleep_start == "uniform":
            return [None, None]
        return [reference_start_probabilities(self.model.layers[0].n_species), None]

    def mean_moments(self, theta: np.ndarray, visible: np.ndarray,
                     probabilities: np.ndarray | None = None) -> np.ndarray:
        """``M(v, p(h|v))`` averaged over the ``batch`` chains of each θ.

        ``theta`` ``(n, n_theta)``; ``visible`` ``(n · batch, N)``, chain ``t·batch + b`` at θ(t);
        ``probabilities``: :func:`~dbdlab.sampling.rbm_moments.pattern_probabilities` of θ, if
        already known (fast path only).
        """
        from ..sampling.rbm_moments import (
            moments_from_histograms,
            pattern_histograms,
            rbm_moments_reference,
            visible_counts,
        )

        n = len(theta)
        if not self.fast:
            per_chain = np.repeat(theta, len(visible) // n, axis=0)
            moments = rbm_moments_reference(self.model, per_chain, visible)
            return moments.reshape(n, -1, self.model.n_theta).mean(axis=1)
        # the moments are linear in the pattern histogram: average it over the batch first
        hist = pattern_histograms(self.model, visible)
        hist = hist.reshape(n, -1, hist.shape[1]).mean(axis=1)
        counts = visible_counts(self.model, visible)
        counts = counts.reshape(n, -1, counts.shape[1]).mean(axis=1)
        return moments_from_histograms(self.model, theta, hist, counts, probabilities)

    def sleep(self, theta: np.ndarray, n_chains: int, first_id: int) -> np.ndarray:
        """Visible states after the sleep phase, ``n_chains`` chains per row of θ.

        Chain ``t·n_chains + b`` runs at θ(t) with chain id ``first_id + t·n_chains + b``, all
        in one sampler call with per-chain parameters (measured cheaper than one call per θ).
        """
        from ..backend import to_numpy
        from ..sampling import gibbs_sweeps, random_chains

        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        # one θ: shared parameters (one probability table) rather than one row per chain
        per_chain = theta[0] if len(theta) == 1 else np.repeat(theta, n_chains, axis=0)
        n_total = len(theta) * n_chains
        ids = first_id + np.arange(n_total)
        chains = random_chains(self.model, n_total, self.seed, chain_ids=ids,
                               probabilities=self.start_probabilities(), backend=self.backend)
        gibbs_sweeps(self.model, per_chain, chains, self.sleep_sweeps)
        return np.asarray(to_numpy(chains.layers[0]))

    def __call__(self, theta: np.ndarray, timepoints: np.ndarray, ic: int,
                 step: int) -> tuple[np.ndarray, np.ndarray]:
        from ..sampling.rbm_moments import pattern_probabilities

        if ic != 0:
            raise ValueError(f"the Rössler experiment has one initial condition; got ic={ic}")
        rng = np.random.default_rng([self.seed, int(step), int(ic)])
        rows = np.sort(rng.choice(self.lattices.shape[0], self.batch, replace=False))
        timepoints = np.asarray(timepoints)
        n_w = len(timepoints)
        # chain t·batch + b: data lattice rows[b] at timepoint timepoints[t], parameters θ(t)
        data = self.lattices[rows[None, :], timepoints[:, None]].reshape(n_w * self.batch, -1)
        theta = np.asarray(theta, dtype=float)
        # p(h|pattern) of the window's θ: shared by the wake and the sleep moments
        p = pattern_probabilities(self.model, theta) if self.fast else None
        awake = self.mean_moments(theta, data, p)
        sleep = self.sleep(theta, self.batch, int(step) * n_w * self.batch)
        return awake, self.mean_moments(theta, sleep, p)


def train_rossler(config: RosslerConfig, lattices: np.ndarray, *,
                  theta0: np.ndarray | None = None, checkpoint: str | Path | None = None,
                  checkpoint_every: int = 0, backend: str | None = None,
                  progress: bool | None = None) -> TrainingResult:
    """Learn the nine right-hand sides from ``lattices`` ``(n_runs, n_timepoints, N)``.

    Returns the fields and the history of :func:`dbdlab.learn.train` (with the configuration in
    the history's attributes).  ``checkpoint`` makes a killed run resumable bit-identically.
    """
    model = model_for(config)
    lattices = np.asarray(lattices)
    if lattices.ndim != 3 or lattices.shape[1] < config.window + 1:
        raise ValueError(f"lattices must have shape (n_runs, n_timepoints ≥ {config.window + 1},"
                         f" N), got {lattices.shape}")
    dynamics = make_dynamics(config, model)
    theta0 = initial_theta(model) if theta0 is None else model.check_theta(theta0)
    fields = new_fields(dynamics, theta0)
    estimator = RosslerEstimator(model, lattices, config.batch, config.sleep_sweeps,
                                 config.sleep_start, config.seed, backend)
    n_tp = min(config.n_timepoints, lattices.shape[1])
    result = train(dynamics, fields, theta0[None, :], estimator, steps=config.steps,
                   window=WindowSchedule(config.window, config.shift_every), n_timepoints=n_tp,
                   optimizer=FieldOptimizer(config.optimizer, learning_rates(config, dynamics)),
                   adjoint=config.adjoint,
                   reference_bug_field=BUG_FIELD if config.reference_bug else None,
                   checkpoint=checkpoint, checkpoint_every=checkpoint_every, progress=progress,
                   integrator=IncrementalIntegrator())
    result.history.attrs.update(config.to_attrs())
    return result


def learned_trajectory(config: RosslerConfig, fields: Mapping[str, HermiteField],
                       n_timepoints: int, theta0: np.ndarray | None = None) -> np.ndarray:
    """θ(t) at the timepoints ``0 … n_timepoints − 1`` by forward Euler with substeps."""
    model = model_for(config)
    theta0 = initial_theta(model) if theta0 is None else theta0
    return integrate(make_dynamics(config, model), fields, theta0, n_timepoints).timepoints


def sample_states(model: BoltzmannMachine, thetas: np.ndarray, n_samples: int, sweeps: int,
                  seed: int, *, start: str = "reference", backend: str | None = None,
                  hidden: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Test samples (paper A Fig. 8): random start, ``sweeps`` visible reconstructions.

    One sampler call per θ (the chains of a θ share its probability tables); sample ``s`` of
    θ number ``t`` (in C order of the leading shape) uses chain id ``t · n_samples + s``.
    ``thetas`` has any leading shape; returns visible codes ``(*lead, n_samples, N)`` and, with
    ``hidden``, also ``p(h|v)`` of the final visible states ``(*lead, n_samples, N_h, 3)``.
    """
    from ..sampling import hidden_probabilities

    thetas = np.asarray(thetas, dtype=float)
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    flat = thetas.reshape(-1, thetas.shape[-1])
    dummy = np.zeros((1, 1, model.layers[0].n_units), dtype=np.int8)
    sampler = RosslerEstimator(model, dummy, 1, sweeps, start, seed, backend)
    visible = np.concatenate([sampler.sleep(row[None, :], int(n_samples), t * int(n_samples))
                              for t, row in enumerate(flat)])
    flat = np.repeat(flat, int(n_samples), axis=0)
    lead = thetas.shape[:-1] + (int(n_samples),)
    out_v = visible.reshape(*lead, -1)
    if not hidden:
        return out_v
    p = np.asarray(hidden_probabilities(model, flat, visible))
    return out_v, p.reshape(*lead, *p.shape[1:])


def visible_moments(codes: np.ndarray, shape: Sequence[int]) -> dict[str, np.ndarray]:
    """Counts ``(…, 3)`` and NN pair counts ``(…, 6)`` of visible codes ``(…, N)``.

    NN pairs as in the data (walls, +x/+y/+z, unordered;
    :func:`dbdlab.simulate.observables.lattice_moments`).
    """
    from ..simulate.observables import lattice_moments

    codes = np.asarray(codes)
    lead = codes.shape[:-1]
    lat = codes.reshape(-1, *shape)
    ds = lattice_moments(lat, list(SPECIES), ndim=len(shape), periodic=False, dims=("sample",))
    return {"counts": ds["counts"].values.reshape(*lead, len(SPECIES)),
            "nn": ds["nn"].sel(pair=pair_labels()).values.reshape(*lead, len(pair_labels()))}


def rmse(model_values: np.ndarray, data_values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Root mean square over the masked timepoints (axis 0) of model − data, per column."""
    diff = np.asarray(model_values)[mask] - np.asarray(data_values)[mask]
    return np.sqrt(np.mean(diff**2, axis=0))

