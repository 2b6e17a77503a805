"""Learning throughput: seconds per optimisation step of Algorithm 1 (annihilation models).

Run ``python benchmarks/learn.py [--quick]``.  Builds an annihilation data set of its own
(50 initial conditions × 10 lattices × 100 timepoints of 1000 sites; ``--quick``: 10 ICs), then
times optimisation steps of the fully visible (b, J, K) model and the hidden-layer RBM with the
paper's settings (CD-1, batch 10, window 5, sequential updates over all initial conditions),
once with the exact discrete adjoint and once with the papers' continuous adjoint.  Prints a
table and writes ``benchmarks/results/learn.json``.  For scale: the authors' C++ needs about
1.4 s per step of the hidden model with 50 initial conditions, single-threaded.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numba
import numpy as np
from _report import write  # benchmarks/_report.py, next to this script

from dbdlab.experiments import datasets
from dbdlab.experiments.annihilation import initial_conditions, lattices_per_ic, learning_setups
from dbdlab.learn import FieldOptimizer, LatticeCDEstimator, WindowSchedule, train
from dbdlab.learn.static import fit_boltzmann


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 initial conditions, 4 steps")
    args = parser.parse_args()
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

if __name__ == "__main__":
    main()
