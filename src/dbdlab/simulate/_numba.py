"""Numba kernels of the lattice simulator (CPU, parallel over replicas).

One replica is advanced by one thread, so results do not depend on the thread count.  The
algorithm and the order of random draws are defined in :mod:`dbdlab.simulate._reference`; this file
is its fast twin and must stay draw-for-draw identical to it (tests check exact equality).

Hot-loop design (developer guide: dev-performance): counter-based RNG inlined, no ``%`` (neighbour
tables are precomputed), int8 states, per-replica work arrays allocated once per call, and O(1)
random picks from the hop sweep's "todo" set through a hierarchical bag (planes → rows → sites) with
swap-with-last removal.

Kernel arguments are grouped into records (named tuples of arrays and numbers, which Numba
passes like separate arguments): :class:`Ensemble` (state updated in place), :class:`Frames`
(what one call records), :class:`Geometry` (neighbour tables, :class:`Selection` rules and the hop
bag's layout) and :class:`Network` (the network's flat tables); per replica, :class:`Counts`
(molecules per row/plane and code) and :class:`Bag` (the hop sweep's bag).  The CUDA kernel
(``kernels/advance.cu``) has the same records as C structs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..rng import derive_nb, uniform_nb

_MAX_FISSION_TRIES = 20


class Selection(NamedTuple):
    """How random sites are picked: the reference's row/plane-biased rule (``biased``;
    reproduction notes: repro-selection) or uniformly, over ``rows_per_plane`` rows of
    ``row_size`` sites per plane."""

    biased: bool
    rows_per_plane: int
    row_size: int


class Geometry(NamedTuple):
    """Lattice tables of a run: ``nbr[s, :nnbr[s]]`` neighbours of site ``s``, the pick rule,
    and the layout (rows per plane, sites per row) of the hop sweep's bag."""

    nbr: np.ndarray
    nnbr: np.ndarray
    selection: Selection
    bag_rows_per_plane: int
    bag_row_size: int


class Network(NamedTuple):
    """Flat tables of a reaction network (:class:`dbdlab.simulate.reactions.NetworkTables`)."""

    uni_kind: np.ndarray
    uni_reactant: np.ndarray
    uni_product1: np.ndarray
    uni_product2: np.ndarray
    uni_rate: np.ndarray
    uni_auto: np.ndarray
    pair_start: np.ndarray
    pair_len: np.ndarray
    pair_rxn: np.ndarray
    enc_prob: np.ndarray
    enc_nprod: np.ndarray
    enc_p1: np.ndarray
    enc_p2: np.ndarray


class Ensemble(NamedTuple):
    """State of every replica, updated in place: ``occ`` (replicas, sites) int8 codes,
    ``n_total`` (replicas, codes) molecules per code, ``state`` (replicas, 3) = [pending
    reaction (−1 none), its firing time, current time], stream ``keys``; timestep ``dt``."""

    occ: np.ndarray
    n_total: np.ndarray
    state: np.ndarray
    keys: np.ndarray
    dt: float


class Frames(NamedTuple):
    """Frames ``first … first + n − 1`` recorded by one call into ``lattice`` (replicas, n,
    sites) and ``counts`` (replicas, n, species); no step follows frame ``last``."""

    lattice: np.ndarray
    counts: np.ndarray
    first: int
    last: int


class Counts(NamedTuple):
    """Per replica: molecules of each code per row ``cnt_row[code·n_rows + row]`` and per plane."""

    cnt_row: np.ndarray
    cnt_plane: np.ndarray


class Bag(NamedTuple):
    """Per replica: the hop sweep's hierarchical bag of sites (planes → rows → sites)."""

    elem: np.ndarray
    rowlen: np.ndarray
    pos: np.ndarray
    prow: np.ndarray
    nrows: np.ndarray
    rowpos: np.ndarray
    planes: np.ndarray
    nplanes: np.ndarray
    planepos: np.ndarray


# --- hierarchical bag of sites: uniform pick over planes, then rows, then sites ---------------


