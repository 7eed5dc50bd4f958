"""The study loop on ``hn.SimulatedCluster``: virtual time, concurrency, pruning, failures,
timeouts, controls and resume, asserted exactly (a simulation is deterministic)."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

import hpo_notebook as hn
from hpo_notebook.optimizers import Suggestion
from hpo_notebook.optimizers.random import sobol_proposals

T0 = 1_000_000.0  # the virtual clock's start
X = hn.Space(x=hn.Float(0.0, 1.0))


def epochs(n: int, seconds: float):
    """A trial of ``n`` epochs of ``seconds`` virtual seconds each; loss ``x / epoch``."""

    def fn(params, trial):
        for epoch in range(1, n + 1):
            trial.sleep(seconds)
            trial.report(epoch, loss=params["x"] / epoch)
        return {"loss": params["x"] / n}

    return fn


def study_of(fn, **kw) -> hn.Study:
    kw.setdefault("optimizer", "sobol")
    kw.setdefault("seed", 0)
    return hn.Study(fn, kw.pop("space", X), {"loss": "min"}, **kw)


def run(study: hn.Study, n: int, workers: int = 4, **kw) -> hn.Study:
    kw.setdefault("cluster", hn.SimulatedCluster(workers, start=T0))
    return study.run(n, progress=False, show=False, **kw)


def test_trials_run_concurrently_on_virtual_time():
    study = run(study_of(epochs(3, 100.0)), 8, workers=4)
    frame = study.trials_frame()
    assert (frame["state"] == "COMPLETE").all() and len(frame) == 8
    assert frame["duration_s"].tolist() == [300.0] * 8
    # two waves of four: the clock ends at 600 virtual seconds, whatever the real time was
    assert sorted(t.started_at - T0 for t in study.trials) == [0.0] * 4 + [300.0] * 4
    assert study.clock.time() == T0 + 600.0
    assert {t.worker for t in study.trials} == {f"sim://worker-{i}" for i in range(4)}
    curves = study.curves()
    assert len(curves) == 24
    first = study.trial(0).started_at
    assert (curves[curves["trial"] == 0]["t"] - first).tolist() == [100.0, 200.0, 300.0]


def test_a_simulation_is_deterministic():
    def frame():
        study = run(study_of(epochs(4, 10.0), pruner=hn.ASHA(4, eta=2), seed=3), 30, workers=3)
        return [(t.params, t.state, t.started_at, t.ended_at) for t in study.trials]

    assert frame() == frame()


class SlowSobol:
    """A model stand-in: each proposal takes ``seconds`` of real compute (more on its first
    call, which loads SciPy's Sobol engine)."""

    name = "slow-sobol"

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls, self.real_s = seconds, [], []

    def suggest(self, space, objectives, history, n, seed, state):
        t0 = time.perf_counter()
        self.calls.append((history.n_trials, len(history.X_pending)))
        time.sleep(self.seconds)
        out = Suggestion(sobol_proposals(space, history.n_trials, n, seed), state)
        self.real_s.append(time.perf_counter() - t0)
        return out


@pytest.mark.slow
def test_proposal_compute_is_charged_to_the_virtual_clock():
    # trials take no virtual time: every virtual second is spent waiting for proposals
    def instant(params, trial):
        return {"loss": params["x"]}

    opt = SlowSobol(0.2)
    study = run(study_of(instant, optimizer=opt), 6, workers=2)
    assert study.counts()["COMPLETE"] == 6
    waited = study.clock.time() - T0
    # one proposal at a time, each on the critical path: the clock advanced by their real
    # compute time (and the driver's share of handing them over, under a second)
    assert len(opt.real_s) >= 3
    assert sum(opt.real_s) <= waited < sum(opt.real_s) + 1.0
    starts = sorted(t.started_at - T0 for t in study.trials)
    assert starts[0] >= opt.real_s[0]  # nobody starts before the first proposal is computed


def test_running_trials_are_pending_points_of_later_proposals():
    opt = SlowSobol(0.01)
    run(study_of(epochs(2, 50.0), optimizer=opt), 8, workers=4)
    # later rounds are computed while other trials run, and see them as pending
    assert max(p for _, p in opt.calls) >= 1


def test_asha_decides_before_the_next_step_and_saves_compute():
    study = run(study_of(epochs(9, 10.0), pruner=hn.ASHA(9, grace=1, eta=3)), 60, workers=8)
    pruned = [t for t in study.trials if t.state is hn.TrialState.PRUNED]
    assert len(pruned) >= 30
    for t in pruned:  # the trial waited for each rung decision: no step ran after it
        steps = study.curves(t.number)["step"].tolist()
        assert steps[-1] == t.extra["pruned_at"]
        assert t.duration == 10.0 * steps[-1]
    assert study.counts()["COMPLETE"] + len(pruned) == 60


def test_a_pruner_that_answers_every_report_costs_at_most_one_step():
    study = run(study_of(epochs(6, 10.0), pruner=hn.Median(warmup=1, min_trials=3)), 30, workers=4)
    pruned = [t for t in study.trials if t.state is hn.TrialState.PRUNED]
    assert pruned
    for t in pruned:
        last = study.curves(t.number)["step"].max()
        assert last - t.extra["pruned_at"] <= 1


def test_failures_are_contained_and_counted():
    def fails_when_large(params, trial):
        trial.sleep(5.0)
        if params["x"] > 0.5:
            raise ValueError("x too large")
        return {"loss": params["x"]}

    study = run(study_of(fails_when_large, max_failure_share=0.9), 12, workers=3)
    failed = [t for t in study.trials if t.state is hn.TrialState.FAILED]
    done = [t for t in study.trials if t.state is hn.TrialState.COMPLETE]
    assert len(failed) + len(done) == 12 and failed and done
    assert all(t.params["x"] > 0.5 and "x too large" in t.traceback for t in failed)

    def always(params, trial):
        raise RuntimeError("bad dataset path")

    study = study_of(always)
    with pytest.raises(hn.StudyFailedError, match="bad dataset path"):
        run(study, 30, workers=2)
    # stopped at the third failure: the ones already running end too, nothing new starts
    assert study.counts()["FAILED"] == 4 and len(study.trials) == 4


def test_system_exit_in_a_trial_fails_that_trial_only():
    def exits(params, trial):
        if params["x"] > 0.5:
            raise SystemExit(3)
        return {"loss": params["x"]}

    study = run(study_of(exits, max_failure_share=1.0), 8, workers=2)
    failed = [t for t in study.trials if t.state is hn.TrialState.FAILED]
    assert failed and all("SystemExit" in t.error for t in failed)
    assert study.counts()["COMPLETE"] + len(failed) == 8


@pytest.mark.timeout(120)
def test_a_failure_of_the_simulator_around_a_trial_fails_that_trial_and_the_study_goes_on(
    monkeypatch,
):
    """Seeding the trial once raised (torch half-imported by the proposer's thread): the
    trial stayed RUNNING and the study waited for it forever."""
    from hpo_notebook.execution import simulated

    seed = simulated._seed
    calls = itertools.count()

    def broken(s: int) -> None:
        if next(calls) == 1:
            raise AttributeError("partially initialized module 'torch' has no attribute 'x'")
        seed(s)

    monkeypatch.setattr(simulated, "_seed", broken)
    study = run(study_of(epochs(2, 1.0), max_failure_share=1.0), 6, workers=2)
    failed = [t for t in study.trials if t.state is hn.TrialState.FAILED]
    assert len(failed) == 1 and "the simulated cluster failed: AttributeError" in failed[0].error
    assert study.counts()["COMPLETE"] == 5


def test_trial_timeout_frees_the_worker_at_the_virtual_deadline():
    def some_hang(params, trial):
        trial.sleep(1000.0 if params["x"] > 0.5 else 10.0)
        return {"loss": params["x"]}

    study = run(study_of(some_hang, max_failure_share=1.0), 10, workers=2, trial_timeout=50.0)
    hung = [t for t in study.trials if t.params["x"] > 0.5]
    assert hung and all(t.state is hn.TrialState.FAILED for t in hung)
    assert all("trial_timeout=50" in t.error and t.duration == 50.0 for t in hung)
    assert all(t.state is hn.TrialState.COMPLETE for t in study.trials if t.params["x"] <= 0.5)
    # the hung trials' workers took new trials at once: far less than one 1000 s sleep
    assert study.clock.time() - T0 < 1000.0


def test_run_timeout_is_virtual_and_interrupts_running_trials():
    study = study_of(epochs(5, 100.0))
    cluster = hn.SimulatedCluster(2, start=T0)
    t0 = time.perf_counter()
    run(study, 100, cluster=cluster, timeout=1250.0)
    assert time.perf_counter() - t0 < 30  # hours of virtual time, seconds of real time
    counts = study.counts()
    # 2 workers x 2 full trials of 500 s by 1000 s; the next two are interrupted at 1250 s
    assert counts["COMPLETE"] == 4 and counts["INTERRUPTED"] == 2 and counts["RUNNING"] == 0
    interrupted = [t for t in study.trials if t.state is hn.TrialState.INTERRUPTED]
    params = {t.number: t.params for t in interrupted}
    # resume on the same cluster: the interrupted trials run again first, same parameters
    run(study, None, cluster=cluster)
    assert study.counts()["COMPLETE"] == 100
    for number, p in params.items():
        t = study.trial(number)
        assert t.params == p and t.attempt == 2 and t.state is hn.TrialState.COMPLETE
        assert study.curves(number)["step"].tolist() == [1, 2, 3, 4, 5]
    assert study.clock.time() > T0 + 1250.0  # the clock went on from where it stopped


@pytest.mark.slow
def test_pause_resume_stop_from_the_event_stream_and_another_thread():
    study = study_of(epochs(2, 10.0))
    finished = []
    paused = threading.Event()

    def on(event):
        if event["type"] == "trial" and event["trial"].state.finished:
            finished.append(event["trial"].number)
            if len(finished) == 3:
                study.pause()
                paused.set()

    study.subscribe(on)
    study.start(50, cluster=hn.SimulatedCluster(2, start=T0), progress=False, show=False)
    assert paused.wait(30)
    # paused: the running trial ends, nothing new starts, the study waits for us
    assert study.wait(timeout=0.5) is False
    assert len(study.trials) == 4 and study.counts()["COMPLETE"] == 4
    clock = study.clock.time()
    study.resume()
    study.stop()
    assert study.wait(timeout=30)
    counts = study.counts()
    assert counts["RUNNING"] == 0 and counts["COMPLETE"] + counts["INTERRUPTED"] == len(
        study.trials
    )
    assert len(study.trials) < 50 and study.clock.time() >= clock


def test_add_trials_and_set_concurrency_while_running():
    study = study_of(epochs(1, 10.0))
    done = []

    def on(event):
        if event["type"] == "trial" and event["trial"].state.finished:
            done.append(event["trial"])
            if len(done) == 2:
                study.add_trials(4)
                study.set_concurrency(1)

    study.subscribe(on)
    run(study, 6, workers=3)
    assert study.counts()["COMPLETE"] == 10
    # after the change, one trial at a time: no two of the later trials overlap
    later = sorted((t.started_at, t.ended_at) for t in study.trials[5:])
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(later))


