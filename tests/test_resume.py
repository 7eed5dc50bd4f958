"""Crash and resume: a driver process killed with SIGKILL mid-study, then load_study(...).run()."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import checkpointed, sleepy

pytestmark = pytest.mark.slow

DRIVER = textwrap.dedent(
    """
    import sys
    import hpo_notebook as hn
    from hpo_notebook.testing.problems import sleepy

    if __name__ == "__main__":  # worker processes import this script again
        space = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Float(0.4, 0.5))
        study = hn.Study(sleepy, space, objectives={"y": "min"}, storage=sys.argv[1], seed=11,
                         n_initial=3)
        def progress(e):
            if e["type"] != "trial":
                return
            done = sum(t.state.finished for t in study.trials)
            if e["trial"].state.finished:
                print("finished", done, flush=True)
            elif e["trial"].state is hn.TrialState.RUNNING and done >= 4:
                print("running after 4", flush=True)  # the kill must catch a running trial
        study.subscribe(progress)
        study.run(n_trials=8, concurrency=2)
        print("driver ended normally", flush=True)
    """
)


def test_driver_killed_then_resumed(tmp_path, dask_client):
    db = str(tmp_path / "crash.db")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(script), db],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the LocalCluster dies with it
    )
    try:
        for line in proc.stdout:  # blocks until the driver reports progress
            if line.strip() == "running after 4":
                break
        else:
            pytest.fail("the driver ended before a trial ran after 4 had finished")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    before = hn.load_study(db)  # reading needs no trial function
    done_before = {t.number: t for t in before.trials if t.state.finished}
    running_before = {t.number: t for t in before.trials if t.state is hn.TrialState.RUNNING}
    assert len(done_before) >= 4 and running_before, before.counts()
    before.close()

    study = hn.load_study(db, sleepy)
    study.run(cluster=dask_client)  # n_trials=None: continue to the planned 8
    trials = study.trials
    assert len(trials) == 8 and [t.number for t in trials] == list(range(8))
    assert all(t.state is hn.TrialState.COMPLETE for t in trials)
    for number, old in done_before.items():  # nothing completed is lost or run again
        new = study.trial(number)
        assert (new.values, new.ended_at, new.attempt) == (old.values, old.ended_at, 1)
    for number, old in running_before.items():  # interrupted trials re-run, same params
        new = study.trial(number)
        assert new.params == old.params and new.attempt == 2
        steps = study.curves(number)["step"].tolist()
        assert steps == list(range(1, len(steps) + 1))
    # the re-run used the stored optimizer state and settings
    assert study.seed == 11 and study.optimizer.name == "qLogNEHVI"


CHECKPOINT_DRIVER = textwrap.dedent(
    """
    import sys
    import hpo_notebook as hn
    from hpo_notebook.testing.problems import checkpointed

    if __name__ == "__main__":
        space = hn.Space(x=hn.Float(0.0, 1.0), steps=hn.Choice([12]), step_s=hn.Choice([0.05]))
        study = hn.Study(checkpointed, space, objectives={"loss": "min"}, storage=sys.argv[1],
                         seed=12, optimizer="sobol")
        study.subscribe(
            lambda e: e["type"] == "reports" and print("steps", *[r["step"] for r in
                                                                 e["reports"]], flush=True)
        )
        study.run(n_trials=4, concurrency=2)
    """
)


def test_driver_killed_then_resumed_from_checkpoints(tmp_path, dask_client):
    db = str(tmp_path / "ckpt.db")
    script = tmp_path / "driver.py"
    script.write_text(CHECKPOINT_DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(script), db],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        for line in proc.stdout:  # wait until some trial is well into its curve
            if line.startswith("steps") and any(int(s) >= 6 for s in line.split()[1:]):
                break
        else:
            pytest.fail("the driver ended early")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)

    before = hn.load_study(db)
    interrupted = [t.number for t in before.trials if t.state is hn.TrialState.RUNNING]
    assert interrupted
    before.close()
    study = hn.load_study(db, checkpointed)
    study.run(cluster=dask_client)
    assert study.counts()["COMPLETE"] == 4
    resumed = 0
    for number in interrupted:
        t = study.trial(number)
        curve = study.curves(number)
        assert curve["step"].tolist() == list(range(1, 13))
        ckpt = t.extra["checkpoint_step"]
        if ckpt is not None:  # it had saved a checkpoint before the kill
            resumed += 1
            assert set(curve[curve["step"] <= ckpt]["attempt"]) == {1}
            assert set(curve[curve["step"] > ckpt]["attempt"]) == {2}
    assert resumed >= 1


EXIT_DRIVER = textwrap.dedent(
    """
    import sys
    import hpo_notebook as hn
    from hpo_notebook.testing.problems import sleepy

    if __name__ == "__main__":
        space = hn.Space(x=hn.Float(0.0, 1.0), seconds=hn.Choice([3.0]))
        study = hn.Study(sleepy, space, objectives={"y": "min"}, storage=sys.argv[1],
                         optimizer="sobol", seed=13)
        import threading
        reported = threading.Event()
        study.subscribe(lambda e: e["type"] == "reports" and reported.set())
        study.start(n_trials=10, concurrency=2)
        reported.wait(60)  # trials are running; the script ends here
    """
)


def test_process_exit_stops_a_background_study_cleanly(tmp_path):
    """A script that ends while start() runs: the study is stopped and saved, no crash."""
    db = str(tmp_path / "exit.db")
    script = tmp_path / "driver.py"
    script.write_text(EXIT_DRIVER)
    done = subprocess.run(
        [sys.executable, str(script), db], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    study = hn.load_study(db)
    counts = study.counts()
    assert counts["RUNNING"] == 0 and counts["INTERRUPTED"] == 2  # 3 s trials, 1 s grace
