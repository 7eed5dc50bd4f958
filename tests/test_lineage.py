"""Tests of hpo_notebook/lineage.py: versions, git state and fingerprints."""

from __future__ import annotations

import hashlib
import inspect
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hpo_notebook.lineage import (
    code_fingerprint,
    fingerprint,
    git_info,
    package_versions,
    process_lineage,
    study_lineage,
)

# ---------------------------------------------------------------------- versions


def test_versions_of_the_stack():
    import botorch
    import dask
    import torch

    versions = package_versions()
    assert versions["torch"] == torch.__version__
    assert versions["botorch"] == botorch.__version__
    assert versions["dask"] == dask.__version__
    assert versions["hpo-notebook"] == "0.1.0"


def test_missing_package_is_none():
    assert package_versions(("surely-not-installed-pkg-xyz", "numpy")) == {
        "surely-not-installed-pkg-xyz": None,
        "numpy": np.__version__,
    }


def test_study_lineage_records_versions_seed_and_code():
    import torch

    def trial_fn(params, trial):
        return params["x"]

    lin = study_lineage(trial_fn, seed=17, extra={"data": "sha256:abc"})
    assert lin["seed"] == 17
    assert lin["packages"]["torch"] == torch.__version__
    assert lin["packages"]["botorch"] is not None and lin["packages"]["dask"] is not None
    assert lin["code"]["name"].endswith("trial_fn")
    assert lin["user"] == {"data": "sha256:abc"}
    assert "user" not in study_lineage(None, 1, None)
    assert study_lineage(None, 1, None)["code"] is None


def test_process_lineage_is_the_current_process():
    import os

    import torch

    lin = process_lineage()
    assert lin["pid"] == os.getpid()
    assert lin["torch"] == torch.__version__


# ---------------------------------------------------------------------- git

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str) -> str:
    r = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout.strip()


