"""Tests of dbdlab.simulate.observables against brute force from the geometry of the lattice.

The brute-force references enumerate unordered site pairs by their separation (minimum image on
periodic axes) and never call the implementation, so a wrong slice, roll direction, boundary
rule or species rule shows up as a mismatch.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dbdlab.backend import gpu_status
from dbdlab.simulate import observables as mo

# ----------------------------------------------------------------------------------------------
# independent brute force
# ----------------------------------------------------------------------------------------------


def brute_pair_moment(s_a, s_b, dset, ndim, *, periodic, same_species):
    """Sum over unordered site pairs {r, r'} whose separation is in ±dset.

    A same-species pair contributes s(r) s(r'); a cross-species pair contributes
    s_a(r) s_b(r') + s_b(r) s_a(r') (a bond counts whichever end holds a).
    """
    spatial = s_a.shape[-ndim:]
    allowed = {tuple(d) for d in dset} | {tuple(-c for c in d) for d in dset}
    sites = list(itertools.product(*(range(n) for n in spatial)))
    total = np.zeros(s_a.shape[:-ndim])
    for i, r in enumerate(sites):
        for rp in sites[i + 1 :]:
            sep = []
            for a, b, n in zip(r, rp, spatial, strict=True):
                delta = b - a
                if periodic:
                    delta %= n
                    if delta > n / 2:
                        delta -= n
                sep.append(delta)
            if tuple(sep) not in allowed:
                continue
            ir, irp = (..., *r), (..., *rp)
            if same_species:
                total += s_a[ir] * s_a[irp]
            else:
                total += s_a[ir] * s_b[irp] + s_b[ir] * s_a[irp]
    return total


def brute_chain(v, order, periodic):
    n = v.shape[-1]
    starts = range(n) if periodic else range(n - order + 1)
    total = np.zeros(v.shape[:-1])
    for i in starts:
        prod = np.ones(v.shape[:-1])
        for k in range(order):
            prod = prod * v[..., (i + k) % n]
        total += prod
    return total


def brute_agreement(v):
    n = v.shape[-1]
    total = np.zeros(v.shape[:-1])
    for i in range(n - 1):
        total += 1 - 2 * np.abs(v[..., i + 1] - v[..., i])
    return total / (n - 1)


# ----------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------

# Periodic axes are >= 5 long so that a distance-two partner is unique under minimum image.
SHAPES = {1: (11,), 2: (5, 6), 3: (5, 5, 6)}


def random_occupancies(rng, ndim, probabilities):
    """Two species on a (2, *spatial) batch: exclusive 0/1 sites or independent probabilities."""
    shape = (2, *SHAPES[ndim])
    if probabilities:
        return rng.random(shape), rng.random(shape)
    codes = rng.integers(0, 3, size=shape)
    return (codes == 1).astype(np.int32), (codes == 2).astype(np.int32)


CASES = list(itertools.product((1, 2, 3), (False, True), (False, True)))


# ----------------------------------------------------------------------------------------------
# displacement sets
# ----------------------------------------------------------------------------------------------


def test_displacement_sets():
    assert mo.NN_DISPLACEMENTS(1) == ((1,),)
    assert set(mo.NN_DISPLACEMENTS(2)) == {(1, 0), (0, 1)}
    assert set(mo.NN_DISPLACEMENTS(3)) == {(1, 0, 0), (0, 1, 0), (0, 0, 1)}
    assert set(mo.NNN_DISPLACEMENTS(2, "reference")) == {(0, 2), (1, 1), (2, 0)}
    assert set(mo.NNN_DISPLACEMENTS(2, "full")) == {(0, 2), (2, 0), (1, 1), (1, -1)}
    assert mo.NNN_DISPLACEMENTS(1, "reference") == mo.NNN_DISPLACEMENTS(1, "full") == ((2,),)
    full3 = set(mo.NNN_DISPLACEMENTS(3, "full"))
    ref3 = set(mo.NNN_DISPLACEMENTS(3, "reference"))
    # every distance-two direction exactly once up to sign
    all3 = {d for d in itertools.product(range(-2, 3), repeat=3) if sum(map(abs, d)) == 2}
    assert len(full3) == 9 and full3 | {tuple(-c for c in d) for d in full3} == all3
    assert ref3 == {d for d in all3 if min(d) >= 0} and len(ref3) == 6


# ----------------------------------------------------------------------------------------------
# pair moments vs brute force
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ndim", "periodic", "probabilities"), CASES)
def test_nn_and_nnn_match_brute_force(ndim, periodic, probabilities):
    rng = np.random.default_rng(100 * ndim + 10 * periodic + probabilities)
    x, y = random_occupancies(rng, ndim, probabilities)
    nn_set = [tuple(int(i == k) for i in range(ndim)) for k in range(ndim)]
    if ndim == 1:
        nnn_sets = {"reference": [(2,)], "full": [(2,)]}
    else:
        all2 = [d for d in itertools.product(range(-2, 3), repeat=ndim) if sum(map(abs, d)) == 2]
        nnn_sets = {"full": all2, "reference": [d for d in all2 if min(d) >= 0]}

    for s_a, s_b in ((x, x), (y, y), (x, y)):
        same = s_a is s_b
        got = mo.nn_pairs(s_a, s_b, ndim, periodic=periodic)
        want = brute_pair_moment(s_a, s_b, nn_set, ndim, periodic=periodic, same_species=same)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        assert got.shape == (2,)
        for kind, dset in nnn_sets.items():
            got = mo.nnn_pairs(s_a, s_b, ndim, periodic=periodic, kind=kind)
            want = brute_pair_moment(s_a, s_b, dset, ndim, periodic=periodic, same_species=same)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_same_species_rule_and_cross_species_rule():
    # 1D walls, X at 0, 1, 2 and Y at 3: X-X bonds {0,1},{1,2}; X-Y bond {2,3}
    x = np.array([1, 1, 1, 0, 0])
    y = np.array([0, 0, 0, 1, 0])
    assert mo.nn_pairs(x, x, 1, periodic=False) == 2  # not 4: no double counting of X-X
    assert mo.nn_pairs(x, y, 1, periodic=False) == 1
    assert mo.nn_pairs(y, x, 1, periodic=False) == 1  # symmetric in the species
    # the one-orientation sum misses bonds with Y on the left of X
    assert mo.pair_moment(y, x, [(1,)], periodic=False, same_species=True) == 0
    # orientation: the one-orientation sum is s_a(r) s_b(r + d), also when wrapping
    assert mo.pair_moment(x, y, [(1,)], periodic=True, same_species=True) == 1
    assert mo.pair_moment(y, x, [(1,)], periodic=True, same_species=True) == 0
    assert mo.pair_moment(y, x, [(-1,)], periodic=True, same_species=True) == 1
    # periodic: X at 4 closes the ring -> bond {4, 0}
    x_ring = np.array([1, 0, 0, 0, 1])
    assert mo.nn_pairs(x_ring, x_ring, 1, periodic=True) == 1
    assert mo.nn_pairs(x_ring, x_ring, 1, periodic=False) == 0


def test_reference_and_full_nnn_differ_by_antidiagonal():
    rng = np.random.default_rng(7)
    for periodic in (False, True):
        x, y = random_occupancies(rng, 2, probabilities=True)
        for s_a, s_b in ((x, x), (x, y)):
            full = mo.nnn_pairs(s_a, s_b, 2, periodic=periodic, kind="full")
            ref = mo.nnn_pairs(s_a, s_b, 2, periodic=periodic, kind="reference")
            anti = brute_pair_moment(
                s_a, s_b, [(1, -1)], 2, periodic=periodic, same_species=s_a is s_b
            )
            np.testing.assert_allclose(full - ref, anti, rtol=1e-12)
            assert np.all(anti > 0)


def test_open_boundary_displacement_longer_than_lattice_gives_zero():
    s = np.ones((3, 2, 2))  # batch of 3 lattices of 2 x 2 sites
    for d, want in (((0, 2), 0), ((3, 0), 0), ((0, -5), 0), ((1, 0), 2), ((1, -1), 1)):
        got = mo.pair_moment(s, s, [d], periodic=False, same_species=True)
        assert got.tolist() == [want] * 3, d


def test_expected_pair_counts_random_placement():
    """reproduction notes: repro-moments: 100 X and 100 Y uniformly on 40 x 40 periodic sites."""
    rng = np.random.default_rng(20190521)
    n_samples, n_sites, n_x = 2000, 1600, 100
    rank = np.argsort(rng.random((n_samples, n_sites)), axis=1)
    codes = np.zeros((n_samples, n_sites), dtype=np.int8)
    np.put_along_axis(codes, rank[:, :n_x], 1, axis=1)
    np.put_along_axis(codes, rank[:, n_x : 2 * n_x], 2, axis=1)
    codes = codes.reshape(n_samples, 40, 40)
    x = mo.occupancy(codes, 1)
    y = mo.occupancy(codes, 2)
    assert np.all(mo.counts(x, 2) == 100) and np.all(mo.counts(y, 2) == 100)

    p_x = n_x / n_sites
    expectations = {
        "NN(X,X)": (mo.nn_pairs(x, x, 2, periodic=True), 2 * n_sites * p_x * (n_x - 1) / 1599),
        "NNN(X,Y)": (mo.nnn_pairs(x, y, 2, periodic=True), 3 * n_sites * 2 * p_x * n_x / 1599),
    }
    for name, (samples, exact) in expectations.items():
        stderr = samples.std(ddof=1) / np.sqrt(n_samples)
        z = (samples.mean() - exact) / stderr
        assert abs(z) <= 4, f"{name}: mean {samples.mean():.3f}, exact {exact:.3f}, z = {z:.2f}"
    # and the full NNN set adds the fourth direction: expectation scales by 4/3
    full = mo.nnn_pairs(x, y, 2, periodic=True, kind="full")
    exact = 4 * n_sites * 2 * p_x * n_x / 1599
    assert abs(full.mean() - exact) <= 4 * full.std(ddof=1) / np.sqrt(n_samples)


# ----------------------------------------------------------------------------------------------
# 1D chains
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("probabilities", [False, True])
def test_chain_moments_match_brute_force(periodic, probabilities):
    rng = np.random.default_rng(3 + periodic + 2 * probabilities)
    v = rng.random((3, 4, 13)) if probabilities else rng.integers(0, 2, size=(3, 4, 13))
    for order in (1, 2, 3, 4):
        got = mo.chain_moment_1d(v, order, periodic=periodic)
        assert got.shape == (3, 4)
        np.testing.assert_allclose(got, brute_chain(v, order, periodic), rtol=1e-12)
    # order 2 is the NN pair moment of one species
    np.testing.assert_allclose(
        mo.chain_moment_1d(v, 2, periodic=periodic), mo.nn_pairs(v, v, 1, periodic=periodic)
    )


def test_chain_moment_order_longer_than_open_lattice_is_zero():
    assert mo.chain_moment_1d(np.ones(3), 4) == 0
    assert mo.chain_moment_1d(np.ones(3), 3) == 1


def test_neighbour_agreement_matches_brute_force():
    rng = np.random.default_rng(11)
    v = rng.integers(0, 2, size=(5, 20)).astype(np.uint8)  # unsigned: subtraction must not wrap
    np.testing.assert_allclose(mo.neighbour_agreement_1d(v), brute_agreement(v.astype(float)))
    assert mo.neighbour_agreement_1d(np.array([0, 1, 0, 1])) == -1
    assert mo.neighbour_agreement_1d(np.zeros(7)) == 1


# ----------------------------------------------------------------------------------------------
# lattice_moments
# ----------------------------------------------------------------------------------------------


def test_lattice_moments_2d_matches_primitives():
    rng = np.random.default_rng(5)
    lattice = rng.integers(0, 3, size=(3, 4, 6, 7)).astype(np.int8)
    ds = mo.lattice_moments(
        lattice, ["X", "Y"], ndim=2, periodic=True, dims=("replica", "time"), chunk=2
    )
    assert set(ds.data_vars) == {"counts", "nn", "nnn"}
    assert ds["counts"].dims == ("replica", "time", "species")
    assert ds["nn"].dims == ds["nnn"].dims == ("replica", "time", "pair")
    assert ds["nn"].shape == (3, 4, 3)
    assert ds["pair"].values.tolist() == ["X_X", "X_Y", "Y_Y"]
    assert ds["species_a"].values.tolist() == ["X", "X", "Y"]
    assert ds["species_b"].values.tolist() == ["X", "Y", "Y"]
    assert ds["species"].values.tolist() == ["X", "Y"]
    assert all(ds[v].dtype == np.float64 for v in ds.data_vars)
    assert isinstance(ds["nn"].data, np.ndarray)

    x, y = (lattice == 1).astype(int), (lattice == 2).astype(int)
    np.testing.assert_array_equal(ds["counts"].sel(species="Y"), y.sum(axis=(-2, -1)))
    for label, (a, b) in {"X_X": (x, x), "X_Y": (x, y), "Y_Y": (y, y)}.items():
        np.testing.assert_array_equal(ds["nn"].sel(pair=label), mo.nn_pairs(a, b, 2, periodic=True))
        np.testing.assert_array_equal(
            ds["nnn"].sel(pair=label), mo.nnn_pairs(a, b, 2, periodic=True, kind="reference")
        )
    # chunking does not change the result, nor does the full set leave NN alone
    one = mo.lattice_moments(lattice, ["X", "Y"], ndim=2, periodic=True, chunk=1)
    np.testing.assert_array_equal(one["nnn"].values, ds["nnn"].values)
    assert one["nn"].dims == ("dim_0", "dim_1", "pair")
    full = mo.lattice_moments(lattice, ["X", "Y"], ndim=2, periodic=True, nnn="full")
    np.testing.assert_array_equal(full["nn"].values, ds["nn"].values)
    assert np.all(full["nnn"].values >= ds["nnn"].values)
    assert full.attrs["nnn_kind"] == "full"


def test_lattice_moments_1d_and_3d_open():
    rng = np.random.default_rng(6)
    lat1 = rng.integers(0, 2, size=(4, 30)).astype(np.int8)
    ds = mo.lattice_moments(lat1, ["A"], ndim=1, periodic=False, dims=["lattice"])
    assert set(ds.data_vars) == {"counts", "nn", "triplets", "quartics"}
    assert ds["triplets"].dims == ("lattice", "species")
    v = (lat1 == 1).astype(float)
    np.testing.assert_array_equal(ds["nn"].sel(pair="A_A"), brute_chain(v, 2, False))
    np.testing.assert_array_equal(ds["triplets"].sel(species="A"), brute_chain(v, 3, False))
    np.testing.assert_array_equal(ds["quartics"].sel(species="A"), brute_chain(v, 4, False))

    lat3 = rng.integers(0, 4, size=(5, 5, 6)).astype(np.int8)  # no leading axes
    ds3 = mo.lattice_moments(lat3, ["A", "B", "C"], ndim=3, periodic=False)
    assert ds3["nn"].dims == ("pair",) and ds3.sizes["pair"] == 6
    assert ds3["counts"].values.sum() == np.count_nonzero(lat3)
    a, c = (lat3 == 1).astype(float), (lat3 == 3).astype(float)
    want = brute_pair_moment(a, c, mo.NN_DISPLACEMENTS(3), 3, periodic=False, same_species=False)
    assert ds3["nn"].sel(pair="A_C").item() == want


def test_lattice_moments_dataarray_keeps_leading_coords():
    xr = pytest.importorskip("xarray")
    lattice = xr.DataArray(
        np.random.default_rng(8).integers(0, 3, size=(2, 3, 5, 5)).astype(np.int8),
        dims=("replica", "time", "x", "y"),
        coords={"time": [0.0, 1.0, 2.0]},
    )
    ds = mo.lattice_moments(lattice, ["X", "Y"], ndim=2, periodic=True)
    assert ds["nn"].dims == ("replica", "time", "pair")
    assert ds["time"].values.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="dims"):
        mo.lattice_moments(lattice, ["X", "Y"], ndim=2, periodic=True, dims=("a", "b"))


# ----------------------------------------------------------------------------------------------
# input validation
# ----------------------------------------------------------------------------------------------


def test_bad_input_names_the_argument():
    s = np.zeros((4, 4))
    lattice = np.zeros((4, 4), dtype=np.int8)
    with pytest.raises(ValueError, match="ndim"):
        mo.counts(s, 4)
    with pytest.raises(ValueError, match="ndim"):
        mo.nn_pairs(s, s, 0, periodic=True)
    with pytest.raises(ValueError, match="ndim"):
        mo.NN_DISPLACEMENTS(4)
    with pytest.raises(ValueError, match="displacements"):
        mo.pair_moment(s, s, [(1,)], periodic=True, same_species=True, ndim=2)
    with pytest.raises(ValueError, match="displacements"):
        mo.pair_moment(s, s, [(1, 0), (1,)], periodic=True, same_species=True)
    with pytest.raises(ValueError, match="displacements"):
        mo.pair_moment(s, s, [(0, 0)], periodic=True, same_species=True)
    with pytest.raises(ValueError, match="s_a"):
        mo.pair_moment(np.zeros(4), np.zeros(4), [(1, 0)], periodic=True, same_species=True)
    with pytest.raises(ValueError, match="lattice"):
        mo.lattice_moments(lattice, ["X"], ndim=3, periodic=True)
    with pytest.raises(ValueError, match="kind"):
        mo.NNN_DISPLACEMENTS(2, "diagonal")
    with pytest.raises(ValueError, match="kind"):
        mo.nnn_pairs(s, s, 2, periodic=True, kind="diagonal")
    with pytest.raises(ValueError, match="nnn"):
        mo.lattice_moments(lattice, ["X"], ndim=2, periodic=True, nnn="diagonal")
    with pytest.raises(ValueError, match="lattice"):
        mo.lattice_moments(lattice + 2, ["X"], ndim=2, periodic=True)  # code 2 unnamed
    with pytest.raises(ValueError, match="dims"):
        mo.lattice_moments(lattice[None], ["X"], ndim=2, periodic=True, dims=("a", "b"))
    with pytest.raises(ValueError, match="order"):
        mo.chain_moment_1d(np.zeros(5), 0)


# ----------------------------------------------------------------------------------------------
# CuPy
# ----------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_status()[0], reason=f"no usable GPU: {gpu_status()[1]}")
def test_cupy_matches_numpy():
    import cupy as cp

    rng = np.random.default_rng(9)
    for ndim in (1, 2, 3):
        for periodic in (False, True):
            x, y = random_occupancies(rng, ndim, probabilities=True)
            gx, gy = cp.asarray(x), cp.asarray(y)
            for kind in mo.NNN_KINDS:
                got = mo.nnn_pairs(gx, gy, ndim, periodic=periodic, kind=kind)
                assert isinstance(got, cp.ndarray)
                np.testing.assert_allclose(
                    got.get(), mo.nnn_pairs(x, y, ndim, periodic=periodic, kind=kind)
                )
            got = mo.nn_pairs(gx, gx, ndim, periodic=periodic)
            assert isinstance(got, cp.ndarray)
            np.testing.assert_allclose(got.get(), mo.nn_pairs(x, x, ndim, periodic=periodic))
            np.testing.assert_allclose(mo.counts(gx, ndim).get(), mo.counts(x, ndim))
    v = rng.random((3, 17))
    for order in (1, 2, 3, 4):
        np.testing.assert_allclose(
            mo.chain_moment_1d(cp.asarray(v), order, periodic=True).get(),
            mo.chain_moment_1d(v, order, periodic=True),
        )
    np.testing.assert_allclose(
        mo.neighbour_agreement_1d(cp.asarray(v)).get(), mo.neighbour_agreement_1d(v)
    )
    lattice = rng.integers(0, 3, size=(5, 3, 8, 9)).astype(np.int8)
    for periodic in (False, True):
        host = mo.lattice_moments(lattice, ["X", "Y"], ndim=2, periodic=periodic, chunk=2)
        dev = mo.lattice_moments(
            cp.asarray(lattice), ["X", "Y"], ndim=2, periodic=periodic, chunk=2
        )
        for var in host.data_vars:
            assert isinstance(dev[var].data, np.ndarray)
            np.testing.assert_array_equal(dev[var].values, host[var].values)
