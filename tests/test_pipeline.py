"""Tests for dbdlab.pipeline and the ``dbdlab`` command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from dbdlab import cli, pipeline

STEM = "01_simulation"
ROOT = Path(__file__).resolve().parent.parent


def _write_notebook(root: Path, stem: str, *cells: nbformat.NotebookNode) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = list(cells)
    path = root / "notebooks" / f"{stem}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _parameters_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


@pytest.fixture
def profiles(monkeypatch):
    """Profiles of our own, so the tests do not depend on the real notebook's parameters."""
    table = {"quick": {STEM: {}}, "paper": {STEM: {"profile": "paper", "n_steps": 7}}}
    monkeypatch.setattr(pipeline, "PROFILES", table)
    return table


@pytest.fixture
def passing(tmp_path, profiles) -> Path:
    return _write_notebook(
        tmp_path,
        STEM,
        nbformat.v4.new_markdown_cell("# Tiny"),
        _parameters_cell('profile = "quick"\nn_steps = 3'),
        nbformat.v4.new_code_cell(
            "import json, pathlib\n"
            "pathlib.Path('data').mkdir(exist_ok=True)\n"
            "pathlib.Path('data/seen.json').write_text(json.dumps([profile, n_steps]))\n"
            "print(profile, n_steps)\n"
            "import os\n"
            "print([os.environ.get(k) for k in "
            "('DBDLAB_PROFILE', 'DBDLAB_NOTEBOOK', 'DBDLAB_PARAMETERS')])"
        ),
    )


def _stdout(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"profile": "huge"}, "quick, paper"),
        ({"notebooks": ["99_nonsense"]}, "01_simulation, 02_maxent_init"),
        ({"notebooks": ["02_maxent_init"]}, STEM),  # known name, but no file
    ],
)
def test_bad_names_raise_before_running(tmp_path, passing, kwargs, valid):
    out = tmp_path / "out"
    with pytest.raises(ValueError) as info:
        pipeline.run_notebooks(cwd=tmp_path, output_dir=out, progress=False, **kwargs)
    assert valid in str(info.value)
    assert not out.exists()
    assert not (tmp_path / "data").exists()


def test_parameters_are_injected_and_cwd_is_root(tmp_path, passing, capsys):
    source_before = passing.read_text()
    written = pipeline.run_notebooks(profile="paper", cwd=tmp_path, output_dir="book/nb")
    assert written == [tmp_path / "book" / "nb" / f"{STEM}.ipynb"]
    assert "paper 7" in _stdout(written[0])
    # The kernel was told which run it is (dbdlab.store.provenance records it); the caller's
    # environment is left as it was.
    assert f"['paper', '{STEM}', '{{\"n_steps\": 7, \"profile\": \"paper\"}}']" in _stdout(
        written[0])
    assert "DBDLAB_NOTEBOOK" not in os.environ
    # The kernel ran in the repository root given as cwd.
    assert json.loads((tmp_path / "data" / "seen.json").read_text()) == ["paper", 7]
    assert passing.read_text() == source_before
    line = capsys.readouterr().out.strip()
    assert STEM in line and "profile=paper" in line and line.endswith(" s")


def test_inplace_refreshes_source_without_timing_metadata(tmp_path, passing):
    pipeline.run_notebooks(
        profile="quick", cwd=tmp_path, output_dir="out", inplace=True, progress=False
    )
    nb = nbformat.read(passing, as_version=4)
    assert "quick 3" in _stdout(passing)
    assert "papermill" not in nb.metadata
    assert all("execution" not in cell.metadata for cell in nb.cells)
    assert [p.name for p in passing.parent.iterdir()] == [passing.name]


def test_failing_notebook_names_notebook_and_cell(tmp_path, profiles, capsys):
    source = _write_notebook(
        tmp_path,
        STEM,
        _parameters_cell("profile = 'quick'"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("# divide\ny = x / 0"),
    )
    before = source.read_text()
    with pytest.raises(pipeline.NotebookExecutionError) as info:
        pipeline.run_notebooks(cwd=tmp_path, output_dir="out", inplace=True)
    message = str(info.value)
    assert STEM in message
    assert "cell 2" in message and "# divide" in message
    assert "ZeroDivisionError" in message
    assert info.value.cell_index == 2
    assert info.value.output_path == tmp_path / "out" / f"{STEM}.ipynb"
    assert info.value.output_path.exists()
    assert source.read_text() == before  # inplace never writes a failed run back
    assert "FAILED" in capsys.readouterr().out


def test_cli_reports_errors_on_one_line(tmp_path, passing, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--profile", "huge"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown profile 'huge'" in err
    assert cli.main(["run", "no_such_notebook.ipynb"]) == 1
    assert "no_such_notebook" in capsys.readouterr().err


def test_cli_info(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dbdlab ")
    for field in ("backend:", "gpu:", "numba threads:"):
        assert field in out


def test_papermill_reads_every_parameter_of_every_notebook():
    # papermill parses the parameters cell line by line (for `papermill --help-notebook` and
    # type inference); a comment it cannot parse hides the parameter and prints a warning in
    # every `dbdlab run`
    import ast

    from papermill.translators import PythonTranslator

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"]
                 if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(cells) == 1, f"{path.name}: one cell tagged 'parameters'"
        source = "".join(cells[0]["source"])
        assigned = [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
        parsed = [p.name for p in PythonTranslator.inspect({"source": source})]
        assert parsed == assigned, f"{path.name}: papermill reads {parsed}, not {assigned}"
