"""A lost scheduler: killed while trials run. Within 30 s the study says so (``status``, the
dashboard, the exception of a blocking ``run()``), its running trials are INTERRUPTED, and
``run(cluster=<a new scheduler>)`` finishes the plan with nothing completed lost or run
twice."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import checkpointed
from hpo_notebook.widgets.dashboard import Dashboard

pytestmark = pytest.mark.slow


def _cluster(external: Any, tag: str) -> str:
    address = external.scheduler(f"scheduler-{tag}")
    for i in (1, 2):
        external.worker(address, f"{tag}-w{i}")
    return address


def _wait_for_workers(address: str, n: int = 2) -> None:
    from distributed import Client

    with Client(address, set_as_default=False, timeout=60) as c:
        c.wait_for_workers(n, timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
def test_a_lost_scheduler_is_reported_and_a_new_cluster_finishes_the_plan(tmp_path, external, sig):
    """Killed: the connection drops and Dask cancels every future. Frozen (SIGSTOP: a machine
    that hangs or is cut off the network): the connection stays open and nothing answers, so
    the study asks the scheduler every 2 s and gives up after 10 s of silence."""
    first = _cluster(external, "a")
    _wait_for_workers(first)
    space = hn.Space(x=hn.Float(0.2, 0.3), steps=hn.Choice([12]), step_s=hn.Choice([0.15]))
    study = hn.Study(
        checkpointed, space, {"loss": "min"}, optimizer="sobol", seed=7,
        storage=str(tmp_path / "s.db"), checkpoints=str(tmp_path / "ck"),
    )  # fmt: skip
    killed: dict[str, float] = {}
    statuses: list[str] = []

    def kill_once_two_are_complete(event):
        if isinstance(event, hn.events.StatusChanged):
            statuses.append(event.status)
        if killed or not isinstance(event, hn.events.ReportsAdded):
            return
        complete = study.counts()["COMPLETE"]
        if complete >= 2 and any(r.step >= 4 for r in event.reports):
            external.kill("scheduler-a", sig)  # no goodbye to anyone
            killed["at"] = time.monotonic()

    study.subscribe(kill_once_two_are_complete)
    with pytest.raises(hn.ClusterLostError, match=r"has not answered|is gone") as err:
        study.run(n_trials=6, concurrency=2, cluster=first, progress=False, show=False)
    said_after = time.monotonic() - killed["at"]
    print(f"the loss was said {said_after:.1f} s after the kill")
    assert said_after < 30.0, said_after
    assert "marked INTERRUPTED" in str(err.value) and "study.run(cluster=" in str(err.value)
    # said as soon as it was detected; "idle" then says the run ended, as after any run
    assert study.status == "cluster lost" and statuses[-2:] == ["cluster lost", "idle"]
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    assert "<i>cluster lost</i>" in dash.header.value
    counts = study.counts()
    assert counts["RUNNING"] == 0 and counts["FAILED"] == 0
    assert counts["INTERRUPTED"] >= 1 and counts["COMPLETE"] >= 2
    before = {t.number: (t.attempt, t.ended_at, t.values) for t in study.trials
              if t.state is hn.TrialState.COMPLETE}  # fmt: skip
    interrupted = [t.number for t in study.trials if t.state is hn.TrialState.INTERRUPTED]
    for name in ("a-w1", "a-w2"):  # the old cluster is gone for good
        external.kill(name)

    second = _cluster(external, "b")
    _wait_for_workers(second)
    study.run(cluster=second, progress=False, show=False)  # the rest of the plan
    assert study.status == "idle"
    assert study.counts()["COMPLETE"] == 6 and len(study.trials) == 6
    after = {t.number: (t.attempt, t.ended_at, t.values) for t in study.trials}
    assert all(after[n] == before[n] for n in before)  # completed trials were not run again
    for n in interrupted:
        t = study.trial(n)
        assert t.attempt == 2
        assert study.curves(n)["step"].tolist() == list(range(1, 13))  # no duplicated steps
