"""The papers' sizes and the notebook profiles, in one place.

* :data:`SETTINGS` — per experiment, the lattice and run settings of the papers' training sets
  and the learning settings of the authors' runs (what the original code did where it differs
  from the papers' text; reproduction notes: repro-networks, repro-learning-step and the
  ``repro-…-config`` sections).  The reaction rates are the defaults of the presets of the same
  name in :mod:`dbdlab.simulate.networks` (a lower layer cannot read this module, and
  ``dbdlab.networks.lotka_volterra()`` must give the paper's system).
* :data:`PROFILES` — per profile (``quick``, ``paper``) and notebook stem, the parameters that
  ``dbdlab run`` injects into the notebook's ``parameters`` cell (:mod:`dbdlab.pipeline`).  The
  defaults written in that cell are the ``quick`` profile, so ``quick`` entries are usually
  empty; ``paper`` entries are read from :data:`SETTINGS`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROFILES", "SETTINGS"]

#: The papers' experiments as the authors ran them.  Simulation keys: ``shape``, ``periodic``,
#: ``dt``, ``steps`` (recorded time points), ``runs`` or ``n_ic`` × ``lattices_per_ic``
#: (training-set size) and the initial state; ``learning``: the optimisation of Algorithm 1
#: (paper A) with window length and shift in timesteps; ``initial_fit``: static learning of the
#: initial conditions.
SETTINGS: dict[str, dict[str, Any]] = {
    # paper B §III (reproduction notes: repro-networks, repro-lv-config)
    "lotka_volterra": {
        "shape": (40, 40),
        "periodic": True,
        "dt": 1.0,
        "steps": 500,
        "runs": 100,
        "init": {"X": 100, "Y": 100},
        "learning": {"steps": 980, "lr": 2.5e-6, "batch": 5, "window_length": 10,
                     "shift_every": 2, "substeps": 1, "sweeps": 10, "center_rate": 0.5},
    },
    # paper A §IV.B (repro-networks, repro-rossler-config)
    "rossler": {
        "shape": (10, 10, 10),
        "periodic": False,
        "dt": 0.01,
        "steps": 250,
        "runs": 300,
        "init": {"A": 200, "B": 200, "C": 200},
        "learning": {"steps": 10000, "lr_biases": 0.8, "lr_weights": 0.05, "batch": 1,
                     "window_length": 10, "shift_every": 100, "substeps": 10,
                     "reconstructions": 10},
    },
    # paper A §IV.A (repro-networks, repro-annihilation-config, repro-maxent-fit)
    "annihilation": {
        "shape": (1000,),
        "periodic": False,
        "dt": 0.01,
        "steps": 201,
        "n_ic": 50,
        "lattices_per_ic": 50,
        "init_sweeps": 100,
        "learning": {"steps": 190, "lr": 1.0, "batch": 10, "window_length": 5,
                     "shift_every": 2, "substeps": 1, "timepoints": 100, "k": 1,
                     "eval_chains": 10, "eval_sweeps": 10,
                     # domain of the F's and cell sizes, per model (repro-fem-domains)
                     "domains": {"visible": ("b", "J", "K"), "hidden": ("hA", "wAX1", "bX1")},
                     "cells": {"visible": (0.5, 0.5, 0.5), "hidden": (0.5, 0.5, 0.05)}},
        "initial_fit": {"steps": 1000, "lr": 1e-5, "batch": 10, "k": 1, "average_last": 50},
    },
}

_LV, _ROSSLER, _ANNIHILATION = (SETTINGS[k] for k in ("lotka_volterra", "rossler",
                                                      "annihilation"))

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {
        "01_simulation": {},
        "02_maxent_init": {},
        "03_annihilation_rbm": {},
        "04_rossler": {},
        "05_lotka_volterra_dbm": {},
        "validation": {},
        "06_closure_analysis": {},
    },
    "paper": {
        "01_simulation": {
            "profile": "paper",
            "lv_runs": _LV["runs"],
            "rossler_runs": _ROSSLER["runs"],
            "annihilation_ics": _ANNIHILATION["n_ic"],
            "annihilation_lattices": _ANNIHILATION["lattices_per_ic"],
        },
        "02_maxent_init": {"profile": "paper", "check_sweeps": 100},
        "03_annihilation_rbm": {
            "profile": "paper",
            "train_steps": _ANNIHILATION["learning"]["steps"],
            "eval_every": 2,
        },
        "04_rossler": {
            "profile": "paper",
            "train_steps": 10000,
            "shift_every": 100,
            "full_shift_every": 41,
            "runs": ["batch5", "batch1", "full", "open", "bug"],
            "eval_every": 2,
            "eval_samples": 100,
            "sweep_timepoints": [0, 20, 50, 100, 200],
            "checkpoint_every": 1000,
        },
        "05_lotka_volterra_dbm": {"profile": "paper", "train_steps": 980, "eval_chains": 100,
                                  "eval_every": 10, "checkpoint_every": 50},
        "validation": {"profile": "paper"},
        "06_closure_analysis": {
            "profile": "paper",
            "heldout_runs": 100,
            "eq14_stride": 4,
            "dbd_chains": 100,
            "dbd_stride": 5,
        },
    },
}
