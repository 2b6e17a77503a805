"""Layered multinomial Boltzmann machines on lattices with local, homogeneous interactions.

Energy (paper B eq. 4; paper A eq. 35 with homogeneous parameters)::

    E(s) = − Σ_l Σ_α a_α^{(l)} Σ_i s_iα^{(l)}
           − Σ_{(l,l+1)} Σ_{αβ} W_αβ^{(l,l+1)} Σ_{(i,j) ∈ edges} s_iα^{(l)} s_jβ^{(l+1)}

with layer 0 visible.  Each pair of adjacent layers is joined by a :class:`LocalConnectivity`
(1D pairs, 2D 2×2 patches, 3D 2×2×2 cubes; periodic or open); only the species pairs given as
weights interact (the others have ``W = 0``).

Parameter names and the order of the vector θ
---------------------------------------------
* biases, layer by layer, species in registration order: visible ``h<species>`` (``hX``),
  hidden ``b<species>`` (``bX1``, where hidden species names carry the layer index);
* then weights, connection by connection (0–1, 1–2, …), in the order the pairs were given:
  ``w<lower species><upper species>`` (``wXX1``, ``wX1X2``).

Example: :func:`~dbdlab.models.architectures.lotka_volterra_dbm` has
``θ = (hX, hY, bX1, bY1, bX2, bY2, wXX1, wYY1, wX1X2, wY1Y2)``.  A θ array has these entries in
its **last** axis; a leading axis (one θ per chain) is allowed wherever chains are batched.

Moments are totals over units / edges, not means (reproduction notes: repro-model-moments), so that
the energy is ``E(s) = −θ · M(s)`` (:mod:`dbdlab.models.moments`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from dbdlab._checks import check_memory
from dbdlab.backend import Array, array_module

from .connectivity import LocalConnectivity, local_connectivity, upper_shape
from .layers import Layer

__all__ = ["BoltzmannMachine", "check_theta", "theta_from_dict", "theta_to_dict"]


def check_theta(theta: Any, names: tuple[str, ...]) -> Array:
    """Return θ as a float64 array with ``len(names)`` entries in its last axis.

    Raises
    ------
    ValueError
        If the last axis has the wrong length (the message names the expected entries) or an
        entry is NaN or infinite (a non-finite θ would silently fill or empty every unit).
    TypeError
        If θ is not numeric.
    """
    xp = array_module(theta)
    kind = np.dtype(getattr(theta, "dtype", np.float64)).kind
    if isinstance(theta, str | bytes) or kind not in "biuf":
        raise TypeError(f"theta must be a real numeric array, got {type(theta).__name__}"
                        f"{f' of dtype {theta.dtype}' if hasattr(theta, 'dtype') else ''}")
    try:
        arr = xp.asarray(theta, dtype=xp.float64)
    except (TypeError, ValueError) as exc:  # e.g. strings or complex numbers in a list
        raise TypeError(f"theta must be a real numeric array: {exc}") from None
    if arr.ndim == 0 or arr.shape[-1] != len(names):
        raise ValueError(f"theta must have {len(names)} entries in its last axis, in the order "
                         f"({', '.join(names)}); got shape {tuple(arr.shape)}")
    if not bool(xp.all(xp.isfinite(arr))):
        raise ValueError(f"theta must be finite; got NaN or infinite entries in "
                         f"({', '.join(names)})")
    return arr


def theta_from_dict(values: Mapping[str, Any], names: tuple[str, ...],
                    default: float | None = None) -> np.ndarray:
    """θ from a mapping ``name → value`` (scalars, or equal-length arrays for one θ per chain).

    Raises
    ------
    ValueError
        For unknown names, or missing names when ``default`` is ``None``.
    """
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"unknown parameter name(s) {unknown}; expected names are "
                         f"{', '.join(names)}")
    missing = [n for n in names if n not in values]
    if missing and default is None:
        raise ValueError(f"missing parameter(s) {missing}; give all of {', '.join(names)} "
                         f"or a default")
    columns = np.broadcast_arrays(*[np.asarray(values.get(n, default), dtype=np.float64)
                                    for n in names])
    return np.stack(columns, axis=-1)


def theta_to_dict(theta: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Mapping ``name → θ[..., k]`` (a float for a single θ, else an array over chains)."""
    arr = check_theta(theta, names)
    if arr.ndim == 1:
        return {n: float(arr[k]) for k, n in enumerate(names)}
    return {n: arr[..., k] for k, n in enumerate(names)}


