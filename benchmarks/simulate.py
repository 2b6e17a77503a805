"""Simulator throughput: nanoseconds per hop attempt and wall time per training set.

Run ``python benchmarks/simulate.py [--quick]``.  Prints a table and writes
``benchmarks/results/simulate.json``.  Measured in one run, for comparison:

* the NumPy/Python reference (the baseline, on a small sample),
* the Numba kernel with 1 and 2 threads on the Lotka–Volterra set-up (40×40 periodic, 100 + 100
  initial, 100 runs × 500 steps),
* CuPy with ≥ 10⁴ replicas when a GPU is usable,
* the three training sets of notebook 01 at paper scale (simulation + moments, no file I/O).

Hop attempts are counted as the molecules present at each recorded time point before the step
(the sweep also sees the few molecules born or killed by that step's unimolecular events).
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
from dbdlab.experiments import datasets
from dbdlab.experiments.settings import SETTINGS
from dbdlab.rng import Purpose, stream_key
from dbdlab.simulate import networks, simulate
from dbdlab.simulate._numba_runner import NumbaRunner
from dbdlab.simulate.initial import RandomCounts
from dbdlab.simulate.lattice import Lattice

LV = SETTINGS["lotka_volterra"]


def _lv_kernel(replicas: int, steps: int, threads: int, selection: str = "reference") -> dict:
    """Numba kernel only (no moments, no dataset), LV set-up."""
    numba.set_num_threads(threads)
    network = networks.lotka_volterra()
    lattice = Lattice(LV["shape"], True)
    biased = selection == "reference"
    ids = np.arange(replicas)
    initial = RandomCounts(LV["init"]).build(lattice, network, 0, ids, biased)
    keys = [stream_key(0, Purpose.SIMULATE, int(r)) for r in ids]
    NumbaRunner(lattice, network.tables(), 2, initial, keys, 3, 1.0, biased).advance(0, 3)
    runner = NumbaRunner(lattice, network.tables(), 2, initial, keys, steps, 1.0, biased)
    start = time.perf_counter()
    counts = np.concatenate([c for _, c in runner.run(steps, False, "")], axis=1)
    seconds = time.perf_counter() - start
    hops = int(counts[:, :-1].sum())
    return {"seconds": seconds, "hop_attempts": hops, "ns_per_hop": seconds / hops * 1e9}


def _lv_reference(replicas: int, steps: int) -> dict:
    start = time.perf_counter()
    ds = simulate(networks.lotka_volterra(), LV["shape"], steps, 1.0, replicas, LV["init"], 0,
                  periodic=True, backend="numpy", progress=False)
    seconds = time.perf_counter() - start
    hops = int(ds.counts.values[:, :-1].sum())
    return {"seconds": seconds, "hop_attempts": hops, "ns_per_hop": seconds / hops * 1e9}


def _lv_cupy(replicas: int, steps: int) -> dict:
    simulate(networks.lotka_volterra(), LV["shape"], 3, 1.0, replicas, LV["init"], 0,
             periodic=True, backend="cupy", store_lattices=False, progress=False)
    start = time.perf_counter()
    ds = simulate(networks.lotka_volterra(), LV["shape"], steps, 1.0, replicas, LV["init"], 0,
                  periodic=True, backend="cupy", store_lattices=False, progress=False)
    seconds = time.perf_counter() - start
    hops = int(ds.counts.values[:, :-1].sum())
    return {"seconds": seconds, "hop_attempts": hops, "ns_per_hop": seconds / hops * 1e9}


def _training_sets(threads: int, quick: bool) -> dict:
    numba.set_num_threads(threads)
    scale = 0.2 if quick else 1.0
    out = {}
    start = time.perf_counter()
    datasets.lotka_volterra_set(int(100 * scale), 500, 0, progress=False)
    out["lotka_volterra"] = time.perf_counter() - start
    start = time.perf_counter()
    datasets.rossler_set(int(300 * scale), 250, 0, progress=False)
    out["rossler"] = time.perf_counter() - start
    start = time.perf_counter()
    n_ic = int(50 * scale)
    datasets.annihilation_set(n_ic, 50, 201, 0, progress=False)
    datasets.annihilation_set(n_ic, 50, 201, 0, replica_offset=n_ic * 50, progress=False)
    out["annihilation (train + test)"] = time.perf_counter() - start
    out["total"] = sum(out.values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    args = parser.parse_args()
    replicas, steps = (20, 100) if args.quick else (100, 500)
    max_threads = numba.config.NUMBA_NUM_THREADS
    results: dict = {
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "numba_threads": max_threads,
                    "numba": numba.__version__, "numpy": np.__version__},
        "lv_setup": f"40x40 periodic, 100+100 initial, {replicas} runs x {steps} steps",
    }
    ref = _lv_reference(2, 30)
    results["numpy_reference"] = ref
    for threads in sorted({1, min(2, max_threads)}):
        for selection in ("reference", "uniform"):
            r = _lv_kernel(replicas, steps, threads, selection)
            r["speedup_vs_reference"] = ref["ns_per_hop"] / r["ns_per_hop"]
            results[f"numba_{threads}thread_{selection}"] = r
    usable, reason = gpu_status()
    if usable:
        for n in (10_000, 50_000):
            r = _lv_cupy(n, steps)
            best_cpu = results[f"numba_{min(2, max_threads)}thread_reference"]["ns_per_hop"]
            r["speedup_vs_numba_2threads"] = best_cpu / r["ns_per_hop"]
            results[f"cupy_{n}_replicas"] = r
    else:
        results["cupy"] = f"skipped: {reason}"
    results["training_sets_seconds"] = _training_sets(min(2, max_threads), args.quick)
    numba.set_num_threads(max_threads)

    print(f"machine: {results['machine']}")
    print(f"LV set-up: {results['lv_setup']}")
    print(f"{'case':<34}{'seconds':>10}{'hop attempts':>16}{'ns/hop':>10}{'speed-up':>10}")
    for name, r in results.items():
        if isinstance(r, dict) and "ns_per_hop" in r:
            speedup = r.get("speedup_vs_reference", r.get("speedup_vs_numba_2threads", 1.0))
            print(f"{name:<34}{r['seconds']:>10.3f}{r['hop_attempts']:>16,d}"
                  f"{r['ns_per_hop']:>10.1f}{speedup:>9.1f}x")
    if "cupy" in results:
        print(f"cupy: {results['cupy']}")
    scale = "20 % of paper scale" if args.quick else "paper scale"
    print(f"training sets of notebook 01 ({scale}, {min(2, max_threads)} threads, with moments):")
    for name, seconds in results["training_sets_seconds"].items():
        print(f"  {name:<30}{seconds:8.2f} s")
    ref = results["numpy_reference"]
    rows = [["NumPy/Python reference (baseline)", 1, "reference", round(ref["seconds"], 3),
             ref["hop_attempts"], round(ref["ns_per_hop"], 1), "1×"]]
    for threads in sorted({1, min(2, max_threads)}):
        for selection in ("reference", "uniform"):
            r = results[f"numba_{threads}thread_{selection}"]
            rows.append([f"Numba, {results['lv_setup']}", threads, selection,
                         round(r["seconds"], 3), r["hop_attempts"], round(r["ns_per_hop"], 1),
                         f"{r['speedup_vs_reference']:,.0f}× the baseline"])
    for key, r in results.items():
        if key.startswith("cupy_"):
            rows.append([f"CuPy, {key.split('_')[1]} replicas", "GPU", "reference",
                         round(r["seconds"], 3), r["hop_attempts"], round(r["ns_per_hop"], 2),
                         f"{r['speedup_vs_numba_2threads']:,.1f}× Numba with 2 threads"])
    sets = results["training_sets_seconds"]
    notes = [f"Training sets of notebook 01 ({scale}, {min(2, max_threads)} threads, simulation "
             "and moments): " + ", ".join(f"{k} {v:.1f} s" for k, v in sets.items()),
             "The two selection rules give different dynamics, hence different numbers of hop "
             "attempts."]
    if "cupy" in results:
        notes.append(f"CuPy: {results['cupy']}")
    write("simulate", results, "Lattice simulator: time per hop attempt (Lotka–Volterra set-up)",
          ["case", "threads", "selection", "seconds", "hop attempts", "ns per hop attempt",
           "vs baseline (same run)"], rows, notes)

if __name__ == "__main__":
    main()