@njit(cache=True, _nrt=False)
def _bag_add(site, bag, rows_per_plane, row_size):
    g = site // row_size
    if bag.rowlen[g] == 0:
        p = g // rows_per_plane
        if bag.nrows[p] == 0:
            bag.planes[bag.nplanes[0]] = p
            bag.planepos[p] = bag.nplanes[0]
            bag.nplanes[0] += 1
        bag.prow[p * rows_per_plane + bag.nrows[p]] = g
        bag.rowpos[g] = bag.nrows[p]
        bag.nrows[p] += 1
    bag.elem[g * row_size + bag.rowlen[g]] = site
    bag.pos[site] = bag.rowlen[g]
    bag.rowlen[g] += 1


@njit(cache=True, _nrt=False)
def _bag_drop_row(g, bag, rows_per_plane):
    """Remove the (now empty) row ``g`` from its plane, and the plane if it empties."""
    prow, nrows, rowpos, planes, nplanes, planepos = (bag.prow, bag.nrows, bag.rowpos,
                                                      bag.planes, bag.nplanes, bag.planepos)
    p = g // rows_per_plane
    j = rowpos[g]
    lastrow = prow[p * rows_per_plane + nrows[p] - 1]
    prow[p * rows_per_plane + j] = lastrow
    rowpos[lastrow] = j
    nrows[p] -= 1
    if nrows[p] == 0:
        k = planepos[p]
        lastplane = planes[nplanes[0] - 1]
        planes[k] = lastplane
        planepos[lastplane] = k
        nplanes[0] -= 1


@njit(cache=True, _nrt=False)
def _bag_remove(site, bag, rows_per_plane, row_size):
    elem, rowlen, pos = bag.elem, bag.rowlen, bag.pos
    g = site // row_size
    i = pos[site]
    last = elem[g * row_size + rowlen[g] - 1]
    elem[g * row_size + i] = last
    pos[last] = i
    rowlen[g] -= 1
    pos[site] = -1
    if rowlen[g] == 0:
        _bag_drop_row(g, bag, rows_per_plane)


@njit(cache=True, _nrt=False)
def _split(u, n):
    """Index ``floor(u·n)`` and the leftover fraction, which is again uniform on [0, 1)."""
    x = u * n
    i = int(x)
    if i >= n:
        i = n - 1
    return i, x - i


# --- picks of a site holding a given code, from per-row / per-plane counts --------------------


@njit(cache=True, _nrt=False)
def _count_rows(occ, counts, n_codes, sel):
    cnt_row, cnt_plane = counts.cnt_row, counts.cnt_plane
    rows_per_plane, row_size = sel.rows_per_plane, sel.row_size
    cnt_row[:] = 0
    cnt_plane[:] = 0
    n_rows = occ.shape[0] // row_size
    for g in range(n_rows):
        base = g * row_size
        for c in range(row_size):
            cnt_row[occ[base + c] * n_rows + g] += 1
    n_planes = n_rows // rows_per_plane
    for code in range(n_codes):
        for p in range(n_planes):
            total = 0
            for r in range(rows_per_plane):
                total += cnt_row[code * n_rows + p * rows_per_plane + r]
            cnt_plane[code * n_planes + p] = total


@njit(cache=True, _nrt=False)
def _pick_code(u, code, occ, counts, n_total, sel):
    """Site of a random molecule of ``code`` (0 = a random empty site), or −1 if there is none.

    ``sel.biased``: uniform plane among planes with a candidate, then row, then site (the
    reference's choice, reproduction notes: repro-selection).  Otherwise uniform over all
    candidates (index order).
    """
    cnt_row, cnt_plane = counts.cnt_row, counts.cnt_plane
    rows_per_plane, row_size = sel.rows_per_plane, sel.row_size
    n_rows = occ.shape[0] // row_size
    n_planes = n_rows // rows_per_plane
    if n_total <= 0:
        return -1
    crow = code * n_rows
    cpl = code * n_planes
    if sel.biased:
        nz = 0
        for p in range(n_planes):
            if cnt_plane[cpl + p] > 0:
                nz += 1
        k, u = _split(u, nz)
        p = 0
        for p in range(n_planes):
            if cnt_plane[cpl + p] > 0:
                if k == 0:
                    break
                k -= 1
        nz = 0
        for r in range(rows_per_plane):
            if cnt_row[crow + p * rows_per_plane + r] > 0:
                nz += 1
        k, u = _split(u, nz)
        g = p * rows_per_plane
        for r in range(rows_per_plane):
            g = p * rows_per_plane + r
            if cnt_row[crow + g] > 0:
                if k == 0:
                    break
                k -= 1
        k, u = _split(u, cnt_row[crow + g])
    else:
        k, u = _split(u, n_total)
        p = 0
        for p in range(n_planes):
            c = cnt_plane[cpl + p]
            if k < c:
                break
            k -= c
        g = p * rows_per_plane
        for r in range(rows_per_plane):
            g = p * rows_per_plane + r
            c = cnt_row[crow + g]
            if k < c:
                break
            k -= c
    base = g * row_size
    for c in range(row_size):
        if occ[base + c] == code:
            if k == 0:
                return base + c
            k -= 1
    return -1


