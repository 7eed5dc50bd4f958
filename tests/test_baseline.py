"""Against the baseline (issue 15, item 4): the configuration used today runs first, the
front's gain over it per objective, and a warning when nothing beats it."""

from __future__ import annotations

import random

import pytest

import hpo_notebook as hn
from hpo_notebook import study as study_module
from hpo_notebook.optimizers import Proposal, Suggestion
from hpo_notebook.widgets.dashboard import Dashboard

T0 = 1_700_000_000.0
UNIT = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0))
OBJ = {"f0": "min", "f1": "min"}


def bowl(params, trial):
    """Both objectives best at (0.3, 0.3): a baseline there cannot be beaten."""
    d = (params["x"] - 0.3) ** 2 + (params["y"] - 0.3) ** 2
    return {"f0": d, "f1": d + 0.1 * params["x"]}


class Uniform:
    """A stand-in for a model: uniform points, proposal kind "model" (fast, seeded)."""

    name = "uniform-test"

    def suggest(self, space, objectives, history, n, seed, state=None):
        rng = random.Random(seed * 1000 + history.n_trials)
        points = [{k: rng.random() for k in space.names} for _ in range(n)]
        return Suggestion([Proposal(p, "model") for p in points], state)


def _run(baseline, n=16, **kw):
    study = hn.Study(bowl, UNIT, OBJ, optimizer=Uniform(), seed=1, baseline=baseline, **kw)
    study.run(n, cluster=hn.SimulatedCluster(4, start=T0), progress=False, show=False)
    return study


@pytest.mark.slow
def test_the_baseline_runs_first_once_and_a_reopened_study_does_not_run_it_again(tmp_path):
    path = str(tmp_path / "s.db")
    study = hn.Study(bowl, UNIT, OBJ, optimizer="sobol", seed=1, storage=path,
                     baseline={"x": 0.9, "y": 0.1})  # fmt: skip
    study.run(6, cluster=hn.SimulatedCluster(4, start=T0), progress=False, show=False)
    kinds = [t.proposal.get("kind") for t in study.trials]
    assert kinds[0] == "baseline" and kinds.count("baseline") == 1
    assert study.trial(0).params == {"x": 0.9, "y": 0.1}
    assert study.baseline_trial().number == 0
    # the batch of 4 beside it is quasi-random and avoids it
    assert all(t.params != {"x": 0.9, "y": 0.1} for t in study.trials[1:])
    study.close()
    again = hn.load_study(path, bowl)
    assert again.settings.baseline == {"x": 0.9, "y": 0.1}
    again.run(3, cluster=hn.SimulatedCluster(2, start=T0), progress=False, show=False)
    assert [t.proposal.get("kind") for t in again.trials].count("baseline") == 1
    again.close()


@pytest.mark.parametrize(
    ("baseline", "error", "match"),
    [
        ({"x": 0.5}, hn.SpaceError, "y"),
        ({"x": 0.5, "y": 2.0}, hn.SpaceError, "y"),
        ([0.5, 0.5], hn.ConfigError, "baseline must be a dict of parameter values"),
    ],
)
def test_a_bad_baseline_is_refused_before_anything_runs(baseline, error, match):
    with pytest.raises(error, match=match):
        hn.Study(bowl, UNIT, OBJ, baseline=baseline)


@pytest.mark.slow
def test_the_front_shows_its_gain_over_the_baseline_per_objective():
    study = hn.Study(None, UNIT, {"loss": "min", "acc": "max"}, optimizer="sobol",
                     baseline={"x": 0.5, "y": 0.5})  # fmt: skip
    for t, r in zip(study.ask(3), [{"loss": 0.5, "acc": 0.5}, {"loss": 0.3, "acc": 0.6},
                                    {"loss": 0.2, "acc": 0.4}]):  # fmt: skip
        study.tell(t, r)
    assert study.trial(0).proposal["kind"] == "baseline"
    front = study.pareto().set_index("number")
    assert front.loc[1, "gain_loss"] == pytest.approx(0.2)  # 0.5 -> 0.3, lower is better
    assert front.loc[1, "gain_acc"] == pytest.approx(0.1)
    assert front.loc[2, "gain_acc"] == pytest.approx(-0.1)
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    assert "vs baseline loss +0.3, acc +0.1" in dash.header.value


@pytest.mark.slow
def test_a_baseline_nothing_beats_gets_one_warning(monkeypatch):
    monkeypatch.setattr(study_module, "BASELINE_PATIENCE", 6)
    with pytest.warns(hn.HpoWarning, match="no trial dominates the baseline") as got:
        study = _run({"x": 0.3, "y": 0.3})
    assert len([w for w in got if "baseline" in str(w.message)]) == 1
    assert len(study.warnings()) == 1 and "trial 0" in study.warnings()[0]
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    assert "no trial dominates the baseline" in dash.header.value


def test_a_baseline_that_is_beaten_gets_no_warning(monkeypatch):
    monkeypatch.setattr(study_module, "BASELINE_PATIENCE", 6)
    study = _run({"x": 0.99, "y": 0.99})  # an HpoWarning would fail the test (pyproject)
    assert study.warnings() == []
    assert study.pareto()["gain_f0"].max() > 0


def test_the_pareto_plot_marks_the_baseline():
    study = hn.Study(None, UNIT, OBJ, optimizer="sobol", baseline={"x": 0.5, "y": 0.5})
    for t, r in zip(study.ask(3), [{"f0": 0.5, "f1": 0.5}, {"f0": 0.3, "f1": 0.6},
                                    {"f0": 0.6, "f1": 0.2}]):  # fmt: skip
        study.tell(t, r)
    fig = hn.plots.pareto(study)
    ax = fig.axes[0]
    assert "baseline" in [t.get_text() for t in ax.get_legend().get_texts()]
    star = next(c for c in ax.collections if c.get_label() == "baseline")
    assert star.get_offsets().tolist() == [[0.5, 0.5]]
    plain = hn.Study(None, UNIT, OBJ, optimizer="sobol")
    for t in plain.ask(2):
        plain.tell(t, {"f0": t.params["x"], "f1": t.params["y"]})
    legend = hn.plots.pareto(plain).axes[0].get_legend().get_texts()
    assert "baseline" not in [t.get_text() for t in legend]
