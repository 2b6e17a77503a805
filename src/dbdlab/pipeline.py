"""Profiles and the papermill runner behind ``dbdlab run`` (developer guide: dev-notebooks).

A *profile* maps each notebook stem to the parameters papermill injects after the notebook's
cell tagged ``parameters``.  The defaults written in that cell are the ``quick`` profile (small
sizes; the whole set runs in minutes on two cores, as in CI), so ``quick`` entries are usually
empty; ``paper`` sets the papers' sizes.

Notebooks are executed in the order of :data:`NOTEBOOKS` with the repository root as working
directory, so the results they save under ``data/`` land in the repository's ``data/``.  The
executed copies go to ``book/notebooks/``, which is what the book is built from.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dbdlab.experiments.settings import PROFILES
from dbdlab.store import (
    DATA_DIR_ENV,
    RUN_NOTEBOOK_ENV,
    RUN_PARAMETERS_ENV,
    RUN_PROFILE_ENV,
    find_repo_root,
    remove_stale_temporaries,
    temporary_name,
)

__all__ = [
    "NOTEBOOKS",
    "PROFILES",
    "NotebookExecutionError",
    "available_notebooks",
    "run_notebooks",
]

NOTEBOOKS: list[str] = [
    "01_simulation",
    "02_maxent_init",
    "03_annihilation_rbm",
    "04_rossler",
    "05_lotka_volterra_dbm",
    "06_closure_analysis",
    # The evidence of the validation chapter: checks against exact results, run by the same
    # functions as the test suite (dbdlab.experiments.validation); profile-independent.
    "validation",
]

NOTEBOOK_DIR = "notebooks"


class NotebookExecutionError(RuntimeError):
    """A notebook failed while ``run_notebooks`` executed it.

    Attributes
    ----------
    notebook
        Stem of the failing notebook.
    cell_index
        0-based index of the failing cell in the executed notebook (which includes papermill's
        injected-parameters cell), or ``None`` when the failure is not tied to a cell (e.g. the
        kernel could not start).
    cell_first_line
        First non-empty line of the failing cell's source, or ``""``.
    output_path
        Where the executed notebook, with the error, was written.
    """

    def __init__(
        self,
        message: str,
        *,
        notebook: str,
        cell_index: int | None,
        cell_first_line: str,
        output_path: Path,
    ) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.cell_index = cell_index
        self.cell_first_line = cell_first_line
        self.output_path = output_path


def available_notebooks(root: str | os.PathLike[str]) -> list[str]:
    """Stems from :data:`NOTEBOOKS` whose ``notebooks/<stem>.ipynb`` exists under ``root``."""
    directory = Path(root) / NOTEBOOK_DIR
    return [stem for stem in NOTEBOOKS if (directory / f"{stem}.ipynb").is_file()]


def _select(profile: str, notebooks: Iterable[str] | None, root: Path) -> list[str]:
    """Validate the whole request before anything runs (developer guide: dev-reliability)."""
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")
    present = available_notebooks(root)
    if notebooks is None:
        if not present:
            raise ValueError(f"no notebooks of {NOTEBOOKS} found in {root / NOTEBOOK_DIR}")
        return present
    if isinstance(notebooks, str):
        notebooks = [notebooks]
    requested = list(notebooks)
    if not requested:
        raise ValueError("notebooks is empty; pass None to run all notebooks")
    unknown = [name for name in requested if name not in NOTEBOOKS]
    if unknown:
        raise ValueError(
            f"unknown notebook(s) {', '.join(map(repr, unknown))}; valid notebooks: "
            f"{', '.join(NOTEBOOKS)}"
        )
    missing = [name for name in requested if name not in present]
    if missing:
        raise ValueError(
            f"notebook file(s) not found in {root / NOTEBOOK_DIR}: {', '.join(missing)}; "
            f"present: {', '.join(present) or 'none'}"
        )
    # Run in the canonical order whatever order they were named in, since later chapters read
    # the data of earlier ones.
    return [stem for stem in NOTEBOOKS if stem in requested]


def _check_profile_entries(profile: str, stems: list[str]) -> None:
    """A profile other than the notebooks' own defaults must say what it sets for each one."""
    if profile == "quick":
        return  # the parameters cell's defaults are the quick profile
    missing = [stem for stem in stems if stem not in PROFILES[profile]]
    if missing:
        raise ValueError(
            f"profile {profile!r} has no entry for notebook(s) {', '.join(missing)}, which "
            f"would silently run with their quick defaults; add the entries to PROFILES"
            f"[{profile!r}] or run only {', '.join(s for s in stems if s not in missing) or '…'}"
        )


