"""Stopping rules (``hn.stop``): the rules as pure functions of a study snapshot, and studies
that stop by them on the simulated cluster, asserted exactly (a simulation is deterministic)."""

from __future__ import annotations

import math

import pytest

import hpo_notebook as hn
from hpo_notebook.events import StatusChanged
from hpo_notebook.objectives import Objectives
from hpo_notebook.stop import StopState
from hpo_notebook.trial import Trial, TrialState

T0 = 1_000_000.0
X = hn.Space(x=hn.Float(0.0, 1.0))
LOSS = Objectives.parse({"loss": "min"})


def done(number: int, loss: float, start: float, end: float, **extra) -> Trial:
    return Trial(
        number, TrialState.COMPLETE, {"x": 0.5}, {"loss": loss},
        started_at=start, ended_at=end, extra=extra,
    )  # fmt: skip


def running(number: int, start: float, **extra) -> Trial:
    return Trial(number, TrialState.RUNNING, {"x": 0.5}, started_at=start, extra=extra)


def state(trials, now=100.0, **kw) -> StopState:
    return StopState(trials, now, LOSS, **kw)


# ---------------------------------------------------------------------- the rules alone


def test_no_improvement_measures_the_best_value_against_the_spread_seen():
    # best 1.0 -> 0.6 over the last two of four; worst 2.0: gain (1.4 - 1.0) / 1.4
    trials = [done(0, 2.0, 0, 1), done(1, 1.0, 0, 2), done(2, 0.6, 0, 3), done(3, 1.5, 0, 4)]
    rule = hn.stop.NoImprovement(trials=2, min_gain=0.3)
    assert rule.gain(state(trials)) == pytest.approx(0.4 / 1.4)
    assert rule.check(state(trials)).startswith("no improvement: the last 2 finished trials")
    assert hn.stop.NoImprovement(trials=2, min_gain=0.2).check(state(trials)) is None
    # too early: the window plus the initial design must have finished
    assert rule.gain(state(trials, n_initial=3)) is None
    assert rule.check(state(trials[:2])) is None


def test_no_improvement_takes_the_hypervolume_series_for_several_objectives():
    rule = hn.stop.NoImprovement(trials=3, min_gain=0.05)
    two = Objectives.parse({"a": "min", "b": "min"})
    flat = StopState([], 0.0, two, progress=[0.0, 1.0, 1.9, 1.95, 1.97, 1.99])
    assert rule.gain(flat) == pytest.approx((1.99 - 1.9) / 1.99)
    assert "hypervolume" in rule.check(flat)
    never = StopState([], 0.0, two, progress=[0.0] * 10)  # nothing beats the reference point
    assert rule.check(never) is None


def test_a_budget_counts_every_attempt_and_the_expected_rest_of_running_trials():
    trials = [
        done(0, 1.0, 0, 100, gpus=2.0, earlier_attempts_s=50.0),  # 150 s, 2 GPUs
        done(1, 1.0, 0, 150, gpus=2.0),  # 150 s
        running(2, 250, gpus=2.0),  # 50 s so far, 100 s expected still
    ]
    now = 300.0
    budget = hn.stop.Budget(gpu_hours=1000 / 3600, hours=400 / 3600, trials=5)
    spend = budget.spend(state(trials, now, gpus_per_trial=2.0))
    assert spend["gpu_hours"] == (pytest.approx(700 / 3600), pytest.approx(200 / 3600))
    assert spend["hours"] == (pytest.approx(350 / 3600), pytest.approx(100 / 3600))
    assert spend["trials"] == (3.0, 0.0)
    # worker-hours: 350 spent + 100 expected = 450 > 400: no trial starts
    assert budget.room(state(trials, now, gpus_per_trial=2.0)) == 0
    assert budget.check(state(trials, now)).startswith("budget: 0.0972 of 0.111 worker-hours")
    roomy = hn.stop.Budget(gpu_hours=1500 / 3600, trials=5)
    # 1500 - 700 - 200 = 600 GPU-seconds left; each new trial is expected to take 150 s x 2
    assert roomy.room(state(trials, now, gpus_per_trial=2.0)) == 2
    assert hn.stop.Budget(trials=5).room(state(trials, now)) == 2
    assert hn.stop.Budget(hours=1.0).room(state([running(0, 0)], 10)) == math.inf


