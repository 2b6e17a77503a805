"""Numba kernel of block Gibbs sweeps over binary layers, bit-identical to the NumPy sampler.

The NumPy reference (:mod:`dbdlab.sampling.conditionals`) computes, for unit ``i`` of layer ``l``,
the activations ``φ_iα = a_α + Σ_β n_iβ^{below} W_βα + Σ_β n_iβ^{above} W_αβ`` from the numbers
``n_iβ`` of neighbours holding species ``β``, then ``p = e^{φ−s} / (e^{−s} + Σ e^{φ−s})`` with
``s = max(0, max_α φ)``, the cumulative sums of ``p``, and the species from one uniform.  With
binary neighbours ``φ``, hence the cumulative probabilities, depend on the unit only through its
*neighbour-count pattern* ``(n^{below}, n^{above})``, of which a homogeneous lattice model has few
(LV DBM middle layer: 15 × 15 with ``q = 4`` and two species on each side).

Exactness decision
------------------
The kernel therefore looks up the cumulative probabilities in a table indexed by the pattern, and
computes **no** ``exp`` at all.  The table is built once per call *by the NumPy reference code
itself*, applied to the pattern counts instead of the lattice counts: the same ``matmul`` (with
the same operand layouts and the same BLAS dispatch class, see :func:`_count_term`), the same
``a + below`` then ``+ above`` additions, :func:`probabilities_from_activations` and ``cumsum``.
Every table entry is thus bit-for-bit the value the NumPy path computes for a unit with that
pattern, and the kernel compares the same uniform (same stream, same counter) against it with the
same rule, so samples are **bit-identical** to the NumPy path (tests check this, also with large
and off-diagonal weights).  This is also the fastest variant: a table read replaces 3 ``exp``
calls per unit.  An in-kernel ``exp`` (φ from per-side tables, then the NumPy formula) measured
≈ 4× slower on the LV DBM sweep (≈ 35–45 vs ≈ 9 ns per unit update, one thread) *and* would be
inexact: NumPy evaluates ``exp`` with its own SIMD code (AVX-512 where present) while Numba calls
libm, which may differ in the last bit — so no inexact variant is offered.  (Tabulating
``e^{W·n}`` factors would not be exact either, because ``e^{x+y} ≠ e^x e^y`` in floating point.)

Coverage and fallback
---------------------
The kernel runs when every layer it updates and every layer they read holds codes (binary);
probability layers (mean field, ``p(h|v)``), and models whose pattern tables would be too large
(:data:`MAX_TABLE_ENTRIES`), are left to the NumPy path by :func:`run_sweeps` returning ``False``.
Per-chain parameters ``(n_chains, n_theta)`` are supported (one table per chain).

Kernel design (developer guide: dev-performance)
-------------------------
* one parallel region per call, ``prange`` over chains; a chain runs all its sweeps in one thread
  (a layer's units read only the adjacent layers, and layers of one group are non-adjacent, so
  updating the layers of a group one after the other *in place* is the block update), hence
  results do not depend on the thread count;
* all layers of a chain live in one ``uint8`` row with one always-empty pad unit after each
  layer, so the sentinel ``N_upper`` of open borders reads "empty" without a branch; neighbour
  indices are precomputed absolute positions in that row (no ``%``);
* the table row of a unit is a sum of per-code increments ``(q+1)^{β−1}`` (0 for empty) read from
  a tiny table — no branch on the species, no rank lookup (rows of impossible patterns with more
  than ``q`` neighbours are computed but never read; LV middle layer: 25 × 25 rows);
* the sums over a unit's ``q`` neighbours are box sums (:mod:`dbdlab.sampling._box_sums`): the
  local 2×2(×2) connectivity makes them separable, one contiguous two-tap pass per lattice axis
  instead of ``q`` indirect loads per unit (checked against the index tables when the layout is
  built; other connectivity, or ``USE_BOX_SUMS = False``, takes the gather path, which writes
  the sums out for ``q = 2, 4, 8``: as loops LLVM turns them into AVX-512 gathers, 3× slower on
  Zen 4).  Integer sums, so both paths give the same rows; the Rössler RBM's sweep is ≈ 3×
  faster with box sums (≈ 3.8 vs 10–13 ms for its 55 chains × 10 sweeps, one thread);
* a layer's uniforms are drawn first (a vectorised loop), then every unit's species is chosen
  branch-free (the count of cumulative sums passed, mapped to the code by a tiny table): the
  comparisons are random and a branch would mispredict;
* counter-based uniforms inline: unit ``i`` of layer ``l`` in sweep ``s`` of chain ``c`` takes draw
  ``i`` of ``derive(derive(keys[c], s), l)``, exactly as :func:`~dbdlab.sampling.gibbs_sweeps`.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from dbdlab.backend import Array, kernel_threads
from dbdlab.rng import derive_nb, uniform_nb

from ..models.boltzmann import BoltzmannMachine
from ._box_sums import box_plan, box_sum
from .conditionals import probabilities_from_activations

__all__ = [
    "MAX_TABLE_ENTRIES",
    "applies",
    "cumulative_tables",
    "mean_field_numba",
    "pattern_tables",
    "random_codes",
    "run_sweeps",
    "sample_layer_numba",
]

#: Largest number of float64 entries of all cumulative-probability tables of one call (64 MiB);
#: beyond it (huge species sets, or per-chain θ for very many chains) the NumPy path runs.
MAX_TABLE_ENTRIES = 1 << 23
#: Largest dense pattern index space ``(q+1)^M`` of one side of a layer.
_MAX_DENSE_PATTERNS = 1 << 20


# --- static layout of a model (cached per model object) ---------------------------------------


def _patterns(n_species: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Every neighbour-count pattern of one side in dense order, and the code → increment table.

    Pattern ``d`` has ``n_β = ⌊d / (q+1)^β⌋ mod (q+1)`` neighbours of species ``β`` (0-based), so a
    unit whose neighbours hold codes ``c_k`` has pattern ``Σ_k step[c_k]`` with
    ``step = (0, 1, q+1, (q+1)², …)`` (0 for empty).  Patterns with ``Σ n_β > q`` never occur; they
    are kept so that the index needs no rank lookup (they only cost table space).

    Returns ``(counts (D, n_species) float64, step (n_species+1,) int64)``, ``D = (q+1)^n_species``.
    """
    radix = q + 1
    powers = radix ** np.arange(n_species, dtype=np.int64)
    dense = np.arange(radix**n_species, dtype=np.int64)
    counts = (dense[:, None] // powers) % radix
    return counts.astype(np.float64), np.concatenate([[0], powers]).astype(np.int64)


@dataclass(frozen=True, eq=False)
class _Layout:
    """Flat arrays describing a model to the kernel (see the module docstring).

    Layer ``l``'s table row of a unit is ``Σ_k step_lo[l, lower codes] + Σ_k step_hi[l, upper
    codes]``: ``step_lo`` already carries the factor ``n_pat_hi[l]``, so the row is
    ``d_lo · D_hi + d_hi`` for dense lower / upper patterns ``d_lo``, ``d_hi``.
    """

    supported: bool          # False if some side has too many dense patterns
    offsets: np.ndarray      # (L+1,) start of layer l in a chain's row (layer + 1 pad unit)
    n_units: np.ndarray      # (L,)
    n_species: np.ndarray    # (L,)
    nbr_lo: np.ndarray       # uint32 absolute row positions of the lower neighbours, flat
    lo_start: np.ndarray     # (L,) start of layer l's block in nbr_lo
    q_lo: np.ndarray         # (L,) lower neighbours per unit (0 for layer 0)
    step_lo: np.ndarray      # (L, M_max+1) code → table-row increment, lower side
    nbr_hi: np.ndarray       # same for the upper side (sentinels point at the pad unit)
    hi_start: np.ndarray
    q_hi: np.ndarray
    step_hi: np.ndarray
    patterns_lo: tuple[np.ndarray, ...]  # per layer (D_lo, M_{l−1}) counts; (1, 0) if none
    patterns_hi: tuple[np.ndarray, ...]
    box: bool                # every side's pattern is a separable 2-tap box sum (checked)
    box_mode: np.ndarray     # (L, 2) per side (lower, upper): _BOX_* mode, −1 if no such layer
    box_shape: np.ndarray    # (L, 2, 3) the neighbour layer's shape, padded to 3 axes with 1s
    box_axes: np.ndarray     # (L, 2) number of lattice axes (the last ones of box_shape)
    buffer_size: int         # largest intermediate array of a box sum
    code_of: np.ndarray      # (L, M_max+1) uint8: code after passing k cumulative sums

    def kernel_arrays(self) -> tuple:
        """The arrays the kernels read, in the order of :func:`_layer_patterns`'s ``lay``."""
        return (self.offsets, self.n_units, self.nbr_lo, self.lo_start, self.q_lo, self.step_lo,
                self.nbr_hi, self.hi_start, self.q_hi, self.step_hi, self.box_mode,
                self.box_shape, self.box_axes, self.code_of)

    @property
    def row_length(self) -> int:
        return int(self.offsets[-1])

    def table_entries(self, layers: Sequence[int]) -> int:
        """Number of float64 entries of the tables of ``layers`` for one θ."""
        return sum(len(self.patterns_lo[l]) * len(self.patterns_hi[l]) * int(self.n_species[l])
                   for l in set(layers))


_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: Neighbour sums by box passes where the connectivity allows (:mod:`._box_sums`); ``False``
#: forces the gather path (the tests run both).
USE_BOX_SUMS = True


def _use_box(layout: _Layout) -> bool:
    return bool(USE_BOX_SUMS and layout.box)


def _layout(model: BoltzmannMachine) -> _Layout:
    cached = _LAYOUTS.get(model)
    if cached is not None:
        return cached
    n_layers = model.n_layers
    n_units = np.array([lay.n_units for lay in model.layers], dtype=np.int64)
    n_species = np.array([lay.n_species for lay in model.layers], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_units + 1)]).astype(np.int64)
    if offsets[-1] >= 2**32:
        raise ValueError("model too large for the Numba Gibbs kernel (uint32 positions)")
    m_max = int(n_species.max())
    supported = True
    sides = {}
    for side in ("lo", "hi"):
        nbr, starts, qs, pats = [], [], [], []
        steps = np.zeros((n_layers, m_max + 1), dtype=np.int64)
        pos = 0
        for l in range(n_layers):
            other = l - 1 if side == "lo" else l + 1
            q, counts = 0, np.zeros((1, 0))
            if 0 <= other < n_layers:
                conn = model.connections[min(l, other)]
                # lower side: the units of layer l−1 that upper unit i sees (always valid);
                # upper side: down_to_up, whose sentinel N_{l+1} lands on layer l+1's pad unit
                table = conn.up_to_down if side == "lo" else conn.down_to_up
                q = table.shape[1]
                m_other = int(n_species[other])
                if (q + 1) ** m_other > _MAX_DENSE_PATTERNS:
                    supported = False
                else:
                    counts, steps[l, :m_other + 1] = _patterns(m_other, q)
                nbr.append((offsets[other] + table).reshape(-1))
            starts.append(pos)
            qs.append(q)
            pos += int(n_units[l]) * q
            pats.append(counts)
        sides[side] = [np.concatenate(nbr).astype(np.uint32) if nbr else
                       np.zeros(0, np.uint32), np.array(starts, np.int64),
                       np.array(qs, np.int64), steps, tuple(pats)]
    # fold the upper side's pattern count into the lower steps: one sum gives the table row
    n_pat_hi = np.array([len(p) for p in sides["hi"][4]], dtype=np.int64)
    sides["lo"][3] = sides["lo"][3] * n_pat_hi[:, None]
    lo, hi = sides["lo"], sides["hi"]
    box, box_mode, box_shape, box_axes, buffer_size = box_plan(model)
    # k cumulative sums passed: species k (code k + 1), or empty (0) when all m were passed
    code_of = np.zeros((n_layers, m_max + 1), dtype=np.uint8)
    for l, m in enumerate(n_species):
        code_of[l, :m] = np.arange(1, m + 1)
    layout = _Layout(supported, offsets, n_units, n_species, *lo[:4], *hi[:4],
                     patterns_lo=lo[4], patterns_hi=hi[4], box=box, box_mode=box_mode,
                     box_shape=box_shape, box_axes=box_axes, buffer_size=buffer_size,
                     code_of=code_of)
    _LAYOUTS[model] = layout
    return layout


