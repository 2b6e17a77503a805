"""Readable pure-Python reference of the lattice simulator (slow; for tests and for reading).

This file *defines* the algorithm and the order of random draws; the Numba and CUDA kernels are
fast transcriptions of it and the tests require the Numba kernel to agree with it exactly.

One timestep (reproduction notes: repro-step):

1. Unimolecular phase — continuous-time Gillespie (direct method) carried across steps: if no
   event is pending, draw one (two uniforms: which reaction, waiting time); while the pending
   event fires before ``T + dt``, execute it and draw the next from the new state.  An event
   beyond ``T + dt`` stays pending and is *not* redrawn after the hop sweep changes the state.
2. Hop sweep — every molecule present at the start of the sweep attempts one hop, in random
   order.  The not-yet-moved molecules form a *bag*; each pick uses one uniform ``u``: a plane
   ``⌊u·n_planes⌋`` of the bag, then with the leftover fraction a row of that plane, then a site
   of that row, and the final leftover fraction chooses the neighbour.  Removal swaps the removed
   element with the last one.  With ``selection="uniform"`` the bag has a single plane and row,
   so the pick is uniform over molecules; with ``"reference"`` planes and rows are those of the
   lattice (the authors' row-biased choice, reproduction notes: repro-selection).  A hop onto an
   empty site moves the molecule; onto an occupied site, each encounter reaction of the pair is
   tried in definition order with one uniform each; products go to the partner's site (first) and
   the mover's site (second); a reacting partner that had not moved yet loses its hop.
"""

from __future__ import annotations

import math

import numpy as np

from ..rng import derive, uniform
from .lattice import Lattice
from .reactions import NetworkTables

MAX_FISSION_TRIES = 20


def split(u: float, n: int) -> tuple[int, float]:
    """``floor(u·n)`` (clamped to n−1) and the leftover fraction."""
    x = u * n
    i = min(int(x), n - 1)
    return i, x - i


class Stream:
    """Sequential draws from one counter-based stream."""

    def __init__(self, key: int) -> None:
        self.key = key
        self.counter = 0

    def __call__(self) -> float:
        value = uniform(self.key, self.counter)
        self.counter += 1
        return value


class Bag:
    """Set of sites with O(1) hierarchical uniform pick (planes → rows → sites)."""

    def __init__(self, rows_per_plane: int, row_size: int) -> None:
        self.rows_per_plane = rows_per_plane
        self.row_size = row_size
        self.planes: list[int] = []
        self.rows: dict[int, list[int]] = {}
        self.sites: dict[int, list[int]] = {}

    def __contains__(self, site: int) -> bool:
        row = site // self.row_size
        return site in self.sites.get(row, [])

    def __bool__(self) -> bool:
        return bool(self.planes)

    def add(self, site: int) -> None:
        row = site // self.row_size
        plane = row // self.rows_per_plane
        if not self.sites.get(row):
            if not self.rows.get(plane):
                self.planes.append(plane)
            self.rows.setdefault(plane, []).append(row)
        self.sites.setdefault(row, []).append(site)

    @staticmethod
    def _swap_remove(items: list[int], item: int) -> None:
        i = items.index(item)
        items[i] = items[-1]
        items.pop()

    def remove(self, site: int) -> None:
        row = site // self.row_size
        plane = row // self.rows_per_plane
        self._swap_remove(self.sites[row], site)
        if not self.sites[row]:
            self._swap_remove(self.rows[plane], row)
            if not self.rows[plane]:
                self._swap_remove(self.planes, plane)

    def pick(self, u: float) -> tuple[int, float]:
        i, u = split(u, len(self.planes))
        plane = self.planes[i]
        i, u = split(u, len(self.rows[plane]))
        row = self.rows[plane][i]
        i, u = split(u, len(self.sites[row]))
        return self.sites[row][i], u


def pick_site(u: float, code: int, occ: np.ndarray, biased: bool, rows_per_plane: int,
              row_size: int) -> int:
    """A random site holding ``code`` (0: a random empty site), −1 if none (reproduction notes:
    repro-step, repro-selection)."""
    grid = (occ == code).reshape(-1, rows_per_plane, row_size)
    per_row = grid.sum(axis=2)
    per_plane = per_row.sum(axis=1)
    total = int(per_plane.sum())
    if total == 0:
        return -1
    if biased:
        planes = np.flatnonzero(per_plane > 0)
        i, u = split(u, len(planes))
        plane = planes[i]
        rows = np.flatnonzero(per_row[plane] > 0)
        i, u = split(u, len(rows))
        row = rows[i]
        k, _ = split(u, int(per_row[plane, row]))
        col = np.flatnonzero(grid[plane, row])[k]
        return int((plane * rows_per_plane + row) * row_size + col)
    k, _ = split(u, total)
    return int(np.flatnonzero(occ == code)[k])


def propensities(n_total: np.ndarray, tables: NetworkTables) -> list[float]:
    values = []
    for r in range(len(tables.uni_kind)):
        if tables.uni_kind[r] == 3:
            n = int(n_total[tables.uni_product1[r]])
            auto = bool(tables.uni_autocatalytic[r])
            values.append(tables.uni_rate[r] * (max(n, 1) if auto else 1))
        else:
            values.append(tables.uni_rate[r] * int(n_total[tables.uni_reactant[r]]))
    return values


