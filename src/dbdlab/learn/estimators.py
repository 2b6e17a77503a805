"""Wake/sleep moment estimators for the learning loop (Algorithm 1, lines 9–12).

An estimator is called as ``estimator(theta, timepoints, ic, step)`` with the parameters at the
window's timepoints ``(n_w, n_theta)`` and returns the data ("awake") and model ("asleep")
moments ``(n_w, n_theta)``, totals over units averaged over chains.  The trainer never looks
inside, so a different experiment (CD from data or from a random start, hidden probabilities or
binary samples, centered moments) is a different estimator, not a different trainer.

Randomness is keyed by ``(seed, step, ic)``: the batch of data lattices (the same for every
timepoint of a step, reproduction notes: repro-learning-step; counter-based stream
``stream_key(seed, Purpose.TRAIN_BATCH, step, ic)``) and the chains' streams, so a resumed run
repeats an uninterrupted one exactly.

:func:`wake_layers` is the data ("awake") phase shared with static learning
(:func:`dbdlab.learn.static.fit_boltzmann`); :func:`wake_moments` and :func:`cd_moments` are the
moments of the two phases, which for an RBM on the Numba backend skip the hidden layers' arrays
(:func:`~dbdlab.sampling.rbm_moments.rbm_moments_numba`, bit-identical to the layered path).
"""

from __future__ import annotations

import numpy as np

from ..rng import Purpose, sample_without_replacement, stream_key

__all__ = ["LatticeCDEstimator", "ExactEstimator", "cd_moments", "wake_layers", "wake_moments"]


def wake_layers(model, theta: np.ndarray, visible: np.ndarray, seed: int, chain_ids: np.ndarray,
                k: int, backend: str | None) -> list:
    """Data ("awake") phase: the visible layer clamped to ``visible``, one chain per lattice.

    Hidden layers: none for a one-layer model; ``p(h|v)`` for an RBM, where it factorises (paper
    A's wake phase); for deeper models ``k`` sweeps of the hidden layers with the data clamped,
    then one mean-field step of the hidden layers (their probabilities).

    Parameters
    ----------
    model, theta
        The model and its parameters, ``(n_theta,)`` or one row per chain.
    visible
        Data lattices, one per chain.
    seed, chain_ids, k, backend
        Streams of the deep models' chains, sweeps, array backend.
    """
    from ..sampling import (
        data_chains,
        default_order,
        gibbs_sweeps,
        hidden_probabilities,
        mean_field_steps,
    )

    if model.n_layers == 1:
        return [visible]
    if model.n_layers == 2:
        return [visible, hidden_probabilities(model, theta, visible)]
    chains = data_chains(model, visible, seed, clamp=True, chain_ids=chain_ids, backend=backend)
    gibbs_sweeps(model, theta, chains, k)
    hidden_only = (True,) + (False,) * (model.n_layers - 1)
    mean_field_steps(model, theta, chains, 1, order=default_order(model, hidden_only))
    return chains.layers


def _kernel_moments(model, theta: np.ndarray, backend: str | None):
    """The Numba moment kernel of ``model``'s phases, or ``None`` (then the layered path).

    RBMs: :func:`~dbdlab.sampling.rbm_moments.rbm_moments_numba` ``(model, θ, visible)``; the
    fully visible chain: :func:`~dbdlab.sampling.fully_visible.fully_visible_moments_numba`.
    Both are bit-identical to ``model.moments`` of the layered phases.
    """
    from ..backend import resolve_backend
    from ..models import FullyVisible1DModel
    from ..sampling.rbm_moments import kernel_applies

    if resolve_backend(backend) != "numba":
        return None
    if isinstance(model, FullyVisible1DModel):
        from ..sampling.fully_visible import fully_visible_moments_numba

        return lambda model, theta, visible: fully_visible_moments_numba(model, visible)
    rows = np.shape(theta)[0] if np.ndim(theta) == 2 else 1
    if kernel_applies(model, rows):
        from ..sampling.rbm_moments import rbm_moments_numba

        return rbm_moments_numba
    return None


def wake_moments(model, theta: np.ndarray, visible: np.ndarray, seed: int,
                 chain_ids: np.ndarray, k: int, backend: str | None) -> np.ndarray:
    """Moments of the data phase per chain, ``model.moments(wake_layers(…))`` on the host.

    Parameters as in :func:`wake_layers`.  On the Numba backend an RBM's moments
    ``M(v, p(h|v))`` come from :func:`~dbdlab.sampling.rbm_moments.rbm_moments_numba`
    (bit-identical, no hidden array), the fully visible chain's from
    :func:`~dbdlab.sampling.fully_visible.fully_visible_moments_numba`.

    Returns
    -------
    ``(n_chains, n_theta)`` float64 NumPy array.
    """
    from ..backend import to_numpy

    kernel = _kernel_moments(model, theta, backend)
    if kernel is not None:
        return kernel(model, theta, visible)
    layers = wake_layers(model, theta, visible, seed, chain_ids, k, backend)
    return np.asarray(to_numpy(model.moments(layers)))