def test_resources_choose_the_workers_that_offer_them():
    cluster = hn.SimulatedCluster(3, resources={"GPU": 1}, start=T0)
    study = run(study_of(epochs(1, 10.0)), 6, cluster=cluster, resources={"GPU": 1})
    assert study.counts()["COMPLETE"] == 6 and study.clock.time() == T0 + 20.0
    with pytest.raises(hn.ConfigError, match=r"no simulated worker offers resources \{'GPU': 2\}"):
        run(study_of(epochs(1, 10.0)), 2, cluster=cluster, resources={"GPU": 2})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_workers": 0}, "n_workers must be a positive integer, got 0"),
        ({"n_workers": 2.5}, "n_workers must be a positive integer, got 2.5"),
        ({"resources": {"GPU": -1}}, "resources must map names to positive amounts"),
        ({"start": float("nan")}, "start must be a UNIX time"),
    ],
)
def test_bad_cluster_arguments_are_refused(kwargs, message):
    with pytest.raises(hn.ConfigError, match=message):
        hn.SimulatedCluster(**kwargs)


def test_trial_sleep_refuses_bad_durations():
    def bad(params, trial):
        trial.sleep(-1.0)

    study = run(study_of(bad, max_failure_share=1.0), 1)
    t = study.trial(0)
    assert t.state is hn.TrialState.FAILED
    assert "trial.sleep: seconds must be a finite number >= 0, got -1.0" in t.error


