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

RUNNER = Path(hn.__file__).parent / "_runner.py"


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
