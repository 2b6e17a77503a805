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

import functools
import logging
import os
from types import ModuleType
from typing import Any, TypeAlias

import numpy as np

__all__ = [
    "BACKENDS",
    "Array",
    "BackendUnavailableError",
    "array_module",
    "gpu_status",
    "resolve_backend",
    "get_xp",
    "progress_enabled",
    "to_numpy",
]

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