def test_a_persisted_simulation_reopens_with_its_virtual_times(tmp_path):
    path = str(tmp_path / "sim.db")
    study = study_of(epochs(2, 30.0), storage=path, name="a/b c")
    run(study, 4, workers=2)
    study.close()
    again = hn.load_study(path, epochs(2, 30.0), name="a/b c")
    assert again.trials_frame()["duration_s"].tolist() == [60.0] * 4
    assert len(again.curves()) == 8


def test_progress_elapsed_and_eta_are_on_the_virtual_clock():
    study = study_of(epochs(2, 50.0))
    seen = []

    def on(event):
        if event["type"] == "trial" and event["trial"].state.finished:
            seen.append(study.progress())

    study.subscribe(on)
    run(study, 8, workers=2)
    # a snapshot taken as a trial's end is published already counts it
    assert [p.finished for p in seen] == list(range(1, 9))
    fourth = seen[3]  # the second wave of two trials ended at 200 s; one slot is free
    assert fourth.elapsed_s == 200.0 and fourth.eta_s == pytest.approx(200.0 / 4 * 4)
    assert (fourth.running, fourth.utilization, fourth.target) == (1, 0.5, 8)
    end = study.progress()
    assert (end.status, end.finished, end.elapsed_s, end.eta_s) == ("idle", 8, 400.0, None)