class NamedParameters:
    """θ helpers shared by every model with a ``theta_names`` tuple."""

    theta_names: tuple[str, ...]

    def check_theta(self, theta: Any) -> Array:
        """θ as float64 with one entry per name in its last axis (else ``ValueError``)."""
        return check_theta(theta, self.theta_names)

    def theta_from_dict(self, values: Mapping[str, Any],
                        default: float | None = None) -> np.ndarray:
        """θ in the documented order from ``{name: value}`` (see :func:`theta_from_dict`)."""
        return theta_from_dict(values, self.theta_names, default)

    def theta_to_dict(self, theta: Any) -> dict[str, Any]:
        """``{name: value}`` of a θ vector (see :func:`theta_to_dict`)."""
        return theta_to_dict(theta, self.theta_names)


class BoltzmannMachine(NamedParameters):
    """A layered multinomial Boltzmann machine (RBM for 2 layers, DBM for more).

    Parameters
    ----------
    layers
        :class:`Layer` objects (or ``(shape, species)`` pairs), visible layer first.
    weights
        Interacting species pairs ``(lower, upper)``: a species of layer ``l`` and one of layer
        ``l+1``.  Every adjacent pair of layers needs at least one.
    periodic
        Connectivity of every adjacent pair of layers, or one flag per pair: periodic (upper
        shape = lower shape, wrap) or open (upper shape = lower shape − 1 per axis).

    Raises
    ------
    ValueError
        Species names repeated across layers, unknown species or non-adjacent layers in a
        weight pair, layer shapes that do not fit the connectivity pattern.
    """

    def __init__(self, layers: Sequence[Layer | tuple[Sequence[int], Sequence[str]]],
                 weights: Sequence[tuple[str, str]], *,
                 periodic: bool | Sequence[bool] = True) -> None:
        self.layers: tuple[Layer, ...] = tuple(
            lay if isinstance(lay, Layer) else Layer(*lay) for lay in layers)
        if not self.layers:
            raise ValueError("a Boltzmann machine needs at least one layer")
        if len({lay.ndim for lay in self.layers}) != 1:
            raise ValueError(f"all layers must have the same number of axes, got shapes "
                             f"{[lay.shape for lay in self.layers]}")
        names = [s for lay in self.layers for s in lay.species]
        repeated = sorted({s for s in names if names.count(s) > 1})
        if repeated:
            raise ValueError(f"species names must be unique across layers (hidden species carry "
                             f"their layer index, e.g. X1), repeated: {repeated}")
        self.species_names: tuple[str, ...] = tuple(names)
        self._species_at = {s: (l, k) for l, lay in enumerate(self.layers)
                            for k, s in enumerate(lay.species)}

        n_conn = len(self.layers) - 1
        flags = [periodic] * n_conn if isinstance(periodic, bool | np.bool_) else list(periodic)
        if len(flags) != n_conn:
            raise ValueError(f"periodic must be one flag or one per adjacent layer pair "
                             f"({n_conn}), got {periodic!r}")
        ndim = self.layers[0].ndim
        check_memory(sum(8.0 * lay.n_units * (4 * 2**ndim + 4 * ndim) for lay in self.layers),
                     f"the connectivity of layer shapes {[lay.shape for lay in self.layers]}",
                     "use smaller layer shapes")
        self.connections: tuple[LocalConnectivity, ...] = tuple(
            self._connect(l, bool(flag)) for l, flag in enumerate(flags))
        self.weight_pairs: tuple[tuple[tuple[int, int], ...], ...] = self._weight_pairs(weights)

        bias_names = [("h" if l == 0 else "b") + s
                      for l, lay in enumerate(self.layers) for s in lay.species]
        weight_names = ["w" + self.layers[c].species[a] + self.layers[c + 1].species[b]
                        for c, pairs in enumerate(self.weight_pairs) for a, b in pairs]
        self.theta_names: tuple[str, ...] = tuple(bias_names + weight_names)
        if len(set(self.theta_names)) != len(self.theta_names):
            raise ValueError(f"species names give ambiguous parameter names "
                             f"{self.theta_names}; rename species")
        starts = np.cumsum([0] + [lay.n_species for lay in self.layers])
        self.bias_slices: tuple[slice, ...] = tuple(
            slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True))
        index = len(bias_names)
        weight_index = []
        for pairs in self.weight_pairs:
            weight_index.append(tuple((a, b, index + k) for k, (a, b) in enumerate(pairs)))
            index += len(pairs)
        #: per connection: ``(lower species index, upper species index, θ index)`` triples
        self.weight_index: tuple[tuple[tuple[int, int, int], ...], ...] = tuple(weight_index)
        self._tables: dict[str, tuple] = {}

    # -- construction helpers ------------------------------------------------------------------

    def _connect(self, l: int, periodic: bool) -> LocalConnectivity:
        lower, upper = self.layers[l], self.layers[l + 1]
        expected = upper_shape(lower.shape, periodic)
        if upper.shape != expected:
            kind = "periodic (same shape)" if periodic else "open (lower shape − 1 per axis)"
            raise ValueError(f"layer {l + 1} has shape {upper.shape}, but {kind} connectivity to "
                             f"layer {l} of shape {lower.shape} needs {expected}")
        return local_connectivity(lower.shape, periodic)

    def _weight_pairs(self, weights: Sequence[tuple[str, str]]):
        pairs: list[list[tuple[int, int]]] = [[] for _ in self.connections]
        for pair in weights:
            if isinstance(pair, str) or len(pair) != 2:
                raise ValueError(f"a weight is a (lower species, upper species) pair, got {pair!r}")
            lo, up = pair
            for s in (lo, up):
                if s not in self._species_at:
                    raise ValueError(f"unknown species {s!r} in weight {pair!r}; species are "
                                     f"{', '.join(self.species_names)}")
            (l_lo, a), (l_up, b) = self._species_at[lo], self._species_at[up]
            if l_up != l_lo + 1:
                raise ValueError(f"weight {pair!r}: {lo!r} is in layer {l_lo} and {up!r} in layer "
                                 f"{l_up}; give (lower, upper) species of adjacent layers")
            if (a, b) in pairs[l_lo]:
                raise ValueError(f"weight {pair!r} given twice")
            pairs[l_lo].append((a, b))
        for c, p in enumerate(pairs):
            if not p:
                raise ValueError(f"layers {c} and {c + 1} have no weight between them")
        return tuple(tuple(p) for p in pairs)

    # -- sizes ---------------------------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_theta(self) -> int:
        return len(self.theta_names)

    @property
    def n_units(self) -> int:
        """Total number of units over all layers."""
        return sum(lay.n_units for lay in self.layers)

    @property
    def n_states(self) -> int:
        """Number of joint states ``Π_l (M_l + 1)^{N_l}`` (for exact enumeration)."""
        return math.prod((lay.n_species + 1) ** lay.n_units for lay in self.layers)

    @property
    def species_slices(self) -> tuple[slice, ...]:
        """Slice of each layer's species in :attr:`species_names` (and in a centers vector)."""
        return self.bias_slices

    def q(self, l: int, m: int) -> int:
        """Nominal connection multiplicity ``q^{(l,m)}`` of adjacent layers (paper B eq. 4)."""
        if abs(l - m) != 1 or not (0 <= min(l, m) and max(l, m) < self.n_layers):
            raise ValueError(f"layers {l} and {m} are not adjacent layers of this model")
        return self.connections[min(l, m)].q

    def species_index(self, name: str) -> tuple[int, int]:
        """``(layer, index within the layer)`` of a species name."""
        try:
            return self._species_at[name]
        except KeyError:
            raise ValueError(f"unknown species {name!r}; species are "
                             f"{', '.join(self.species_names)}") from None

    # -- parameters ----------------------------------------------------------------------------

    def unpack_theta(self, theta: Any) -> tuple[list[Array], list[Array]]:
        """Biases and dense weight matrices of θ (any array module).

        Returns
        -------
        biases
            One array per layer, shape ``(..., M_l)``.
        weights
            One array per connection ``(l, l+1)``, shape ``(..., M_l, M_{l+1})``, zero for species
            pairs without a weight.
        """
        theta = self.check_theta(theta)
        xp = array_module(theta)
        lead = theta.shape[:-1]
        biases = [theta[..., s] for s in self.bias_slices]
        weights = []
        for c, triples in enumerate(self.weight_index):
            w = xp.zeros(lead + (self.layers[c].n_species, self.layers[c + 1].n_species))
            for a, b, k in triples:
                w[..., a, b] = theta[..., k]
            weights.append(w)
        return biases, weights

    def check_centers(self, centers: Any) -> Array:
        """Centers ``μ`` (one per species, order :attr:`species_names`) as a float64 array."""
        xp = array_module(centers)
        mu = xp.asarray(centers, dtype=xp.float64)
        if mu.shape != (len(self.species_names),):
            raise ValueError(f"centers must have one value per species "
                             f"({', '.join(self.species_names)}), got shape {tuple(mu.shape)}")
        return mu

    def centers_from_dict(self, values: Mapping[str, float]) -> np.ndarray:
        """Centers vector from ``{species: μ}`` (all species required)."""
        unknown = sorted(set(values) - set(self.species_names))
        missing = [s for s in self.species_names if s not in values]
        if unknown or missing:
            raise ValueError(f"centers need exactly the species {', '.join(self.species_names)}"
                             f"; unknown {unknown}, missing {missing}")
        return np.array([float(values[s]) for s in self.species_names])

    # -- tables on a device --------------------------------------------------------------------

    def tables(self, xp: ModuleType) -> tuple[tuple[Array, Array], ...]:
        """``(up_to_down, down_to_up)`` of every connection as arrays of module ``xp`` (cached).

        ``down_to_up`` uses the sentinel ``N_upper`` for missing connections (see
        :mod:`dbdlab.models.connectivity`).
        """
        key = xp.__name__
        if key not in self._tables:
            self._tables[key] = tuple((xp.asarray(c.up_to_down), xp.asarray(c.down_to_up))
                                      for c in self.connections)
        return self._tables[key]

    # -- moments and energy (delegated) --------------------------------------------------------

    def moments(self, layers: Sequence[Array], centers: Any = None) -> Array:
        """Moments ``M(s)`` per chain (see :func:`dbdlab.models.moments.moments`)."""
        from .moments import moments

        return moments(self, layers, centers)

    def energy(self, layers: Sequence[Array], theta: Any) -> Array:
        """Energy ``E(s) = −θ·M(s)`` per chain (paper B eq. 4)."""
        from .moments import energy

        return energy(self, layers, theta)

    def exact(self, theta: Any, max_states: int = 2_000_000):
        """Exact distribution by enumeration of all joint states (tiny models only)."""
        from .enumeration import exact_distribution

        return exact_distribution(self, theta, max_states=max_states)

    # -- description ---------------------------------------------------------------------------

    def config(self) -> dict:
        """JSON-able description; ``BoltzmannMachine.from_config(m.config())`` rebuilds ``m``."""
        return {
            "layers": [{"shape": list(lay.shape), "species": list(lay.species)}
                       for lay in self.layers],
            "weights": [[self.layers[c].species[a], self.layers[c + 1].species[b]]
                        for c, pairs in enumerate(self.weight_pairs) for a, b in pairs],
            "periodic": [c.periodic for c in self.connections],
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BoltzmannMachine:
        """Inverse of :meth:`config`."""
        layers = [Layer(tuple(d["shape"]), tuple(d["species"])) for d in config["layers"]]
        return cls(layers, [tuple(w) for w in config["weights"]],
                   periodic=list(config["periodic"]))

    def __repr__(self) -> str:
        layers = ", ".join(f"{lay.shape}{{{','.join(lay.species)}}}" for lay in self.layers)
        kinds = ", ".join("periodic" if c.periodic else "open" for c in self.connections)
        return f"BoltzmannMachine(layers=[{layers}], connectivity=[{kinds}], " \
               f"theta=({', '.join(self.theta_names)}))"
