"""Mean field and pair approximation of the lattice annihilation A + A → ∅: known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dbdlab.closure.annihilation import (
    annihilation_mean_field,
    annihilation_pair_approximation,
    annihilation_pair_rhs,
)


def test_mean_field_solves_the_rate_equation():
    t = np.linspace(0, 3, 31)
    rho, paa = annihilation_mean_field(0.6, t, 0.01, 0.01)
    kappa_z = 2 * 0.01 / 0.01  # κ z = 2 p / Δt
    sol = solve_ivp(lambda _, r: -kappa_z * r**2, (0, 3), [0.6], t_eval=t, rtol=1e-10,
                    atol=1e-12)
    np.testing.assert_allclose(rho, sol.y[0], rtol=1e-7)
    np.testing.assert_allclose(paa, rho**2)


def test_pair_approximation_tends_to_mean_field_when_hopping_dominates():
    # paper A's settings: hop rate 100 per unit time, bond reaction rate κ = 1
    t = np.linspace(0, 2, 21)
    rho_mf, _ = annihilation_mean_field(0.5, t, 0.01, 0.01)
    rho_pa, paa = annihilation_pair_approximation(0.5, 0.25, t, 0.01, 0.01)
    np.testing.assert_allclose(rho_pa, rho_mf, rtol=3e-3)
    # the departure from mean field grows with the ratio κ/h of reaction to hopping
    fast = np.max(np.abs(rho_pa - rho_mf))
    rho_slow, _ = annihilation_pair_approximation(0.5, 0.25, t, 0.4, 1.0)
    rho_mf_slow, _ = annihilation_mean_field(0.5, t, 0.4, 1.0)
    assert np.max(np.abs(rho_slow - rho_mf_slow)) > 10 * fast
    np.testing.assert_allclose(paa[-1], rho_pa[-1] ** 2, rtol=2e-2)


def test_without_reactions_density_is_conserved_and_correlations_relax():
    t = np.linspace(0, 1, 11)
    rho, paa = annihilation_pair_approximation(0.3, 0.2, t, 0.0, 0.01)
    np.testing.assert_allclose(rho, 0.3, rtol=1e-9)
    # exclusion hopping forgets the initial clustering: P_AA → ρ²
    assert abs(paa[-1] - 0.09) < 1e-6
    # an uncorrelated state stays uncorrelated
    _, flat = annihilation_pair_approximation(0.3, 0.09, t, 0.0, 0.01)
    np.testing.assert_allclose(flat, 0.09, rtol=1e-9)


def test_pair_rhs_conserves_probability_and_symmetry():
    P = np.array([[0.5, 0.15], [0.15, 0.2]])
    dP = annihilation_pair_rhs(P, 0.3, 0.5, ndim=2)
    assert dP.sum() == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(dP, dP.T, atol=1e-14)
    # the density equation implied by the pairs: dρ/dt = −κ z P_AA with κ z = 2 p / Δt
    assert dP.sum(axis=1)[1] == pytest.approx(-2 * 0.3 / 0.5 * 0.2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="P_AA"):
        annihilation_pair_approximation(0.3, 0.5, [0.0, 1.0], 0.01, 0.01)
    with pytest.raises(ValueError, match="p must"):
        annihilation_mean_field(0.3, [0.0, 1.0], 2.0, 0.01)
    with pytest.raises(ValueError, match="ndim"):
        annihilation_mean_field(0.3, [0.0, 1.0], 0.1, 0.01, ndim=4)
