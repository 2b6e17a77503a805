"""Block Gibbs sampling, mean-field steps and contrastive divergence for lattice Boltzmann machines.

A *sweep* updates groups of layers in turn; within a group the layers are pairwise non-adjacent,
hence conditionally independent, and each is drawn as one block from its conditionals
(:mod:`dbdlab.sampling.conditionals`).  The default order is the papers': odd layers, then even
layers (paper B §III.B; reproduction notes: repro-lv-config) — for an RBM "hidden given visible,
then visible given hidden".  Clamped layers (the data in the wake phase) are skipped.

Recipes (reproduction notes: repro-lv-config, repro-units, repro-rossler-config,
repro-annihilation-config, repro-annihilation-test):

* sleep phase, fresh chains: ``gibbs_sweeps(model, θ, random_chains(model, n, seed), k)``;
* persistent chains (PCD): keep the :class:`~dbdlab.sampling.Chains` and call
  :func:`gibbs_sweeps` on it again (with the new θ); the sweep counter continues the streams;
* wake phase: ``data_chains(model, v, seed, clamp=True)``, then :func:`gibbs_sweeps` (binary
  hidden layers, paper B) or :func:`hidden_probabilities` (``p(h|v)`` of an RBM, paper A);
* CD-k from the data or from a random start: :func:`cd_k`;
* probability outputs: :func:`mean_field_steps` (e.g. one ``parallel`` step over all layers for
  paper B's evaluation samples, reproduction notes: repro-lv-sampling).

Randomness: the update of layer ``l`` in sweep ``s`` of chain ``c`` uses draw ``i`` (unit index)
of ``derive(derive(stream_key(seed, GIBBS, chain_id), s), l)``, so samples are bit-identical for
a seed whatever the batching or thread count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbdlab._checks import integer
from dbdlab.backend import Array, array_module

from ..models.boltzmann import BoltzmannMachine
from ..models.fully_visible import FullyVisible1DModel
from ..models.states import flat_state
from ._numba_layers import mean_field_numba, run_sweeps
from .chains import Chains, data_chains, random_chains, sweep_keys
from .conditionals import (
    _activations,
    probabilities_from_activations,
    sample_layer_given_neighbours,
)
from .fully_visible import fully_visible_sweeps

__all__ = [
    "cd_k",
    "default_order",
    "gibbs_sweeps",
    "hidden_probabilities",
    "mean_field_steps",
]

Order = tuple[tuple[int, ...], ...]


def default_order(model: BoltzmannMachine, clamped: Sequence[bool] | None = None) -> Order:
    """Odd layers, then even layers, leaving out clamped layers and empty groups."""
    clamped = clamped or (False,) * model.n_layers
    groups = (tuple(l for l in range(1, model.n_layers, 2) if not clamped[l]),
              tuple(l for l in range(0, model.n_layers, 2) if not clamped[l]))
    return tuple(g for g in groups if g)


def _check_order(model: BoltzmannMachine, order: Any, clamped: Sequence[bool]) -> Order:
    try:
        groups = tuple(tuple(int(l) for l in g) for g in order)
    except TypeError:
        raise TypeError(f"order must be a sequence of groups of layer indices, e.g. "
                        f"((1,), (0, 2)); got {order!r}") from None
    seen: list[int] = []
    for g in groups:
        for l in g:
            if not 0 <= l < model.n_layers:
                raise ValueError(f"order names layer {l}; layers are 0..{model.n_layers - 1}")
            if clamped[l]:
                raise ValueError(f"order names layer {l}, which is clamped")
            if l in seen:
                raise ValueError(f"order updates layer {l} twice in one sweep")
            seen.append(l)
        for l in g:
            if l + 1 in g:
                raise ValueError(f"layers {l} and {l + 1} are adjacent and cannot be updated in "
                                 f"the same group of {order!r}")
    return groups


def _prepare(model: BoltzmannMachine, theta: Any, chains: Chains):
    if chains.n_layers != model.n_layers:
        raise ValueError(f"chains hold {chains.n_layers} layers, the model has {model.n_layers}")
    for l, (s, lay) in enumerate(zip(chains.layers, model.layers, strict=True)):
        shape = (chains.n_chains, lay.n_units) + (() if chains.is_binary(l) else
                                                  (lay.n_species,))
        if tuple(s.shape) != shape:
            raise ValueError(f"chains: layer {l} has shape {tuple(s.shape)}, expected {shape}")
    xp = chains.xp
    theta = xp.asarray(model.check_theta(theta))
    if theta.ndim > 2 or (theta.ndim == 2 and theta.shape[0] != chains.n_chains):
        raise ValueError(f"theta must have shape ({model.n_theta},) or ({chains.n_chains}, "
                         f"{model.n_theta}) (one row per chain), got {tuple(theta.shape)}")
    biases, weights = model.unpack_theta(theta)
    return biases, weights, xp


def _sweeps_kernel(backend: str):
    """The dedicated sweep kernel of a backend (Numba on the CPU, CUDA through CuPy), if any."""
    if backend == "numba":
        return run_sweeps
    if backend == "cupy":
        from ._cupy_layers import run_sweeps as run_sweeps_cuda

        return run_sweeps_cuda
    return None


def gibbs_sweeps(model: BoltzmannMachine | FullyVisible1DModel, theta: Any, chains: Chains,
                 n_sweeps: int = 1, *, order: Any = None) -> Chains:
    """Run ``n_sweeps`` block Gibbs sweeps on ``chains`` in place (binary samples).

    Parameters
    ----------
    model
        The model; for :class:`~dbdlab.models.FullyVisible1DModel` a sweep is the three-class
        sweep of :func:`~dbdlab.sampling.fully_visible.fully_visible_sweeps`.
    theta
        Parameters ``(n_theta,)`` or one row per chain ``(n_chains, n_theta)``.
    chains
        The chains (updated in place and returned); every updated layer becomes binary.
    n_sweeps
        Number of sweeps.
    order
        Groups of layers updated in turn within a sweep, e.g. ``((1,), (0, 2))``; default
        :func:`default_order`.

    Returns
    -------
    The same :class:`Chains` object.
    """
    n_sweeps = integer(n_sweeps, "n_sweeps", 0)
    if isinstance(model, FullyVisible1DModel):
        if order is not None:
            raise ValueError("the fully visible model has a fixed three-class sweep; no order")
        return fully_visible_sweeps(model, theta, chains, int(n_sweeps))
    biases, weights, xp = _prepare(model, theta, chains)
    groups = default_order(model, chains.clamped) if order is None else \
        _check_order(model, order, chains.clamped)
    kernel = _sweeps_kernel(chains.backend)
    for done in range(int(n_sweeps)):
        # Numba and CuPy backends: a dedicated kernel (bit-identical to this loop on NumPy) runs
        # the remaining sweeps once every layer it reads is binary; an array-module sweep first
        # makes them binary
        if kernel is not None and kernel(model, biases, weights, chains, groups,
                                         int(n_sweeps) - done):
            break
        for group in groups:
            for l in group:
                keys = sweep_keys(xp, chains.keys, chains.sweep, l)
                chains.layers[l] = sample_layer_given_neighbours(
                    model, biases, weights, chains.layers, l, keys, xp)
        chains.sweep += 1
    return chains


def mean_field_steps(model: BoltzmannMachine, theta: Any, chains: Chains, n_steps: int = 1, *,
                     order: Any = None, parallel: bool = False) -> Chains:
    """Replace layers by their conditional probabilities given the neighbours (in place).

    Parameters
    ----------
    model, theta, chains
        As in :func:`gibbs_sweeps`.
    n_steps
        Number of passes.
    order
        Groups of layers updated in turn (default :func:`default_order`); ignored when
        ``parallel``.
    parallel
        Compute every unclamped layer from the previous state at once (the "parallel mean-field"
        step of paper B's evaluation sampling, reproduction notes: repro-lv-sampling).

    Returns
    -------
    The same :class:`Chains`; the updated layers hold ``float64`` probabilities
    ``(n_chains, N_l, M_l)``.  No random numbers are drawn.
    """
    n_steps = integer(n_steps, "n_steps", 0)
    if isinstance(model, FullyVisible1DModel):
        raise TypeError("mean-field steps are defined for layered Boltzmann machines")
    biases, weights, xp = _prepare(model, theta, chains)
    if parallel:
        groups = (tuple(l for l in range(model.n_layers) if not chains.clamped[l]),)
    else:
        groups = default_order(model, chains.clamped) if order is None else \
            _check_order(model, order, chains.clamped)
    for _ in range(int(n_steps)):
        for group in groups:
            # Numba backend, binary neighbours: the pattern-table kernel (bit-identical)
            new = mean_field_numba(model, biases, weights, chains.layers, group) \
                if chains.backend == "numba" else None
            if new is None:
                new = {l: probabilities_from_activations(
                    _activations(model, biases, weights, chains.layers, l, xp)) for l in group}
            for l, p in new.items():
                chains.layers[l] = xp.ascontiguousarray(p)
    return chains


def hidden_probabilities(model: BoltzmannMachine, theta: Any, visible: Array) -> Array:
    """``p(h_jβ = 1 | v)`` of an RBM, ``(chains, N_1, M_1)`` (wake phase of paper A).

    Only for two-layer models, where the hidden units are independent given the visible layer.
    """
    if model.n_layers != 2:
        raise ValueError("p(h|v) factorises only for a two-layer model (RBM); for deeper models "
                         "clamp the data (data_chains(..., clamp=True)) and use gibbs_sweeps or "
                         "mean_field_steps")
    v = flat_state(visible, model.layers[0], "visible")
    xp = array_module(v)
    biases, weights = model.unpack_theta(xp.asarray(model.check_theta(theta)))
    return probabilities_from_activations(_activations(model, biases, weights, [v, v], 1, xp))


def cd_k(model: BoltzmannMachine | FullyVisible1DModel, theta: Any, k: int, seed: int, *,
         visible: Any = None, n_chains: int | None = None, final: str = "probabilities",
         chain_ids: Any = None, backend: str | None = None) -> Chains:
    """Contrastive divergence chains: ``k`` sweeps from the data or from a random start.

    Parameters
    ----------
    model, theta
        The model and its parameters.
    k
        Number of sweeps (odd layers, then even layers: for an RBM ``k`` visible
        reconstructions).
    seed
        Seed of the chains' streams.
    visible
        Data lattices to start from (CD proper, paper A annihilation runs); ``None`` starts
        every layer at random (the "random CD" of the authors' library from April 2019,
        reproduction notes: repro-rossler-config), which needs ``n_chains``.
    final
        ``"probabilities"``: finally replace the hidden layers by their conditional
        probabilities (odd hidden layers, then even; for an RBM ``p(h|v_k)``, as in paper A);
        ``"binary"``: keep binary samples.
    chain_ids, backend
        As in :func:`~dbdlab.sampling.random_chains`.

    Returns
    -------
    The chains after the sweeps (start again from these for PCD).
    """
    if final not in ("probabilities", "binary"):
        raise ValueError(f"final must be 'probabilities' or 'binary', got {final!r}")
    if visible is None:
        if n_chains is None:
            raise ValueError("cd_k from a random start needs n_chains")
        chains = random_chains(model, n_chains, seed, chain_ids=chain_ids, backend=backend)
    else:
        if n_chains is not None:
            raise ValueError("give either visible data or n_chains, not both")
        chains = data_chains(model, visible, seed, hidden="empty", chain_ids=chain_ids,
                             backend=backend)
    gibbs_sweeps(model, theta, chains, k)
    if final == "probabilities" and model.n_layers > 1:
        hidden_only = (True,) + (False,) * (model.n_layers - 1)
        mean_field_steps(model, theta, chains, 1, order=default_order(model, hidden_only))
    return chains
