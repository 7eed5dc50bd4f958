"""The executor contract is the one the run loop uses (issue 12, item 2)."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

import hpo_notebook as hn
from hpo_notebook.execution.base import DecisionPolicy, Executor
from hpo_notebook.execution.dask import DaskExecutor
from hpo_notebook.objectives import Objectives
from hpo_notebook.pruners.base import EVERY_REPORT, DecisionPoints

RUNNER = Path(hn.__file__).parent / "driver.py"


def _protocol_members(proto: type) -> set[str]:
    return {n for n in vars(proto) if not n.startswith("_")}


def test_the_run_loop_calls_only_the_executor_contract():
    used = set(re.findall(r"self\.executor\.([A-Za-z_]+)", RUNNER.read_text()))
    assert used, "the runner no longer reaches its executor as self.executor"
    assert used <= _protocol_members(Executor), used - _protocol_members(Executor)


def test_the_dask_executor_implements_the_whole_contract():
    missing = [n for n in _protocol_members(Executor) if not hasattr(DaskExecutor, n)]
    assert not missing
    # pruner timing arrives with open(), not as attributes set from outside
    assert not hasattr(DaskExecutor(), "decision_step")


@pytest.mark.parametrize(
    ("pruner", "points", "wait_now"),
    [
        (hn.ASHA(27), DecisionPoints(rungs=(1, 3, 9), stop=27), True),
        (hn.MultiObjectiveASHA(27, rungs=2), DecisionPoints(rungs=(1, 3), stop=27), True),
        (hn.Median(warmup=2, max_steps=10), DecisionPoints(start=2, stop=10), False),
        (hn.Median(), DecisionPoints(start=5), False),  # the default warm-up
    ],
)
def test_a_pruner_gives_its_decision_points_as_data(pruner, points, wait_now):
    pruner.bind(Objectives.parse({"loss": "min", "size": "min"}))
    policy = DecisionPolicy.for_pruner(pruner)
    assert policy == DecisionPolicy(points, wait_now)
    # sent with every trial: plain data, not the pruner (whose state grows with the study)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert b"ASHA" not in pickle.dumps(policy) and b"Median" not in pickle.dumps(policy)


def test_no_pruner_no_policy_and_every_report_by_default():
    assert DecisionPolicy.for_pruner(None) is None
    assert all(EVERY_REPORT.includes(s, None) for s in (-1.0, 0.0, 1e9))


def test_a_trial_ends_in_a_final_state():
    from hpo_notebook.execution.base import TrialEnded

    assert TrialEnded(0, 1, hn.TrialState.PRUNED).state is hn.TrialState.PRUNED
    with pytest.raises(ValueError, match="RUNNING"):
        TrialEnded(0, 1, hn.TrialState.RUNNING)


def test_the_dask_executor_turns_start_news_into_typed_messages_in_order():
    import queue

    from hpo_notebook.events import WorkerLost
    from hpo_notebook.execution.base import ReportArrived, TrialStarted
    from hpo_notebook.reports import Report

    ex = DaskExecutor()
    ex._messages = queue.Queue()  # what open() sets, without a cluster
    start = {"kind": "start", "trial": 3, "attempt": 2, "t": 1.5, "worker": "tcp://w:1"}
    report = {"trial": 3, "attempt": 2, "step": 1, "metrics": {"loss": 0.5}, "t": 1.6}
    again = {**start, "t": 9.0, "worker": "tcp://w:2"}  # Dask ran it again elsewhere
    ex._futures[(3, 2)] = object()  # what submit() keeps while the trial runs
    for msg in (start, report, again):
        ex._on_report((0.0, msg))
    got = [ex._messages.get_nowait() for _ in range(4)]
    assert got == [
        TrialStarted(3, 2, "tcp://w:1", 1.5),
        ReportArrived(Report(3, 1, {"loss": 0.5}, 2, 1.6)),
        WorkerLost(3, 2, "tcp://w:1"),
        TrialStarted(3, 2, "tcp://w:2", 9.0),
    ]
    assert isinstance(got[1].report.step, int) and got[1].report["metrics"] == {"loss": 0.5}
    # a start that arrives after its trial ended (topics and futures are not ordered) is
    # announced but not kept, so nothing is remembered for a trial that is over
    ex._on_report((0.0, {**start, "trial": 4}))
    assert ex._messages.get_nowait() == TrialStarted(4, 2, "tcp://w:1", 1.5)
    assert (4, 2) not in ex._started


def test_a_fresh_workers_imports_come_before_the_announced_start(monkeypatch):
    """A flaky trial_timeout test found it: a restarted worker's first trial imported NumPy
    and torch (to seed them) after announcing its start, and on a busy machine that took
    longer than the 2 s timeout of a trial that returns at once."""
    import distributed

    from hpo_notebook.execution import dask as dask_module
    from hpo_notebook.execution.base import TrialSpec

    order: list[str] = []

    class _Worker:
        address = "tcp://w:1"

        def log_event(self, topic, msg):
            order.append(msg.get("kind", "report"))

    monkeypatch.setattr(distributed, "get_worker", lambda: _Worker())
    monkeypatch.setattr(dask_module._ControlTopic, "inbox", lambda *a: dask_module._Inbox())
    monkeypatch.setattr(dask_module._ControlTopic, "release", lambda *a: None)
    monkeypatch.setattr(dask_module, "seed_everything", lambda seed: order.append("seed"))
    monkeypatch.setattr(dask_module, "process_lineage", lambda: order.append("lineage") or {})
    spec = TrialSpec(0, {}, seed=1, attempt=1)
    route = dask_module._Route(topic="t", stop="s", control="c", policy=None)
    out = dask_module._run_trial(lambda params, trial: order.append("trial") or 1.0, spec, route)
    assert out["state"] is hn.TrialState.COMPLETE and out["result"] == 1.0
    assert order == ["seed", "lineage", "start", "trial"]
