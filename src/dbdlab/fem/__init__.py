r"""Q3 C1 (tensor-product cubic Hermite) finite elements in d dimensions.

The time-evolution functions of a dynamic Boltzmann distribution, ``dθ_k/dt = F_k(x; u_k)``
(paper A, eq. 27), are parameterised by C1 finite elements (paper A §III B, eq. 34):
``F(x) = Σ_l u_l f_l(x)``. The learning algorithm needs three things from this module: the value
``F`` (forward Euler solve), the derivative ``∂F/∂x`` with respect to the domain coordinates (the
``ψ`` terms of the adjoint equations, paper A eq. 31, paper B eqs. 15–17, reproduction notes:
repro-adjoint-bug) and the derivative ``∂F/∂u`` with respect to the coefficients (the sensitivity,
paper A eq. 30, reproduction notes: repro-learning-step). :class:`HermiteField` provides all three,
vectorised over points.

Grid (reproduction notes: repro-fem)
---------------------------
Dimension ``k`` has a cell size ``Δ_k > 0`` and an origin ``z0_k``; the vertices are
``z0 + n·Δ`` for every integer vector ``n`` — the grid is unbounded. A coordinate ``x_k`` lies in
cell ``n_k = trunc((x_k − z0_k)/Δ_k) − [x_k < z0_k]`` at fraction
``f_k = (x_k − (z0_k + n_k Δ_k))/Δ_k``. This is the authors' rule (Q3 ``Dimension1D``): it equals
``floor`` except that a point exactly on a vertex below the origin is put into the lower cell
with fraction 1 instead of the upper cell with fraction 0. Because F is C1 this changes neither
F nor ∂F/∂x, only which (zero-weight) vertices ``∂F/∂u`` lists.

Coefficients are stored sparsely per vertex. A vertex that was never written has all
coefficients 0, so F ≡ 0 far from the data. Reading (:meth:`~HermiteField.value`,
:meth:`~HermiteField.gradient`, :meth:`~HermiteField.coefficient_jacobian`,
:meth:`~HermiteField.accumulate`, :meth:`~HermiteField.get_coefficients`) never creates a
vertex; only :meth:`~HermiteField.add` and :meth:`~HermiteField.set_coefficients` do.

Basis (reproduction notes: repro-fem)
--------------------------------
In one dimension a cell has two vertices (local index ``ℓ = 0`` left, ``1`` right) and each
vertex carries a value DOF (type ``V``) and a derivative DOF (type ``D``). With the cubic
Hermite polynomials of the fraction ``f`` (:func:`hermite_basis`)::

    g_V0 = 1 − 3f² + 2f³    g_V1 = 3f² − 2f³    g_D0 = f − 2f² + f³    g_D1 = f³ − f²

the d-dimensional basis is the tensor product: a vertex has ``2^d`` coefficients, one per type
vector ``τ ∈ {V, D}^d``, stored at the flat index ``Σ_{k: τ_k = D} 2^(d−1−k)`` (dimension 0 is
the most significant bit, all-V = 0, all-D = 2^d − 1; :func:`type_index`). The ``2^d`` vertices
of a cell use the same bit order for their local index ``ℓ ∈ {0,1}^d``, so a cell has ``4^d``
active basis functions (4096 for the 6-D LV domain, reproduction notes: repro-fem-domains)::

    F(x) = Σ_ℓ Σ_τ u[n + ℓ, τ] · Π_k b_k(ℓ_k, τ_k; f_k).

Value and all first derivatives are continuous across cell faces because neighbouring cells
share vertices (C1).

Physical units versus the authors' convention (reproduction notes: repro-fem)
-------------------------------------------------------------------------------------
``reference_scaling=False`` (default, *correct*): every DOF means what it says in the physical
coordinates ``x``. The value DOF is ``F`` at the vertex and the DOF of type ``τ`` is the mixed
partial derivative ``Π_{k: τ_k = D} ∂/∂x_k F`` at the vertex, so the 1-D factors are
``b(ℓ, V) = g_Vℓ(f)`` and ``b(ℓ, D) = Δ·g_Dℓ(f)``, and :meth:`~HermiteField.gradient` returns
the true ``∂F/∂x_k``, which includes the chain-rule factor ``1/Δ_k``.

``reference_scaling=True`` (*faithful* to Q3 ``grid.cpp``/``basis_func.cpp`` and DBZ
``diff_eq_rhs.cpp``, all tags): the D factor is ``g_Dℓ(f)`` without ``Δ``, i.e. derivative DOFs
are derivatives with respect to the fraction ``f`` (``Δ_k`` times the physical derivative), and
:meth:`~HermiteField.gradient` returns ``∂F/∂f_k = Δ_k·∂F/∂x_k`` — the authors' "∂F/∂θ", which
lacks the ``1/Δ`` factor. The two conventions differ in two independent ways:

1. *Parameterisation* (not a bug). Both span the same function space; the coefficient vectors
   are related by ``u_ref[v, τ] = u_phys[v, τ] · Π_{k: τ_k = D} Δ_k``
   (:meth:`~HermiteField.rescaled` converts, leaving F unchanged). The basis functions differ
   by the inverse factor, so ``∂F/∂u_ref = ∂F/∂u_phys / Π_{k: τ_k = D} Δ_k``. Plain SGD is
   *not* invariant under this change of variables: with the same learning rate, a step on a
   DOF whose type has D in the dimensions ``K`` changes F by ``Π_{k∈K} Δ_k^{-2}`` times more
   in the authors' parameterisation (100× per D-dimension for Δ = 0.1). The published
   learning rates were tuned for that parameterisation.
2. *Derivative with respect to x* (a bug in the authors' code). The ``ψ`` terms of the adjoint
   equations use ``∂F/∂θ``; the authors' code supplies ``Δ·∂F/∂θ`` (10× too small for Δ = 0.1,
   2× or 20× for the annihilation grids). With ``reference_scaling=True`` this module returns
   that same quantity, so that the published runs can be reproduced; the true derivative of the
   same field is ``gradient(points) / cell_sizes``.

For one function represented in both conventions (``g = f.rescaled(True)``) the relations
``g.value(x) == f.value(x)`` and ``g.gradient(x) == f.gradient(x) * cell_sizes`` hold up to
rounding, and ``∂F/∂u`` of ``g`` is that of ``f`` divided by ``Π_{k: τ_k = D} Δ_k``.

Implementation notes
--------------------
Vertices are found through an open-addressing hash table keyed by a 64-bit hash of their
integer index vector, every hit verified against the stored indices (so the grid is exactly
unbounded and hash collisions only cost time). Evaluation makes no Python-level pass over
points or vertices: the cells of all points are deduplicated, their ``2^d`` vertex rows found in
one Numba lookup, and a Numba kernel contracts the ``4^d`` coefficients of each point's cell
one dimension at a time, reading them straight from storage (``(4/3)·4^d`` multiply-adds per
point for F, about ``3·4^d`` for F and ∂F/∂x together).
"""

from .basis import MAX_NDIM, hermite_basis, type_index, type_labels
from .field import CoefficientJacobian, HermiteField, SparseCoefficients

__all__ = [
    "MAX_NDIM",
    "CoefficientJacobian",
    "HermiteField",
    "SparseCoefficients",
    "hermite_basis",
    "type_index",
    "type_labels",
]
