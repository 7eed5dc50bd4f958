"""Integration: studies on a real Dask LocalCluster with two worker processes."""

from __future__ import annotations

import _thread
import itertools
import threading

import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D, branin_currin, fails_when_large, sleepy

pytestmark = pytest.mark.slow

X_SPACE = hn.Space(x=hn.Float(0.0, 1.0))
SLEEP_SPACE = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Float(0.2, 0.3))


class Finished:
    """Awaitable count of finished trials (set from the study's event stream)."""

    def __init__(self, study: hn.Study, n: int) -> None:
        self.n, self.event, self.count = n, threading.Event(), 0
        study.subscribe(self._on)

    def _on(self, event):
        if event["type"] == "trial" and event["trial"].state.finished:
            self.count += 1
            if self.count >= self.n:
                self.event.set()

    def wait(self, timeout: float = 60) -> None:
        assert self.event.wait(timeout), f"only {self.count} trials finished"


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


def test_running_trials_are_never_proposed_again(dask_client):
    """On a small discrete space, a new trial never repeats one that is still running."""
    space = hn.Space(a=hn.Int(0, 3), b=hn.Choice(["p", "q"]), seconds=hn.Choice([0.2]))
    running: dict[int, dict] = {}
    clashes = []

    def on(event):
        if event["type"] != "trial":
            return
        t = event["trial"]
        if t.state is hn.TrialState.RUNNING and t.attempt == 1:
            if any(p == t.params for p in running.values()):
                clashes.append(t.params)
            running[t.number] = t.params
        elif t.state.finished:
            running.pop(t.number, None)

    def fn(params, trial):
        return sleepy({"x": params["a"] / 3, "seconds": params["seconds"]}, trial)["y"] + (
            0.5 if params["b"] == "q" else 0.0
        )

    study = hn.Study(fn, space, objectives="min", seed=2, n_initial=2)
    study.subscribe(on)
    study.run(n_trials=8, concurrency=2, cluster=dask_client)
    assert clashes == []
    assert sum(t.state is hn.TrialState.COMPLETE for t in study.trials) == 8


def test_failures_are_contained(dask_client):
    study = hn.Study(
        fails_when_large,
        X_SPACE,
        objectives={"y": "min"},
        seed=3,
        optimizer="sobol",
        max_failure_share=0.9,
    )
    study.run(n_trials=10, concurrency=2, cluster=dask_client)
    states = [t.state for t in study.trials]
    assert len(states) == 10
    failed = [t for t in study.trials if t.state is hn.TrialState.FAILED]
    done = [t for t in study.trials if t.state is hn.TrialState.COMPLETE]
    assert failed and done
    assert all(t.params["x"] > 0.5 for t in failed) and all(t.params["x"] <= 0.5 for t in done)
    assert all("x too large" in t.traceback and "ValueError" in t.error for t in failed)


def test_too_many_failures_stop_the_study_with_a_clear_error(dask_client):
    def always_fails(params, trial):
        raise RuntimeError("bad dataset path")

    study = hn.Study(always_fails, X_SPACE, objectives={"y": "min"}, optimizer="sobol")
    with pytest.raises(hn.StudyFailedError, match="bad dataset path") as info:
        study.run(n_trials=30, concurrency=2, cluster=dask_client)
    assert "max_failure_share=0.5" in str(info.value)
    assert 3 <= len(study.trials) <= 6  # stopped early, not all 30
    assert study.status == "idle"


def test_bad_result_fails_that_trial_only(dask_client):
    def half_bad(params, trial):
        return {"y": float("nan")} if params["x"] < 0.3 else {"y": params["x"]}

    study = hn.Study(
        half_bad, X_SPACE, objectives={"y": "min"}, seed=4, optimizer="sobol", max_failure_share=1.0
    )
    study.run(n_trials=8, concurrency=2, cluster=dask_client)
    for t in study.trials:
        if t.params["x"] < 0.3:
            assert t.state is hn.TrialState.FAILED and "'y' must be a finite number" in t.error
        else:
            assert t.state is hn.TrialState.COMPLETE


def test_start_pause_resume_stop_and_continue(dask_client):
    study = hn.Study(sleepy, SLEEP_SPACE, objectives={"y": "min"}, seed=5, optimizer="sobol")
    two = Finished(study, 2)
    study.start(n_trials=40, concurrency=2, cluster=dask_client)
    assert study.status == "running"
    two.wait()
    study.pause()
    assert study.status == "paused"
    created = len(study.trials)
    # while paused, the running trials end and nothing new starts
    assert study.wait(timeout=1.0) is False
    assert len(study.trials) == created
    assert study.counts()["RUNNING"] == 0
    study.resume()
    more = Finished(study, study.counts()["COMPLETE"] + 2)
    more.wait()
    study.stop()
    assert study.wait(timeout=30)
    counts = study.counts()
    assert counts["RUNNING"] == 0 and counts["COMPLETE"] >= more.n
    # stopped, not run to the end: every trial either completed or was interrupted
    assert counts["COMPLETE"] + counts["INTERRUPTED"] == len(study.trials) < 40


