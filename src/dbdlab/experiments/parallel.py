"""Independent runs on worker processes, one Numba thread each.

An optimisation step of a training run is a handful of millisecond-long kernels that follow one
another, so threads inside a step leave cores idle between kernels, while independent runs (the
variants of the Rössler chapter) keep every core busy.  :func:`run_jobs` runs such jobs on
``workers`` processes started with ``spawn`` (never ``fork``: Numba's thread pool and a forked
child do not mix), each limited to one Numba thread.

Results do not depend on the number of workers: every run's randomness is keyed by its own seed,
and the kernels give the same bits whatever the thread count.  A job that fails raises in the
caller with the job's name; jobs still running are cancelled or finish on their own.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from .._checks import integer

__all__ = ["JobResult", "available_cores", "run_jobs"]


@dataclass(frozen=True)
class JobResult:
    """What a job returned and its wall time in seconds (measured in the worker)."""

    value: Any
    seconds: float


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _one_thread() -> None:
    import numba

    numba.set_num_threads(1)


def _timed(function: Callable[..., Any], args: tuple, kwargs: dict) -> JobResult:
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return JobResult(value, time.perf_counter() - start)


def run_jobs(function: Callable[..., Any], jobs: Mapping[str, tuple[tuple, dict]],
             workers: int | None = None, progress: bool | None = None) -> dict[str, JobResult]:
    """Call ``function(*args, **kwargs)`` for every job, on up to ``workers`` processes.

    Parameters
    ----------
    function
        A module-level function (it is pickled by reference into the workers).
    jobs
        ``{name: (args, kwargs)}``; jobs start in this order, so put the longest first.
    workers
        Number of worker processes; ``None``: one per available core, at most one per job.
        With one worker the jobs run one after the other in this process (with its threads).
    progress
        A progress bar over finished jobs (default on, except in CI).

    Returns
    -------
    ``{name: JobResult}`` in the order of ``jobs``.
    """
    from ..backend import progress_enabled

    if not callable(function):
        raise TypeError(f"function must be callable, got {function!r}")
    if not isinstance(jobs, Mapping) or not jobs:
        raise ValueError("jobs must be a non-empty mapping {name: (args, kwargs)}")
    for name, job in jobs.items():
        if not (isinstance(job, tuple) and len(job) == 2 and isinstance(job[0], tuple)
                and isinstance(job[1], Mapping)):
            raise ValueError(f"jobs[{name!r}] must be a pair (args tuple, kwargs dict), got "
                             f"{job!r:.80}")
    workers = min(len(jobs), available_cores() if workers is None else
                  integer(workers, "workers", 1))
    bar = None
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="runs", leave=False)
    results: dict[str, JobResult] = {}
    try:
        if workers == 1:
            for name, (args, kwargs) in jobs.items():
                try:
                    results[name] = _timed(function, args, dict(kwargs))
                except Exception as exc:
                    raise RuntimeError(f"job {name!r} failed: {exc}") from exc
                if bar is not None:
                    bar.update()
            return results
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
            pending: dict[Future, str] = {
                pool.submit(_timed, function, args, dict(kwargs)): name
                for name, (args, kwargs) in jobs.items()}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    name = pending.pop(future)
                    try:
                        results[name] = future.result()
                    except Exception as exc:
                        for other in pending:
                            other.cancel()
                        raise RuntimeError(f"job {name!r} failed: {exc}") from exc
                    if bar is not None:
                        bar.update()
        return {name: results[name] for name in jobs}
    finally:
        if bar is not None:
            bar.close()
