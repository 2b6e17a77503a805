"""Learning throughput: seconds per optimisation step of Algorithm 1 (annihilation models).

Run ``python benchmarks/learn.py [--quick]``.  Builds an annihilation data set of its own
(50 initial conditions × 10 lattices × 100 timepoints of 1000 sites; ``--quick``: 10 ICs), then
times optimisation steps of the fully visible (b, J, K) model and the hidden-layer RBM with the
paper's settings (CD-1, batch 10, window 5, sequential updates over all initial conditions),
once with the exact discrete adjoint and once with the papers' continuous adjoint.  Prints a
table and writes ``benchmarks/results/learn.json``.  For scale: the authors' C++ needs about
1.4 s per step of the hidden model with 50 initial conditions, single-threaded.

``--moments`` alone (otherwise after the steps) times the moments of the learning phases at the
papers' batch sizes, the Numba kernels (:func:`~dbdlab.learn.estimators.wake_moments`,
:func:`~dbdlab.learn.estimators.cd_moments`) against the readable NumPy reference
(``model.moments`` of the phases' layers, the hidden layer as ``p(h|v)`` arrays) in the same
run: one RBM moment call (500 chains of 1000 sites), a step of
:func:`~dbdlab.learn.static.fit_boltzmann` (notebook 02: 50 groups × 10 chains, CD-1) and one
:class:`~dbdlab.learn.LatticeCDEstimator` call per model (notebook 03: 6 timepoints × 10
chains).  The Gibbs sweeps are the same Numba kernel on both sides.  Random lattices (density
0.3) stand in for data; the timings do not depend on the values.  CPU time
(``time.process_time``), so run it with ``NUMBA_NUM_THREADS=1`` on a shared machine.  Writes
``benchmarks/results/learn-moments.json``.

Measured (one thread, two shared cores, load average ≈ 1–2, Dec 2026): RBM moments of 500
chains 29.2 → 5.5 ms (5.3×); fit_boltzmann step 74.6 → 26.7 ms (2.8×, moments only; 4 steps
per call); estimator call, visible 1.8 → 1.1 ms, hidden 6.6 → 3.9 ms.  End to end on the paper
data (CPU ms per step, one thread, best of 3 runs; before = commit 19e437e): fit_boltzmann
45 → 13; notebook 03 training, visible 142 → 72 and hidden 271 → 174 (20-step runs, which
include ≈ 20 ms per step of hashing the training lattices once per run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time

import numba
import numpy as np
from _report import write  # benchmarks/_report.py, next to this script

from dbdlab.experiments import datasets
from dbdlab.experiments.annihilation import initial_conditions, lattices_per_ic, learning_setups
from dbdlab.learn import FieldOptimizer, LatticeCDEstimator, WindowSchedule, estimators, train
from dbdlab.learn.static import fit_boltzmann
from dbdlab.models import annihilation_rbm
from dbdlab.sampling.rbm_moments import rbm_moments_numba, rbm_moments_reference


def _data(n_ic: int):
    ds = datasets.annihilation_set(n_ic, 10, 100, seed=1, progress=False)
    setups = learning_setups(ds.sizes["x"], 0.01)
    fit = fit_boltzmann(setups["hidden"].model, ds.lattice.isel(time=0).values,
                        groups=ds.ic.values, steps=200, lr=1e-5, progress=False)
    return lattices_per_ic(ds), initial_conditions(ds), fit.theta_fit.values, setups


def _time_steps(setup, ics, lat, adjoint: str, steps: int) -> float:
    dyn = setup.dynamics
    est = LatticeCDEstimator(setup.model, lat, batch=10, k=1, seed=0)
    kwargs = dict(window=WindowSchedule(5, 2), n_timepoints=lat.shape[2],
                  optimizer=FieldOptimizer("sgd", 1.0), adjoint=adjoint, progress=False)
    train(dyn, dyn.new_fields(), ics, est, steps=2, **kwargs)  # compile and warm caches
    result = train(dyn, dyn.new_fields(), ics, est, steps=steps, **kwargs)
    return float(np.median(result.history.seconds.values))


@contextlib.contextmanager
def _reference_moments():
    """Route the learning loops' moments through the readable layered NumPy path."""
    kernel = estimators._kernel_moments
    estimators._kernel_moments = lambda model, theta, backend: None
    try:
        yield
    finally:
        estimators._kernel_moments = kernel


