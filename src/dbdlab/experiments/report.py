"""What each chapter of the book states about its own run: a banner and a comparison table.

Every notebook opens with a short banner (profile, sizes, wall time of the run that produced the
page) and a "paper vs this book" table that sets each number the paper quotes or plots next to
the value this run computed, with a one-line reason for any difference.  Both are computed at
the end of the notebook and *glued* (myst-nb's glue protocol: a display output with the mime
type prefixed by :data:`GLUE_PREFIX` and a ``scrapbook`` metadata entry naming it), so that the
chapter's first Markdown cell can show them with ``{glue} <name>`` in the book; nothing is
displayed in the notebook itself.  This module needs neither myst-nb nor Jupyter Book.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["GLUE_PREFIX", "Comparison", "comparison_table", "glue_html", "run_banner"]

GLUE_PREFIX = "application/papermill.record/"


@dataclass(frozen=True)
class Comparison:
    """One row of a chapter's "paper vs this book" table.

    Attributes
    ----------
    quantity
        What is compared, with its unit where it has one.
    paper
        The paper's value as the paper states it (or "not quoted" / "read from Fig. N").
    book
        This run's value, formatted from the run's own results.
    note
        One line: why the two differ (or what agreement means).
    """

    quantity: str
    paper: str
    book: str
    note: str

    def __post_init__(self) -> None:
        for name in ("quantity", "paper", "book", "note"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"Comparison.{name} must be a non-empty string, got {value!r}")


def run_banner(profile: str, sizes: Mapping[str, str], seconds: float, backend: str) -> str:
    """HTML banner: the profile, the sizes and the wall time of the run behind a chapter.

    Parameters
    ----------
    profile
        Profile the notebook ran with (``"quick"`` or ``"paper"``).
    sizes
        Short label → value, e.g. ``{"Lotka–Volterra runs": "100"}``.
    seconds
        Wall time of the notebook's cells.
    backend
        Simulation/sampling backend that was used.
    """
    if not isinstance(profile, str) or not profile:
        raise ValueError(f"profile must be a non-empty string, got {profile!r}")
    if not isinstance(seconds, int | float) or not seconds >= 0:
        raise ValueError(f"seconds must be a non-negative number, got {seconds!r}")
    which = {
        "paper": "the papers' sizes",
        "quick": "the quick preview: smaller ensembles and shorter training than the papers",
    }.get(profile, "a custom profile")
    parts = "; ".join(f"{html.escape(k)} {html.escape(str(v))}" for k, v in sizes.items())
    minutes, rest = divmod(float(seconds), 60.0)
    wall = f"{int(minutes)} min {rest:.0f} s" if minutes else f"{rest:.1f} s"
    return (
        '<div class="run-banner">'
        f"<strong>This page was computed with the <code>{html.escape(profile)}</code> profile"
        f"</strong> ({html.escape(which)}): {parts}. Wall time of the notebook: {wall} "
        f"(backend {html.escape(backend)})."
        "</div>"
    )


def comparison_table(rows: Sequence[Comparison]) -> str:
    """HTML table of ``rows``: quantity, paper, this book, why they differ."""
    if not rows or not all(isinstance(r, Comparison) for r in rows):
        raise TypeError("rows must be a non-empty sequence of Comparison")
    head = "".join(f"<th>{h}</th>" for h in ("quantity", "paper", "this book", "why"))
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(v)}</td>" for v in (r.quantity, r.paper, r.book, r.note)
        )
        + "</tr>"
        for r in rows
    )
    return (
        '<table class="table paper-vs-book"><thead><tr>'
        f"{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def glue_html(name: str, markup: str) -> None:
    """Store ``markup`` under ``name`` for ``{glue} name`` in the book; display nothing.

    The output is what ``myst_nb.glue(name, IPython.display.HTML(markup), display=False)``
    writes.
    """
    from IPython.display import display

    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier, got {name!r}")
    display(
        {GLUE_PREFIX + "text/html": markup, GLUE_PREFIX + "text/plain": name},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}},
    )
