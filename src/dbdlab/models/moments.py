"""Moments ("M" of reproduction notes: repro-model-moments) and energy of layered Boltzmann
machines.

For one chain, in θ order (:mod:`dbdlab.models.boltzmann`):

* bias moment of species α of layer l: ``Σ_i s_iα^{(l)}``;
* weight moment of the pair (α of layer l, β of layer l+1): ``Σ_{(i,j)∈edges} s_iα s_jβ``
  (uncentered), or ``Σ_{(i,j)} (s_iα − μ_α)(s_jβ − μ_β)`` (centered, paper B eq. 9).

Bias moments are never centered: the dynamic code keeps them uncentered and moves the
correction into the adjoint (reproduction notes: repro-model-moments and reproduction notes:
repro-centered-adjoint).  All are totals over units/edges. States are binary codes or probabilities
(see :mod:`dbdlab.models.states`), batched over chains; the result has shape ``(chains, n_theta)``
and lives on the input's array module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dbdlab.backend import Array, array_module

from .states import flat_state, occupation

if TYPE_CHECKING:
    from .boltzmann import BoltzmannMachine

__all__ = ["energy", "layer_occupations", "mean_activations", "moments", "slide_centers"]


def layer_occupations(model: BoltzmannMachine, layers: Sequence[Array]) -> list[Array]:
    """Validated occupations ``s[c, i, α]`` (float64) of every layer.

    Raises
    ------
    ValueError
        If the number of layers, a layer's shape or the number of chains does not match.
    """
    if len(layers) != model.n_layers:
        raise ValueError(f"expected one state per layer ({model.n_layers}), got {len(layers)}")
    flat = [flat_state(s, lay, f"layer {l}")
            for l, (s, lay) in enumerate(zip(layers, model.layers, strict=True))]
    chains = {s.shape[0] for s in flat}
    if len(chains) != 1:
        raise ValueError(f"all layers must hold the same number of chains, got "
                         f"{[s.shape[0] for s in flat]}")
    return [occupation(s, lay.n_species) for s, lay in zip(flat, model.layers, strict=True)]


def moments(model: BoltzmannMachine, layers: Sequence[Array], centers: Any = None) -> Array:
    """Moments per chain, shape ``(chains, n_theta)``, in θ order.

    Parameters
    ----------
    model
        The Boltzmann machine.
    layers
        One state per layer (codes or probabilities, batched over chains).
    centers
        ``None`` for uncentered weight moments; else centers ``μ`` (one per species, order
        ``model.species_names``) for centered weight moments (paper B eq. 9).  Bias moments are
        uncentered either way.
    """
    occ = layer_occupations(model, layers)
    xp = array_module(occ[0])
    n_chains = occ[0].shape[0]
    out = xp.empty((n_chains, model.n_theta), dtype=xp.float64)
    for s, sl in zip(occ, model.bias_slices, strict=True):
        out[:, sl] = s.sum(axis=1)
    if centers is not None:
        mu = xp.asarray(model.check_centers(centers))
        occ = [s - mu[sl] for s, sl in zip(occ, model.species_slices, strict=True)]
    for c, (up_to_down, _) in enumerate(model.tables(xp)):
        # per upper unit, the summed (centered) state of its lower patch: Σ_edges = Σ_j s_j Σ_k
        patch = occ[c][:, up_to_down, :].sum(axis=2)  # (chains, N_upper, M_lower)
        upper = occ[c + 1]
        for a, b, k in model.weight_index[c]:
            out[:, k] = (patch[:, :, a] * upper[:, :, b]).sum(axis=1)
    return out


def energy(model: BoltzmannMachine, layers: Sequence[Array], theta: Any) -> Array:
    """Energy per chain, ``E(s) = −θ·M(s)`` (paper B eq. 4).

    θ has shape ``(n_theta,)`` or ``(chains, n_theta)``.
    """
    m = moments(model, layers)
    xp = array_module(m)
    theta = xp.asarray(model.check_theta(theta))
    return -(m * theta).sum(axis=-1)


def mean_activations(model: BoltzmannMachine, layers: Sequence[Array]) -> Array:
    """Per chain, the mean unit state ``(1/N^{(l)}) Σ_i s_iα^{(l)}`` of every species.

    Shape ``(chains, n_species)``, species in ``model.species_names`` order (the quantity slid
    into the centers by paper B eq. 10).
    """
    occ = layer_occupations(model, layers)
    xp = array_module(occ[0])
    return xp.concatenate([s.mean(axis=1) for s in occ], axis=1)


def slide_centers(centers: Any, activations: Any, r: float) -> Array:
    """Sliding average of the centers, paper B eq. 10: ``μ ← (1 − r) μ + r ⟨s⟩``.

    Parameters
    ----------
    centers
        Current centers, shape ``(n_species,)``.
    activations
        Mean unit states, shape ``(..., n_species)`` (e.g. :func:`mean_activations` of the awake
        chains); leading axes are averaged.
    r
        Sliding factor in ``[0, 1]`` (paper B uses 0.5).
    """
    if not 0.0 <= float(r) <= 1.0:
        raise ValueError(f"sliding factor r must lie in [0, 1], got {r!r}")
    xp = array_module(centers, activations)
    mu = xp.asarray(centers, dtype=xp.float64)
    act = xp.asarray(activations, dtype=xp.float64)
    if act.shape[-1:] != mu.shape or mu.ndim != 1:
        raise ValueError(f"activations must end with the centers' length {mu.shape}, got "
                         f"{tuple(act.shape)}")
    return (1.0 - r) * mu + r * act.reshape(-1, mu.shape[0]).mean(axis=0)