def test_the_dashboard_header_shows_virtual_time():
    from hpo_notebook.widgets.dashboard import summarize

    study = run(study_of(epochs(3, 1200.0)), 4, workers=4)
    summary = summarize(study, study.trials, started=0.0)
    assert summary.elapsed_s == 3600.0 and summary.counts["COMPLETE"] == 4


# ---------------------------------------------------------------------- loop behaviour
# (these ran on a LocalCluster before; what they test is the driver loop, not Dask)


def test_running_trials_are_never_proposed_again():
    """On a small discrete space, a new trial never repeats one that is still running."""
    space = hn.Space(a=hn.Int(0, 3), b=hn.Choice(["p", "q"]))
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
        trial.sleep(10.0 + params["a"])
        return {"loss": params["a"] + (0.5 if params["b"] == "q" else 0.0)}

    study = study_of(fn, space=space)
    study.subscribe(on)
    run(study, 8, workers=4)
    assert clashes == [] and study.counts()["COMPLETE"] == 8 and running == {}


def test_a_bad_result_fails_that_trial_only():
    def half_bad(params, trial):
        return {"loss": float("nan")} if params["x"] < 0.3 else {"loss": params["x"]}

    study = run(study_of(half_bad, max_failure_share=1.0), 8, workers=2)
    for t in study.trials:
        if t.params["x"] < 0.3:
            assert t.state is hn.TrialState.FAILED and "'loss' must be a finite number" in t.error
        else:
            assert t.state is hn.TrialState.COMPLETE


