"""Study without Dask: ask/tell, results, bad input (raised before anything runs)."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D, branin_currin_values

SPACE = hn.Space(x=hn.Float(0.0, 1.0))


def two_objective_study(**kw) -> hn.Study:
    return hn.Study(None, UNIT_2D, objectives={"f0": "min", "f1": "min"}, seed=0, **kw)


def tell_bc(study, trial):
    f0, f1 = branin_currin_values(trial.params["x0"], trial.params["x1"])
    study.tell(trial, {"f0": f0, "f1": f1, "note": "ok"})


def test_ask_tell_round_and_results():
    study = two_objective_study(optimizer="sobol")
    trials = study.ask(6)
    assert [t.number for t in trials] == list(range(6))
    assert all(study.trial(t.number).state is hn.TrialState.RUNNING for t in trials)
    for t in trials:
        t.report(1, f0=1.0)
        tell_bc(study, t)
    df = study.trials_frame()
    assert list(df["state"]) == ["COMPLETE"] * 6
    assert {"params_x0", "params_x1", "f0", "f1", "note", "duration_s", "proposal"} <= set(df)
    curves = study.curves()
    assert list(curves["trial"]) == list(range(6)) and set(curves["step"]) == {1}
    front = study.pareto()
    Y = df[["f0", "f1"]].to_numpy()
    for _, row in front.iterrows():  # nobody dominates a front member
        dominated = (row[["f0", "f1"]].to_numpy().astype(float) >= Y).all(1) & (
            row[["f0", "f1"]].to_numpy().astype(float) > Y
        ).any(1)
        assert not dominated.any()
    assert len(front) >= 1
    assert study.hypervolume() > 0
    hist = study.hypervolume_history()
    assert list(hist["n_trials"]) == list(range(1, 7))
    assert np.all(np.diff(hist["hypervolume"]) >= -1e-12)
    assert hist["hypervolume"].iloc[-1] == pytest.approx(study.hypervolume())
    assert hist.index.tolist() == list(range(1, 7))
    by_time = study.hypervolume_history(by="time")
    assert (np.diff(by_time["elapsed_s"]) >= 0).all()
    assert by_time.index.tolist() == by_time["elapsed_s"].tolist()
    assert by_time["hypervolume"].tolist() == hist["hypervolume"].tolist()
    with pytest.raises(hn.ConfigError, match="by must be 'trials' or 'time', got 'steps'"):
        study.hypervolume_history(by="steps")


@pytest.mark.slow
def test_pending_asked_trials_are_avoided_by_the_next_ask():
    study = two_objective_study(n_initial=4)
    for t in study.ask(4):
        tell_bc(study, t)
    first = study.ask()  # model-based, stays pending
    second = study.ask()
    assert first.params != second.params
    assert study.trial(second.number).proposal["n_pending"] == 1


def test_bad_results_fail_the_trial_not_the_study():
    study = two_objective_study(optimizer="sobol")
    a, b, c, d, e = study.ask(5)
    study.tell(a, {"f0": 1.0})  # missing f1
    study.tell(b, {"f0": float("nan"), "f1": 1.0})
    study.tell(c, 3.0)  # one number for two objectives
    study.tell(d, ValueError("boom"))
    study.tell(e, {"f0": 1.0, "f1": 2.0})
    states = [t.state.value for t in study.trials]
    assert states == ["FAILED", "FAILED", "FAILED", "FAILED", "COMPLETE"]
    errors = [t.error for t in study.trials]
    assert "lacks metric(s) ['f1']" in errors[0]
    assert "'f0' must be a finite number" in errors[1]
    assert "single number" in errors[2]
    assert errors[3] == "ValueError: boom" and "ValueError: boom" in study.trials[3].traceback


def test_tell_twice_and_unknown_trial():
    study = two_objective_study(optimizer="sobol")
    t = study.ask()
    study.tell(t, {"f0": 1.0, "f1": 1.0})
    with pytest.raises(hn.ConfigError, match="already COMPLETE"):
        study.tell(t, {"f0": 1.0, "f1": 1.0})
    with pytest.raises(hn.ConfigError, match="no trial 42"):
        study.tell(42, {"f0": 1.0, "f1": 1.0})


def test_pruned_via_tell():
    study = two_objective_study(optimizer="sobol")
    t = study.ask()
    study.tell(t, hn.Pruned("behind"))
    assert study.trials[0].state is hn.TrialState.PRUNED


def test_single_objective_best_and_errors():
    study = hn.Study(None, SPACE, objectives="min", seed=1, optimizer="sobol")
    for t in study.ask(5):
        study.tell(t, (t.params["x"] - 0.3) ** 2)
    best = study.best()
    assert best.values["value"] == min(t.values["value"] for t in study.trials)
    with pytest.raises(hn.ConfigError, match="use best"):
        study.hypervolume()
    multi = two_objective_study()
    with pytest.raises(hn.ConfigError, match="use pareto"):
        multi.best()


def test_constraints_keep_infeasible_trials_off_the_front():
    study = hn.Study(
        None,
        UNIT_2D,
        objectives={"f0": "min", "f1": "min"},
        constraints={"f0": ("<=", 50.0)},
        seed=0,
        optimizer="sobol",
    )
    for t in study.ask(12):
        tell_bc(study, t)
    df = study.trials_frame()
    assert (~df["feasible"]).any() and df["feasible"].any()
    assert (study.pareto()["f0"] <= 50.0).all()


def test_reference_point_uses_thresholds():
    study = hn.Study(
        None,
        UNIT_2D,
        objectives={
            "f0": hn.Objective("min", threshold=18.0),
            "f1": hn.Objective("max", threshold=-6.0),
        },
        seed=0,
        optimizer="sobol",
    )
    t = study.ask()
    study.tell(t, {"f0": 1.0, "f1": 1.0})
    assert study.reference_point() == [18.0, -6.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fn": 3}, "fn must be a function"),
        ({"fn": lambda params: 1.0}, "must accept two arguments"),
        ({"objectives": {"y": "down"}}, "objective 'y': direction must be"),
        ({"objectives": {}}, "non-empty mapping"),
        ({"constraints": {"y": ("<", 1)}}, "constraint 'y'"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"optimizer": "qUCB"}, "unknown acquisition 'qUCB'"),
        ({"n_initial": 0}, "n_initial must be a positive integer"),
        ({"max_failure_share": 1.5}, "max_failure_share must be in"),
        ({"suggest_timeout": -1}, "suggest_timeout must be > 0"),
        ({"storage": 42}, "storage must be a file path"),
        ({"space": {"x": (0, 1)}}, "parameter 'x' must be Float, Int or Choice"),
        ({"pruner": "asha"}, "pruner"),
    ],
)
def test_bad_study_arguments(kwargs, match):
    args = {"fn": None, "space": SPACE, "objectives": {"y": "min"}, **kwargs}
    with pytest.raises(hn.HpoError, match=match):
        hn.Study(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_trials": -1}, "n_trials must be a non-negative integer"),
        ({"n_trials": 2, "concurrency": 0}, "concurrency must be a positive integer"),
        ({"n_trials": 2, "timeout": 0}, "timeout must be a positive number"),
        ({"n_trials": 2, "cluster": 3.5}, "cluster must be None"),
        ({"n_trials": 2, "resources": {"GPU": -1}}, "resources must map names"),
        ({}, "n_trials is required"),
    ],
)
def test_bad_run_arguments_raise_before_any_compute(kwargs, match):
    def fn(params, trial):
        raise AssertionError("must not run")

    study = hn.Study(fn, SPACE, objectives={"y": "min"})
    with pytest.raises(hn.ConfigError, match=match):
        study.run(**kwargs)
    assert study.trials == [] and study.status == "idle"


def test_run_without_function_and_unpicklable_function():
    import threading

    study = hn.Study(None, SPACE, objectives={"y": "min"})
    with pytest.raises(hn.ConfigError, match="no trial function"):
        study.run(n_trials=1)
    lock = threading.Lock()

    def fn(params, trial):
        with lock:
            return 1.0

    with pytest.raises(hn.ConfigError, match="cannot be sent to Dask workers"):
        hn.Study(fn, SPACE, objectives={"y": "min"}).run(n_trials=1)


def test_report_rejects_non_numbers():
    study = hn.Study(None, SPACE, objectives={"y": "min"})
    t = study.ask()
    with pytest.raises(TypeError, match="metric 'loss' must be a number"):
        t.report(1, loss="high")
    with pytest.raises(TypeError, match="step must be a finite number"):
        t.report(math.inf, loss=1.0)
    t.report(np.int64(2), loss=np.float32(0.5))
    assert study.curves()["loss"].tolist() == [0.5]


def test_existing_study_name_in_file(tmp_path):
    path = tmp_path / "s.db"
    hn.Study(None, SPACE, objectives={"y": "min"}, storage=str(path))
    with pytest.raises(hn.StorageError, match="already holds a study named 'study'"):
        hn.Study(None, SPACE, objectives={"y": "min"}, storage=str(path))
    again = hn.Study(None, SPACE, objectives={"y": "min"}, storage=str(path), load_if_exists=True)
    assert again.name == "study"
    with pytest.raises(hn.StorageError, match="different objectives"):
        hn.Study(None, SPACE, objectives={"y": "max"}, storage=str(path), load_if_exists=True)


def test_load_study_round_trip(tmp_path):
    path = str(tmp_path / "s.db")
    study = two_objective_study(storage=path, optimizer="sobol")
    for t in study.ask(3):
        tell_bc(study, t)
    pending = study.ask()
    study.close()
    again = hn.load_study(path)
    assert [t.state.value for t in again.trials] == ["COMPLETE"] * 3 + ["RUNNING"]
    assert again.trials[3].params == pending.params
    assert again.seed == 0 and again.optimizer.name == "sobol"
    assert again.lineage["seed"] == 0 and again.lineage["packages"]["botorch"]
    assert again.hypervolume() == pytest.approx(study.hypervolume())


def test_load_study_errors(tmp_path):
    with pytest.raises(hn.StorageError, match="no study file"):
        hn.load_study(str(tmp_path / "missing.db"))
    junk = tmp_path / "junk.db"
    junk.write_text("hello, not sqlite" * 100)
    with pytest.raises(hn.StorageError, match="not an hpo_notebook study file"):
        hn.load_study(str(junk))


def test_ask_tell_pruning_is_synchronous_and_pruned_trials_inform_the_model(tmp_path):
    path = str(tmp_path / "p.db")
    study = hn.Study(
        None,
        SPACE,
        objectives={"loss": "min"},
        optimizer="sobol",
        seed=3,
        storage=path,
        pruner=hn.ASHA(max_steps=9),
    )
    a, b = study.ask(2)
    a.report(1, loss=0.1)
    with pytest.raises(hn.Pruned, match="not in the top 1 of 2"):
        b.report(1, loss=0.9)
    assert b.should_prune() and not a.should_prune()
    study.tell(b, hn.Pruned("stopped"))
    t = study.trial(b.number)
    assert t.state is hn.TrialState.PRUNED and t.extra["pruned_at"] == 1
    assert t.error == "not in the top 1 of 2 trials on loss at rung step 1"
    h = study._ledger.history()
    assert h.Y.tolist() == [[0.9]] and len(h.X_pending) == 1  # last value, a still pending
    study.close()
    again = hn.load_study(path)
    assert repr(again.pruner) == "ASHA(max_steps=9, grace=1, eta=3)"
    ignore = hn.Study(
        None,
        SPACE,
        objectives={"loss": "min"},
        pruned_in_model="ignore",
        pruner=hn.ASHA(max_steps=9),
    )
    x, y = ignore.ask(2)
    x.report(1, loss=0.1)
    with pytest.raises(hn.Pruned):
        y.report(1, loss=0.9)
    ignore.tell(y, hn.Pruned("stopped"))
    assert ignore._ledger.history().Y.shape == (0, 1)


def test_n_initial_given_to_the_optimizer_survives_reopening(tmp_path):
    path = str(tmp_path / "n.db")
    space = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0))
    opt = hn.BoTorchOptimizer("qLogEHVI", n_initial=5)
    study = hn.Study(None, space, objectives={"a": "min", "b": "min"}, storage=path, optimizer=opt)
    study.close()
    again = hn.load_study(path)
    assert again.optimizer.name == "qLogEHVI" and again.optimizer.n_initial == 5


def test_metric_names_like_frame_columns_never_corrupt_a_column():
    """Before: an extra result key ``number`` or ``params_x`` overwrote those columns (and
    pareto() returned the wrong rows), a metric ``error`` vanished from trials_frame(), and
    report keys ``trial``/``attempt`` rewrote curves() columns."""
    study = hn.Study(None, SPACE, objectives={"error": "min", "size": "min"}, optimizer="sobol")
    trials = study.ask(3)
    values = [(0.3, 3.0), (0.1, 9.0), (0.5, 1.0)]  # every one is on the front
    for t, (err, size) in zip(trials, values):
        t.report(1, trial=99.0, attempt=7.0, error=err)
        extra = {"number": 100 + t.number, "params_x": -1.0, "state": "bogus", "values_error": 5}
        study.tell(t, {"error": err, "size": size, **extra})
    df = study.trials_frame()
    assert df["number"].tolist() == [0, 1, 2]
    assert df["params_x"].tolist() == [t.params["x"] for t in trials]
    assert df["state"].tolist() == ["COMPLETE"] * 3
    assert df["error"].isna().all()  # the trials' error messages: none
    assert df["values_error"].tolist() == [0.3, 0.1, 0.5]  # the metric, visible
    assert df["values_number"].tolist() == [100, 101, 102]
    assert df["values_params_x"].tolist() == [-1.0] * 3
    assert df["values_state"].tolist() == ["bogus"] * 3
    assert df["values_values_error"].tolist() == [5] * 3
    front = study.pareto()
    assert front["number"].tolist() == [1, 0, 2]  # sorted by the first objective
    assert front["values_error"].tolist() == [0.1, 0.3, 0.5]
    curves = study.curves()
    assert curves["trial"].tolist() == [0, 1, 2] and curves["attempt"].tolist() == [1, 1, 1]
    assert curves["values_trial"].tolist() == [99.0] * 3
    assert curves["values_attempt"].tolist() == [7.0] * 3
    assert curves["values_error"].tolist() == [0.3, 0.1, 0.5]
    from hpo_notebook.viz.plots import _study_parts

    as_trials, _ = _study_parts(df, {"error": "min", "size": "min"})  # plots of a frame
    assert [t.values for t in as_trials] == [{"error": e, "size": s} for e, s in values]


def _edit_settings(path, change):
    import json
    import sqlite3

    conn = sqlite3.connect(path)
    settings = json.loads(conn.execute("SELECT settings FROM studies").fetchone()[0])
    change(settings)
    conn.execute("UPDATE studies SET settings=?", (json.dumps(settings),))
    conn.commit()
    conn.close()


def test_an_unknown_stored_pruner_is_an_error_not_dropped(tmp_path):
    """Before: a pruner type this version does not know was silently dropped and the resumed
    study ran without pruning."""
    path = str(tmp_path / "p.db")
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, storage=path, pruner=hn.ASHA(9))
    study.tell(study.ask(), {"loss": 0.5})
    study.close()
    _edit_settings(path, lambda s: s.update(pruner={"type": "Hyperband", "max_steps": 9}))
    again = hn.load_study(path)  # still readable
    assert len(again.trials_frame()) == 1
    with pytest.raises(hn.StorageError, match=r"stored pruner type 'Hyperband' is not one"):
        again.ask()
    with pytest.raises(hn.StorageError, match=r"pass pruner=\.\.\. to load_study"):
        hn.load_study(path, fn=lambda p, t: 0.0).run(n_trials=1)
    chosen = hn.load_study(path, pruner=hn.Median())  # the user chooses one
    chosen.tell(chosen.ask(), {"loss": 0.1})
    assert chosen.counts()["COMPLETE"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("space"), "KeyError: 'space'"),
        (lambda s: s.update(space={"x": {"type": "nope"}}), "cannot be used by this version"),
        (lambda s: s.update(seed="zero"), "cannot be used by this version"),
        (lambda s: s.update(checkpoints={"dir": 5}), "stored checkpoint settings"),
        (lambda s: s.update(trial_timeout=-3), "trial_timeout must be a positive number"),
    ],
)
def test_damaged_settings_are_storage_errors(tmp_path, change, message):
    path = str(tmp_path / "d.db")
    hn.Study(None, SPACE, objectives={"loss": "min"}, storage=path).close()
    _edit_settings(path, change)
    with pytest.raises(hn.StorageError, match=message):
        hn.load_study(path)


def test_a_read_only_study_file_opens_for_analysis(tmp_path, read_only):
    folder = tmp_path / "archive"
    path = folder / "s.db"
    study = hn.Study(None, UNIT_2D, objectives={"f0": "min", "f1": "min"}, storage=str(path))
    for t in study.ask(3):
        tell_bc(study, t)
    study.close()
    before = sorted(p.name for p in folder.iterdir())
    with read_only(path, folder):
        again = hn.load_study(str(path))
        assert len(again.trials_frame()) == 3 and len(again.pareto()) >= 1
        assert again.hypervolume() > 0
        with pytest.raises(hn.StorageError, match="is read-only"):
            again.ask()
        assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


def test_the_report_log_is_public_kept_up_to_date_and_rebuilt_on_reopening(tmp_path):
    """Views read reports through ``Study.reports()`` (issue 12), not the study's store."""
    path = str(tmp_path / "s.db")
    study = hn.Study(None, hn.Space(x=hn.Float(0, 1)), {"loss": "min"}, storage=path)
    first = study.ask()
    first.report(1, loss=0.5)
    log = study.reports()  # built from the store now, kept up to date from here on
    first.report(2, loss=0.3)
    study.tell(first, {"loss": 0.3})
    second = study.ask()
    second.report(1, loss=0.9)
    assert log is study.reports()
    assert log.curve(first.number) == [(1, {"loss": 0.5}), (2, {"loss": 0.3})]
    assert log.values_at(1, "loss") == {first.number: 0.5, second.number: 0.9}
    study.close()
    again = hn.load_study(path)
    assert again.reports().curve(first.number) == log.curve(first.number)
    assert again.reports().curve(second.number) == [(1, {"loss": 0.9})]


