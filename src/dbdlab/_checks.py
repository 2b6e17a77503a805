"""Argument checks shared by the public entry points: errors name the argument and the value."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["integer"]


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
