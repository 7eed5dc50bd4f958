"""The demo notebooks in notebooks/: committed without outputs, and each one runs top to bottom
in a real kernel with the small-budget switch (HPO_NOTEBOOK_SMALL=1), showing what it claims."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = [
    "01_quickstart",
    "02_pruning",
    "03_dask_clusters_gpus",
    "04_magics",
    "05_resume_lineage",
    "06_trust",
]


def _read(name: str):
    import nbformat

    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.mark.slow
def test_every_notebook_is_there_and_committed_without_outputs():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    for name in NAMES:
        nb = _read(name)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert not cell.outputs, f"{name} cell {i} has committed outputs"
                assert cell.execution_count is None, f"{name} cell {i} has an execution count"
        assert "widgets" not in nb.metadata, f"{name} has committed widget state"


def execute(name: str, cwd: Path):
    """Runs a notebook in a fresh python3 kernel; raises on the first failing cell that is not
    tagged ``raises-exception``. Returns the executed notebook."""
    from nbclient import NotebookClient

    nb = _read(name)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def texts(nb) -> list[str]:
    """Each code cell's outputs as one string: streams, text/plain and error messages."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for o in cell.outputs:
            if o.output_type == "stream":
                parts.append(o.text)
            elif o.output_type == "error":
                parts.append(f"{o.ename}: {o.evalue}")
            else:
                parts.append(o.get("data", {}).get("text/plain", ""))
                if "image/png" in o.get("data", {}):
                    parts.append("<png>")
        out.append("\n".join(parts))
    return out


@pytest.fixture()
def small(monkeypatch, tmp_path):
    monkeypatch.setenv("HPO_NOTEBOOK_SMALL", "1")
    return tmp_path


@pytest.mark.slow
def test_01_quickstart(small):
    nb = execute("01_quickstart", small)
    out = "\n".join(texts(nb))
    assert "<Study 'mlp': 6 trials (6 complete" in out
    assert "<Study 'mlp-tree': 6 trials (6 complete" in out  # the conditional space
    frame = next(t for t in texts(nb) if "params_momentum" in t)
    assert "NaN" in frame and "sgd" in frame and "adam" in frame
    assert "hypervolume" in out and out.count("<png>") >= 4  # dashboard fallback + 3 figures
    assert (small / "runs" / "quickstart.db").is_file()


@pytest.mark.slow
def test_02_pruning(small):
    out = "\n".join(texts(execute("02_pruning", small)))
    assert "PRUNED" in out
    saved = int(out.split("% saved")[0].rsplit("(", 1)[1])
    assert saved > 0
    kept = list((small / "runs" / "pruning.db.checkpoints").rglob("checkpoint*.pt"))
    assert 1 <= len(kept) <= 3  # written every epoch; the best completed trials' are kept


@pytest.mark.slow
def test_03_dask_clusters_and_gpus(small):
    out = "\n".join(texts(execute("03_dask_clusters_gpus", small)))
    assert "'worker-GPU=1': {'GPU': 1.0}, 'worker-cpu': {}" in out
    assert "trials on the GPU worker: 4 of 4" in out
    assert "trials that overlapped in time: 0" in out


@pytest.mark.slow
def test_04_magics(small):
    cells = texts(execute("04_magics", small))
    out = "\n".join(cells)
    assert "<Study 'mlp': 5 trials (5 complete" in out
    assert "<Study 'mlp': 10 trials (10 complete" in out  # after start / stop / resume PATH
    assert "UsageError: %hpo: unknown command 'frobnicate'" in cells[-2]
    assert "no variable 'spaec' for --space" in cells[-1]
    assert "Traceback" not in cells[-1] + cells[-2]


@pytest.mark.slow
def test_05_resume_and_lineage(small):
    out = "\n".join(texts(execute("05_resume_lineage", small)))
    assert "driver killed: True" in out
    assert "'RUNNING': 0, 'COMPLETE': 8" in out
    rerun = out.split("re-run trials: [")[1].split("]")[0]
    assert rerun.strip(), "no interrupted trial was re-run"
    assert '"data": "sha256:' in out


@pytest.mark.slow
def test_06_trust(small):
    cells = texts(execute("06_trust", small))
    out = "\n".join(cells)
    assert "status: stopped: budget: 8 of 8 trials spent" in out  # 12 planned
    assert "baseline: trial 0, baseline, {'val_error'" in out  # it ran first
    assert "gain_val_error" in out
    assert "test_error" in out  # the held-out gap
    assert "re-run configurations:" in out and "seeds each: 3" in out
    assert "dominated_on_average" in out and "<png>" in cells[-1]
