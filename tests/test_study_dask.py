"""Integration: studies on a real Dask LocalCluster with two worker processes.

Only what tests Dask itself lives here (the report channel, the stop signal, worker
processes, resources, sockets, a kernel interrupt); the driver loop's behaviour (concurrency,
failures, timeouts, controls) is tested on the simulated cluster in ``test_simulated.py``."""

from __future__ import annotations

import _thread
import threading
import time

import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D, branin_currin, sleepy

pytestmark = pytest.mark.slow

X_SPACE = hn.Space(x=hn.Float(0.0, 1.0))
SLEEP_SPACE = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Float(0.2, 0.3))


def _stop_once_reported(study: hn.Study, client, n_trials: int, reporting: int) -> None:
    """Start ``study``, stop it once ``reporting`` trials have sent a report, and wait."""
    seen: set[int] = set()
    enough = threading.Event()

    def on_event(e) -> None:
        if e["type"] == "reports":
            seen.update(r.trial for r in e.reports)
            if len(seen) >= reporting:
                enough.set()

    study.subscribe(on_event)
    study.start(n_trials=n_trials, concurrency=2, cluster=client)
    assert enough.wait(60)
    study.stop()
    assert study.wait(timeout=30)


def test_every_trial_accounted_for_with_reports(dask_client):
    study = hn.Study(
        branin_currin, UNIT_2D, objectives={"f0": "min", "f1": "min"}, seed=1, n_initial=4
    )
    study.run(n_trials=10, concurrency=2, cluster=dask_client)
    trials = study.trials
    assert [t.number for t in trials] == list(range(10))
    assert all(t.state is hn.TrialState.COMPLETE for t in trials)
    assert len({t.worker for t in trials}) == 2  # both worker processes were used
    assert all(t.lineage["pid"] and t.duration is not None for t in trials)
    kinds = [t.proposal["kind"] for t in trials]
    assert kinds[:4] == ["sobol"] * 4 and set(kinds[4:]) == {"qLogNEHVI"}
    curves = study.curves()
    assert len(curves) == 20 and set(curves["step"]) == {1, 2}
    # asynchronous: model-based trials were proposed while another one was running
    assert any(t.proposal.get("n_pending", 0) >= 1 for t in trials[4:])
    assert study.hypervolume() > 0 and len(study.pareto()) >= 1


def test_stop_interrupts_running_trials_and_run_continues_them(dask_client):
    space = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Float(0.6, 0.7))
    study = hn.Study(sleepy, space, objectives={"y": "min"}, seed=9, optimizer="sobol")
    _stop_once_reported(study, dask_client, n_trials=3, reporting=1)
    interrupted = [t for t in study.trials if t.state is hn.TrialState.INTERRUPTED]
    # sleepy reports every 50 ms, so the running trials see the stop at a report
    assert len(interrupted) == 2 and study.counts()["RUNNING"] == 0
    assert all(t.ended_at - t.started_at < 0.6 for t in interrupted)
    params_before = {t.number: t.params for t in interrupted}
    # continue to the target: the interrupted trials run again with the same params
    study.run(n_trials=None, concurrency=2, cluster=dask_client)
    assert study.counts()["COMPLETE"] == 3 and len(study.trials) == 3
    for number, params in params_before.items():
        t = study.trial(number)
        assert t.params == params and t.attempt == 2 and t.state is hn.TrialState.COMPLETE
        steps = study.curves(number)["step"].tolist()
        assert steps == list(range(1, len(steps) + 1))  # no duplicated or stale steps
        assert set(study.curves(number)["attempt"]) == {2}


def test_a_stop_is_pushed_to_running_trials_which_stop_at_their_next_report(dask_client):
    def chatty(params, trial):
        trial.stop_check_interval = float("inf")  # never ask the scheduler: only the push
        for step in range(1, 3001):
            time.sleep(0.01)
            trial.report(step, y=params["x"])
        return params["x"]

    study = hn.Study(chatty, X_SPACE, objectives={"y": "min"}, seed=3, optimizer="sobol")
    # both running (a worker hears pushes once one of its trials of this run has started)
    _stop_once_reported(study, dask_client, n_trials=2, reporting=2)
    assert [t.state for t in study.trials] == [hn.TrialState.INTERRUPTED] * 2
    # each trial raised TrialInterrupted itself (not abandoned after the grace period)
    assert all("the study is stopping" in (t.error or "") for t in study.trials), [
        t.error for t in study.trials
    ]


def test_keyboard_interrupt_stops_cleanly_and_keeps_cluster_usable(dask_client):
    study = hn.Study(sleepy, SLEEP_SPACE, objectives={"y": "min"}, seed=7, optimizer="sobol")
    fired = []

    def interrupt_after_first(event):
        if event["type"] == "trial" and event["trial"].state.finished and not fired:
            fired.append(True)
            _thread.interrupt_main()  # what the kernel's stop button / Ctrl-C does

    study.subscribe(interrupt_after_first)
    with pytest.raises(KeyboardInterrupt):
        study.run(n_trials=50, concurrency=2, cluster=dask_client)
    assert study.status == "idle"
    assert study.counts()["RUNNING"] == 0 and study.counts()["COMPLETE"] >= 1
    assert dask_client.submit(sum, [1, 2], pure=False).result(timeout=10) == 3


