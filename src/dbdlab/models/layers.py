"""Layers of a lattice Boltzmann machine: a lattice shape and a set of multinomial species.

A unit of a layer is empty or holds exactly one species of the layer (single occupancy, paper B
§III.A).  Units are numbered in C order of the lattice shape; species are numbered in
registration order, code ``k`` (1-based) meaning species ``species[k-1]`` and code 0 empty — the
same convention as the simulator's lattices (developer guide: dev-data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Layer"]


def _check_shape(shape: Sequence[int], what: str) -> tuple[int, ...]:
    try:
        out = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of 1 to 3 integers, got {shape!r}") from None
    except (ValueError, OverflowError):  # NaN, inf, "abc"
        raise ValueError(f"{what} must hold integers, got {tuple(shape)!r}") from None
    if not 1 <= len(out) <= 3 or any(n < 1 for n in out):
        raise ValueError(f"{what} must be 1 to 3 positive integers, got {tuple(shape)!r}")
    if any(float(n) != float(m) for n, m in zip(out, shape, strict=True)):
        raise ValueError(f"{what} must hold integers, got {tuple(shape)!r}")
    return out


@dataclass(frozen=True)
class Layer:
    """One layer: a 1D/2D/3D lattice of multinomial units.

    Parameters
    ----------
    shape
        Units per axis, e.g. ``(40, 40)``.
    species
        Species names in registration order (the order in which binary sampling walks them,
        reproduction notes: repro-units).  Names must be unique within the whole model, because
        parameter names are built from them (hidden species carry their layer index: ``X1``,
        ``Y1``…).
    """

    shape: tuple[int, ...]
    species: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _check_shape(self.shape, "layer shape"))
        if isinstance(self.species, str):
            raise TypeError(f"layer species must be a sequence of names, got the string "
                            f"{self.species!r} (write ({self.species!r},) for one species)")
        species = tuple(self.species)
        if not species:
            raise ValueError("a layer needs at least one species")
        for name in species:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"species names must be identifiers like 'X' or 'X1', "
                                 f"got {name!r}")
        if len(set(species)) != len(species):
            raise ValueError(f"species names of a layer must be distinct, got {species}")
        object.__setattr__(self, "species", species)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n_units(self) -> int:
        return math.prod(self.shape)

    @property
    def n_species(self) -> int:
        return len(self.species)
