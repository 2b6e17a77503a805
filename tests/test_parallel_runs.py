"""Independent runs on worker processes (dbdlab.experiments.parallel)."""

from __future__ import annotations

import numpy as np
import pytest

from dbdlab.experiments import rossler as R
from dbdlab.experiments.parallel import JobResult, run_jobs


def _jobs(lattices):
    base = R.RosslerConfig(shape=(4, 4, 4), steps=4, batch=2, window=3, shift_every=2,
                           sleep_sweeps=2, n_timepoints=14, seed=9)
    configs = {"batch2": base, "batch1": base.with_(batch=1), "open": base.with_(periodic=False)}
    return {name: ((config, lattices), {"progress": False}) for name, config in configs.items()}


def test_runs_on_two_workers_equal_runs_in_this_process():
    # each run is keyed by its own seed and the kernels are thread-count independent, so the
    # workers' results are bit-identical to the same runs one after the other here
    lattices = np.random.default_rng(8).integers(0, 4, size=(4, 14, 64)).astype(np.int8)
    jobs = _jobs(lattices)
    serial = run_jobs(R.train_rossler, jobs, workers=1, progress=False)
    parallel = run_jobs(R.train_rossler, jobs, workers=2, progress=False)
    assert list(parallel) == list(jobs)
    for name in jobs:
        a, b = serial[name], parallel[name]
        assert isinstance(b, JobResult) and b.seconds > 0
        for field in a.value.fields:
            np.testing.assert_array_equal(a.value.fields[field].coefficients,
                                          b.value.fields[field].coefficients)
        np.testing.assert_array_equal(a.value.history.theta.values,
                                      b.value.history.theta.values)
    # the variants differ from each other (the comparison above is not vacuous)
    assert not np.array_equal(serial["batch2"].value.history.theta.values,
                              serial["batch1"].value.history.theta.values)


def _fail_on_two(x):
    if x == 2:
        raise ArithmeticError(f"bad input {x}")
    return x


def test_a_failing_job_names_itself():
    jobs = {"fine": ((1,), {}), "broken": ((2,), {})}
    for workers in (1, 2):
        with pytest.raises(RuntimeError, match="job 'broken' failed: bad input 2"):
            run_jobs(_fail_on_two, jobs, workers=workers, progress=False)


@pytest.mark.parametrize("jobs, match", [({}, "non-empty"), ({"a": (1, {})}, r"jobs\['a'\]"),
                                         ({"a": ((), [])}, r"jobs\['a'\]")])
def test_bad_jobs(jobs, match):
    with pytest.raises(ValueError, match=match):
        run_jobs(print, jobs)


def test_bad_workers():
    with pytest.raises(ValueError, match="workers"):
        run_jobs(print, {"a": ((), {})}, workers=0)
