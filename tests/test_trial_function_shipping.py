"""How the trial function reaches Dask workers: by cloudpickle, with the notebook functions it
calls; a large one (a captured dataset) gets one warning that names its size and the fix."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook import _checks

pytestmark = pytest.mark.slow

SPACE = hn.Space(x=hn.Float(0.0, 1.0))


def _run(fn, client, n=3):
    study = hn.Study(fn, SPACE, {"loss": "min"}, optimizer="sobol", seed=0)
    study.run(n, cluster=client, progress=False, show=False)
    return study


def test_a_large_trial_function_gets_one_warning_with_its_size_and_the_fix(dask_client):
    dataset = np.ones(1_500_000)  # 12 MB, captured by the closure below

    def trial(params, trial):
        return {"loss": float(dataset[:10].sum()) * params["x"]}

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        study = _run(trial, dask_client)
    ours = [w for w in got if issubclass(w.category, hn.HpoWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]  # once, not per trial
    text = str(ours[0].message)
    assert "pickles to 12.0 MB" in text and "client.scatter(dataset, broadcast=True)" in text
    assert 'get_client().get_dataset("dataset").result()' in text
    assert study.counts()["COMPLETE"] == 3


def test_the_scatter_fix_runs_without_a_warning(dask_client):
    dataset = np.arange(1_500_000, dtype=float)
    dask_client.publish_dataset(dataset=dask_client.scatter(dataset, broadcast=True))

    def trial(params, trial):
        from distributed import get_client

        data = get_client().get_dataset("dataset").result()
        return {"loss": float(data[:4].sum()) * params["x"]}

    study = _run(trial, dask_client)  # an HpoWarning would fail the test (pyproject)
    assert [t.values["loss"] for t in study.trials] == [6.0 * t.params["x"] for t in study.trials]


def test_small_functions_are_not_flagged():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _checks.check_picklable(lambda p, t: {"loss": 0.0})
    assert _checks.LARGE_FUNCTION_BYTES == 10_000_000


NOTEBOOK = [
    "import hpo_notebook as hn",
    "OFFSET = 0.3\n\ndef helper(x):\n    return (x - OFFSET) ** 2",
    "def train(params, trial):\n    trial.report(1, loss=helper(params['x']))\n"
    "    return {'loss': helper(params['x'])}",
    "study = hn.Study(train, hn.Space(x=hn.Float(0.0, 1.0)), {'loss': 'min'},\n"
    "                 optimizer='sobol', seed=0)\n"
    "study.run(4, concurrency=2, progress=False, show=False)\n"
    "print('complete', study.counts()['COMPLETE'])\n"
    "print('exact', all(t.values['loss'] == (t.params['x'] - 0.3) ** 2 for t in study.trials))",
]


def test_a_notebook_function_that_calls_other_notebook_functions_runs_on_workers(tmp_path):
    """Functions defined in a notebook live in ``__main__``, which worker processes do not
    have: cloudpickle sends them by value, with the notebook functions and globals they use."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK]
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    assert "complete 4" in out and "exact True" in out, nb.cells[-1].outputs
