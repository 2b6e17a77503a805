"""Saving learned right-hand sides and training checkpoints (xarray, atomic writes).

A set of fields ``{name: HermiteField}`` is stored in one Dataset: field ``name`` becomes the
variables ``<name>__vertex_index`` and ``<name>__coefficients`` on its own vertex dimension
``vertex__<name>``, with the grid in the variables' attributes.  A checkpoint adds Adam's moment
fields (``adam_m__<name>``, ``adam_v__<name>``), the optimiser step count and the history records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from ..fem import HermiteField
from .dynamics import Dynamics

__all__ = ["fields_to_dataset", "fields_from_dataset", "save_checkpoint", "load_checkpoint"]


def fields_to_dataset(fields: Mapping[str, HermiteField], prefix: str = "") -> xr.Dataset:
    """All fields in one Dataset (module docstring)."""
    parts = []
    for name, f in fields.items():
        key = f"{prefix}{name}"
        ds = f.to_dataset()
        attrs = {"cell_sizes": ds.attrs["cell_sizes"], "origin": ds.attrs["origin"],
                 "reference_scaling": ds.attrs["reference_scaling"]}
        ds = ds.rename({"vertex": f"vertex__{key}", "vertex_index": f"{key}__vertex_index",
                        "coefficients": f"{key}__coefficients"})
        for var in (f"{key}__vertex_index", f"{key}__coefficients"):
            ds[var].attrs.update(attrs)
        ds.attrs = {}
        parts.append(ds)
    return xr.merge(parts) if parts else xr.Dataset()


def fields_from_dataset(ds: xr.Dataset, names, prefix: str = "") -> dict[str, HermiteField]:
    """Inverse of :func:`fields_to_dataset` for the given field names."""
    out = {}
    for name in names:
        key = f"{prefix}{name}"
        if f"{key}__coefficients" not in ds:
            raise ValueError(f"dataset has no field {key!r}")
        coeff = ds[f"{key}__coefficients"]
        part = xr.Dataset({"vertex_index": ds[f"{key}__vertex_index"].rename(
            {f"vertex__{key}": "vertex"}), "coefficients": coeff.rename(
            {f"vertex__{key}": "vertex"})}, attrs={
                k: coeff.attrs[k] for k in ("cell_sizes", "origin", "reference_scaling")})
        out[name] = HermiteField.from_dataset(part)
    return out


def save_checkpoint(path: str | Path, step: int, records: list[dict], dynamics: Dynamics,
                    fields: Mapping[str, HermiteField], optimizer,
                    extra: xr.Dataset | None = None) -> None:
    """Fields, optimiser state, history records and an optional ``extra`` Dataset (e.g. an
    estimator's chains and centres) in one atomically written file."""
    from ..store import save_dataset

    ds = fields_to_dataset(fields)
    if extra is not None:
        ds = ds.merge(extra)
        ds.attrs.update(extra.attrs)
    if optimizer.kind == "adam":
        ds = ds.merge(fields_to_dataset({n: m for n, (m, _) in optimizer.moments.items()},
                                        "adam_m__"))
        ds = ds.merge(fields_to_dataset({n: v for n, (_, v) in optimizer.moments.items()},
                                        "adam_v__"))
    ds.attrs.update({"step": int(step), "optimizer_t": int(optimizer.t),
                     "optimizer_kind": optimizer.kind,
                     "adam_fields": json.dumps(sorted(optimizer.moments)),
                     "dynamics": json.dumps(dynamics.to_attrs()),
                     "records": json.dumps([{k: (np.asarray(v).tolist()) for k, v in r.items()}
                                            for r in records])})
    save_dataset(ds, path)


def load_checkpoint(path: str | Path, dynamics: Dynamics, fields: dict[str, HermiteField],
                    optimizer) -> tuple[int, list[dict]]:
    """Restore fields and optimiser state in place; returns (last step, history records)."""
    from ..store import load_dataset

    ds = load_dataset(path)
    saved = ds.attrs["dynamics"]
    saved = json.loads(saved) if isinstance(saved, str) else saved
    if saved != json.loads(json.dumps(dynamics.to_attrs())):
        raise ValueError(f"checkpoint {path} was written for different dynamics: {saved}")
    if ds.attrs["optimizer_kind"] != optimizer.kind:
        raise ValueError(f"checkpoint {path} used optimizer {ds.attrs['optimizer_kind']!r}")
    fields.update(fields_from_dataset(ds, dynamics.learned))
    optimizer.t = int(ds.attrs["optimizer_t"])
    adam = ds.attrs["adam_fields"]
    adam = json.loads(adam) if isinstance(adam, str) else adam
    if adam:
        m = fields_from_dataset(ds, adam, "adam_m__")
        v = fields_from_dataset(ds, adam, "adam_v__")
        optimizer.moments = {n: (m[n], v[n]) for n in adam}
    records = ds.attrs["records"]
    records = json.loads(records) if isinstance(records, str) else records
    records = [{k: (np.array(v) if isinstance(v, list) else v) for k, v in r.items()}
               for r in records]
    return int(ds.attrs["step"]), records
