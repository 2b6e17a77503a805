"""GPU benchmarks: the CUDA simulator and Gibbs kernels against the 2-thread Numba kernels.

Run ``python benchmarks/gpu.py [--quick] [--check] [--json PATH]``.  In one run, on the same
workloads:

* **simulator** — the Lotka–Volterra set-up of paper B (40×40 periodic, 100 prey + 100 hunters,
  Δt = 1) with ``--replicas`` replicas (default 10⁴) × ``--steps`` steps, through the chunked
  runners (lattices and counts copied to the host, as :func:`dbdlab.simulate.simulate` gets
  them); throughput in hop attempts per ns (molecules present at each recorded step);
  target: CUDA ≥ 50× Numba with 2 threads;
* **Gibbs** — block Gibbs sweeps of the LV DBM (three 40×40 layers of two species) with
  ``--chains`` chains (default 10³); throughput in unit updates per ns; target: CUDA ≥ 100.

Numba always runs (2 threads; its throughput per replica does not depend on the number of
replicas beyond the thread count, so it runs on at most :data:`NUMBA_REPLICAS` of them); the
CUDA part runs when :func:`dbdlab.backend.gpu_status` finds a usable GPU, else it is reported as
skipped with the reason, and is repeated with 4× the replicas and 10× the chains (occupancy).
``--check`` first runs every ``gpu``-marked test (``pytest -m gpu``) and records the outcome;
the exit status is non-zero if a test failed or no GPU was usable.  ``make gpu-check`` runs this
with ``--check`` and writes ``benchmarks/results/gpu-check.json``, which the book's performance
chapter reads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numba
import numpy as np

from dbdlab.backend import gpu_status
from dbdlab.models.architectures import lotka_volterra_dbm
from dbdlab.rng import Purpose, stream_key
from dbdlab.sampling import gibbs_sweeps, random_chains
from dbdlab.simulate import networks
from dbdlab.simulate._numba_runner import NumbaRunner
from dbdlab.simulate.initial import RandomCounts
from dbdlab.simulate.lattice import Lattice

ROOT = Path(__file__).resolve().parent.parent
#: paper B's Lotka–Volterra lattice and initial numbers
LV_SHAPE, LV_INIT, LV_DT = (40, 40), {"X": 100, "Y": 100}, 1.0
#: LV DBM parameters of a typical learned state (moderate couplings)
LV_THETA = dict(hX=-2.6, hY=-2.6, bX1=0.0, bY1=0.0, bX2=0.0, bY2=0.0, wXX1=0.5, wYY1=0.5,
                wX1X2=0.5, wY1Y2=0.5)
TARGETS = {"simulator_speedup_vs_numba_2_threads": 50.0, "gibbs_unit_updates_per_ns": 100.0}
NUMBA_THREADS = 2
NUMBA_REPLICAS = 2000


def _synchronize(backend: str) -> None:
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def _runner_class(backend: str):
    if backend == "cupy":
        from dbdlab.simulate._cupy import CupyRunner

        return CupyRunner
    return NumbaRunner


def simulator(backend: str, replicas: int, steps: int, chunk: int) -> dict:
    """Hop attempts per ns of the LV ensemble (after a warm-up run that compiles the kernel)."""
    network = networks.lotka_volterra()
    lattice = Lattice(LV_SHAPE, True)
    ids = np.arange(replicas)
    initial = RandomCounts(LV_INIT).build(lattice, network, 0, ids, True)
    keys = [stream_key(0, Purpose.SIMULATE, int(r)) for r in ids]
    runner_class = _runner_class(backend)
    runner_class(lattice, network.tables(), 2, initial[:2], keys[:2], 3, LV_DT, True).advance(0, 3)
    runner = runner_class(lattice, network.tables(), 2, initial, keys, steps, LV_DT, True)
    _synchronize(backend)
    start = time.perf_counter()
    hops = 0
    for _, counts in runner.run(chunk, False, ""):
        hops += int(counts.sum())
    seconds = time.perf_counter() - start
    hops -= int(counts[:, -1].sum())  # no step follows the last frame
    return {"backend": backend, "replicas": replicas, "steps": steps, "seconds": seconds,
            "hop_attempts": hops, "hops_per_ns": hops / seconds * 1e-9}


def gibbs(backend: str, n_chains: int, n_sweeps: int) -> dict:
    """Unit updates per ns of LV DBM sweeps (after a warm-up call that compiles the kernel)."""
    model = lotka_volterra_dbm(LV_SHAPE)
    theta = model.theta_from_dict(LV_THETA)
    chains = random_chains(model, n_chains, 1, backend=backend)
    gibbs_sweeps(model, theta, chains, 1)
    _synchronize(backend)
    start = time.perf_counter()
    gibbs_sweeps(model, theta, chains, n_sweeps)
    _synchronize(backend)
    seconds = time.perf_counter() - start
    updates = n_chains * n_sweeps * sum(lay.n_units for lay in model.layers)
    return {"backend": backend, "chains": n_chains, "sweeps": n_sweeps, "seconds": seconds,
            "unit_updates": updates, "updates_per_ns": updates / seconds * 1e-9}


def gpu_tests() -> dict:
    """Run ``pytest -m gpu`` on the tests; counts from its JUnit report."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "gpu-tests.xml"
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests", "-m", "gpu", "-q",
                               "-rs", f"--junitxml={report}"], cwd=ROOT, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - start
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if report.exists():
            suite = ET.parse(report).getroot()
            suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
            counts = {k: int(suite.get(k, 0)) for k in counts}
    print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
    return {"exit_status": proc.returncode, "seconds": seconds, **counts,
            "passed": counts["tests"] - counts["failures"] - counts["errors"]
            - counts["skipped"]}


