"""Sphinx extension of the dbdlab book: reader-facing fixes applied while the book is built.

- Notebook regression markers (``# NBVAL_CHECK_OUTPUT`` and the other ``# NBVAL_*`` comments
  that nbval reads) are removed from the rendered code cells: they steer the tests, not the
  reader.  The notebooks themselves, and their download links, keep them.
- Scripts registered twice are written once.  sphinx-thebe and sphinx-togglebutton register
  their inline configuration scripts on every ``env-before-read-docs`` event, which Jupyter
  Book emits twice; the second ``const THEBE_JS_URL`` is a redeclaration that the browser
  reports as an error on every page.
- ``{benchmark-results} <name>`` renders ``benchmarks/results/<name>.json`` (written by
  ``make bench``): the machine it ran on, the script's table and its notes; without that file
  it says how to produce it.  ``{run-profiles}`` tabulates the profiles of ``dbdlab run``.
- ``{notebook-wall-times}`` tabulates the wall time of each notebook of this build, as papermill
  recorded it in ``book/notebooks/<stem>.ipynb`` when ``dbdlab run`` executed it, with the
  profile it ran with and the number of CPU cores of the machine building the book.
- The book's MathJax is a local copy (``make mathjax`` installs it from the npm registry into
  ``book/_assets/mathjax``), so that formulas render without a network connection; building
  without it is an error rather than a book whose formulas show as raw LaTeX.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

NBVAL_PREFIX = "# NBVAL_"


def strip_nbval_markers(text: str) -> str:
    """``text`` without its lines that are nbval markers (``# NBVAL_...``)."""
    lines = text.split("\n")
    kept = [line for line in lines if not line.lstrip().startswith(NBVAL_PREFIX)]
    return "\n".join(kept) if len(kept) < len(lines) else text


def _hide_nbval_markers(app: Sphinx, doctree: nodes.document) -> None:
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        stripped = strip_nbval_markers(text)
        if stripped != text:
            # rawsource must match the text, or the HTML writer skips syntax highlighting.
            block.rawsource = stripped
            block.children = [nodes.Text(stripped)]


def _drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique: list[Any] = []
    for script in scripts:
        # Inline scripts come with filename None or "" depending on who added them.
        key = (str(script.filename or ""), tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _check_mathjax(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    path = app.config.mathjax_path
    if "://" in path:
        return
    for static in app.config.html_static_path:
        if (Path(app.srcdir) / static / path).is_file():
            return
    raise ExtensionError(
        f"the local MathJax ({path}) is missing from html_static_path "
        f"{app.config.html_static_path}; run `make mathjax` first"
    )


def _paragraph(text: str) -> nodes.paragraph:
    return nodes.paragraph(text, text)


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> nodes.table:
    table = nodes.table(classes=["table"])
    group = nodes.tgroup(cols=len(columns))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in columns)
    head = nodes.thead()
    body = nodes.tbody()
    group += head
    group += body
    for target, cells in ((head, [columns]), (body, rows)):
        for cells_of_row in cells:
            row = nodes.row()
            for cell in cells_of_row:
                entry = nodes.entry()
                entry += _paragraph("" if cell is None else str(cell))
                row += entry
            target += row
    return table


def describe_machine(machine: dict[str, Any]) -> str:
    """One sentence naming the machine a benchmark ran on."""
    memory = machine.get("memory_gib")
    load = machine.get("load_average")
    return (
        f"Measured on {machine.get('cpu', 'an unknown CPU')} ({machine.get('cores')} cores"
        + (f", {memory} GiB memory" if memory else "")
        + f", {machine.get('os', 'unknown OS')}); Python {machine.get('python')}, NumPy "
        f"{machine.get('numpy')}, Numba {machine.get('numba')} with "
        f"{machine.get('numba_threads')} threads; GPU: {machine.get('gpu', 'none')}"
        + (f"; load average {load:.1f} when the results were written" if load is not None
           else "")
        + "."
    )


class BenchmarkResults(SphinxDirective):
    """``{benchmark-results} simulate``: the table of benchmarks/results/simulate.json."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        path = Path(self.env.srcdir).parent / "benchmarks" / "results" / f"{name}.json"
        self.env.note_dependency(str(path))
        if not path.is_file():
            note = nodes.paragraph()
            note += nodes.Text("Not measured in this build: ")
            note += nodes.literal("make bench", "make bench")
            note += nodes.Text(" (or ")
            note += nodes.literal(f"python benchmarks/{name}.py", f"python benchmarks/{name}.py")
            note += nodes.Text(") writes ")
            note += nodes.literal(f"benchmarks/results/{name}.json",
                                  f"benchmarks/results/{name}.json")
            note += nodes.Text(", and the next book build shows its table here.")
            return [note]
        data = json.loads(path.read_text(encoding="utf-8"))
        table = data.get("table")
        if not isinstance(table, dict) or "rows" not in table:
            raise self.error(f"{path} has no 'table' entry; rerun benchmarks/{name}.py")
        out: list[nodes.Node] = [
            _paragraph(f"{table.get('title', name)}. {describe_machine(data.get('machine', {}))}"),
            _table(table["columns"], table["rows"]),
        ]
        if table.get("notes"):
            items = nodes.bullet_list()
            for note in table["notes"]:
                item = nodes.list_item()
                item += _paragraph(note)
                items += item
            out.append(items)
        return out


class RunProfiles(SphinxDirective):
    """``{run-profiles}``: the parameters each profile of ``dbdlab run`` injects."""

    def run(self) -> list[nodes.Node]:
        from dbdlab import pipeline

        profiles = pipeline.PROFILES
        names = list(profiles)
        rows = []
        for stem in pipeline.NOTEBOOKS:
            if not any(stem in profiles[p] for p in names):
                continue
            cells = [stem]
            for profile in names:
                params = profiles[profile].get(stem)
                if params is None:
                    cells.append("(not defined)")
                else:
                    shown = {k: v for k, v in params.items() if k != "profile"}
                    cells.append(", ".join(f"{k} = {v}" for k, v in shown.items())
                                 or "the notebook's parameters cell")
            rows.append(cells)
        return [_table(["notebook", *names], rows)]


def profile_of(parameters: Mapping[str, Any] | None) -> str:
    """The ``dbdlab run`` profile of a notebook executed with papermill ``parameters``.

    The ``quick`` profile injects nothing (its values are the defaults of the notebooks'
    parameters cells); the others inject their name as ``profile``.  Parameters without a
    ``profile`` entry were set by hand.
    """
    if not parameters:
        return "quick"
    profile = parameters.get("profile")
    return str(profile) if profile else "custom parameters"


def notebook_wall_times(
    notebooks: Sequence[tuple[str, Mapping[str, Any] | None]],
) -> tuple[list[list[str]], list[str]]:
    """Table rows of the notebooks' wall times, and the notebooks that were not run.

    Parameters
    ----------
    notebooks
        ``(stem, metadata)`` in table order, where ``metadata`` is the top-level ``metadata``
        of the executed notebook (papermill stores ``papermill.duration`` in seconds and
        ``papermill.parameters``, the injected parameters), or ``None`` where the executed
        notebook is missing.

    Returns
    -------
    rows
        ``[notebook, profile, seconds, minutes]`` for every notebook with a recorded wall time
        (the notebook name followed by "(failed)" where papermill recorded an exception), then
        a total row, whose profile is the common one or "mixed (...)"; empty if no notebook
        has a recorded wall time.
    missing
        Stems of the notebooks that are missing or carry no papermill wall time.
    """
    rows: list[list[str]] = []
    missing: list[str] = []
    total = 0.0
    profiles: list[str] = []
    for stem, metadata in notebooks:
        papermill = (metadata or {}).get("papermill") or {}
        duration = papermill.get("duration")
        if not isinstance(duration, (int, float)):
            missing.append(stem)
            continue
        profile = profile_of(papermill.get("parameters"))
        if profile not in profiles:
            profiles.append(profile)
        name = f"{stem} (failed)" if papermill.get("exception") else stem
        rows.append([name, profile, f"{duration:.0f}", f"{duration / 60:.1f}"])
        total += float(duration)
    if rows:
        common = profiles[0] if len(profiles) == 1 else f"mixed ({', '.join(profiles)})"
        rows.append(["total", common, f"{total:.0f}", f"{total / 60:.1f}"])
    return rows, missing


class NotebookWallTimes(SphinxDirective):
    """``{notebook-wall-times}``: wall time per executed notebook of this build."""

    def run(self) -> list[nodes.Node]:
        from dbdlab import pipeline

        directory = Path(self.env.srcdir) / pipeline.NOTEBOOK_DIR
        stems = list(pipeline.NOTEBOOKS)
        if directory.is_dir():
            stems += sorted(p.stem for p in directory.glob("*.ipynb")
                            if not p.name.startswith(".") and p.stem not in stems)
        notebooks: list[tuple[str, Mapping[str, Any] | None]] = []
        for stem in stems:
            path = directory / f"{stem}.ipynb"
            self.env.note_dependency(str(path))
            metadata = None
            if path.is_file():
                try:
                    metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata")
                except (OSError, ValueError) as error:
                    raise self.error(f"cannot read {path}: {error}") from error
            notebooks.append((stem, metadata))
        rows, missing = notebook_wall_times(notebooks)
        out: list[nodes.Node] = []
        if rows:
            out.append(_paragraph(
                "Wall time of each notebook as dbdlab run executed it for this build (recorded "
                f"by papermill in book/notebooks/); the machine building the book has "
                f"{os.cpu_count()} CPU cores."))
            out.append(_table(["notebook", "profile", "wall time (s)", "wall time (min)"], rows))
        if missing:
            out.append(_paragraph(
                ("Not run in this build: " if rows else "No notebook was run for this build: ")
                + ", ".join(missing) + "."))
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("benchmark-results", BenchmarkResults)
    app.add_directive("run-profiles", RunProfiles)
    app.add_directive("notebook-wall-times", NotebookWallTimes)
    app.connect("builder-inited", _check_mathjax)
    app.connect("doctree-read", _hide_nbval_markers)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