@njit(cache=True, _nrt=False)
def _set_site(site, new, occ, n_total, counts, sel):
    """Put code ``new`` on ``site``, keeping the totals and the row/plane counts."""
    old = occ[site]
    occ[site] = new
    n_total[old] -= 1
    n_total[new] += 1
    n_rows = occ.shape[0] // sel.row_size
    n_planes = n_rows // sel.rows_per_plane
    g = site // sel.row_size
    p = g // sel.rows_per_plane
    counts.cnt_row[old * n_rows + g] -= 1
    counts.cnt_row[new * n_rows + g] += 1
    counts.cnt_plane[old * n_planes + p] -= 1
    counts.cnt_plane[new * n_planes + p] += 1


# --- one replica ------------------------------------------------------------------------------


@njit(cache=True, _nrt=False)
def _schedule(key, counter, t_now, n_total, net):
    """Draw the next unimolecular event (Gillespie direct method, reproduction notes:
    repro-step)."""
    n_uni = net.uni_kind.shape[0]
    total = 0.0
    for r in range(n_uni):
        total += _propensity(r, n_total, net)
    if total <= 0.0:
        return -1, 0.0, counter
    u1 = uniform_nb(key, counter)
    u2 = uniform_nb(key, counter + 1)
    counter += 2
    target = u1 * total
    chosen = -1
    cumulative = 0.0
    for r in range(n_uni):
        a = _propensity(r, n_total, net)
        if a > 0.0:
            chosen = r
            cumulative += a
            if target < cumulative:
                break
    return chosen, t_now - np.log(1.0 - u2) / total, counter


@njit(cache=True, _nrt=False)
def _propensity(r, n_total, net):
    if net.uni_kind[r] == 3:  # creation 0 -> A
        if net.uni_auto[r]:
            n = n_total[net.uni_product1[r]]
            return net.uni_rate[r] * (n if n > 0 else 1)
        return net.uni_rate[r]
    return net.uni_rate[r] * n_total[net.uni_reactant[r]]


@njit(cache=True, _nrt=False)
def _execute(rxn, key, counter, occ, n_total, counts, geo, net):
    """Carry out unimolecular reaction ``rxn`` (reproduction notes: repro-step); returns the
    new draw counter."""
    sel = geo.selection
    nbr, nnbr = geo.nbr, geo.nnbr
    kind = net.uni_kind[rxn]
    if kind == 3:
        u = uniform_nb(key, counter)
        counter += 1
        site = _pick_code(u, 0, occ, counts, n_total[0], sel)
        if site >= 0:
            _set_site(site, net.uni_product1[rxn], occ, n_total, counts, sel)
        return counter
    reactant = net.uni_reactant[rxn]
    if kind == 2:
        for _ in range(_MAX_FISSION_TRIES):
            u = uniform_nb(key, counter)
            counter += 1
            site = _pick_code(u, reactant, occ, counts, n_total[reactant], sel)
            if site < 0:
                return counter
            free = 0
            for j in range(nnbr[site]):
                if occ[nbr[site, j]] == 0:
                    free += 1
            if free == 0:
                continue
            u = uniform_nb(key, counter)
            counter += 1
            k, u = _split(u, free)
            target = -1
            for j in range(nnbr[site]):
                if occ[nbr[site, j]] == 0:
                    if k == 0:
                        target = nbr[site, j]
                        break
                    k -= 1
            _set_site(site, net.uni_product1[rxn], occ, n_total, counts, sel)
            _set_site(target, net.uni_product2[rxn], occ, n_total, counts, sel)
            return counter
        return counter
    u = uniform_nb(key, counter)
    counter += 1
    site = _pick_code(u, reactant, occ, counts, n_total[reactant], sel)
    if site >= 0:
        new = net.uni_product1[rxn] if kind == 1 else 0
        _set_site(site, new, occ, n_total, counts, sel)
    return counter


