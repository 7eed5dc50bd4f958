"""One study file, one driver: a second run/ask on a file in use is refused, naming who holds
it; a driver that died (SIGKILL) leaves nothing that needs a human; numbers never collide."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

import hpo_notebook as hn
from hpo_notebook.store.lock import DriverLock
from hpo_notebook.testing.problems import noop

SPACE = hn.Space(x=hn.Float(0.0, 1.0))


def _study(path, **kw) -> hn.Study:
    return hn.Study(
        None, SPACE, objectives="min", storage=str(path), optimizer="sobol", seed=0, **kw
    )


def test_a_second_study_object_cannot_ask_while_the_first_has_trials_out(tmp_path):
    path = tmp_path / "s.db"
    a = _study(path)
    b = hn.load_study(str(path))
    t = a.ask()
    with pytest.raises(hn.StudyLockedError) as info:
        b.ask()
    msg = str(info.value)
    assert f"process {os.getpid()} on host {socket.gethostname()} (ask, since " in msg
    assert "another Study object in this process" in msg
    assert isinstance(info.value, hn.StorageError)
    a.tell(t, 0.5)  # nothing out any more: the file is free
    t2 = b.ask()
    assert t2.number == 1  # b caught up with what a saved: no collision with trial 0
    b.tell(t2, 0.25)
    assert [(x.number, x.values) for x in hn.load_study(str(path)).trials] == [
        (0, {"value": 0.5}),
        (1, {"value": 0.25}),
    ]


def test_close_lets_the_file_go(tmp_path):
    path = tmp_path / "s.db"
    a = _study(path)
    a.ask(2)
    a.close()
    b = hn.load_study(str(path))
    assert [t.number for t in b.ask(1)] == [2]


def test_reading_never_needs_the_lock(tmp_path):
    path = tmp_path / "s.db"
    a = _study(path)
    t = a.ask()
    reader = hn.load_study(str(path))  # while a drives it
    assert [x.state.value for x in reader.trials] == ["RUNNING"]
    assert len(reader.trials_frame()) == 1
    a.tell(t, 1.0)


_HOLDER = textwrap.dedent(
    """
    import sys
    import hpo_notebook as hn
    study = hn.load_study(sys.argv[1])
    trial = study.ask()
    print("holding", trial.number, flush=True)
    sys.stdin.readline()  # hold the file until told (or killed)
    study.tell(trial, 0.5)
    print("done", flush=True)
    """
)


def _holder(path):
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "holding 0"
    return proc


@pytest.mark.slow
def test_another_process_is_refused_by_name_and_a_killed_holder_leaves_no_lock(tmp_path):
    """Before: two processes on one file both ran, re-ran each other's RUNNING trials as
    interrupted and overwrote completed results."""
    path = tmp_path / "s.db"
    _study(path).close()
    proc = _holder(path)
    try:
        mine = hn.load_study(str(path))
        with pytest.raises(hn.StudyLockedError, match=rf"in use by process {proc.pid} on host"):
            mine.ask()
        assert [t.state.value for t in mine.trials] == ["RUNNING"]  # nothing written
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        t = mine.ask()  # at once: the kernel dropped the dead process's lock
        assert t.number == 1
        mine.tell(t, 0.1)
        mine.tell(0, 0.2)  # the dead process's trial, finished by hand
        assert [x.state.value for x in mine.trials] == ["COMPLETE", "COMPLETE"]
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_the_holder_finishes_and_the_next_one_goes_on(tmp_path):
    path = tmp_path / "s.db"
    _study(path).close()
    proc = _holder(path)
    out, _ = proc.communicate("go\n", timeout=60)
    assert out.strip() == "done" and proc.returncode == 0
    again = hn.load_study(str(path))
    assert [t.number for t in again.ask(2)] == [1, 2]


def test_a_lock_file_with_garbage_is_not_a_lock(tmp_path):
    path = tmp_path / "s.db"
    (tmp_path / "s.db.lock").write_text("{not json")
    a = _study(path)
    a.tell(a.ask(), 1.0)  # the file's content means nothing; only the OS lock counts
    lock = DriverLock(str(path))
    lock.acquire("run")
    other = DriverLock(str(path))
    with pytest.raises(hn.StudyLockedError, match=f"process {os.getpid()}"):
        other.acquire("run")
    lock.release()
    other.acquire("run")
    other.release()


def test_in_memory_and_read_only_studies_need_no_lock():
    s = hn.Study(None, SPACE, objectives="min")
    s.tell(s.ask(), 1.0)
    assert s._driver_lock is None


@pytest.mark.slow
def test_a_second_run_on_a_file_in_use_is_refused(tmp_path, dask_client):
    """The same for run(): refused before any trial is created; the first run is unharmed."""
    path = tmp_path / "r.db"
    first = hn.Study(
        _sleeper, SPACE, objectives="min", storage=str(path), optimizer="sobol", seed=0
    )
    first.start(n_trials=2, concurrency=1, cluster=dask_client)
    try:
        second = hn.load_study(str(path), _sleeper)
        with pytest.raises(hn.StudyLockedError, match=r"\(run, since "):
            second.run(n_trials=3, cluster=dask_client)
    finally:
        first.wait()
    assert first.counts()["COMPLETE"] == 2
    second.run(n_trials=1, concurrency=1, cluster=dask_client)  # free again
    assert [t.state.value for t in hn.load_study(str(path)).trials] == ["COMPLETE"] * 3


def test_run_with_nothing_to_do_starts_no_cluster(tmp_path, monkeypatch):
    """Before: run(n_trials=0) started and closed a Dask cluster."""
    import hpo_notebook.execution.dask as dask_module

    def refuse(*a, **k):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(dask_module.DaskExecutor, "open", refuse)
    study = hn.Study(noop, SPACE, objectives="min", storage=str(tmp_path / "z.db"))
    assert study.run(n_trials=0) is study
    assert study.status == "idle" and study.trials == []
    again = hn.load_study(str(tmp_path / "z.db"), noop)
    again.run(n_trials=0)
    assert not again._driver_lock.held


def _sleeper(params, trial):
    import time

    time.sleep(1.0)
    return params["x"]


def test_a_refused_tell_does_not_keep_the_file(tmp_path):
    path = tmp_path / "s.db"
    a = _study(path)
    t = a.ask()
    a.close()  # lets go; trial 0 stays RUNNING in the file
    b = hn.load_study(str(path))
    with pytest.raises(hn.ConfigError, match="no trial 5"):
        b.tell(5, 1.0)
    assert not b._driver_lock.held  # a mistake does not leave the file taken
    b.tell(t.number, 1.0)  # a trial of an earlier process, told by hand
    assert not b._driver_lock.held and b.trials[0].state is hn.TrialState.COMPLETE
