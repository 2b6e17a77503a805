"""Argument checks shared by the public entry points: errors name the argument and the value."""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["TooLarge", "available_memory", "check_memory", "integer"]

MEMORY_LIMIT_ENV = "DBDLAB_MEMORY_LIMIT"
#: fraction of the currently available memory one call may plan to use
MEMORY_FRACTION = 0.8


class TooLarge(MemoryError, ValueError):
    """A request whose estimated memory exceeds what is available (refused before any work)."""


def available_memory() -> int | None:
    """``$DBDLAB_MEMORY_LIMIT`` (bytes) or MEMORY_FRACTION of the available physical memory."""
    limit = os.environ.get(MEMORY_LIMIT_ENV)
    if limit:
        return int(float(limit))
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(MEMORY_FRACTION * int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        return int(MEMORY_FRACTION * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(need: float, what: str, advice: str, error: type[TooLarge] = TooLarge) -> None:
    """Raise ``error`` when ``need`` bytes exceed :func:`available_memory`.

    ``what`` names the arguments that set the size (e.g. ``"n_chains=10**9 × 5 units"``) and
    ``advice`` the way out.
    """
    available = available_memory()
    if available is None or need <= available:
        return
    raise error(f"{what} would need about {need / 1e9:.3g} GB, more than the "
                f"{available / 1e9:.3g} GB available; {advice} (limit: ${MEMORY_LIMIT_ENV} or "
                f"{MEMORY_FRACTION:.0%} of available memory)")


def integer(value: object, name: str, minimum: int = 0, maximum: int | None = None) -> int:
    """``value`` as an ``int``; integral floats (``10.0``) are accepted.

    Raises
    ------
    TypeError
        For booleans, strings and other non-numbers.
    ValueError
        For NaN, infinities, non-integral numbers and values outside ``[minimum, maximum]``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer |
                                                             np.floating):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}")
    if isinstance(value, float | np.floating) and not (math.isfinite(value) and
                                                       float(value).is_integer()):
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    out = int(value)
    if out < minimum or (maximum is not None and out > maximum):
        bound = f" and <= {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be {kind}{bound}, got {value!r}")
    return out