@pytest.fixture
def no_parent_repo(tmp_path, monkeypatch):
    """Stop git from finding a repository above ``tmp_path``."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return tmp_path


@needs_git
def test_git_info_clean_then_dirty(no_parent_repo):
    repo = no_parent_repo / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('v1')\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")

    info = git_info(repo)
    assert info is not None
    assert info["commit"] == head and len(head) == 40
    assert info["branch"] == "main"
    assert info["dirty"] is False
    assert Path(info["root"]).resolve() == repo.resolve()

    # a file path means its folder; an untracked file does not make the tree dirty
    (repo / "scratch.txt").write_text("untracked\n")
    assert git_info(repo / "train.py") == info

    (repo / "train.py").write_text("print('v2')\n")
    dirty = git_info(str(repo))
    assert dirty is not None
    assert dirty["dirty"] is True
    assert dirty["commit"] == head


@needs_git
def test_git_info_outside_a_repo_is_none(no_parent_repo):
    plain = no_parent_repo / "plain"
    plain.mkdir()
    assert git_info(plain) is None
    assert git_info(no_parent_repo / "does-not-exist") is None


# ---------------------------------------------------------------------- fingerprint


def test_fingerprint_of_file_equals_fingerprint_of_its_bytes(tmp_path):
    data = bytes(range(256)) * 5000  # > 1 MiB: read in several chunks
    path = tmp_path / "train.csv"
    path.write_bytes(data)
    fp = fingerprint(path)
    assert fp == "sha256:" + hashlib.sha256(data).hexdigest()
    assert fingerprint(str(path)) == fp
    assert fingerprint(data) == fp
    assert fingerprint(bytearray(data)) == fp
    assert fingerprint(memoryview(data)) == fp

    path.write_bytes(data[:-1] + b"\x00")
    assert fingerprint(path) != fp
    assert fingerprint(path) == fingerprint(data[:-1] + b"\x00")


def test_fingerprint_of_str_is_a_path_and_bytes_are_content():
    with pytest.raises(FileNotFoundError, match="no file at 'héllo'"):
        fingerprint("héllo")  # a typo in a data path must not pass for a fingerprint
    assert fingerprint(b"some bytes") == "sha256:" + hashlib.sha256(b"some bytes").hexdigest()
    assert fingerprint(b"a") != fingerprint(b"b")


def test_fingerprint_of_arrays():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    fp = fingerprint(a)
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 64
    assert fingerprint(a.copy()) == fp
    assert fingerprint(np.asfortranarray(a)) == fp  # same contents, other memory layout
    b = a.copy()
    b[2, 3] += 1
    assert fingerprint(b) != fp
    assert fingerprint(a.reshape(4, 3)) != fp  # same bytes, other shape
    assert fingerprint(a.astype(np.float32)) != fp
    assert fingerprint(np.zeros(2, np.int64)) != fingerprint(np.zeros(2, np.float64))
    assert fingerprint(a) != fingerprint(a.tobytes())


@pytest.mark.parametrize(
    ("obj", "name"), [(123, "int"), (1.5, "float"), (None, "NoneType"), ({"a": 1}, "dict")]
)
def test_fingerprint_rejects_other_objects(obj, name):
    with pytest.raises(
        TypeError, match=rf"fingerprint: expected a file path, bytes, an array .*, got {name}"
    ):
        fingerprint(obj)


def test_fingerprint_missing_path_object_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.csv"):
        fingerprint(tmp_path / "missing.csv")


# ---------------------------------------------------------------------- code fingerprint


def test_code_fingerprint_of_a_local_function():
    def objective(params, trial):
        return {"loss": params["x"] ** 2}

    def other(params, trial):
        return {"loss": params["x"] ** 3}

    cf = code_fingerprint(objective)
    assert cf["name"] == "test_code_fingerprint_of_a_local_function.<locals>.objective"
    assert cf["module"] == __name__
    assert Path(cf["file"]).resolve() == Path(__file__).resolve()
    assert cf["source_sha256"] == fingerprint(inspect.getsource(objective).encode())
    assert 'return {"loss": params["x"] ** 2}' in inspect.getsource(objective)
    assert code_fingerprint(other)["source_sha256"] != cf["source_sha256"]
    assert code_fingerprint(objective) == cf


def test_code_fingerprint_without_source():
    assert code_fingerprint(None) is None
    cf = code_fingerprint(len)
    assert cf == {"name": "len", "module": "builtins"}


def test_fingerprint_of_arrays_tensors_and_tuples():
    import numpy as np
    import torch

    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.array([0, 1, 0])
    assert fingerprint(torch.from_numpy(X)) == fingerprint(X)
    assert fingerprint(torch.nn.Parameter(torch.from_numpy(X))) == fingerprint(X)
    pair = fingerprint((X, y))
    assert pair == fingerprint((torch.from_numpy(X), y)) == fingerprint([X, y])
    assert pair != fingerprint((y, X)) and pair != fingerprint((X,))
    X2 = X.copy()
    X2[0, 0] = 1.0
    assert fingerprint((X2, y)) != pair
    with pytest.raises(TypeError, match="tuple/list"):
        fingerprint({"X": X})


def test_code_fingerprint_unwraps_partial():
    import functools

    from hpo_notebook.testing.problems import sleepy

    fp = code_fingerprint(functools.partial(sleepy, seconds_scale=2))
    plain = code_fingerprint(sleepy)
    assert fp["source_sha256"] == plain["source_sha256"] and fp["name"] == "sleepy"
    assert fp["partial"] == {"keywords": {"seconds_scale": "2"}}


@pytest.mark.slow
def test_trials_are_seeded_even_when_they_import_torch_themselves():
    """seed_everything runs before the trial function: torch must be seeded although the
    worker process has not imported it yet."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from hpo_notebook.execution.dask import seed_everything\n"
        "assert 'torch' not in sys.modules\n"
        "seed_everything(123)\n"
        "import numpy, torch\n"
        "a = (torch.rand(3).tolist(), numpy.random.rand(2).tolist())\n"
        "torch.manual_seed(123); numpy.random.seed(123)\n"
        "assert a == (torch.rand(3).tolist(), numpy.random.rand(2).tolist()), a\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
