"""environment.yml must list the same packages and version specifiers as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# Extras mirrored in environment.yml; `gpu` (a CUDA-specific pip wheel) and `dev` (an alias of
# test + docs) are not.
MIRRORED_EXTRAS = ("test", "docs")
# Conda-forge package names that differ from the PyPI names used in pyproject.toml, as
# {"pypi-name": "conda-name"}; every current dependency has the same name on both.
PIP_TO_CONDA: dict[str, str] = {}
CONDA_ONLY = {"python", "pip"}
CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<spec>.*)$")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _pip_requirements() -> dict[str, SpecifierSet]:
    project = _pyproject()["project"]
    lines = list(project["dependencies"])
    for extra in MIRRORED_EXTRAS:
        lines += project["optional-dependencies"][extra]
    requirements = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        requirements[PIP_TO_CONDA.get(name, name)] = req.specifier
    return requirements


def _conda_requirements() -> tuple[dict[str, str], list]:
    conda: dict[str, str] = {}
    pip_section: list = []
    for entry in _environment()["dependencies"]:
        if isinstance(entry, dict):
            pip_section += entry.get("pip", [])
            continue
        match = CONDA_SPEC.match(entry.strip())
        assert match, f"environment.yml: cannot parse dependency {entry!r}"
        conda[canonicalize_name(match["name"])] = match["spec"].strip()
    return conda, pip_section


def test_same_packages_and_specifiers():
    pip = _pip_requirements()
    conda, _ = _conda_requirements()
    conda_packages = {name: spec for name, spec in conda.items() if name not in CONDA_ONLY}
    missing = sorted(set(pip) - set(conda_packages))
    extra = sorted(set(conda_packages) - set(pip))
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    drift = {
        name: (str(pip[name]), conda_packages[name])
        for name in pip
        if pip[name] != SpecifierSet(conda_packages[name])
    }
    assert not drift, f"version specifiers differ (pyproject, environment.yml): {drift}"


def test_python_and_editable_install():
    conda, pip_section = _conda_requirements()
    python = conda["python"].lstrip("=")
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert Version(python) in requires, f"python={python} violates requires-python {requires}"
    assert "-e ." in pip_section
    assert _environment()["channels"] == ["conda-forge"]