def cd_moments(model, theta: np.ndarray, k: int, seed: int, *, visible: np.ndarray | None = None,
               n_chains: int | None = None, chain_ids: np.ndarray | None = None,
               backend: str | None = None) -> np.ndarray:
    """Moments of CD-k chains per chain, ``model.moments(cd_k(…).layers)`` on the host.

    Arguments as in :func:`~dbdlab.sampling.cd_k` (final hidden layers as probabilities).  On
    the Numba backend an RBM's chains keep binary hidden layers and the moments
    ``M(v_k, p(h|v_k))`` come from :func:`~dbdlab.sampling.rbm_moments.rbm_moments_numba`
    (bit-identical: the same visible samples, the same probabilities and sums); the fully
    visible chain's from :func:`~dbdlab.sampling.fully_visible.fully_visible_moments_numba`.

    Returns
    -------
    ``(n_chains, n_theta)`` float64 NumPy array.
    """
    from ..backend import to_numpy
    from ..sampling import cd_k

    kernel = _kernel_moments(model, theta, backend)
    if kernel is not None:
        chains = cd_k(model, theta, k, seed, visible=visible, n_chains=n_chains,
                      final="binary", chain_ids=chain_ids, backend=backend)
        return kernel(model, theta, chains.layers[0])
    chains = cd_k(model, theta, k, seed, visible=visible, n_chains=n_chains, chain_ids=chain_ids,
                  backend=backend)
    return np.asarray(to_numpy(model.moments(chains.layers)))


class LatticeCDEstimator:
    """Awake moments from data lattices, asleep moments by CD-k (paper A, annihilation).

    Parameters
    ----------
    model
        A :class:`~dbdlab.models.FullyVisible1DModel` (awake = data moments; asleep = k
        three-class sweeps from the data, binary) or a two-layer
        :class:`~dbdlab.models.BoltzmannMachine` (awake = data with hidden probabilities
        ``p(h|v)``; asleep = CD-k with final hidden probabilities, reproduction notes:
        repro-annihilation-config).
    lattices
        Visible data, int8 ``(n_ic, n_lattices, n_timepoints, N)``.
    batch
        Data lattices (= chains) per step and timepoint, drawn without replacement.
    k
        Gibbs sweeps of the asleep chains.
    cd_start
        ``"data"`` (CD proper) or ``"random"`` (the authors' library from April 2019).
    seed, backend
        Random streams and array backend.
    """

    def __init__(self, model, lattices: np.ndarray, batch: int = 10, k: int = 1,
                 cd_start: str = "data", seed: int = 0, backend: str | None = None) -> None:
        lattices = np.asarray(lattices)
        if lattices.ndim != 4 or lattices.dtype.kind not in "iu":
            raise ValueError("lattices must be integer codes of shape (n_ic, n_lattices, "
                             f"n_timepoints, N), got {lattices.shape} {lattices.dtype}")
        if not 1 <= batch <= lattices.shape[1]:
            raise ValueError(f"batch must be in 1…{lattices.shape[1]}, got {batch}")
        if cd_start not in ("data", "random"):
            raise ValueError(f"cd_start must be 'data' or 'random', got {cd_start!r}")
        self.model = model
        self.lattices = lattices.astype(np.int8, copy=False)
        self.batch, self.k, self.cd_start = int(batch), int(k), cd_start
        self.seed, self.backend = int(seed), backend

    @property
    def n_timepoints(self) -> int:
        return self.lattices.shape[2]

    def __call__(self, theta: np.ndarray, timepoints: np.ndarray, ic: int,
                 step: int) -> tuple[np.ndarray, np.ndarray]:
        rows = sample_without_replacement(
            stream_key(self.seed, Purpose.TRAIN_BATCH, int(step), int(ic)),
            self.lattices.shape[1], self.batch)
        n_w = len(timepoints)
        # all timepoints of the window in one sampler call: chain c·batch + b has θ(t_c)
        lattices = self.lattices[ic]  # (n_lattices, n_timepoints, N); gather (n_w, batch, N)
        data = lattices[rows[None, :], np.asarray(timepoints)[:, None]].reshape(
            n_w * self.batch, -1)
        per_chain = np.repeat(np.asarray(theta, dtype=float), self.batch, axis=0)
        ids = (int(step) * self.lattices.shape[0] + int(ic)) * per_chain.shape[0] + \
            np.arange(per_chain.shape[0])
        awake = wake_moments(self.model, per_chain, data, self.seed, ids, self.k, self.backend)
        start = {"visible": data} if self.cd_start == "data" else {"n_chains": len(per_chain)}
        asleep = cd_moments(self.model, per_chain, self.k, self.seed, chain_ids=ids,
                            backend=self.backend, **start)
        shape = (n_w, self.batch, -1)
        return awake.reshape(shape).mean(axis=1), asleep.reshape(shape).mean(axis=1)


class ExactEstimator:
    """Exact moments by enumeration (tiny models): ``ExactMoments`` per initial condition."""

    def __init__(self, exact_per_ic) -> None:
        self.exact = list(exact_per_ic)

    def __call__(self, theta: np.ndarray, timepoints: np.ndarray, ic: int,
                 step: int) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.exact[ic].moments(th, int(k)) for th, k in zip(theta, timepoints,
                                                                       strict=True)]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def action(self, trajectories, window: tuple[int, int], dt: float) -> float:
        """``S = Σ_ic Σ_{k∈window} Δt D_KL`` for the given θ trajectories (one per IC)."""
        return float(sum(dt * self.exact[i].kl(traj[k], k)
                         for i, traj in enumerate(trajectories)
                         for k in range(window[0], window[1] + 1)))
