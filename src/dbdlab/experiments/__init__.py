"""The papers' experiments: settings and profiles, data sets, evaluation, analysis and plots.

* :mod:`~dbdlab.experiments.settings` — the papers' sizes and the notebook profiles;
* :mod:`~dbdlab.experiments.datasets` — the papers' training and test sets;
* :mod:`~dbdlab.experiments.evaluate` — moments of learned models against the data;
* :mod:`~dbdlab.experiments.analysis` — trajectory analysis (closest replica, self-intersections);
* :mod:`~dbdlab.experiments.plotting` — lattice pictures and mean ± band plots.

Submodules are imported on demand, so ``import dbdlab.experiments.settings`` stays light.
"""
