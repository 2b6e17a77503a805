"""Bad input at the public boundary (issue 12): each test fails without its fix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dbdlab.learn.train import FieldOptimizer, WindowSchedule, train
from dbdlab.maxent import fit_boltzmann
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

    from dbdlab import networks
    from dbdlab.simulate import memory_estimate, simulate

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

    from dbdlab.networks import annihilation
    from dbdlab.simulate import SimulationTooLarge, simulate

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

    from dbdlab.networks import lotka_volterra
    from dbdlab.simulate import simulate

    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"dt=.* too large.*events per site.*choose dt ≤"):
        simulate(lotka_volterra(), (10, 10), 3, dt, init={"X": 5, "Y": 5}, progress=False)
    assert time.perf_counter() - start < 5.0


def test_dt_bound_admits_the_papers_settings():
    from dbdlab.networks import SETTINGS, annihilation, lotka_volterra, rossler
    from dbdlab.simulate import MAX_EVENTS_PER_SITE, max_events_per_site

    for name, make in (("lotka_volterra", lotka_volterra), ("rossler", rossler),
                       ("annihilation", annihilation)):
        s = SETTINGS[name]
        events = max_events_per_site(make(), int(np.prod(s["shape"])), s["dt"])
        assert events < MAX_EVENTS_PER_SITE / 100, (name, events)
