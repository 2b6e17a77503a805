"""The common result of every closure: predicted means and pair counts over time, with flags.

A closure (mean field, pair approximation, well-mixed moment closures, the learned DBD) predicts
the quantities that chapter 06 compares with held-out lattice simulations: the mean number of
each species and the mean number of unordered nearest-neighbour pairs of each species pair
(the ``nn`` moments of :func:`dbdlab.simulate.observables.lattice_moments`).  Unphysical output
is kept as computed and *flagged* (:func:`physical_flags`), never clipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ClosurePrediction", "physical_flags", "rmse"]


@dataclass(frozen=True)
class ClosurePrediction:
    """Predicted trajectories of one closure.

    Attributes
    ----------
    method
        Name of the closure (``"mean_field"``, ``"pair"``, ``"normal"``, …).
    time
        Times, shape ``(T,)``.
    species
        Species names, e.g. ``("X", "Y")``.
    counts
        Mean number of each species, ``(T, n_species)``.
    pairs
        Pair labels ``"a_b"`` (``a`` ≤ ``b`` in species order), as in the simulation data.
    nn
        Mean number of unordered nearest-neighbour pairs, ``(T, n_pairs)``.
    variances
        Variance of each species count, ``(T, n_species)``, where the closure predicts one.
    flags
        Human-readable notes on unphysical output (negative densities or variances, blow-up,
        solver failure); empty when all is physical.
    """

    method: str
    time: np.ndarray
    species: tuple[str, ...]
    counts: np.ndarray
    pairs: tuple[str, ...]
    nn: np.ndarray
    variances: np.ndarray | None = None
    flags: tuple[str, ...] = field(default=())

    def to_dataset(self):
        """The prediction as an ``xarray.Dataset`` (dims ``time``, ``species``, ``pair``)."""
        import xarray as xr

        data = {"counts": (("time", "species"), self.counts),
                "nn": (("time", "pair"), self.nn)}
        if self.variances is not None:
            data["variances"] = (("time", "species"), self.variances)
        return xr.Dataset(data, coords={"time": self.time, "species": list(self.species),
                                        "pair": list(self.pairs)},
                          attrs={"method": self.method, "flags": "; ".join(self.flags)})


def physical_flags(counts: np.ndarray, nn: np.ndarray, n_sites: int,
                   variances: np.ndarray | None = None, *, blow_up: float = 10.0) -> list[str]:
    """Notes on unphysical values of a prediction (empty list when all is physical).

    Parameters
    ----------
    counts, nn, variances
        Predicted means, nearest-neighbour pair counts and variances (time first).
    n_sites
        Number of lattice sites ``N``: a single-occupancy lattice holds at most ``N`` molecules.
    blow_up
        Counts beyond ``blow_up · N`` in magnitude are reported as a blow-up.
    """
    flags = []
    c = np.asarray(counts, dtype=float)
    scale = max(1.0, float(np.max(np.abs(c[np.isfinite(c)]), initial=0.0)))
    # rounding (e.g. a variance computed as ⟨n²⟩ − ⟨n⟩²) is not a physical defect
    tolerances = {"counts": 1e-9 * scale, "nn": 1e-9 * scale**2, "variances": 1e-9 * scale**2}
    for name, values in (("counts", counts), ("nn", nn), ("variances", variances)):
        if values is None:
            continue
        values = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(values)):
            first = int(np.argmax(~np.isfinite(values).reshape(len(values), -1).all(axis=1)))
            flags.append(f"non-finite {name} from time index {first}")
            values = np.where(np.isfinite(values), values, 0.0)
        negative = values < -tolerances[name]
        if np.any(negative):
            first = int(np.argmax(negative.reshape(len(values), -1).any(axis=1)))
            flags.append(f"negative {name} from time index {first} (min {values.min():.3g})")
    finite = np.isfinite(c)
    if np.any(np.abs(c[finite]) > blow_up * n_sites):
        flags.append(f"blow-up: |count| exceeds {blow_up:g}·N")
    elif np.any(c[finite].reshape(-1) > n_sites):
        flags.append("more molecules than lattice sites")
    return flags


def rmse(predicted: np.ndarray, observed: np.ndarray, axis: int | Sequence[int] = 0) -> np.ndarray:
    """Root-mean-square difference over ``axis`` (non-finite predictions give ``inf``)."""
    diff = np.asarray(predicted, dtype=float) - np.asarray(observed, dtype=float)
    out = np.sqrt(np.mean(diff**2, axis=axis))
    return np.where(np.isnan(out), np.inf, out)
