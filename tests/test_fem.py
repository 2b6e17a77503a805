"""Tests of dbdlab.fem: Q3 C1 Hermite elements (reproduction notes: repro-fem, paper A §III B)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from dbdlab.fem import (
    MAX_NDIM,
    HermiteField,
    SparseCoefficients,
    hermite_basis,
    type_index,
    type_labels,
)
from dbdlab.store import load_dataset, save_dataset


def _block(lo: int, hi: int, ndim: int) -> np.ndarray:
    """All integer vectors with entries in ``lo … hi`` (inclusive), shape ``(m, ndim)``."""
    return np.array(list(itertools.product(range(lo, hi + 1), repeat=ndim)), dtype=np.int64)


def _random_field(
    rng: np.random.Generator, ndim: int, vertices: np.ndarray, *, reference: bool = False
) -> HermiteField:
    field = HermiteField(
        rng.uniform(0.2, 0.7, ndim), rng.uniform(-0.5, 0.5, ndim), reference_scaling=reference
    )
    field.set_coefficients(vertices, rng.uniform(-1.0, 1.0, (len(vertices), 2**ndim)))
    return field


def _points_in_cells(
    rng: np.random.Generator, field: HermiteField, cells: np.ndarray, n: int, margin: float = 0.0
) -> np.ndarray:
    """Random points in randomly chosen cells, fractions in ``[margin, 1 − margin]``."""
    chosen = cells[rng.integers(0, len(cells), n)]
    fractions = rng.uniform(margin, 1.0 - margin, (n, field.ndim))
    return field.origin + (chosen + fractions) * field.cell_sizes


def _derivative_mask(ndim: int) -> np.ndarray:
    """``mask[τ, k]`` is True where type ``τ`` has a derivative in dimension ``k``."""
    return np.array([[c == "D" for c in label] for label in type_labels(ndim)])


# --------------------------------------------------------------------------- (1) exactness


def _cubic(coef: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    value = coef[0] + x * (coef[1] + x * (coef[2] + x * coef[3]))
    slope = coef[1] + x * (2.0 * coef[2] + 3.0 * x * coef[3])
    return value, slope


def _product(coefs: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``p(x) = Π_k c_k(x_k)`` and its gradient, for points ``x`` of shape ``(n, d)``."""
    values, slopes = zip(*(_cubic(coefs[k], x[:, k]) for k in range(x.shape[1])), strict=True)
    values, slopes = np.array(values), np.array(slopes)
    gradient = np.stack(
        [
            np.prod(np.where(np.arange(len(values))[:, None] == k, slopes, values), 0)
            for k in range(len(values))
        ],
        axis=1,
    )
    return np.prod(values, 0), gradient


