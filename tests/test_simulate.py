"""Validation of the lattice reaction–diffusion simulator (dbdlab.simulate).

The checks compare the simulator with results derived independently of its code: exact
distributions of unimolecular kinetics, exact moments of lattice random walks, exact encounter
probabilities, the t^(-1/2) law of 1D annihilation, exact enumeration of the fully visible 1D
model and exact selection probabilities of the reference's row/plane-biased choices.  Statistical
tests use fixed seeds and tolerances of 4 standard errors (developer guide: dev-testing); where the
standard error is known exactly it is used rather than estimated.
"""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
import pytest
import scipy.stats as st
import xarray as xr

from dbdlab.experiments import validation
from dbdlab.simulate import _numba, _reference, networks, simulate
from dbdlab.simulate.initial import FullyVisible1D, GivenLattices, RandomCounts
from dbdlab.simulate.reactions import ReactionNetwork, reaction

Z_MAX = 4.0


def run(network, shape, steps, dt, replicas, init, seed, **kw):
    kw.setdefault("backend", "numba")
    return simulate(network, shape, steps, dt, replicas=replicas, init=init, seed=seed,
                    progress=False, **kw)


def z_binomial(k, n, p):
    return (k - n * p) / math.sqrt(n * p * (1.0 - p))


def assert_mean_and_variance(x, dist, label):
    """z-tests of the sample mean and the sample variance of iid draws ``x`` against ``dist``.

    Mean: SE = σ/√n with the exact σ.  Variance: the unbiased sample variance s² of n iid draws
    has Var(s²) = (μ4 − σ⁴(n−3)/(n−1))/n exactly (a standard identity), so the exact 4th central
    moment μ4 = (excess kurtosis + 3)·σ⁴ of the target law gives an exact SE; the normal
    approximation 2σ⁴/(n−1) would be wrong for the skewed Yule/Poisson laws at small means.
    With n ≥ 3000 the sample variance is close enough to normal for |z| ≤ 4.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    mean, var, kurt = (float(v) for v in dist.stats(moments="mvk"))
    mu4 = (kurt + 3.0) * var**2
    z_mean = (x.mean() - mean) / math.sqrt(var / n)
    var_s2 = (mu4 - var**2 * (n - 3) / (n - 1)) / n
    z_var = (x.var(ddof=1) - var) / math.sqrt(var_s2)
    assert abs(z_mean) <= Z_MAX, f"{label}: mean {x.mean():.4g} vs {mean:.4g} (z={z_mean:.2f})"
    assert abs(z_var) <= Z_MAX, f"{label}: var {x.var(ddof=1):.4g} vs {var:.4g} (z={z_var:.2f})"


# ----------------------------------------------------------------------------------------------
# 1. unimolecular kinetics: exact distributions at t = k·dt
# ----------------------------------------------------------------------------------------------
# Hops happen every step but cannot change the counts of these networks, and the Gillespie
# clock is continuous and carried across steps, so the exact laws hold at every frame t = k·dt.


def test_decay_is_binomial():
    k, n0, dt = 0.7, 30, 0.1
    net = ReactionNetwork(("A",), (reaction("A -> 0", rate=k),))
    ds = run(net, (8, 8), 21, dt, 4000, {"A": n0}, seed=11, periodic=True)
    counts = ds.counts.sel(species="A").values
    assert np.all(counts[:, 0] == n0)
    assert np.all(np.diff(counts, axis=1) <= 0)  # decay only removes
    for frame in (3, 10, 20):
        t = frame * dt
        assert_mean_and_variance(counts[:, frame], st.binom(n0, math.exp(-k * t)),
                                 f"decay t={t}")


def test_conversion_is_binomial_and_conserves_total():
    k, n0, dt = 1.3, 25, 0.05
    net = ReactionNetwork(("A", "B"), (reaction("A -> B", rate=k),))
    ds = run(net, (50,), 31, dt, 4000, {"A": n0}, seed=12, selection="uniform")
    a = ds.counts.sel(species="A").values
    b = ds.counts.sel(species="B").values
    assert np.all(a + b == n0)
    for frame in (4, 12, 30):
        t = frame * dt
        assert_mean_and_variance(a[:, frame], st.binom(n0, math.exp(-k * t)),
                                 f"conversion t={t}")


def test_autocatalytic_creation_is_a_yule_process():
    # propensity k·max(n, 1) with n0 > 0 is the Yule (pure birth) process: n(t) − n0 is negative
    # binomial with n0 successes and success probability e^{−kt} (mean n0 e^{kt},
    # variance n0 e^{kt}(e^{kt} − 1)).
    k, n0, dt = 1.0, 4, 0.1
    net = ReactionNetwork(("A",), (reaction("0 -> A", rate=k),))
    shape = (10, 10, 10)
    ds = run(net, shape, 16, dt, 4000, {"A": n0}, seed=13, periodic=True)
    counts = ds.counts.sel(species="A").values
    # the exact law needs an unbounded lattice: stay far from filling the 1000 sites
    assert counts.max() < np.prod(shape) // 4
    for frame in (5, 10, 15):
        t = frame * dt
        p = math.exp(-k * t)
        dist = st.nbinom(n0, p, loc=n0)
        assert math.isclose(dist.mean(), n0 * math.exp(k * t))
        assert math.isclose(dist.var(), n0 * math.exp(k * t) * (math.exp(k * t) - 1))
        assert_mean_and_variance(counts[:, frame], dist, f"Yule t={t}")


def test_plain_creation_is_poisson():
    k, dt = 3.0, 0.1
    net = ReactionNetwork(("A",), (reaction("0 -> A", rate=k, autocatalytic=False),))
    ds = run(net, (12, 12), 21, dt, 4000, {"A": 0}, seed=14)
    counts = ds.counts.sel(species="A").values
    assert counts.max() < 144
    for frame in (2, 8, 20):
        t = frame * dt
        assert_mean_and_variance(counts[:, frame], st.poisson(k * t), f"creation t={t}")


# ----------------------------------------------------------------------------------------------
# 2. diffusion only
# ----------------------------------------------------------------------------------------------

DIFFUSE = ReactionNetwork(("A", "B"), (), name="diffusion")


@pytest.mark.parametrize("shape,periodic", [((6, 7), False), ((4, 5, 3), True), ((30,), True)])
def test_diffusion_conserves_molecules(shape, periodic):
    init = {"A": 10, "B": 5}
    ds = run(DIFFUSE, shape, 30, 1.0, 20, init, seed=21, periodic=periodic)
    lat = ds.lattice.values.reshape(20, 30, -1)
    counts = ds.counts.values
    assert np.all(counts == np.array([10, 5]))
    # the counts are those of the stored lattices, and no site ever holds two molecules
    # (15 molecules must occupy 15 distinct sites in every frame)
    assert np.all((lat == 1).sum(-1) == counts[..., 0])
    assert np.all((lat == 2).sum(-1) == counts[..., 1])
    assert np.all((lat != 0).sum(-1) == 15)
    # molecules do move
    assert np.mean(np.any(lat[:, 1:] != lat[:, :-1], axis=-1)) > 0.9


def walker_positions(ds, shape):
    """Coordinates (replica, time, axis) of the single molecule of every frame."""
    lat = ds.lattice.values
    flat = lat.reshape(lat.shape[0], lat.shape[1], -1)
    assert np.all((flat != 0).sum(-1) == 1)
    idx = np.argmax(flat != 0, axis=-1)
    return np.stack(np.unravel_index(idx, shape), axis=-1)


def lone_walker(shape, start, steps, replicas, seed, periodic):
    init = np.zeros(shape, dtype=np.int8)
    init[start] = 1
    net = ReactionNetwork(("A",), (), name="walker")
    ds = run(net, shape, steps + 1, 1.0, replicas, GivenLattices(init), seed, periodic=periodic)
    return walker_positions(ds, shape)


@pytest.mark.parametrize("shape", [(11,), (7, 9), (5, 6, 7)])
def test_lone_walker_msd_periodic(shape):
    d, steps, replicas = len(shape), 30, 3000
    # the same check is plotted in the book's validation chapter
    result = validation.walker_msd(shape, steps, replicas, seed=22 + d)
    step = result.steps
    # a lone molecule always succeeds: exactly one unit along exactly one axis per step
    assert np.all(np.abs(step).sum(-1) == 1)
    # each of the 2d directions with probability 1/(2d) (steps are iid for a lone walker)
    n = step.shape[0] * step.shape[1]
    for axis in range(d):
        for sign in (-1, 1):
            k = int(np.sum(step[..., axis] == sign))
            assert abs(z_binomial(k, n, 1 / (2 * d))) <= Z_MAX, (axis, sign, k, n)
    # MSD(t) = t.  |R_t|² = t + 2 Σ_{i<j} e_i·e_j with E[(e_i·e_j)²] = 1/d and all cross terms
    # uncorrelated, so Var|R_t|² = 2t(t−1)/d exactly.
    for t in (2, 5, 10, 30):
        z = result.z[t - 1]
        assert abs(z) <= Z_MAX, f"d={d} t={t}: MSD {result.msd[t - 1]:.3f} (z={z:.2f})"


def test_walker_at_1d_wall_moves_inward():
    n_sites = 6
    pos = lone_walker((n_sites,), (0,), 60, 2000, seed=31, periodic=False)[..., 0]
    now, nxt = pos[:, :-1], pos[:, 1:]
    assert np.all(np.abs(nxt - now) == 1)  # never stays, never jumps
    # deterministic at the walls: the only in-lattice neighbour
    assert np.any(now == 0) and np.any(now == n_sites - 1)
    assert np.all(nxt[now == 0] == 1)
    assert np.all(nxt[now == n_sites - 1] == n_sites - 2)
    # interior: ±1 with probability 1/2 each (a martingale-difference sum, so the binomial z
    # statistic stays valid although the number of interior steps is random)
    inner = (now > 0) & (now < n_sites - 1)
    k = int(np.sum(nxt[inner] > now[inner]))
    assert abs(z_binomial(k, int(inner.sum()), 0.5)) <= Z_MAX


def test_walker_at_2d_wall_picks_among_inside_neighbours():
    shape = (4, 5)
    pos = lone_walker(shape, (0, 0), 40, 2000, seed=32, periodic=False)
    now, step = pos[:, :-1], np.diff(pos, axis=1)
    assert np.all(np.abs(step).sum(-1) == 1)
    on_x_wall = (now[..., 0] == 0) | (now[..., 0] == shape[0] - 1)
    on_y_wall = (now[..., 1] == 0) | (now[..., 1] == shape[1] - 1)
    # corner: two neighbours, 1/2 each (a rule that rejected out-of-lattice hops would stay put
    # half of the time instead)
    corner = on_x_wall & on_y_wall
    k = int(np.sum(step[..., 0][corner] != 0))
    assert abs(z_binomial(k, int(corner.sum()), 1 / 2)) <= Z_MAX
    # edge (not corner): three neighbours, the inward one with probability 1/3
    edge = on_x_wall & ~on_y_wall
    k = int(np.sum(step[..., 0][edge] != 0))
    assert abs(z_binomial(k, int(edge.sum()), 1 / 3)) <= Z_MAX


def test_walker_away_from_walls_is_free():
    # from the centre of 81 sites, 30 steps never reach a wall: the free-walk MSD holds
    steps, replicas = 30, 3000
    pos = lone_walker((81,), (40,), steps, replicas, seed=33, periodic=False)[..., 0]
    r2 = (pos - 40) ** 2
    for t in (5, 30):
        z = (r2[:, t].mean() - t) / math.sqrt(2 * t * (t - 1) / replicas)
        assert abs(z) <= Z_MAX


# ----------------------------------------------------------------------------------------------
# 3. encounter probability
# ----------------------------------------------------------------------------------------------


def two_site_encounter(p, replicas, seed):
    net = ReactionNetwork(("A", "B"), (reaction("A + B -> 0", probability=p),))
    init = GivenLattices(np.array([1, 2], dtype=np.int8))
    ds = run(net, (2,), 2, 1.0, replicas, init, seed)
    return ds.lattice.values[:, 1]


@pytest.mark.parametrize("p", [0.3, 0.75])
def test_encounter_probability_two_attempts(p):
    # both molecules' only move is onto the other: the first picked tries (p), and if it fails
    # the other one tries too, so P(reaction in step 1) = 1 − (1 − p)²
    replicas = 20000
    frame1 = two_site_encounter(p, replicas, seed=41)
    reacted = np.all(frame1 == 0, axis=1)
    # no reaction ⇒ nobody could move; reaction ⇒ both gone
    assert np.all(reacted | np.all(frame1 == [1, 2], axis=1))
    z = z_binomial(int(reacted.sum()), replicas, 1 - (1 - p) ** 2)
    assert abs(z) <= Z_MAX, f"p={p}: {reacted.mean():.4f} vs {1 - (1 - p) ** 2:.4f} (z={z:.2f})"


def test_encounter_probability_zero_and_one():
    assert np.all(two_site_encounter(0.0, 500, seed=42) == [1, 2])
    assert np.all(two_site_encounter(1.0, 500, seed=43) == 0)


# ----------------------------------------------------------------------------------------------
# 4. 1D diffusion-limited annihilation: ρ(t) → (8πDt)^{-1/2}
# ----------------------------------------------------------------------------------------------


def test_annihilation_density_decays_as_inverse_sqrt_t():
    # One hop per step ⇒ D = 1/2 site²/step, so ρ(t) ≈ (8πDt)^{-1/2} = (4πt)^{-1/2} (t in
    # steps).  Window t ∈ [100, 1000] on a periodic ring of 4000 sites starting half filled: the
    # diffusion length √t ≤ 32 ≪ 4000 (no finite-size effect) and ~36 molecules per replica
    # remain at t = 1000.  Finite-time corrections: the exact continuum solution from a random
    # state, ρ0 e^{x²} erfc(x) with x² = 8Dρ0²t = t, has relative correction −1/(2t), i.e. a
    # local slope −1/2 + 1/(2t) ≤ −0.495 on the window; lattice corrections are also O(1/t)
    # (measured with this simulator over 2560 replicas: ρ√(4πt) = 0.997 at t = 100, 1.000 ± 0.003
    # beyond, window slope −0.4986 ± 0.0012).  Hence the allowance of 0.005 on the slope and 0.01
    # on the amplitude, added to 4 standard errors from 16 independent blocks of replicas.
    # The same run is plotted in the book's validation chapter.
    r = validation.annihilation_decay(size=4000, replicas=128, steps=1001, seed=51, blocks=16)
    assert abs(r.slope + 0.5) <= Z_MAX * r.se_slope + 0.005, (r.slope, r.se_slope)
    assert abs(r.amplitude - 1.0) <= Z_MAX * r.se_amplitude + 0.01, (r.amplitude, r.se_amplitude)
    # the test has power: mean-field decay (slope −1) or a wrong D (amplitude ∝ D^{-1/2}) fail
    assert r.se_slope < 0.02 and r.se_amplitude < 0.02


# ----------------------------------------------------------------------------------------------
# 5. determinism and backend agreement
# ----------------------------------------------------------------------------------------------


def lv_run(replicas=6, seed=5, **kw):
    return run(networks.lotka_volterra(), (10, 10), 30, 1.0, replicas, {"X": 15, "Y": 15}, seed,
               periodic=True, **kw)


def test_same_seed_same_result_other_seed_differs():
    a, b, c = lv_run(), lv_run(), lv_run(seed=6)
    xr.testing.assert_equal(a, b)  # every variable and coordinate, bit for bit
    assert a.lattice.dtype == np.int8
    assert not np.array_equal(a.lattice.values, c.lattice.values)


def test_thread_count_does_not_change_results():
    original = numba.get_num_threads()
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    if threads < 2:
        pytest.skip("Numba has a single thread")
    try:
        numba.set_num_threads(1)
        one = lv_run(replicas=8)
        numba.set_num_threads(threads)
        two = lv_run(replicas=8)
    finally:
        numba.set_num_threads(original)
    xr.testing.assert_equal(one, two)


def test_replica_offset_reproduces_larger_run():
    full = lv_run(replicas=10)
    tail = lv_run(replicas=5, replica_offset=5)
    np.testing.assert_array_equal(tail.replica.values, np.arange(5, 10))
    for name in ("lattice", "counts", "nn"):
        np.testing.assert_array_equal(tail[name].values, full[name].values[5:])
    # and not merely because every replica is the same
    assert not np.array_equal(full.lattice.values[0], full.lattice.values[5])


PRESET_CASES = {
    "annihilation": (networks.annihilation(0.3), (30,), False, 0.01, 25,
                     FullyVisible1D(0.2, -0.3, 0.1, sweeps=5)),
    "lotka_volterra": (networks.lotka_volterra(), (8, 8), True, 1.0, 25, {"X": 15, "Y": 15}),
    "rossler": (networks.rossler(), (4, 4, 4), False, 0.01, 15, {"A": 8, "B": 8, "C": 8}),
}


@pytest.mark.parametrize("selection", ["reference", "uniform"])
@pytest.mark.parametrize("preset", sorted(PRESET_CASES))
def test_numpy_reference_equals_numba(preset, selection):
    net, shape, periodic, dt, steps, init = PRESET_CASES[preset]
    out = {}
    for backend in ("numpy", "numba"):
        out[backend] = run(net, shape, steps, dt, 3, init, seed=61, periodic=periodic,
                           selection=selection, backend=backend)
    for name in ("lattice", "counts", "nn"):
        np.testing.assert_array_equal(out["numpy"][name].values, out["numba"][name].values)
    # non-vacuous: reactions did happen in every replica
    counts = out["numba"].counts.values
    assert np.all(np.any(counts[:, 1:] != counts[:, :1], axis=(1, 2)))


# ----------------------------------------------------------------------------------------------
# 6. selection modes (reproduction notes: repro-selection)
# ----------------------------------------------------------------------------------------------
# End to end: a *full* lattice with no encounter reactions is frozen (every hop hits an occupied
# site), so the frame after one step shows exactly which molecule reacted.  Given exactly one event
# in the step, which molecule it hit is independent of the number of events (the event times
# depend on the counts only), so conditioning on "exactly one" keeps the selection law.


def first_event_sites(lattices, shape, k_dt, selection, seed, replicas=10000):
    net = ReactionNetwork(("A", "B", "F"), (reaction("A -> B", rate=k_dt),))
    init = GivenLattices(np.asarray(lattices, dtype=np.int8).reshape(shape))
    ds = run(net, shape, 2, 1.0, replicas, init, seed, selection=selection)
    lat = ds.lattice.values
    # frozen: fillers never move, no site ever empties
    assert np.all((lat == 3) == (lat[:, :1] == 3)) and np.all(lat != 0)
    frame1 = lat[:, 1]
    one = (frame1 == 2).sum(axis=tuple(range(1, frame1.ndim))) == 1
    assert one.sum() > 0.3 * replicas
    return frame1[one] == 2  # boolean (n_one, *shape): where the single B is


@pytest.mark.parametrize("selection,p_lone", [("reference", 1 / 2), ("uniform", 1 / 10)])
def test_2d_reactant_selection_row_biased(selection, p_lone):
    A, F = 1, 3
    rows = [[A] + [F] * 9, [A] * 9 + [F]]  # one A alone in row 0, nine A in row 1
    where = first_event_sites(rows, (2, 10), 0.1, selection, seed=71)
    k = int(where[:, 0].any(axis=1).sum())
    assert abs(z_binomial(k, len(where), p_lone)) <= Z_MAX, (k / len(where), p_lone)


@pytest.mark.parametrize("selection,probs", [("reference", (1 / 2, 1 / 4, 1 / 4)),
                                             ("uniform", (1 / 6, 1 / 6, 4 / 6))])
def test_3d_reactant_selection_plane_then_row(selection, probs):
    A, F = 1, 3
    planes = [[[A, F, F, F], [F, F, F, F]],   # plane 0: a lone A
              [[A, F, F, F], [A, A, A, A]]]   # plane 1: a lone-in-row A and a row of four
    where = first_event_sites(planes, (2, 2, 4), 0.15, selection, seed=72)
    groups = [where[:, 0, 0, 0], where[:, 1, 0, 0], where[:, 1, 1, :].any(axis=1)]
    n = len(where)
    assert np.all(sum(g.astype(int) for g in groups) == 1)
    for g, p in zip(groups, probs, strict=True):
        assert abs(z_binomial(int(g.sum()), n, p)) <= Z_MAX, (g.mean(), p)


@pytest.mark.parametrize("selection,p_row0", [("reference", 1 / 2), ("uniform", 1 / 6)])
def test_2d_birth_site_row_biased(selection, p_row0):
    # one empty site in row 0, five in row 6, fillers elsewhere; a newborn hops at most one row
    # in its first step, so its row at frame 1 (≤ 1 or ≥ 5) tells which row it was born in
    shape, F = (7, 6), 2
    init = np.full(shape, F, dtype=np.int8)
    init[0, 3] = 0
    init[6, :5] = 0
    net = ReactionNetwork(("A", "F"), (reaction("0 -> A", rate=1.0, autocatalytic=False),))
    replicas = 8000
    ds = run(net, shape, 2, 1.0, replicas, GivenLattices(init), seed=73, selection=selection)
    frame1 = ds.lattice.values[:, 1]
    one = (frame1 == 1).sum(axis=(1, 2)) == 1
    assert one.sum() > 0.3 * replicas  # Poisson(1): P(exactly one) = 1/e
    row = np.argmax((frame1[one] == 1).any(axis=2), axis=1)
    assert np.all((row <= 1) | (row >= 5))
    assert abs(z_binomial(int((row <= 1).sum()), int(one.sum()), p_row0)) <= Z_MAX


# Unit level: the pick maps u ∈ [0, 1) to a site; each site's preimage is one interval
# (plane, then row, then site sub-interval), so a midpoint grid of M values of u hits each site
# with frequency within 2/M of its exact probability — a deterministic quadrature, no noise.

GEOMETRY = (3, 4, 5)  # planes, rows per plane, sites per row


def selection_occupancy():
    rng = np.random.default_rng(81)
    occ = rng.choice(np.array([0, 1, 2], dtype=np.int8), size=int(np.prod(GEOMETRY)),
                     p=[0.5, 0.3, 0.2])
    grid = occ.reshape(GEOMETRY)
    grid[2] = 0          # a plane without molecules
    grid[0, 1] = 1       # a full row of code 1
    grid[1, 0] = 0
    grid[1, 0, 2] = 2    # a row holding a single molecule (code 2)
    return occ


def exact_pick_probabilities(occ, code, biased):
    grid = (occ == code).reshape(GEOMETRY)
    prob = np.zeros(grid.shape)
    if not biased:
        return (grid / grid.sum()).ravel()
    planes = [p for p in range(GEOMETRY[0]) if grid[p].any()]
    for p in planes:
        rows = [r for r in range(GEOMETRY[1]) if grid[p, r].any()]
        for r in rows:
            prob[p, r] = grid[p, r] / (len(planes) * len(rows) * grid[p, r].sum())
    return prob.ravel()


def grid_frequencies(pick, n_sites, m):
    hits = np.zeros(n_sites)
    for u in (np.arange(m) + 0.5) / m:
        site = pick(float(u))
        assert site >= 0
        hits[site] += 1
    return hits / m


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("code", [0, 1, 2])
def test_pick_code_probabilities(code, biased):
    occ = selection_occupancy()
    n_codes = 3
    planes, rows_per_plane, row_size = GEOMETRY
    cnt_row = np.empty(n_codes * planes * rows_per_plane, dtype=np.int32)
    cnt_plane = np.empty(n_codes * planes, dtype=np.int32)
    counts = _numba.Counts(cnt_row, cnt_plane)
    selection = _numba.Selection(biased, rows_per_plane, row_size)
    _numba._count_rows(occ, counts, n_codes, selection)
    n_total = int((occ == code).sum())
    expected = exact_pick_probabilities(occ, code, biased)
    m = 30000

    def pick_numba(u):
        return _numba._pick_code(u, code, occ, counts, n_total, selection)

    def pick_reference(u):
        return _reference.pick_site(u, code, occ, biased, rows_per_plane, row_size)

    np.testing.assert_allclose(grid_frequencies(pick_numba, occ.size, m), expected,
                               atol=2 / m + 1e-12)
    np.testing.assert_allclose(grid_frequencies(pick_reference, occ.size, 3000), expected,
                               atol=2 / 3000 + 1e-12)
    # the two selection rules really differ on this occupancy
    other = exact_pick_probabilities(occ, code, not biased)
    assert np.max(np.abs(other - expected)) > 0.02


@pytest.mark.parametrize("biased", [True, False])
def test_hop_order_bag_probabilities(biased):
    # the reference hop sweep's bag: planes → rows → sites for "reference", uniform otherwise
    occ = selection_occupancy()
    planes, rows_per_plane, row_size = GEOMETRY
    geometry = (rows_per_plane, row_size) if biased else (1, occ.size)
    bag = _reference.Bag(*geometry)
    for site in np.flatnonzero(occ):
        bag.add(int(site))
    bag.remove(int(np.flatnonzero(occ)[3]))  # removal must keep the hierarchy consistent
    rest = occ.copy()
    rest[np.flatnonzero(occ)[3]] = 0
    expected = exact_pick_probabilities((rest != 0).astype(np.int8), 1, biased)
    m = 20000
    freq = grid_frequencies(lambda u: bag.pick(u)[0], occ.size, m)
    np.testing.assert_allclose(freq, expected, atol=2 / m + 1e-12)


# ----------------------------------------------------------------------------------------------
# 7. fully visible 1D initial states vs exact enumeration
# ----------------------------------------------------------------------------------------------


def chain_statistics(v):
    v = np.asarray(v, dtype=np.int64)
    return np.stack([v.sum(-1), (v[..., :-1] * v[..., 1:]).sum(-1),
                     (v[..., :-2] * v[..., 1:-1] * v[..., 2:]).sum(-1)], axis=-1)


FV_PARAMS = [(0.3, -0.8, 0.6), (-0.5, 1.0, -1.0), (1.0, -1.0, -1.0)]


def test_fully_visible_1d_matches_exact_enumeration():
    n, per_set = 6, 8000
    states = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int8)
    stats = chain_statistics(states)
    b, J, K = (np.repeat(np.array(col, dtype=float), per_set) for col in zip(*FV_PARAMS,
                                                                           strict=True))
    ds = run(networks.annihilation(), (n,), 1, 1.0, len(b), FullyVisible1D(b, J, K, sweeps=20),
             seed=91)
    lattices = ds.lattice.values[:, 0]
    np.testing.assert_array_equal(ds.ic_b.values, b)
    index = lattices.astype(np.int64) @ (2 ** np.arange(n - 1, -1, -1))  # row of `states`
    for s, params in enumerate(FV_PARAMS):
        logw = stats @ np.array(params)
        prob = np.exp(logw - logw.max())
        prob /= prob.sum()
        sample = slice(s * per_set, (s + 1) * per_set)
        # per-moment z-tests with the exact variances
        observed = chain_statistics(lattices[sample])
        mean = prob @ stats
        var = prob @ stats**2 - mean**2
        z = (observed.mean(0) - mean) / np.sqrt(var / per_set)
        assert np.all(np.abs(z) <= Z_MAX), (params, z)
        # chi-square over the 64 states (states expected < 5 times pooled into one cell); a p-value
        # above 6e-5 matches |z| ≤ 4
        counts = np.bincount(index[sample], minlength=len(states))
        expected = prob * per_set
        big = expected >= 5
        obs, exp = counts[big], expected[big]
        if not big.all():
            obs = np.append(obs, counts[~big].sum())
            exp = np.append(exp, expected[~big].sum())
        chi2 = np.sum((obs - exp) ** 2 / exp)
        assert st.chi2.sf(chi2, len(obs) - 1) > 6e-5, (params, chi2, len(obs))


def test_fully_visible_1d_without_sweeps_is_uniform_count_random_fill():
    # sweeps=0 leaves the reference's random fill: total uniform in {0…N}, placed at random
    n, replicas = 6, 7000
    ds = run(networks.annihilation(), (n,), 1, 1.0, replicas, FullyVisible1D(0.0, 0.0, 0.0,
             sweeps=0), seed=92)
    v = ds.lattice.values[:, 0]
    totals = np.bincount(v.sum(1), minlength=n + 1)
    for k in totals:
        assert abs(z_binomial(int(k), replicas, 1 / (n + 1))) <= Z_MAX
    # given the total, every site is equally likely to be filled
    per_site = v.sum(0)
    for k in per_site:
        assert abs(z_binomial(int(k), replicas, 0.5)) <= Z_MAX


# ----------------------------------------------------------------------------------------------
# 8. input validation: clear errors before any work
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def no_work(monkeypatch):
    """Fail if an initial state is built, i.e. if any work starts before validation finished."""
    def refuse(*args, **kwargs):
        raise AssertionError("work started before the arguments were validated")
    for cls in (RandomCounts, FullyVisible1D, GivenLattices):
        monkeypatch.setattr(cls, "build", refuse)


NET_A = ReactionNetwork(("A",), (reaction("A -> 0", rate=1.0),))
GOOD = {"network": NET_A, "shape": (4, 5), "steps": 3, "dt": 0.1, "replicas": 2,
        "init": {"A": 3}}


@pytest.mark.parametrize("change,error,match", [
    ({"init": {"Z": 3}}, ValueError, "init: unknown species 'Z'"),
    ({"init": {"A": 21}}, ValueError, "init: 21 molecules do not fit on 20 sites"),
    ({"init": {"A": -1}}, ValueError, "init: count of 'A'"),
    ({"init": None}, ValueError, "init must be given"),
    ({"init": GivenLattices(np.zeros((4, 4), np.int8))}, ValueError, "init: lattices must end"),
    ({"init": GivenLattices(np.full((4, 5), 2, np.int8))}, ValueError, "init: codes"),
    ({"init": FullyVisible1D(0.0, 0.0, 0.0)}, ValueError, "init: FullyVisible1D needs a 1D"),
    ({"shape": (0, 5)}, ValueError, "shape"),
    ({"shape": (2, 2, 2, 2)}, ValueError, "shape"),
    ({"shape": (4.5, 5)}, ValueError, "shape"),
    ({"shape": (1,)}, ValueError, "shape"),
    ({"shape": 5}, TypeError, "shape"),
    ({"selection": "biased"}, ValueError, "selection must be one of"),
    ({"steps": 10.0}, TypeError, "steps must be an integer"),
    ({"steps": 0}, ValueError, "steps must be >= 1"),
    ({"replicas": 0}, ValueError, "replicas must be >= 1"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"dt": 0.0}, ValueError, "dt must be a finite positive number"),
    ({"dt": -0.1}, ValueError, "dt must be a finite positive number"),
    ({"dt": float("nan")}, ValueError, "dt must be a finite positive number"),
    ({"network": "A -> 0"}, TypeError, "network must be a ReactionNetwork"),
])
def test_invalid_arguments(no_work, change, error, match):
    kwargs = {**GOOD, **change}
    with pytest.raises(error, match=match):
        simulate(kwargs.pop("network"), kwargs.pop("shape"), kwargs.pop("steps"),
                 kwargs.pop("dt"), progress=False, backend="numba", **kwargs)


def test_periodic_axis_needs_two_sites(no_work):
    with pytest.raises(ValueError, match="periodic axes need at least two sites"):
        simulate(NET_A, (1, 5), 3, 0.1, init={"A": 1}, periodic=True, progress=False)


def test_valid_arguments_pass_validation(no_work):
    # the fixture is not vacuous: valid arguments reach the build step
    with pytest.raises(AssertionError, match="work started"):
        simulate(**GOOD, progress=False, backend="numba")


@pytest.mark.parametrize("spec,kwargs,match", [
    ("A -> 0", {"rate": -1.0}, "rate must be finite and >= 0"),
    ("A -> 0", {"rate": float("inf")}, "rate must be finite and >= 0"),
    ("A + B -> 0", {"probability": 1.5}, r"probability must be in \[0, 1\]"),
    ("A + B -> 0", {"probability": -0.1}, r"probability must be in \[0, 1\]"),
    ("A + B -> 0", {"rate": 1.0}, "needs 'probability'"),
    ("A -> 0", {"probability": 0.5}, "needs 'rate'"),
    ("A + B + C -> 0", {"probability": 0.5}, "at most two reactants"),
])
def test_invalid_reactions(spec, kwargs, match):
    with pytest.raises(ValueError, match=match):
        reaction(spec, **kwargs)


def test_network_rejects_unknown_species():
    with pytest.raises(ValueError, match="unknown species 'B'"):
        ReactionNetwork(("A",), (reaction("A -> B", rate=1.0),))


# ----------------------------------------------------------------------------------------------
# 9. presets (reproduction notes: repro-networks)
# ----------------------------------------------------------------------------------------------


def describe(network):
    return [(r.reactants, r.products, r.kind, r.rate, r.probability) for r in network.reactions]


def test_lotka_volterra_preset():
    net = networks.lotka_volterra()
    assert net.species == ("X", "Y")  # X = prey, Y = hunter
    assert describe(net) == [
        ((), ("X",), "creation", 0.025, None),           # prey birth
        (("Y",), (), "decay", 0.06, None),               # hunter death
        (("X", "Y"), ("Y", "Y"), "encounter", None, 0.4),  # predation
    ]
    assert net.reactions[0].autocatalytic  # propensity k1·max(n_X, 1)
    t = net.tables()
    n_codes = 3
    for pair in (1 * n_codes + 2, 2 * n_codes + 1):  # either species may be the mover
        assert t.pair_len[pair] == 1
        assert t.enc_probability[t.pair_rxn[t.pair_start[pair]]] == 0.4
    assert t.pair_len[1 * n_codes + 1] == 0 and t.pair_len[2 * n_codes + 2] == 0


def test_lotka_volterra_predation_semantics():
    # X at site 0, Y at site 1, certain predation, no other reactions: after one step both
    # sites hold Y whoever moved (the prey's site becomes a hunter, the hunter stays)
    net = networks.lotka_volterra(k1=0.0, k2=0.0, k3=1.0)
    ds = run(net, (2,), 2, 1.0, 200, GivenLattices(np.array([1, 2], np.int8)), seed=93)
    assert np.all(ds.lattice.values[:, 1] == 2)


def test_rossler_preset():
    net = networks.rossler()
    assert net.species == ("A", "B", "C")
    assert describe(net) == [
        (("A",), ("A", "A"), "fission", 30.0, None),
        (("B",), (), "decay", 10.0, None),
        (("C",), ("C", "C"), "fission", 16.5, None),
        (("A", "A"), ("A",), "encounter", None, 0.1),
        (("A", "B"), ("B", "B"), "encounter", None, 0.4),
        (("A", "C"), (), "encounter", None, 0.24),
        (("C", "C"), ("C",), "encounter", None, 0.36),
    ]
    assert networks.annihilation().reactions[0].probability == 0.01
