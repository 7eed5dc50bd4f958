"""A notebook executed headless keeps the final dashboard as a PNG fallback and as widget
state, so it still shows the result when reopened without a kernel."""

from __future__ import annotations

import base64

import pytest

pytestmark = pytest.mark.slow

CODE = """import hpo_notebook as hn
from hpo_notebook.testing.problems import learning_curve
space = hn.Space(x=hn.Float(0.0, 1.0), steps=hn.Choice([4]), step_s=hn.Choice([0.01]))
study = hn.Study(learning_curve, space, objectives={"loss": "min", "size": "min"},
                 optimizer="sobol", seed=0)
study.run(n_trials=6, concurrency=2)"""


def test_saved_notebook_shows_the_final_state(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CODE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    nbformat.write(nb, tmp_path / "done.ipynb")
    outputs = [o for o in nb.cells[0].outputs if o.get("output_type") == "display_data"]
    assert outputs, nb.cells[0].outputs
    data = outputs[0]["data"]
    # the PNG fallback was replaced at the end: the text says every trial completed
    assert "6 complete" in data["text/plain"]
    png = base64.b64decode(data["image/png"])
    assert png[:4] == b"\x89PNG" and len(png) > 2000
    # and the live widget, with its state saved in the notebook
    view = data["application/vnd.jupyter.widget-view+json"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert view["model_id"] in state
