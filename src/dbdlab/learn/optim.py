"""First-order optimisers: SGD and Adam on dense parameter arrays and on sparse FE coefficients.

* :class:`SGD`, :class:`Adam` (:func:`make_optimizer`) — flat parameter arrays θ of static
  Boltzmann-machine learning (:func:`dbdlab.learn.static.fit_boltzmann`);
* :class:`FieldOptimizer` — the coefficients ``u`` of the time-evolution functions
  (:class:`~dbdlab.fem.HermiteField`) in :func:`dbdlab.learn.train.train`; Adam keeps its
  moments on the same sparse grid and updates only the vertices a gradient touches ("lazy" Adam).

The dense optimisers *minimise*: ``step(params, gradient)`` returns the updated parameters.  A
learning rate may be a scalar or an array broadcast against the parameters (per-parameter rates,
e.g. the Rössler experiment's 0.8 for biases and 0.05 for weights).  The state (Adam's moments
and step count) is a plain dict, so it can be checkpointed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..fem import HermiteField, SparseCoefficients

__all__ = ["SGD", "Adam", "FieldOptimizer", "make_optimizer"]


@dataclass
class SGD:
    """Plain gradient descent ``θ ← θ − λ g`` (the authors' only solver, reproduction notes:
    repro-learning-step)."""

    lr: float | np.ndarray

    def step(self, params: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        return params - np.asarray(self.lr) * gradient

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"SGD has no state, got keys {sorted(state)}")


@dataclass
class Adam:
    """Adam (Kingma & Ba 2015) with bias correction; defaults as in the authors' library."""

    lr: float | np.ndarray
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    state: dict = field(default_factory=dict)

    def step(self, params: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        gradient = np.asarray(gradient, dtype=float)
        m = self.state.get("m", np.zeros_like(gradient))
        v = self.state.get("v", np.zeros_like(gradient))
        t = self.state.get("t", 0) + 1
        m = self.beta1 * m + (1 - self.beta1) * gradient
        v = self.beta2 * v + (1 - self.beta2) * gradient**2
        self.state = {"m": m, "v": v, "t": t}
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        return params - np.asarray(self.lr) * m_hat / (np.sqrt(v_hat) + self.eps)

    def state_dict(self) -> dict:
        return {k: (np.array(v) if k != "t" else v) for k, v in self.state.items()}

    def load_state_dict(self, state: dict) -> None:
        self.state = {k: (np.array(v) if k != "t" else int(v)) for k, v in state.items()}


def make_optimizer(name: str, lr: float | np.ndarray, **kwargs) -> SGD | Adam:
    """``"sgd"`` or ``"adam"`` with learning rate(s) ``lr``."""
    lr_arr = np.asarray(lr, dtype=float)
    if not np.all(np.isfinite(lr_arr)) or np.any(lr_arr < 0):
        raise ValueError(f"lr must be finite and >= 0, got {lr!r}")
    if name == "sgd":
        if kwargs:
            raise ValueError(f"SGD takes no options, got {sorted(kwargs)}")
        return SGD(lr)
    if name == "adam":
        return Adam(lr, **kwargs)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


@dataclass
class FieldOptimizer:
    """SGD or (lazy) Adam on the sparse coefficients of every right-hand side.

    ``lr`` is a scalar or a mapping from parameter name to learning rate.
    """

    kind: str = "sgd"
    lr: float | Mapping[str, float] = 1.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    moments: dict[str, tuple[HermiteField, HermiteField]] = field(default_factory=dict)
    t: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.kind!r}")

    def rate(self, name: str) -> float:
        if isinstance(self.lr, Mapping):
            if name not in self.lr:
                raise ValueError(f"lr: no learning rate for {name!r}")
            return float(self.lr[name])
        return float(self.lr)

    def apply(self, fields: Mapping[str, HermiteField],
              gradients: Mapping[str, SparseCoefficients]) -> None:
        self.t += 1
        for name, grad in gradients.items():
            target = fields[name]
            if self.kind == "sgd":
                target.add(grad, -self.rate(name))
                continue
            if name not in self.moments:
                self.moments[name] = (_empty_like(target), _empty_like(target))
            m_field, v_field = self.moments[name]
            m = self.beta1 * m_field.get_coefficients(grad.vertices) + \
                (1 - self.beta1) * grad.values
            v = self.beta2 * v_field.get_coefficients(grad.vertices) + \
                (1 - self.beta2) * grad.values**2
            m_field.set_coefficients(grad.vertices, m)
            v_field.set_coefficients(grad.vertices, v)
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            step = SparseCoefficients(grad.vertices, m_hat / (np.sqrt(v_hat) + self.eps))
            target.add(step, -self.rate(name))


def _empty_like(f: HermiteField) -> HermiteField:
    return HermiteField(f.cell_sizes, f.origin, reference_scaling=f.reference_scaling)