def test_combined_rules_flatten_and_round_trip_through_json():
    rule = hn.stop.NoImprovement() | hn.stop.Budget(trials=9) | hn.stop.Budget(hours=2)
    assert len(rule.rules()) == 3
    assert repr(rule) == (
        "NoImprovement(trials=30, min_gain=0.05) | Budget(trials=9) | Budget(hours=2)"
    )
    assert hn.stop.from_json(rule.to_json()) == rule
    trials = [done(i, 1.0, 0, i + 1) for i in range(9)]
    assert rule.check(state(trials)).startswith("budget: 9 of 9 trials")
    assert rule.room(state(trials[:7])) == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: hn.stop.NoImprovement(trials=0), "NoImprovement: trials must be a positive"),
        (lambda: hn.stop.NoImprovement(min_gain=1.5), "min_gain must be a number in (0, 1)"),
        (lambda: hn.stop.NoImprovement(min_gain=float("nan")), "got nan"),
        (lambda: hn.stop.Budget(), "give at least one of gpu_hours="),
        (lambda: hn.stop.Budget(hours=-1), "Budget: hours must be a positive number, got -1"),
        (lambda: hn.stop.Budget(trials=2.5), "Budget: trials must be a positive integer"),
        (lambda: hn.stop.from_json({"rule": "Patience"}), "unknown stopping rule"),
        (lambda: hn.stop.from_json({"rule": "Budget", "hours": "x"}), "Budget: hours"),
        (lambda: hn.Study(None, X, "min", stop_when="20 trials"), "stop_when must be a stopping"),
    ],
)
def test_bad_rules_are_refused_with_the_value(make, message):
    with pytest.raises(hn.ConfigError) as info:
        make()
    assert message in str(info.value)


# ---------------------------------------------------------------------- studies that stop


def study_of(fn, **kw) -> hn.Study:
    kw.setdefault("optimizer", "sobol")
    kw.setdefault("seed", 0)
    return hn.Study(fn, X, {"loss": "min"}, **kw)


def run(study: hn.Study, n: int, workers: int = 4, **kw) -> hn.Study:
    kw.setdefault("cluster", hn.SimulatedCluster(workers, start=T0))
    return study.run(n, progress=False, show=False, **kw)


def sleeps(seconds: float):
    def fn(params, trial):
        trial.sleep(seconds)
        return {"loss": params["x"]}

    return fn


def test_an_hours_budget_starts_trials_only_while_their_expected_cost_fits():
    # 900 worker-seconds, trials of 90 s on 4 workers: trials start one by one while what is
    # spent plus what running trials are expected to spend stays below the budget
    study = run(study_of(sleeps(90.0)), 50, stop_when=hn.stop.Budget(hours=0.25))
    assert len(study.trials) == 10
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert sum(t.duration for t in study.trials) == 900.0
    assert study.status == "stopped: budget: 0.25 of 0.25 worker-hours spent"
    assert study.progress().stop_reason == "budget: 0.25 of 0.25 worker-hours spent"


def test_a_gpu_hours_budget_weights_trials_by_their_gpus_and_holds_across_runs(tmp_path):
    path = str(tmp_path / "gpu.db")
    rule = hn.stop.Budget(gpu_hours=1.0)  # 3600 GPU-seconds: 10 trials of 180 s on 2 GPUs
    study = study_of(sleeps(180.0), storage=path, stop_when=rule)
    cluster = hn.SimulatedCluster(4, resources={"GPU": 2}, start=T0)
    run(study, 6, cluster=cluster, resources={"GPU": 2}, concurrency=2)
    assert len(study.trials) == 6 and study.status == "idle"
    assert {t.extra.get("gpus") for t in study.trials} == {2.0}
    study.close()
    again = hn.load_study(path, sleeps(180.0))
    assert again.settings.stop_when == rule
    cluster = hn.SimulatedCluster(4, resources={"GPU": 2}, start=T0 + 10_000)
    run(again, 20, cluster=cluster, resources={"GPU": 2}, concurrency=2)
    assert len(again.trials) == 10
    assert again.status.startswith("stopped: budget: 1 of 1 GPU-hours")
    again.close()
    # the reason is stored: a reopened study still says why it stopped
    assert hn.load_study(path).status.startswith("stopped: budget: 1 of 1 GPU-hours")


