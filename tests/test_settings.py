"""The papers' settings and the profiles live in one place and are read from there."""

from __future__ import annotations

import inspect
import subprocess
import sys

from dbdlab import pipeline
from dbdlab.experiments import datasets
from dbdlab.experiments.settings import PROFILES, SETTINGS


def test_pipeline_uses_the_settings_profiles():
    assert pipeline.PROFILES is PROFILES


def test_profiles_name_known_notebooks():
    for profile, entries in PROFILES.items():
        unknown = set(entries) - set(pipeline.NOTEBOOKS)
        assert not unknown, f"profile {profile!r} names unknown notebooks {unknown}"


def test_paper_profile_reads_the_paper_settings():
    paper = PROFILES["paper"]
    assert paper["01_simulation"]["lv_runs"] == SETTINGS["lotka_volterra"]["runs"]
    assert paper["01_simulation"]["rossler_runs"] == SETTINGS["rossler"]["runs"]
    assert paper["01_simulation"]["annihilation_ics"] == SETTINGS["annihilation"]["n_ic"]
    assert (paper["03_annihilation_rbm"]["train_steps"]
            == SETTINGS["annihilation"]["learning"]["steps"])


def _defaults(function) -> dict:
    return {name: p.default for name, p in inspect.signature(function).parameters.items()}


def test_dataset_defaults_are_the_paper_settings():
    lv, rossler, ann = (SETTINGS[k] for k in ("lotka_volterra", "rossler", "annihilation"))
    assert _defaults(datasets.lotka_volterra_set)["runs"] == lv["runs"]
    assert _defaults(datasets.lotka_volterra_set)["steps"] == lv["steps"]
    assert _defaults(datasets.rossler_set)["runs"] == rossler["runs"]
    assert _defaults(datasets.rossler_set)["steps"] == rossler["steps"]
    ann_defaults = _defaults(datasets.annihilation_set)
    assert (ann_defaults["n_ic"], ann_defaults["lattices_per_ic"], ann_defaults["steps"],
            ann_defaults["init_sweeps"]) == (ann["n_ic"], ann["lattices_per_ic"], ann["steps"],
                                             ann["init_sweeps"])
    assert (ann_defaults["n_sites"],) == ann["shape"]


def test_settings_module_is_light():
    """The profiles and sizes are plain data: reading them loads no NumPy, Numba or xarray."""
    code = ("import sys, dbdlab.experiments.settings; "
            "print(sorted(m for m in ('numpy', 'numba', 'xarray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