# --- tables built with the NumPy reference arithmetic -----------------------------------------


def _count_term(counts: np.ndarray, w: Array, n_units: int) -> Array:
    """``counts @ w`` evaluated in the same ``matmul`` dispatch class as the NumPy sampler.

    The sampler multiplies ``(chains, N, M')`` lattice counts; NumPy sends ``N == 1`` (a one-unit
    layer) to its vector–matrix branch and ``N > 1`` to matrix–matrix BLAS, whose roundings (FMA
    or not) may differ for off-diagonal weights — so a one-unit layer's table is built one
    pattern row at a time.  Pattern tables always have more than one row.
    """
    if n_units == 1:
        return np.concatenate([counts[k:k + 1] @ w for k in range(len(counts))], axis=-2)
    return counts @ w


def cumulative_tables(model: BoltzmannMachine, biases: Sequence[Array],
                      weights: Sequence[Array], layers_to_update: Sequence[int],
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative conditional probabilities of every neighbour-count pattern, per layer.

    :func:`pattern_tables` with ``cumulative=True`` (the sampler's tables).
    """
    return pattern_tables(model, biases, weights, layers_to_update, cumulative=True)


def pattern_tables(model: BoltzmannMachine, biases: Sequence[Array],
                   weights: Sequence[Array], layers_to_update: Sequence[int],
                   cumulative: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Conditional probabilities (or their cumulative sums) of every neighbour-count pattern.

    Mirrors :func:`dbdlab.sampling.conditionals._activations` operation by operation (see the
    module docstring), so entries are bit-identical to what the NumPy path computes for a unit.

    Returns
    -------
    table
        ``(T, total)`` float64 with ``T = 1`` (one θ) or ``n_chains`` (one θ per chain); layer
        ``l``'s block starts at ``start[l]`` and holds ``(D_lo · D_hi, M_l)`` entries in C order,
        row ``d_lo · D_hi + d_hi`` for the dense lower / upper patterns of :func:`_patterns`.
    start
        ``(L,)`` int64 block starts (0 for layers not updated).
    """
    layout = _layout(model)
    n_theta_rows = 1 if np.ndim(biases[0]) == 1 else int(np.shape(biases[0])[0])
    blocks, start, pos = [], np.zeros(model.n_layers, dtype=np.int64), 0
    for l in sorted(set(int(l) for l in layers_to_update)):
        n = int(layout.n_units[l])
        pat_lo, pat_hi = layout.patterns_lo[l], layout.patterns_hi[l]
        # only patterns with at most q neighbours occur; the others' rows stay 0, never read
        lo = np.flatnonzero(pat_lo.sum(axis=1) <= layout.q_lo[l])
        hi = np.flatnonzero(pat_hi.sum(axis=1) <= layout.q_hi[l])
        phi = biases[l][..., None, :]  # (1, M) or (T, 1, M): the sampler's first operand
        if l > 0:
            phi = phi + _count_term(pat_lo[lo], weights[l - 1], n)
        phi = phi[..., :, None, :]  # pattern axes (lower, upper)
        if l < model.n_layers - 1:
            above = _count_term(pat_hi[hi], np.swapaxes(weights[l], -1, -2), n)
            phi = phi + above[..., None, :, :]
        m = int(layout.n_species[l])
        phi = np.broadcast_to(phi, (n_theta_rows, len(lo), len(hi), m))
        cum = np.zeros((n_theta_rows, len(pat_lo), len(pat_hi), m))
        p = probabilities_from_activations(phi)
        cum[:, lo[:, None], hi[None, :]] = np.cumsum(p, axis=-1) if cumulative else p
        start[l] = pos
        pos += cum[0].size
        blocks.append(cum.reshape(n_theta_rows, -1))
    table = np.ascontiguousarray(np.concatenate(blocks, axis=1)) if blocks else \
        np.zeros((1, 0))
    return table, start


# --- the kernel -------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _gather_side(row, nbr, j, q, step):
    """``Σ_k step[row[nbr[j + k]]]`` over one side's ``q`` neighbours of a unit.

    Written out for the local patterns' ``q = 2, 4, 8``: as loops, LLVM vectorises them with
    AVX-512 gathers once ``q ≥ 8`` (3× slower on Zen 4).  Inlined at Numba's IR level (an
    ordinary call per unit was 3× slower).
    """
    if q == 8:
        return (step[row[nbr[j]]] + step[row[nbr[j + 1]]]
                + step[row[nbr[j + 2]]] + step[row[nbr[j + 3]]]
                + step[row[nbr[j + 4]]] + step[row[nbr[j + 5]]]
                + step[row[nbr[j + 6]]] + step[row[nbr[j + 7]]])
    if q == 4:
        return (step[row[nbr[j]]] + step[row[nbr[j + 1]]]
                + step[row[nbr[j + 2]]] + step[row[nbr[j + 3]]])
    if q == 2:
        return step[row[nbr[j]]] + step[row[nbr[j + 1]]]
    total = 0  # no layer on this side (other q do not occur)
    for k in range(q):
        total += step[row[nbr[j + k]]]
    return total


@njit(cache=True)
def _gather_patterns(row, l, lay, out):
    """Pattern index of every unit of layer ``l`` by indirect loads (any connectivity)."""
    nbr_lo, lo_start, q_lo, step_lo = lay[2], lay[3], lay[4], lay[5]
    nbr_hi, hi_start, q_hi, step_hi = lay[6], lay[7], lay[8], lay[9]
    qlo = q_lo[l]
    qhi = q_hi[l]
    for i in range(lay[1][l]):
        out[i] = (_gather_side(row, nbr_lo, lo_start[l] + i * qlo, qlo, step_lo[l])
                  + _gather_side(row, nbr_hi, hi_start[l] + i * qhi, qhi, step_hi[l]))


@njit(cache=True)
def _layer_patterns(row, l, lay, use_box, out, buf_a, buf_b):
    """Dense pattern index (the table row) of every unit of layer ``l`` into ``out``.

    ``lay`` is :meth:`_Layout.kernel_arrays`; with ``use_box`` the neighbour sums are box sums
    (:mod:`dbdlab.sampling._box_sums`), else gathers.  Integer sums: both give the same values.
    """
    if not use_box:
        _gather_patterns(row, l, lay, out)
        return
    offsets, n_units, step_lo, step_hi = lay[0], lay[1], lay[5], lay[9]
    box_mode, box_shape, box_axes = lay[10], lay[11], lay[12]
    n = np.uint64(n_units[l])
    for i in range(n):
        out[i] = 0
    for side in range(2):
        mode = box_mode[l, side]
        if mode < 0:
            continue
        other = l - 1 if side == 0 else l + 1
        step = step_lo[l] if side == 0 else step_hi[l]
        sums = box_sum(row, offsets[other], step, box_shape[l, side], box_axes[l, side], mode,
                       buf_a, buf_b)
        for i in range(n):
            out[i] += sums[i]


@njit(cache=True)
def _draw_layer(row, base, n, key, patterns, uniforms, tab, t0, m, code_of):
    """New codes of the ``n`` units at ``row[base:]`` from their table rows (the NumPy rule).

    Unit ``i`` takes draw ``i`` of ``key`` and the number ``k`` of cumulative probabilities it
    passed; its code is ``code_of[k]`` (``k + 1``, species ``k``; 0 = empty if it passed all
    ``m``).  The draws are made first (a loop LLVM vectorises); the comparisons are written out
    for ``m ≤ 3`` and branch-free (their outcomes are random, a branch would mispredict; the
    code lookup measured 5× faster than ``(k + 1)·(k < m)``), with unsigned indices (no
    negative-index fix-ups).
    """
    for i in range(n):
        uniforms[i] = uniform_nb(key, i)
    um = np.uint64(m)
    ut0 = np.uint64(t0)
    ubase = np.uint64(base)
    one, two = np.uint64(1), np.uint64(2)
    for i in range(np.uint64(n)):
        u = uniforms[i]
        at = ut0 + np.uint64(patterns[i]) * um
        if m == 3:
            passed = (np.uint8(tab[at] <= u) + np.uint8(tab[at + one] <= u)
                      + np.uint8(tab[at + two] <= u))
        elif m == 2:
            passed = np.uint8(tab[at] <= u) + np.uint8(tab[at + one] <= u)
        elif m == 1:
            passed = np.uint8(tab[at] <= u)
        else:
            passed = np.uint8(0)
            for a in range(um):
                passed += np.uint8(tab[at + a] <= u)
        row[ubase + i] = code_of[passed]


@njit(parallel=True, cache=True)
def _sweeps_kernel(state, keys, first_sweep, n_sweeps, sequence, keys_are_layer_keys,
                   lay, use_box, buffer_size, n_species, table, table_rows, table_start):
    """Run ``n_sweeps`` sweeps (layers updated in ``sequence`` order) of every chain in place.

    ``state`` is ``(n_chains, row_length)`` uint8 and the neighbour positions are uint32:
    unsigned indices need no negative-index fix-up.  ``lay`` is :meth:`_Layout.kernel_arrays`;
    chain ``c`` reads table row ``table_rows[c]``.  With ``keys_are_layer_keys`` the keys are
    already the per-chain keys of a single layer update (the
    :func:`~dbdlab.sampling.sample_layer_given_neighbours` hook).
    """
    n_chains = state.shape[0]
    offsets, n_units, code_of = lay[0], lay[1], lay[13]
    for c in prange(n_chains):
        row = state[c]
        tab = table[table_rows[c]]
        patterns = np.empty(buffer_size, dtype=np.int64)
        uniforms = np.empty(buffer_size, dtype=np.float64)
        buf_a = np.empty(buffer_size, dtype=np.int64)
        buf_b = np.empty(buffer_size, dtype=np.int64)
        for s in range(n_sweeps):
            sweep_key = derive_nb(keys[c], first_sweep + s)
            for g in range(sequence.shape[0]):
                l = sequence[g]
                key = keys[c] if keys_are_layer_keys else derive_nb(sweep_key, l)
                _layer_patterns(row, l, lay, use_box, patterns, buf_a, buf_b)
                _draw_layer(row, offsets[l], n_units[l], key, patterns, uniforms, tab,
                            table_start[l], n_species[l], code_of[l])


@njit(parallel=True, cache=True)
def random_codes(init_keys, layer, n_units, cum):
    """Random initial codes of one layer, bit-identical to ``chains._random_layer`` on NumPy.

    Unit ``i`` of chain ``c`` takes draw ``i`` of ``derive(init_keys[c], layer)`` and gets the
    number of cumulative state probabilities ``cum`` (empty first, last one dropped) it passed.
    """
    out = np.empty((init_keys.shape[0], n_units), dtype=np.int8)
    for c in prange(init_keys.shape[0]):
        key = derive_nb(init_keys[c], layer)
        for i in range(n_units):
            u = uniform_nb(key, i)
            passed = 0
            for k in range(cum.shape[0]):
                passed += u >= cum[k]
            out[c, i] = passed
    return out


# --- Python entry points ----------------------------------------------------------------------

# Last tables per model: repeated calls with the same θ (sampling in short bursts, e.g. one
# call per recorded sweep) skip the NumPy table build, which dominates a call for few chains.
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tables(model: BoltzmannMachine, biases, weights, sequence: Sequence[int],
            cumulative: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pattern tables of one call: ``(table, start, rows)``.

    ``table`` has one row per *distinct* θ (per-chain θ often repeats, e.g. a batch of chains
    per timepoint; rows compared bit for bit) and chain ``c`` reads row ``rows[c]``; for one
    shared θ, ``table`` has one row and ``rows`` is ``[0]`` (every chain reads it).
    """
    key = (tuple(sorted(set(sequence))), cumulative, np.shape(biases[0]),
           b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes()
                    for a in (*biases, *weights)))
    cached = _TABLES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    rows = np.zeros(1, dtype=np.int64)
    if np.ndim(biases[0]) == 2 and len(biases[0]) > 1:
        flat = np.concatenate([np.ascontiguousarray(a, dtype=np.float64).reshape(len(a), -1)
                               for a in (*biases, *weights)], axis=1)
        keys = np.ascontiguousarray(flat).view(np.dtype((np.void, 8 * flat.shape[1])))[:, 0]
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        biases, weights = [b[first] for b in biases], [w[first] for w in weights]
        rows = inverse.reshape(-1).astype(np.int64)
    table, start = pattern_tables(model, biases, weights, sequence, cumulative)
    _TABLES[model] = (key, (table, start, rows))
    return table, start, rows


def _chain_rows(rows: np.ndarray, n_chains: int) -> np.ndarray:
    """The table row of every chain (``rows`` of :func:`_tables`, broadcast for shared θ)."""
    return rows if len(rows) == n_chains else np.zeros(n_chains, dtype=np.int64)


def _is_codes(state: Array) -> bool:
    return isinstance(state, np.ndarray) and state.dtype.kind in "iu"


def _needed(model: BoltzmannMachine, sequence: Sequence[int]) -> set[int]:
    return {k for l in sequence for k in (l - 1, l, l + 1) if 0 <= k < model.n_layers}


def applies(model: BoltzmannMachine, layers: Sequence[Array], sequence: Sequence[int],
            n_theta_rows: int = 1) -> bool:
    """Whether the kernel can update ``sequence`` of ``layers`` (see "Coverage and fallback")."""
    if not hasattr(model, "connections"):  # models without inter-layer connectivity
        return False
    layout = _layout(model)
    return (layout.supported
            and all(_is_codes(layers[l]) for l in _needed(model, sequence))
            and n_theta_rows * layout.table_entries(sequence) <= MAX_TABLE_ENTRIES)


def _run(model: BoltzmannMachine, biases, weights, layers: Sequence[Array], keys: np.ndarray,
         sequence: Sequence[int], first_sweep: int, n_sweeps: int,
         keys_are_layer_keys: bool) -> dict[int, np.ndarray] | None:
    """Kernel call on copies of the layers; the new states of the updated layers, or ``None``."""
    n_rows = 1 if np.ndim(biases[0]) == 1 else int(np.shape(biases[0])[0])
    if not applies(model, layers, sequence, n_rows):
        return None
    layout = _layout(model)
    table, table_start, rows = _tables(model, biases, weights, sequence)
    n_chains = int(keys.shape[0])
    state = np.zeros((n_chains, layout.row_length), dtype=np.uint8)
    for l in _needed(model, sequence):
        state[:, layout.offsets[l]:layout.offsets[l] + layout.n_units[l]] = layers[l]
    work = n_chains * int(n_sweeps) * sum(int(layout.n_units[l]) for l in sequence)
    with kernel_threads(work):
        _sweeps_kernel(state, np.ascontiguousarray(keys, dtype=np.uint64), int(first_sweep),
                       int(n_sweeps), np.asarray(sequence, dtype=np.int64), keys_are_layer_keys,
                       layout.kernel_arrays(), _use_box(layout), layout.buffer_size,
                       layout.n_species, table, _chain_rows(rows, n_chains), table_start)
    return {l: state[:, layout.offsets[l]:layout.offsets[l] + layout.n_units[l]].astype(np.int8)
            for l in set(sequence)}


def run_sweeps(model: BoltzmannMachine, biases: Sequence[Array], weights: Sequence[Array],
               chains, groups: Sequence[Sequence[int]], n_sweeps: int) -> bool:
    """Run ``n_sweeps`` Gibbs sweeps of ``chains`` with the kernel, if it applies.

    Parameters
    ----------
    model, biases, weights
        The model and ``model.unpack_theta(θ)`` (θ of shape ``(n_theta,)`` or
        ``(n_chains, n_theta)``).
    chains
        :class:`~dbdlab.sampling.Chains` with NumPy arrays (backend ``"numba"``); updated in
        place (layers and sweep counter) when the kernel runs.
    groups
        The sweep's groups of layers, as in :func:`~dbdlab.sampling.gibbs_sweeps`.
    n_sweeps
        Number of sweeps.

    Returns
    -------
    ``True`` if the sweeps were done (bit-identical to the NumPy loop); ``False`` if the kernel
    does not apply (a layer it reads holds probabilities, or the tables would be too large),
    in which case nothing was changed.
    """
    sequence = [int(l) for g in groups for l in g]
    if n_sweeps <= 0 or not sequence:
        return n_sweeps <= 0
    new = _run(model, biases, weights, chains.layers, chains.keys, sequence, chains.sweep,
               n_sweeps, False)
    if new is None:
        return False
    for l, s in new.items():
        chains.layers[l] = s
    chains.sweep += int(n_sweeps)
    return True


def sample_layer_numba(model: BoltzmannMachine, biases: Sequence[Array],
                       weights: Sequence[Array], layers: Sequence[Array], l: int,
                       keys: Array) -> np.ndarray | None:
    """Drop-in twin of :func:`~dbdlab.sampling.sample_layer_given_neighbours` (NumPy arrays).

    ``keys`` are the per-chain keys of this layer update.  Returns the new ``int8`` codes of
    layer ``l``, bit-identical to the hook, or ``None`` when the kernel does not apply (a
    neighbour layer holds probabilities, or the tables would be too large).
    """
    new = _run(model, biases, weights, layers, np.asarray(keys), [int(l)], 0, 1, True)
    return None if new is None else new[int(l)]


@njit(parallel=True, cache=True)
def _mean_field_kernel(state, sequence, lay, use_box, buffer_size, n_species, table,
                       table_rows, table_start, out):
    """Probabilities of the layers in ``sequence`` given the binary ``state``, from the tables.

    Every layer reads the unchanged ``state`` (a parallel step); layer ``sequence[g]``'s
    probabilities go to ``out[g][c, i·M + α]``.
    """
    for c in prange(state.shape[0]):
        row = state[c]
        tab = table[table_rows[c]]
        patterns = np.empty(buffer_size, dtype=np.int64)
        buf_a = np.empty(buffer_size, dtype=np.int64)
        buf_b = np.empty(buffer_size, dtype=np.int64)
        for g in range(sequence.shape[0]):
            l = sequence[g]
            m = n_species[l]
            dest = out[g]
            _layer_patterns(row, l, lay, use_box, patterns, buf_a, buf_b)
            for i in range(lay[1][l]):
                at = table_start[l] + patterns[i] * m
                for a in range(m):
                    dest[c, i * m + a] = tab[at + a]


def mean_field_numba(model: BoltzmannMachine, biases: Sequence[Array], weights: Sequence[Array],
                     layers: Sequence[Array], sequence: Sequence[int],
                     ) -> dict[int, np.ndarray] | None:
    """One parallel mean-field step of the layers ``sequence`` from binary ``layers``.

    Returns ``{l: p (n_chains, N_l, M_l)}``, bit-identical to
    ``probabilities_from_activations(_activations(...))`` of the NumPy path (the table entries
    are computed by that arithmetic, see the module docstring), or ``None`` when the kernel does
    not apply (a layer read holds probabilities, or the tables would be too large).
    """
    sequence = [int(l) for l in sequence]
    n_rows = 1 if np.ndim(biases[0]) == 1 else int(np.shape(biases[0])[0])
    if not sequence or not applies(model, layers, sequence, n_rows):
        return None
    layout = _layout(model)
    table, table_start, rows = _tables(model, biases, weights, sequence, cumulative=False)
    n_chains = int(np.shape(layers[sequence[0]])[0])
    state = np.zeros((n_chains, layout.row_length), dtype=np.uint8)
    for l in _needed(model, sequence):
        state[:, layout.offsets[l]:layout.offsets[l] + layout.n_units[l]] = layers[l]
    out = tuple(np.empty((n_chains, int(layout.n_units[l] * layout.n_species[l])))
                for l in sequence)
    _mean_field_kernel(state, np.asarray(sequence, dtype=np.int64), layout.kernel_arrays(),
                       _use_box(layout), layout.buffer_size, layout.n_species, table,
                       _chain_rows(rows, n_chains), table_start, out)
    return {l: p.reshape(n_chains, int(layout.n_units[l]), int(layout.n_species[l]))
            for l, p in zip(sequence, out, strict=True)}
