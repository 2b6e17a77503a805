"""Saving learned right-hand sides and training checkpoints (xarray, atomic writes).

A set of fields ``{name: HermiteField}`` is stored in one Dataset: field ``name`` becomes the
variables ``<name>__vertex_index`` and ``<name>__coefficients`` on its own vertex dimension
``vertex__<name>``, with the grid in the variables' attributes.  A checkpoint adds Adam's moment
fields (``adam_m__<name>``, ``adam_v__<name>``), the optimiser step count and the history records.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from ..fem import HermiteField
from .dynamics import Dynamics

__all__ = ["fields_to_dataset", "fields_from_dataset", "save_checkpoint", "load_checkpoint",
           "settings_differences"]


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


_REQUIRED_ATTRS = ("step", "optimizer_t", "optimizer_kind", "adam_fields", "dynamics",
                   "record_keys")


def _flatten(settings: Mapping, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def settings_differences(saved: Mapping, current: Mapping) -> list[str]:
    """``"name: checkpoint X, now Y"`` for every (nested) setting that differs; absent = None."""
    saved = _flatten(saved)
    current = _flatten(json.loads(json.dumps(current)))  # the JSON view the checkpoint stores
    return [f"{key}: checkpoint {saved.get(key)!r}, now {current.get(key)!r}"
            for key in sorted(set(saved) | set(current)) if saved.get(key) != current.get(key)]


def save_checkpoint(path: str | Path, step: int, records: list[dict], dynamics: Dynamics,
                    fields: Mapping[str, HermiteField], optimizer,
                    extra: xr.Dataset | None = None, settings: Mapping | None = None) -> None:
    """Fields, optimiser state, history records, the run's ``settings`` (JSON) and an optional
    ``extra`` Dataset (e.g. an estimator's chains and centres) in one atomically written file."""
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
                     "record_keys": json.dumps(list(records[0]) if records else []),
                     "settings": json.dumps(dict(settings or {}), sort_keys=True)})
    # uncompressed: a checkpoint is rewritten many times and read once; zlib cost 1.2 s for a
    # 10 000-step history (24 MB) and saved 5 % of the size
    save_dataset(ds.merge(_records_dataset(records)), path, compress=False)


def _records_dataset(records: list[dict]) -> xr.Dataset:
    """History records as arrays ``record__<key>`` over a ``record`` dimension.

    (Arrays rather than JSON text: a long run's history is millions of numbers, and encoding
    it as text at every checkpoint made checkpoints cost more than the training steps.)
    """
    out = {}
    for key in (records[0] if records else {}):
        values = np.stack([np.asarray(r[key]) for r in records])
        dims = ("record",) + tuple(f"record__{key}__{i}" for i in range(1, values.ndim))
        out[f"record__{key}"] = (dims, values)
    return xr.Dataset(out)


def _records_from(ds: xr.Dataset) -> list[dict]:
    """The records of :func:`_records_dataset`."""
    keys = ds.attrs["record_keys"]
    keys = json.loads(keys) if isinstance(keys, str) else keys
    columns = {k: ds[f"record__{k}"].values for k in keys}
    n = ds.sizes.get("record", 0)
    return [{k: (v[i].item() if v.ndim == 1 else v[i]) for k, v in columns.items()}
            for i in range(n)]


def load_checkpoint(path: str | Path, dynamics: Dynamics, fields: dict[str, HermiteField],
                    optimizer, settings: Mapping | None = None) -> tuple[int, list[dict]]:
    """Restore fields and optimiser state in place; returns (last step, history records).

    Raises
    ------
    ValueError
        If ``path`` is not a training checkpoint, or was written for other dynamics, another
        optimiser or other ``settings`` (the message lists every difference).  A checkpoint
        written before settings were stored is accepted with a warning.
    """
    from ..store import load_dataset

    ds = load_dataset(path)
    missing = [key for key in _REQUIRED_ATTRS if key not in ds.attrs]
    if missing:
        raise ValueError(f"{path} is not a dbdlab training checkpoint (attributes "
                         f"{', '.join(missing)} are missing); pass another checkpoint path or "
                         f"move the file away")
    if settings is not None:
        if "settings" not in ds.attrs:
            warnings.warn(f"checkpoint {path} stores no training settings (written by an older "
                          f"dbdlab); they cannot be checked", UserWarning, stacklevel=3)
        else:
            stored = ds.attrs["settings"]
            stored = json.loads(stored) if isinstance(stored, str) else stored
            differences = settings_differences(stored, settings)
            if differences:
                raise ValueError(f"checkpoint {path} was written with other settings; resuming "
                                 f"would mix two runs: {'; '.join(differences)}. Use the "
                                 f"original settings or another checkpoint path")
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
    return int(ds.attrs["step"]), _records_from(ds)
