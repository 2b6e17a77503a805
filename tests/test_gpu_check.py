"""``benchmarks/gpu.py`` (the benchmark half of ``make gpu-check``) and the book's rendering of
its JSON: the CPU part runs here; without a GPU the book says the device figures are owed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures():
    pytest.importorskip("sphinx")
    return _load("gpu_figures", ROOT / "book" / "_ext" / "gpu_figures.py")


@pytest.fixture(scope="module")
def cpu_results(tmp_path_factory):
    """A tiny run of benchmarks/gpu.py on this machine (Numba part; CUDA part if a GPU is)."""
    bench = _load("gpu_benchmark", ROOT / "benchmarks" / "gpu.py")
    target = tmp_path_factory.mktemp("gpu") / "gpu-check.json"
    argv = sys.argv
    sys.argv = ["gpu.py", "--quick", "--replicas", "4", "--steps", "3", "--chains", "2",
                "--json", str(target)]
    try:
        status = bench.main()
    finally:
        sys.argv = argv
    assert status == 0
    return json.loads(target.read_text())


def test_benchmark_reports_numba_and_the_device(cpu_results):
    assert cpu_results["simulator"]["numba"]["hop_attempts"] > 0
    assert cpu_results["simulator"]["numba"]["hops_per_ns"] > 0
    assert cpu_results["gibbs"]["numba"]["unit_updates"] == 2 * 3 * 3 * 1600
    device = cpu_results["device"]
    assert ("cupy" in cpu_results["simulator"]) == device["usable"]
    assert device["usable"] or device["reason"]


def test_book_says_plainly_when_figures_are_owed(figures, cpu_results):
    sentences, rows = figures.describe(None)
    assert rows == [] and sentences[0].startswith(figures.OWED)
    if not cpu_results["device"]["usable"]:
        sentences, rows = figures.describe(cpu_results)
        assert rows == [] and figures.OWED in sentences[0]
        assert cpu_results["device"]["reason"] in sentences[0]


def test_book_shows_device_figures_with_the_device_named(figures, cpu_results):
    data = dict(cpu_results)
    # the fields a GPU run adds (values illustrative; only the rendering is tested here)
    data["device"] = {"usable": True, "name": "Example GPU", "memory_gib": 80.0,
                      "cupy": "14.2.0"}
    data["simulator"] = dict(data["simulator"], cupy=dict(
        data["simulator"]["numba"], backend="cupy", hops_per_ns=2.0))
    data["gibbs"] = dict(data["gibbs"], cupy=dict(
        data["gibbs"]["numba"], backend="cupy", updates_per_ns=150.0))
    data["simulator_speedup_vs_numba"] = 2.0 / data["simulator"]["numba"]["hops_per_ns"]
    data["gibbs_speedup_vs_numba"] = 150.0 / data["gibbs"]["numba"]["updates_per_ns"]
    data["targets_met"] = {"simulator": True, "gibbs": True}
    data["cupy_larger"] = {"simulator": dict(data["simulator"]["cupy"], replicas=40000,
                                             hops_per_ns=3.0),
                           "gibbs": dict(data["gibbs"]["cupy"], chains=10000,
                                         updates_per_ns=300.0)}
    sentences, rows = figures.describe(data)
    assert "Example GPU" in sentences[0]
    assert "40000 replicas 3 hop attempts/ns" in sentences[-1]
    assert [r[0] for r in rows] == ["simulator", "Gibbs"]
    assert all(len(r) == len(figures.HEADER) for r in rows)
    assert rows[0][2] == "2 hops/ns" and rows[1][2] == "150 updates/ns"
    assert rows[0][4] == f"{data['simulator_speedup_vs_numba']:.1f}×"
