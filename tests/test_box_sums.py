"""Box sums of the local connectivity (dbdlab.sampling._box_sums) against the index tables.

The Gibbs kernel, the mean-field kernel and the RBM pattern histograms sum neighbour values by
separable box passes instead of gathers through ``up_to_down`` / ``down_to_up``.  Integer sums,
so the two must agree exactly: checked here for every mode on 1D, 2D and 3D lattices of unequal
side lengths, in NumPy and in the Numba kernel; the samplers' bit-identity tests then run the
kernels both ways.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from dbdlab.models import BoltzmannMachine, Layer
from dbdlab.models.architectures import lotka_volterra_dbm, rossler_rbm
from dbdlab.models.connectivity import local_connectivity
from dbdlab.sampling import _numba_layers
from dbdlab.sampling._box_sums import (
    OPEN_LOWER,
    OPEN_UPPER,
    PERIODIC_LOWER,
    PERIODIC_UPPER,
    box_plan,
    box_sum,
    box_sum_reference,
)
from dbdlab.sampling.rbm_moments import pattern_histograms

SHAPES = [(7,), (2,), (3, 5), (2, 2), (4, 2, 3), (3, 3, 3), (2, 5, 4)]


def gathered(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The gather path: sum the values of every unit's neighbours (sentinel reads 0)."""
    return np.append(values, 0)[table].sum(axis=1)


def sides(shape, periodic):
    """(mode, neighbour-layer shape, index table) of both sides of one connection."""
    conn = local_connectivity(shape, periodic)
    return [(PERIODIC_LOWER if periodic else OPEN_LOWER, conn.lower_shape, conn.up_to_down),
            (PERIODIC_UPPER if periodic else OPEN_UPPER, conn.upper_shape, conn.down_to_up)]


def numba_box_sum(values: np.ndarray, source_shape, mode) -> np.ndarray:
    """:func:`box_sum` on a padded row, the way the kernels call it (codes → steps)."""
    n = values.size
    # codes 0…n−1 at row offset 3 and an identity step table: the sum of the neighbours' values
    row = np.zeros(n + 3, dtype=np.int64)
    row[3:] = np.arange(n)
    shape3 = np.ones(3, dtype=np.int64)
    shape3[3 - len(source_shape):] = source_shape
    size = int(np.prod(np.array(source_shape) + 1)) + 8
    out = box_sum(row, 3, values.astype(np.int64), shape3, len(source_shape), mode,
                  np.empty(size, np.int64), np.empty(size, np.int64))
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("periodic", [True, False])
def test_box_sums_equal_the_gathers(shape, periodic):
    rng = np.random.default_rng(sum(shape) + periodic)
    for mode, source, table in sides(shape, periodic):
        values = rng.integers(-(1 << 40), 1 << 40, size=int(np.prod(source)))
        expected = gathered(values, table)
        reference = box_sum_reference(values.reshape(source), mode).reshape(-1)
        np.testing.assert_array_equal(reference, expected)
        kernel = numba_box_sum(values, source, mode)[:expected.size]
        np.testing.assert_array_equal(kernel, expected)


def test_box_plan_accepts_every_architecture():
    models = [rossler_rbm((4, 3, 5)), lotka_volterra_dbm((5, 4)),
              BoltzmannMachine([Layer((6,), ("A",)), Layer((5,), ("X1",))], [("A", "X1")],
                               periodic=False),
              BoltzmannMachine([Layer((4, 3, 2), ("A",)), Layer((3, 2, 1), ("X1",))],
                               [("A", "X1")], periodic=False)]
    for model in models:
        ok, mode, shape, axes, size = box_plan(model)
        assert ok
        assert mode[0, 0] == -1 and mode[-1, 1] == -1  # no layer below 0 or above the last
        for l in range(model.n_layers):
            for side, other in ((0, l - 1), (1, l + 1)):
                if 0 <= other < model.n_layers:
                    assert axes[l, side] == len(model.layers[other].shape)
                    assert tuple(shape[l, side, 3 - axes[l, side]:]) == \
                        model.layers[other].shape


def test_box_plan_rejects_tables_it_does_not_reproduce():
    model = rossler_rbm((3, 3, 3))
    conn = model.connections[0]
    # the same layers with a permuted lower-to-upper table: no longer a box around each unit
    shuffled = conn.down_to_up[np.random.default_rng(0).permutation(len(conn.down_to_up))]
    fake = SimpleNamespace(n_layers=2, layers=model.layers,
                           connections=[dataclasses.replace(conn, down_to_up=shuffled)])
    assert box_plan(model)[0]
    assert not box_plan(fake)[0]


@pytest.mark.parametrize("model", [rossler_rbm((4, 3, 5)),
                                   BoltzmannMachine([Layer((7,), ("A", "B")),
                                                     Layer((6,), ("X1", "Y1"))],
                                                    [("A", "X1"), ("B", "Y1")],
                                                    periodic=False)],
                         ids=["rossler", "open1d"])
def test_pattern_histograms_are_the_same_both_ways(model, monkeypatch):
    v = np.random.default_rng(2).integers(0, model.layers[0].n_species + 1,
                                          size=(9, model.layers[0].n_units)).astype(np.int8)
    boxed = pattern_histograms(model, v)
    layout = _numba_layers._layout(model)
    assert layout.box
    monkeypatch.setitem(_numba_layers._LAYOUTS, model,
                        dataclasses.replace(layout, box=False))
    np.testing.assert_array_equal(pattern_histograms(model, v), boxed)
    assert boxed.sum(axis=1).tolist() == [model.layers[1].n_units] * 9