def test_own_local_cluster_and_scheduler_address(dask_client):
    study = hn.Study(
        branin_currin, UNIT_2D, objectives={"f0": "min", "f1": "min"}, seed=8, optimizer="sobol"
    )
    study.run(n_trials=3, concurrency=2)  # starts and closes its own LocalCluster
    assert study.counts()["COMPLETE"] == 3
    assert {t.worker.split(":")[1] for t in study.trials} == {"//127.0.0.1"}
    study.run(n_trials=2, cluster=dask_client.scheduler.address)
    assert study.counts()["COMPLETE"] == 5
    study.run(n_trials=1, cluster=dask_client.cluster)  # a cluster object
    assert study.counts()["COMPLETE"] == 6


def test_resources_no_worker_offers_them(dask_client):
    study = hn.Study(branin_currin, UNIT_2D, objectives={"f0": "min", "f1": "min"})
    with pytest.raises(hn.ConfigError, match=r"no worker offers resources \{'GPU': 1\}"):
        study.run(n_trials=2, cluster=dask_client, resources={"GPU": 1})
    assert study.trials == []


def test_every_socket_of_a_running_study_listens_on_loopback():
    """Before: the study's own LocalCluster served its HTTP dashboard on all interfaces
    (``dashboard_address=":0"`` means 0.0.0.0 to Dask)."""
    import psutil

    study = hn.Study(sleepy, SLEEP_SPACE, objectives={"y": "min"}, optimizer="sobol", seed=0)
    running = threading.Event()
    study.subscribe(lambda e: running.set() if e["type"] == "reports" else None)
    study.start(n_trials=2, concurrency=2)
    try:
        assert running.wait(60), "no trial reported"
        me = psutil.Process()
        listening = [
            (p.pid, c.laddr.ip, c.laddr.port)
            for p in [me, *me.children(recursive=True)]
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
    finally:
        study.wait()
    assert len(listening) >= 3  # scheduler, workers, nannies (and the dashboard, with bokeh)
    assert {ip for _, ip, _ in listening} <= {"127.0.0.1", "::1"}, listening


def _exits(params, trial):
    if params["x"] < 0.5:
        raise SystemExit(3)
    raise KeyboardInterrupt("from inside the trial")


def test_system_exit_or_keyboard_interrupt_in_a_trial_fails_it_once(dask_client):
    """Before: the worker process died, Dask re-ran the trial on the next worker four times and
    it ended FAILED as KilledWorker after ~20 s, without naming the exception."""
    workers = set(dask_client.scheduler_info(n_workers=-1)["workers"])
    study = hn.Study(
        _exits, X_SPACE, objectives="min", optimizer="sobol", seed=0, max_failure_share=1.0
    )
    study.run(n_trials=4, concurrency=2, cluster=dask_client)
    errors = sorted({t.error for t in study.trials})
    assert errors == ["KeyboardInterrupt: from inside the trial", "SystemExit: 3"]
    assert all(t.state is hn.TrialState.FAILED and t.attempt == 1 for t in study.trials)
    assert all("Traceback" in t.traceback for t in study.trials)
    assert set(dask_client.scheduler_info(n_workers=-1)["workers"]) == workers  # none died


def _hangs_or_not(params, trial):
    import time

    if trial.number == 0:
        time.sleep(3600)  # hung in a call: never reports
    if trial.number == 1:
        step = 0
        while True:  # reports, but never ends
            step += 1
            trial.report(step, y=1.0)
            time.sleep(0.05)
    return params["x"]


def test_trial_timeout_stops_hung_trials_and_resume_does_not_start_with_them(tmp_path, own_client):
    """Before: a hung trial hung the study forever, and resume ran it first again."""
    import time

    path = str(tmp_path / "t.db")
    study = hn.Study(
        _hangs_or_not,
        X_SPACE,
        objectives="min",
        storage=path,
        optimizer="sobol",
        seed=0,
        trial_timeout=2.0,
        max_failure_share=1.0,
    )
    t0 = time.monotonic()
    study.run(n_trials=5, concurrency=2, cluster=own_client)
    wall = time.monotonic() - t0
    states = [t.state.value for t in study.trials]
    assert states == ["FAILED", "FAILED", "COMPLETE", "COMPLETE", "COMPLETE"]
    for t in study.trials[:2]:
        assert "TrialTimeout: the trial ran longer than trial_timeout=2s" in t.error
        assert 2.0 <= t.duration < 10.0
    # the hung one's worker was restarted, so the other three still ran on two workers
    assert wall < 45, wall
    study.close()
    again = hn.load_study(path, _hangs_or_not)
    assert again.trial_timeout == 2.0  # stored with the study
    again.run(n_trials=1, concurrency=1, cluster=own_client)
    assert [t.number for t in again.trials if t.attempt > 1] == []  # nothing re-run
    assert again.trials[-1].number == 5 and again.trials[-1].state.value == "COMPLETE"
