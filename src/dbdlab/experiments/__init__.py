"""The papers' experiments: settings and profiles, data sets, evaluation, analysis and plots.

* :mod:`~dbdlab.experiments.settings` — the papers' sizes and the notebook profiles;
* :mod:`~dbdlab.experiments.datasets` — the papers' training and test sets;
* :mod:`~dbdlab.experiments.evaluate` — moments of learned models against the data;
* :mod:`~dbdlab.experiments.analysis` — trajectory analysis (closest replica, self-intersections);
* :mod:`~dbdlab.experiments.plotting` — lattice pictures and mean ± band plots;
* :mod:`~dbdlab.experiments.rossler` — paper A's Rössler experiment (configuration, wake/sleep
  estimator, MaxEnt baseline, test sampling);
* :mod:`~dbdlab.experiments.parallel` — independent training runs on worker processes;
* :mod:`~dbdlab.experiments.report` — each chapter's banner and "paper vs this book" table;
* :mod:`~dbdlab.experiments.validation` — checks against exact results, shared by the tests
  and the book's validation chapter;
* :mod:`~dbdlab.experiments.closure_analysis` — chapter 06: paper B eq. 14 for the trained
  Lotka–Volterra DBM and the classical closures against held-out simulations.

Submodules are imported on demand, so ``import dbdlab.experiments.settings`` stays light.
"""
