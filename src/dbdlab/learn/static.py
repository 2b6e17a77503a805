"""Static Boltzmann-machine learning: a MaxEnt fit of θ to lattice data by moment matching.

:func:`fit_boltzmann` fits the parameters of one Boltzmann distribution (no time dependence) to
data lattices, e.g. the initial conditions of the papers' training sets (notebook 02) or the
per-initial-condition θ(0) of the annihilation experiment (notebook 03).
"""

from __future__ import annotations

import json

import numpy as np

from ..rng import Purpose, child_samples_without_replacement, stream_key
from .estimators import cd_moments, wake_layers, wake_moments

__all__ = ["fit_boltzmann"]

_SLEEP_MODES = ("cd", "pcd")


def fit_boltzmann(model, data: np.ndarray, theta0=None, *, groups: np.ndarray | None = None,
                  steps: int = 1000, batch: int = 10, lr: float | np.ndarray = 1e-5,
                  optimizer: str = "sgd", k: int = 1, sleep: str = "cd",
                  n_sleep_chains: int | None = None, centered: bool = False, r: float = 0.5,
                  average_last: int = 50, fixed: tuple[str, ...] = (), seed: int = 0,
                  backend: str | None = None, progress: bool | None = None):
    """Static Boltzmann-machine learning by moment matching (MaxEnt fit to data).

    Each step draws ``batch`` data lattices per group without replacement (counter-based stream
    ``stream_key(seed, Purpose.BATCH, step, group)``), estimates the data ("awake",
    :func:`~dbdlab.learn.estimators.wake_layers`) and model ("asleep") moments and moves θ along
    the log-likelihood gradient ``M_awake − M_asleep`` (totals over units, reproduction notes:
    repro-maxent-fit); the result is the average of θ over the last ``average_last`` steps, as in
    the authors' code.  With ``groups``, one independent θ is fitted per group of lattices (e.g.
    per initial condition), all groups in the same sampler calls (per-chain parameters).

    Parameters
    ----------
    model
        A :class:`~dbdlab.models.BoltzmannMachine` or
        :class:`~dbdlab.models.FullyVisible1DModel`.
    data
        Visible lattices, int8 codes ``(n_data, N_0)`` or ``(n_data, *shape_0)``.
    theta0
        Initial parameters ``(n_theta,)`` or ``(n_groups, n_theta)`` (default zeros, as the
        authors).
    groups
        Group label of every lattice (default: one group); labels are sorted.
    steps, batch
        Optimisation steps and data lattices (= chains) per group and step.
    lr, optimizer
        Learning rate(s) and ``"sgd"`` (authors: lr 1e-5) or ``"adam"``.
    k
        Gibbs sweeps per step of the asleep chains (CD-k / PCD-k) and of the awake chains of
        deep models.
    sleep
        ``"cd"``: chains start from the batch's data (final hidden layers as probabilities, paper
        A); ``"pcd"``: ``n_sleep_chains`` persistent chains per group from a random start.
    centered
        Use the centered gradient of paper B eq. 9 (weights: centered moment differences; biases
        corrected by ``−Σ q ΔW μ``), with centers slid toward the awake mean activations with
        factor ``r`` (eq. 10).  θ stays uncentered.  The correction uses the nominal ``q``
        (as the authors), which is exact for periodic connectivity; with open borders the fixed
        point moves by border terms (relative size ~ border units / all units).
    fixed
        Names of parameters that are not learned.
    seed, backend, progress
        Random streams, array backend and progress bar.

    Returns
    -------
    xarray.Dataset
        ``theta(step, group, param)``, ``awake(…)``, ``asleep(…)`` and ``theta_fit(group,
        param)`` (average over the last ``average_last`` steps).
    """
    import xarray as xr

    from ..backend import progress_enabled
    from ..models import Model
    from ..models.centering import bias_shift
    from ..models.moments import mean_activations, slide_centers
    from ..sampling import cd_k, gibbs_sweeps, random_chains
    from .optim import make_optimizer

    if not isinstance(model, Model):
        raise TypeError(f"model must be a dbdlab.models.Model (e.g. a BoltzmannMachine or "
                        f"FullyVisible1DModel), got {type(model).__name__}")
    data = np.asarray(data)
    if data.ndim < 2 or data.dtype.kind not in "iu":
        raise ValueError(f"data must be integer lattices (n_data, units…), got shape "
                         f"{data.shape} and dtype {data.dtype}")
    visible = model.layers[0]
    if data[0].size != visible.n_units:
        raise ValueError(f"data: each lattice must have {visible.n_units} units (the visible "
                         f"layer), got shape {data.shape[1:]}")
    if data.size and (data.min() < 0 or data.max() > visible.n_species):
        # checked before the int8 cast, which would wrap e.g. 257 to 1
        raise ValueError(f"data: codes must be in 0…{visible.n_species} (0 empty, k species "
                         f"{visible.species}), got values in {data.min()}…{data.max()}")
    data = data.reshape(data.shape[0], -1).astype(np.int8)
    labels = np.zeros(len(data), dtype=int) if groups is None else np.asarray(groups)
    if labels.shape != (len(data),):
        raise ValueError(f"groups must have one label per lattice ({len(data)}), got shape "
                         f"{labels.shape}")
    group_ids = np.unique(labels)
    members = [np.flatnonzero(labels == g) for g in group_ids]
    n_groups, names = len(group_ids), tuple(model.theta_names)
    theta = np.zeros((n_groups, len(names)))
    if theta0 is not None:
        theta[:] = np.asarray(model.check_theta(theta0), dtype=float)
    for name in fixed:
        if name not in names:
            raise ValueError(f"fixed: unknown parameter {name!r}; parameters are {names}")
    smallest = min(len(m) for m in members)
    if not 1 <= batch <= smallest:
        raise ValueError(f"batch must be in 1…{smallest} (lattices in the smallest group), "
                         f"got {batch}")
    if sleep not in _SLEEP_MODES:
        raise ValueError(f"sleep must be one of {_SLEEP_MODES}, got {sleep!r}")
    if sleep == "pcd" and not n_sleep_chains:
        raise ValueError("sleep='pcd' needs n_sleep_chains")
    if centered and not hasattr(model, "connections"):
        raise ValueError("centered learning needs a layered BoltzmannMachine (a model with "
                         "connections between layers)")
    if not 1 <= average_last <= steps:
        raise ValueError(f"average_last must be in 1…steps ({steps}), got {average_last}")
    opt = make_optimizer(optimizer, lr)
    mask = np.array([name not in fixed for name in names], dtype=float)
    wake_seed, sleep_seed = 2 * int(seed), 2 * int(seed) + 1
    per_chain = np.repeat(np.arange(n_groups), batch)  # group of every awake/CD chain

    sizes = np.array([len(m) for m in members])

    def batch_rows(step: int) -> np.ndarray:
        # group g: sample_without_replacement(stream_key(seed, BATCH, step, g), len(m), batch),
        # all groups in one Numba call
        picks = child_samples_without_replacement(stream_key(int(seed), Purpose.BATCH, step),
                                                  sizes, batch)
        return np.concatenate([m[p] for m, p in zip(members, picks, strict=True)])

    def group_mean(values) -> np.ndarray:
        values = np.asarray(_to_host(values))
        return values.reshape(n_groups, -1, values.shape[-1]).mean(axis=1)

    centers = None
    if centered:
        first = wake_layers(model, theta[per_chain], data[batch_rows(steps)], wake_seed,
                              np.arange(per_chain.size), k, backend)
        centers = group_mean(mean_activations(model, first))
    persistent = None
    if sleep == "pcd":
        persistent = random_chains(model, n_groups * n_sleep_chains, sleep_seed,
                                   backend=backend)
        sleep_group = np.repeat(np.arange(n_groups), n_sleep_chains)

    history = {"theta": [], "awake": [], "asleep": []}
    iterator = range(steps)
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="fit_boltzmann", leave=False)
    for step in iterator:
        rows = batch_rows(step)
        ids = step * per_chain.size + np.arange(per_chain.size)
        if centered:
            awake_layers = wake_layers(model, theta[per_chain], data[rows], wake_seed, ids, k,
                                       backend)
            if persistent is None:
                asleep_layers = cd_k(model, theta[per_chain], k, sleep_seed, visible=data[rows],
                                     chain_ids=ids, backend=backend).layers
            else:
                asleep_layers = gibbs_sweeps(model, theta[sleep_group], persistent, k).layers
            activations = group_mean(mean_activations(model, awake_layers))
            centers = np.stack([np.asarray(slide_centers(centers[g], activations[g], r))
                                for g in range(n_groups)])
            awake = np.stack([group_mean(model.moments(awake_layers, centers[g]))[g]
                              for g in range(n_groups)])
            asleep = np.stack([group_mean(model.moments(asleep_layers, centers[g]))[g]
                               for g in range(n_groups)])
        else:
            # moments straight from the phases (an RBM on Numba skips the hidden arrays)
            awake = group_mean(wake_moments(model, theta[per_chain], data[rows], wake_seed, ids,
                                            k, backend))
            if persistent is None:
                asleep = group_mean(cd_moments(model, theta[per_chain], k, sleep_seed,
                                               visible=data[rows], chain_ids=ids,
                                               backend=backend))
            else:
                asleep = group_mean(model.moments(
                    gibbs_sweeps(model, theta[sleep_group], persistent, k).layers))
        gradient = asleep - awake  # d(−log-likelihood)/dθ
        if centered:
            n_bias = len(model.species_names)
            for g in range(n_groups):
                gradient[g, :n_bias] -= np.asarray(bias_shift(model, gradient[g], centers[g]))
        theta = opt.step(theta, gradient * mask)
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"fit_boltzmann diverged at step {step + 1} of {steps}: θ is no "
                             f"longer finite (lr={lr!r}, optimizer={optimizer!r}); lower lr")
        history["theta"].append(theta.copy())
        history["awake"].append(awake)
        history["asleep"].append(asleep)

    coords = {"step": np.arange(1, steps + 1), "group": group_ids, "param": list(names)}
    ds = xr.Dataset({key: (("step", "group", "param"), np.array(v))
                     for key, v in history.items()}, coords=coords)
    ds["theta_fit"] = ds.theta.isel(step=slice(-average_last, None)).mean("step")
    ds.attrs.update({"optimizer": optimizer, "lr": json.dumps(np.asarray(lr).tolist()),
                     "k": k, "sleep": sleep, "batch": batch, "centered": int(centered),
                     "seed": int(seed), "average_last": average_last})
    return ds


def _to_host(array):
    from ..backend import to_numpy

    return to_numpy(array)
