"""Stochastic lattice reaction–diffusion simulation (the authors' algorithm, reproduction notes:
repro-step).

:func:`simulate` runs an ensemble of replicas and returns an :class:`xarray.Dataset`.  What a
simulation is made of lives beside it:

* :mod:`~dbdlab.simulate.reactions` — species, reactions, :class:`ReactionNetwork`;
* :mod:`~dbdlab.simulate.networks` — the papers' three networks as the authors simulated them;
* :mod:`~dbdlab.simulate.lattice` — lattice geometry, neighbours, the row-biased selection;
* :mod:`~dbdlab.simulate.initial` — initial states (counts, fully visible chain, given lattices);
* :mod:`~dbdlab.simulate.observables` — counts, pair moments and chain moments of lattices.

Kernels: ``_numba`` (CPU, parallel over replicas), ``_cupy`` (GPU, one thread per replica) and
``_reference`` (readable Python that defines the algorithm and the order of random draws).

The package itself is callable, ``dbdlab.simulate(...)`` being :func:`simulate`, so that the
function a user types first and the package of its parts share one name.
"""

from __future__ import annotations

import json
import math
import sys
import types
from collections.abc import Mapping

import numpy as np

from .._checks import TooLarge, check_memory
from ..backend import progress_enabled, resolve_backend
from ..rng import Purpose, stream_key
from .initial import GivenLattices, InitialState, RandomCounts
from .lattice import Lattice
from .reactions import ReactionNetwork

__all__ = ["simulate", "SELECTIONS", "memory_estimate", "max_events_per_site",
           "SimulationTooLarge"]

SELECTIONS = ("reference", "uniform")


class SimulationTooLarge(TooLarge):
    """The estimated memory of a :func:`simulate` call exceeds what is available."""


