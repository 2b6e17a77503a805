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
