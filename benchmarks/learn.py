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
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np

from dbdlab.experiments import datasets
from dbdlab.learn import Dynamics, FieldOptimizer, LatticeCDEstimator, WindowSchedule, train
from dbdlab.learn.static import fit_boltzmann
from dbdlab.models import FullyVisible1DModel, annihilation_rbm


def _data(n_ic: int):
    ds = datasets.annihilation_set(n_ic, 10, 100, seed=1, progress=False)
    lat = ds.lattice.values.reshape(n_ic, 10, 100, -1)
    first = ds[["ic_b", "ic_J", "ic_K"]].groupby(ds.ic).first()
    bjk = np.stack([first.ic_b, first.ic_J, first.ic_K], axis=1)
    rbm = annihilation_rbm(lat.shape[-1])
    fit = fit_boltzmann(rbm, ds.lattice.isel(time=0).values, groups=ds.ic.values, steps=200,
                        lr=1e-5, progress=False)
    return lat, bjk, fit.theta_fit.values


def _time_steps(model, domain, cells, ics, lat, adjoint: str, steps: int) -> float:
    dyn = Dynamics(tuple(model.theta_names), domain, cells, 0.01)
    est = LatticeCDEstimator(model, lat, batch=10, k=1, seed=0)
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
    lat, bjk, hidden_ics = _data(n_ic)
    setup = time.perf_counter() - start
    n_sites = lat.shape[-1]
    cases = {
        "visible (b, J, K)": (FullyVisible1DModel(n_sites), ("b", "J", "K"), (0.5,) * 3, bjk),
        "hidden (b, W, b')": (annihilation_rbm(n_sites), ("hA", "wAX1", "bX1"),
                              (0.5, 0.5, 0.05), hidden_ics),
    }
    results = {"machine": {"cpu": platform.processor() or platform.machine(),
                           "cores": os.cpu_count(),
                           "numba_threads": numba.config.NUMBA_NUM_THREADS},
               "initial_conditions": n_ic, "setup_seconds": setup, "seconds_per_step": {}}
    print(f"{n_ic} initial conditions, 10 lattices each, 1000 sites; median of {steps} steps")
    print(f"{'model':<22}{'adjoint':<12}{'s/step':>10}{'ms per IC':>12}")
    for name, (model, domain, cells, ics) in cases.items():
        for adjoint in ("discrete", "continuous"):
            seconds = _time_steps(model, domain, cells, ics, lat, adjoint, steps)
            results["seconds_per_step"][f"{name}, {adjoint}"] = seconds
            print(f"{name:<22}{adjoint:<12}{seconds:>10.3f}{1000 * seconds / n_ic:>12.1f}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "learn.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
