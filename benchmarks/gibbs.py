"""Gibbs sweep throughput: unit updates per nanosecond (one unit of one layer resampled).

Run ``python benchmarks/gibbs.py [--quick]``.  Prints a table and writes
``benchmarks/results/gibbs.json``.  Measured in one run, for comparison:

* the paper-scale models: the Lotka–Volterra DBM (3 × 40×40, 4800 unit updates per sweep and
  chain; θ: visible biases −2.6, hidden biases 0, weights 0.5) and the Rössler RBM (10³ visible
  {A, B, C} + 10³ hidden, 2000 unit updates per sweep and chain; visible biases −2, hidden 0,
  weights 0.5);
* 1, 100 and 1000 chains (CuPy also 10 000);
* the NumPy sampler (the baseline), the Numba kernel
  (:mod:`dbdlab.sampling._numba_layers`) with 1 and 2 threads, and CuPy (the array-module code on
  the GPU) when :func:`dbdlab.backend.gpu_status` finds a usable GPU.

Every figure is end to end — one :func:`~dbdlab.sampling.gibbs_sweeps` call of several sweeps,
Python overhead and table set-up included — after one warm-up call (compilation, tables); the
best of five repeats is reported (the machine may be shared; all repeats are in the JSON).

Targets (issue): ≤ 10 ns per site update single-threaded Numba on the LV DBM (≥ 0.1 updates/ns);
near-linear scaling on 2 threads for ≥ 10 chains; ≥ 100 updates/ns with CuPy on an H100 for
≥ 1000 chains.  For scale: the authors' C++ does ≈ 0.02 updates/ns (48 ns per LV site update).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numba
import numpy as np
from _report import write  # benchmarks/_report.py, next to this script

from dbdlab.backend import gpu_status
from dbdlab.models.architectures import lotka_volterra_dbm, rossler_rbm
from dbdlab.sampling import gibbs_sweeps, random_chains

AUTHORS_CPP_UPDATES_PER_NS = 1 / 48


def _models() -> dict:
    lv = lotka_volterra_dbm((40, 40))
    lv_theta = lv.theta_from_dict(dict(hX=-2.6, hY=-2.6, bX1=0.0, bY1=0.0, bX2=0.0, bY2=0.0,
                                       wXX1=0.5, wYY1=0.5, wX1X2=0.5, wY1Y2=0.5))
    ross = rossler_rbm((10, 10, 10))
    ross_theta = ross.theta_from_dict(dict(hA=-2.0, hB=-2.0, hC=-2.0, bX1=0.0, bY1=0.0, bZ1=0.0,
                                           wAX1=0.5, wBY1=0.5, wCZ1=0.5))
    return {"LV DBM 3x40x40": (lv, lv_theta), "Rossler RBM 2x10^3": (ross, ross_theta)}


def _sync(backend: str) -> None:
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def _measure(model, theta, n_chains: int, backend: str, target_updates: float,
             repeats: int, max_sweeps: int = 10**9) -> dict:
    """Best-of-``repeats`` time of one ``gibbs_sweeps`` call of about ``target_updates``."""
    per_sweep = model.n_units * n_chains  # free chains: every layer is updated once per sweep
    n_sweeps = min(max(1, round(target_updates / per_sweep)), max_sweeps)
    chains = random_chains(model, n_chains, 0, backend=backend)
    gibbs_sweeps(model, theta, chains, 1)  # warm-up: compilation, tables, device memory
    _sync(backend)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        gibbs_sweeps(model, theta, chains, n_sweeps)
        _sync(backend)
        times.append(time.perf_counter() - start)
    updates = per_sweep * n_sweeps
    best = min(times)
    return {"chains": n_chains, "sweeps": n_sweeps, "unit_updates": updates, "seconds": best,
            "seconds_all": times, "updates_per_ns": updates / best / 1e9,
            "ns_per_update": best / updates * 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets (smoke test)")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    repeats = 1 if args.quick else 5
    max_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = sorted({1, min(2, max_threads)})
    results: dict = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "numba_threads": max_threads, "threading_layer": None,
                    "numba": numba.__version__, "numpy": np.__version__},
        "unit": "unit updates per ns (one unit of one layer resampled); ns per update = 1/that",
        "authors_cpp_updates_per_ns": AUTHORS_CPP_UPDATES_PER_NS,
        "cases": [],
    }
    usable, reason = gpu_status()
    if not usable:
        results["cupy"] = f"skipped: {reason}"
    rows = []
    for name, (model, theta) in _models().items():
        for n_chains in (1, 100, 1000, 10_000):
            runs = []
            if n_chains <= 1000:
                runs.append(("numpy", None, 2e6 * scale))
                runs += [("numba", t, 2e7 * scale) for t in thread_counts]
            if usable:
                runs.append(("cupy", None, 2e8 * scale))
            baseline = None
            for backend, threads, budget in runs:
                if threads is not None:
                    numba.set_num_threads(threads)
                # CuPy: a sweep costs a fixed number of kernel launches, so cap the sweeps
                r = _measure(model, theta, n_chains, backend, budget, repeats,
                             200 if backend == "cupy" else 10**9)
                r.update(model=name, backend=backend, threads=threads)
                if backend == "numpy":
                    baseline = r["updates_per_ns"]
                r["speedup_vs_numpy"] = r["updates_per_ns"] / baseline if baseline else None
                results["cases"].append(r)
                rows.append(r)
                print(f"{name:<20}{n_chains:>7}  {backend:<6}{threads or '':>4}"
                      f"{r['updates_per_ns']:>12.4f}{r['ns_per_update']:>11.2f}"
                      f"{(r['speedup_vs_numpy'] or float('nan')):>9.1f}x", flush=True)
    numba.set_num_threads(max_threads)
    results["machine"]["threading_layer"] = numba.threading_layer()

    lv_1t = [r for r in rows if r["model"].startswith("LV") and r["backend"] == "numba"
             and r["threads"] == 1]
    ns_site = min(r["ns_per_update"] for r in lv_1t)
    results["lv_ns_per_site_update_numba_1thread"] = ns_site
    scaling = {}
    if len(thread_counts) == 2:
        for r2 in rows:
            if r2["backend"] == "numba" and r2["threads"] == 2:
                r1 = next(r for r in rows if r["backend"] == "numba" and r["threads"] == 1
                          and r["model"] == r2["model"] and r["chains"] == r2["chains"])
                scaling[f"{r2['model']}, {r2['chains']} chains"] = \
                    r2["updates_per_ns"] / r1["updates_per_ns"]
    results["numba_2thread_speedup"] = scaling

    print()
    print(f"machine: {results['machine']}")
    print(f"{'model':<20}{'chains':>7}  {'backend':<6}{'thr':>4}{'updates/ns':>12}"
          f"{'ns/update':>11}{'vs NumPy':>10}")
    for r in rows:
        print(f"{r['model']:<20}{r['chains']:>7}  {r['backend']:<6}{r['threads'] or '':>4}"
              f"{r['updates_per_ns']:>12.4f}{r['ns_per_update']:>11.2f}"
              f"{(r['speedup_vs_numpy'] or float('nan')):>9.1f}x")
    if "cupy" in results:
        print(f"cupy: {results['cupy']}")
    print(f"LV DBM, Numba, 1 thread: {ns_site:.2f} ns per site update (target ≤ 10; authors' "
          f"C++ ≈ 48)")
    for key, s in scaling.items():
        print(f"Numba 2 threads / 1 thread, {key}: {s:.2f}x")
    # Each group (model, chains) is compared with its own baseline from this run: the NumPy
    # sampler with the same chains where it was timed, otherwise Numba with one thread.
    table = []
    for model_name in dict.fromkeys(r["model"] for r in rows):
        for n_chains in dict.fromkeys(r["chains"] for r in rows if r["model"] == model_name):
            group = [r for r in rows if r["model"] == model_name and r["chains"] == n_chains]
            base = next((r for r in group if r["backend"] == "numpy"),
                        next(r for r in group if r["backend"] != "cupy"))
            base_name = ("NumPy" if base["backend"] == "numpy"
                         else f"Numba {base['threads']} thread")
            for r in group:
                label = (f"{r['backend']} {r['threads']} thread(s)" if r["threads"]
                         else r["backend"])
                ratio = ("1× (baseline)" if r is base else
                         f"{r['updates_per_ns'] / base['updates_per_ns']:,.1f}× {base_name}")
                table.append([model_name, n_chains, label, round(r["updates_per_ns"], 4),
                              round(r["ns_per_update"], 2), ratio])
    notes = [f"LV DBM, Numba, 1 thread: {ns_site:.2f} ns per site update (authors' C++: ≈ 48)"]
    notes += [f"Numba 2 threads / 1 thread, {k}: {v:.2f}×" for k, v in scaling.items()]
    if "cupy" in results:
        notes.append(f"CuPy: {results['cupy']}")
    write("gibbs", results, "Gibbs sampling: unit updates per nanosecond (best of the repeats)",
          ["model", "chains", "backend", "updates/ns", "ns per update",
           "vs baseline (same model and chains, same run)"], table, notes)

if __name__ == "__main__":
    main()
