"""The cornerstone check: adjoint gradients of the action equal finite differences.

On tiny models the moments and S = Σ_k w_k D_KL(p_k ‖ p̃(θ_k)) are computed exactly by
enumeration, so the only approximation left is the finite difference itself.
"""

import numpy as np
import pytest

from dbdlab.experiments.validation import (
    action,
    adjoint_finite_differences,
    moment_differences,
    tiny_adjoint_problem,
)
from dbdlab.learn import (
    Dynamics,
    continuous_adjoint,
    discrete_adjoint,
    integrate,
)
from dbdlab.models import BoltzmannMachine, FullyVisible1DModel, Layer
from gradients import relative_difference


def _tiny_rbm():
    return BoltzmannMachine([Layer((3,), ("A",)), Layer((2,), ("X1",))], [("A", "X1")],
                            periodic=False)


@pytest.mark.parametrize(
    ("model", "substeps", "window"),
    [(FullyVisible1DModel(4), 1, (0, 12)), (FullyVisible1DModel(4), 3, (5, 12)),
     (_tiny_rbm(), 2, (4, 10))],
    ids=["visible-S1-from0", "visible-S3-window", "rbm-S2-window"],
)
@pytest.mark.parametrize("reference_scaling", [False, True])
def test_discrete_adjoint_matches_finite_differences(model, substeps, window, reference_scaling):
    # The book's validation chapter shows the same comparison over a range of step sizes.
    problem = tiny_adjoint_problem(model, window[1] + 1, 0.05, substeps, seed=1,
                                   reference_scaling=reference_scaling)
    check = adjoint_finite_differences(problem, window, [1e-5], per_field=4)
    assert check.finite.shape == (1, 12)  # 4 entries the action depends on, in each of 3 fields
    assert np.all(check.relative_error <= 1e-5), dict(zip(check.labels, check.relative_error[0],
                                                          strict=True))


def test_continuous_adjoint_is_the_discrete_one_without_substeps():
    """φ(k) = −λ^{k+1}: for one substep and a window from 0 the papers' scheme is exact."""
    model = FullyVisible1DModel(4)
    dyn, fields, theta0, exact = tiny_adjoint_problem(model, 13, 0.05, 1, seed=3)
    traj, delta = moment_differences(dyn, fields, theta0, exact, (0, 12))
    a = discrete_adjoint(dyn, fields, traj, delta, 0).gradients
    b = continuous_adjoint(dyn, fields, traj, delta, 0).gradients
    assert relative_difference(a, b) < 1e-12


def test_continuous_adjoint_converges_to_the_discrete_gradient():
    """With substeps the papers' scheme (Jacobians at timepoints only) differs by O(Δt)."""
    model = FullyVisible1DModel(4)
    t_end = 0.6
    errors = []
    for n in (6, 12, 24, 48):
        dt = t_end / n
        dyn, fields, theta0, exact = tiny_adjoint_problem(model, n + 1, dt, 4, seed=3)
        traj, delta = moment_differences(dyn, fields, theta0, exact, (0, n))
        errors.append(relative_difference(
            discrete_adjoint(dyn, fields, traj, delta, 0).gradients,
            continuous_adjoint(dyn, fields, traj, delta, 0).gradients))
    errors = np.array(errors)
    ratios = errors[:-1] / errors[1:]  # first order: halving dt halves the difference
    assert np.all(ratios > 1.6) and np.all(ratios < 2.5), errors
    assert errors[-1] < 0.05


def test_reference_bug_changes_the_gradient():
    model = FullyVisible1DModel(4)
    dyn, fields, theta0, exact = tiny_adjoint_problem(model, 11, 0.05, 1, seed=4)
    traj, delta = moment_differences(dyn, fields, theta0, exact, (0, 10))
    good = continuous_adjoint(dyn, fields, traj, delta, 0).gradients["b"].values
    bug = continuous_adjoint(dyn, fields, traj, delta, 0, reference_bug_field="K")
    assert not np.allclose(good, bug.gradients["b"].values)


def test_l2_term_is_part_of_the_action():
    model = FullyVisible1DModel(4)
    dyn, fields, theta0, exact = tiny_adjoint_problem(model, 9, 0.05, 1, seed=5)
    l2 = {"J": (3.0, 0.2)}
    traj, delta = moment_differences(dyn, fields, theta0, exact, (2, 8))
    grad = discrete_adjoint(dyn, fields, traj, delta, 2, l2=l2).gradients["b"]

    def regularised_action():
        th = integrate(dyn, fields, theta0, 9).timepoints
        reg = sum(dyn.dt * 3.0 * (th[k, 1] - 0.2) ** 2 for k in range(2, 9))
        return action(dyn, fields, theta0, exact, (2, 8)) + reg

    row, typ = np.unravel_index(np.argmax(np.abs(grad.values)), grad.values.shape)
    vertex = grad.vertices[row: row + 1]
    base = fields["b"].get_coefficients(vertex)
    eps = 1e-5
    vals = []
    for sign in (1, -1):
        bumped = base.copy()
        bumped[0, typ] += sign * eps
        fields["b"].set_coefficients(vertex, bumped)
        vals.append(regularised_action())
    fields["b"].set_coefficients(vertex, base)
    fd = (vals[0] - vals[1]) / (2 * eps)
    assert abs(grad.values[row, typ] - fd) <= 1e-5 * abs(fd)


def test_bad_input():
    with pytest.raises(ValueError, match="domain"):
        Dynamics(("a", "b"), ("c",), (0.1,), 0.1)
    with pytest.raises(ValueError, match="cell_sizes"):
        Dynamics(("a", "b"), ("a",), (0.1, 0.2), 0.1)
    dyn = Dynamics(("a", "b"), ("a",), (0.1,), 0.1)
    with pytest.raises(ValueError, match="theta0"):
        integrate(dyn, dyn.new_fields(), [0.0], 3)
    traj = integrate(dyn, dyn.new_fields(), [0.0, 0.0], 3)
    with pytest.raises(ValueError, match="delta"):
        discrete_adjoint(dyn, dyn.new_fields(), traj, np.zeros((2, 2)), 0)
