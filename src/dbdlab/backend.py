"""Runtime choice of the array backend, the array-module helpers and the progress switch.

Backends: ``numba`` (CPU), ``cupy`` (GPU) or ``numpy`` (reference).

The choice is made in one place.  ``DBDLAB_BACKEND=auto|numba|cupy|numpy`` sets the default; an
explicit ``backend=`` argument wins.  ``auto`` picks CuPy only if it imports *and* a tiny kernel
runs on a device, otherwise Numba.  The GPU is never probed at import time, and a broken CuPy can be
switched off with ``DBDLAB_DISABLE_CUPY=1``.

Code that runs on NumPy and CuPy arrays alike takes its array module from its input
(:func:`array_module`) and copies results to the host with :func:`to_numpy`.  Long loops show a
progress bar unless :func:`progress_enabled` says otherwise (off in CI).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeAlias

import numpy as np

__all__ = [
    "BACKENDS",
    "Array",
    "BackendUnavailableError",
    "CUDA_INCLUDE_DIR",
    "array_module",
    "cuda_record",
    "cuda_record_dtype",
    "cuda_source",
    "gpu_status",
    "kernel_threads",
    "resolve_backend",
    "get_xp",
    "progress_enabled",
    "to_numpy",
]

#: Work (unit updates or site visits) below which :func:`kernel_threads` runs a parallel Numba
#: kernel on one thread: ≈ 1–2 ms on one core, where a second thread gains little and, on a
#: shared machine, OpenMP's waiting threads cost far more (developer guide: dev-performance).
SERIAL_BELOW = 1 << 18

#: A NumPy or CuPy array (CuPy is optional, so it cannot appear in annotations).
Array: TypeAlias = Any

log = logging.getLogger(__name__)

BACKENDS = ("numba", "cupy", "numpy")
_ENV_VAR = "DBDLAB_BACKEND"


class BackendUnavailableError(RuntimeError):
    """An explicitly requested backend cannot run on this machine."""


@functools.lru_cache(maxsize=1)
def gpu_status() -> tuple[bool, str]:
    """Return ``(usable, reason)`` for CuPy; never raises.

    A real allocation and kernel launch is attempted, because CuPy imports fine without a
    driver and fails only at first use (missing driver or NVRTC show up as different exceptions).
    """
    if os.environ.get("DBDLAB_DISABLE_CUPY", "") not in ("", "0"):
        return False, "CuPy disabled by DBDLAB_DISABLE_CUPY"
    try:
        import cupy as cp
    except Exception as exc:  # ImportError, or OSError from broken CUDA libraries
        return False, f"cupy not importable: {type(exc).__name__}: {exc}"
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            return False, "no CUDA device"
        int(cp.arange(4).sum())
    except Exception as exc:
        return False, f"cupy present but unusable: {type(exc).__name__}: {exc}"
    return True, "GPU available"


def resolve_backend(backend: str | None = None) -> str:
    """Return the concrete backend name to use.

    Parameters
    ----------
    backend
        ``"auto"``, ``"numba"``, ``"cupy"``, ``"numpy"`` or ``None`` (use ``DBDLAB_BACKEND``,
        default ``"auto"``).

    Raises
    ------
    ValueError
        If the name is not one of the above.
    BackendUnavailableError
        If ``"cupy"`` is requested explicitly and no usable GPU is found.
    """
    source = "argument 'backend'"
    if backend is None:
        backend = os.environ.get(_ENV_VAR, "auto") or "auto"
        source = f"environment variable {_ENV_VAR}"
    if not isinstance(backend, str):
        raise TypeError(f"{source} must be a string, got {type(backend).__name__}")
    name = backend.strip().lower()
    if name not in (*BACKENDS, "auto"):
        raise ValueError(f"{source} must be one of auto, {', '.join(BACKENDS)}; got {backend!r}")
    if name == "auto":
        usable, reason = gpu_status()
        if usable:
            return "cupy"
        log.info("dbdlab backend: numba (%s)", reason)
        return "numba"
    if name == "cupy":
        usable, reason = gpu_status()
        if not usable:
            raise BackendUnavailableError(
                f"backend 'cupy' was requested ({source}) but no usable GPU was found: {reason}"
            )
    return name


def get_xp(backend: str) -> ModuleType:
    """Array module for a concrete backend: CuPy for ``"cupy"``, NumPy otherwise."""
    if backend == "cupy":
        import cupy

        return cupy
    return np


def to_numpy(array: Any) -> np.ndarray:
    """Copy an array of any backend to host memory as a NumPy array."""
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)
    if callable(get):
        return get()
    return np.asarray(array)


def array_module(*arrays: Any) -> ModuleType:
    """Return the array module (``numpy`` or ``cupy``) that the given arrays belong to.

    CuPy is imported only when some input is not a NumPy array, so NumPy-only use never imports
    it; importing CuPy does not touch the GPU (:func:`gpu_status` does that).
    """
    if all(isinstance(a, np.ndarray | np.generic | int | float | bool) for a in arrays):
        return np
    try:
        import cupy
    except Exception:  # not installed, or broken CUDA libraries (OSError): NumPy it is
        return np
    return cupy.get_array_module(*arrays)


def progress_enabled(progress: bool | None) -> bool:
    """Resolve a ``progress`` argument: ``None`` means on, except in CI or if
    ``DBDLAB_PROGRESS=0``."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("DBDLAB_PROGRESS", "") not in ("",):
        return os.environ["DBDLAB_PROGRESS"] not in ("0", "false", "no")
    return not os.environ.get("CI")


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.MULTILINE)
#: directory searched for ``#include "..."`` of the CUDA sources after the including file's own
CUDA_INCLUDE_DIR = Path(__file__).resolve().parent


