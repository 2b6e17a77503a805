"""Sphinx directive ``gpu-figures``: the device figures of ``make gpu-check``, or a plain note
that they are still owed.

Reads ``benchmarks/results/gpu-check.json`` (written by ``benchmarks/gpu.py --check``) when the
book is built; the page is rebuilt when that file changes.  :func:`describe` turns the JSON (or
its absence) into sentences and table rows; the directive only renders them.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

#: the results file, relative to the book's source directory
DEFAULT_PATH = "../benchmarks/results/gpu-check.json"
OWED = "Device figures still owed: no GPU was lent to this task."
HEADER = ("kernel", "workload", "CUDA", "Numba, 2 threads", "CUDA / Numba", "target", "met?")


def describe(data: dict | None) -> tuple[list[str], list[tuple[str, ...]]]:
    """Sentences and table rows (:data:`HEADER` columns) for the results ``data`` (``None``:
    no results file)."""
    if data is None:
        return [OWED + " When one is, make gpu-check runs every gpu-marked test and the GPU "
                "benchmarks and writes benchmarks/results/gpu-check.json, shown here."], []
    device = data.get("device", {})
    if not device.get("usable") or "cupy" not in data.get("simulator", {}):
        return [OWED + f" The last run of benchmarks/gpu.py ({data.get('date', '?')}) found no "
                f"usable GPU: {device.get('reason', 'unknown reason')}."], []
    sentences = [f"Measured by make gpu-check on {data.get('date', '?')} on the device "
                 f"{device['name']} ({device.get('memory_gib', 0):.0f} GiB, CuPy "
                 f"{device.get('cupy', '?')}); Numba on the same machine's CPU "
                 f"({data['machine'].get('cpu', '?')}, {data.get('numba_threads')} threads)."]
    tests = data.get("gpu_tests")
    if tests is not None:
        sentences.append(f"gpu-marked tests: {tests['passed']} passed, {tests['failures']} "
                         f"failed, {tests['errors']} errors, {tests['skipped']} skipped.")
    larger = data.get("cupy_larger")
    if larger:
        sentences.append(f"CUDA with more work per launch: {larger['simulator']['replicas']} "
                         f"replicas {larger['simulator']['hops_per_ns']:.3g} hop attempts/ns; "
                         f"{larger['gibbs']['chains']} chains "
                         f"{larger['gibbs']['updates_per_ns']:.3g} unit updates/ns.")
    sim, gib = data["simulator"], data["gibbs"]
    targets = data.get("targets", {})
    met = data.get("targets_met", {})
    rows = [
        ("simulator", f"LV 40×40, {sim['cupy']['replicas']} replicas × "
                      f"{sim['cupy']['steps']} steps",
         f"{sim['cupy']['hops_per_ns']:.3g} hops/ns", f"{sim['numba']['hops_per_ns']:.3g} "
         f"hops/ns", f"{data['simulator_speedup_vs_numba']:.1f}×",
         f"≥ {targets.get('simulator_speedup_vs_numba_2_threads', 50):g}× Numba",
         "yes" if met.get("simulator") else "**no**"),
        ("Gibbs", f"LV DBM 3×40×40, {gib['cupy']['chains']} chains × "
                  f"{gib['cupy']['sweeps']} sweeps",
         f"{gib['cupy']['updates_per_ns']:.3g} updates/ns",
         f"{gib['numba']['updates_per_ns']:.3g} updates/ns",
         f"{data['gibbs_speedup_vs_numba']:.1f}×",
         f"≥ {targets.get('gibbs_unit_updates_per_ns', 100):g} updates/ns",
         "yes" if met.get("gibbs") else "**no**"),
    ]
    return sentences, rows


def _table(rows: list[tuple[str, ...]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(HEADER))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in HEADER]
    head, body = nodes.thead(), nodes.tbody()
    for part, cells_rows in ((head, [HEADER]), (body, rows)):
        for cells in cells_rows:
            row = nodes.row()
            for text in cells:
                strong = text.startswith("**")
                inner = nodes.strong(text=text.strip("*")) if strong else nodes.Text(text)
                row += nodes.entry("", nodes.paragraph("", "", inner))
            part += row
    group += [head, body]
    return table


class GpuFigures(SphinxDirective):
    """``{gpu-figures}`` [path to the JSON, relative to the book's source directory]."""

    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        path = Path(self.env.srcdir) / (self.arguments[0] if self.arguments else DEFAULT_PATH)
        self.env.note_dependency(str(path))
        data = json.loads(path.read_text()) if path.is_file() else None
        sentences, rows = describe(data)
        out: list[nodes.Node] = [nodes.paragraph(text=s) for s in sentences]
        if rows:
            out.append(_table(rows))
        return out


def setup(app) -> dict:
    app.add_directive("gpu-figures", GpuFigures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
