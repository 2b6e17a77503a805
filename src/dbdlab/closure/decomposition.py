"""The moment closure of a dynamic Boltzmann distribution, term by term (paper B eq. 14).

For a Boltzmann distribution ``p(s) ∝ exp(Σ_θ θ Y_θ(s))`` whose parameters follow
``dθ/dt = F_θ`` (paper B eq. 12), any observable ``X`` evolves as (paper B eq. 14)::

    d⟨X⟩/dt = Σ_θ F_θ(t) · Cov(X, Y_θ)(t),

with ``Y_θ`` the (uncentered) moment of ``θ``: ``Σ_i s_iα`` for a bias, ``Σ_⟨ij⟩ s_iα s_jβ``
for a weight.  Each product ``F_θ · Cov(X, Y_θ)`` is a *channel*; Fig. 3 of paper B shows the
bias channels, the weight channels, and their sum against the derivative of the simulated
moment.

This module provides the pieces:

* observables as functions of the layer states (:class:`Observable`; :func:`count_observable`,
  :func:`nn_observable`, :func:`nnn_observable`, :func:`lattice_observable` for any function of
  the visible lattice);
* sampling ``X`` and ``Y_θ`` per chain at given parameters with the original protocol
  (:class:`SamplingProtocol`, :func:`sample_statistics`: random start, 9 block-Gibbs sweeps, a
  final parallel mean-field step; reproduction notes, ``(repro-lv-sampling)=`` and
  ``(repro-closure)=``), or binary samples, whose covariances are the model's;
* population covariances over chains (:func:`covariances`);
* ``F_θ`` from finite differences of low-pass-filtered ``θ(t)`` (the original analysis,
  :func:`finite_difference_rates`) or from the learned finite-element model
  (:func:`learned_rates`);
* the channels, their sum and its agreement with a reference derivative
  (:func:`channel_terms`, :func:`smoothed_derivative`, :func:`agreement`).

Parameters must be the model's *natural* (uncentered) ones — eq. 14 holds for them.  A centered
DBM's parameters are converted by :func:`natural_parameters` (paper B eq. 8) with the centres
at each time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..backend import progress_enabled, to_numpy
from ..models import uncentered_from_centered
from ..models.moments import layer_occupations
from ..simulate.observables import nn_pairs, nnn_pairs
from ._mean_field_kernel import mean_field_statistics
from .filters import DEFAULT_CUTOFF, lowpass

__all__ = [
    "ChainStatistics",
    "Observable",
    "SamplingProtocol",
    "agreement",
    "channel_terms",
    "count_observable",
    "covariances",
    "finite_difference_rates",
    "lattice_observable",
    "learned_rates",
    "natural_parameters",
    "nn_observable",
    "nnn_observable",
    "sample_statistics",
    "smoothed_derivative",
]


# -- observables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observable:
    """A named function of the layer states, evaluated per chain.

    ``function`` receives the occupations of every layer, one float64 array ``(chains, N_l,
    M_l)`` per layer (one-hot for binary samples, probabilities after a mean-field step), and
    returns one value per chain.
    """

    name: str
    function: Callable[[list[np.ndarray]], np.ndarray]

    def __call__(self, occupations: list[np.ndarray]) -> np.ndarray:
        values = np.asarray(self.function(occupations), dtype=float)
        n = occupations[0].shape[0]
        if values.shape != (n,):
            raise ValueError(f"observable {self.name!r} returned shape {values.shape}, expected "
                             f"one value per chain ({n},)")
        return values


def _visible(model, species: str) -> int:
    layer, index = model.species_index(species)
    if layer != 0:
        raise ValueError(f"species {species!r} is in layer {layer}; observables of the lattice "
                         f"use visible species {', '.join(model.layers[0].species)}")
    return index


def _visible_occupancy(model, occupations: list[np.ndarray], index: int) -> np.ndarray:
    s = occupations[0][:, :, index]
    return s.reshape((s.shape[0], *model.layers[0].shape))


def lattice_observable(model, name: str,
                       function: Callable[[np.ndarray], np.ndarray]) -> Observable:
    """Any function of the visible lattice.

    ``function`` receives the visible occupancy ``(chains, *shape, M_0)`` (species in the
    layer's order; probabilities after a mean-field step) and returns one value per chain.
    """
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    shape = model.layers[0].shape

    def evaluate(occupations: list[np.ndarray]) -> np.ndarray:
        s = occupations[0]
        return function(s.reshape((s.shape[0], *shape, s.shape[-1])))

    return Observable(str(name), evaluate)


def count_observable(model, species: str) -> Observable:
    """Number of molecules of a visible species, ``Σ_i s_iα`` (e.g. the prey count)."""
    index = _visible(model, species)
    return Observable(f"count({species})", lambda occ: occ[0][:, :, index].sum(axis=1))


def _boundary(model) -> bool:
    return bool(model.connections[0].periodic) if model.connections else True


def nn_observable(model, a: str, b: str, *, periodic: bool | None = None) -> Observable:
    """Unordered nearest-neighbour pairs ``NN(a, b)`` of the visible lattice.

    ``periodic`` defaults to the model's connectivity (periodic for paper B's DBM).
    """
    ia, ib = _visible(model, a), _visible(model, b)
    per = _boundary(model) if periodic is None else bool(periodic)
    ndim = len(model.layers[0].shape)

    def evaluate(occ):
        sa = _visible_occupancy(model, occ, ia)
        sb = sa if ia == ib else _visible_occupancy(model, occ, ib)
        return nn_pairs(sa, sb, ndim, periodic=per, same_species=ia == ib)

    return Observable(f"NN({a},{b})", evaluate)


def nnn_observable(model, a: str, b: str, *, periodic: bool | None = None,
                   kind: str = "reference") -> Observable:
    """Unordered Manhattan-distance-two pairs ``NNN(a, b)`` of the visible lattice.

    ``kind="reference"`` uses the authors' three 2D directions (reproduction notes,
    ``(repro-moments)=``), ``"full"`` all four.
    """
    ia, ib = _visible(model, a), _visible(model, b)
    per = _boundary(model) if periodic is None else bool(periodic)
    ndim = len(model.layers[0].shape)

    def evaluate(occ):
        sa = _visible_occupancy(model, occ, ia)
        sb = sa if ia == ib else _visible_occupancy(model, occ, ib)
        return nnn_pairs(sa, sb, ndim, periodic=per, kind=kind, same_species=ia == ib)

    return Observable(f"NNN({a},{b})", evaluate)


# -- sampling ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplingProtocol:
    """How the chains at one timepoint are produced (paper B Fig. 3; reproduction notes).

    Parameters
    ----------
    n_chains
        Chains per timepoint (the original: 100).
    sweeps
        Block-Gibbs sweeps (odd layers, then even layers) from a random binary start (the
        original: 9).
    final
        ``"mean_field"``: then one *parallel* mean-field step of every layer, so that the
        statistics are computed from probabilities (the original); ``"binary"``: keep the
        binary samples (unbiased covariances of the model distribution once equilibrated).
    seed
        Seed of the chains' random streams; timepoint ``k``'s chain ``c`` has chain id
        ``k·n_chains + c``, so results do not depend on batching.
    batch
        Timepoints sampled per sampler call (memory ∝ ``batch · n_chains``).
    backend
        Sampler backend (``None``: ``DBDLAB_BACKEND`` or automatic).
    """

    n_chains: int = 100
    sweeps: int = 9
    final: str = "mean_field"
    seed: int = 0
    batch: int = 10
    backend: str | None = None

    def __post_init__(self) -> None:
        for name in ("n_chains", "sweeps", "seed", "batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
        if self.n_chains < 2:
            raise ValueError(f"n_chains must be ≥ 2 for a covariance, got {self.n_chains}")
        if self.sweeps < 0 or self.seed < 0 or self.batch < 1:
            raise ValueError("sweeps and seed must be ≥ 0 and batch ≥ 1")
        if self.final not in ("mean_field", "binary"):
            raise ValueError(f"final must be 'mean_field' or 'binary', got {self.final!r}")


@dataclass(frozen=True)
class ChainStatistics:
    """Per-chain observables and parameter moments at each timepoint.

    Attributes
    ----------
    observables
        Observable names.
    theta_names
        Parameter names.
    x
        Observable values, ``(T, chains, n_observables)``.
    y
        Uncentered parameter moments ``Y_θ``, ``(T, chains, n_theta)``.
    """

    observables: tuple[str, ...]
    theta_names: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray

    def mean(self) -> np.ndarray:
        """Chain means of the observables, ``(T, n_observables)``."""
        return self.x.mean(axis=1)

    def covariance(self) -> np.ndarray:
        """``Cov(X, Y_θ)`` over chains, ``(T, n_observables, n_theta)`` (:func:`covariances`)."""
        return covariances(self.x, self.y)


def natural_parameters(model, theta: np.ndarray, centers: np.ndarray | None = None) -> np.ndarray:
    """Uncentered parameters of θ(t), for eq. 14 and for the samplers.

    Parameters
    ----------
    theta
        ``(T, n_theta)`` (or one vector); centered parameters when ``centers`` is given.
    centers
        ``None`` when θ is already uncentered; else the centres ``μ(t)`` ``(T, n_species)`` (or
        one vector), species in ``model.species_names`` order (paper B eq. 8).
    """
    theta = np.asarray(model.check_theta(theta), dtype=float)
    if centers is None:
        return theta.copy()
    mu = np.asarray(centers, dtype=float)
    if mu.ndim == 1:
        return uncentered_from_centered(model, theta, mu)
    if theta.ndim != 2 or mu.shape != (theta.shape[0], len(model.species_names)):
        raise ValueError(f"centers must have shape ({len(theta)}, {len(model.species_names)}) "
                         f"to match theta {theta.shape}, got {mu.shape}")
    return np.stack([uncentered_from_centered(model, t, m) for t, m in zip(theta, mu,
                                                                              strict=True)])


def sample_statistics(model, thetas: np.ndarray, observables: Sequence[Observable],
                      protocol: SamplingProtocol = SamplingProtocol(), *,
                      progress: bool | None = None) -> ChainStatistics:
    """Sample the model at each θ(t) and record ``X`` and ``Y_θ`` per chain.

    Parameters
    ----------
    model
        A :class:`~dbdlab.models.BoltzmannMachine`.
    thetas
        Natural (uncentered) parameters, ``(T, n_theta)``.
    observables
        The observables ``X``.
    protocol
        The sampling protocol.
    """
    from ..sampling import gibbs_sweeps, mean_field_steps, random_chains

    thetas = np.asarray(model.check_theta(thetas), dtype=float)
    if thetas.ndim != 2:
        raise ValueError(f"thetas must have shape (T, {model.n_theta}), got {thetas.shape}")
    if not np.all(np.isfinite(thetas)):
        raise ValueError("thetas must be finite")
    observables = tuple(observables)
    if not observables or not all(isinstance(o, Observable) for o in observables):
        raise TypeError("observables must be a non-empty sequence of Observable")
    if not isinstance(protocol, SamplingProtocol):
        raise TypeError(f"protocol must be a SamplingProtocol, got {type(protocol).__name__}")
    n_t, n_c = thetas.shape[0], protocol.n_chains
    x = np.empty((n_t, n_c, len(observables)))
    y = np.empty((n_t, n_c, model.n_theta))
    starts = range(0, n_t, protocol.batch)
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="eq. 14 sampling", unit="batch")
    for start in starts:
        stop = min(start + protocol.batch, n_t)
        per_chain = np.repeat(thetas[start:stop], n_c, axis=0)
        ids = np.arange(start * n_c, stop * n_c, dtype=np.int64)
        chains = random_chains(model, len(ids), protocol.seed, chain_ids=ids,
                               backend=protocol.backend)
        gibbs_sweeps(model, per_chain, chains, protocol.sweeps)
        shape = (stop - start, n_c)
        if protocol.final == "mean_field" and chains.backend == "numba" and all(
                chains.is_binary(l) for l in range(chains.n_layers)):
            # Numba kernel: the same parallel step and moments as the NumPy path below
            layers, moments = mean_field_statistics(
                model, per_chain, [np.asarray(s) for s in chains.layers])
        else:
            if protocol.final == "mean_field":
                mean_field_steps(model, per_chain, chains, 1, parallel=True)
            layers = [np.asarray(to_numpy(s)) for s in chains.layers]
            moments = np.asarray(model.moments(layers))
        occ = layer_occupations(model, layers)
        y[start:stop] = moments.reshape(*shape, -1)
        for k, obs in enumerate(observables):
            x[start:stop, :, k] = obs(occ).reshape(shape)
    return ChainStatistics(tuple(o.name for o in observables), tuple(model.theta_names), x, y)


def covariances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Population covariances over chains, ``mean_c(X Y) − mean_c(X) mean_c(Y)``.

    Parameters
    ----------
    x
        ``(T, chains, n_observables)``.
    y
        ``(T, chains, n_theta)``.

    Returns
    -------
    numpy.ndarray
        ``(T, n_observables, n_theta)``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 3 or y.ndim != 3 or x.shape[:2] != y.shape[:2]:
        raise ValueError(f"x and y must be (T, chains, ·) with equal T and chains, got "
                         f"{x.shape} and {y.shape}")
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    return np.einsum("tco,tcp->top", xc, yc) / x.shape[1]


# -- F_θ ---------------------------------------------------------------------------------------


def finite_difference_rates(theta: np.ndarray, dt: float, *, cutoff: float | None = DEFAULT_CUTOFF,
                            kernel_length: int | None = None) -> np.ndarray:
    """``F_θ(k) = (θ_LP(k+1) − θ_LP(k)) / Δt``, the original analysis' rates, ``(T − 1, P)``.

    ``cutoff=None`` differences the unfiltered θ(t).
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2 or theta.shape[0] < 2:
        raise ValueError(f"theta must have shape (T ≥ 2, n_theta), got {theta.shape}")
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    smooth = theta if cutoff is None else lowpass(theta, cutoff, kernel_length, axis=0)
    return np.diff(smooth, axis=0) / dt