def test_a_gpu_budget_without_gpus_is_refused_before_anything_runs():
    study = study_of(sleeps(1.0), stop_when=hn.stop.Budget(gpu_hours=2))
    with pytest.raises(hn.ConfigError, match=r"resources=\{'GPU': 1\}"):
        run(study, 4)
    assert study.trials == []


def test_a_trials_budget_counts_the_trials_of_earlier_runs():
    study = study_of(sleeps(1.0))
    run(study, 3)
    run(study, 10, stop_when=hn.stop.Budget(trials=5))
    assert len(study.trials) == 5
    assert study.status == "stopped: budget: 5 of 5 trials spent"
    run(study, 2)  # the run's rule was for that run only
    assert len(study.trials) == 7 and study.status == "idle"


def plateau(trial_number_loss, durations):
    """Losses and durations by trial number (the last entry for every later trial)."""

    def fn(params, trial):
        n = trial.number
        trial.sleep(durations.get(n, 1.0))
        return {"loss": trial_number_loss.get(n, 1.0)}

    return fn


def test_no_improvement_waits_for_running_trials_and_goes_on_when_one_improves():
    # trial 1 runs long and is the best; the short trials around it gain nothing. The rule
    # holds after trial 4 (no new trial starts) but trial 1 is still running: when it ends
    # with a better value the study goes on, and stops once three trials gained nothing.
    fn = plateau({0: 0.5, 1: 0.1}, {1: 50.0})
    study = study_of(fn, stop_when=hn.stop.NoImprovement(trials=3, min_gain=0.01))
    statuses: list[str] = []
    study.subscribe(lambda e: statuses.append(e.status) if isinstance(e, StatusChanged) else None)
    run(study, 100, workers=2)
    assert len(study.trials) == 9
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert "finishing" in statuses
    # nothing started between the hold (trial 4 ended) and trial 1's end
    hold_at = study.trial(4).ended_at
    assert study.trial(5).started_at == study.trial(1).ended_at
    assert not [t.number for t in study.trials if hold_at < t.started_at < study.trial(1).ended_at]
    assert study.status == (
        "stopped: no improvement: the last 3 finished trials raised the best value by 0.00% "
        "(less than min_gain=1.00%)"
    )


def test_a_run_rule_is_kept_with_the_plan_and_a_study_rule_with_the_study(tmp_path):
    path = str(tmp_path / "s.db")
    study = study_of(sleeps(1.0), storage=path)
    study.start(30, cluster=hn.SimulatedCluster(2, start=T0), progress=False, show=False,
                stop_when=hn.stop.Budget(trials=4))  # fmt: skip
    study.wait()
    assert len(study.trials) == 4
    study.close()
    # continuing the plan (no n_trials) goes on under the plan's rule: nothing more to run
    again = hn.load_study(path, sleeps(1.0))
    assert again.settings.stop_when is None
    run(again, None, workers=2)
    assert len(again.trials) == 4 and again.status.startswith("stopped: budget: 4 of 4")
    # a rule given on reopening becomes the study's own
    again.close()
    third = hn.load_study(path, sleeps(1.0), stop_when=hn.stop.Budget(trials=6))
    run(third, 10, workers=2)
    assert len(third.trials) == 6
    third.close()
    assert hn.load_study(path).settings.stop_when == hn.stop.Budget(trials=6)


@pytest.mark.slow
def test_the_dashboard_header_shows_the_budget_live_and_the_reason_after(monkeypatch):
    from hpo_notebook.events import TrialChanged
    from hpo_notebook.widgets.dashboard import Dashboard, summarize

    study = study_of(sleeps(90.0))
    seen: list[str] = []

    def on(event):
        t = getattr(event, "trial", None)
        if isinstance(event, TrialChanged) and t.number == 5 and t.state.finished:
            seen.append(summarize(study, study.trials, 0.0).extra["stop_rule"])

    study.subscribe(on)
    run(study, 50, stop_when=hn.stop.Budget(hours=0.25))
    # when trial 5 ends (at 180 s) 8 trials have run 90 s each: 720 of 900 worker-seconds;
    # 3 trials are running, so the rest goes in ~60 s at today's pace
    assert seen == ["budget 0.2 of 0.25 worker-hours (80%), ends in ~60 s"]
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    assert "stopped: budget: 0.25 of 0.25 worker-hours spent" in dash.header.value


# ---------------------------------------------------------------------- the magics


