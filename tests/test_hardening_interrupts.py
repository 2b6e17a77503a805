"""SIGINT and SIGKILL at random points of a save, a training run and `dbdlab run` (issue 12).

Each trial starts a subprocess, waits until it is working, sleeps a random (seeded) time and
sends the signal.  Afterwards: the previous file is intact or the new one is complete, the next
run leaves no temporary files, and a resumed training run is identical to an uninterrupted one.
Outcomes are tallied in :data:`OUTCOMES` for ``benchmarks/reliability.py``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import nbformat
import numpy as np
import pytest
import xarray as xr

from dbdlab import store

SRC = str(Path(__file__).resolve().parents[1] / "src")
RNG = np.random.default_rng(12)
#: (what, signal, outcome) → number of trials
OUTCOMES: Counter = Counter()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "DBDLAB_PROGRESS": "0"}


def _start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            return  # finished before the signal: a valid trial too (the signal arrives late)
        time.sleep(0.01)


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob(".*.tmp")]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _interrupt(proc: subprocess.Popen, sig: int, delay: float) -> int:
    """Signal the whole process group, as Ctrl-C in a terminal or killing a job does."""
    time.sleep(delay)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    proc.communicate(timeout=300)
    return proc.returncode


# --------------------------------------------------------------------------- save

SAVER = """
    import sys
    import numpy as np
    import xarray as xr
    from dbdlab.store import save_dataset
    x = np.random.default_rng(5).integers(0, 3, (1000, 8000)).astype(np.int8)
    save_dataset(xr.Dataset({"x": (("a", "b"), x)}), sys.argv[1])
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_save_interrupted_at_random_points(tmp_path, sig):
    target = tmp_path / "result.nc"
    store.save_dataset(xr.Dataset({"x": ("a", np.arange(4))}), target)
    old = _digest(target)
    for delay in RNG.uniform(0.0, 1.0, size=3):
        proc = _start(SAVER, str(target))
        _wait_for(lambda: _temporaries(tmp_path), proc)
        code = _interrupt(proc, sig, float(delay))
        if _digest(target) == old:
            assert code != 0, "the save neither happened nor failed"
            outcome = "old file intact"
        else:  # the signal came after the rename: the new file must be complete
            assert store.load_dataset(target).x.shape == (1000, 8000)
            outcome = ("new file complete, signal after the rename" if code else
                       "save finished before the signal, new file complete")
        if sig == signal.SIGINT:
            assert _temporaries(tmp_path) == []  # cleaned by the interrupted process itself
        # the next save removes what a killed process left
        store.save_dataset(xr.Dataset({"x": ("a", np.arange(4))}), target)
        old = _digest(target)
        assert _temporaries(tmp_path) == []
        OUTCOMES["save_dataset", signal.Signals(sig).name, outcome] += 1


# --------------------------------------------------------------------------- training

TRAINER = """
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from test_learn_train import _problem
    from dbdlab.learn.train import FieldOptimizer, WindowSchedule, train
    dyn, ics, est = _problem(12)
    result = train(dyn, dyn.new_fields(), ics, est, steps=int(sys.argv[3]),
                   window=WindowSchedule(4, 2), n_timepoints=12,
                   optimizer=FieldOptimizer("adam", 0.05), progress=False,
                   checkpoint=sys.argv[1], checkpoint_every=1)
    np.savez(sys.argv[1] + ".fields.npz", **{n: f.coefficients for n, f in result.fields.items()},
             asleep=result.history.asleep.values)
"""
STEPS = 12


def _train(path: Path) -> subprocess.Popen:
    return _start(TRAINER, str(path), str(Path(__file__).parent), str(STEPS))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, np.ndarray]:
    path = tmp_path_factory.mktemp("full") / "ckpt.nc"
    proc = _train(path)
    proc.communicate(timeout=600)
    assert proc.returncode == 0
    return dict(np.load(str(path) + ".fields.npz"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_training_interrupted_then_resumed_is_identical(tmp_path, sig, uninterrupted):
    path = tmp_path / "ckpt.nc"
    delay = float(RNG.uniform(0.0, 1.0))
    proc = _train(path)
    _wait_for(path.exists, proc)  # at least one checkpoint
    code = _interrupt(proc, sig, delay)
    if code != 0:
        store.load_dataset(path)  # the checkpoint on disk is complete
    resumed = _train(path)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    got = dict(np.load(str(path) + ".fields.npz"))
    assert got.keys() == uninterrupted.keys()
    for key, value in uninterrupted.items():
        np.testing.assert_array_equal(got[key], value)
    assert _temporaries(tmp_path) == []
    OUTCOMES["training with checkpoints", signal.Signals(sig).name,
             "resume identical" if code != 0 else "finished before the signal"] += 1


# --------------------------------------------------------------------------- dbdlab run

STEM = "01_simulation"
RUNNER = """
    import sys
    from dbdlab import pipeline
    pipeline.PROFILES = {"quick": {"01_simulation": {}}}
    pipeline.run_notebooks(cwd=sys.argv[1], output_dir="out", inplace=True, progress=False)
"""


def _repo(root: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("profile = 'quick'")
    params.metadata["tags"] = ["parameters"]
    save = ("import numpy as np, xarray as xr\n"
            "from dbdlab.store import save_dataset\n"
            "x = np.random.default_rng(1).integers(0, 3, (600, 6000)).astype(np.int8)\n"
            "save_dataset(xr.Dataset({'x': (('a', 'b'), x)}), 'data/01_simulation/x.nc')")
    nb.cells = [params, nbformat.v4.new_code_cell(save),
                nbformat.v4.new_code_cell("import time; time.sleep(0.5)")]
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    path = root / "notebooks" / f"{STEM}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_dbdlab_run_interrupted_keeps_files_and_next_run_cleans(tmp_path, sig):
    source = _repo(tmp_path)
    first = _start(RUNNER, str(tmp_path))  # a complete run: the state to protect
    assert first.communicate(timeout=600) and first.returncode == 0
    executed = tmp_path / "out" / f"{STEM}.ipynb"
    data = tmp_path / "data" / STEM / "x.nc"
    protected = {p: _digest(p) for p in (source, executed)}
    proc = _start(RUNNER, str(tmp_path))
    _wait_for(lambda: _temporaries(tmp_path / "out"), proc)
    code = _interrupt(proc, sig, float(RNG.uniform(0.0, 3.0)))
    # Each notebook is whole: the old file, or — when the signal came after its atomic rename —
    # the complete new one; never a partial write (nbformat.read fails on a truncated file).
    replaced = [p.name for p, digest in protected.items() if _digest(p) != digest]
    for path in protected:
        nbformat.read(path, as_version=4)
    # old or new, the data file is whole (the kernel may have finished its save)
    assert store.load_dataset(data).x.shape == (600, 6000)
    again = _start(RUNNER, str(tmp_path))
    assert again.communicate(timeout=600) and again.returncode == 0
    assert _temporaries(tmp_path) == []
    if code == 0:
        outcome = "finished before the signal"
    else:
        outcome = ("files whole (" + ("new: " + ", ".join(replaced) if replaced else "old")
                   + "), next run clean")
    OUTCOMES["dbdlab run --inplace", signal.Signals(sig).name, outcome] += 1
