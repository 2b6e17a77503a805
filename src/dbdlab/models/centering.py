"""Centered parameterisation of a Boltzmann machine (paper B §III.C, eqs. 7–8).

A centered DBM with parameters ``ã, W̃`` and centers ``μ`` (one per species and layer) has the
energy (paper B eq. 7)::

    E(s) = − Σ_l Σ_α ã_α Σ_i (s_iα − μ_α)
           − Σ_{(l,l+1)} Σ_{αβ} W̃_αβ Σ_{(i,j)} (s_iα − μ_α)(s_jβ − μ_β).

Expanding the product shows that it is the uncentered model with ``W = W̃`` and, for unit ``i``
of layer ``l``, the bias ``ã_α − Σ_{m=l±1} Σ_β W_αβ^{(l,m)} μ_β^{(m)} deg_i^{(l,m)}`` (up to a
constant), where ``deg_i^{(l,m)}`` is the number of connections of unit ``i`` to layer ``m``.

* **Periodic connectivity**: every degree equals the nominal ``q``, the bias is homogeneous, and
  paper B eq. 8, ``ã = a + Σ_m q^{(l,m)} Σ_β W μ_β^{(m)}``, is an exact change of variables —
  :func:`centered_from_uncentered` and :func:`uncentered_from_centered` are inverse and describe
  the same distribution.
* **Open connectivity**: border units have fewer connections, so an exactly equivalent
  uncentered model would need per-unit biases at the borders, which the homogeneous model does
  not have.  The two functions still apply eq. 8 with the nominal ``q`` (as the authors' code
  does); the exact per-unit biases are given by :func:`unit_biases_from_centered`, and the border
  difference by ``unit_biases_from_centered(...) − a`` (non-zero only on border units).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dbdlab.backend import Array, array_module

from .moments import layer_occupations, moments

if TYPE_CHECKING:
    from .boltzmann import BoltzmannMachine

__all__ = [
    "bias_shift",
    "centered_energy",
    "centered_from_uncentered",
    "uncentered_from_centered",
    "unit_biases_from_centered",
]


def bias_shift(model: BoltzmannMachine, theta: Any, centers: Any) -> Array:
    """``Σ_{m=l±1} q^{(l,m)} Σ_β W_αβ^{(l,m)} μ_β^{(m)}`` of every bias, ``(..., n_species)``.

    The term that paper B eq. 8 adds to the uncentered biases (weights are the same in both
    parameterisations, so θ may be either).
    """
    theta = model.check_theta(theta)
    xp = array_module(theta)
    mu = xp.asarray(model.check_centers(centers))
    _, weights = model.unpack_theta(theta)
    shift = xp.zeros(theta.shape[:-1] + (len(model.species_names),))
    sl = model.species_slices
    for c, w in enumerate(weights):
        q = model.connections[c].q
        shift[..., sl[c]] += q * (w @ mu[sl[c + 1]])
        shift[..., sl[c + 1]] += q * (mu[sl[c]] @ w)
    return shift


def centered_from_uncentered(model: BoltzmannMachine, theta: Any, centers: Any) -> Array:
    """Centered parameters ``(ã, W̃)`` of uncentered θ (paper B eq. 8), same names and order.

    Exact for periodic connectivity; with open connectivity see the module docstring.
    """
    theta = model.check_theta(theta)
    out = theta.copy()
    out[..., : len(model.species_names)] += bias_shift(model, theta, centers)
    return out


def uncentered_from_centered(model: BoltzmannMachine, theta_centered: Any,
                             centers: Any) -> Array:
    """Inverse of :func:`centered_from_uncentered`: ``a = ã − Σ q W μ`` (paper B eq. 8)."""
    theta_centered = model.check_theta(theta_centered)
    out = theta_centered.copy()
    out[..., : len(model.species_names)] -= bias_shift(model, theta_centered, centers)
    return out


def unit_biases_from_centered(model: BoltzmannMachine, theta_centered: Any,
                              centers: Any) -> list[Array]:
    """Exact per-unit uncentered biases of a centered model, any connectivity.

    Returns one array per layer of shape ``(N_l, M_l)`` with
    ``a_iα = ã_α − Σ_{m=l±1} Σ_β W_αβ^{(l,m)} μ_β^{(m)} deg_i^{(l,m)}`` (module docstring), so
    that ``E_centered(s) = −Σ_{l,i,α} a_iα s_iα − Σ W M_W(s) + const``.  With periodic
    connectivity every row equals the homogeneous biases of :func:`uncentered_from_centered`.
    θ must be a single vector.
    """
    theta_centered = model.check_theta(theta_centered)
    if theta_centered.ndim != 1:
        raise ValueError("unit_biases_from_centered takes a single theta vector")
    xp = array_module(theta_centered)
    mu = xp.asarray(model.check_centers(centers))
    biases, weights = model.unpack_theta(theta_centered)
    sl = model.species_slices
    out = [xp.broadcast_to(b, (lay.n_units, lay.n_species)).copy()
           for b, lay in zip(biases, model.layers, strict=True)]
    for c, (w, conn) in enumerate(zip(weights, model.connections, strict=True)):
        lower_deg = xp.asarray(conn.lower_degree, dtype=xp.float64)[:, None]
        upper_deg = xp.asarray(conn.upper_degree, dtype=xp.float64)[:, None]
        out[c] -= lower_deg * (w @ mu[sl[c + 1]])[None, :]
        out[c + 1] -= upper_deg * (mu[sl[c]] @ w)[None, :]
    return out


def centered_energy(model: BoltzmannMachine, layers: Sequence[Array], theta_centered: Any,
                    centers: Any) -> Array:
    """Energy of the centered model, paper B eq. 7, per chain.

    Computed directly from the centered moments, independently of the conversion functions, so
    that tests can check eq. 8 against it.
    """
    occ = layer_occupations(model, layers)
    xp = array_module(occ[0])
    theta_centered = xp.asarray(model.check_theta(theta_centered))
    mu = xp.asarray(model.check_centers(centers))
    m = moments(model, layers, centers)
    n_bias = len(model.species_names)
    # eq. 7 centers the bias terms too: Σ_i (s_iα − μ_α) = M_a − N μ_α
    n_units = xp.concatenate([xp.full(lay.n_species, float(lay.n_units)) for lay in model.layers])
    m[:, :n_bias] -= n_units * mu
    return -(m * theta_centered).sum(axis=-1)
