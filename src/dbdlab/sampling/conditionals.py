"""Conditional distribution of one layer given its neighbours, and binary sampling from it.

For unit ``i`` of layer ``l`` (paper B eq. 6; reproduction notes: repro-units)::

    φ_iα = a_α^{(l)} + Σ_{m=l±1} Σ_β W_αβ^{(l,m)} Σ_{j∼i} s_jβ^{(m)},      φ_i,empty = 0,
    p_iα = exp(φ_iα) / (1 + Σ_ζ exp(φ_iζ)),

with ``s`` binary or probabilities (mean field).  Units of a layer are conditionally independent
given the adjacent layers, so a whole layer is updated as one block.

These two functions are the replaceable core of every sampler: a dedicated kernel for one
backend replaces :func:`sample_layer_given_neighbours` (activation, probabilities, one uniform per
unit, species choice) and must reproduce it in distribution; the layout it reads and writes is
that of :mod:`dbdlab.sampling.chains` and the index tables of
:mod:`dbdlab.models.connectivity`.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dbdlab.backend import Array, array_module
from dbdlab.rng import uniform_array

from ..models.states import flat_state, occupation

if TYPE_CHECKING:
    from ..models.boltzmann import BoltzmannMachine

__all__ = [
    "layer_activations",
    "layer_conditionals",
    "probabilities_from_activations",
    "sample_layer",
    "sample_layer_given_neighbours",
]


def _activations(model: BoltzmannMachine, biases: list[Array], weights: list[Array],
                 layers: Sequence[Array], l: int, xp: ModuleType) -> Array:
    """φ of layer ``l`` from flat, already validated layer states (no checks: hot path)."""
    lay = model.layers[l]
    tables = model.tables(xp)
    phi = biases[l][..., None, :]
    if l > 0:
        up_to_down = tables[l - 1][0]
        below = occupation(layers[l - 1], model.layers[l - 1].n_species)
        counts = below[:, up_to_down, :].sum(axis=2)  # Σ_{j∼i} s_jβ, (chains, N_l, M_{l−1})
        phi = phi + counts @ weights[l - 1]
    if l < model.n_layers - 1:
        down_to_up = tables[l][1]
        above = occupation(layers[l + 1], model.layers[l + 1].n_species)
        # one zero unit appended: the sentinel N_upper of missing (open border) connections
        above = xp.concatenate([above, xp.zeros_like(above[:, :1])], axis=1)
        counts = above[:, down_to_up, :].sum(axis=2)
        phi = phi + counts @ xp.swapaxes(weights[l], -1, -2)
    n_chains = layers[0].shape[0]
    return xp.broadcast_to(phi, (n_chains, lay.n_units, lay.n_species))


def probabilities_from_activations(phi: Array) -> Array:
    """``p_iα = e^{φ_iα} / (1 + Σ_ζ e^{φ_iζ})``, computed without overflow.

    Both numerator and denominator are scaled by ``e^{−max(0, max_ζ φ_iζ)}``, so the largest
    exponential is 1 (the empty state's weight ``e^0`` takes part in the maximum).
    """
    xp = array_module(phi)
    shift = xp.maximum(phi.max(axis=-1, keepdims=True), 0.0)
    e = xp.exp(phi - shift)
    return e / (xp.exp(-shift) + e.sum(axis=-1, keepdims=True))


def sample_layer(p: Array, keys: Array) -> Array:
    """Binary species codes from per-unit probabilities with one uniform per unit.

    Unit ``i`` of chain ``c`` takes draw ``i`` of stream ``keys[c]``, ``u``, and gets the first
    species ``α`` (registration order) with ``u < p_i1 + … + p_iα`` — the reference's walk "subtract
    ``p`` species by species until negative" — or empty if there is none (reproduction notes:
    repro-units).

    Parameters
    ----------
    p
        Probabilities ``(chains, N, M)``.
    keys
        Stream keys ``(chains,)`` of this layer update (``uint64``).

    Returns
    -------
    ``int8`` codes ``(chains, N)``.
    """
    xp = array_module(p, keys)
    n_chains, n_units, n_species = p.shape
    u = uniform_array(xp, keys[:, None], xp.arange(n_units, dtype=xp.uint64))
    passed = (u[..., None] >= xp.cumsum(p, axis=-1)).sum(axis=-1)  # species walked past
    return xp.where(passed == n_species, 0, passed + 1).astype(xp.int8)


def sample_layer_given_neighbours(model: BoltzmannMachine, biases: list[Array],
                                  weights: list[Array], layers: Sequence[Array], l: int,
                                  keys: Array, xp: ModuleType) -> Array:
    """One block Gibbs update of layer ``l``: codes drawn from its conditional distribution.

    ``biases, weights`` come from ``model.unpack_theta``; ``layers`` are flat states in the
    layout of :mod:`dbdlab.sampling.chains`; ``keys`` are the per-chain keys of this update.
    """
    phi = _activations(model, biases, weights, layers, l, xp)
    return sample_layer(probabilities_from_activations(phi), keys)


def _checked(model: BoltzmannMachine, theta: Any, layers: Sequence[Array], l: int):
    if not 0 <= int(l) < model.n_layers:
        raise ValueError(f"layer must be in 0..{model.n_layers - 1}, got {l!r}")
    if len(layers) != model.n_layers:
        raise ValueError(f"expected one state per layer ({model.n_layers}), got {len(layers)}")
    flat = [flat_state(s, lay, f"layer {k}")
            for k, (s, lay) in enumerate(zip(layers, model.layers, strict=True))]
    if len({s.shape[0] for s in flat}) != 1:
        raise ValueError(f"all layers must hold the same number of chains, got "
                         f"{[s.shape[0] for s in flat]}")
    xp = array_module(*flat)
    theta = xp.asarray(model.check_theta(theta))
    if theta.ndim == 2 and theta.shape[0] != flat[0].shape[0]:
        raise ValueError(f"theta with one row per chain needs {flat[0].shape[0]} rows, got "
                         f"{theta.shape[0]}")
    if theta.ndim > 2:
        raise ValueError(f"theta must have shape (n_theta,) or (chains, n_theta), got "
                         f"{tuple(theta.shape)}")
    biases, weights = model.unpack_theta(theta)
    return flat, biases, weights, xp


def layer_activations(model: BoltzmannMachine, theta: Any, layers: Sequence[Array],
                      l: int) -> Array:
    """Activations ``φ_iα`` of layer ``l`` given the states of all layers (paper B eq. 6).

    Parameters
    ----------
    model
        The Boltzmann machine.
    theta
        Parameters ``(n_theta,)`` or one row per chain ``(chains, n_theta)``.
    layers
        One state per layer (codes or probabilities, batched over chains; layer ``l`` itself
        is not read).
    l
        The layer.

    Returns
    -------
    ``(chains, N_l, M_l)`` float64.
    """
    flat, biases, weights, xp = _checked(model, theta, layers, l)
    return _activations(model, biases, weights, flat, int(l), xp)


def layer_conditionals(model: BoltzmannMachine, theta: Any, layers: Sequence[Array],
                       l: int) -> Array:
    """``p(s_iα^{(l)} = 1 | neighbouring layers)`` for every unit, ``(chains, N_l, M_l)``.

    With binary neighbours these are the exact conditionals used by Gibbs sampling; with
    probabilities they are a mean-field update (paper B eq. 6).
    """
    return probabilities_from_activations(layer_activations(model, theta, layers, l))