@njit(cache=True, _nrt=False)
def _step(key, occ, n_total, state, dt, geo, net, counts, bag):
    """One timestep (reproduction notes: repro-step): unimolecular Gillespie events up to T + dt,
    then one hop sweep.

    ``state`` = [pending reaction (−1 none), its firing time, current time T].
    """
    n_codes = n_total.shape[0]
    counter = 0
    t_now = state[2]
    t_end = t_now + dt
    if net.uni_kind.shape[0] > 0:
        pending = int(state[0])
        t_next = state[1]
        if pending < 0:
            pending, t_next, counter = _schedule(key, counter, t_now, n_total, net)
        counts_valid = False
        while pending >= 0 and t_next < t_end:
            if not counts_valid:
                _count_rows(occ, counts, n_codes, geo.selection)
                counts_valid = True
            counter = _execute(pending, key, counter, occ, n_total, counts, geo, net)
            t_now = t_next
            pending, t_next, counter = _schedule(key, counter, t_now, n_total, net)
        state[0] = pending
        state[1] = t_next
    state[2] = t_end

    # hop sweep (reproduction notes: repro-step): every molecule present now attempts one hop, in
    # random order
    elem, rowlen, pos, prow, nrows, planes, nplanes = (bag.elem, bag.rowlen, bag.pos, bag.prow,
                                                       bag.nrows, bag.planes, bag.nplanes)
    nbr, nnbr = geo.nbr, geo.nnbr
    pair_start, pair_len, pair_rxn = net.pair_start, net.pair_len, net.pair_rxn
    enc_prob, enc_nprod, enc_p1, enc_p2 = net.enc_prob, net.enc_nprod, net.enc_p1, net.enc_p2
    bag_rows_per_plane, bag_row_size = geo.bag_rows_per_plane, geo.bag_row_size
    nplanes[0] = 0
    nrows[:] = 0
    rowlen[:] = 0
    n_sites = occ.shape[0]
    for site in range(n_sites):
        pos[site] = -1
        if occ[site] != 0:
            _bag_add(site, bag, bag_rows_per_plane, bag_row_size)
    # _bag_pick + _bag_remove written out: this loop is the simulator's hot spot.  Levels with
    # a single plane/row are skipped; split(u, 1) would return (0, u), so the draws are unchanged.
    single_plane = n_sites == bag_rows_per_plane * bag_row_size
    single_row = bag_rows_per_plane == 1
    while nplanes[0] > 0:
        u = uniform_nb(key, counter)
        counter += 1
        p = 0
        if not single_plane:
            i, u = _split(u, nplanes[0])
            p = planes[i]
        g = p
        if not single_row:
            i, u = _split(u, nrows[p])
            g = prow[p * bag_rows_per_plane + i]
        i, u = _split(u, rowlen[g])
        base = g * bag_row_size
        site = elem[base + i]
        last_i = rowlen[g] - 1
        last = elem[base + last_i]
        elem[base + i] = last
        pos[last] = i
        rowlen[g] = last_i
        pos[site] = -1
        if last_i == 0:
            _bag_drop_row(g, bag, bag_rows_per_plane)
        k, u = _split(u, nnbr[site])
        target = nbr[site, k]
        mover = occ[site]
        partner = occ[target]
        # Branch-free move (a blocked hop writes the old values back): whether the target is
        # empty is a coin flip for the branch predictor, and mispredictions cost more than the
        # two stores.  pair_len[(mover, empty)] is 0, so only possible reactions branch.
        empty = partner == 0
        occ[target] = mover if empty else partner
        occ[site] = 0 if empty else mover
        pair = mover * n_codes + partner
        if pair_len[pair] == 0:
            continue
        for j in range(pair_len[pair]):
            rxn = pair_rxn[pair_start[pair] + j]
            u = uniform_nb(key, counter)
            counter += 1
            if u < enc_prob[rxn]:
                if pos[target] >= 0:
                    _bag_remove(target, bag, bag_rows_per_plane, bag_row_size)
                n_total[mover] -= 1
                n_total[partner] -= 1
                n_total[0] += 2
                if enc_nprod[rxn] >= 1:
                    occ[target] = enc_p1[rxn]
                    n_total[enc_p1[rxn]] += 1
                    n_total[0] -= 1
                else:
                    occ[target] = 0
                if enc_nprod[rxn] == 2:
                    occ[site] = enc_p2[rxn]
                    n_total[enc_p2[rxn]] += 1
                    n_total[0] -= 1
                else:
                    occ[site] = 0
                break


