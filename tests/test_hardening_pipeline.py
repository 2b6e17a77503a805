"""Hardening of `dbdlab run` and of data/ (issue 12, items 5, 6 and 10)."""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import xarray as xr

from dbdlab import cli, pipeline, store

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline import STEM, _parameters_cell, _write_notebook  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEAD_PID = 2**22 + 12345  # above Linux's pid_max limit (2**22): never a live process


def _dead_temporary(directory: Path, final: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".{final}.{DEAD_PID}.0123abcd.tmp"
    path.write_bytes(b"partial")
    return path


# --------------------------------------------------------------------------- 5: --inplace races


def _refresh_many(executed: str, source: str, n: int, errors) -> None:
    try:
        for _ in range(n):
            pipeline._refresh_source(Path(executed), Path(source))
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_inplace_refreshes_never_interleave(tmp_path):
    source = _write_notebook(tmp_path, STEM, nbformat.v4.new_code_cell("x = 1\n" * 2000))
    executed = tmp_path / "executed.ipynb"
    shutil.copyfile(source, executed)
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    workers = [context.Process(target=_refresh_many, args=(str(executed), str(source), 150,
                                                           errors)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    reported = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert reported == []
    assert all(w.exitcode == 0 for w in workers)
    nbformat.read(source, as_version=4)  # a complete notebook
    assert sorted(p.name for p in source.parent.iterdir()) == [source.name]


def test_executed_notebook_is_replaced_atomically(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "PROFILES", {"quick": {STEM: {}}})
    _write_notebook(tmp_path, STEM, _parameters_cell("profile = 'quick'"),
                    *[nbformat.v4.new_code_cell(f"import time; time.sleep(0.2); print({k})")
                      for k in range(6)])
    out = tmp_path / "out" / f"{STEM}.ipynb"
    out.parent.mkdir()
    out.write_text("old")
    seen: set[str] = set()
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                seen.add(out.read_text())
            except FileNotFoundError:
                seen.add("<missing>")
            time.sleep(0.005)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        pipeline.run_notebooks(cwd=tmp_path, output_dir="out", progress=False)
    finally:
        done.set()
        poller.join()
    final = out.read_text()
    # only the old content and the complete result were ever visible under the final name
    assert seen | {final} == {"old", final}, f"{len(seen)} distinct states seen"
    outputs = [o for c in nbformat.reads(final, as_version=4).cells if c.cell_type == "code"
               for o in c.outputs]
    assert "5" in "".join(o.get("text", "") for o in outputs)
    assert [p.name for p in out.parent.iterdir()] == [out.name]


# --------------------------------------------------------------------------- 6: stale temporaries


def test_stale_temporaries_are_removed_but_live_ones_kept(tmp_path):
    dead = _dead_temporary(tmp_path / "01_simulation", "x.nc")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / "01_simulation" / f".x.nc.{sleeper.pid}.89abcdef.tmp"
        live.write_bytes(b"being written")
        other = tmp_path / ".notes.tmp"  # not one of ours: kept
        other.write_text("keep")
        removed = store.remove_stale_temporaries(tmp_path)
        assert removed == [dead]
        assert live.exists() and other.exists() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_save_dataset_removes_stale_temporaries_of_its_file(tmp_path):
    dead = _dead_temporary(tmp_path, "result.nc")
    unrelated = _dead_temporary(tmp_path, "other.nc")
    store.save_dataset(xr.Dataset({"x": ("a", np.arange(3))}), tmp_path / "result.nc")
    assert not dead.exists() and unrelated.exists()


def test_next_run_removes_stale_temporaries(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "PROFILES", {"quick": {STEM: {}}})
    monkeypatch.delenv(store.DATA_DIR_ENV, raising=False)
    _write_notebook(tmp_path, STEM, _parameters_cell("profile = 'quick'"))
    leftovers = [_dead_temporary(tmp_path / "data" / "01_simulation", "lv.nc"),
                 _dead_temporary(tmp_path / "out", f"{STEM}.ipynb"),
                 _dead_temporary(tmp_path / "notebooks", f"{STEM}.ipynb")]
    pipeline.run_notebooks(cwd=tmp_path, output_dir="out", progress=False)
    assert [p for p in leftovers if p.exists()] == []


def test_make_clean_removes_temporaries(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copyfile(REPO / "Makefile", tmp_path / "Makefile")
    leftovers = [_dead_temporary(tmp_path / "data" / "02", "a.nc"),
                 _dead_temporary(tmp_path / "notebooks", "n.ipynb")]
    keep = tmp_path / "data" / "02" / "a.nc"
    keep.write_text("result")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    assert [p for p in leftovers if p.exists()] == [] and keep.exists()


# --------------------------------------------------------------------------- 10: profile entries


def test_paper_profile_without_an_entry_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "PROFILES", {"quick": {STEM: {}}, "paper": {}})
    _write_notebook(tmp_path, STEM, _parameters_cell("profile = 'quick'"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--profile", "paper", STEM]) == 1
    err = capsys.readouterr().err
    assert f"profile 'paper' has no entry for notebook(s) {STEM}" in err
    assert not (tmp_path / "book").exists()  # refused before running anything


def test_every_listed_notebook_has_a_paper_entry_when_present():
    present = pipeline.available_notebooks(REPO)
    assert [s for s in present if s not in pipeline.PROFILES["paper"]] == []
