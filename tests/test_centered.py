"""The centered adjoint (paper B eqs. 15–17) against finite differences of the exact action.

A tiny centered three-layer DBM with the LV structure (species {X,Y}, {X1,Y1}, {X2,Y2},
same-species weights, periodic connectivity) is enumerated exactly; the data are the visible
marginals of the same model along a "true" parameter trajectory, and the centres move in time.
The action ``S = Σ_k Δt D_KL(p_k ‖ p̃(θ_k))`` does not depend on the centres, so every correct
form of the centered adjoint must give its gradient.
"""

import numpy as np
import pytest
from scipy.special import logsumexp

from dbdlab.learn import Dynamics, continuous_adjoint, discrete_adjoint, integrate
from dbdlab.learn.centered import CenteredAdjoint
from dbdlab.models import BoltzmannMachine, Layer
from gradients import relative_difference

NAMES = ("hX", "hY", "bX1", "bY1", "bX2", "bY2", "wXX1", "wYY1", "wX1X2", "wY1Y2")
DOMAIN = ("hX", "wXX1", "wY1Y2")  # visible bias, both weight layers; hidden biases outside


def _tiny_lv():
    """Three periodic 1D layers of 3 units (19 683 joint states), LV species and weights."""
    return BoltzmannMachine(
        [Layer((3,), ("X", "Y")), Layer((3,), ("X1", "Y1")), Layer((3,), ("X2", "Y2"))],
        [("X", "X1"), ("Y", "Y1"), ("X1", "X2"), ("Y1", "Y2")], periodic=True)


class CachedExact:
    """Exact wake/sleep moments and KL from one enumeration (states and moments fixed)."""

    def __init__(self, model, data_thetas):
        self.model = model
        exact = model.exact(np.zeros(model.n_theta))
        self.states = exact.states
        self.moments = exact.moments
        visible = np.ascontiguousarray(exact.states[0])
        keys = visible.view(np.dtype((np.void, visible.shape[1])))[:, 0]
        _, self.inverse = np.unique(keys, return_inverse=True)
        self.inverse = self.inverse.reshape(-1)
        self.n_visible = self.inverse.max() + 1
        self.data = np.stack([self._marginal(self._p(th)) for th in data_thetas])

    def _p(self, theta):
        logw = self.moments @ theta
        return np.exp(logw - logsumexp(logw))

    def _marginal(self, p):
        return np.bincount(self.inverse, weights=p, minlength=self.n_visible)

    def kl(self, theta, k):
        q = self._marginal(self._p(theta))
        p = self.data[k]
        return float(np.sum(p * (np.log(p) - np.log(q))))

    def moments_at(self, theta, k, centers=None):
        """(awake, asleep); weight moments centered at ``centers`` computed per state."""
        p = self._p(theta)
        weights = self.data[k, self.inverse] * p / self._marginal(p)[self.inverse]
        m = self.moments if centers is None else self.model.moments(self.states, centers)
        return weights @ m, p @ m


def _true_theta(t):
    return np.array([-0.8 + 0.3 * np.sin(2 * t), -0.6 + 0.2 * t, 0.2 * np.cos(t), -0.1,
                     0.1 * t, 0.05, 0.4 * np.sin(t), 0.3 - 0.2 * t, -0.2 + 0.3 * t,
                     0.25 * np.cos(2 * t)])


def _centers(t):
    """Centres that move in time, a different path per species."""
    base = np.array([0.2, 0.15, 0.3, 0.35, 0.25, 0.4])
    return base + 0.1 * np.sin(1.5 * t + np.arange(6))


def _setup(n_tp, dt, seed=1, cell=0.5):
    model = _tiny_lv()
    dyn = Dynamics(NAMES, DOMAIN, (cell,) * len(DOMAIN), dt)
    theta0 = np.array([-0.7, -0.6, 0.1, -0.1, 0.0, 0.05, 0.1, 0.3, -0.2, 0.2])
    exact = CachedExact(model, [_true_theta(k * dt) for k in range(n_tp)])
    fields = dyn.new_fields(theta0[dyn.domain_index] - cell / 2)
    rng = np.random.default_rng(seed)
    box = theta0[dyn.domain_index] + rng.uniform(-0.6, 0.6, (300, len(DOMAIN)))
    for f in fields.values():
        support = f.accumulate(box, np.ones(len(box))).vertices
        f.set_coefficients(support, rng.normal(0.0, 0.5, (len(support), f.n_types)))
    return model, dyn, fields, theta0, exact


def _window_moments(dyn, fields, theta0, exact, window, centers):
    traj = integrate(dyn, fields, theta0, window[1] + 1)
    rows = [exact.moments_at(traj.timepoints[k], k, c) for k, c in
            zip(range(window[0], window[1] + 1), centers, strict=True)]
    return traj, np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def _action(dyn, fields, theta0, exact, window):
    traj = integrate(dyn, fields, theta0, window[1] + 1).timepoints
    return sum(dyn.dt * exact.kl(traj[k], k) for k in range(window[0], window[1] + 1))


