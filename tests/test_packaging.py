"""Release metadata: an SPDX license, type hints shipped, and one repository slug everywhere.

Building and installing the wheel is checked by ``make dist-check`` in CI (.ci/dist_check.sh).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# GitHub and Binder links name a repository as owner/name
_LINK = re.compile(
    r"(?:github\.com|mybinder\.org/v2/gh)/([\w.-]+/[\w.-]+?)(?:\.git)?(?=[/?#)\s]|$)"
)


def _slug() -> str:
    url = PROJECT["urls"]["Repository"]
    (slug,) = _LINK.findall(url)
    return slug


def _documents() -> list[Path]:
    docs = [p for p in (ROOT / "docs").rglob("*.md") if "results" not in p.parts]
    return [ROOT / "README.md", ROOT / "mkdocs.yml", *docs]


def test_the_license_is_an_spdx_expression_with_its_file():
    assert PROJECT["license"] == "MIT"  # a string is an SPDX expression (PEP 639), not a table
    assert PROJECT["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_the_package_ships_its_type_hints():
    assert (ROOT / "hpo_notebook" / "py.typed").exists()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in data["package-data"]["hpo_notebook"]


def test_every_repository_link_names_the_slug_defined_in_pyproject():
    slug = _slug()
    found = {
        (str(p.relative_to(ROOT)), s) for p in _documents() for s in _LINK.findall(p.read_text())
    }
    # links to other projects are fine; any that looks like ours must be ours exactly
    ours = {(where, s) for where, s in found if "hpo" in s.lower().replace("-", "_")}
    assert {s for _, s in ours} == {slug}, ours
    # the README's Binder badge and the docs' Binder link are among them
    binder = f"mybinder.org/v2/gh/{slug}/"
    assert binder in (ROOT / "README.md").read_text()
    assert binder in (ROOT / "docs" / "notebooks" / "index.md").read_text()
    assert f"repo_url: https://github.com/{slug}\n" in (ROOT / "mkdocs.yml").read_text()


def test_the_slug_check_catches_a_link_to_another_name():
    text = "[b](https://mybinder.org/v2/gh/hpo-notebook/hpo-notebook/main?urlpath=lab) and "
    text += "https://github.com/pytorch/botorch (BoTorch)"
    assert _LINK.findall(text) == ["hpo-notebook/hpo-notebook", "pytorch/botorch"]
    assert _LINK.findall(text)[0] != _slug()
