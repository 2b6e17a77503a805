"""Layer states as arrays: binary codes or probabilities, batched over chains.

A *layer state* is one of

* **codes**: integer array (normally ``int8``) of shape ``(chains, N)`` or ``(chains, *shape)``;
  ``0`` = empty, ``k`` = the layer's ``k``-th species (1-based, registration order);
* **probabilities**: float array of shape ``(chains, N, M)`` or ``(chains, *shape, M)`` holding
  ``p(s_iα = 1)`` per species (the empty probability is ``1 − Σ_α``), e.g. hidden
  probabilities ``p(h|v)`` of the wake phase of paper A or mean-field states.

Both are turned into an *occupation* ``s[c, i, α]`` (float64, ``(chains, N, M)``: one-hot for
codes), in which every moment and activation of paper B eqs. 4–7 is linear.
"""

from __future__ import annotations

import numpy as np

from dbdlab.backend import Array, array_module

from .layers import Layer

__all__ = ["is_codes", "occupation", "flat_state"]


def is_codes(state: Array) -> bool:
    """Whether a layer state holds integer species codes (else probabilities)."""
    return np.dtype(state.dtype).kind in "iu"


def flat_state(state: Array, layer: Layer, name: str = "layer state") -> Array:
    """Reshape a layer state to ``(chains, N)`` (codes) or ``(chains, N, M)`` (probabilities).

    Raises
    ------
    ValueError
        If the shape fits neither form, or a code/probability is out of range.
    TypeError
        If the dtype is neither integer nor floating.
    """
    kind = np.dtype(state.dtype).kind
    if kind in "iu":
        if state.ndim == 2 and state.shape[1] == layer.n_units:
            flat = state
        elif state.ndim == 1 + layer.ndim and tuple(state.shape[1:]) == layer.shape:
            flat = state.reshape(state.shape[0], layer.n_units)
        else:
            raise ValueError(f"{name}: codes must have shape (chains, {layer.n_units}) or "
                             f"(chains, *{layer.shape}), got {tuple(state.shape)}")
        if flat.size and (int(flat.min()) < 0 or int(flat.max()) > layer.n_species):
            raise ValueError(f"{name}: codes must lie in 0..{layer.n_species} (0 = empty, "
                             f"then {', '.join(layer.species)}), got {int(flat.min())}.."
                             f"{int(flat.max())}")
        return flat
    if kind == "f":
        m, n = layer.n_species, layer.n_units
        if state.ndim == 3 and tuple(state.shape[1:]) == (n, m):
            flat = state
        elif state.ndim == 2 + layer.ndim and tuple(state.shape[1:]) == (*layer.shape, m):
            flat = state.reshape(state.shape[0], n, m)
        else:
            raise ValueError(f"{name}: probabilities must have shape (chains, {n}, {m}) or "
                             f"(chains, *{layer.shape}, {m}), got {tuple(state.shape)}")
        xp = array_module(flat)
        total = flat.sum(axis=-1)
        in_range = xp.all((flat >= 0) & (flat <= 1)) & xp.all(total <= 1 + 1e-9)
        if flat.size and not bool(in_range):
            raise ValueError(f"{name}: probabilities must lie in [0, 1] and sum to at most 1 "
                             f"over the species of a unit")
        return flat
    raise TypeError(f"{name}: expected integer codes or float probabilities, got dtype "
                    f"{state.dtype}")


def occupation(state: Array, n_species: int) -> Array:
    """Occupation ``s[c, i, α]`` (float64) of a flat layer state (codes or probabilities)."""
    xp = array_module(state)
    if is_codes(state):
        species = xp.arange(1, n_species + 1, dtype=state.dtype)
        return (state[..., None] == species).astype(xp.float64)
    return state.astype(xp.float64, copy=False)
