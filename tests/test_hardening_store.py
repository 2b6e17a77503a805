"""Hardening of dbdlab.store: interrupts during a save (issue 12, item 1) and stale temporaries."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dbdlab import store

SRC = str(Path(__file__).resolve().parents[1] / "src")

# Writes a dataset big enough that the save takes a noticeable time (gzip of ~15 MB of int8).
SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    import xarray as xr
    from dbdlab.store import save_dataset
    rng = np.random.default_rng(int(sys.argv[2]))
    ds = xr.Dataset({"x": (("a", "b"), rng.integers(0, 3, (1500, 10000)).astype(np.int8))})
    save_dataset(ds, sys.argv[1])
    print("saved", flush=True)
""")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def _start_saver(target: Path, seed: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC}
    # restore_signals + a fresh session: SIGINT reaches the child with Python's default handler
    return subprocess.Popen([sys.executable, "-c", SAVER, str(target), str(seed)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_temporary(directory: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not _temporaries(directory):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("the save finished or timed out before its temporary appeared")
        time.sleep(0.01)


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_sigint_during_save_keeps_old_file_and_exits_nonzero(tmp_path, delay):
    target = tmp_path / "result.nc"
    store.save_dataset(xr.Dataset({"x": ("a", np.arange(5))}), target)
    before = _digest(target)
    proc = _start_saver(target, seed=1)
    _wait_for_temporary(tmp_path, proc)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, f"interrupted save exited 0; stderr:\n{err}"
    assert "saved" not in out
    assert "KeyboardInterrupt" in err
    assert _digest(target) == before
    assert _temporaries(tmp_path) == []


def test_sigterm_during_save_keeps_old_file_and_removes_temporary(tmp_path):
    target = tmp_path / "result.nc"
    store.save_dataset(xr.Dataset({"x": ("a", np.arange(5))}), target)
    before = _digest(target)
    proc = _start_saver(target, seed=2)
    _wait_for_temporary(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGTERM
    assert _digest(target) == before
    assert _temporaries(tmp_path) == []


def test_deferred_interrupts_redelivers_after_the_block():
    with pytest.raises(KeyboardInterrupt):
        with store.deferred_interrupts() as received:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler runs here; it only records
            assert received == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
