"""dbdlab: dynamic Boltzmann distributions for stochastic lattice reaction–diffusion systems.

A research compendium reproducing Ernst, Bartol, Sejnowski & Mjolsness, paper A (PRE 99 063315,
arXiv 1808.08630) and paper B (arXiv 1905.12122).  The names a user types first::

    import dbdlab

    ds = dbdlab.simulate(dbdlab.networks.lotka_volterra(), (40, 40), 500, 1.0, 100,
                         {"X": 100, "Y": 100}, seed=1, periodic=True)
    dbdlab.save_dataset(ds, dbdlab.data_path("01_simulation", "lv"))

Layers, each importing only the ones before it: :mod:`~dbdlab.backend`, :mod:`~dbdlab.rng`,
:mod:`~dbdlab.store` < :mod:`~dbdlab.simulate` < :mod:`~dbdlab.models` < :mod:`~dbdlab.sampling`
< :mod:`~dbdlab.fem` < :mod:`~dbdlab.learn` < :mod:`~dbdlab.closure` <
:mod:`~dbdlab.experiments` < :mod:`~dbdlab.pipeline`, :mod:`~dbdlab.cli`.

The entry points below are imported on first use, so ``import dbdlab`` stays fast.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import TYPE_CHECKING, Any

try:
    __version__: str = metadata.version("dbdlab")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

#: Entry point name -> (module, attribute or None for the module itself).
_ENTRY_POINTS: dict[str, tuple[str, str | None]] = {
    "simulate": ("dbdlab.simulate", None),
    "networks": ("dbdlab.simulate.networks", None),
    "ReactionNetwork": ("dbdlab.simulate.reactions", "ReactionNetwork"),
    "reaction": ("dbdlab.simulate.reactions", "reaction"),
    "lattice_moments": ("dbdlab.simulate.observables", "lattice_moments"),
    "load_dataset": ("dbdlab.store", "load_dataset"),
    "save_dataset": ("dbdlab.store", "save_dataset"),
    "data_path": ("dbdlab.store", "data_path"),
}

__all__ = [
    "ReactionNetwork",
    "__version__",
    "data_path",
    "lattice_moments",
    "load_dataset",
    "networks",
    "reaction",
    "save_dataset",
    "simulate",
]

if TYPE_CHECKING:
    from . import simulate
    from .simulate import networks
    from .simulate.observables import lattice_moments
    from .simulate.reactions import ReactionNetwork, reaction
    from .store import data_path, load_dataset, save_dataset


def __getattr__(name: str) -> Any:
    if name not in _ENTRY_POINTS:
        raise AttributeError(f"module 'dbdlab' has no attribute {name!r}")
    module_name, attribute = _ENTRY_POINTS[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ENTRY_POINTS})
