"""Chapter banners and paper-vs-book tables (dbdlab.experiments.report)."""

import json
from pathlib import Path

import pytest

from dbdlab.experiments.report import (
    GLUE_PREFIX,
    Comparison,
    comparison_table,
    glue_html,
    run_banner,
)


def test_banner_names_profile_sizes_time_and_backend_and_escapes_html():
    html = run_banner("paper", {"runs": "100", "<lattice>": "40 × 40"}, 125.0, "numba")
    assert "<code>paper</code>" in html and "the papers&#x27; sizes" in html
    assert "runs 100; &lt;lattice&gt; 40 × 40" in html
    assert "2 min 5 s" in html and "backend numba" in html
    assert "12.5 s" in run_banner("quick", {}, 12.5, "numba")


def test_table_rows_in_order_and_escaped():
    rows = [Comparison("crossing (prey)", "≈550", "507", "a <different> ensemble"),
            Comparison("runs", "100", "20", "quick profile")]
    html = comparison_table(rows)
    assert html.index("crossing (prey)") < html.index("runs")
    assert "a &lt;different&gt; ensemble" in html
    assert html.count("<tr>") == 3  # header and two rows


@pytest.mark.parametrize("bad", [("", "1", "2", "why"), ("q", "1", "2", "   "), ("q", 1, "2", "w")])
def test_comparison_rejects_empty_or_non_string_cells(bad):
    with pytest.raises(ValueError, match="Comparison"):
        Comparison(*bad)


def test_bad_banner_and_table_input():
    with pytest.raises(ValueError, match="seconds"):
        run_banner("quick", {}, -1.0, "numba")
    with pytest.raises(ValueError, match="profile"):
        run_banner("", {}, 1.0, "numba")
    with pytest.raises(TypeError, match="Comparison"):
        comparison_table([])
    with pytest.raises(ValueError, match="identifier"):
        glue_html("not a name", "<p/>")


def test_glue_output_is_what_myst_nb_reads(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda data, raw, metadata: shown.append((data, raw, metadata)))
    glue_html("run_banner", "<div>x</div>")
    (data, raw, metadata), = shown
    assert raw is True
    assert data[GLUE_PREFIX + "text/html"] == "<div>x</div>"
    assert metadata == {"scrapbook": {"name": "run_banner", "mime_prefix": GLUE_PREFIX}}


CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0[1-9]_*.ipynb"))


def test_the_book_has_six_chapters():
    assert [p.stem[:2] for p in CHAPTERS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_opens_with_its_banner_and_table_and_glues_both(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# ")
    assert "```{glue} run_banner" in first and "```{glue} paper_vs_book" in first
    code = [c for c in cells if c["cell_type"] == "code"]
    source = "\n".join("".join(c["source"]) for c in code)
    assert "notebook_start = time.perf_counter()" in source
    assert "Comparison(" in source
    # the committed outputs (quick profile) hold both glued items
    glued = {o["metadata"]["scrapbook"]["name"] for c in code for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert {"run_banner", "paper_vs_book"} <= glued
