"""Shared output of the benchmark scripts: the machine, and a table the book renders.

Every script writes ``benchmarks/results/<name>.json`` (git-ignored) with its raw measurements
plus two standard keys that the performance chapter of the book reads:

- ``machine``: CPU model, cores, memory, operating system, Python/NumPy/Numba versions and the
  GPU, if any;
- ``table``: ``{"title", "columns", "rows", "notes"}``, where every row that is a speed-up
  names the baseline it is compared with, measured in the same run (the baseline has its own
  row, at 1×).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """Description of the machine and software the benchmark ran on."""
    import numba
    import numpy as np

    from dbdlab.backend import gpu_status

    usable, reason = gpu_status()
    gpu = "none"
    if usable:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "gpu": gpu if usable else f"none ({reason})",
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def write(name: str, results: dict[str, Any], title: str, columns: list[str],
          rows: list[list[Any]], notes: list[str] | None = None) -> Path:
    """Write ``results`` with the standard ``machine`` and ``table`` keys to results/<name>.json."""
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"every row of the {name} table must have {len(columns)} cells")
    out = dict(results)
    out["machine"] = machine()
    out["table"] = {"title": title, "columns": columns, "rows": rows, "notes": notes or []}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {path}")
    return path
