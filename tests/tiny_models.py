"""Tiny enumerable Boltzmann machines shared by the sampler tests."""

#: name → (layers, weights, periodic, θ); every model is small enough to enumerate, with
#: off-diagonal weights where possible; rbm3d_open has one hidden unit (NumPy's vector–matrix
#: matmul branch)
CASES = {
    "rbm1d_open": ([((6,), ("A", "B")), ((5,), ("X1",))], [("A", "X1"), ("B", "X1")], False,
                   [0.2, -0.3, 0.1, 0.8, -0.6]),
    # 2×2 periodic layers, 104 976 joint states
    "dbm2d_periodic": ([((2, 2), ("X", "Y")), ((2, 2), ("X1", "Y1")), ((2, 2), ("X2",))],
                       [("X", "X1"), ("Y", "Y1"), ("X", "Y1"), ("X1", "X2"), ("Y1", "X2")], True,
                       [-0.3, 0.1, 0.2, -0.4, 0.3, 0.6, -0.5, 0.4, -0.7, 0.5]),
    "rbm3d_periodic": ([((2, 2, 2), ("A",)), ((2, 2, 2), ("X1",))], [("A", "X1")], True,
                       [-0.2, 0.1, 0.35]),
    "rbm3d_open": ([((2, 2, 2), ("A", "B")), ((1, 1, 1), ("X1", "Y1"))],
                   [("A", "X1"), ("B", "Y1"), ("B", "X1")], False,
                   [0.1, -0.2, -0.5, 0.2, 0.6, -0.4, 0.3]),
}
