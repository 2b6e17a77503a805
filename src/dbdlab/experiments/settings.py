"""The papers' sizes and the notebook profiles, in one place.

* :data:`SETTINGS` — lattice and run settings of the papers' training sets, per experiment;
* :data:`PROFILES` — per profile (``quick``, ``paper``) and notebook stem, the parameters that
  ``dbdlab run`` injects into the notebook's ``parameters`` cell (:mod:`dbdlab.pipeline`).  The
  defaults written in that cell are the ``quick`` profile, so ``quick`` entries are usually empty.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROFILES", "SETTINGS"]

#: Lattice and run settings of the papers' training sets (reference notes §1.8).
SETTINGS = {
    "lotka_volterra": {"shape": (40, 40), "periodic": True, "dt": 1.0, "steps": 500,
                       "replicas": 100, "init": {"X": 100, "Y": 100}},
    "rossler": {"shape": (10, 10, 10), "periodic": False, "dt": 0.01, "steps": 250,
                "replicas": 300, "init": {"A": 200, "B": 200, "C": 200}},
    "annihilation": {"shape": (1000,), "periodic": False, "dt": 0.01, "steps": 201,
                     "n_ic": 50, "lattices_per_ic": 50, "init_sweeps": 100},
}

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {
        "01_simulation": {},
        "02_maxent_init": {},
        "03_annihilation_rbm": {},
    },
    "paper": {
        "01_simulation": {
            "profile": "paper",
            "lv_runs": 100,
            "rossler_runs": 300,
            "annihilation_ics": 50,
            "annihilation_lattices": 50,
        },
        "02_maxent_init": {"profile": "paper", "check_sweeps": 100},
        "03_annihilation_rbm": {"profile": "paper", "train_steps": 190, "eval_every": 2},
    },
}
