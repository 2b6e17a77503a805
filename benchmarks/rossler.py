"""Rössler training throughput: seconds per optimisation step (paper A §IV.B settings).

Run ``python benchmarks/rossler.py [--quick]``.  Simulates a small Rössler set of its own
(20 runs × 130 timepoints of the 10×10×10 lattice), then times optimisation steps with the
paper's settings (window of 11 timepoints at τ = 99, i.e. the forward solve over 1090 substeps
of 9 fields; 10 sleep reconstructions; the continuous adjoint) for batch 5 and batch 1, on

* the fast path: Numba forward Euler, Numba Gibbs kernel (``backend="numba"``), moments from
  pattern histograms;
* the NumPy reference path: the per-substep loop of ``integrate(reference=True)``, the NumPy
  sampler and ``model.moments`` with ``hidden_probabilities``

(measured in the same run), and prints wall and CPU seconds per step and the ratio.  The
target is ≤ 12 ms a step on two cores (≤ 2 minutes for 10 000 steps); the authors' C++ needs
about 46 ms a step with batch 1 on one core.  The machine's load average is printed too:
on a shared machine wall times are inflated accordingly.  Writes
``benchmarks/results/rossler.json``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import time

import numba
import numpy as np
from _report import write  # benchmarks/_report.py, next to this script

from dbdlab.experiments import datasets
from dbdlab.experiments import rossler as R
from dbdlab.learn import FieldOptimizer, WindowSchedule, integrate, train

# the module (the package re-exports the function ``train`` under the same name)
train_module = importlib.import_module("dbdlab.learn.train")


def _reference_integrate(*args, **kwargs):
    return integrate(*args, **kwargs, reference=True)


def _data(runs: int) -> np.ndarray:
    ds = datasets.rossler_set(runs, 130, seed=1, progress=False)
    return ds.lattice.values.reshape(runs, ds.sizes["time"], -1)


def _time(lattices: np.ndarray, batch: int, steps: int, reference: bool) -> tuple[float, float]:
    config = R.RosslerConfig(batch=batch, shift_every=1, steps=steps)
    model = R.model_for(config)
    dyn = R.make_dynamics(config, model)
    theta0 = R.initial_theta(model)
    est = R.RosslerEstimator(model, lattices, batch, config.sleep_sweeps, config.sleep_start,
                             0, backend="numpy" if reference else "numba",
                             fast=not reference)
    # the window at τ = 99: a forward solve to timepoint 109, as in the paper's last steps
    schedule = WindowSchedule(config.window, 1, start=99)
    kwargs = dict(window=schedule, n_timepoints=lattices.shape[1],
                  optimizer=FieldOptimizer("sgd", R.learning_rates(config, dyn)),
                  adjoint="continuous", progress=False)
    original = train_module.integrate
    if reference:
        train_module.integrate = _reference_integrate
    try:
        train(dyn, R.new_fields(dyn, theta0), theta0[None], est, steps=1, **kwargs)  # warm up
        wall, cpu = time.perf_counter(), time.process_time()
        train(dyn, R.new_fields(dyn, theta0), theta0[None], est, steps=steps, **kwargs)
        return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps
    finally:
        train_module.integrate = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    args = parser.parse_args()
    fast_steps, ref_steps = (10, 1) if args.quick else (50, 3)
    lattices = _data(20)
    rows = []
    for batch in (5, 1):
        fast = _time(lattices, batch, fast_steps, reference=False)
        ref = _time(lattices, batch, ref_steps, reference=True)
        rows.append({"batch": batch, "fast_wall_s": fast[0], "fast_cpu_s": fast[1],
                     "reference_wall_s": ref[0], "reference_cpu_s": ref[1],
                     "speedup_wall": ref[0] / fast[0], "speedup_cpu": ref[1] / fast[1],
                     "minutes_for_10000_steps": 10_000 * fast[0] / 60})
    load = os.getloadavg()[0]
    print(f"Rössler optimisation step (window at τ = 99, 1090 substeps); load average {load:.1f}"
          f" on {os.cpu_count()} CPUs, Numba threads {numba.get_num_threads()}")
    print(f"{'batch':>5} {'fast wall':>10} {'fast CPU':>9} {'NumPy wall':>11} {'NumPy CPU':>10}"
          f" {'speed-up wall/CPU':>18} {'10k steps':>10}")
    for r in rows:
        print(f"{r['batch']:>5} {r['fast_wall_s'] * 1e3:8.1f}ms {r['fast_cpu_s'] * 1e3:7.1f}ms"
              f" {r['reference_wall_s']:10.2f}s {r['reference_cpu_s']:9.2f}s"
              f" {r['speedup_wall']:8.0f}x {r['speedup_cpu']:7.0f}x"
              f" {r['minutes_for_10000_steps']:8.1f}min")
    print("targets: 12 ms a step on two cores; the authors' C++: 46 ms (batch 1, one core)")
    threads = numba.get_num_threads()
    table = []
    for r in rows:
        table.append([r["batch"], "NumPy reference (baseline)", "—",
                      round(r["reference_wall_s"] * 1e3, 1), round(r["reference_cpu_s"] * 1e3, 1),
                      round(10_000 * r["reference_wall_s"] / 60, 1), "1×"])
        table.append([r["batch"], "fast path (Numba)", threads,
                      round(r["fast_wall_s"] * 1e3, 1), round(r["fast_cpu_s"] * 1e3, 1),
                      round(r["minutes_for_10000_steps"], 1), f"{r['speedup_wall']:.0f}×"])
    write("rossler",
          {"rows": rows, "load_average": load, "cpus": os.cpu_count(), "numba_threads": threads,
           "python": platform.python_version(), "quick": args.quick},
          f"Rössler: one optimisation step at the window τ = 99 (1090 substeps), mean of "
          f"{fast_steps} steps (fast path) and {ref_steps} (NumPy reference) after a warm-up step",
          ["batch", "path", "Numba threads", "wall ms per step", "CPU ms per step",
           "wall min per 10 000 steps", "speed-up vs the NumPy reference, same batch (wall)"],
          table,
          ["Wall times include the other jobs on a shared machine (see the load average); the "
           "CPU time is that of this process."])


if __name__ == "__main__":
    main()