def memory_estimate(shape: tuple[int, ...], steps: int, replicas: int, n_species: int,
                    store_lattices: bool = True, chunk: int | None = None) -> dict[str, int]:
    """Bytes a :func:`simulate` call needs at its peak, by part (an upper estimate).

    The result holds per (replica, time) one int8 lattice (if stored), int32 counts and float64
    pair moments (``nn``; ``nnn`` in 2D/3D; per-species triplets and quartics in 1D).  Chunks are
    concatenated at the end, so the output is counted twice; the kernel's chunk of lattices and
    the moment temporaries of one chunk come on top.  Measured peaks (``tracemalloc``) lie
    between 1/4 and 1 of this figure (tests/test_hardening_inputs.py).

    Returns
    -------
    dict
        ``lattices``, ``moments`` (incl. counts), ``working`` (chunk and per-replica state) and
        ``total``, in bytes.
    """
    n_sites = math.prod(shape)
    frames = replicas * steps
    pairs = n_species * (n_species + 1) // 2
    per_frame = 4 * n_species + 8 * pairs + (16 * n_species if len(shape) == 1 else 8 * pairs)
    chunk = chunk or max(1, steps // 50)
    parts = {"lattices": 2 * frames * n_sites if store_lattices else 0,
             "moments": 2 * frames * per_frame,
             "working": replicas * min(chunk, steps) * n_sites * (1 + 16 * n_species)
             + replicas * (2 * n_sites + 128)}
    parts["total"] = sum(parts.values())
    return parts


#: bound on the expected unimolecular events per lattice site in one step (the papers'
#: settings need at most ~0.6: Rössler, Σk·dt = 56.5 × 0.01)
MAX_EVENTS_PER_SITE = 100.0


def max_events_per_site(network: ReactionNetwork, n_sites: int, dt: float) -> float:
    """Largest expected number of unimolecular events per site in one step of length ``dt``.

    The Gillespie phase of a step executes every event due before ``T + dt``.  A reaction with a
    reactant has propensity ``k·n ≤ k·n_sites``, an autocatalytic creation ``k·max(n, 1) ≤
    k·n_sites`` and a plain creation ``k``; the bound is their sum times ``dt`` per site.
    """
    total = 0.0
    for rxn in network.unimolecular:
        full = rxn.reactants or (rxn.kind == "creation" and rxn.autocatalytic)
        total += rxn.rate * (1.0 if full else 1.0 / n_sites)
    return total * dt


def _check_memory(shape: tuple[int, ...], steps: int, replicas: int, n_species: int,
                  store_lattices: bool, chunk: int | None) -> None:
    need = memory_estimate(shape, steps, replicas, n_species, store_lattices, chunk)
    advice = ("pass store_lattices=False (the lattices need "
              f"{need['lattices'] / 1e9:.3g} GB), " if store_lattices else "")
    check_memory(need["total"], f"simulate (replicas={replicas} × steps={steps} × "
                 f"{math.prod(shape)} sites)",
                 f"{advice}use fewer steps or replicas, or run the ensemble in batches of "
                 f"replicas (replica_offset=…) and save each batch with "
                 f"dbdlab.store.save_dataset", SimulationTooLarge)


#: replica ids are int64 (coordinates, stream indices): offset + replicas must stay below this
MAX_REPLICA_ID = 2**63 - 1


def _check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def _resolve_init(init, lattice: Lattice, network: ReactionNetwork):
    if init is None:
        raise ValueError("init must be given: a {species: count} mapping, an int8 array of "
                         "codes or an initial state (dbdlab.simulate.initial)")
    if isinstance(init, Mapping):
        init = RandomCounts(dict(init))
    elif isinstance(init, np.ndarray):
        init = GivenLattices(init)
    if not isinstance(init, InitialState):
        raise TypeError(f"init: {type(init).__name__} is not an initial state (needs the methods "
                        f"validate, build, describe and variables of "
                        f"dbdlab.simulate.initial.InitialState)")
    try:
        init.validate(lattice, network)
    except ValueError as exc:  # name the argument, e.g. for an unknown species
        message = str(exc)
        if not message.startswith("init"):
            raise ValueError(f"init: {message}") from exc
        raise
    return init


def _check_initial(initial, replicas: int, lattice: Lattice, network: ReactionNetwork) -> None:
    """An initial state's lattices must be int8 codes ``(replicas, n_sites)`` of known species."""
    if not (isinstance(initial, np.ndarray) and initial.dtype == np.int8
            and initial.shape == (replicas, lattice.n_sites)):
        raise ValueError(f"init: build() must return int8 codes of shape ({replicas}, "
                         f"{lattice.n_sites}), got {type(initial).__name__} "
                         f"{getattr(initial, 'dtype', '')} {getattr(initial, 'shape', '')}")
    if initial.size and (initial.min() < 0 or initial.max() > len(network.species)):
        raise ValueError(f"init: build() returned codes outside 0…{len(network.species)}")


def simulate(network: ReactionNetwork, shape: tuple[int, ...], steps: int, dt: float,
             replicas: int = 1, init=None, seed: int = 0, *, periodic: bool = False,
             selection: str = "reference", backend: str | None = None,
             store_lattices: bool = True, progress: bool | None = None,
             replica_offset: int = 0, chunk: int | None = None):
    """Simulate an ensemble of lattice reaction–diffusion trajectories.

    Each step of length ``dt`` executes the unimolecular (Gillespie) events due before
    ``T + dt`` and then lets every molecule attempt one hop to a random neighbour, reacting on
    encounter (reproduction notes: repro-step; the lattice diffusion constant is ``1/(2·d·dt)``).

    Parameters
    ----------
    network
        Species and reactions (see :mod:`dbdlab.simulate.networks` for the papers' systems).
    shape
        Lattice shape, 1 to 3 axes.
    steps
        Number of recorded time points ``t = 0, dt, …, (steps−1)·dt`` (the reference writes the
        state *before* each of its ``n_steps`` steps, so this equals its ``n_steps``).
    dt
        Timestep (> 0).
    replicas
        Number of independent trajectories.
    init
        Initial state: ``{species: count}``, an int8 array of codes, or an initial state of
        :mod:`dbdlab.simulate.initial` (:class:`~dbdlab.simulate.initial.RandomCounts`,
        :class:`~dbdlab.simulate.initial.FullyVisible1D`,
        :class:`~dbdlab.simulate.initial.GivenLattices`).
    seed
        Non-negative integer seed.  Replica ``i`` uses the streams of replica id
        ``replica_offset + i``, so ensembles can be extended without changing earlier replicas.
    periodic
        Periodic boundaries (else reflecting walls).
    selection
        ``"reference"``: the authors' row/plane-biased random choices (reproduction notes:
        repro-selection) for the hop order, the reacting molecule and the birth site; ``"uniform"``:
        uniform choices.
    backend
        ``"numba"``, ``"cupy"``, ``"numpy"`` (the slow reference) or ``None`` (``DBDLAB_BACKEND``
        / auto).
    store_lattices
        Keep every lattice (``lattice(replica, time, x[, y[, z]])``, int8); otherwise only counts
        and pair moments are kept.
    progress
        Show a progress bar (default: on, except when ``CI`` is set).
    replica_offset
        First replica id.
    chunk
        Time points per kernel call (progress granularity); default about 1/50 of ``steps``.

    Returns
    -------
    xarray.Dataset
        ``counts(replica, time, species)``, nearest-neighbour pair moments
        ``nn(replica, time, pair)`` (and ``nnn`` in 2D/3D) counted with the simulation's own
        boundary, ``lattice`` if stored, per-replica initial-condition variables, and
        provenance attributes.

    Raises
    ------
    SimulationTooLarge
        (a ``MemoryError`` and ``ValueError``) before any work, when :func:`memory_estimate`
        exceeds ``$DBDLAB_MEMORY_LIMIT`` bytes or 80 % of the available memory.  The whole
        result is held in memory; runs larger than memory are done in batches of replicas
        (``replica_offset``), each saved to its own file — replica ``i`` of a batch is
        bit-identical to replica ``replica_offset + i`` of one big run.
    """
    if not isinstance(network, ReactionNetwork):
        raise TypeError(f"network must be a ReactionNetwork, got {type(network).__name__}")
    for name, flag in (("periodic", periodic), ("store_lattices", store_lattices)):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {type(flag).__name__} {flag!r}")
    lattice = Lattice(shape, periodic)  # Lattice checks and normalises shape
    if lattice.n_sites < 2:
        raise ValueError(f"shape {lattice.shape} has fewer than two sites")
    if periodic and min(lattice.shape) < 2:
        raise ValueError(f"shape {lattice.shape}: periodic axes need at least two sites")
    steps = _check_int("steps", steps, 1)
    replicas = _check_int("replicas", replicas, 1)
    seed = _check_int("seed", seed, 0, 2**64 - 1)  # keys are 64-bit: 2**64 would alias 0
    replica_offset = _check_int("replica_offset", replica_offset, 0)
    if replica_offset + replicas > MAX_REPLICA_ID:
        raise ValueError(f"replica_offset + replicas must be <= 2**63 - 1 (int64 replica ids), "
                         f"got {replica_offset} + {replicas}")
    if isinstance(dt, bool | np.bool_) or not isinstance(dt, int | float | np.integer |
                                                         np.floating):
        raise TypeError(f"dt must be a real number, got {type(dt).__name__}")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite positive number, got {dt!r}")
    events = max_events_per_site(network, lattice.n_sites, float(dt))
    if not events <= MAX_EVENTS_PER_SITE:  # also catches an overflow to inf
        raise ValueError(
            f"dt={dt!r} is too large for the rates of {network.name}: up to {events:.3g} "
            f"unimolecular events per site in one step (limit {MAX_EVENTS_PER_SITE:g}); the "
            f"lattice algorithm needs rate·dt ≪ 1, so choose dt ≤ "
            f"{MAX_EVENTS_PER_SITE * float(dt) / events:.3g}")
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    if chunk is not None:
        chunk = _check_int("chunk", chunk, 1)
    init = _resolve_init(init, lattice, network)
    backend = resolve_backend(backend)
    _check_memory(lattice.shape, steps, replicas, len(network.species), store_lattices, chunk)

    biased = selection == "reference"
    replica_ids = np.arange(replica_offset, replica_offset + replicas)
    initial = init.build(lattice, network, seed, replica_ids, biased)
    _check_initial(initial, replicas, lattice, network)
    keys = [stream_key(seed, Purpose.SIMULATE, int(r)) for r in replica_ids]
    tables = network.tables()

    if backend == "numpy":
        from ._reference import simulate_reference

        lattices, counts = simulate_reference(lattice, tables, len(network.species), initial,
                                              keys, steps, float(dt), biased)
        chunks = [(lattices, counts)]
    else:
        if backend == "cupy":
            from ._cupy import CupyRunner as Runner
        else:
            from ._numba_runner import NumbaRunner as Runner
        runner = Runner(lattice, tables, len(network.species), initial, keys, steps, float(dt),
                        biased)
        chunks = runner.run(chunk or max(1, steps // 50), progress_enabled(progress),
                            f"simulate {network.name}")

    from ._dataset import build_dataset

    return build_dataset(network, lattice, chunks, init, replicas, replica_ids, steps,
                         float(dt), store_lattices,
                         attrs={"seed": seed, "selection": selection, "backend": backend,
                                "init": init.describe(), "network": network.to_json(),
                                "rates": json.dumps([str(r) for r in network.reactions])})


class _CallableModule(types.ModuleType):
    """The ``dbdlab.simulate`` package, callable as :func:`simulate`."""

    def __call__(self, *args, **kwargs):
        return simulate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