def cuda_source(path: str | os.PathLike) -> str:
    """Text of a ``.cu`` file with its local ``#include "…"`` files inlined (once each).

    Includes are looked up beside the including file, then in :data:`CUDA_INCLUDE_DIR` (where
    ``rng.cuh`` lives), the search path the compilers get with ``-I``.  Inlining gives NVRTC one
    self-contained source, so CuPy's compile cache (keyed by the source text) sees every change.
    """
    seen: set[Path] = set()

    def expand(file: Path) -> str:
        file = file.resolve()
        if file in seen:
            return ""
        seen.add(file)

        def include(match: re.Match) -> str:
            for folder in (file.parent, CUDA_INCLUDE_DIR):
                candidate = folder / match.group(1)
                if candidate.is_file():
                    return expand(candidate)
            raise FileNotFoundError(f"{file.name}: #include \"{match.group(1)}\" not found")

        return _INCLUDE.sub(include, file.read_text())

    return expand(Path(path))


def cuda_record_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype:
    """NumPy dtype with the memory layout of a C struct (a CUDA kernel's record argument).

    ``fields`` lists ``(name, kind)`` in the struct's order; ``kind`` is a NumPy type code
    (``"i4"``, ``"i8"``, ``"f8"``…) or ``"ptr"`` for a pointer (its address, ``uint64``).  C
    alignment rules apply (``align=True``), the same on the host and on the device.
    """
    return np.dtype({"names": [name for name, _ in fields],
                     "formats": ["u8" if kind == "ptr" else kind for _, kind in fields]},
                    align=True)


def cuda_record(fields: Sequence[tuple[str, str]], pointer: Callable[[Any], int],
                **values: Any) -> np.ndarray:
    """A record of :func:`cuda_record_dtype` ``(fields)`` as a one-element structured array (how
    CuPy passes a struct by value); pointer fields hold ``pointer(array)`` of the given arrays."""
    record = np.zeros(1, dtype=cuda_record_dtype(fields))
    for name, kind in fields:
        record[name] = pointer(values[name]) if kind == "ptr" else values[name]
    return record


@contextlib.contextmanager
def kernel_threads(work: int) -> Iterator[None]:
    """Run the enclosed parallel Numba kernel call on one thread if ``work`` is small.

    Below :data:`SERIAL_BELOW` units of work (e.g. the notebook 03 estimator's 60 chains of 1000
    sites) a kernel takes about a millisecond, the parallel region's start and end are a large
    part of it, and on a machine shared with other work the spinning OpenMP threads made such
    calls several times slower than one thread (notebook 03's training: 1.1 s instead of 0.18 s
    per step on two loaded cores).  The kernels' results never depend on the thread count.

    Parameters
    ----------
    work
        Size of the call, e.g. chains × units × sweeps.
    """
    if work >= SERIAL_BELOW:
        yield
        return
    import numba

    before = numba.get_num_threads()
    if before == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)
