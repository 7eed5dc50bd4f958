"""Package-level promises: a light import, a small public surface, lint-clean docs examples."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hpo_notebook as hn


@pytest.mark.slow
def test_import_stays_light():
    code = (
        "import sys, hpo_notebook; "
        "print(sorted(m for m in ('torch', 'botorch', 'dask', 'distributed', 'matplotlib', "
        "'pandas', 'ipywidgets', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_surface_is_documented():
    for name in hn.__all__:
        obj = getattr(hn, name)
        if callable(obj) and not name.startswith("__"):
            assert obj.__doc__, f"hn.{name} has no docstring"
