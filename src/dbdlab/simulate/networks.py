"""The papers' reaction systems with the parameters of the authors' simulations (reproduction notes:
repro-networks).

Each preset returns a :class:`~dbdlab.simulate.reactions.ReactionNetwork`; the matching lattice
and run settings are in :data:`dbdlab.experiments.settings.SETTINGS`.
"""

from __future__ import annotations

from .reactions import ReactionNetwork, reaction

__all__ = ["annihilation", "lotka_volterra", "rossler"]


def annihilation(probability: float = 0.01) -> ReactionNetwork:
    """Bimolecular annihilation ``A + A → ∅`` with encounter probability ``p_r`` (paper A §IV.A)."""
    return ReactionNetwork(("A",), (reaction("A + A -> 0", probability=probability),),
                           name="annihilation")


def lotka_volterra(k1: float = 0.025, k2: float = 0.06, k3: float = 0.4) -> ReactionNetwork:
    """Spatial Lotka–Volterra predator–prey system of paper B (§III), as simulated.

    ``X`` = prey, ``Y`` = hunter.  Prey birth ``∅ → X`` (rate ``k1``, autocatalytic propensity
    ``k1·n_X``, offspring on a random empty site anywhere), hunter death ``Y → ∅`` (rate ``k2``),
    predation ``X + Y → 2Y`` with encounter probability ``k3``.  The paper's text swaps the
    labels of ``k2`` and ``k3`` (reproduction notes: repro-networks); this follows its eqs. (2)–(3).
    """
    return ReactionNetwork(
        ("X", "Y"),
        (
            reaction("0 -> X", rate=k1, autocatalytic=True),
            reaction("Y -> 0", rate=k2),
            reaction("X + Y -> Y + Y", probability=k3),
        ),
        name="lotka_volterra",
    )


def rossler(k1: float = 30.0, k2: float = 10.0, k3: float = 16.5, p1: float = 0.1,
            p2: float = 0.4, p3: float = 0.24, p4: float = 0.36) -> ReactionNetwork:
    """Williamowski–Rössler network of paper A (§IV.B) as simulated (reproduction notes:
    repro-networks).

    ``A → 2A`` (k1), ``B → ∅`` (k2), ``C → 2C`` (k3) and the encounter reactions
    ``A + A → A`` (p1), ``A + B → 2B`` (p2), ``A + C → ∅`` (p3), ``C + C → C`` (p4), with the
    encounter probabilities ``0.4·κ`` of the authors' code.
    """
    return ReactionNetwork(
        ("A", "B", "C"),
        (
            reaction("A -> 2 A", rate=k1),
            reaction("B -> 0", rate=k2),
            reaction("C -> 2 C", rate=k3),
            reaction("A + A -> A", probability=p1),
            reaction("A + B -> 2 B", probability=p2),
            reaction("A + C -> 0", probability=p3),
            reaction("C + C -> C", probability=p4),
        ),
        name="rossler",
    )