@njit(parallel=True, cache=True)
def advance(ensemble, frames, geo, net):
    """Record ``frames`` of every replica of ``ensemble``, stepping between them.

    Frame ``f`` is the state at time ``f·dt`` before step ``f+1`` (reproduction notes:
    repro-output); no step follows ``frames.last``.  The ensemble's ``occ``, ``n_total`` and
    ``state`` are updated in place so that a run can be continued by another call.  (A parallel
    loop cannot capture tuples, so the records are unpacked here and packed again per replica.)
    """
    occ, n_total, state, keys, dt = ensemble
    lattice_out, counts_out, first, last = frames
    nbr, nnbr, (biased, rows_per_plane, row_size), bag_rows_per_plane, bag_row_size = geo
    (uni_kind, uni_reactant, uni_product1, uni_product2, uni_rate, uni_auto, pair_start,
     pair_len, pair_rxn, enc_prob, enc_nprod, enc_p1, enc_p2) = net
    n_rep, n_sites = occ.shape
    n_codes = n_total.shape[1]
    n_frames = lattice_out.shape[1]
    n_rows = n_sites // row_size
    n_planes = n_rows // rows_per_plane
    n_bag_rows = n_sites // bag_row_size
    n_bag_planes = n_bag_rows // bag_rows_per_plane
    for r in prange(n_rep):
        geo_r = Geometry(nbr, nnbr, Selection(biased, rows_per_plane, row_size),
                         bag_rows_per_plane, bag_row_size)
        net_r = Network(uni_kind, uni_reactant, uni_product1, uni_product2, uni_rate, uni_auto,
                        pair_start, pair_len, pair_rxn, enc_prob, enc_nprod, enc_p1, enc_p2)
        counts = Counts(np.empty(n_codes * n_rows, dtype=np.int32),
                        np.empty(n_codes * n_planes, dtype=np.int32))
        bag = Bag(np.empty(n_sites, dtype=np.int32), np.zeros(n_bag_rows, dtype=np.int32),
                  np.empty(n_sites, dtype=np.int32), np.empty(n_bag_rows, dtype=np.int32),
                  np.zeros(n_bag_planes, dtype=np.int32), np.empty(n_bag_rows, dtype=np.int32),
                  np.empty(n_bag_planes, dtype=np.int32), np.zeros(1, dtype=np.int32),
                  np.empty(n_bag_planes, dtype=np.int32))
        occ_r = occ[r]
        total_r = n_total[r]
        state_r = state[r]
        for i in range(n_frames):
            frame = first + i
            lattice_out[r, i, :] = occ_r
            for code in range(1, n_codes):
                counts_out[r, i, code - 1] = total_r[code]
            if frame < last:
                key = derive_nb(keys[r], frame)
                _step(key, occ_r, total_r, state_r, dt, geo_r, net_r, counts, bag)


@njit(parallel=True, cache=True)
def place_counts(occ, keys, species_counts, biased, rows_per_plane, row_size):
    """Fill empty lattices with exact numbers of molecules at random empty sites (reproduction
    notes: repro-initial).

    Species are placed in code order, one molecule at a time, each on a random empty site chosen
    with the simulation's selection rule.  ``occ`` must be all zero on entry.
    """
    n_rep, n_sites = occ.shape
    n_codes = species_counts.shape[0] + 1
    n_rows = n_sites // row_size
    n_planes = n_rows // rows_per_plane
    for r in prange(n_rep):
        sel = Selection(biased, rows_per_plane, row_size)
        occ_r = occ[r]
        counts = Counts(np.empty(n_codes * n_rows, dtype=np.int32),
                        np.empty(n_codes * n_planes, dtype=np.int32))
        n_total = np.zeros(n_codes, dtype=np.int64)
        n_total[0] = n_sites
        _count_rows(occ_r, counts, n_codes, sel)
        counter = 0
        for code in range(1, n_codes):
            for _ in range(species_counts[code - 1]):
                u = uniform_nb(keys[r], counter)
                counter += 1
                site = _pick_code(u, 0, occ_r, counts, n_total[0], sel)
                _set_site(site, code, occ_r, n_total, counts, sel)