def _first_line(source: str) -> str:
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def _strip_run_metadata(path: Path) -> None:
    """Drop papermill/nbclient timing and absolute paths from a notebook that gets committed.

    Without this every refresh of ``notebooks/`` would change start/end times and durations in
    every cell, hiding the real changes in diffs.  The JSON layout is nbformat's (indent 1,
    sorted keys), so untouched parts of the file do not change either.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb.get("metadata", {}).pop("papermill", None)
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def _refresh_source(executed: Path, source: Path) -> None:
    """Copy an executed notebook over its source, without run metadata, atomically.

    Copy, clean and rename, so an interruption never truncates a committed notebook; the
    unique temporary name keeps concurrent runs from writing into each other's copy.
    """
    tmp = temporary_name(source)
    try:
        shutil.copyfile(executed, tmp)
        _strip_run_metadata(tmp)
        os.replace(tmp, source)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _execute(
    stem: str,
    profile: str,
    parameters: Mapping[str, Any],
    input_path: Path,
    output_path: Path,
    cwd: Path,
    kernel_name: str,
) -> None:
    # Imported here because papermill takes about a second to import, which `dbdlab info` and
    # the library itself should not pay.
    import papermill
    from papermill.exceptions import PapermillExecutionError

    where = f"notebook {stem} (profile {profile})"
    # Progress bars belong to interactive use; in executed book pages they are noise.  The
    # kernel inherits this process's environment, which also tells dbdlab.store.save_dataset
    # which run produced the files the notebook writes (provenance attributes).
    os.environ.setdefault("DBDLAB_PROGRESS", "0")
    run_env = {
        RUN_PROFILE_ENV: profile,
        RUN_NOTEBOOK_ENV: stem,
        RUN_PARAMETERS_ENV: json.dumps(dict(parameters), sort_keys=True),
    }
    # papermill rewrites its output after every cell, so it writes a temporary file that is
    # renamed over output_path when the run ends (successfully or with a cell error): a reader
    # never sees a half-written notebook, and an interrupted run keeps the previous one.
    tmp = temporary_name(output_path)
    try:
        with _environment(run_env), warnings.catch_warnings():
            # the hidden temporary name does not end in .ipynb
            warnings.filterwarnings("ignore", "The specified file .* does not end in",
                                    UserWarning)
            papermill.execute_notebook(
                str(input_path),
                str(tmp),
                parameters=dict(parameters),
                kernel_name=kernel_name,
                # Every dbdlab notebook is Python; saying so lets notebooks without language
                # metadata (e.g. freshly created ones) be parameterised.
                language="python",
                cwd=str(cwd),
                progress_bar=False,
                log_output=False,
                # The kernel's own log (e.g. its notice that a local kernel talks over TCP)
                # would interleave with the one progress line per notebook; errors still show.
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
        os.replace(tmp, output_path)
    except PapermillExecutionError as exc:
        os.replace(tmp, output_path)  # the executed notebook, with the error, for reading
        first = _first_line(exc.source)
        raise NotebookExecutionError(
            f"{where} failed in cell {exc.cell_index} (In [{exc.exec_count}]: {first!r}): "
            f"{exc.ename}: {exc.evalue}; executed notebook: {output_path}",
            notebook=stem,
            cell_index=exc.cell_index,
            cell_first_line=first,
            output_path=output_path,
        ) from exc
    except Exception as exc:
        # Failures outside a cell: kernel missing or dead, unreadable notebook, ...
        raise NotebookExecutionError(
            f"{where} failed: {type(exc).__name__}: {exc}",
            notebook=stem,
            cell_index=None,
            cell_first_line="",
            output_path=output_path,
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _report(progress: bool, stem: str, profile: str, start: float, *, failed: bool) -> None:
    # Printed as one whole line after the run: the kernel writes its own warnings to the same
    # terminal while it runs, which would split a line started beforehand.
    if progress:
        status = "FAILED after " if failed else ""
        elapsed = time.perf_counter() - start
        print(f"{stem:<24} profile={profile:<6} {status}{elapsed:.1f} s", flush=True)


def run_notebooks(
    profile: str = "quick",
    notebooks: Iterable[str] | None = None,
    output_dir: str | os.PathLike[str] = Path("book/notebooks"),
    cwd: str | os.PathLike[str] | None = None,
    progress: bool = True,
    kernel_name: str = "python3",
    inplace: bool = False,
) -> list[Path]:
    """Execute notebooks with papermill, in the order of :data:`NOTEBOOKS`.

    Parameters
    ----------
    profile
        Key of :data:`PROFILES`; its entry for each notebook is injected as parameters.
    notebooks
        Stems to run (a subset of :data:`NOTEBOOKS`), or ``None`` for every notebook whose file
        exists in ``notebooks/``.  They run in canonical order regardless of the order given.
    output_dir
        Where executed notebooks are written as ``<stem>.ipynb``; a relative path is taken
        relative to ``cwd``.  A failed notebook is written there too, with its error.
    cwd
        Repository root: notebooks are read from ``<cwd>/notebooks/`` and their kernels run in
        ``cwd``.  Default: :func:`dbdlab.store.find_repo_root` from the current directory,
        falling back to the current directory.
    progress
        Print one line per notebook: name, profile and elapsed seconds.
    kernel_name
        Jupyter kernel to use.
    inplace
        Also copy each successfully executed notebook over ``notebooks/<stem>.ipynb``, with
        papermill's timing metadata removed (used to refresh the committed ``quick`` outputs).
        A failed run leaves the source notebook untouched.
    Returns
    -------
    list of pathlib.Path
        The executed notebooks in ``output_dir``.

    Raises
    ------
    ValueError
        Unknown profile or notebook name, or a missing notebook file; raised before any
        notebook runs.  The message lists the valid names.
    NotebookExecutionError
        A notebook failed; the message names the notebook and the failing cell.
    """
    root = Path(cwd) if cwd is not None else (find_repo_root() or Path.cwd())
    root = root.resolve()
    stems = _select(profile, notebooks, root)
    _check_profile_entries(profile, stems)
    out_dir = Path(output_dir)
    if not out_dir.is_absolute():
        out_dir = root / out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(os.environ.get(DATA_DIR_ENV) or root / "data")
    for directory in (data_dir, out_dir, root / NOTEBOOK_DIR):
        remove_stale_temporaries(directory)  # leftovers of killed runs

    written: list[Path] = []
    for stem in stems:
        input_path = root / NOTEBOOK_DIR / f"{stem}.ipynb"
        output_path = out_dir / f"{stem}.ipynb"
        parameters = PROFILES[profile].get(stem, {})
        start = time.perf_counter()
        try:
            _execute(stem, profile, parameters, input_path, output_path, root, kernel_name)
        except BaseException:
            _report(progress, stem, profile, start, failed=True)
            raise
        _report(progress, stem, profile, start, failed=False)
        if inplace:
            _refresh_source(output_path, input_path)
        written.append(output_path)
    return written