def _cpu_ms(call, repeats: int) -> float:
    """Median CPU milliseconds of ``call()`` over ``repeats`` calls (after one warm-up)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return 1000 * float(np.median(times))


def moments_benchmark(quick: bool) -> None:
    """Phase moments, Numba kernels against the NumPy reference (module docstring)."""
    rng = np.random.default_rng(0)
    n_groups, n_sites, repeats = (10, 1000, 3) if quick else (50, 1000, 7)
    rbm = annihilation_rbm(n_sites)
    v = (rng.random((10 * n_groups, n_sites)) < 0.3).astype(np.int8)
    theta = rng.normal(0.0, 0.5, (len(v), rbm.n_theta))
    groups = np.repeat(np.arange(n_groups), 10)
    lattices = (rng.random((4, 10, 12, n_sites)) < 0.3).astype(np.int8)
    setups = learning_setups(n_sites, 0.01)

    def fit():
        fit_boltzmann(rbm, v, groups=groups, steps=4, batch=10, lr=1e-5, k=1, seed=1,
                      backend="numba", average_last=1, progress=False)

    def estimator_call(name):
        est = LatticeCDEstimator(setups[name].model, lattices, batch=10, k=1, seed=0,
                                 backend="numba")
        thetas = np.tile([[-1.0, 0.3, 0.1]], (6, 1))
        return lambda: est(thetas, np.arange(6), 1, 3)

    cases = {
        f"RBM moments M(v, p(h|v)), {len(v)} chains": (
            lambda: rbm_moments_reference(rbm, theta, v), lambda: rbm_moments_numba(rbm, theta, v),
            1, len(v) * n_sites),
        f"fit_boltzmann step, {n_groups} groups × 10 chains, CD-1": (fit, fit, 4,
                                                                    2 * len(v) * n_sites),
        "LatticeCDEstimator call, visible (b, J, K), 60 chains": (
            estimator_call("visible"), estimator_call("visible"), 1, 2 * 60 * n_sites),
        "LatticeCDEstimator call, hidden RBM, 60 chains": (
            estimator_call("hidden"), estimator_call("hidden"), 1, 2 * 60 * n_sites),
    }
    results, table = {"cpu_ms": {}}, []
    print(f"\n{'case':<58}{'reference ms':>14}{'Numba ms':>10}{'Mchain-sites/s':>16}"
          f"{'speed-up':>10}")
    for name, (reference, kernel, per, sites) in cases.items():
        with _reference_moments():
            ref_ms = _cpu_ms(reference, repeats) / per
        new_ms = _cpu_ms(kernel, repeats) / per
        results["cpu_ms"][name] = {"reference": ref_ms, "numba": new_ms}
        rate = sites / new_ms / 1e3
        print(f"{name:<58}{ref_ms:>14.2f}{new_ms:>10.2f}{rate:>16.1f}{ref_ms / new_ms:>9.1f}×")
        table.append([name, "NumPy reference (baseline)", round(ref_ms, 2), "1×"])
        table.append([name, "Numba kernels", round(new_ms, 2), f"{ref_ms / new_ms:.1f}×"])
    write("learn-moments", results,
          "Moments of the learning phases: CPU ms per call (per step for fit_boltzmann), "
          f"Numba threads {numba.config.NUMBA_NUM_THREADS}",
          ["case", "path", "CPU ms", "speed-up vs the NumPy reference (same run)"], table,
          ["reference: model.moments of the layered phases (hidden layer as p(h|v) arrays); "
           "the Gibbs sweeps are the same Numba kernel on both sides; results bit-identical"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 initial conditions, 4 steps")
    parser.add_argument("--moments", action="store_true",
                        help="only the phase-moment timings (Numba kernels vs NumPy reference)")
    args = parser.parse_args()
    if args.moments:
        moments_benchmark(args.quick)
        return
    n_ic, steps = (10, 4) if args.quick else (50, 10)
    start = time.perf_counter()
    lat, bjk, hidden_ics, setups = _data(n_ic)
    setup_seconds = time.perf_counter() - start
    cases = {
        "visible (b, J, K)": (setups["visible"], bjk),
        "hidden (b, W, b')": (setups["hidden"], hidden_ics),
    }
    results = {"machine": {"cpu": platform.processor() or platform.machine(),
                           "cores": os.cpu_count(),
                           "numba_threads": numba.config.NUMBA_NUM_THREADS},
               "initial_conditions": n_ic, "setup_seconds": setup_seconds, "seconds_per_step": {}}
    print(f"{n_ic} initial conditions, 10 lattices each, 1000 sites; median of {steps} steps")
    print(f"{'model':<22}{'adjoint':<12}{'s/step':>10}{'ms per IC':>12}")
    for name, (setup, ics) in cases.items():
        for adjoint in ("discrete", "continuous"):
            seconds = _time_steps(setup, ics, lat, adjoint, steps)
            results["seconds_per_step"][f"{name}, {adjoint}"] = seconds
            print(f"{name:<22}{adjoint:<12}{seconds:>10.3f}{1000 * seconds / n_ic:>12.1f}")
    # Baseline: the papers' continuous adjoint of the same model, timed in this run.
    table = []
    for name in cases:
        base = results["seconds_per_step"][f"{name}, continuous"]
        for adjoint in ("continuous", "discrete"):
            seconds = results["seconds_per_step"][f"{name}, {adjoint}"]
            table.append([name, {"continuous": "papers' continuous (baseline)",
                                 "discrete": "exact discrete"}[adjoint],
                          round(seconds, 3), round(1000 * seconds / n_ic, 1),
                          "1×" if adjoint == "continuous" else f"{seconds / base:.2f}×"])
    write("learn", results,
          f"Learning: seconds per optimisation step, {n_ic} initial conditions, median of "
          f"{steps} steps",
          ["model", "adjoint", "s per step", "ms per initial condition",
           "time vs the continuous adjoint (same run)"], table)
    moments_benchmark(args.quick)

if __name__ == "__main__":
    main()
