"""Code in the docs that users copy: it runs as written (with a small budget)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


@pytest.mark.slow
def test_the_model_family_how_to_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (code,) = _python_blocks("how-to/tune-model-family.md")
    run = "study.run(n_trials=60)"
    assert run in code
    # the same study, 10 trials on the in-process simulated cluster instead of 60 on Dask
    small = "study.run(n_trials=10, cluster=hn.SimulatedCluster(n_workers=2), show=False)"
    ns: dict = {}
    exec(code.replace(run, small), ns)
    study = ns["study"]
    frame = study.trials_frame()
    assert (frame.state == "COMPLETE").all() and len(frame) == 10
    assert set(frame.params_family) >= {"logreg", "svm", "forest", "knn"}
    svm = frame[frame.params_family == "svm"]
    assert svm.params_gamma.notna().all() and svm.params_k.isna().all()
    assert (tmp_path / "runs" / "family.db").is_file()
    assert len(study.pareto()) >= 1


def test_the_space_concept_page_example_builds_the_tree_it_describes():
    blocks = _python_blocks("concepts/space.md")
    ns: dict = {}
    exec("import hpo_notebook as hn\n" + blocks[1], ns)
    space = ns["space"]
    assert space.names == ("lr", "optimizer", "momentum", "nesterov", "dampening", "beta2")
    assert space.validate({"lr": 0.01, "optimizer": "adam", "beta2": 0.995}) == {
        "lr": 0.01, "optimizer": "adam", "beta2": 0.995,
    }  # fmt: skip
