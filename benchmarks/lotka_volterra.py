"""Speed of the paper-B Lotka–Volterra training: seconds per optimisation step, early and late.

Run ``python benchmarks/lotka_volterra.py [--quick]``.  Trains the centered three-layer 40×40 DBM
with the paper's settings (batch 5, window of 11 timepoints, 10 wake and 10 sleep sweeps) on
``data/01_simulation/lotka_volterra.nc`` (or, if absent, on 20 freshly simulated runs) for a few
steps with the first window at τ = 0 ("early") and at τ = 450 ("late", the end of the 980-step
schedule), and reports per step: wall and CPU seconds, the share of Gibbs sampling, and the
forward solve — incremental (:class:`~dbdlab.learn.IncrementalIntegrator`) against integrating
θ from t = 0 as the authors' code did at every step (its cost grew as 0.58 s + 1.75 ms × step).
Also the Gibbs kernel against the NumPy reference sampler on the same chains, and, with
``--history data/05_lotka_volterra_dbm/history.nc`` (a full run of chapter 05), the measured
seconds per step early and late in that run with a linear fit (the authors' growth was 1.75 ms
per step).  Prints a table and writes ``benchmarks/results/lotka_volterra.json``.  Under load
(shared cores) wall times are inflated; the CPU seconds and the machine load are reported
alongside.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numba
import numpy as np
from _report import write  # benchmarks/_report.py, next to this script

from dbdlab import sampling
from dbdlab.experiments import lotka_volterra as lv
from dbdlab.learn import incremental, integrate

_timers: dict[str, list[float]] = {"gibbs": [], "integrate": []}
_recomputed: list[int] = []  # substeps integrated by each call of the incremental solve


def _timed(fn, key):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _timers[key].append(time.perf_counter() - start)
            if key == "integrate":
                _recomputed.append(int(args[0].recomputed))
    return wrapper


def _data() -> np.ndarray:
    path = Path("data/01_simulation/lotka_volterra.nc")
    if path.exists():
        from dbdlab.store import load_dataset

        return lv.visible_lattices(load_dataset(path), 40)
    from dbdlab.experiments import datasets

    return lv.visible_lattices(datasets.lotka_volterra_set(20, 500, 2019, progress=False), 40)


def _run(lattices, first_window: int, steps: int) -> dict:
    config = lv.LVConfig(steps=steps, first_window=first_window)
    for key in _timers:
        _timers[key] = []
    _recomputed.clear()
    cpu = time.process_time()
    result = lv.train_lv(lattices, config, progress=False)
    cpu = time.process_time() - cpu
    seconds = result.history.seconds.values
    return {"window_start": first_window, "steps": steps,
            "wall_s_per_step_median": float(np.median(seconds[1:])),
            "wall_s_first_step": float(seconds[0]),
            "cpu_s_per_step": cpu / steps,
            "gibbs_share": sum(_timers["gibbs"]) / float(seconds.sum()),
            "integrate_share": sum(_timers["integrate"]) / float(seconds.sum()),
            "integrate_s_per_call_median": float(np.median(_timers["integrate"])),
            "integrate_substeps_recomputed_median": float(np.median(_recomputed)),
            "result": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 steps per phase")
    parser.add_argument("--history", type=Path, help="history.nc of a full training run")
    args = parser.parse_args()
    steps = 4 if args.quick else 12
    lattices = _data()
    # time the pieces the trainer calls
    sampling_gibbs = sampling.gibbs_sweeps
    orig_call = incremental.IncrementalIntegrator.__call__
    incremental.IncrementalIntegrator.__call__ = _timed(orig_call, "integrate")
    sampling.gibbs_sweeps = _timed(sampling_gibbs, "gibbs")
    lv.train_lv(lattices, lv.LVConfig(steps=2), progress=False)  # compile, warm caches
    rows = {"early": _run(lattices, 0, steps), "late": _run(lattices, 450, steps)}
    sampling.gibbs_sweeps = sampling_gibbs
    incremental.IncrementalIntegrator.__call__ = orig_call

    late = rows["late"]["result"]
    start = time.perf_counter()
    integrate(late.dynamics, late.fields, late.theta0, 450 + 11)
    from_zero = time.perf_counter() - start

    model = lv.model_for(lv.LVConfig())
    theta = np.repeat(lv.initial_theta(model, lv.LVConfig())[None], 55, axis=0)
    gibbs = {}
    for backend in ("numba", "numpy"):
        chains = sampling.random_chains(model, 55, 1, backend=backend)
        sampling_gibbs(model, theta, chains, 1)
        start = time.perf_counter()
        sampling_gibbs(model, theta, chains, 10)
        gibbs[backend] = time.perf_counter() - start

    load = os.getloadavg()[0]
    results = {"load_average_1min": load, "numba_threads": numba.config.NUMBA_NUM_THREADS,
               "phases": {k: {kk: vv for kk, vv in v.items() if kk != "result"}
                          for k, v in rows.items()},
               "integrate_from_zero_to_460_s": from_zero,
               "gibbs_55_chains_10_sweeps_s": gibbs,
               "gibbs_speedup_vs_numpy": gibbs["numpy"] / gibbs["numba"]}
    print(f"load average {load:.1f} on {os.cpu_count()} cores; median of {steps} steps")
    print(f"{'phase':<8}{'τ':>5}{'wall s/step':>13}{'CPU s/step':>12}{'Gibbs':>8}{'solve':>8}")
    for name, r in results["phases"].items():
        print(f"{name:<8}{r['window_start']:>5}{r['wall_s_per_step_median']:>13.3f}"
              f"{r['cpu_s_per_step']:>12.3f}{100 * r['gibbs_share']:>7.0f}%"
              f"{100 * r['integrate_share']:>7.0f}%")
    print(f"forward solve from t = 0 to the late window (the authors' way): {from_zero:.3f} s")
    print(f"Gibbs, 55 chains × 10 sweeps: Numba {gibbs['numba']:.3f} s, NumPy reference "
          f"{gibbs['numpy']:.3f} s ({results['gibbs_speedup_vs_numpy']:.1f}×)")
    if args.history is not None:
        from dbdlab.store import load_dataset

        sec = load_dataset(args.history).seconds.values
        k = max(1, len(sec) // 20)
        slope = np.polyfit(np.arange(k, len(sec)), sec[k:], 1)[0]
        results["full_run"] = {"steps": len(sec), "total_s": float(sec.sum()),
                               "early_s_per_step": float(np.median(sec[k:2 * k])),
                               "late_s_per_step": float(np.median(sec[-k:])),
                               "growth_ms_per_step": 1000 * float(slope)}
        r = results["full_run"]
        print(f"full run ({r['steps']} steps, {r['total_s']:.0f} s): {r['early_s_per_step']:.3f}"
              f" s/step early, {r['late_s_per_step']:.3f} s/step late, growth "
              f"{r['growth_ms_per_step']:.3f} ms per step (authors: 1.75)")
    phases = results["phases"]
    late_step = 2 * 450 + 1  # τ(s) = ⌊(s − 1)/2⌋ (paper B)
    table = [[f"optimisation step, window at τ = {r['window_start']}",
              f"trainer, median of {steps} steps (Gibbs {100 * r['gibbs_share']:.0f} %, "
              f"forward solve {100 * r['integrate_share']:.0f} % of the wall time)",
              round(r["wall_s_per_step_median"], 3), round(r["cpu_s_per_step"], 3), ""]
             for r in phases.values()]
    incremental_s = phases["late"]["integrate_s_per_call_median"]
    table += [
        ["forward solve to timepoint 461 (window at τ = 450)",
         "from t = 0 at every step, as the authors' code (baseline)", round(from_zero, 4), "",
         "1×"],
        ["forward solve to timepoint 461 (window at τ = 450)",
         "incremental (IncrementalIntegrator), median per call in the late phase "
         f"({phases['late']['integrate_substeps_recomputed_median']:.0f} of "
         f"{460 * late.dynamics.substeps} substeps recomputed)",
         round(incremental_s, 4), "", f"{from_zero / incremental_s:.0f}×"],
        ["Gibbs sampling, 55 chains × 10 sweeps", "NumPy reference sampler (baseline)",
         round(gibbs["numpy"], 3), "", "1×"],
        ["Gibbs sampling, 55 chains × 10 sweeps", "Numba kernel", round(gibbs["numba"], 3), "",
         f"{results['gibbs_speedup_vs_numpy']:.1f}×"],
    ]
    if "full_run" in results:
        r = results["full_run"]
        table.append([f"full training run ({r['steps']} steps, {r['total_s']:.0f} s)",
                      f"seconds per step early → late; growth {r['growth_ms_per_step']:.3f} ms "
                      "per step (linear fit)",
                      f"{r['early_s_per_step']:.3f} → {r['late_s_per_step']:.3f}", "", ""])
    authors_late = 0.58 + 1.75e-3 * late_step
    write("lotka_volterra", results,
          "Lotka–Volterra (paper B): seconds per optimisation step of the centered 3×40×40 DBM "
          "(batch 5, window of 11 timepoints, 10 wake and 10 sleep sweeps), and its two main "
          "parts against their baselines",
          ["measurement", "variant", "wall s", "CPU s per step (mean)",
           "speed-up vs baseline (same run)"],
          table,
          ["The authors' code needed 0.58 s + 1.75 ms × step per step (paper B), i.e. about "
           f"{authors_late:.1f} s at step {late_step}, where the window reaches τ = 450 "
           "(their figure, not measured here).",
           "Wall times include the other jobs on a shared machine (see the load average)."])

if __name__ == "__main__":
    main()
