"""The papers' training and test sets, built from :func:`dbdlab.simulate.simulate`.

* :func:`lotka_volterra_set` — paper B: 40×40 periodic, dt 1, 500 steps, 100 + 100 initial,
  conditioned on survival as the authors' set was (extinct runs re-simulated, reproduction notes:
  repro-networks).
* :func:`rossler_set` — paper A §IV.B: 10×10×10 with walls, dt 0.01, 250 steps, 200 of each.
* :func:`annihilation_set` — paper A §IV.A: N = 1000 with walls, dt 0.01, 201 steps, p = 0.01,
  initial conditions (b, J, K) uniform in [−1, 1]³, lattices from the fully visible model.
"""

from __future__ import annotations

import numpy as np

from ..simulate import networks, simulate
from ..simulate.initial import FullyVisible1D
from .settings import SETTINGS

__all__ = ["lotka_volterra_set", "rossler_set", "annihilation_set", "extinct"]

_LV, _ROSSLER, _ANNIHILATION = (SETTINGS[k] for k in ("lotka_volterra", "rossler",
                                                      "annihilation"))


def extinct(counts: np.ndarray) -> np.ndarray:
    """Replicas in which some species has died out by the last time point.

    ``counts`` has shape ``(replica, time, species)``.
    """
    return (np.asarray(counts)[:, -1, :] == 0).any(axis=1)


def lotka_volterra_set(runs: int = _LV["runs"], steps: int = _LV["steps"], seed: int = 0, *,
                       selection: str = "reference", replace_extinct: bool = True,
                       store_lattices: bool = True, backend: str | None = None,
                       progress: bool | None = None, max_batches: int = 20):
    """Lotka–Volterra training set of paper B.

    Runs are simulated in batches of ``runs`` replicas with consecutive replica ids; with
    ``replace_extinct`` the runs in which prey or hunters die out within ``steps`` are dropped and
    replaced by further replicas until ``runs`` survivors are collected (the authors re-ran
    extinct runs).  The dataset keeps the original replica ids, and the attributes
    ``n_simulated`` and ``n_extinct`` say how many runs were simulated and discarded.
    """
    network = networks.lotka_volterra()
    import xarray as xr

    kept, offset, batch = [], 0, runs
    for _ in range(max_batches):
        ds = simulate(network, _LV["shape"], steps, _LV["dt"], batch, _LV["init"],
                      seed, periodic=_LV["periodic"], selection=selection,
                      backend=backend, store_lattices=store_lattices, progress=progress,
                      replica_offset=offset)
        offset += batch
        if not replace_extinct:
            n_extinct = int(extinct(ds.counts.values).sum())
            ds.attrs.update({"n_simulated": runs, "n_extinct": n_extinct, "replace_extinct": 0})
            return ds
        kept.append(ds.isel(replica=np.flatnonzero(~extinct(ds.counts.values))))
        missing = runs - sum(k.sizes["replica"] for k in kept)
        if missing <= 0:
            break
        # Replica ids, not batch sizes, determine the runs, so sizing the next batch from the
        # survival rate so far only saves time.
        survival = max(sum(k.sizes["replica"] for k in kept) / offset, 0.1)
        batch = int(np.ceil(1.5 * missing / survival)) + 4
    else:
        raise RuntimeError(f"fewer than {runs} surviving runs after {max_batches} batches")
    out = xr.concat(kept, dim="replica", combine_attrs="override").isel(replica=slice(0, runs))
    # every replica id up to the last kept one was simulated; the missing ones went extinct
    n_simulated = int(out.replica.values[-1]) + 1
    out.attrs.update({"n_simulated": n_simulated, "n_extinct": n_simulated - runs,
                      "replace_extinct": 1})
    return out


def rossler_set(runs: int = _ROSSLER["runs"], steps: int = _ROSSLER["steps"], seed: int = 0, *,
                selection: str = "reference", store_lattices: bool = True,
                backend: str | None = None, progress: bool | None = None):
    """Rössler training set of paper A (walls; 250 steps as in the authors' code)."""
    return simulate(networks.rossler(), _ROSSLER["shape"], steps, _ROSSLER["dt"], runs,
                    _ROSSLER["init"], seed, periodic=_ROSSLER["periodic"], selection=selection,
                    backend=backend, store_lattices=store_lattices, progress=progress)


def annihilation_set(n_ic: int = _ANNIHILATION["n_ic"],
                     lattices_per_ic: int = _ANNIHILATION["lattices_per_ic"],
                     steps: int = _ANNIHILATION["steps"], seed: int = 0, *,
                     n_sites: int = _ANNIHILATION["shape"][0], probability: float | None = None,
                     init_sweeps: int = _ANNIHILATION["init_sweeps"], replica_offset: int = 0,
                     store_lattices: bool = True, backend: str | None = None,
                     progress: bool | None = None):
    """Annihilation set of paper A: ``n_ic`` random (b, J, K) × ``lattices_per_ic`` lattices.

    The initial conditions are drawn uniformly in [−1, 1]³ by NumPy's PCG64 generator seeded
    with ``(seed, replica_offset)``, so a test set is obtained with the same seed and a
    ``replica_offset`` beyond the training set (independent lattices and parameters).
    Variables ``ic(replica)``, ``ic_b``, ``ic_J``, ``ic_K`` label each lattice.
    ``probability`` (the encounter probability ``p_r``) defaults to that of
    :func:`dbdlab.simulate.networks.annihilation`.
    """
    if n_ic < 1 or lattices_per_ic < 1:
        raise ValueError("n_ic and lattices_per_ic must be >= 1")
    rng = np.random.default_rng([seed, replica_offset])
    params = rng.uniform(-1.0, 1.0, size=(n_ic, 3))
    ic = np.repeat(np.arange(n_ic), lattices_per_ic)
    init = FullyVisible1D(params[ic, 0], params[ic, 1], params[ic, 2], sweeps=init_sweeps, ic=ic)
    network = networks.annihilation() if probability is None else networks.annihilation(probability)
    return simulate(network, (n_sites,), steps, _ANNIHILATION["dt"],
                    n_ic * lattices_per_ic, init, seed, periodic=False, backend=backend,
                    store_lattices=store_lattices, progress=progress,
                    replica_offset=replica_offset)
