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


@pytest.mark.slow
def test_pareto_data_and_plot(study):
    data = D.pareto_data(study.trials, study.objectives)
    assert data.front.sum() >= 1 and not (data.front & ~data.feasible).any()
    assert (~data.feasible).sum() == (data.values[:, 1] > 10).sum()
    fig = hn.plots.pareto(study)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("f0 (min)", "f1 (min)")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front" in labels and "dominated region" in labels
    assert (~data.feasible).any()  # the study above has infeasible trials: drawn and named
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
    imp = D.importance_data(study.space, study.optimizer_state, study.trials, study.objectives)
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


# ---------------------------------------------------------------------- anytime


def test_anytime_data_counts_the_steps_spent_before_each_completion():
    objs = hn.objectives.Objectives.parse({"a": "min", "b": "min"})
    T, S = hn.Trial, hn.TrialState
    trials = [
        T(0, S.COMPLETE, {}, {"a": 1.0, "b": 3.0}, started_at=0.0, ended_at=3.0),
        T(1, S.PRUNED, {}, None, started_at=0.0, ended_at=1.0),
        T(2, S.COMPLETE, {}, {"a": 3.0, "b": 1.0}, started_at=1.0, ended_at=5.0),
        T(3, S.RUNNING, {}, None, started_at=5.0),
    ]
    reports = [0.5, 0.6, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 5.5]
    d = D.anytime_data("x", trials, reports, objs, ref_point=[-4.0, -4.0])
    # trial 1 ends at t=1 (3 reports by then), trial 0 at 3 (6), trial 2 at 5 (8)
    assert d.steps.tolist() == [3.0, 6.0, 8.0]
    # hypervolume against (4, 4): nothing, then the box of (1, 3), then both boxes
    assert d.value.tolist() == [0.0, 3.0, 3.0 + 3.0 - 1.0]


def _toy_study(name: str, pruner: object) -> hn.Study:
    s = hn.Study(None, {"x": hn.Float(0.0, 1.0)}, objectives={"a": "min", "b": "min"},
                 name=name, seed=1, optimizer="sobol", pruner=pruner)  # fmt: skip
    for _ in range(12):
        t = s.ask()
        x = t.params["x"]
        try:
            for step in range(1, 10):
                t.report(step, a=x + 1.0 / step, b=1 - x)
            s.tell(t, {"a": x + 1.0 / 9, "b": 1 - x})
        except hn.Pruned as exc:
            s.tell(t, exc)
    return s


def test_anytime_plot_compares_studies_on_one_reference_point():
    plain = _toy_study("plain", None)
    pruned = _toy_study("pruned", hn.MultiObjectiveASHA(9, keep_front=False))
    fig = hn.plots.anytime({"no pruning": plain, "MO-ASHA": pruned})
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["no pruning", "MO-ASHA"]
    x_plain, x_pruned = (ln.get_xdata() for ln in lines)
    assert x_plain[-1] == 12 * 9 == len(plain.curves())
    assert x_pruned[-1] == len(pruned.curves()) < x_plain[-1]
    # one reference point for both: the same trials give the same hypervolume
    twice = hn.plots.anytime([plain, plain]).axes[0].get_lines()
    assert [ln.get_label() for ln in twice] == ["plain", "plain"]
    assert twice[0].get_ydata()[-1] == pytest.approx(lines[0].get_ydata()[-1])
    given = hn.plots.anytime({"p": plain}, ref_point=[2.0, 2.0]).axes[0].get_lines()[0]
    Y = -plain.trials_frame()[["a", "b"]].to_numpy()
    assert given.get_ydata()[-1] == pytest.approx(hn.pareto.hypervolume(Y, [-2.0, -2.0]))
    other = hn.Study(None, {"x": hn.Float(0.0, 1.0)}, objectives={"c": "min", "b": "min"})
    with pytest.raises(ValueError, match="objectives"):
        hn.plots.anytime({"a": plain, "c": other})


def test_the_dominated_region_is_the_hypervolume_in_user_units_for_mixed_directions():
    from matplotlib.figure import Figure

    from hpo_notebook.objectives import Objectives
    from hpo_notebook.viz.plots import _front_steps

    frame = Objectives.parse({"loss": "min", "acc": "max"})
    ax = Figure().add_subplot()
    _front_steps(ax, np.array([[0.5, 0.95], [0.2, 0.9]]), frame, (1.0, 0.5))
    xy = ax.patches[0].get_xy()[:-1]  # matplotlib closes the polygon
    assert xy.tolist() == [[0.2, 0.5], [0.2, 0.9], [0.5, 0.9], [0.5, 0.95], [1.0, 0.95], [1.0, 0.5]]
    x, y = xy[:, 0], xy[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    assert area == pytest.approx(0.8 * 0.4 + 0.5 * 0.05)  # the front's hypervolume
