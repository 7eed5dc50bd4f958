"""Held-out metrics (issue 15, item 5): stored and shown, never seen by the optimizer, the
pruner or the ranking; the validation-versus-held-out gap on the front."""

from __future__ import annotations

import json
import sqlite3

import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import branin_currin_values
from hpo_notebook.widgets.dashboard import Dashboard

T0 = 1_700_000_000.0
UNIT = hn.Space(x0=hn.Float(0.0, 1.0), x1=hn.Float(0.0, 1.0))
OBJ = {"f0": "min", "f1": "min"}


@pytest.mark.parametrize(
    ("held_out", "match"),
    [
        ({"f0": None}, "held-out metric 'f0' is an objective or a constrained metric"),
        ({"lat": None}, "held-out metric 'lat' is an objective or a constrained metric"),
        ({"test_f0": "nope"}, r"mirrors 'nope', which is not an objective; choose from"),
        ("test_f0", "held_out must map held-out metrics"),
        ({"": None}, "held-out metric names must be non-empty strings"),
    ],
)
def test_bad_held_out_declarations_are_refused_up_front(held_out, match):
    with pytest.raises(hn.ConfigError, match=match):
        hn.Study(None, UNIT, OBJ, constraints={"lat": ("<=", 1.0)}, held_out=held_out)


def test_held_out_metrics_are_stored_shown_and_kept_by_a_reopened_study(tmp_path):
    path = str(tmp_path / "s.db")
    study = hn.Study(None, UNIT, OBJ, storage=path, optimizer="sobol",
                     held_out={"test_f0": "f0", "note": None})  # fmt: skip
    t = study.ask()
    study.tell(t, {"f0": 1.0, "f1": 2.0, "test_f0": 1.5})
    t = study.ask()
    study.tell(t, {"f0": 2.0, "f1": 1.0, "test_f0": "bad"})  # not a number: the trial fails
    assert study.trial(1).state is hn.TrialState.FAILED
    assert "held-out metric 'test_f0' must be a number" in study.trial(1).error
    assert study.trials_frame()["test_f0"].iloc[0] == 1.5
    study.close()
    conn = sqlite3.connect(path)
    settings = json.loads(conn.execute("SELECT settings FROM studies").fetchone()[0])
    conn.close()
    assert settings["held_out"] == {"test_f0": "f0", "note": None}
    again = hn.load_study(path)
    assert again.objectives.held_out == (("test_f0", "f0"), ("note", None))
    again.close()


@pytest.mark.slow
def test_the_gap_on_the_front_says_how_much_worse_the_held_out_values_are():
    study = hn.Study(None, UNIT, {"loss": "min", "acc": "max"}, optimizer="sobol",
                     held_out={"test_loss": "loss", "test_acc": "acc"})  # fmt: skip
    results = [
        {"loss": 0.1, "acc": 0.80, "test_loss": 0.3, "test_acc": 0.70},  # front, flattered
        {"loss": 0.2, "acc": 0.90, "test_loss": 0.1, "test_acc": 0.95},  # front, not
        {"loss": 0.5, "acc": 0.50, "test_loss": 0.0, "test_acc": 1.00},  # dominated
    ]
    for t, r in zip(study.ask(3), results):
        study.tell(t, r)
    gap = study.held_out_gap().set_index(["number", "objective"])
    assert sorted(set(gap.index.get_level_values("number"))) == [0, 1]  # the front only
    assert gap.loc[(0, "loss"), "worse_by"] == pytest.approx(0.2)  # min: held - val
    assert gap.loc[(0, "acc"), "worse_by"] == pytest.approx(0.1)  # max: val - held
    assert gap.loc[(1, "loss"), "worse_by"] == pytest.approx(-0.1)
    assert gap.loc[(1, "acc"), "gap"] == pytest.approx(0.05)
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    assert "Held out vs validation on the front" in dash.held_out.value
    assert "worse by 0.0375 on average" in dash.held_out.value  # (0.2 + 0.1 - 0.1 - 0.05) / 4
    plain = hn.Study(None, UNIT, OBJ, optimizer="sobol")
    assert plain.held_out_gap().empty


def _trial(noise: str):
    """BraninCurrin with curves; the held-out metric is sane or wild, depending on
    ``noise``: nothing the study decides may change with it."""

    def fn(params, trial):
        f0, f1 = branin_currin_values(params["x0"], params["x1"])
        for step in range(1, 5):
            trial.sleep(10.0)
            wild = 1e6 * (-1) ** step * (trial.number + 1) if noise == "wild" else f0
            trial.report(step, f0=f0 * (1 + 1 / step), f1=f1, test_f0=wild)
        return {"f0": f0, "f1": f1, "test_f0": 1e9 if noise == "wild" else f0}

    return fn


@pytest.mark.slow
def test_held_out_values_change_nothing_the_study_decides():
    runs = []
    for noise in ("sane", "wild"):
        # BraninCurrin's optimizer lands on one of two optima along x1 = 1 (x0 = 0 or 0.10)
        # here; which one can turn on the optimizer's run-to-run noise (about 1e-7 at the
        # first model proposal), and with the raw points screened on 16 samples (the default)
        # it did in CI. Screening on all samples keeps the two runs on one side, so that
        # what is compared is what the held-out metric could change.
        settings = hn.OptimizeSettings(screening_mc_samples=None)
        study = hn.Study(_trial(noise), UNIT, OBJ, seed=3, n_initial=4,
                         optimizer=hn.BoTorchOptimizer(settings=settings),
                         pruner=hn.MultiObjectiveASHA(4, eta=2),
                         held_out={"test_f0": "f0"})  # fmt: skip
        study.run(10, cluster=hn.SimulatedCluster(2, start=T0), progress=False, show=False)
        runs.append(study)
    sane, wild = runs
    # the proposals: equal up to the optimizer's own run-to-run noise (about 1e-8 here, up to
    # about 1e-6 on other machines: two runs of the same study differ that much too)
    for a, b in zip(sane.trials, wild.trials):
        assert a.params == pytest.approx(b.params, abs=1e-5)
    assert [t.state for t in sane.trials] == [t.state for t in wild.trials]  # pruning
    assert sane.pareto()["number"].tolist() == wild.pareto()["number"].tolist()  # ranking
    # Branin's slope (hundreds per unit) turns that noise into about 1e-5 of the hypervolume
    # (seen in CI: 28.03477 against 28.03437); a held-out value that leaked in (1e6, 1e9) would
    # move it by far more than 1e-3
    assert sane.hypervolume() == pytest.approx(wild.hypervolume(), rel=1e-3)
    assert any(t.proposal.get("kind", "").startswith("q") for t in sane.trials)  # the model
