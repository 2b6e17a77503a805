"""The ``dbdlab`` command.

``dbdlab run [--profile quick|paper] [--inplace] [NOTEBOOK ...]``
    Execute notebooks with papermill into ``book/notebooks/`` (see :mod:`dbdlab.pipeline`).
``dbdlab info``
    Print the version, the backend that ``auto`` resolves to, GPU status and Numba threads.

Errors the user can act on (bad names, a failing notebook) end with exit status 1 and a single
line on stderr instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from dbdlab.pipeline import NOTEBOOKS, PROFILES, NotebookExecutionError, run_notebooks

__all__ = ["main"]


def _notebook_stem(arg: str) -> str:
    # Accept "01_simulation", "01_simulation.ipynb" and "notebooks/01_simulation.ipynb" so that
    # shell completion of the file name works.
    return Path(arg).stem if arg.endswith(".ipynb") else arg


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbdlab",
        description="Dynamic Boltzmann distributions: run the notebooks, inspect the setup.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="execute notebooks with papermill into book/notebooks/",
        description="Execute notebooks in order with papermill; results go to data/, executed "
        "notebooks to book/notebooks/.",
    )
    run.add_argument(
        "--profile",
        default="quick",
        help=f"parameter profile: {' | '.join(PROFILES)} (default: quick)",
    )
    run.add_argument(
        "--inplace",
        action="store_true",
        help="also write the executed notebooks back into notebooks/ (refreshes committed outputs)",
    )
    run.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help=f"notebook stems to run (default: all present); one of {', '.join(NOTEBOOKS)}",
    )

    sub.add_parser("info", help="print version, backend, GPU status and Numba threads")
    return parser


def _info() -> int:
    import numba

    from dbdlab.backend import gpu_status, resolve_backend

    status = 0
    print(f"dbdlab {metadata.version('dbdlab')}")
    try:
        backend = resolve_backend()
    except (ValueError, TypeError, RuntimeError) as exc:
        backend = f"unavailable ({exc})"
        status = 1
    print(f"backend: {backend}")
    usable, reason = gpu_status()
    print(f"gpu: {'yes' if usable else 'no'} ({reason})")
    print(
        f"numba threads: {numba.get_num_threads()} "
        f"(NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})"
    )
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dbdlab`` console script; returns the exit status."""
    args = _build_parser().parse_args(argv)
    if args.command == "info":
        return _info()
    try:
        run_notebooks(
            profile=args.profile,
            notebooks=[_notebook_stem(name) for name in args.notebooks] or None,
            inplace=args.inplace,
        )
    except (NotebookExecutionError, ValueError) as exc:
        # One line: exception values raised inside a notebook may span several.
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"dbdlab: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