def test_exact_centered_adjoint_matches_finite_differences():
    dt, n = 0.05, 12
    model, dyn, fields, theta0, exact = _setup(n + 1, dt)
    centers = np.stack([_centers(k * dt) for k in range(n + 1)])
    traj, awake, asleep = _window_moments(dyn, fields, theta0, exact, (0, n), centers)
    grads = CenteredAdjoint(model, scheme="exact")(dyn, fields, traj, awake, asleep, 0,
                                                   centers).gradients
    checked = 0
    for name, grad in grads.items():
        big = np.argsort(-np.abs(grad.values).ravel())[:2]
        for flat in big:
            row, typ = np.unravel_index(flat, grad.values.shape)
            vertex = grad.vertices[row: row + 1]
            base = fields[name].get_coefficients(vertex)
            eps = 1e-5
            values = []
            for sign in (1, -1):
                bumped = base.copy()
                bumped[0, typ] += sign * eps
                fields[name].set_coefficients(vertex, bumped)
                values.append(_action(dyn, fields, theta0, exact, (0, n)))
            fields[name].set_coefficients(vertex, base)
            fd = (values[0] - values[1]) / (2 * eps)
            adj = grad.values[row, typ]
            assert abs(adj - fd) <= 1e-5 * max(abs(fd), 1e-3), (name, adj, fd)
            checked += 1
    assert checked == 20


def test_exact_centered_adjoint_is_the_uncentered_exact_gradient():
    """Whatever the (moving) centres, the exact form is a change of variables of λ."""
    dt, n = 0.05, 10
    model, dyn, fields, theta0, exact = _setup(n + 1, dt, seed=2)
    centers = np.stack([_centers(k * dt) for k in range(n + 1)])
    traj, awake_c, asleep_c = _window_moments(dyn, fields, theta0, exact, (0, n), centers)
    _, awake, asleep = _window_moments(dyn, fields, theta0, exact, (0, n), [None] * (n + 1))
    centered = CenteredAdjoint(model, scheme="exact")(dyn, fields, traj, awake_c, asleep_c, 0,
                                                      centers)
    uncentered = discrete_adjoint(dyn, fields, traj, asleep - awake, 0)
    assert relative_difference(uncentered.gradients, centered.gradients) < 1e-10


def test_zero_centres_give_the_uncentered_adjoint():
    """μ ≡ 0: the centered rule (either scheme) is the papers' uncentered adjoint, on a window."""
    dt, window = 0.05, (3, 12)
    model, dyn, fields, theta0, exact = _setup(window[1] + 1, dt, seed=3)
    zero = np.zeros((window[1] - window[0] + 1, 6))
    traj, awake, asleep = _window_moments(dyn, fields, theta0, exact, window, [None] * len(zero))
    reference = continuous_adjoint(dyn, fields, traj, asleep - awake, window[0]).gradients
    for scheme in ("paper", "exact"):
        grads = CenteredAdjoint(model, scheme=scheme)(dyn, fields, traj, awake, asleep,
                                                      window[0], zero).gradients
        assert relative_difference(reference, grads) < 1e-12
        a = np.concatenate([g.values.ravel() for g in grads.values()])
        b = np.concatenate([g.values.ravel() for g in reference.values()])
        assert a @ b / np.linalg.norm(a) / np.linalg.norm(b) > 1 - 1e-12


def test_fixed_centres_make_both_schemes_equal():
    dt, n = 0.05, 8
    model, dyn, fields, theta0, exact = _setup(n + 1, dt, seed=4)
    centers = np.tile(_centers(0.3), (n + 1, 1))
    traj, awake, asleep = _window_moments(dyn, fields, theta0, exact, (0, n), centers)
    paper = CenteredAdjoint(model, "paper")(dyn, fields, traj, awake, asleep, 0, centers)
    ex = CenteredAdjoint(model, "exact")(dyn, fields, traj, awake, asleep, 0, centers)
    assert relative_difference(ex.gradients, paper.gradients) < 1e-12


def test_paper_scheme_converges_to_the_exact_gradient():
    """With moving centres the paper's scheme differs from the exact one by O(Δt)."""
    t_end, errors = 0.6, []
    for n in (6, 12, 24, 48):
        dt = t_end / n
        model, dyn, fields, theta0, exact = _setup(n + 1, dt, seed=5)
        centers = np.stack([_centers(k * dt) for k in range(n + 1)])
        traj, awake, asleep = _window_moments(dyn, fields, theta0, exact, (0, n), centers)
        paper = CenteredAdjoint(model, "paper")(dyn, fields, traj, awake, asleep, 0, centers)
        ex = CenteredAdjoint(model, "exact")(dyn, fields, traj, awake, asleep, 0, centers)
        errors.append(relative_difference(ex.gradients, paper.gradients))
    errors = np.array(errors)
    ratios = errors[:-1] / errors[1:]
    assert np.all(ratios > 1.6) and np.all(ratios < 2.5), errors
    assert errors[-1] < 0.05


def test_bad_input():
    model = _tiny_lv()
    with pytest.raises(ValueError, match="scheme"):
        CenteredAdjoint(model, scheme="forward")
    dyn = Dynamics(NAMES, DOMAIN, (0.5,) * 3, 0.1)
    fields = dyn.new_fields()
    traj = integrate(dyn, fields, np.zeros(10), 4)
    rule = CenteredAdjoint(model)
    with pytest.raises(ValueError, match="centers"):
        rule(dyn, fields, traj, np.zeros((4, 10)), np.zeros((4, 10)), 0, np.zeros((3, 6)))
    with pytest.raises(ValueError, match="awake"):
        rule(dyn, fields, traj, np.zeros((3, 10)), np.zeros((3, 10)), 0, np.zeros((4, 6)))
