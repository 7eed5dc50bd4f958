"""What ``Study.subscribe`` listeners receive: typed events, in order, after the change is
saved; dict-style reads keep listeners written for earlier versions working."""

from __future__ import annotations

import pytest

import hpo_notebook as hn
from hpo_notebook.events import ReportsAdded, StatusChanged, TrialChanged, WorkerLost
from hpo_notebook.reports import Report
from hpo_notebook.trial import Trial, TrialState


def two_epochs(params, trial):
    for epoch in (1, 2):
        trial.sleep(10.0)
        trial.report(epoch, loss=params["x"] / epoch)
    return {"loss": params["x"] / 2}


def test_a_run_publishes_typed_events_in_order_each_after_it_was_saved(tmp_path):
    path = str(tmp_path / "s.db")
    study = hn.Study(two_epochs, hn.Space(x=hn.Float(0, 1)), {"loss": "min"},
                     optimizer="sobol", storage=path)  # fmt: skip
    seen: list[tuple[str, object]] = []
    stored_at_event: list[bool] = []

    def listener(event):
        if isinstance(event, TrialChanged):
            seen.append(("trial", event.trial.state.value))
            again = hn.load_study(path).trial(event.trial.number)  # another reader
            stored_at_event.append(again is not None and again.state is event.trial.state)
        elif isinstance(event, ReportsAdded):
            seen.append(("reports", tuple((r.trial, r.step) for r in event.reports)))
        elif isinstance(event, StatusChanged):
            seen.append(("status", event.status))

    study.subscribe(listener)
    study.run(1, cluster=hn.SimulatedCluster(1), progress=False, show=False)
    assert seen == [
        ("status", "running"),
        ("trial", "RUNNING"),
        ("reports", ((0, 1),)),
        ("reports", ((0, 2),)),
        ("trial", "COMPLETE"),
        ("status", "idle"),
    ]
    assert stored_at_event == [True, True]


def test_events_and_reports_read_like_the_dicts_they_replaced():
    t = Trial(4, TrialState.FAILED, {"x": 0.1}, error="boom")
    e = TrialChanged(t)
    assert (e["type"], e["trial"], e.get("trial"), e.get("nope", 7)) == ("trial", t, t, 7)
    assert "trial" in e and "type" in e and "reports" not in e
    with pytest.raises(KeyError, match="reports"):
        e["reports"]
    lost = WorkerLost(3, 2, "tcp://w:1")
    assert (lost["type"], lost["number"], lost["worker"]) == ("worker_lost", 3, "tcp://w:1")
    r = Report(3, 5, {"loss": 0.2}, attempt=2, t=1.0)
    assert (r["trial"], r["step"], r["metrics"], r.get("worker")) == (3, 5, {"loss": 0.2}, None)
    assert Report.from_dict(r.as_dict()) == r
    assert ReportsAdded((r,))["reports"][0]["step"] == 5


def test_events_are_frozen():
    with pytest.raises(AttributeError):
        StatusChanged("idle").status = "running"  # type: ignore[misc]


def test_a_listener_that_raises_is_warned_about_and_the_study_goes_on():
    study = hn.Study(None, hn.Space(x=hn.Float(0, 1)), {"y": "min"})

    def broken(event):
        raise RuntimeError("listener bug")

    study.subscribe(broken)
    with pytest.warns(hn.HpoWarning, match="listener bug"):
        study.tell(study.ask(), 0.5)
    assert study.counts()["COMPLETE"] == 1
