"""Bad input at the public boundary (issue 12): each test fails without its fix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dbdlab.learn.static import fit_boltzmann
from dbdlab.learn.train import FieldOptimizer, WindowSchedule, train
from dbdlab.models import FullyVisible1DModel, annihilation_rbm
from dbdlab.sampling import (
    gibbs_sweeps,
    hidden_probabilities,
    mean_field_steps,
    random_chains,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_learn_train import _problem  # noqa: E402

NON_FINITE = [np.nan, np.inf, -np.inf]

# --------------------------------------------------------------------------- 2: non-finite θ


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_gibbs_sweeps_rejects_non_finite_theta(bad, backend):
    model = annihilation_rbm(10)
    chains = random_chains(model, 4, 0, backend=backend)
    before = [np.array(layer) for layer in chains.layers]
    with pytest.raises(ValueError, match="theta must be finite"):
        gibbs_sweeps(model, [bad, 0.0, 0.0], chains, 2)
    for old, new in zip(before, chains.layers, strict=True):  # rejected before any work
        np.testing.assert_array_equal(old, np.asarray(new))


@pytest.mark.parametrize("bad", NON_FINITE)
def test_fully_visible_sampler_rejects_non_finite_theta(bad):
    model = FullyVisible1DModel(6)
    chains = random_chains(model, 3, 0, backend="numba")
    with pytest.raises(ValueError, match="theta must be finite"):
        gibbs_sweeps(model, [0.1, bad, 0.0], chains, 1)


@pytest.mark.parametrize("bad", NON_FINITE)
def test_mean_field_hidden_and_exact_reject_non_finite_theta(bad):
    model = annihilation_rbm(4)
    theta = [0.0, bad, 0.0]
    with pytest.raises(ValueError, match="theta must be finite"):
        hidden_probabilities(model, theta, np.zeros((2, 4), dtype=np.int8))
    with pytest.raises(ValueError, match="theta must be finite"):
        mean_field_steps(model, theta, random_chains(model, 2, 0, backend="numpy"))
    with pytest.raises(ValueError, match="theta must be finite"):
        model.exact(theta)
    with pytest.raises(ValueError, match="theta must be finite"):
        FullyVisible1DModel(4).exact([bad, 0.0, 0.0])


def test_theta_of_wrong_type_is_a_type_error():
    model = annihilation_rbm(4)
    for bad in ("abc", [1 + 2j, 0, 0], np.array([object(), 0, 0], dtype=object)):
        with pytest.raises(TypeError, match="theta"):
            model.check_theta(bad)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_fit_boltzmann_rejects_non_finite_theta0_and_stops_on_divergence():
    model = FullyVisible1DModel(6)
    data = (np.random.default_rng(0).random((20, 6)) < 0.4).astype(np.int8)
    with pytest.raises(ValueError, match="theta must be finite"):
        fit_boltzmann(model, data, theta0=[np.nan, 0.0, 0.0], steps=3, batch=4,
                      average_last=1, progress=False)
    with pytest.raises(ValueError, match=r"diverged at step \d+ of 50.*lower lr"):
        fit_boltzmann(model, data, steps=50, batch=4, lr=1e308, average_last=1,
                      progress=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverging_training_stops_naming_the_step(tmp_path):
    dyn, ics, est = _problem(12)
    path = tmp_path / "ckpt.nc"
    with pytest.raises(ValueError, match=r"training diverged at step \d+"):
        train(dyn, dyn.new_fields(), ics, est, steps=20, window=WindowSchedule(4, 2),
              n_timepoints=12, optimizer=FieldOptimizer("sgd", 1e6), progress=False,
              checkpoint=path, checkpoint_every=1)
    from dbdlab.store import load_dataset

    saved = load_dataset(path)  # the last checkpoint holds finite coefficients only
    for name in dyn.learned:
        assert np.all(np.isfinite(saved[f"{name}__coefficients"].values))


# --------------------------------------------------------------------------- 3: memory estimate


@pytest.mark.parametrize(("network", "shape", "init", "replicas", "steps", "store"), [
    ("annihilation", (1000,), {"A": 300}, 20, 500, True),
    ("annihilation", (1000,), {"A": 300}, 20, 500, False),
    ("lotka_volterra", (30, 30), {"X": 100, "Y": 100}, 10, 300, True),
    ("lotka_volterra", (30, 30), {"X": 100, "Y": 100}, 10, 300, False),
    ("lotka_volterra", (30, 30), {"X": 100, "Y": 100}, 500, 10, True),
])
def test_memory_estimate_bounds_the_measured_peak(network, shape, init, replicas, steps, store):
    import tracemalloc

    from dbdlab.simulate import memory_estimate, networks, simulate

    net = getattr(networks, network)()
    simulate(net, shape, 3, 0.01, init=init, progress=False)  # compile outside the trace
    tracemalloc.start()
    try:
        simulate(net, shape, steps, 0.01, replicas=replicas, init=init, progress=False,
                 store_lattices=store)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = memory_estimate(shape, steps, replicas, len(net.species), store)["total"]
    assert peak <= estimate <= 4 * peak, (peak, estimate)


def test_simulate_refuses_a_run_that_does_not_fit_before_any_work(monkeypatch):
    import time

    from dbdlab.simulate import SimulationTooLarge, simulate
    from dbdlab.simulate.networks import annihilation

    monkeypatch.setenv("DBDLAB_MEMORY_LIMIT", str(8e9))
    start = time.perf_counter()
    with pytest.raises(SimulationTooLarge, match=r"about 240 GB.*store_lattices=False"):
        simulate(annihilation(), (1000,), 10**6, 0.01, replicas=100, init={"A": 2})
    with pytest.raises(ValueError, match="replica_offset"):  # also a ValueError: the advice
        simulate(annihilation(), (10,), 10, 0.01, replicas=10**8, init={"A": 2})
    assert time.perf_counter() - start < 5.0  # refused up front, not after minutes of work


# --------------------------------------------------------------------------- 4: huge dt


@pytest.mark.parametrize("dt", [1e308, 1e6, 2e3])
def test_huge_dt_is_refused_before_the_kernel(dt):
    import time

    from dbdlab.simulate import simulate
    from dbdlab.simulate.networks import lotka_volterra

    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"dt=.* too large.*events per site.*choose dt ≤"):
        simulate(lotka_volterra(), (10, 10), 3, dt, init={"X": 5, "Y": 5}, progress=False)
    assert time.perf_counter() - start < 5.0


def test_dt_bound_admits_the_papers_settings():
    from dbdlab.experiments.settings import SETTINGS
    from dbdlab.simulate import MAX_EVENTS_PER_SITE, max_events_per_site
    from dbdlab.simulate.networks import annihilation, lotka_volterra, rossler

    for name, make in (("lotka_volterra", lotka_volterra), ("rossler", rossler),
                       ("annihilation", annihilation)):
        s = SETTINGS[name]
        events = max_events_per_site(make(), int(np.prod(s["shape"])), s["dt"])
        assert events < MAX_EVENTS_PER_SITE / 100, (name, events)


# --------------------------------------------------------------------------- 7: checkpoints


def _train_lattice(path, steps, **overrides):
    from dbdlab.learn import Dynamics
    from dbdlab.learn.estimators import LatticeCDEstimator

    model = FullyVisible1DModel(8)
    names = tuple(model.theta_names)
    lattices = (np.random.default_rng(3).random((1, 12, 6, 8)) < 0.3).astype(np.int8)
    settings = {"lr": 0.05, "seed": 1, "batch": 4, "length": 3, "kind": "adam"}
    settings.update(overrides)
    estimator = LatticeCDEstimator(model, lattices, batch=settings["batch"], k=1,
                                   seed=settings["seed"], backend="numpy")
    dyn = Dynamics(names, names, (0.5, 0.5, 0.5), 0.1)
    return train(dyn, dyn.new_fields(), np.zeros((1, 3)), estimator, steps=steps,
                 window=WindowSchedule(settings["length"], 2), n_timepoints=6,
                 optimizer=FieldOptimizer(settings["kind"], settings["lr"]), progress=False,
                 checkpoint=path, checkpoint_every=2)


@pytest.mark.parametrize(("change", "named"), [
    ({"lr": 0.5}, "optimizer.lr: checkpoint 0.05, now 0.5"),
    ({"seed": 2}, "estimator.seed: checkpoint 1, now 2"),
    ({"batch": 3}, "estimator.batch: checkpoint 4, now 3"),
    ({"length": 2}, "window.length: checkpoint 3, now 2"),
    ({"kind": "sgd"}, "optimizer.kind: checkpoint 'adam', now 'sgd'"),
])
def test_resume_with_changed_settings_is_refused_listing_differences(tmp_path, change, named):
    path = tmp_path / "ckpt.nc"
    _train_lattice(path, 4)
    with pytest.raises(ValueError, match="other settings") as info:
        _train_lattice(path, 6, **change)
    assert named in str(info.value) and str(path) in str(info.value)


def test_resume_beyond_requested_steps_is_refused(tmp_path):
    path = tmp_path / "ckpt.nc"
    _train_lattice(path, 4)
    with pytest.raises(ValueError, match=r"at step 4, beyond steps=2"):
        _train_lattice(path, 2)
    assert _train_lattice(path, 4).history.sizes["step"] == 4  # same settings: fine


def test_non_checkpoint_file_gives_an_error_naming_the_file(tmp_path):
    import xarray as xr

    from dbdlab.store import save_dataset

    path = save_dataset(xr.Dataset({"x": ("a", np.arange(3))}), tmp_path / "not_ckpt.nc")
    with pytest.raises(ValueError, match=r"not_ckpt\.nc is not a dbdlab training checkpoint"):
        _train_lattice(path, 2)
    garbage = tmp_path / "garbage.nc"
    garbage.write_text("no netCDF here")
    with pytest.raises(ValueError, match=r"garbage\.nc"):
        _train_lattice(garbage, 2)


# --------------------------------------------------------------------------- 8: silent aliasing


def _sim(**kwargs):
    from dbdlab.simulate import simulate
    from dbdlab.simulate.networks import annihilation

    args = {"network": annihilation(), "shape": (10,), "steps": 3, "dt": 0.01,
            "init": {"A": 3}, "progress": False}
    args.update(kwargs)
    return simulate(**args)


def test_seeds_beyond_64_bits_are_refused_not_aliased():
    with pytest.raises(ValueError, match=r"seed must be <= 18446744073709551615"):
        _sim(seed=2**64)
    top = _sim(seed=2**64 - 1)  # the largest seed works and differs from seed 0
    assert not np.array_equal(top.lattice.values, _sim(seed=0).lattice.values)


def test_replica_offset_overflow_is_refused():
    with pytest.raises(ValueError, match=r"replica_offset \+ replicas must be <= 2\*\*63 - 1"):
        _sim(replica_offset=2**63 - 1, replicas=2)
    ds = _sim(replica_offset=2**62, replicas=2)
    assert ds.replica.dtype.kind == "i" and len(set(ds.replica.values.tolist())) == 2


@pytest.mark.parametrize("lattice", [np.full((10,), 0.99), np.full((10,), np.nan),
                                     np.zeros(10, dtype=bool)])
def test_non_integer_init_lattices_are_refused(lattice):
    with pytest.raises(TypeError, match="init: lattices must be an integer array"):
        _sim(init=lattice)


@pytest.mark.parametrize("dt", [True, np.bool_(True)])
def test_boolean_dt_is_refused_like_boolean_steps(dt):
    with pytest.raises(TypeError, match="dt must be a real number"):
        _sim(dt=dt)
    with pytest.raises(TypeError, match="steps must be an integer"):
        _sim(steps=True)


@pytest.mark.parametrize("bad", [257, -1, 2])
def test_fit_boltzmann_checks_codes_before_the_int8_cast(bad):
    model = FullyVisible1DModel(6)
    data = np.zeros((10, 6), dtype=np.int64)
    data[3, 2] = bad
    with pytest.raises(ValueError, match=r"data: codes must be in 0…1"):
        fit_boltzmann(model, data, steps=2, batch=2, average_last=1, progress=False)


# --------------------------------------------------------------------------- 9: reactions


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda R, r: R("Prey", ()), TypeError, r"species must be a sequence of names, got the "
                                            r"string 'Prey' \(write \('Prey',\)"),
    (lambda R, r: R(("A",), None), TypeError, "reactions must be a sequence of Reaction"),
    (lambda R, r: R(("A",), (), name=3), TypeError, "name must be a string"),
    (lambda R, r: r("0 A -> B", rate=1.0), ValueError, "multiplicity must be >= 1"),
    (lambda R, r: r("A -> 0 B", rate=1.0), ValueError, "multiplicity must be >= 1"),
    (lambda R, r: r("A -> B", rate="1"), TypeError, "rate must be a real number, got str"),
    (lambda R, r: r("A -> B", rate=True), TypeError, "rate must be a real number, got bool"),
    (lambda R, r: r("A + A -> 0", probability="0.5"), TypeError, "probability must be a real"),
])
def test_reaction_input_errors_name_the_argument(make, error, message):
    from dbdlab.simulate.reactions import ReactionNetwork, reaction

    with pytest.raises(error, match=message):
        make(ReactionNetwork, reaction)


def test_single_species_and_numpy_rates_still_work():
    from dbdlab.simulate.reactions import ReactionNetwork, reaction

    net = ReactionNetwork(("Prey",), (reaction("Prey -> 2 Prey", rate=np.float32(0.5)),))
    assert net.species == ("Prey",) and net.reactions[0].rate == 0.5


# --------------------------------------------------------------------------- 10: vague errors


@pytest.mark.parametrize("bad", [np.nan, np.inf, 2.5])
def test_nan_and_non_integral_counts_name_the_argument(bad):
    from dbdlab.experiments.evaluate import sample_visible
    from dbdlab.learn.maxent import zero_weight_biases, zero_weight_counts
    from dbdlab.models import Layer
    from dbdlab.simulate.lattice import Lattice

    model = annihilation_rbm(4)
    chains = random_chains(model, 2, 0, backend="numpy")
    cases = [
        (lambda: Lattice((bad, 3)), "shape must hold integers"),
        (lambda: Layer((bad,), ("A",)), "shape must hold integers"),
        (lambda: _sim(shape=(bad,)), "shape must hold integers"),
        (lambda: random_chains(model, 2, bad, backend="numpy"), "seed must be"),
        (lambda: random_chains(model, bad, 0, backend="numpy"), "n_chains must be"),
        (lambda: gibbs_sweeps(model, [0.0, 0.0, 0.0], chains, bad), "n_sweeps must be"),
        (lambda: mean_field_steps(model, [0.0, 0.0, 0.0], chains, bad), "n_steps must be"),
        (lambda: zero_weight_counts({"A": 0.1}, bad), "n_units must be"),
        (lambda: zero_weight_biases({"A": 1.0}, bad), "n_units must be"),
        (lambda: sample_visible(model, np.zeros(3), 2, bad, 0), "sweeps must be"),
        (lambda: sample_visible(model, np.zeros(3), 2, 1, bad), "seed must be"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_negative_chain_count_names_the_argument():
    from dbdlab.experiments.evaluate import sample_visible

    with pytest.raises(ValueError, match="n_chains must be a positive integer, got -1"):
        sample_visible(annihilation_rbm(4), np.zeros((2, 3)), -1, 1, 0)
