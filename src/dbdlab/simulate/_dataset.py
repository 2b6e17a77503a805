"""Assemble simulation output into an xarray Dataset (developer guide: dev-data)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np

from .lattice import Lattice
from .reactions import ReactionNetwork


def build_dataset(network: ReactionNetwork, lattice: Lattice,
                  chunks: Iterable[tuple[np.ndarray, np.ndarray]], init, replicas: int,
                  replica_ids: np.ndarray, steps: int, dt: float, store_lattices: bool,
                  attrs: dict):
    import xarray as xr

    from ..store import provenance
    from .observables import lattice_moments

    lattice_parts, count_parts, moment_parts = [], [], []
    for frames, counts in chunks:
        shaped = frames.reshape(replicas, frames.shape[1], *lattice.shape)
        moment_parts.append(lattice_moments(shaped, list(network.species), ndim=lattice.ndim,
                                            periodic=lattice.periodic,
                                            dims=("replica", "time")))
        count_parts.append(counts)
        if store_lattices:
            lattice_parts.append(shaped)
    counts = np.concatenate(count_parts, axis=1)
    moments = xr.concat(moment_parts, dim="time").drop_vars("counts", errors="ignore")
    data_vars = {"counts": (("replica", "time", "species"), counts.astype(np.int32))}
    if store_lattices:
        data_vars["lattice"] = (("replica", "time", *lattice.dims),
                                np.concatenate(lattice_parts, axis=1))
    data_vars.update(init.variables(replicas))
    coords = {"replica": replica_ids, "time": np.arange(steps) * dt,
              "species": list(network.species)}
    for axis, n in zip(lattice.dims, lattice.shape, strict=True):
        coords[axis] = np.arange(n)
    ds = xr.Dataset(data_vars, coords=coords)
    ds = ds.merge(moments.assign_coords(time=ds.time, replica=ds.replica))
    ds.attrs.update(attrs)
    ds.attrs.update({"shape": json.dumps(list(lattice.shape)), "periodic": int(lattice.periodic),
                     "dt": dt, "steps": steps, "species_codes": json.dumps(
                         {name: k + 1 for k, name in enumerate(network.species)}),
                     "empty_code": 0})
    ds.attrs.update(provenance())
    ds["counts"].attrs["description"] = "molecules per species"
    if store_lattices:
        ds["lattice"].attrs["description"] = "species code per site (0 = empty)"
    return ds
