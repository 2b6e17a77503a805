"""Small analyses of simulated trajectories used by the notebooks."""

from __future__ import annotations

import numpy as np

__all__ = ["self_intersections", "closest_replica"]


def self_intersections(x: np.ndarray, y: np.ndarray, min_separation: int = 2) -> list[dict]:
    """Points where the polyline ``(x[k], y[k])`` crosses itself (paper B Fig. 1).

    Segments ``k → k+1`` and ``m → m+1`` with ``m − k ≥ min_separation`` are intersected exactly.

    Returns
    -------
    list of dict
        ``{"i": k, "j": m, "ti": k + s, "tj": m + t, "point": (x, y)}`` for each crossing, where
        ``s, t ∈ [0, 1)`` locate the crossing on the two segments (fractional time indices).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1D arrays of the same length")
    p = np.stack([x[:-1], y[:-1]], axis=1)
    r = np.stack([x[1:] - x[:-1], y[1:] - y[:-1]], axis=1)
    k, m = np.triu_indices(len(p), k=min_separation)
    cross = r[k, 0] * r[m, 1] - r[k, 1] * r[m, 0]
    diff = p[m] - p[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (diff[:, 0] * r[m, 1] - diff[:, 1] * r[m, 0]) / cross
        t = (diff[:, 0] * r[k, 1] - diff[:, 1] * r[k, 0]) / cross
    hit = (cross != 0) & (s >= 0) & (s < 1) & (t >= 0) & (t < 1)
    out = []
    for idx in np.flatnonzero(hit):
        point = p[k[idx]] + s[idx] * r[k[idx]]
        out.append({"i": int(k[idx]), "j": int(m[idx]), "ti": float(k[idx] + s[idx]),
                    "tj": float(m[idx] + t[idx]), "point": (float(point[0]), float(point[1]))})
    return out


def closest_replica(counts: np.ndarray, target: np.ndarray) -> int:
    """Index of the replica whose count vector is closest (Euclidean) to ``target``.

    ``counts`` has shape ``(replica, species)``.
    """
    return int(np.argmin(((np.asarray(counts) - np.asarray(target)) ** 2).sum(axis=1)))