MAGIC_SETUP = """import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D as space, branin_currin_values
sim = hn.SimulatedCluster(2, start=1_000_000.0)"""
CELL = "f0, f1 = branin_currin_values(x0, x1)"


@pytest.fixture()
def shell(ipython_shell, tmp_path, monkeypatch):
    from hpo_notebook import _trust

    monkeypatch.setenv(_trust.SECRET_DIR_ENV, str(tmp_path / "key"))
    ipython_shell.reset()
    ipython_shell.run_line_magic("load_ext", "hpo_notebook")
    result = ipython_shell.run_cell(MAGIC_SETUP)
    assert result.success
    yield ipython_shell
    ipython_shell.reset()


@pytest.mark.slow
def test_the_magics_take_stopping_rules_for_the_study_and_for_one_run(shell):
    def cell(code):
        result = shell.run_cell(code)
        assert result.success, result.error_in_exec or result.error_before_exec

    head = "%%hpo --space space --objectives f0:min,f1:min --storage none --optimizer sobol"
    cell(f"{head} --trials 20 --cluster sim --budget trials=5 --name a\n{CELL}")
    a = shell.user_ns["a"]
    assert len(a.trials) == 5 and a.status == "stopped: budget: 5 of 5 trials spent"
    assert a.settings.stop_when == __import__("hpo_notebook").stop.Budget(trials=5)
    cell(f"{head} --no-run --no-improvement 30:0.02 --name b\n{CELL}")
    assert repr(shell.user_ns["b"].settings.stop_when) == "NoImprovement(trials=30, min_gain=0.02)"
    cell("%hpo run 9 --cluster sim --budget trials=3")
    assert len(shell.user_ns["b"].trials) == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("%hpo run 3 --budget", "--budget needs a value"),
        ("%hpo status --budget trials=3", "go with %hpo run or %hpo start"),
        ("%hpo run 3 --budget cpus=3", "--budget part 'cpus=3' should be gpu_hours=H"),
        ("%hpo run 3 --budget hours=lots", "--budget hours must be a number, got 'lots'"),
        ("%hpo run 3 --no-improvement ten", "should look like TRIALS or TRIALS:MIN_GAIN"),
        ("%hpo run 3 --no-improvement 10:2", "min_gain must be a number in (0, 1), got 2.0"),
    ],
)
def test_bad_stopping_flags_get_a_short_message(shell, code, message):
    from IPython.core.error import UsageError

    head = "%%hpo --space space --objectives f0:min,f1:min --storage none --no-run"
    assert shell.run_cell(f"{head}\n{CELL}").success
    result = shell.run_cell(code)
    assert isinstance(result.error_in_exec, UsageError)
    assert message in str(result.error_in_exec)


def test_a_stored_rule_edited_into_nonsense_is_refused_with_its_value(tmp_path):
    import json
    import sqlite3
    from contextlib import closing

    path = str(tmp_path / "s.db")
    hn.Study(None, X, {"loss": "min"}, storage=path, stop_when=hn.stop.Budget(trials=3)).close()
    with closing(sqlite3.connect(path)) as con, con:
        (text,) = con.execute("SELECT settings FROM studies").fetchone()
        settings = json.loads(text)
        settings["stop_when"] = {"rule": "Patience", "trials": 3}
        con.execute("UPDATE studies SET settings = ?", (json.dumps(settings),))
    with pytest.raises(hn.StorageError, match=r"unknown stopping rule .*Patience"):
        hn.load_study(path)


def test_a_trial_left_running_by_a_dead_process_does_not_eat_the_budget(tmp_path):
    # a study whose process died a virtual day ago with one trial RUNNING in the file: that
    # trial's time is unknown, so it must not count as a day spent when the study goes on
    path = str(tmp_path / "s.db")
    study = study_of(sleeps(90.0), storage=path)
    run(study, 4)
    study.ask()  # RUNNING in the file, never told (as when its process died)
    study.close()
    again = hn.load_study(path, sleeps(90.0), stop_when=hn.stop.Budget(hours=0.25))
    cluster = hn.SimulatedCluster(4, start=T0 + 86_400)
    run(again, 20, cluster=cluster)
    # 900 worker-seconds, 360 spent by the first 4: the stale trial re-runs and 5 more start
    assert sum(t.duration for t in again.trials) == 900.0
    assert len(again.trials) == 10 and again.status.startswith("stopped: budget")