def test_stop_interrupts_running_trials_and_run_continues_them(dask_client):
    space = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Float(0.6, 0.7))
    study = hn.Study(sleepy, space, objectives={"y": "min"}, seed=9, optimizer="sobol")
    reported = threading.Event()
    study.subscribe(lambda e: e["type"] == "reports" and reported.set())
    study.start(n_trials=3, concurrency=2, cluster=dask_client)
    assert reported.wait(30)
    study.stop()
    assert study.wait(timeout=30)
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


def test_timeout_interrupts_and_returns(dask_client):
    from hpo_notebook.execution.dask import seed_everything

    dask_client.run(seed_everything, 0)  # a first trial on a fresh worker imports torch
    study = hn.Study(sleepy, SLEEP_SPACE, objectives={"y": "min"}, seed=6, optimizer="sobol")
    study.run(n_trials=100, concurrency=2, cluster=dask_client, timeout=1.0)
    counts = study.counts()
    assert 2 <= counts["COMPLETE"] < 20 and counts["RUNNING"] == 0


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


def test_controls_while_running_add_trials_concurrency_and_prune(dask_client):
    space = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Choice([0.6]))
    study = hn.Study(sleepy, space, objectives={"y": "min"}, seed=10, optimizer="sobol")
    reported = threading.Event()
    study.subscribe(lambda e: e["type"] == "reports" and reported.set())
    study.start(n_trials=3, concurrency=1, cluster=dask_client)
    assert reported.wait(30)
    study.prune(0, reason="looks bad")
    study.add_trials(2)
    study.set_concurrency(2)
    assert study.wait(timeout=60)
    t0 = study.trial(0)
    assert t0.state is hn.TrialState.PRUNED and t0.error == "looks bad"
    assert t0.extra["steps_after_decision"] <= 1
    assert len(study.trials) == 5 and sum(t.state.finished for t in study.trials) == 5
    starts = sorted((t.started_at, t.ended_at) for t in study.trials[1:])
    overlapping = any(b[0] < a[1] for a, b in itertools.pairwise(starts))
    assert overlapping  # two at once after set_concurrency(2)
    with pytest.raises(hn.ConfigError, match="not running"):
        study.add_trials(1)


def test_run_async_awaits_and_cancels_cleanly(dask_client):
    import asyncio

    space = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Choice([0.3]))
    study = hn.Study(sleepy, space, objectives={"y": "min"}, seed=11, optimizer="sobol")

    async def main():
        await study.run_async(n_trials=2, concurrency=2, cluster=dask_client)
        assert study.counts()["COMPLETE"] == 2  # awaited to the end
        third = Finished(study, 1)  # a trial of the second run ended: cancel mid-run
        task = asyncio.ensure_future(
            study.run_async(n_trials=20, concurrency=2, cluster=dask_client)
        )
        await asyncio.get_running_loop().run_in_executor(None, third.wait)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    counts = study.counts()
    assert study.status == "idle" and counts["RUNNING"] == 0
    # trials of 0.3 s, two at a time: the cancel came long before the 20 more were done
    assert 3 <= counts["COMPLETE"] < 22


def test_a_stuck_optimizer_warm_up_never_holds_up_proposals(dask_client):
    """A warm-up that hangs (BoTorch waiting on a build lock left by a killed compile) must
    not take the proposal thread: every trial still gets a real, in-time proposal."""
    from hpo_notebook.optimizers.random import SobolSearch

    class StuckWarmUp(SobolSearch):
        def __init__(self) -> None:
            self.release = threading.Event()

        def warm_up(self) -> None:
            self.release.wait(120)

        def uses_model(self, space, history) -> bool:  # proposals go to the proposal pool
            return True

    opt = StuckWarmUp()
    study = hn.Study(
        branin_currin,
        UNIT_2D,
        objectives={"f0": "min", "f1": "min"},
        optimizer=opt,
        seed=0,
        suggest_timeout=5.0,
    )
    try:
        study.run(n_trials=6, concurrency=2, cluster=dask_client)
    finally:
        opt.release.set()
    frame = study.trials_frame()
    assert (frame["state"] == "COMPLETE").all() and len(frame) == 6
    assert set(frame["proposal"]) == {"sobol"}, frame["proposal"].tolist()


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


def test_a_run_can_set_its_own_trial_timeout(dask_client):
    study = hn.Study(_hangs_or_not, X_SPACE, objectives="min", optimizer="sobol", seed=0)
    with pytest.raises(hn.ConfigError, match="trial_timeout must be a positive number"):
        study.run(n_trials=1, cluster=dask_client, trial_timeout=-1)
    assert study.trials == []
    study.run(n_trials=1, concurrency=1, cluster=dask_client, trial_timeout=1.0)
    assert study.trials[0].state is hn.TrialState.FAILED
    assert "trial_timeout=1s" in study.trials[0].error
