"""Moments (observables) of lattice configurations: counts, pair moments, 1D chains.

Every function is written once against an array module ``xp`` chosen from its input, so the same
code runs on NumPy and CuPy arrays and returns arrays of the input's module (developer guide:
dev-backends). Sums run over whole lattices with slicing (open boundaries) or ``xp.roll`` (periodic
boundaries); there is no Python loop over sites.

Conventions
-----------
* A *code lattice* is an integer (normally ``int8``) array of shape ``(..., *spatial)`` with
  ``0`` = empty and ``1..S`` = species; ``ndim`` (1, 2 or 3) trailing axes are spatial, the
  leading axes (replica, time, chain, ...) are batch axes and are kept in every output.
* An *occupancy* ``s_a`` has the same shape and holds ``s_{r,a}`` — 0/1 for simulation data,
  probabilities for model samples, or centred values ``s - mu`` (reproduction notes:
  repro-model-moments); the pair rules below are plain sums of products and hold for any real
  values.
* Pair moments follow the rule of the authors' code (reproduction notes: repro-moments, DBZ 4.5
  ``Lattice::reap_moment_sample_from_displacement``): for every site ``r`` and every listed
  displacement ``d`` add ``s_a(r) s_b(r+d)`` and, for two different species, also
  ``s_b(r) s_a(r+d)``. Only "positive" displacements are listed, so each unordered site pair is
  visited once and an ``a``-``b`` bond is counted whichever end holds ``a``.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numba import njit, prange

from dbdlab.backend import Array, array_module, to_numpy

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "NNN_KINDS",
    "NN_DISPLACEMENTS",
    "NNN_DISPLACEMENTS",
    "chain_moment_1d",
    "counts",
    "lattice_moments",
    "neighbour_agreement_1d",
    "nn_pairs",
    "nnn_pairs",
    "occupancy",
    "pair_moment",
]

#: An integer lattice displacement, one component per spatial axis.
Displacement: TypeAlias = tuple[int, ...]

#: Accepted values of the ``kind`` of next-nearest-neighbour displacement sets.
NNN_KINDS = ("reference", "full")


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _check_ndim(ndim: Any) -> int:
    if not _is_int(ndim) or int(ndim) not in (1, 2, 3):
        raise ValueError(f"ndim must be 1, 2 or 3 (number of spatial axes), got {ndim!r}")
    return int(ndim)


def _check_kind(kind: Any, name: str) -> str:
    if kind not in NNN_KINDS:
        raise ValueError(f"{name} must be one of {NNN_KINDS}, got {kind!r}")
    return kind


def _check_spatial(a: Array, ndim: int, name: str) -> None:
    if a.ndim < ndim:
        raise ValueError(
            f"{name} has {a.ndim} axes, fewer than the ndim={ndim} spatial axes it must end with"
        )


def _spatial_axes(ndim: int) -> tuple[int, ...]:
    return tuple(range(-ndim, 0))


def _check_displacements(displacements: Any, ndim: int | None) -> tuple[Displacement, ...]:
    """Validate a non-empty list of integer displacements of one common length ``ndim``."""
    try:
        disps = tuple(tuple(d) for d in displacements)
    except TypeError:
        raise ValueError(
            "displacements must be a sequence of integer tuples, e.g. [(0, 1), (1, 0)], "
            f"got {displacements!r}"
        ) from None
    if not disps:
        raise ValueError("displacements must not be empty")
    if ndim is None:
        ndim = len(disps[0])
        if ndim not in (1, 2, 3):
            raise ValueError(f"displacements must have 1, 2 or 3 components, got {displacements!r}")
    else:
        ndim = _check_ndim(ndim)
    out = []
    for d in disps:
        if len(d) != ndim:
            raise ValueError(
                f"displacements must all have length ndim={ndim}, got {d!r} in {displacements!r}"
            )
        if not all(_is_int(c) for c in d):
            raise ValueError(f"displacements must have integer components, got {d!r}")
        if all(c == 0 for c in d):
            # s(r) s(r) is a single-site term, not a pair moment; almost certainly a bug upstream.
            raise ValueError("displacements must not contain the zero displacement")
        out.append(tuple(int(c) for c in d))
    return tuple(out)


def _shifted_product_sum(
    a: Array, b: Array, d: Displacement, *, periodic: bool, xp: ModuleType
) -> Array:
    """``sum_r a(r) b(r + d)`` over the trailing ``len(d)`` axes (batch axes kept)."""
    ndim = len(d)
    axes = _spatial_axes(ndim)
    if periodic:
        moved = [(-c, ax) for c, ax in zip(d, axes, strict=True) if c != 0]
        shifts, roll_axes = zip(*moved, strict=True)
        # roll(b, -d)[r] = b[r + d mod L]
        return (a * xp.roll(b, shift=shifts, axis=roll_axes)).sum(axis=axes)
    lead = (slice(None),) * (a.ndim - ndim)
    sl_a, sl_b = [], []
    for c, length in zip(d, a.shape[-ndim:], strict=True):
        # Only r with r + d inside the lattice: n = L - |d| positions (none if |d| >= L; the
        # empty slices then give a correctly typed zero instead of negative-index wrap-around).
        n = max(length - abs(c), 0)
        start_a, start_b = max(0, -c), max(0, c)
        sl_a.append(slice(start_a, start_a + n))
        sl_b.append(slice(start_b, start_b + n))
    return (a[(*lead, *sl_a)] * b[(*lead, *sl_b)]).sum(axis=axes)


# ----------------------------------------------------------------------------------------------
# displacement sets
# ----------------------------------------------------------------------------------------------


@cache
def NN_DISPLACEMENTS(ndim: int) -> tuple[Displacement, ...]:  # noqa: N802 (constant-like table)
    """Positive unit vectors: the nearest-neighbour displacements, one per unordered bond.

    Parameters
    ----------
    ndim
        Number of spatial axes (1, 2 or 3).

    Returns
    -------
    tuple of tuple of int
        ``((1,),)``, ``((1, 0), (0, 1))`` or the three unit vectors in 3D (reproduction notes:
        repro-moments: NN pairs use the positive directions only).
    """
    ndim = _check_ndim(ndim)
    return tuple(tuple(int(i == k) for i in range(ndim)) for k in range(ndim))


@cache
def NNN_DISPLACEMENTS(  # noqa: N802 (constant-like table)
    ndim: int, kind: str = "reference"
) -> tuple[Displacement, ...]:
    """Next-nearest-neighbour displacements (Manhattan distance two), one of each ``±d`` pair.

    Parameters
    ----------
    ndim
        Number of spatial axes (1, 2 or 3).
    kind
        ``"full"``: every displacement of L1 norm 2 whose first nonzero component is positive
        (2D: (0,2), (1,-1), (1,1), (2,0); 3D: 9 vectors), i.e. every unordered distance-two pair
        once. ``"reference"``: only those with all components >= 0 (2D: (0,2), (1,1), (2,0)) —
        the set of the authors' code, which misses the anti-diagonal (1,-1) and so counts 3 of
        the 4 distance-two directions (reproduction notes: repro-moments, DBZ 4.5
        ``reap_moment_nnn``). In 1D both are ``((2,),)``.

    Returns
    -------
    tuple of tuple of int
        Lexicographically sorted displacements.
    """
    ndim = _check_ndim(ndim)
    kind = _check_kind(kind, "kind")
    norm2 = [d for d in itertools.product(range(-2, 3), repeat=ndim) if sum(map(abs, d)) == 2]
    if kind == "reference":
        chosen = [d for d in norm2 if min(d) >= 0]
    else:
        chosen = [d for d in norm2 if next(c for c in d if c != 0) > 0]
    return tuple(sorted(chosen))


# ----------------------------------------------------------------------------------------------
# primitives
# ----------------------------------------------------------------------------------------------


def occupancy(lattice: Array, code: int, dtype: Any = None) -> Array:
    """Occupancy ``s_{r,a}`` of one species from a code lattice.

    Parameters
    ----------
    lattice
        Integer code lattice, any shape (0 = empty, ``k`` = species ``k``).
    code
        Species code to select.
    dtype
        Output dtype; default ``int32`` so that sums of it are exact counts.

    Returns
    -------
    array
        ``(lattice == code)`` as ``dtype``, same module and shape as ``lattice``.
    """
    if not _is_int(code):
        raise ValueError(f"code must be an integer species code, got {code!r}")
    xp = array_module(lattice)
    lattice = xp.asarray(lattice)
    return (lattice == code).astype(xp.int32 if dtype is None else dtype)


def counts(s: Array, ndim: int) -> Array:
    """Bias moment ``M_a = sum_r s_{r,a}``: sum over the trailing ``ndim`` axes.

    Parameters
    ----------
    s
        Occupancy (0/1 or probabilities) of shape ``(..., *spatial)``.
    ndim
        Number of trailing spatial axes (1, 2 or 3).

    Returns
    -------
    array
        Shape ``s.shape[:-ndim]`` (reproduction notes: repro-model-moments, bias moment).
    """
    ndim = _check_ndim(ndim)
    xp = array_module(s)
    s = xp.asarray(s)
    _check_spatial(s, ndim, "s")
    return s.sum(axis=_spatial_axes(ndim))


def pair_moment(
    s_a: Array,
    s_b: Array,
    displacements: Sequence[Sequence[int]],
    *,
    periodic: bool,
    same_species: bool,
    ndim: int | None = None,
) -> Array:
    """Pair moment over a list of displacements (reproduction notes: repro-moments).

    ``M = sum_r sum_d s_a(r) s_b(r+d)``, plus ``s_b(r) s_a(r+d)`` when ``same_species`` is false.
    With open boundaries the sum runs only over ``r`` with ``r + d`` inside the lattice; with
    periodic boundaries ``r + d`` wraps. Listing one displacement of each ``±d`` pair visits
    every unordered site pair at that separation once; the second term makes a bond between
    two different species count whichever end holds ``a``.

    Parameters
    ----------
    s_a, s_b
        Occupancies of the same shape ``(..., *spatial)`` (0/1, probabilities or centred values).
    displacements
        Integer tuples of length ``ndim``; components may be negative.
    periodic
        Wrap ``r + d`` (torus) instead of dropping pairs that leave the lattice (walls).
    same_species
        True when ``s_a`` and ``s_b`` are the same species: add only ``s_a(r) s_a(r+d)``.
        Passing two different arrays with ``same_species=True`` gives the one-orientation sum.
    ndim
        Number of spatial axes; default: the length of the displacements. Given, it is checked
        against them.

    Returns
    -------
    array
        Shape ``s_a.shape[:-ndim]``, module of the inputs.

    Notes
    -----
    The periodic rule is applied literally, as in the reference code: on a periodic axis of
    length ``L_k <= 2|d_k|`` the site ``r + d`` is also reachable the other way round (or is a
    nearer site, or ``r`` itself), so the result no longer counts distinct pairs at distance
    ``d`` (e.g. a ring of two sites has two NN bonds). Periodic axes longer than ``2 max|d_k|``
    (5 sites for NNN) avoid this.
    """
    disps = _check_displacements(displacements, ndim)
    ndim = len(disps[0])
    xp = array_module(s_a, s_b)
    s_a, s_b = xp.asarray(s_a), xp.asarray(s_b)
    _check_spatial(s_a, ndim, "s_a")
    if s_a.shape != s_b.shape:
        raise ValueError(f"s_a and s_b must have the same shape, got {s_a.shape} and {s_b.shape}")
    total = None
    for d in disps:
        term = _shifted_product_sum(s_a, s_b, d, periodic=periodic, xp=xp)
        if not same_species:
            term = term + _shifted_product_sum(s_b, s_a, d, periodic=periodic, xp=xp)
        total = term if total is None else total + term
    return total


def nn_pairs(
    s_a: Array,
    s_b: Array,
    ndim: int,
    *,
    periodic: bool,
    same_species: bool | None = None,
) -> Array:
    """Nearest-neighbour pair moment ``NN(a, b)``: unordered a-b bonds (reproduction notes:
    repro-moments).

    Parameters
    ----------
    s_a, s_b
        Occupancies of shape ``(..., *spatial)``.
    ndim
        Number of spatial axes (1, 2 or 3).
    periodic
        Periodic boundaries (paper B's LV data) or walls (paper A; also the simulator's own
        ``nns`` output, reproduction notes: repro-output).
    same_species
        Default: ``s_a is s_b``.

    Returns
    -------
    array
        Shape ``s_a.shape[:-ndim]``.
    """
    if same_species is None:
        same_species = s_a is s_b
    return pair_moment(
        s_a, s_b, NN_DISPLACEMENTS(_check_ndim(ndim)), periodic=periodic, same_species=same_species
    )


def nnn_pairs(
    s_a: Array,
    s_b: Array,
    ndim: int,
    *,
    periodic: bool,
    kind: str = "reference",
    same_species: bool | None = None,
) -> Array:
    """Next-nearest-neighbour (Manhattan distance two) pair moment ``NNN(a, b)``.

    Parameters
    ----------
    s_a, s_b
        Occupancies of shape ``(..., *spatial)``.
    ndim
        Number of spatial axes (1, 2 or 3).
    periodic
        Periodic boundaries or walls.
    kind
        ``"reference"`` (the authors' three 2D directions, default, needed to reproduce paper B's
        moments) or ``"full"``; see :func:`NNN_DISPLACEMENTS`.
    same_species
        Default: ``s_a is s_b``.

    Returns
    -------
    array
        Shape ``s_a.shape[:-ndim]``.
    """
    if same_species is None:
        same_species = s_a is s_b
    disps = NNN_DISPLACEMENTS(_check_ndim(ndim), _check_kind(kind, "kind"))
    return pair_moment(s_a, s_b, disps, periodic=periodic, same_species=same_species)


def chain_moment_1d(v: Array, order: int, *, periodic: bool = False) -> Array:
    """1D chain moment ``sum_i v_i v_{i+1} ... v_{i+order-1}`` over the last axis.

    ``order`` = 1, 2, 3, 4 gives paper A's m1 (count), m2 (pairs), m3 (triplets), m4 (quartics)
    with overlapping windows (reproduction notes: repro-moments; DBZ 3.1 ``get_count_1d``).

    Parameters
    ----------
    v
        Occupancy of shape ``(..., N)``.
    order
        Window length, >= 1.
    periodic
        Open ends: ``N - order + 1`` windows (none if ``order > N``). Periodic: ``N`` windows
        that wrap around the ring.

    Returns
    -------
    array
        Shape ``v.shape[:-1]``.
    """
    if not _is_int(order) or order < 1:
        raise ValueError(f"order must be an integer >= 1, got {order!r}")
    xp = array_module(v)
    v = xp.asarray(v)
    _check_spatial(v, 1, "v")
    n = v.shape[-1]
    if periodic:
        prod = v
        for k in range(1, order):
            prod = prod * xp.roll(v, -k, axis=-1)
    else:
        m = max(n - order + 1, 0)
        prod = v[..., :m]
        for k in range(1, order):
            prod = prod * v[..., k : k + m]
    return prod.sum(axis=-1)


def neighbour_agreement_1d(v: Array) -> Array:
    """Neighbour agreement ``(1/(N-1)) sum_i (1 - 2|v_{i+1} - v_i|)`` over the last axis.

    This is paper A Fig. 3(b)'s "correlation" as the authors computed it: P(equal neighbours)
    minus P(unequal neighbours) for 0/1 data, open ends (reproduction notes: repro-moments).

    Parameters
    ----------
    v
        Occupancy of shape ``(..., N)`` with ``N >= 2``.

    Returns
    -------
    array
        Float64, shape ``v.shape[:-1]``.
    """
    xp = array_module(v)
    v = xp.asarray(v)
    _check_spatial(v, 1, "v")
    n = v.shape[-1]
    if n < 2:
        raise ValueError(f"v must have at least 2 sites along its last axis, got {n}")
    # float64 first: unsigned 0/1 inputs would wrap on subtraction
    v = v.astype(xp.float64, copy=False)
    return (1.0 - 2.0 * xp.abs(v[..., 1:] - v[..., :-1])).sum(axis=-1) / (n - 1)


# ----------------------------------------------------------------------------------------------
# all moments of a code lattice as a labelled Dataset
# ----------------------------------------------------------------------------------------------


def _check_species(species: Any) -> tuple[str, ...]:
    if isinstance(species, str) or not isinstance(species, Sequence):
        raise ValueError(f"species must be a sequence of names, e.g. ['X', 'Y'], got {species!r}")
    names = tuple(species)
    if not names or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"species must be a non-empty list of non-empty strings, got {species!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"species names must be unique, got {species!r}")
    if len(names) > np.iinfo(np.int8).max:
        raise ValueError(f"species: at most 127 species fit int8 codes, got {len(names)}")
    return names


def _check_dims(dims: Any, n_lead: int) -> tuple[Hashable, ...]:
    if dims is None:
        return tuple(f"dim_{i}" for i in range(n_lead))
    if isinstance(dims, str):
        dims = (dims,)
    dims = tuple(dims)
    if len(dims) != n_lead:
        raise ValueError(
            f"dims must name the {n_lead} leading (batch) axes of lattice, got {dims!r}"
        )
    if len(set(dims)) != len(dims) or {"species", "pair"} & set(dims):
        raise ValueError(f"dims must be unique and not 'species' or 'pair', got {dims!r}")
    return dims



@njit(parallel=True, cache=True)
def _pair_count_kernel(codes, targets, pair_index, out):
    n_rows, n_sites = codes.shape
    n_disp = targets.shape[1]
    for r in prange(n_rows):
        acc = np.zeros(out.shape[1], dtype=np.int64)
        for site in range(n_sites):
            a = codes[r, site]
            if a == 0:
                continue
            for d in range(n_disp):
                t = targets[site, d]
                if t >= 0:
                    b = codes[r, t]
                    if b != 0:
                        acc[pair_index[a, b]] += 1
        for k in range(out.shape[1]):
            out[r, k] = acc[k]


def _pair_counts_codes(block: np.ndarray, displacements: tuple[Displacement, ...],
                       n_species: int, periodic: bool) -> np.ndarray:
    """:func:`pair_moment` for every unordered species pair of a NumPy code lattice.

    Each site pair ``(r, r + d)`` holding species ``{a, b}`` adds one to pair ``{a, b}``, which is
    exactly the same-species and cross-species rule of :func:`pair_moment` for 0/1 occupancies.
    """
    spatial = block.shape[1:]
    coords = np.indices(spatial).reshape(len(spatial), -1)
    targets = np.empty((len(displacements), coords.shape[1]), dtype=np.int64)
    for k, disp in enumerate(displacements):
        moved = coords + np.asarray(disp)[:, None]
        if periodic:
            moved %= np.asarray(spatial)[:, None]
        inside = np.all((moved >= 0) & (moved < np.asarray(spatial)[:, None]), axis=0)
        flat = np.ravel_multi_index(tuple(np.clip(moved, 0, None)), spatial, mode="clip")
        targets[k] = np.where(inside, flat, -1)
    pair_index = np.zeros((n_species + 1, n_species + 1), dtype=np.int64)
    for k, (a, b) in enumerate(itertools.combinations_with_replacement(range(n_species), 2)):
        pair_index[a + 1, b + 1] = pair_index[b + 1, a + 1] = k
    out = np.empty((block.shape[0], len(pair_index) * (len(pair_index) - 1) // 2))
    codes = np.ascontiguousarray(block.reshape(block.shape[0], -1))
    _pair_count_kernel(codes, np.ascontiguousarray(targets.T), pair_index, out)
    return out


def lattice_moments(
    lattice: Array | xr.DataArray,
    species: Sequence[str],
    *,
    ndim: int,
    periodic: bool,
    nnn: str = "reference",
    chunk: int = 16,
    dims: Sequence[Hashable] | None = None,
) -> xr.Dataset:
    """Counts and pair moments of code lattices, as an ``xarray.Dataset`` on the host.

    Parameters
    ----------
    lattice
        Integer code lattice of shape ``(..., *spatial)`` (0 = empty, ``k+1`` = ``species[k]``),
        NumPy or CuPy; or an ``xarray.DataArray`` whose leading dims and their coordinates are
        carried over (then ``dims`` must be omitted or equal those dims).
    species
        Species names; code ``k + 1`` is ``species[k]``.
    ndim
        Number of trailing spatial axes (1, 2 or 3).
    periodic
        Periodic boundaries (paper B, LV) or walls (paper A). Note that the reference simulator's
        own NN output is always non-periodic (reproduction notes: repro-output); pass
        ``periodic=False`` to reproduce those files.
    nnn
        Displacement set of the NNN moments, ``"reference"`` or ``"full"`` (see
        :func:`NNN_DISPLACEMENTS`). Ignored in 1D, where no NNN variable is returned.
    chunk
        Number of entries of the first leading axis processed at a time, which bounds the memory
        of the temporaries (a 100 x 500 x 40 x 40 int8 input is processed 16 x 500 x 40 x 40 at a
        time with int8 occupancies).
    dims
        Names of the leading axes, e.g. ``("replica", "time")``; default ``dim_0, dim_1, ...``.

    Returns
    -------
    xarray.Dataset
        Float64 NumPy variables (exact integers for code lattices):

        * ``counts(*dims, species)`` — ``sum_r s_{r,a}``;
        * ``nn(*dims, pair)`` — :func:`nn_pairs` for every unordered species pair;
        * ``nnn(*dims, pair)`` — :func:`nnn_pairs` with ``kind=nnn`` (only for ``ndim >= 2``);
        * ``triplets(*dims, species)``, ``quartics(*dims, species)`` — same-species 1D chains
          of length 3 and 4 (:func:`chain_moment_1d`, paper A's m3, m4; only for ``ndim == 1``).

        ``pair`` labels are ``"a_b"`` for ``a <= b`` in species order (``X_X, X_Y, Y_Y``), with
        coordinates ``species_a`` and ``species_b`` along ``pair``. Attributes record ``ndim``,
        ``periodic`` and the displacement sets used.
    """
    import xarray as xr

    ndim = _check_ndim(ndim)
    names = _check_species(species)
    nnn = _check_kind(nnn, "nnn")
    if not _is_int(chunk) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")

    lead_coords: dict[Hashable, Any] = {}
    if isinstance(lattice, xr.DataArray):
        _check_spatial(lattice, ndim, "lattice")
        lead_dims = lattice.dims[: lattice.ndim - ndim]
        if dims is not None and tuple(dims) != lead_dims:
            raise ValueError(
                f"dims={tuple(dims)!r} differs from the leading dims {lead_dims!r} of the "
                "lattice DataArray; omit dims or rename the DataArray"
            )
        dims = lead_dims
        lead_coords = {
            name: (c.dims, to_numpy(c.data), c.attrs)
            for name, c in lattice.coords.items()
            if set(c.dims) <= set(lead_dims)
        }
        lattice = lattice.data

    xp = array_module(lattice)
    lattice = xp.asarray(lattice)
    _check_spatial(lattice, ndim, "lattice")
    if not np.issubdtype(lattice.dtype, np.integer):
        raise ValueError(f"lattice must hold integer species codes, got dtype {lattice.dtype}")
    if lattice.size:
        lo, hi = int(lattice.min()), int(lattice.max())
        if lo < 0 or hi > len(names):
            raise ValueError(
                f"lattice holds codes in [{lo}, {hi}] but species names only codes 0..{len(names)}"
            )
    n_lead = lattice.ndim - ndim
    dims = _check_dims(dims, n_lead)
    lead_shape = lattice.shape[:n_lead]
    n_species = len(names)
    pairs = list(itertools.combinations_with_replacement(range(n_species), 2))
    nn_disp = NN_DISPLACEMENTS(ndim)
    nnn_disp = NNN_DISPLACEMENTS(ndim, nnn) if ndim >= 2 else ()

    # One leading axis to chunk over, also when there is none.
    flat = lattice.reshape((-1, *lattice.shape[n_lead:])) if n_lead else lattice[None]
    n_rows = flat.shape[0]
    out = {"counts": np.empty((n_rows, n_species)), "nn": np.empty((n_rows, len(pairs)))}
    if ndim >= 2:
        out["nnn"] = np.empty((n_rows, len(pairs)))
    else:
        out["triplets"] = np.empty((n_rows, n_species))
        out["quartics"] = np.empty((n_rows, n_species))

    pair_sets = {"nn": nn_disp, "nnn": nnn_disp} if ndim >= 2 else {"nn": nn_disp}
    if xp is np:
        # same rule as pair_moment in one pass over the code lattice, no temporaries (the
        # tests compare both paths)
        for var, disp in pair_sets.items():
            out[var][:] = _pair_counts_codes(flat, disp, n_species, periodic)
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        block = flat[start:stop]
        # int8 occupancies keep the temporaries as small as the input; products of 0/1 stay
        # exact and the sums accumulate in the platform integer.
        occ = [occupancy(block, k + 1, dtype=xp.int8) for k in range(n_species)]
        results = {"counts": [counts(o, ndim) for o in occ]}
        for var, disp in pair_sets.items():
            if xp is np:
                continue  # done above in one pass
            results[var] = [
                pair_moment(occ[a], occ[b], disp, periodic=periodic, same_species=a == b)
                for a, b in pairs
            ]
        if ndim == 1:
            results["triplets"] = [chain_moment_1d(o, 3, periodic=periodic) for o in occ]
            results["quartics"] = [chain_moment_1d(o, 4, periodic=periodic) for o in occ]
        for var, values in results.items():
            # one device->host copy per variable and chunk
            out[var][start:stop] = to_numpy(xp.stack(values, axis=-1))

    labels = [f"{names[a]}_{names[b]}" for a, b in pairs]
    descriptions = {
        "counts": "number of sites holding the species (bias moment)",
        "nn": "unordered nearest-neighbour pairs (reproduction notes: repro-moments)",
        "nnn": (f"unordered Manhattan-distance-two pairs, {nnn} displacement set "
                "(reproduction notes: repro-moments)"),
        "triplets": ("same-species chains of 3 consecutive sites (paper A m3, reproduction notes: "
                     "repro-moments)"),
        "quartics": ("same-species chains of 4 consecutive sites (paper A m4, reproduction notes: "
                     "repro-moments)"),
    }
    data_vars = {}
    for var, values in out.items():
        last = "pair" if var in ("nn", "nnn") else "species"
        shaped = values.reshape((*lead_shape, values.shape[-1]))
        data_vars[var] = ((*dims, last), shaped, {"description": descriptions[var]})
    coords: dict[Hashable, Any] = {
        "species": ("species", np.array(names)),
        "pair": ("pair", np.array(labels)),
        "species_a": ("pair", np.array([names[a] for a, _ in pairs])),
        "species_b": ("pair", np.array([names[b] for _, b in pairs])),
        **lead_coords,
    }
    attrs = {
        "ndim": ndim,
        # netCDF has no boolean attributes
        "periodic": int(bool(periodic)),
        "nn_displacements": str(list(nn_disp)),
    }
    if ndim >= 2:
        attrs["nnn_kind"] = nnn
        attrs["nnn_displacements"] = str(list(nnn_disp))
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
