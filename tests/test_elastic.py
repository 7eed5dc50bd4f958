"""Elastic clusters: trials at once follow the workers there are (up to ``concurrency``);
workers that join get trials, workers that leave have theirs re-run; an adaptive cluster grows
while trials wait. The dashboard shows the worker count."""

from __future__ import annotations

import logging
import threading
import warnings

import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import checkpointed
from hpo_notebook.widgets.dashboard import Dashboard

pytestmark = pytest.mark.slow

SPACE = hn.Space(x=hn.Float(0.2, 0.3), steps=hn.Choice([10]), step_s=hn.Choice([0.2]))


def _cluster(n_workers: int):
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR,
        )  # fmt: skip
    return cluster, Client(cluster, set_as_default=False)


def _peak(trials) -> int:
    edges = sorted([(t.started_at, 1) for t in trials] + [(t.ended_at, -1) for t in trials])
    peak = cur = 0
    for _, d in edges:
        cur += d
        peak = max(peak, cur)
    return peak


def test_workers_that_join_get_trials_and_those_that_leave_have_theirs_rerun():
    cluster, client = _cluster(1)
    study = hn.Study(checkpointed, SPACE, {"loss": "min"}, optimizer="sobol", seed=2)
    seen_workers: list[int] = []
    capacity: list[int] = []
    headers: list[str] = []
    pids: set[float] = set()  # worker processes that computed steps
    phase = {"grown": False, "shrunk": False}
    dash = Dashboard(study, autostart=False)

    def elastic(event):
        p = study.progress()
        if p is not None and p.workers is not None and p.workers not in seen_workers[-1:]:
            seen_workers.append(p.workers)
            dash.refresh()
            headers.append(dash.header.value)
        if p is not None and p.capacity:  # (0 before the run's loop begins)
            capacity.append(p.capacity)
        if not isinstance(event, hn.events.ReportsAdded):
            return
        pids.update(r.metrics["pid"] for r in event.reports)
        if not phase["grown"]:  # the first trial runs: two workers join
            phase["grown"] = True
            threading.Thread(target=cluster.scale, args=(3,)).start()
        elif not phase["shrunk"] and len(pids) == 3 and p.running == 3:
            phase["shrunk"] = True  # the new workers run trials: two leave, mid-trial
            threading.Thread(target=cluster.scale, args=(1,)).start()

    study.subscribe(elastic)
    try:
        study.run(n_trials=12, cluster=client, progress=False, show=False)  # no concurrency
    finally:
        client.close()
        cluster.close()
    assert seen_workers[:3] == [1, 3, 1], seen_workers
    assert capacity[0] == 1 and max(capacity) == 3 and capacity[-1] == 1  # followed them
    assert any("3 workers" in h for h in headers) and "1 workers" in headers[-1]
    assert len(pids) == 3  # the workers that joined ran trials
    trials = study.trials
    assert study.counts()["COMPLETE"] == 12 and len(trials) == 12  # each counted once
    rerun = [t for t in trials if t.extra.get("worker_restarts")]
    assert rerun, "the workers that left were running trials"
    for t in rerun:
        assert study.curves(t.number)["step"].tolist() == list(range(1, 11))


def test_an_adaptive_cluster_grows_while_trials_wait_up_to_concurrency():
    cluster, client = _cluster(0)
    cluster.adapt(minimum=1, maximum=3, interval="200ms", wait_count=50)
    study = hn.Study(checkpointed, SPACE, {"loss": "min"}, optimizer="sobol", seed=4)
    workers: list[int] = []

    def record(event):
        p = study.progress()
        if p is not None and p.workers is not None:
            workers.append(p.workers)

    study.subscribe(record)
    try:
        study.run(n_trials=9, cluster=client, progress=False, show=False)  # no concurrency
    finally:
        client.close()
        cluster.close()
    assert study.counts()["COMPLETE"] == 9
    assert max(workers) == 3 and _peak(study.trials) == 3  # grew to its maximum
    assert len({t.worker for t in study.trials}) >= 3


def test_concurrency_caps_what_the_workers_would_allow():
    cluster, client = _cluster(3)
    study = hn.Study(checkpointed, SPACE, {"loss": "min"}, optimizer="sobol", seed=5)
    try:
        study.run(n_trials=6, concurrency=2, cluster=client, progress=False, show=False)
        assert _peak(study.trials) == 2
        fewer = hn.Study(checkpointed, SPACE, {"loss": "min"}, optimizer="sobol", seed=6)
        # more than the workers: trials at once follow the workers there are
        fewer.run(n_trials=6, concurrency=5, cluster=client, progress=False, show=False)
        assert _peak(fewer.trials) == 3 and fewer.progress().workers == 3
    finally:
        client.close()
        cluster.close()
