"""First-order optimisers on flat parameter arrays: SGD and Adam, per-parameter learning rates.

Both *minimise*: ``step(params, gradient)`` returns the updated parameters.  A learning rate may be
a scalar or an array broadcast against the parameters (per-parameter rates, e.g. the Rössler
experiment's 0.8 for biases and 0.05 for weights).  The state (Adam's moments and step count) is
a plain dict, so it can be checkpointed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SGD", "Adam", "make_optimizer"]


@dataclass
class SGD:
    """Plain gradient descent ``θ ← θ − λ g`` (the authors' only solver, reference notes §4.1)."""

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
