"""Species, reactions and reaction networks for the lattice simulator.

A reaction is written as in chemistry, ``"X + Y -> 2 Y"`` or ``"0 -> X"`` (``0`` or ``∅`` for
nothing), and is either *unimolecular* (one reactant or none, with a rate, simulated by continuous
time Gillespie) or an *encounter* reaction (two reactants, with a probability per encounter during
a hop).  The semantics are those of the authors' simulator (reproduction notes: repro-step):

``A -> 0``          decay: a random A is removed;
``A -> B``          conversion in place;
``A -> B + C``      fission: B replaces A, C goes to a random free neighbour (up to 20 reactants
                    are tried; if none has a free neighbour nothing happens);
``0 -> A``          creation on a random empty site anywhere; with ``autocatalytic=True`` (the
                    reference) the propensity is ``k·max(n_A, 1)``, otherwise ``k``;
``A + B -> …``      encounter: when a hopping molecule meets its partner, each reaction of the pair
                    is tried in definition order with its probability; zero, one or two products
                    (first on the partner's site, second on the mover's site).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Reaction", "ReactionNetwork", "reaction", "NetworkTables"]

_NOTHING = {"0", "∅", ""}
_TERM = re.compile(r"^\s*(\d*)\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_SPECIES_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

UNI_DECAY, UNI_CONVERSION, UNI_FISSION, UNI_CREATION = 0, 1, 2, 3
_UNI_KINDS = {"decay": UNI_DECAY, "conversion": UNI_CONVERSION, "fission": UNI_FISSION,
              "creation": UNI_CREATION}


def _parse_side(text: str, spec: str) -> tuple[str, ...]:
    text = text.strip()
    if text in _NOTHING:
        return ()
    names: list[str] = []
    for term in text.split("+"):
        match = _TERM.match(term)
        if match is None:
            raise ValueError(f"cannot parse term {term.strip()!r} in reaction {spec!r}")
        multiplicity = int(match.group(1) or 1)
        if multiplicity < 1:
            raise ValueError(f"term {term.strip()!r} in reaction {spec!r}: a multiplicity must "
                             "be >= 1 (write 0 alone for nothing)")
        names.extend([match.group(2)] * multiplicity)
    return tuple(names)


@dataclass(frozen=True)
class Reaction:
    """One reaction of a lattice network.

    Attributes
    ----------
    reactants, products
        Species names (0, 1 or 2 of each).
    rate
        Rate constant of a unimolecular or creation reaction (per unit time), else ``None``.
    probability
        Reaction probability per encounter of a bimolecular reaction, else ``None``.
    autocatalytic
        For creation only: propensity ``k·max(n_A, 1)`` (reference semantics) instead of ``k``.
    """

    reactants: tuple[str, ...]
    products: tuple[str, ...]
    rate: float | None = None
    probability: float | None = None
    autocatalytic: bool = True

    @property
    def kind(self) -> str:
        """``decay``, ``conversion``, ``fission``, ``creation`` or ``encounter``."""
        nr, np_ = len(self.reactants), len(self.products)
        if nr == 2:
            return "encounter"
        if nr == 0:
            return "creation"
        return {0: "decay", 1: "conversion", 2: "fission"}[np_]

    def __str__(self) -> str:
        lhs = " + ".join(self.reactants) or "0"
        rhs = " + ".join(self.products) or "0"
        value = f"k={self.rate:g}" if self.rate is not None else f"p={self.probability:g}"
        return f"{lhs} -> {rhs} ({value})"

    def as_dict(self) -> dict:
        """JSON-friendly description (stored in dataset attributes)."""
        return {"reaction": str(self).split(" (")[0], "kind": self.kind, "rate": self.rate,
                "probability": self.probability, "autocatalytic": self.autocatalytic}


def reaction(spec: str, *, rate: float | None = None, probability: float | None = None,
             autocatalytic: bool = True) -> Reaction:
    """Build a :class:`Reaction` from text such as ``"A + A -> 0"`` or ``"C -> 2 C"``.

    Exactly one of ``rate`` (unimolecular, creation) and ``probability`` (encounter) is given.
    """
    for what, value in (("rate", rate), ("probability", probability)):
        if value is not None and (isinstance(value, bool | np.bool_) or
                                  not isinstance(value, int | float | np.integer | np.floating)):
            raise TypeError(f"reaction {spec!r}: {what} must be a real number, got "
                            f"{type(value).__name__} {value!r}")
    if not isinstance(spec, str) or "->" not in spec:
        raise ValueError(f"reaction spec must look like 'A + B -> C', got {spec!r}")
    lhs, rhs = spec.split("->", 1)
    reactants, products = _parse_side(lhs, spec), _parse_side(rhs, spec)
    if len(reactants) > 2 or len(products) > 2:
        raise ValueError(f"reaction {spec!r}: at most two reactants and two products are supported")
    if len(reactants) == 0 and len(products) != 1:
        raise ValueError(f"reaction {spec!r}: creation must have exactly one product")
    if len(reactants) == 2:
        if probability is None or rate is not None:
            raise ValueError(f"reaction {spec!r}: an encounter reaction needs 'probability' "
                             "(and no 'rate')")
        if not (math.isfinite(probability) and 0.0 <= probability <= 1.0):
            raise ValueError(f"reaction {spec!r}: probability must be in [0, 1], got {probability}")
    else:
        if rate is None or probability is not None:
            raise ValueError(f"reaction {spec!r}: a unimolecular/creation reaction needs 'rate' "
                             "(and no 'probability')")
        if not (math.isfinite(rate) and rate >= 0.0):
            raise ValueError(f"reaction {spec!r}: rate must be finite and >= 0, got {rate}")
    return Reaction(reactants, products, None if rate is None else float(rate),
                    None if probability is None else float(probability), bool(autocatalytic))


@dataclass(frozen=True)
class NetworkTables:
    """Flat integer/float tables of a network, as the simulation kernels read them.

    Species codes are 1…S (0 = empty).  Encounter reactions of the unordered pair {a, b} are
    ``pair_rxn[pair_start[a*(S+1)+b] : … + pair_len[…]]`` in definition order.
    """

    uni_kind: np.ndarray
    uni_reactant: np.ndarray
    uni_product1: np.ndarray
    uni_product2: np.ndarray
    uni_rate: np.ndarray
    uni_autocatalytic: np.ndarray
    pair_start: np.ndarray
    pair_len: np.ndarray
    pair_rxn: np.ndarray
    enc_probability: np.ndarray
    enc_nproducts: np.ndarray
    enc_product1: np.ndarray
    enc_product2: np.ndarray


@dataclass(frozen=True)
class ReactionNetwork:
    """Species and reactions of a lattice reaction–diffusion system.

    Parameters
    ----------
    species
        Species names; the lattice code of ``species[k]`` is ``k + 1`` (0 = empty).
    reactions
        The reactions (see :func:`reaction`).
    name
        Short name used in file attributes.
    """

    species: tuple[str, ...]
    reactions: tuple[Reaction, ...]
    name: str = "network"
    _codes: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.species, str):
            raise TypeError(f"species must be a sequence of names, got the string "
                            f"{self.species!r} (write ({self.species!r},) for one species)")
        if not hasattr(self.species, "__iter__"):
            raise TypeError(f"species must be a sequence of names, got "
                            f"{type(self.species).__name__}")
        if isinstance(self.reactions, str | Reaction) or not hasattr(self.reactions, "__iter__"):
            raise TypeError(f"reactions must be a sequence of Reaction objects, got "
                            f"{type(self.reactions).__name__}")
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")
        species = tuple(self.species)
        if not species:
            raise ValueError("species: at least one species is needed")
        if len(species) > 120:
            raise ValueError("species: at most 120 species fit the int8 lattice codes")
        for name in species:
            if not isinstance(name, str) or not _SPECIES_NAME.match(name):
                raise ValueError(f"species: invalid species name {name!r}")
        if len(set(species)) != len(species):
            raise ValueError(f"species: names must be unique, got {species}")
        reactions = tuple(self.reactions)
        for rxn in reactions:
            if not isinstance(rxn, Reaction):
                raise TypeError(f"reactions: expected Reaction objects, got {type(rxn).__name__}")
            for name in rxn.reactants + rxn.products:
                if name not in species:
                    raise ValueError(f"reaction '{rxn}': unknown species {name!r}; "
                                     f"known species are {list(species)}")
        object.__setattr__(self, "species", species)
        object.__setattr__(self, "reactions", reactions)
        object.__setattr__(self, "_codes", {name: k + 1 for k, name in enumerate(species)})

    def code(self, species: str) -> int:
        """Lattice code of a species name."""
        try:
            return self._codes[species]
        except KeyError:
            raise ValueError(f"unknown species {species!r}; known species are "
                             f"{list(self.species)}") from None

    @property
    def unimolecular(self) -> tuple[Reaction, ...]:
        return tuple(r for r in self.reactions if r.kind != "encounter")

    @property
    def encounters(self) -> tuple[Reaction, ...]:
        return tuple(r for r in self.reactions if r.kind == "encounter")

    def to_json(self) -> str:
        """Description of the network for dataset attributes."""
        return json.dumps({"name": self.name, "species": list(self.species),
                           "reactions": [r.as_dict() for r in self.reactions]})

    def tables(self) -> NetworkTables:
        """Compile the network into the flat tables read by the kernels."""
        n_codes = len(self.species) + 1
        uni = self.unimolecular
        uni_kind = np.array([_UNI_KINDS[r.kind] for r in uni], dtype=np.int8)
        uni_reactant = np.array([self.code(r.reactants[0]) if r.reactants else 0 for r in uni],
                                dtype=np.int8)
        uni_p1 = np.array([self.code(r.products[0]) if r.products else 0 for r in uni],
                          dtype=np.int8)
        uni_p2 = np.array([self.code(r.products[1]) if len(r.products) > 1 else 0 for r in uni],
                          dtype=np.int8)
        uni_rate = np.array([r.rate for r in uni], dtype=np.float64)
        uni_auto = np.array([r.autocatalytic for r in uni], dtype=np.bool_)
        enc = self.encounters
        by_pair: dict[tuple[int, int], list[int]] = {}
        for index, rxn in enumerate(enc):
            a, b = (self.code(s) for s in rxn.reactants)
            by_pair.setdefault((a, b), []).append(index)
            if a != b:
                by_pair.setdefault((b, a), []).append(index)
        pair_start = np.zeros(n_codes * n_codes, dtype=np.int32)
        pair_len = np.zeros(n_codes * n_codes, dtype=np.int32)
        pair_rxn: list[int] = []
        for (a, b), indices in sorted(by_pair.items()):
            pair_start[a * n_codes + b] = len(pair_rxn)
            pair_len[a * n_codes + b] = len(indices)
            pair_rxn.extend(indices)
        return NetworkTables(
            uni_kind=uni_kind, uni_reactant=uni_reactant, uni_product1=uni_p1,
            uni_product2=uni_p2, uni_rate=uni_rate, uni_autocatalytic=uni_auto,
            pair_start=pair_start, pair_len=pair_len,
            pair_rxn=np.array(pair_rxn, dtype=np.int32),
            enc_probability=np.array([r.probability for r in enc], dtype=np.float64),
            enc_nproducts=np.array([len(r.products) for r in enc], dtype=np.int8),
            enc_product1=np.array([self.code(r.products[0]) if r.products else 0 for r in enc],
                                  dtype=np.int8),
            enc_product2=np.array([self.code(r.products[1]) if len(r.products) > 1 else 0
                                   for r in enc], dtype=np.int8),
        )
