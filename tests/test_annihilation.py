"""Tests of dbdlab.experiments.annihilation, the glue shared by notebooks 02, 03 and the
learning benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from dbdlab.experiments import annihilation as ann
from dbdlab.experiments.datasets import annihilation_set
from dbdlab.experiments.settings import SETTINGS
from dbdlab.models import annihilation_rbm
from dbdlab.simulate.observables import chain_moment_1d

N_IC, PER_IC, STEPS, SITES = 3, 4, 5, 30


@pytest.fixture(scope="module")
def ds():
    return annihilation_set(N_IC, PER_IC, STEPS, seed=3, n_sites=SITES, init_sweeps=5,
                            progress=False)


def test_initial_conditions_are_the_labels_of_each_block(ds):
    bjk = ann.initial_conditions(ds)
    assert bjk.shape == (N_IC, 3)
    for k in range(N_IC):
        rows = np.flatnonzero(ds.ic.values == k)
        for j, name in enumerate(("ic_b", "ic_J", "ic_K")):
            np.testing.assert_array_equal(ds[name].values[rows], bjk[k, j])


def test_lattices_per_ic_regroups_replicas(ds):
    lat = ann.lattices_per_ic(ds, 3)
    assert lat.shape == (N_IC, PER_IC, 3, SITES)
    for k in range(N_IC):
        rows = np.flatnonzero(ds.ic.values == k)
        np.testing.assert_array_equal(lat[k], ds.lattice.values[rows, :3])
    assert ann.lattices_per_ic(ds).shape[2] == STEPS
    with pytest.raises(ValueError, match="n_timepoints"):
        ann.lattices_per_ic(ds, STEPS + 1)


def test_unordered_replicas_are_rejected(ds):
    shuffled = ds.isel(replica=np.arange(ds.sizes["replica"])[::-1])
    with pytest.raises(ValueError, match="grouped by initial condition"):
        ann.initial_conditions(shuffled)


def test_data_moments_are_chain_moments_averaged_per_ic(ds):
    times = np.array([0, 2, 4])
    got = ann.data_moments_per_ic(ds, times)
    lattices = ann.lattices_per_ic(ds)[:, :, times]
    for order in range(1, 5):
        expected = np.asarray(chain_moment_1d(lattices, order), dtype=float).mean(axis=1)
        np.testing.assert_allclose(got[..., order - 1], expected)


def test_initial_density_and_nn_per_site(ds):
    density, nn = ann.initial_density_and_nn(ds)
    v0 = ann.lattices_per_ic(ds)[:, :, 0].astype(float)
    np.testing.assert_allclose(density, v0.mean(axis=(1, 2)))
    np.testing.assert_allclose(nn, (v0[..., 1:] * v0[..., :-1]).sum(-1).mean(-1) / SITES)


def test_sampled_density_and_nn_of_weightless_rbms():
    """Zero weights: visible units are independent with p = e^b / (1 + e^b) whatever the hidden
    layer does, so the density is p and the NN moment per site (N−1)p²/N; one θ per initial
    condition (b = 0 and b = ln 3); tolerance 4 standard errors."""
    n, chains = 40, 400
    model = annihilation_rbm(n)
    theta = np.zeros((2, len(model.theta_names)))
    theta[1, list(model.theta_names).index("hA")] = np.log(3.0)
    density, nn = ann.sampled_density_and_nn(model, theta, chains, 5, seed=11)
    p = np.array([0.5, 0.75])
    se_density = np.sqrt(p * (1 - p) / (n * chains))
    bond_var = p**2 * (1 - p**2) + 2 * (p**3 - p**4)  # per bond, with both neighbours' covariance
    se_nn = np.sqrt((n - 1) * bond_var / chains) / n
    assert np.all(np.abs(density - p) <= 4 * se_density)
    assert np.all(np.abs(nn - (n - 1) * p**2 / n) <= 4 * se_nn)


def test_learning_setups_follow_the_settings():
    setups = ann.learning_setups(50, 0.01)
    learning = SETTINGS["annihilation"]["learning"]
    for name, setup in setups.items():
        assert setup.domain == learning["domains"][name]
        np.testing.assert_array_equal(setup.dynamics.cell_sizes, learning["cells"][name])
        assert set(setup.domain) <= set(setup.model.theta_names)
        assert setup.dynamics.names == tuple(setup.model.theta_names)


def test_annihilation_moments_are_the_open_chain_window_products():
    """m_k = Σ_i v_i ⋯ v_{i+k−1} over the open chain (paper A's m1…m4), counted directly."""
    from dbdlab.experiments.evaluate import annihilation_moments

    v = np.array([[1, 1, 1, 0, 1, 1, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=np.int8)
    direct = [[sum(int(np.all(row[i:i + k])) for i in range(len(row) - k + 1))
               for k in (1, 2, 3, 4)] for row in v]
    np.testing.assert_array_equal(annihilation_moments(v), direct)
    assert annihilation_moments(v).tolist()[0] == [8, 5, 3, 1]