def test_prune_by_hand_stops_the_trial_at_its_next_report():
    study = study_of(epochs(10, 10.0))

    def on(event):
        mine = event["type"] == "reports" and any(r["trial"] == 0 for r in event["reports"])
        if mine and study.trial(0).state is hn.TrialState.RUNNING:
            study.prune(0, reason="looks bad")

    study.subscribe(on)
    run(study, 3, workers=1)
    t0 = study.trial(0)
    assert t0.state is hn.TrialState.PRUNED and t0.error == "looks bad"
    # decided at its first report; without a pruner's policy the trial learns at the next
    assert t0.extra["pruned_at"] == 1 and t0.extra["steps_after_decision"] <= 1
    assert [t.state for t in study.trials[1:]] == [hn.TrialState.COMPLETE] * 2
    with pytest.raises(hn.ConfigError, match="not running"):
        study.add_trials(1)


def test_run_async_awaits_and_cancels_cleanly():
    import asyncio

    study = study_of(epochs(2, 10.0))
    cluster = hn.SimulatedCluster(2, start=T0)
    held, released = threading.Event(), threading.Event()

    def hold_at_the_third_completion(event):
        # the driver waits here (in real time) until the cancelled cell has asked to stop
        if event["type"] == "status" and event["status"] == "stopping":
            released.set()
        elif (
            event["type"] == "trial"
            and event["trial"].state is hn.TrialState.COMPLETE
            and study.counts()["COMPLETE"] == 3
        ):
            held.set()
            assert released.wait(30)

    async def main():
        await study.run_async(n_trials=2, cluster=cluster, progress=False, show=False)
        assert study.counts()["COMPLETE"] == 2  # awaited to the end
        study.subscribe(hold_at_the_third_completion)
        task = asyncio.ensure_future(
            study.run_async(n_trials=200, cluster=cluster, progress=False, show=False)
        )
        assert await asyncio.get_running_loop().run_in_executor(None, held.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    counts = study.counts()
    assert study.status == "idle" and counts["RUNNING"] == 0
    # the other running trial was interrupted; nothing started after the cancel
    assert (counts["COMPLETE"], counts["INTERRUPTED"], len(study.trials)) == (3, 1, 4)


def test_a_stuck_optimizer_warm_up_never_holds_up_proposals():
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
    study = study_of(epochs(1, 10.0), optimizer=opt, suggest_timeout=5.0)
    try:
        run(study, 6, workers=2)
    finally:
        opt.release.set()
    assert study.counts()["COMPLETE"] == 6
    assert {t.proposal["kind"] for t in study.trials} == {"sobol"}


@pytest.mark.slow
def test_a_late_model_proposal_is_used_when_it_arrives_not_dropped():
    """A model slower than suggest_timeout: free workers get quasi-random points after the
    timeout, and the model's proposals, when they arrive, start the next trials. (They were
    dropped: past 300 trials of the scale benchmark every trial was quasi-random.)"""
    import dataclasses

    from hpo_notebook.optimizers.random import SobolSearch

    class SlowModel(SobolSearch):
        def uses_model(self, space, history) -> bool:
            return True

        def suggest(self, space, objectives, history, n, seed, state=None):
            time.sleep(0.2)  # real compute: charged to the virtual clock
            s = super().suggest(space, objectives, history, n, seed, state)
            return Suggestion([dataclasses.replace(p, kind="model") for p in s.proposals], None)

    # trials shorter than a proposal: every proposal is waited for, and is late
    study = run(study_of(epochs(1, 0.1), optimizer=SlowModel(), suggest_timeout=0.05), 30, 2)
    kinds = [t.proposal["kind"] for t in study.trials]
    assert kinds.count("sobol-late") >= 2  # the first wave could not wait for the model
    assert kinds.count("model") >= 5, kinds  # it was 0: every late proposal was dropped
    assert study.counts()["COMPLETE"] == 30


def test_proposals_are_kept_ready_ahead_and_are_pending_points_of_the_next():
    """While every worker is busy, proposals for half of them are kept computed ahead (a
    big cluster frees workers faster than one proposal is made). Those waiting for a
    worker are pending points of the next proposal, and count as trials for its
    quasi-random sequence: no duplicates."""
    import dataclasses

    from hpo_notebook.optimizers.random import SobolSearch

    class Model(SobolSearch):
        def __init__(self) -> None:
            self.pending: list[int] = []

        def uses_model(self, space, history) -> bool:
            return True

        def suggest(self, space, objectives, history, n, seed, state=None):
            self.pending.append(len(history.X_pending))
            s = super().suggest(space, objectives, history, n, seed, state)
            return Suggestion([dataclasses.replace(p, kind="model") for p in s.proposals], None)

    opt = Model()
    study = run(study_of(epochs(1, 10.0), optimizer=opt), 40, workers=8)
    kinds = [t.proposal["kind"] for t in study.trials]
    assert set(kinds) == {"model"}, kinds  # no duplicates replaced, nobody late
    assert len({tuple(t.params.values()) for t in study.trials}) == 40
    # 8 running trials and up to 4 proposals waiting: more pending points than workers
    assert max(opt.pending) > 8, opt.pending


@pytest.mark.parametrize("model_s", [0.0, 0.4])
@pytest.mark.slow
def test_more_proposals_are_kept_ahead_when_trials_end_faster_than_one_is_made(model_s):
    """Half the workers' worth while proposals are fast; as many as end while one is made
    (up to two rounds of workers) when they are slow. Requests made while all 4 workers are
    busy ask for that many points: more than 4 only under the second rule."""
    import dataclasses

    from hpo_notebook.optimizers.random import SobolSearch

    class Model(SobolSearch):
        def __init__(self) -> None:
            self.asked: list[int] = []

        def uses_model(self, space, history) -> bool:
            return True

        def suggest(self, space, objectives, history, n, seed, state=None):
            self.asked.append(n)
            time.sleep(model_s)  # real compute: charged to the virtual clock
            s = super().suggest(space, objectives, history, n, seed, state)
            return Suggestion([dataclasses.replace(p, kind="model") for p in s.proposals], None)

    def short(params, trial):  # 0.05-0.15 virtual s: the ends are spread out
        trial.sleep(0.05 + 0.1 * params["x"])
        return {"loss": params["x"]}

    opt = Model()
    study = run(study_of(short, optimizer=opt, suggest_timeout=None), 60, workers=4)
    assert study.counts()["COMPLETE"] == 60
    assert len({tuple(t.params.values()) for t in study.trials}) == 60
    if model_s == 0:
        assert max(opt.asked) <= 4, opt.asked
    else:  # 10-20 trials end per virtual second, a proposal takes 0.4 s or more
        assert max(opt.asked) > 4, opt.asked
        assert max(opt.asked) <= 8, opt.asked


def test_a_run_sets_its_own_trial_timeout_and_bad_values_fail_before_any_trial():
    def long(params, trial):
        trial.sleep(100.0)
        return {"loss": params["x"]}

    study = study_of(long, max_failure_share=1.0)
    with pytest.raises(hn.ConfigError, match="trial_timeout must be a positive number"):
        run(study, 1, trial_timeout=-1)
    assert study.trials == []
    run(study, 1, workers=1, trial_timeout=10.0)
    assert study.trials[0].state is hn.TrialState.FAILED
    assert "trial_timeout=10s" in study.trials[0].error and study.trials[0].duration == 10.0


def test_checkpoints_carry_an_interrupted_trial_on_where_it_stopped(tmp_path):
    def fn(params, trial):
        state = trial.load_checkpoint() or {"epoch": 0}
        for epoch in range(state["epoch"] + 1, 6):
            trial.sleep(100.0)
            trial.report(epoch, loss=params["x"] / epoch)
            trial.save_checkpoint({"epoch": epoch})
        return {"loss": params["x"] / 5}

    study = study_of(fn, storage=str(tmp_path / "s.db"), checkpoints=str(tmp_path / "ck"))
    cluster = hn.SimulatedCluster(1, start=T0)
    run(study, 1, cluster=cluster, timeout=350.0)  # interrupted after epoch 3
    assert study.trial(0).state is hn.TrialState.INTERRUPTED
    run(study, None, cluster=cluster)
    t = study.trial(0)
    assert t.state is hn.TrialState.COMPLETE and t.attempt == 2
    assert t.extra["checkpoint_step"] == 3
    # the second attempt ran epochs 4 and 5 only: 200 virtual seconds
    assert t.duration == 200.0
    assert study.curves(0)["step"].tolist() == [1, 2, 3, 4, 5]


def test_one_simulated_cluster_runs_one_study_at_a_time():
    cluster = hn.SimulatedCluster(2, start=T0)
    first, second = study_of(epochs(1, 10.0)), study_of(epochs(1, 10.0), name="second")
    gate = threading.Event()
    first.subscribe(lambda e: e["type"] == "trial" and gate.wait(30))  # hold the first run
    first.start(4, cluster=cluster, progress=False, show=False)
    with pytest.raises(hn.ConfigError, match="this SimulatedCluster is running study 'study'"):
        second.run(2, cluster=cluster, progress=False, show=False)
    assert second.trials == []
    gate.set()
    assert first.wait(30) and first.counts()["COMPLETE"] == 4
    run(second, 2, cluster=cluster)  # free again once the first run ended
    assert second.counts()["COMPLETE"] == 2


EXIT_CHILD = """
import time
import hpo_notebook as hn
from hpo_notebook.optimizers.random import SobolSearch

class Slow(SobolSearch):
    def uses_model(self, space, history):
        return True

    def suggest(self, *args, **kwargs):
        time.sleep(120)  # a proposal at large n; nobody will use it
        return super().suggest(*args, **kwargs)

def fn(params, trial):
    trial.sleep(1.0)
    return {"loss": params["x"]}

study = hn.Study(fn, hn.Space(x=hn.Float(0, 1)), {"loss": "min"}, optimizer=Slow(),
                 suggest_timeout=0.01)
study.run(5, cluster=hn.SimulatedCluster(1), progress=False, show=False)
print(study.counts()["COMPLETE"], flush=True)
"""


@pytest.mark.slow
def test_a_script_ends_without_waiting_for_a_proposal_nobody_will_use(tmp_path):
    """The study is over, a model proposal is still being computed: the process exits at
    once (the proposal thread was a ThreadPoolExecutor's, which the interpreter joins at exit:
    this child took 120 s to end)."""
    import subprocess
    import sys

    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", EXIT_CHILD], capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["5"]
    assert time.monotonic() - t0 < 30


def test_a_worker_gets_its_late_points_at_exactly_suggest_timeout():
    """At this start time, ``(start + 0.01) - start < 0.01`` in floating point: the driver
    waited until the deadline, then found it not yet passed, and spun forever (a virtual
    clock moves exactly to the time waited for)."""
    from hpo_notebook.optimizers.random import SobolSearch

    start = 1796573644.995556
    assert (start + 0.01) - start < 0.01

    class Slow(SobolSearch):
        def uses_model(self, space, history) -> bool:
            return True

        def suggest(self, *args, **kwargs):
            time.sleep(0.3)
            return super().suggest(*args, **kwargs)

    study = study_of(epochs(1, 0.001), optimizer=Slow(), suggest_timeout=0.01)
    runner = threading.Thread(
        target=run, args=(study, 3), kwargs={"cluster": hn.SimulatedCluster(1, start=start)}
    )
    runner.start()
    runner.join(30)
    if runner.is_alive():
        study.stop()
        runner.join(30)
        pytest.fail("the run did not get past the suggest_timeout deadline")
    assert study.counts()["COMPLETE"] == 3
    assert study.trials[0].proposal["kind"] == "sobol-late"
    assert study.trials[0].started_at == start + 0.01
