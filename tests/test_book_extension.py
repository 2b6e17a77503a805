"""The book's Sphinx extension (book/_ext/dbdlab_book.py): what it changes in rendered pages."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("sphinx")

_PATH = Path(__file__).resolve().parents[1] / "book" / "_ext" / "dbdlab_book.py"
_SPEC = importlib.util.spec_from_file_location("dbdlab_book", _PATH)
dbdlab_book = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(dbdlab_book)


def test_nbval_markers_are_removed_and_other_lines_kept():
    source = "# NBVAL_CHECK_OUTPUT\nprint(1)\n    # NBVAL_IGNORE_OUTPUT\nx = '# NBVAL_ in a string'"
    assert dbdlab_book.strip_nbval_markers(source) == "print(1)\nx = '# NBVAL_ in a string'"
    assert dbdlab_book.strip_nbval_markers("print(2)  # a comment") == "print(2)  # a comment"


def test_literal_blocks_lose_markers_and_keep_highlighting():
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    doc = new_document("x", get_default_settings(Parser))
    text = "# NBVAL_CHECK_OUTPUT\nprint(1)"
    doc += nodes.literal_block(text, text)
    dbdlab_book._hide_nbval_markers(None, doc)
    block = next(iter(doc.findall(nodes.literal_block)))
    assert block.astext() == "print(1)"
    assert block.rawsource == block.astext()


def test_duplicate_scripts_are_written_once():
    def js(filename, **attributes):
        return SimpleNamespace(filename=filename, attributes=attributes)

    scripts = [js("a.js"), js(None, body="const X = 1"), js("", body="const X = 1"),
               js("a.js"), js("b.js", defer="defer"), js(None, body="const Y = 1")]
    context = {"script_files": scripts}
    dbdlab_book._drop_duplicate_scripts(None, "page", "page.html", context, None)
    kept = [(s.filename, s.attributes) for s in context["script_files"]]
    assert kept == [("a.js", {}), (None, {"body": "const X = 1"}),
                    ("b.js", {"defer": "defer"}), (None, {"body": "const Y = 1"})]


def _executed(duration, parameters, exception=None):
    return {"kernelspec": {"name": "python3"},
            "papermill": {"duration": duration, "parameters": parameters,
                          "exception": exception}}


def test_profile_of_papermill_parameters():
    assert dbdlab_book.profile_of({}) == "quick"
    assert dbdlab_book.profile_of(None) == "quick"
    assert dbdlab_book.profile_of({"profile": "paper", "train_steps": 190}) == "paper"
    assert dbdlab_book.profile_of({"train_steps": 3}) == "custom parameters"


def test_notebook_wall_times_quick_build():
    rows, missing = dbdlab_book.notebook_wall_times(
        [("01_simulation", _executed(11.4, {})), ("02_maxent_init", _executed(20.6, {}))])
    assert rows == [["01_simulation", "quick", "11", "0.2"],
                    ["02_maxent_init", "quick", "21", "0.3"],
                    ["total", "quick", "32", "0.5"]]
    assert missing == []


def test_notebook_wall_times_paper_build_with_missing_notebooks():
    rows, missing = dbdlab_book.notebook_wall_times([
        ("01_simulation", _executed(88.76, {"profile": "paper", "lv_runs": 100})),
        ("04_rossler", _executed(661.5, {"profile": "paper", "train_steps": 10000})),
        ("05_lotka_volterra_dbm", None),
        # present but not executed by papermill (e.g. a copy of the committed notebook)
        ("06_closure_analysis", {"kernelspec": {"name": "python3"}}),
    ])
    assert rows == [["01_simulation", "paper", "89", "1.5"],
                    ["04_rossler", "paper", "662", "11.0"],
                    ["total", "paper", "750", "12.5"]]
    assert missing == ["05_lotka_volterra_dbm", "06_closure_analysis"]


def test_notebook_wall_times_mixed_profiles_and_failures():
    rows, missing = dbdlab_book.notebook_wall_times([
        ("01_simulation", _executed(60, {"profile": "paper"})),
        ("03_annihilation_rbm", _executed(30, {}, exception=True)),
    ])
    assert rows[1] == ["03_annihilation_rbm (failed)", "quick", "30", "0.5"]
    assert rows[-1] == ["total", "mixed (paper, quick)", "90", "1.5"]
    assert missing == []


def test_notebook_wall_times_nothing_run():
    assert dbdlab_book.notebook_wall_times([("01_simulation", None)]) == ([], ["01_simulation"])
    assert dbdlab_book.notebook_wall_times([]) == ([], [])
