"""Numba kernel: the final parallel mean-field step of the eq. 14 sampling, with the moments.

After the Gibbs sweeps every layer holds binary codes.  The original protocol (paper B Fig. 3;
reproduction notes, ``(repro-lv-sampling)=``) then replaces *all* layers at once by their
conditional probabilities given the previous binary state, and computes the parameter moments
``Y_θ`` from those probabilities.  The NumPy reference is
:func:`dbdlab.sampling.mean_field_steps` (``parallel=True``) followed by
:meth:`~dbdlab.models.BoltzmannMachine.moments`; this kernel computes the same numbers (equal to
rounding: the activations are summed in another order and ``exp`` is libm's) in one pass per
chain without the NumPy path's large temporaries.  ``prange`` runs over chains, each chain in one
thread, so the result does not depend on the thread count.

Layout: the layers of a chain are concatenated (unit ``i`` of layer ``l`` at ``start[l] + i``);
``up[row, k]`` is the absolute index of the lower unit that upper unit ``row − up_start[c]`` of
connection ``c`` sees through offset ``k``; ``down[row, k]`` the absolute index of the upper unit
seen by a lower unit, or −1 (open borders).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["mean_field_statistics"]


@njit(parallel=True, cache=True)
def _kernel(codes, start, size, n_species, species_off, bias, weight, up, up_start, down,
            down_start, weight_pairs, probs, moments):
    n_chains = codes.shape[0]
    n_layers = start.size
    n_patch = up.shape[1]
    m_max = probs.shape[2]
    for c in prange(n_chains):
        phi = np.empty(m_max)
        for l in range(n_layers):
            m = n_species[l]
            for i in range(size[l]):
                for a in range(m):
                    phi[a] = bias[c, species_off[l] + a]
                if l > 0:
                    row = up_start[l - 1] + i
                    for k in range(n_patch):
                        code = codes[c, up[row, k]]
                        if code > 0:
                            for a in range(m):
                                phi[a] += weight[c, l - 1, code - 1, a]
                if l < n_layers - 1:
                    row = down_start[l] + i
                    for k in range(n_patch):
                        j = down[row, k]
                        if j >= 0:
                            code = codes[c, j]
                            if code > 0:
                                for a in range(m):
                                    phi[a] += weight[c, l, a, code - 1]
                shift = 0.0
                for a in range(m):
                    shift = max(shift, phi[a])
                total = np.exp(-shift)
                for a in range(m):
                    e = np.exp(phi[a] - shift)
                    probs[c, start[l] + i, a] = e
                    total += e
                for a in range(m):
                    probs[c, start[l] + i, a] /= total
        # moments of the probabilities: bias sums, then Σ_edges p_lower p_upper per weight
        for l in range(n_layers):
            for a in range(n_species[l]):
                acc = 0.0
                for i in range(size[l]):
                    acc += probs[c, start[l] + i, a]
                moments[c, species_off[l] + a] = acc
        for w in range(weight_pairs.shape[0]):
            conn, a, b, index = weight_pairs[w, 0], weight_pairs[w, 1], weight_pairs[w, 2], \
                weight_pairs[w, 3]
            acc = 0.0
            for u in range(size[conn + 1]):
                patch = 0.0
                row = up_start[conn] + u
                for k in range(n_patch):
                    patch += probs[c, up[row, k], a]
                acc += patch * probs[c, start[conn + 1] + u, b]
            moments[c, index] = acc


def _layout(model):
    sizes = np.array([lay.n_units for lay in model.layers], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n_species = np.array([lay.n_species for lay in model.layers], dtype=np.int64)
    species_off = np.array([s.start for s in model.bias_slices], dtype=np.int64)
    ups, downs, up_start, down_start = [], [], [], []
    row_up = row_down = 0
    for c, conn in enumerate(model.connections):
        ups.append(conn.up_to_down + start[c])
        down = conn.down_to_up + start[c + 1]
        down[conn.down_to_up >= sizes[c + 1]] = -1
        downs.append(down)
        up_start.append(row_up)
        down_start.append(row_down)
        row_up += conn.up_to_down.shape[0]
        row_down += conn.down_to_up.shape[0]
    pairs = np.array([(c, a, b, k) for c, triples in enumerate(model.weight_index)
                      for a, b, k in triples], dtype=np.int64).reshape(-1, 4)
    return (start, sizes, n_species, species_off, np.concatenate(ups).astype(np.int64),
            np.array(up_start, dtype=np.int64), np.concatenate(downs).astype(np.int64),
            np.array(down_start, dtype=np.int64), pairs)


def mean_field_statistics(model, theta: np.ndarray,
                          codes: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Parallel mean-field step of every layer from binary ``codes`` and the moments.

    Parameters
    ----------
    model
        A :class:`~dbdlab.models.BoltzmannMachine` with at least two layers.
    theta
        Natural parameters per chain, ``(chains, n_theta)``.
    codes
        Binary states, one ``int8`` array ``(chains, N_l)`` per layer.

    Returns
    -------
    probabilities
        One array ``(chains, N_l, M_l)`` per layer.
    moments
        Uncentered moments of the probabilities, ``(chains, n_theta)``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    n_chains = theta.shape[0]
    start, sizes, n_species, species_off, up, up_start, down, down_start, pairs = \
        _layout(model)
    m_max = int(n_species.max())
    biases, weights = model.unpack_theta(theta)
    bias = np.ascontiguousarray(np.concatenate(biases, axis=1))
    weight = np.zeros((n_chains, len(weights), m_max, m_max))
    for c, w in enumerate(weights):
        weight[:, c, : w.shape[1], : w.shape[2]] = w
    flat = np.ascontiguousarray(np.concatenate([np.asarray(s, dtype=np.int8) for s in codes],
                                               axis=1))
    probs = np.zeros((n_chains, int(sizes.sum()), m_max))
    moments = np.empty((n_chains, model.n_theta))
    _kernel(flat, start, sizes, n_species, species_off, bias, weight, up, up_start, down,
            down_start, pairs, probs, moments)
    layers = [probs[:, s: s + n, :m] for s, n, m in zip(start, sizes, n_species, strict=True)]
    return layers, moments