def schedule(rand: Stream, t_now: float, occ: np.ndarray, tables: NetworkTables,
             n_codes: int) -> tuple[int, float]:
    n_total = np.bincount(occ, minlength=n_codes)
    props = propensities(n_total, tables)
    total = 0.0
    for a in props:
        total += a
    if total <= 0.0:
        return -1, 0.0
    u1, u2 = rand(), rand()
    target = u1 * total
    chosen, cumulative = -1, 0.0
    for r, a in enumerate(props):
        if a > 0.0:
            chosen = r
            cumulative += a
            if target < cumulative:
                break
    return chosen, t_now - math.log(1.0 - u2) / total


def execute(rxn: int, rand: Stream, occ: np.ndarray, nbr: np.ndarray, nnbr: np.ndarray,
            tables: NetworkTables, biased: bool, rows_per_plane: int, row_size: int) -> None:
    kind = tables.uni_kind[rxn]
    if kind == 3:  # creation on a random empty site
        site = pick_site(rand(), 0, occ, biased, rows_per_plane, row_size)
        if site >= 0:
            occ[site] = tables.uni_product1[rxn]
        return
    reactant = tables.uni_reactant[rxn]
    if kind == 2:  # fission onto a random free neighbour, up to 20 reactants tried
        for _ in range(MAX_FISSION_TRIES):
            site = pick_site(rand(), reactant, occ, biased, rows_per_plane, row_size)
            if site < 0:
                return
            free = [int(n) for n in nbr[site, : nnbr[site]] if occ[n] == 0]
            if not free:
                continue
            k, _ = split(rand(), len(free))
            occ[site] = tables.uni_product1[rxn]
            occ[free[k]] = tables.uni_product2[rxn]
            return
        return
    site = pick_site(rand(), reactant, occ, biased, rows_per_plane, row_size)
    if site >= 0:
        occ[site] = tables.uni_product1[rxn] if kind == 1 else 0


def hop_sweep(rand: Stream, occ: np.ndarray, nbr: np.ndarray, nnbr: np.ndarray,
              tables: NetworkTables, n_codes: int, bag_rows_per_plane: int,
              bag_row_size: int) -> None:
    todo = Bag(bag_rows_per_plane, bag_row_size)
    for site in np.flatnonzero(occ):
        todo.add(int(site))
    while todo:
        site, u = todo.pick(rand())
        todo.remove(site)
        k, _ = split(u, int(nnbr[site]))
        target = int(nbr[site, k])
        mover, partner = occ[site], occ[target]
        if partner == 0:
            occ[target], occ[site] = mover, 0
            continue
        pair = mover * n_codes + partner
        start, length = tables.pair_start[pair], tables.pair_len[pair]
        for rxn in tables.pair_rxn[start: start + length]:
            if rand() < tables.enc_probability[rxn]:
                if target in todo:
                    todo.remove(target)
                products = [tables.enc_product1[rxn], tables.enc_product2[rxn]]
                n_products = tables.enc_nproducts[rxn]
                occ[target] = products[0] if n_products >= 1 else 0
                occ[site] = products[1] if n_products == 2 else 0
                break


def simulate_reference(lattice: Lattice, tables: NetworkTables, n_species: int,
                       initial: np.ndarray, keys: list[int], n_frames: int, dt: float,
                       biased: bool) -> tuple[np.ndarray, np.ndarray]:
    """Frames and counts of every replica; ``initial`` is (replicas, n_sites) int8."""
    n_codes = n_species + 1
    nbr, nnbr = lattice.neighbours
    _, rows_per_plane, row_size = lattice.selection_geometry
    bag_geometry = (rows_per_plane, row_size) if biased else (1, lattice.n_sites)
    frames = np.zeros((len(keys), n_frames, lattice.n_sites), dtype=np.int8)
    counts = np.zeros((len(keys), n_frames, n_species), dtype=np.int64)
    for r, key in enumerate(keys):
        occ = initial[r].copy()
        pending, t_next, t_now = -1, 0.0, 0.0
        for frame in range(n_frames):
            frames[r, frame] = occ
            counts[r, frame] = np.bincount(occ, minlength=n_codes)[1:]
            if frame == n_frames - 1:
                break
            rand = Stream(derive(key, frame))
            t_end = t_now + dt
            if len(tables.uni_kind):
                if pending < 0:
                    pending, t_next = schedule(rand, t_now, occ, tables, n_codes)
                while pending >= 0 and t_next < t_end:
                    execute(pending, rand, occ, nbr, nnbr, tables, biased, rows_per_plane,
                            row_size)
                    t_now = t_next
                    pending, t_next = schedule(rand, t_now, occ, tables, n_codes)
            t_now = t_end
            hop_sweep(rand, occ, nbr, nnbr, tables, n_codes, *bag_geometry)
    return frames, counts


def place_counts_reference(lattice: Lattice, species_counts: list[int], keys: list[int],
                           biased: bool) -> np.ndarray:
    """Exact counts at random empty sites, species in code order (reproduction notes:
    repro-initial)."""
    _, rows_per_plane, row_size = lattice.selection_geometry
    out = np.zeros((len(keys), lattice.n_sites), dtype=np.int8)
    for r, key in enumerate(keys):
        rand = Stream(key)
        for code, count in enumerate(species_counts, start=1):
            for _ in range(count):
                site = pick_site(rand(), 0, out[r], biased, rows_per_plane, row_size)
                out[r, site] = code
    return out
