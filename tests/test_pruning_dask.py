"""Integration: pruning, checkpoints, lost workers and resources on real LocalClusters."""

from __future__ import annotations

import os
import signal
import statistics

import pytest

import hpo_notebook as hn
from hpo_notebook.execution.gpu import cluster_with_resources
from hpo_notebook.testing.problems import checkpointed, learning_curve, sleepy

pytestmark = pytest.mark.slow

CURVE_SPACE = hn.Space(x=hn.Float(0.0, 1.0), steps=hn.Choice([9]), step_s=hn.Choice([0.03]))


def test_asha_prunes_on_a_cluster_promptly(dask_client):
    study = hn.Study(
        learning_curve,
        CURVE_SPACE,
        objectives={"loss": "min"},
        seed=0,
        optimizer="sobol",
        pruner=hn.ASHA(max_steps=9, grace=1, eta=3),
    )
    study.run(n_trials=16, concurrency=2, cluster=dask_client)
    trials = study.trials
    pruned = [t for t in trials if t.state is hn.TrialState.PRUNED]
    complete = [t for t in trials if t.state is hn.TrialState.COMPLETE]
    assert len(pruned) + len(complete) == 16 and len(pruned) >= 6
    curves = study.curves()
    for t in pruned:
        steps = curves[curves["trial"] == t.number]["step"].tolist()
        assert steps == list(range(1, len(steps) + 1))  # curve kept, no gaps
        assert t.extra["pruned_at"] in (1, 3) and "not in the top" in t.error
        # the trial waits for decisions at rung steps: nothing runs after a decision
        assert t.extra["steps_after_decision"] == 0
        assert max(steps) == t.extra["pruned_at"]
    for t in complete:
        assert curves[curves["trial"] == t.number]["step"].max() == 9  # never pruned at 9
    latency = statistics.median(t.extra["decision_latency_s"] for t in pruned)
    assert latency < 0.05, latency


def test_multi_objective_pruning_keeps_both_ends(dask_client):
    study = hn.Study(
        learning_curve,
        CURVE_SPACE,
        objectives={"loss": "min", "size": "min"},
        seed=1,
        optimizer="sobol",
        # every trial lies on one trade-off, so keep_front would keep them all: plain MO-ASHA
        # shows that crowding keeps both ends
        pruner=hn.MultiObjectiveASHA(max_steps=9, keep_front=False),
    )
    study.run(n_trials=12, concurrency=2, cluster=dask_client)
    xs = [t.params["x"] for t in study.trials if t.state is hn.TrialState.COMPLETE]
    assert any(t.state is hn.TrialState.PRUNED for t in study.trials)
    # loss favours small x and size large x: both ends of the trade-off survive
    assert min(xs) < 0.3 and max(xs) > 0.7


def test_should_prune_check_instead_of_exception(dask_client):
    def polite(params, trial):
        import time

        for step in range(1, 10):
            time.sleep(0.001)  # steps far shorter than a decision takes to arrive
            try:
                trial.report(step, loss=params["x"] + 1.0 / step)
            except hn.Pruned:
                assert trial.should_prune()
                raise
        return {"loss": params["x"]}

    study = hn.Study(
        polite,
        hn.Space(x=hn.Float(0, 1)),
        objectives={"loss": "min"},
        optimizer="sobol",
        seed=2,
        pruner=hn.Median(warmup=1, min_trials=2),
    )
    study.run(n_trials=8, concurrency=2, cluster=dask_client)
    assert {t.state for t in study.trials} == {hn.TrialState.COMPLETE, hn.TrialState.PRUNED}
    # the median rule answers every report; a trial collects the answer to a report at its
    # next one, so at most one step runs after the decision even with millisecond steps
    pruned = [t for t in study.trials if t.state is hn.TrialState.PRUNED]
    assert all(t.extra["steps_after_decision"] <= 1 for t in pruned)


def test_worker_killed_mid_trial_resumes_from_checkpoint(own_client, tmp_path):
    space = hn.Space(x=hn.Float(0.2, 0.3), steps=hn.Choice([20]), step_s=hn.Choice([0.05]))
    study = hn.Study(
        checkpointed,
        space,
        objectives={"loss": "min"},
        optimizer="sobol",
        seed=3,
        storage=str(tmp_path / "s.db"),
    )
    killed: list[float] = []
    lost: list[hn.events.WorkerLost] = []

    def kill_at_step_5(event):
        if isinstance(event, hn.events.ReportsAdded) and not killed:
            for r in event.reports:
                if r.trial == 0 and r.step >= 5:
                    killed.append(r.metrics["pid"])
                    os.kill(int(r.metrics["pid"]), signal.SIGKILL)
                    break
        elif isinstance(event, hn.events.WorkerLost):
            lost.append(event)

    study.subscribe(kill_at_step_5)
    study.run(n_trials=1, concurrency=1, cluster=own_client)
    t = study.trial(0)
    assert killed and t.state is hn.TrialState.COMPLETE
    assert t.attempt == 1 and t.extra["worker_restarts"] == 1
    assert [(e.number, e.attempt) for e in lost] == [(0, 1)] and lost[0].worker
    ckpt = t.extra["checkpoint_step"]
    assert 4 <= ckpt < 20
    curve = study.curves(0)
    assert curve["step"].tolist() == list(range(1, 21))  # no duplicated or missing steps
    before = curve[curve["step"] <= ckpt]["pid"]
    after = curve[curve["step"] > ckpt]["pid"]
    assert set(before) == {killed[0]} and killed[0] not in set(after)
    assert t.values["loss"] == pytest.approx(curve["loss"].iloc[-1])
    assert len(study.trials) == 1  # counted once


def test_resources_limit_concurrency():
    from distributed import Client

    cluster = cluster_with_resources([{}, {}], {"GPU": 1}, threads_per_worker=2)
    client = Client(cluster, set_as_default=False)
    try:
        space = hn.Space(x=hn.Float(0, 1), seconds=hn.Choice([0.4]))
        study = hn.Study(sleepy, space, objectives={"y": "min"}, optimizer="sobol", seed=4)
        study.run(n_trials=6, cluster=client, resources={"GPU": 1})  # default concurrency
        gpu_peak = _peak_concurrency(study.trials)
        free = hn.Study(sleepy, space, objectives={"y": "min"}, optimizer="sobol", seed=4)
        free.run(n_trials=4, cluster=client)
        cpu_peak = _peak_concurrency(free.trials)
    finally:
        client.close()
        cluster.close()
    assert gpu_peak == 2  # one per worker that declares one GPU
    assert cpu_peak == 4  # two threads on each of two workers


def _peak_concurrency(trials) -> int:
    events = sorted(
        [(t.started_at, 1) for t in trials] + [(t.ended_at, -1) for t in trials],
        key=lambda e: (e[0], e[1]),
    )
    peak = cur = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    return peak