def _hermite_dofs(coefs: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Physical DOFs of ``Π_k c_k`` at vertex positions: mixed partials for every type."""
    values, slopes = zip(
        *(_cubic(coefs[k], points[:, k]) for k in range(points.shape[1])), strict=True
    )
    values, slopes = np.array(values), np.array(slopes)
    mask = _derivative_mask(points.shape[1])
    return np.stack(
        [np.prod(np.where(mask[t][:, None], slopes, values), 0) for t in range(len(mask))],
        axis=1,
    )


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_tensor_product_cubics_are_reproduced_exactly(ndim: int) -> None:
    rng = np.random.default_rng(10 + ndim)
    field = HermiteField(rng.uniform(0.3, 0.6, ndim), rng.uniform(-0.3, 0.3, ndim))
    # Cells -1 and 0 per dimension, so the floor-below-origin rule is exercised.
    cells = _block(-1, 0, ndim)
    vertices = _block(-1, 1, ndim)
    positions = field.origin + vertices * field.cell_sizes
    products = [rng.uniform(-1.0, 1.0, (ndim, 4)) for _ in range(2)]
    points = _points_in_cells(rng, field, cells, 200)

    for terms in (products[:1], products):  # one product, then a sum of two
        field.set_coefficients(vertices, sum(_hermite_dofs(c, positions) for c in terms))
        expected_value = sum(_product(c, points)[0] for c in terms)
        expected_gradient = sum(_product(c, points)[1] for c in terms)
        value, gradient = field.value_and_gradient(points)
        np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(field.value(points), expected_value, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(field.gradient(points), gradient, rtol=0, atol=0)


def test_dof_meaning_and_type_order() -> None:
    # Type "DV" (index 2) is ∂/∂x_0, "VD" (index 1) is ∂/∂x_1: dimension 0 is the high bit.
    assert type_labels(2) == ("VV", "VD", "DV", "DD")
    assert [type_index(t) for t in type_labels(3)] == list(range(8))
    assert type_index("DVV") == 4
    field = HermiteField([0.5, 0.25], [1.0, -2.0])
    field.set_coefficients([[3, -4]], [[0.0, 0.0, 1.0, 0.0]])
    vertex = field.origin + np.array([3, -4]) * field.cell_sizes
    value, gradient = field.value_and_gradient(vertex[None])
    np.testing.assert_allclose(value, [0.0], atol=1e-15)
    np.testing.assert_allclose(gradient, [[1.0, 0.0]], atol=1e-15)


def test_locate_follows_the_reference_cell_rule() -> None:
    field = HermiteField([0.25], [0.5])
    points = np.array([[0.5], [0.75], [0.8], [0.25], [0.3], [-0.5]])
    cells, fractions = field.locate(points)
    # Exact vertices below the origin go to the lower cell with fraction 1 (reproduction notes:
    # repro-fem).
    np.testing.assert_array_equal(cells[:, 0], [0, 1, 1, -2, -1, -5])
    np.testing.assert_allclose(fractions[:, 0], [0.0, 0.0, 0.2, 1.0, 0.2, 1.0], atol=1e-14)


# --------------------------------------------------------------------------- (2) continuity


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_value_and_gradient_are_continuous_across_faces(ndim: int) -> None:
    rng = np.random.default_rng(20 + ndim)
    # Two cells per direction carry random coefficients; the faces at vertex index -1 and 1
    # border cells that were never written, whose shared vertices must still make F C1.
    field = _random_field(rng, ndim, _block(-1, 1, ndim))
    eps = 1e-12
    for k in range(ndim):
        for face in (-1, 0, 1):
            points = _points_in_cells(rng, field, _block(-1, 0, ndim), 50)
            points[:, k] = field.origin[k] + face * field.cell_sizes[k]
            below, above = points.copy(), points.copy()
            below[:, k] -= eps
            above[:, k] += eps
            assert np.all(field.locate(below)[0][:, k] == face - 1)
            assert np.all(field.locate(above)[0][:, k] == face)
            v_below, g_below = field.value_and_gradient(below)
            v_above, g_above = field.value_and_gradient(above)
            assert np.max(np.abs(v_above - v_below)) <= 1e-9
            assert np.max(np.abs(g_above - g_below)) <= 1e-9


# --------------------------------------------------------------------------- (3) derivatives


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4, 6])
def test_gradient_matches_central_differences(ndim: int, reference: bool) -> None:
    rng = np.random.default_rng(30 + ndim)
    lo = 0 if ndim == 6 else -1  # one cell in 6-D keeps the test fast
    field = _random_field(rng, ndim, _block(lo, 1, ndim), reference=reference)
    points = _points_in_cells(rng, field, _block(lo, 0, ndim), 20, margin=0.01)
    gradient = field.gradient(points)
    fd = np.empty_like(gradient)
    for k in range(ndim):
        h = 1e-6 * field.cell_sizes[k]
        step = np.zeros(ndim)
        step[k] = h
        fd[:, k] = (field.value(points + step) - field.value(points - step)) / (2.0 * h)
    # The authors' convention returns the derivative with respect to the fraction, Δ·∂F/∂x.
    expected = fd * field.cell_sizes if reference else fd
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(gradient, expected, rtol=1e-7, atol=1e-7 * scale)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4, 6])
def test_coefficient_jacobian_matches_central_differences(ndim: int) -> None:
    rng = np.random.default_rng(40 + ndim)
    field = _random_field(rng, ndim, _block(-1, 1, ndim) if ndim < 6 else _block(0, 1, ndim))
    points = _points_in_cells(rng, field, _block(0, 0, ndim), 2)
    jac = field.coefficient_jacobian(points)
    assert jac.vertices.shape == (2, 2**ndim, ndim)
    assert jac.basis.shape == (2, 2**ndim, 2**ndim)
    np.testing.assert_array_equal(jac.vertices[0], _block(0, 1, ndim))  # ℓ: dim 0 high bit
    entries = list(itertools.product(range(2**ndim), range(2**ndim)))
    if len(entries) > 40:
        entries = [entries[i] for i in rng.choice(len(entries), 40, replace=False)]
    h = 1e-3
    for corner, t in entries:
        vertex = jac.vertices[0, corner][None]
        base = field.get_coefficients(vertex)
        fd = []
        for sign in (1.0, -1.0):
            shifted = base.copy()
            shifted[0, t] += sign * h
            field.set_coefficients(vertex, shifted)
            fd.append(field.value(points))
        field.set_coefficients(vertex, base)
        np.testing.assert_allclose(
            (fd[0] - fd[1]) / (2.0 * h), jac.basis[:, corner, t], rtol=1e-7, atol=1e-10
        )
    # A vertex outside the cell does not influence F there.
    outside = np.full((1, ndim), 3, dtype=np.int64)
    before = field.value(points)
    field.set_coefficients(outside, np.ones((1, 2**ndim)))
    np.testing.assert_array_equal(field.value(points), before)


def test_accumulate_and_add_are_the_linearisation_of_value() -> None:
    rng = np.random.default_rng(50)
    ndim = 3
    field = _random_field(rng, ndim, _block(-1, 1, ndim))
    points = _points_in_cells(rng, field, _block(-1, 0, ndim), 12)
    points = np.vstack([points, points[:3], [field.origin - field.cell_sizes]])  # repeats, a vertex
    weights = rng.normal(size=len(points))
    grad = field.accumulate(points, weights)
    assert len(np.unique(grad.vertices, axis=0)) == len(grad.vertices)

    # Same sum from the per-point Jacobian, assembled naively.
    jac = field.coefficient_jacobian(points)
    naive: dict[tuple[int, ...], np.ndarray] = {}
    for p in range(len(points)):
        for corner in range(2**ndim):
            key = tuple(jac.vertices[p, corner])
            naive[key] = naive.get(key, 0.0) + weights[p] * jac.basis[p, corner]
    assert set(naive) == {tuple(v) for v in grad.vertices}
    for vertex, values in zip(grad.vertices, grad.values, strict=True):
        np.testing.assert_allclose(values, naive[tuple(vertex)], rtol=1e-13, atol=1e-15)

    # F is linear in u: Σ_p w_p [F(x_p; u + s δ) − F(x_p; u)] = s Σ grad · δ.
    delta = SparseCoefficients(grad.vertices, rng.normal(size=grad.values.shape))
    moved = field.copy()
    moved.add(delta, scale=0.5)
    lhs = weights @ (moved.value(points) - field.value(points))
    np.testing.assert_allclose(lhs, 0.5 * np.sum(grad.values * delta.values), rtol=1e-12)
    # add sums repeated vertices and creates missing ones.
    twice = SparseCoefficients(np.array([[7, 7, 7], [7, 7, 7]]), np.ones((2, 8)))
    moved.add(twice, scale=-2.0)
    np.testing.assert_array_equal(moved.get_coefficients([[7, 7, 7]]), -4.0 * np.ones((1, 8)))


# --------------------------------------------------------------------------- (4) scaling


def test_one_dimensional_basis_in_both_conventions() -> None:
    # Pins the formulas of reproduction notes: repro-fem: physical D factor Δ·g_D, reference g_D;
    # physical d/dx has 1/Δ on the value factor, the reference returns d/df.
    delta = 0.4
    f = np.linspace(0.0, 0.95, 7)
    g, dg = hermite_basis(f)
    for reference in (False, True):
        field = HermiteField([delta], [0.0], reference_scaling=reference)
        field.set_coefficients([[0], [1]], [[0.3, -0.7], [1.1, 0.5]])
        value, gradient = field.value_and_gradient((f * delta)[:, None])
        u = np.array([0.3, -0.7, 1.1, 0.5])  # (V0, D0, V1, D1), the basis column order
        if reference:
            expected_value, expected_gradient = g @ u, dg @ u
        else:
            scale = np.array([1.0, delta, 1.0, delta])
            expected_value, expected_gradient = g @ (u * scale), dg @ (u * scale) / delta
        np.testing.assert_allclose(value, expected_value, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(gradient[:, 0], expected_gradient, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("ndim", [2, 3])
def test_reference_scaling_relation(ndim: int) -> None:
    """Same F: ``u_ref = u_phys · Π_{k∈D(τ)} Δ_k`` ⇒ equal values, ``grad_ref = Δ · grad_phys``.

    and ``∂F/∂u_ref = ∂F/∂u_phys / Π_{k∈D(τ)} Δ_k``.
    """
    rng = np.random.default_rng(60 + ndim)
    vertices = _block(-1, 1, ndim)
    phys = _random_field(rng, ndim, vertices)
    factor = np.prod(np.where(_derivative_mask(ndim), phys.cell_sizes, 1.0), axis=1)
    ref = HermiteField(phys.cell_sizes, phys.origin, reference_scaling=True)
    ref.set_coefficients(vertices, phys.get_coefficients(vertices) * factor)
    points = _points_in_cells(rng, phys, _block(-1, 0, ndim), 50)

    np.testing.assert_allclose(ref.value(points), phys.value(points), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(
        ref.gradient(points), phys.gradient(points) * phys.cell_sizes, rtol=1e-12, atol=1e-13
    )
    np.testing.assert_allclose(
        ref.coefficient_jacobian(points).basis,
        phys.coefficient_jacobian(points).basis / factor,
        rtol=1e-12,
        atol=1e-15,
    )
    # rescaled() performs exactly this conversion, both ways.
    converted = phys.rescaled(True)
    assert converted.reference_scaling
    np.testing.assert_allclose(converted.get_coefficients(vertices), ref.get_coefficients(vertices))
    back = converted.rescaled(False)
    np.testing.assert_allclose(back.coefficients, phys.coefficients, rtol=1e-15)
    # Without conversion the flag changes F: the conventions really differ.
    raw = HermiteField(phys.cell_sizes, phys.origin, reference_scaling=True)
    raw.set_coefficients(vertices, phys.get_coefficients(vertices))
    assert np.max(np.abs(raw.value(points) - phys.value(points))) > 1e-3


# --------------------------------------------------------------------------- (5) laziness


def test_untouched_region_is_zero_and_reading_creates_nothing() -> None:
    rng = np.random.default_rng(70)
    empty = HermiteField([0.1] * 4, np.zeros(4))
    points = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(empty.value(points), 0.0)
    np.testing.assert_array_equal(empty.gradient(points), 0.0)
    assert empty.n_vertices == 0

    field = _random_field(rng, 4, _block(0, 1, 4))
    stored = field.vertices
    far = field.origin + (1000.5 + rng.uniform(0, 1, (7, 4))) * field.cell_sizes
    np.testing.assert_array_equal(field.value(far), 0.0)
    np.testing.assert_array_equal(field.gradient(far), 0.0)
    field.coefficient_jacobian(far)
    field.accumulate(far, np.ones(7))
    np.testing.assert_array_equal(field.get_coefficients([[-50, 3, 9, 1000]]), 0.0)
    np.testing.assert_array_equal(field.vertices, stored)


def test_grid_is_unbounded_and_survives_table_growth() -> None:
    rng = np.random.default_rng(80)
    field = HermiteField([0.5, 0.25, 2.0], [0.0, 0.0, 0.0])
    vertices = np.unique(rng.integers(-(2**40), 2**40, (3000, 3)), axis=0)
    values = rng.normal(size=(len(vertices), 8))
    for chunk in np.array_split(np.arange(len(vertices)), 7):  # several re-hashes
        field.set_coefficients(vertices[chunk], values[chunk])
    assert field.n_vertices == len(vertices)
    order = rng.permutation(len(vertices))
    np.testing.assert_array_equal(field.get_coefficients(vertices[order]), values[order])
    # At a vertex F equals its value DOF, however far out (Δ are powers of two: exact positions).
    np.testing.assert_allclose(field.value(field.vertex_coordinates[:50]), values[:50, 0])


# --------------------------------------------------------------------------- (6) I/O


def test_dataset_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(90)
    field = _random_field(rng, 3, _block(-1, 1, 3), reference=True)
    ds = field.to_dataset()
    assert ds["vertex_index"].dims == ("vertex", "dim")
    assert ds["vertex_index"].dtype == np.int64
    assert ds["coefficients"].dims == ("vertex", "type")
    assert list(ds["type"].values) == list(type_labels(3))
    points = _points_in_cells(rng, field, _block(-1, 0, 3), 20)

    path = save_dataset(ds, tmp_path / "field.nc")
    for source in (ds, load_dataset(path)):
        back = HermiteField.from_dataset(source)
        assert back.reference_scaling is True
        np.testing.assert_array_equal(back.cell_sizes, field.cell_sizes)
        np.testing.assert_array_equal(back.origin, field.origin)
        np.testing.assert_array_equal(back.vertices, field.vertices)
        np.testing.assert_array_equal(back.coefficients, field.coefficients)
        np.testing.assert_array_equal(back.value(points), field.value(points))


def test_copy_is_independent() -> None:
    rng = np.random.default_rng(100)
    field = _random_field(rng, 2, _block(0, 1, 2))
    before = field.coefficients
    twin = field.copy()
    twin.add(SparseCoefficients(np.array([[0, 0], [5, 5]]), np.ones((2, 4))))
    np.testing.assert_array_equal(field.coefficients, before)
    assert twin.n_vertices == field.n_vertices + 1


# --------------------------------------------------------------------------- (7) bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cell_sizes": [0.1, 0.0]}, ValueError, "cell_sizes must be > 0"),
        ({"cell_sizes": [0.1, -1.0]}, ValueError, "cell_sizes must be > 0"),
        ({"cell_sizes": [0.1, np.nan]}, ValueError, "cell_sizes must be finite"),
        ({"cell_sizes": []}, ValueError, "non-empty 1-D"),
        ({"cell_sizes": [[0.1]]}, ValueError, "non-empty 1-D"),
        ({"cell_sizes": ["a"]}, TypeError, "sequence of numbers"),
        ({"cell_sizes": [0.1] * (MAX_NDIM + 1)}, ValueError, "ndim must be between"),
        ({"cell_sizes": [0.1, 0.1], "origin": [0.0]}, ValueError, "origin must have one entry"),
        ({"cell_sizes": [0.1], "origin": [np.inf]}, ValueError, "origin must be finite"),
        ({"cell_sizes": [0.1], "reference_scaling": 1}, TypeError, "must be a bool"),
    ],
)
def test_constructor_rejects_bad_input(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        HermiteField(**kwargs)


def test_methods_reject_bad_input() -> None:
    field = HermiteField([0.1, 0.2], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"shape \(n_points, 2\).*points\[None, :\]"):
        field.value([0.1, 0.2])
    with pytest.raises(ValueError, match=r"shape \(n_points, 2\)"):
        field.gradient(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        field.value([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="2\\*\\*52 cells"):
        field.coefficient_jacobian([[1e300, 0.0]])
    with pytest.raises(ValueError, match=r"weights must have shape \(2,\)"):
        field.accumulate(np.zeros((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="weights must be finite"):
        field.accumulate(np.zeros((1, 2)), [np.inf])
    with pytest.raises(TypeError, match="integer vertex indices"):
        field.set_coefficients([[0.5, 1.0]], np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"values must have shape \(1, 4\)"):
        field.set_coefficients([[0, 1]], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="distinct"):
        field.set_coefficients([[0, 1], [0, 1]], np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        field.get_coefficients([[0, 1, 2]])
    with pytest.raises(TypeError, match="SparseCoefficients"):
        field.add((np.zeros((1, 2), dtype=int), np.zeros((1, 4))))
    with pytest.raises(ValueError, match="scale must be finite"):
        field.add(SparseCoefficients(np.zeros((1, 2), dtype=int), np.zeros((1, 4))), np.nan)
    with pytest.raises(ValueError, match="'V' and 'D'"):
        type_index("VX")
    assert field.n_vertices == 0  # nothing was created by the failed calls

    ds = field.to_dataset()
    with pytest.raises(ValueError, match="no variable 'coefficients'"):
        HermiteField.from_dataset(ds.drop_vars("coefficients"))
    no_origin = ds.copy()
    del no_origin.attrs["origin"]
    with pytest.raises(ValueError, match="no attribute 'origin'"):
        HermiteField.from_dataset(no_origin)
    with pytest.raises(ValueError, match="reference_scaling must be 0 or 1"):
        HermiteField.from_dataset(ds.assign_attrs(reference_scaling=2))
    with pytest.raises(ValueError, match="type coordinate"):
        HermiteField.from_dataset(ds.assign_coords(type=["VV", "DV", "VD", "DD"]))
