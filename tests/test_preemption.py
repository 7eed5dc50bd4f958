"""Preemption: a worker retired (``client.retire_workers``) or sent SIGTERM (a spot-instance
notice) mid-trial. The trial runs again on another worker from its last checkpoint, counted
once, its curve without duplicated steps; what is lost is at most the steps after the last
checkpoint (here one, as ``checkpointed`` saves after every report)."""

from __future__ import annotations

import pytest

import hpo_notebook as hn
from benchmarks.preemption import preempt_once

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("how", ["retire_workers", "SIGTERM"])
def test_a_preempted_trial_goes_on_from_its_checkpoint_on_another_worker(own_client, how):
    got = preempt_once(own_client, how, at_step=5, steps=20)
    study, pid = got["study"], got["pid"]
    t = study.trial(0)
    assert t.state is hn.TrialState.COMPLETE and len(study.trials) == 1  # counted once
    assert t.attempt == 1 and t.extra["worker_restarts"] == 1
    ckpt = t.extra["checkpoint_step"]
    curve = study.curves(0)
    assert curve["step"].tolist() == list(range(1, 21))  # no duplicated or missing steps
    assert set(curve[curve["step"] <= ckpt]["pid"]) == {pid}
    assert pid not in set(curve[curve["step"] > ckpt]["pid"])  # another worker went on
    # the bound: a report comes before its checkpoint, so the preempted worker computed at
    # most one step past the checkpoint the re-run started from
    assert 0 <= got["lost_steps"] <= 1, (got["old_steps"], ckpt)
    assert got["again_after_s"] is not None and got["again_after_s"] < 30.0
    if how == "retire_workers":
        assert len(own_client.scheduler_info()["workers"]) == 1


def test_an_unknown_preemption_is_refused():
    with pytest.raises(ValueError, match="how must be one of"):
        preempt_once(None, "SIGKILL")
