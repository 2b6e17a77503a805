"""Figure helpers shared by the notebooks (matplotlib, imported lazily by callers)."""

from __future__ import annotations

import numpy as np

__all__ = ["SPECIES_COLORS", "lattice_image", "show_lattice", "mean_with_band"]

#: Colours of the papers' figures: prey black, hunter blue; Rössler A, B, C pink, orange, cyan.
SPECIES_COLORS = {"X": "black", "Y": "tab:blue", "A": "tab:pink", "B": "tab:orange",
                  "C": "tab:cyan"}


def lattice_image(codes: np.ndarray, species: list[str]) -> np.ndarray:
    """RGB image of a 2D code lattice (white = empty)."""
    from matplotlib.colors import to_rgb

    codes = np.asarray(codes)
    palette = np.array([(1.0, 1.0, 1.0)] + [to_rgb(SPECIES_COLORS.get(s, "gray"))
                                           for s in species])
    return palette[codes]


def show_lattice(ax, codes: np.ndarray, species: list[str], title: str = "") -> None:
    """Draw a 2D code lattice on ``ax`` without ticks."""
    ax.imshow(lattice_image(codes, species), interpolation="nearest", origin="lower")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def mean_with_band(ax, time: np.ndarray, values: np.ndarray, color: str, label: str) -> None:
    """Mean over the first axis with a ±1 standard-error band."""
    values = np.asarray(values, dtype=float)
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0]) if values.shape[0] > 1 else 0
    ax.plot(time, mean, color=color, label=label)
    ax.fill_between(time, mean - se, mean + se, color=color, alpha=0.25, linewidth=0)
