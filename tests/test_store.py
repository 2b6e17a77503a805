"""Tests for dbdlab.store: round trip, schema errors, atomic writes, data paths."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from dbdlab import store


@pytest.fixture
def trajectory() -> xr.Dataset:
    rng = np.random.default_rng(0)
    lattice = rng.integers(0, 3, size=(2, 4, 16)).astype(np.int8)
    return xr.Dataset(
        {
            "lattice": (
                ("replica", "time", "x"),
                lattice,
                {"species_codes": {1: "A", 2: "B"}, "empty_code": 0},
            ),
            "counts": (("replica", "time", "species"), rng.random((2, 4, 2))),
            "dt": ((), 0.5),
        },
        coords={"time": np.arange(4) * 0.5, "species": ["A", "B"]},
        attrs={
            "network": "lotka_volterra",
            "rates": {"k1": 0.025, "k3": np.float64(0.06)},
            "shape": [16],
            "periodic": True,
            "seed": 7,
            "note": None,
        },
    )


def test_round_trip_keeps_int8_values_and_attrs(tmp_path, trajectory):
    path = store.save_dataset(trajectory, tmp_path / "sub" / "dir" / "traj.nc")
    assert path == tmp_path / "sub" / "dir" / "traj.nc"

    loaded = store.load_dataset(path)
    assert loaded["lattice"].dtype == np.int8
    np.testing.assert_array_equal(loaded["lattice"].values, trajectory["lattice"].values)
    np.testing.assert_array_equal(loaded["counts"].values, trajectory["counts"].values)
    np.testing.assert_array_equal(loaded["time"].values, trajectory["time"].values)
    assert list(loaded["species"].values) == ["A", "B"]
    assert loaded.attrs["rates"] == {"k1": 0.025, "k3": 0.06}
    assert loaded.attrs["shape"] == [16]
    assert loaded.attrs["periodic"] is True
    assert loaded.attrs["note"] is None
    assert loaded.attrs["seed"] == 7
    assert loaded.attrs["network"] == "lotka_volterra"
    # JSON object keys are strings (documented).
    assert loaded["lattice"].attrs["species_codes"] == {"1": "A", "2": "B"}
    assert store.JSON_ATTRS_KEY not in loaded.attrs
    for key, value in store.provenance().items():
        assert loaded.attrs[key] == value


def test_save_does_not_modify_input_and_compresses(tmp_path, trajectory):
    before = dict(trajectory.attrs)
    path = store.save_dataset(trajectory, tmp_path / "traj.nc")
    assert trajectory.attrs == before
    with h5py.File(path, "r") as f:
        assert f["lattice"].dtype == np.int8
        assert f["lattice"].compression == "gzip"
    path2 = store.save_dataset(trajectory, tmp_path / "raw.nc", compress=False)
    with h5py.File(path2, "r") as f:
        assert f["lattice"].compression is None


def test_resave_of_loaded_and_sliced_dataset(tmp_path, trajectory):
    path = store.save_dataset(trajectory, tmp_path / "traj.nc")
    loaded = store.load_dataset(path)
    # Stale chunk sizes from the file must not break writing a smaller slice over it.
    store.save_dataset(loaded.isel(time=slice(0, 1)), path)
    again = store.load_dataset(path)
    assert again.sizes["time"] == 1
    assert again.attrs["rates"] == {"k1": 0.025, "k3": 0.06}


def test_existing_provenance_is_kept(tmp_path, trajectory):
    trajectory.attrs["git_commit"] = "abc123"
    loaded = store.load_dataset(store.save_dataset(trajectory, tmp_path / "t.nc"))
    assert loaded.attrs["git_commit"] == "abc123"


def test_unstorable_attribute_is_named(tmp_path, trajectory):
    trajectory.attrs["callback"] = print
    with pytest.raises(TypeError, match="callback"):
        store.save_dataset(trajectory, tmp_path / "t.nc")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"required_vars": ["lattice", "theta"]}, "'theta'"),
        ({"required_vars": {"lattice": ("replica", "x", "time")}}, "'lattice'"),
        ({"required_dims": ["replica", "y"]}, "'y'"),
        ({"required_dims": {"replica": 3}}, "'replica'"),
    ],
)
def test_schema_error_names_file_and_field(tmp_path, trajectory, kwargs, field):
    path = store.save_dataset(trajectory, tmp_path / "traj.nc")
    with pytest.raises(ValueError) as info:
        store.load_dataset(path, **kwargs)
    assert str(path) in str(info.value)
    assert field in str(info.value)


def test_schema_accepts_matching_requirements(tmp_path, trajectory):
    path = store.save_dataset(trajectory, tmp_path / "traj.nc")
    ds = store.load_dataset(
        path,
        required_vars={"lattice": ("replica", "time", "x"), "time": None},
        required_dims={"replica": 2, "x": None},
    )
    assert ds.sizes["x"] == 16


def test_load_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nc"):
        store.load_dataset(tmp_path / "nope.nc")
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not an HDF5 file")
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        store.load_dataset(bad)


def test_load_closes_the_file(tmp_path, trajectory):
    path = store.save_dataset(trajectory, tmp_path / "traj.nc")
    ds = store.load_dataset(path)
    path.unlink()
    # Data was read into memory; nothing refers to the file any more.
    assert int(ds["lattice"].sum()) == int(trajectory["lattice"].sum())


def _interrupt_midway(self, path, *args, **kwargs):
    Path(path).write_bytes(b"\x89HDF\r\n\x1a\n partial")
    raise KeyboardInterrupt


def test_interrupted_write_leaves_no_file(tmp_path, trajectory, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _interrupt_midway)
    target = tmp_path / "out" / "traj.nc"
    with pytest.raises(KeyboardInterrupt):
        store.save_dataset(trajectory, target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_interrupted_overwrite_keeps_previous_file(tmp_path, trajectory, monkeypatch):
    target = store.save_dataset(trajectory, tmp_path / "traj.nc")
    previous = target.read_bytes()
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _interrupt_midway)
    with pytest.raises(KeyboardInterrupt):
        store.save_dataset(trajectory.isel(time=slice(0, 1)), target)
    assert target.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["traj.nc"]
    assert store.load_dataset(target).sizes["time"] == 4


def test_failure_after_write_cleans_up(tmp_path, trajectory, monkeypatch):
    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(store.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        store.save_dataset(trajectory, tmp_path / "traj.nc")
    assert list(tmp_path.iterdir()) == []


def test_provenance_is_deterministic():
    first = store.provenance()
    assert first == store.provenance()
    assert set(first) == {
        "dbdlab_version",
        "git_commit",
        "python_version",
        "numpy_version",
        "numba_version",
        "profile",
        "notebook",
        "profile_parameters",
    }
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", first["git_commit"])
    assert all(isinstance(v, str) for v in first.values())


def test_provenance_records_the_run_set_by_the_pipeline(tmp_path, monkeypatch):
    for name in ("DBDLAB_PROFILE", "DBDLAB_NOTEBOOK", "DBDLAB_PARAMETERS"):
        monkeypatch.delenv(name, raising=False)
    assert (store.provenance()["profile"], store.provenance()["notebook"]) == (
        "interactive", "interactive")
    monkeypatch.setenv("DBDLAB_PROFILE", "paper")
    monkeypatch.setenv("DBDLAB_NOTEBOOK", "01_simulation")
    monkeypatch.setenv("DBDLAB_PARAMETERS", '{"lv_runs": 100}')
    path = store.save_dataset(xr.Dataset({"x": ("t", np.arange(3))}), tmp_path / "x.nc")
    attrs = store.load_dataset(path).attrs
    assert (attrs["profile"], attrs["notebook"]) == ("paper", "01_simulation")
    assert json.loads(attrs["profile_parameters"]) == {"lv_runs": 100}


def test_data_path_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("DBDLAB_DATA_DIR", str(tmp_path / "results"))
    assert (
        store.data_path("01_simulation", "lv") == tmp_path / "results" / "01_simulation" / "lv.nc"
    )


def test_data_path_finds_repo_root_from_notebooks_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DBDLAB_DATA_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    assert store.data_path("01_simulation", "lv") == Path("data/01_simulation/lv.nc")
    # Jupyter and nbval start kernels in notebooks/: the same file must be found.
    monkeypatch.chdir(tmp_path / "notebooks")
    assert store.data_path("01_simulation", "lv") == Path("../data/01_simulation/lv.nc")


def test_data_path_outside_repo_uses_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("DBDLAB_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert store.data_path("ch", "x") == Path("data/ch/x.nc")


@pytest.mark.parametrize(
    ("chapter", "name"), [("", "x"), ("a/b", "x"), ("ch", ".."), ("ch", "x.nc")]
)
def test_data_path_rejects_bad_names(chapter, name):
    with pytest.raises(ValueError):
        store.data_path(chapter, name)