def _device() -> dict:
    usable, reason = gpu_status()
    if not usable:
        return {"usable": False, "reason": reason}
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return {"usable": True, "name": name.decode() if isinstance(name, bytes) else str(name),
            "memory_gib": props["totalGlobalMem"] / 2**30, "cupy": cupy.__version__,
            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--check", action="store_true", help="run the gpu-marked tests first")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--replicas", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--chains", type=int, default=None)
    args = parser.parse_args()
    replicas = args.replicas or (64 if args.quick else 10_000)
    steps = args.steps or (10 if args.quick else 100)
    n_chains = args.chains or (20 if args.quick else 1000)
    n_sweeps = 3 if args.quick else 20

    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "numba": numba.__version__, "numpy": np.__version__,
                    "load_average": os.getloadavg()},
        "device": _device(), "targets": TARGETS, "quick": args.quick,
    }
    device = results["device"]
    print(f"device: {device.get('name') or 'none (' + device['reason'] + ')'}", flush=True)
    ok = True
    if args.check:
        results["gpu_tests"] = gpu_tests()
        ok = results["gpu_tests"]["exit_status"] == 0 and device["usable"]

    backends = ["numba"] + (["cupy"] if device["usable"] else [])
    numba.set_num_threads(min(NUMBA_THREADS, numba.config.NUMBA_NUM_THREADS))
    results["numba_threads"] = numba.get_num_threads()
    sim, gib = {}, {}
    for backend in backends:
        n_rep = min(replicas, NUMBA_REPLICAS) if backend == "numba" else replicas
        sim[backend] = simulator(backend, n_rep, steps, max(1, steps // 10))
        print(f"simulator {backend:<6} {n_rep} replicas × {steps} steps: "
              f"{sim[backend]['hops_per_ns']:.4f} hop attempts/ns "
              f"({sim[backend]['seconds']:.2f} s)", flush=True)
        gib[backend] = gibbs(backend, n_chains, n_sweeps)
        print(f"Gibbs     {backend:<6} LV DBM 40×40, {n_chains} chains × {n_sweeps} sweeps: "
              f"{gib[backend]['updates_per_ns']:.4f} unit updates/ns "
              f"({gib[backend]['seconds']:.2f} s)", flush=True)
    if "cupy" in backends:
        results["cupy_larger"] = {"simulator": simulator("cupy", 4 * replicas, steps,
                                                         max(1, steps // 10)),
                                  "gibbs": gibbs("cupy", 10 * n_chains, n_sweeps)}
        print(f"CUDA, 4× replicas: {results['cupy_larger']['simulator']['hops_per_ns']:.4f} "
              f"hop attempts/ns; 10× chains: "
              f"{results['cupy_larger']['gibbs']['updates_per_ns']:.4f} unit updates/ns")
    results["simulator"], results["gibbs"] = sim, gib
    if "cupy" in sim:
        results["simulator_speedup_vs_numba"] = sim["cupy"]["hops_per_ns"] / \
            sim["numba"]["hops_per_ns"]
        results["gibbs_speedup_vs_numba"] = gib["cupy"]["updates_per_ns"] / \
            gib["numba"]["updates_per_ns"]
        results["targets_met"] = {
            "simulator": results["simulator_speedup_vs_numba"]
            >= TARGETS["simulator_speedup_vs_numba_2_threads"],
            "gibbs": gib["cupy"]["updates_per_ns"] >= TARGETS["gibbs_unit_updates_per_ns"]}
        print(f"CUDA / Numba ({results['numba_threads']} threads): simulator "
              f"{results['simulator_speedup_vs_numba']:.1f}×, Gibbs "
              f"{results['gibbs_speedup_vs_numba']:.1f}×; targets met: "
              f"{results['targets_met']}")
    else:
        print(f"CUDA part skipped: {device['reason']}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
