"""Preemption on the simulated cluster: the failure logic of real preemptions (a trial runs
again elsewhere from its checkpoint, counted once, no duplicated steps) in milliseconds."""

from __future__ import annotations

import pytest

import hpo_notebook as hn

T0 = 1_700_000_000.0
SPACE = hn.Space(x=hn.Float(0.0, 1.0))


def _epochs(saves: list[tuple[int, float]] | None = None):
    def fn(params, trial):
        state = trial.load_checkpoint() or {"epoch": 0}
        for epoch in range(state["epoch"] + 1, 7):
            trial.sleep(100.0)
            trial.report(epoch, loss=params["x"] / epoch)
            trial.save_checkpoint({"epoch": epoch})
            if saves is not None:
                saves.append((trial.number, epoch))
        return {"loss": params["x"] / 6}

    return fn


def _study(fn, tmp_path, **kw):
    return hn.Study(fn, SPACE, {"loss": "min"}, optimizer="sobol", seed=0,
                    checkpoints=str(tmp_path / "ck"), **kw)  # fmt: skip


def test_a_preempted_trial_goes_on_from_its_checkpoint_on_another_worker(tmp_path):
    spot = hn.Preemptions(at=((250.0, 0),), replace_after_s=1000.0)
    cluster = hn.SimulatedCluster(2, start=T0, preemptions=spot)
    lost = []
    study = _study(_epochs(), tmp_path)
    study.subscribe(lambda e: isinstance(e, hn.events.WorkerLost) and lost.append(e))
    study.run(1, cluster=cluster, progress=False, show=False)
    t = study.trial(0)
    assert t.state is hn.TrialState.COMPLETE and len(study.trials) == 1  # counted once
    assert t.attempt == 1 and t.extra["worker_restarts"] == 1 and t.extra["checkpoint_step"] == 2
    assert [(e.number, e.worker) for e in lost] == [(0, "sim://worker-0")]
    assert t.worker == "sim://worker-1"  # the other worker went on at once
    assert study.curves(0)["step"].tolist() == [1, 2, 3, 4, 5, 6]  # no duplicated steps
    # epochs 1-2 (200 s) kept, 50 s of epoch 3 lost, epochs 3-6 again: done at 250 + 400
    assert t.ended_at - T0 == pytest.approx(650.0)
    assert cluster.preempted == [
        {"time": T0 + 250.0, "worker": "sim://worker-0", "trial": 0, "attempt": 1}
    ]


def test_the_trial_waits_for_the_replacement_when_no_worker_is_left(tmp_path):
    spot = hn.Preemptions(at=((250.0, 0),), replace_after_s=300.0)
    cluster = hn.SimulatedCluster(1, start=T0, preemptions=spot)
    workers = []
    study = _study(_epochs(), tmp_path)
    study.subscribe(lambda e: workers.append(study.progress().workers))
    study.run(1, cluster=cluster, progress=False, show=False)
    t = study.trial(0)
    assert t.worker == "sim://worker-0.1"  # the replacement instance
    assert t.ended_at - T0 == pytest.approx(250.0 + 300.0 + 400.0)
    assert 0 in workers and workers[-1] == 1  # the dashboard's count went to 0 and back


def test_preemptions_at_a_rate_lose_at_most_one_checkpoint_interval_each(tmp_path):
    saves: list[tuple[int, int]] = []
    spot = hn.Preemptions(half_life_s=400.0, replace_after_s=50.0, seed=3)
    cluster = hn.SimulatedCluster(4, start=T0, preemptions=spot)
    study = _study(_epochs(saves), tmp_path)
    study.run(12, cluster=cluster, progress=False, show=False)
    assert study.counts()["COMPLETE"] == 12 and len(study.trials) == 12
    hits = [p for p in cluster.preempted if p["trial"] is not None]
    assert len(hits) >= 5  # the rate makes itself felt
    assert sum(t.extra.get("worker_restarts", 0) for t in study.trials) == len(hits)
    for t in study.trials:
        assert study.curves(t.number)["step"].tolist() == [1, 2, 3, 4, 5, 6]
    # each epoch was saved exactly once: a preemption loses only the epoch in progress (at
    # most one checkpoint interval), never one that was saved
    per_trial = {n: sum(1 for m, _ in saves if m == n) for n in range(12)}
    assert per_trial == {n: 6 for n in range(12)}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "give half_life_s"),
        ({"half_life_s": 0.0}, "half_life_s must be a positive number"),
        ({"half_life_s": 10.0, "replace_after_s": -1}, "replace_after_s must be a positive"),
        ({"at": ((1.0,),)}, r"\(seconds, worker index\) pairs"),
        ({"at": ((-1.0, 0),)}, "must be >= 0"),
    ],
)
def test_bad_preemptions_are_refused(kwargs, match):
    with pytest.raises(hn.ConfigError, match=match):
        hn.Preemptions(**kwargs)


def test_a_preemption_of_a_worker_the_cluster_lacks_is_refused():
    with pytest.raises(hn.ConfigError, match="worker index 4 is not one of the cluster's 2"):
        hn.SimulatedCluster(2, preemptions=hn.Preemptions(at=((1.0, 4),)))
    with pytest.raises(hn.ConfigError, match=r"preemptions must be hn\.Preemptions"):
        hn.SimulatedCluster(2, preemptions={"half_life_s": 5})
