"""The papers' model architectures (reproduction notes: repro-architectures), with size arguments
for tiny tests."""

from __future__ import annotations

from .boltzmann import BoltzmannMachine
from .layers import Layer

__all__ = ["annihilation_rbm", "lotka_volterra_dbm", "rossler_rbm"]


def annihilation_rbm(n_visible: int = 1000) -> BoltzmannMachine:
    """RBM of the 1D annihilation experiment (paper A eqs. 39–40; reproduction notes:
    repro-architectures).

    ``n_visible`` visible units {A} and ``n_visible − 1`` hidden units {X1} on open chains, hidden
    ``j`` ↔ visible ``j, j+1``.  θ = ``(hA, bX1, wAX1)``: the paper's ``b`` (visible bias),
    ``b′`` (hidden bias) and ``W`` — note the paper lists them as ``(b, W, b′)``.
    """
    return BoltzmannMachine(
        [Layer((n_visible,), ("A",)), Layer((n_visible - 1,), ("X1",))],
        [("A", "X1")], periodic=False)


def rossler_rbm(shape: tuple[int, int, int] = (10, 10, 10)) -> BoltzmannMachine:
    """RBM of the 3D Rössler experiment (paper A §IV.B, Fig. 5; reproduction notes:
    repro-architectures).

    Visible {A, B, C} and hidden {X1, Y1, Z1} on the same 3D lattice, each hidden unit connected
    to a 2×2×2 visible cube with periodic wrap (``q = 8`` both ways), weights A–X1, B–Y1, C–Z1
    only.  θ = ``(hA, hB, hC, bX1, bY1, bZ1, wAX1, wBY1, wCZ1)``.
    """
    return BoltzmannMachine(
        [Layer(shape, ("A", "B", "C")), Layer(shape, ("X1", "Y1", "Z1"))],
        [("A", "X1"), ("B", "Y1"), ("C", "Z1")], periodic=True)


def lotka_volterra_dbm(shape: tuple[int, int] = (40, 40)) -> BoltzmannMachine:
    """Three-layer DBM of the 2D Lotka–Volterra experiment (paper B §V; reproduction notes:
    repro-architectures).

    Layers {X, Y} (X = prey, Y = hunter), {X1, Y1}, {X2, Y2}, all of the given shape, 2×2
    patches with periodic wrap (``q = 4``), same-species weights only.
    θ = ``(hX, hY, bX1, bY1, bX2, bY2, wXX1, wYY1, wX1X2, wY1Y2)``.
    """
    return BoltzmannMachine(
        [Layer(shape, ("X", "Y")), Layer(shape, ("X1", "Y1")), Layer(shape, ("X2", "Y2"))],
        [("X", "X1"), ("Y", "Y1"), ("X1", "X2"), ("Y1", "Y2")], periodic=True)
