"""Static plots and their data: pure functions, checked on what they draw."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D, branin_currin_values
from hpo_notebook.viz import data as D


@pytest.fixture(scope="module")
def study():
    s = hn.Study(
        None,
        UNIT_2D,
        objectives={"f0": "min", "f1": "min"},
        constraints={"f1": ("<=", 10.0)},
        seed=0,
        n_initial=6,
        pruner=hn.ASHA(9),
    )
    for _ in range(3):
        for t in s.ask(4):
            f0, f1 = branin_currin_values(t.params["x0"], t.params["x1"])
            try:
                for step in range(1, 10):
                    t.report(step, f0=f0 * (1 + 2.0 / step), f1=f1)
                s.tell(t, {"f0": f0, "f1": f1})
            except hn.Pruned as exc:
                s.tell(t, exc)
    return s


def test_pareto_data_and_plot(study):
    data = D.pareto_data(study.trials, study.objectives)
    assert data.front.sum() >= 1 and not (data.front & ~data.feasible).any()
    assert (~data.feasible).sum() == (data.values[:, 1] > 10).sum()
    fig = hn.plots.pareto(study)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("f0 (min)", "f1 (min)")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front" in labels and "dominated region" in labels
    if (~data.feasible).any():
        assert "infeasible" in labels
    assert len(hn.plots.to_png(fig)) > 1000


def test_pareto_three_objectives_draws_every_pair():
    s = hn.Study(
        None, UNIT_2D, objectives={"a": "min", "b": "max", "c": "min"}, optimizer="sobol", seed=1
    )
    for t in s.ask(8):
        x, y = t.params["x0"], t.params["x1"]
        s.tell(t, {"a": x, "b": y, "c": (x - y) ** 2})
    fig = hn.plots.pareto(s)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and visible[2].get_xlabel() == "b (max)"


def test_curves_dim_pruned_and_mark_rungs(study):
    fig = hn.plots.curves(study, highlight=0)
    ax = fig.axes[0]
    pruned = [t.number for t in study.trials if t.state is hn.TrialState.PRUNED]
    assert pruned
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == len(study.pruner.rungs)  # rung marks at 1, 3
    alphas = {round(c.get_alpha() or 1.0, 2) for c in ax.collections}
    assert 0.25 in alphas  # pruned dimmed (one line collection per state)
    assert any(ln.get_label() == "trial 0" for ln in ax.get_lines())  # highlighted on top
    assert hn.plots.curves(study, metric="f1", log_y=True).axes[0].get_yscale() == "log"


def test_hypervolume_by_trials_and_time(study):
    fig = hn.plots.hypervolume(study, by="both")
    assert [ax.get_xlabel() for ax in fig.axes] == ["finished trials", "seconds"]
    y = fig.axes[0].get_lines()[0].get_ydata()
    assert np.all(np.diff(y) >= -1e-12) and y[-1] == pytest.approx(study.hypervolume())


def test_single_objective_shows_best_value():
    s = hn.Study(None, UNIT_2D, objectives={"f0": "min"}, optimizer="sobol", seed=2)
    vals = []
    for t in s.ask(5):
        v = branin_currin_values(t.params["x0"], t.params["x1"])[0]
        vals.append(v)
        s.tell(t, v)
    data = D.hypervolume_data(s.trials, s.objectives)
    assert data.best and data.hypervolume.tolist() == np.minimum.accumulate(vals).tolist()
    assert hn.plots.hypervolume(s).axes[0].get_ylabel() == "best value"


def test_parallel_importance_and_proposal_times(study):
    fig = hn.plots.parallel(study)
    assert len(fig.axes) == 2  # plot and colour bar
    imp = D.importance_data(study.space, study._optimizer_state, study.trials, study.objectives)
    assert imp.method == "inverse GP lengthscale" and sum(imp.importance) == pytest.approx(1.0)
    assert len(hn.plots.importance(study).axes[0].patches) == 2
    times = hn.plots.proposal_times(study)
    assert len(times.axes[0].patches) > 0  # bars for the model-based proposals


def test_plots_of_an_empty_study_explain_themselves():
    s = hn.Study(None, UNIT_2D, objectives={"f0": "min", "f1": "min"})
    for fn in (
        hn.plots.pareto,
        hn.plots.curves,
        hn.plots.hypervolume,
        hn.plots.parallel,
        hn.plots.proposal_times,
    ):
        texts = [t.get_text() for ax in fn(s).axes for t in ax.texts]
        assert any("no " in t for t in texts), fn.__name__
    imp = D.importance_data(s.space, None, s.trials, s.objectives)
    assert imp.method == "not enough data"


def test_plots_from_a_trials_frame(study):
    df = study.trials_frame()
    fig = hn.plots.pareto(df, objectives={"f0": "min", "f1": "min"})
    assert fig.axes[0].get_xlabel() == "f0 (min)"
    hv = hn.plots.hypervolume(df, objectives={"f0": "min", "f1": "min"})
    assert hv.axes[0].get_lines()[0].get_ydata()[-1] > 0
    with pytest.raises(TypeError, match="needs its objectives"):
        hn.plots.pareto(df)


def test_a_returned_figure_displays_as_png_in_ipython(monkeypatch, study, ipython_shell):
    """Without pyplot (which registers matplotlib's inline formatter), a figure returned in a
    notebook cell would show only as '<Figure size ...>'."""
    from matplotlib.figure import Figure

    from hpo_notebook.viz import plots

    shell = ipython_shell
    png, svg = (shell.display_formatter.formatters[m] for m in ("image/png", "image/svg+xml"))
    for f in (png, svg):
        monkeypatch.setattr(f, "type_printers", dict(f.type_printers))
    monkeypatch.setattr(plots, "_display_checked", False)
    png.type_printers.pop(Figure, None)
    svg.type_printers.pop(Figure, None)
    data, _ = shell.display_formatter.format(hn.plots.pareto(study))
    got = data["image/png"]  # base64 text, as IPython's own inline formatter sends it
    assert (base64.b64decode(got) if isinstance(got, str) else got)[:4] == b"\x89PNG"

    # a format the user chose for figures is kept
    png.type_printers.pop(Figure)
    svg.for_type(Figure, lambda fig: "<svg/>")
    monkeypatch.setattr(plots, "_display_checked", False)
    data, _ = shell.display_formatter.format(hn.plots.curves(study))
    assert "image/png" not in data and data["image/svg+xml"] == "<svg/>"
