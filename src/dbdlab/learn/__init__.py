"""Learning the dynamics of a Boltzmann distribution's parameters (paper A Algorithm 1).

* :mod:`~dbdlab.learn.dynamics` — :class:`Dynamics` (names, domain, grid, dt, substeps) and the
  forward Euler solution :func:`integrate`;
* :mod:`~dbdlab.learn.adjoint` — :func:`discrete_adjoint` (exact gradient of the discretised
  action) and :func:`continuous_adjoint` (the papers' discretisation);
* :mod:`~dbdlab.learn.exact` — exact moments and KL by enumeration (tests);
* :mod:`~dbdlab.learn.estimators` — wake and sleep moments (exact, lattice CD);
* :mod:`~dbdlab.learn.optim` — SGD and Adam, dense (θ) and sparse (:class:`FieldOptimizer`);
* :mod:`~dbdlab.learn.train` — the optimisation loop: windows, batches, history, checkpoints;
* :mod:`~dbdlab.learn.static` — static fitting of θ to data (:func:`fit_boltzmann`);
* :mod:`~dbdlab.learn.maxent` — MaxEnt initial conditions of zero-weight layers (closed form);
* :mod:`~dbdlab.learn.centered` — the centered DBM adjoint (paper B eqs. 15–17) and its
  wake/sleep estimator;
* :mod:`~dbdlab.learn.incremental` — forward Euler that re-integrates only what changed.
"""

from .adjoint import AdjointResult, continuous_adjoint, discrete_adjoint, l2_source
from .centered import CenteredAdjoint, CenteredDBMEstimator
from .checkpoint import fields_from_dataset, fields_to_dataset
from .dynamics import Dynamics, Trajectory, integrate
from .estimators import ExactEstimator, LatticeCDEstimator
from .exact import ExactMoments, visible_marginal
from .incremental import IncrementalIntegrator
from .optim import FieldOptimizer
from .train import TrainingResult, WindowSchedule, train

__all__ = [
    "AdjointResult",
    "CenteredAdjoint",
    "CenteredDBMEstimator",
    "Dynamics",
    "ExactEstimator",
    "ExactMoments",
    "FieldOptimizer",
    "IncrementalIntegrator",
    "LatticeCDEstimator",
    "TrainingResult",
    "WindowSchedule",
    "fields_from_dataset",
    "fields_to_dataset",
    "train",
    "Trajectory",
    "continuous_adjoint",
    "discrete_adjoint",
    "integrate",
    "l2_source",
    "visible_marginal",
]