@pytest.mark.slow
def test_optimizer_state_is_a_copy_and_survives_reopening(tmp_path):
    path = str(tmp_path / "s.db")
    study = two_objective_study(storage=path)
    assert study.optimizer_state is None  # no model yet
    for _ in range(3):
        for t in study.ask(4):
            tell_bc(study, t)
    state = study.optimizer_state
    assert state, "a BoTorch study stores its model's state"
    state.clear()
    assert study.optimizer_state, "the study's own state was changed through the copy"
    expected = study.optimizer_state
    study.close()
    assert hn.load_study(path).optimizer_state == expected


def test_one_pruner_object_serves_two_studies_with_their_own_objectives():
    """Before: Study bound the caller's pruner object, so a second study with other
    objectives re-bound the first study's pruner (here: flipped its direction)."""
    pruner = hn.ASHA(max_steps=9)
    space = hn.Space(x=hn.Float(0, 1))
    low = hn.Study(None, space, {"score": "min"}, optimizer="sobol", seed=0, pruner=pruner)
    high = hn.Study(None, space, {"score": "max"}, optimizer="sobol", seed=0, pruner=pruner)
    for study in (low, high):
        for value in (1.0, 2.0, 3.0):  # three trials reach the first rung (step 1)
            with contextlib.suppress(hn.Pruned):
                study.ask().report(1, score=value)
    last = {}
    for name, study in (("low", low), ("high", high)):
        try:
            study.ask().report(1, score=4.0)  # the worst on "min", the best on "max"
            last[name] = "goes on"
        except hn.Pruned:
            last[name] = "pruned"
    assert last == {"low": "pruned", "high": "goes on"}
    assert pruner is not low.pruner and pruner is not high.pruner


def test_n_initial_does_not_change_the_callers_optimizer():
    opt = hn.BoTorchOptimizer("qLogEHVI", n_initial=5)
    study = hn.Study(None, UNIT_2D, {"f0": "min", "f1": "min"}, optimizer=opt, n_initial=7)
    assert (study.optimizer.n_initial, opt.n_initial) == (7, 5)