def learned_rates(dynamics, fields: Mapping, theta: np.ndarray) -> np.ndarray:
    """``F_θ(θ(t))`` of the learned finite-element model (paper B eqs. 12–13), ``(T, P)``.

    Parameters without a learned right-hand side get ``F = 0``.  ``theta`` is in the dynamics'
    own parameterisation (the one the fields were learned for).
    """
    dynamics.check_fields(fields)
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2 or theta.shape[1] != len(dynamics.names):
        raise ValueError(f"theta must have shape (T, {len(dynamics.names)}), got {theta.shape}")
    x = theta[:, dynamics.domain_index]
    out = np.zeros_like(theta)
    for index, name in zip(dynamics.learned_index, dynamics.learned, strict=True):
        out[:, index] = fields[name].value(x)
    return out


# -- channels and their agreement --------------------------------------------------------------


def channel_terms(rates: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Channels ``F_θ(t) · Cov(X, Y_θ)(t)``, ``(T, n_observables, n_theta)``.

    ``rates`` is ``(T, n_theta)``; ``covariance`` ``(T, n_observables, n_theta)``.  Their sum over
    the last axis is the eq. 14 prediction of ``d⟨X⟩/dt``.
    """
    rates = np.asarray(rates, dtype=float)
    covariance = np.asarray(covariance, dtype=float)
    if covariance.ndim != 3 or rates.shape != (covariance.shape[0], covariance.shape[2]):
        raise ValueError(f"rates {rates.shape} and covariance {covariance.shape} must be "
                         f"(T, n_theta) and (T, n_observables, n_theta)")
    return rates[:, None, :] * covariance


def smoothed_derivative(series: np.ndarray, dt: float, *, cutoff: float | None = DEFAULT_CUTOFF,
                        kernel_length: int | None = None) -> np.ndarray:
    """Forward difference of the low-pass-filtered series along axis 0, ``(T − 1, ...)``."""
    series = np.asarray(series, dtype=float)
    if series.ndim < 1 or series.shape[0] < 2:
        raise ValueError("series needs at least two timepoints along axis 0")
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    smooth = series if cutoff is None else lowpass(series, cutoff, kernel_length, axis=0)
    return np.diff(smooth, axis=0) / dt


def agreement(predicted: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Pearson correlation and RMSE of the eq. 14 sum against a reference derivative."""
    p = np.asarray(predicted, dtype=float).reshape(-1)
    r = np.asarray(reference, dtype=float).reshape(-1)
    if p.shape != r.shape or p.size < 3:
        raise ValueError(f"predicted and reference must have the same ≥ 3 values, got {p.shape} "
                         f"and {r.shape}")
    ok = np.isfinite(p) & np.isfinite(r)
    varying = ok.sum() > 2 and np.ptp(p[ok]) > 0 and np.ptp(r[ok]) > 0
    corr = float(np.corrcoef(p[ok], r[ok])[0, 1]) if varying else float("nan")
    return {"correlation": corr, "rmse": float(np.sqrt(np.mean((p[ok] - r[ok]) ** 2))),
            "reference_rms": float(np.sqrt(np.mean(r[ok] ** 2)))}
