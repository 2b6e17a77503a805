"""Sphinx extension of the dbdlab book: reader-facing fixes applied while the book is built.

- Notebook regression markers (``# NBVAL_CHECK_OUTPUT`` and the other ``# NBVAL_*`` comments
  that nbval reads) are removed from the rendered code cells: they steer the tests, not the
  reader.  The notebooks themselves, and their download links, keep them.
- Scripts registered twice are written once.  sphinx-thebe and sphinx-togglebutton register
  their inline configuration scripts on every ``env-before-read-docs`` event, which Jupyter
  Book emits twice; the second ``const THEBE_JS_URL`` is a redeclaration that the browser
  reports as an error on every page.
- The book's MathJax is a local copy (``make mathjax`` installs it from the npm registry into
  ``book/_assets/mathjax``), so that formulas render without a network connection; building
  without it is an error rather than a book whose formulas show as raw LaTeX.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

NBVAL_PREFIX = "# NBVAL_"


def strip_nbval_markers(text: str) -> str:
    """``text`` without its lines that are nbval markers (``# NBVAL_...``)."""
    lines = text.split("\n")
    kept = [line for line in lines if not line.lstrip().startswith(NBVAL_PREFIX)]
    return "\n".join(kept) if len(kept) < len(lines) else text


def _hide_nbval_markers(app: Sphinx, doctree: nodes.document) -> None:
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        stripped = strip_nbval_markers(text)
        if stripped != text:
            # rawsource must match the text, or the HTML writer skips syntax highlighting.
            block.rawsource = stripped
            block.children = [nodes.Text(stripped)]


def _drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique: list[Any] = []
    for script in scripts:
        # Inline scripts come with filename None or "" depending on who added them.
        key = (str(script.filename or ""), tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _check_mathjax(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    path = app.config.mathjax_path
    if "://" in path:
        return
    for static in app.config.html_static_path:
        if (Path(app.srcdir) / static / path).is_file():
            return
    raise ExtensionError(
        f"the local MathJax ({path}) is missing from html_static_path "
        f"{app.config.html_static_path}; run `make mathjax` first"
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _check_mathjax)
    app.connect("doctree-read", _hide_nbval_markers)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
