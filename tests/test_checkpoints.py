"""Checkpoints: the on-disk format, the trial API and the cleanup policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hpo_notebook as hn
from hpo_notebook import checkpoints as C
from hpo_notebook.checkpoints import Checkpoints

SPACE = hn.Space(x=hn.Float(0.0, 1.0))


def test_save_load_round_trip_and_meta(tmp_path):
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=str(tmp_path))
    t = study.ask()
    assert t.load_checkpoint() is None and t.checkpoint_step is None
    t.report(3, loss=0.5)
    t.save_checkpoint({"step": 3, "weights": [1.0, 2.0]})
    t.save_checkpoint({"step": 3, "weights": [3.0]})  # replaced, not appended
    assert t.load_checkpoint() == {"step": 3, "weights": [3.0]}
    assert t.checkpoint_step == 3
    root = study.checkpoint_dir
    assert root == str(tmp_path / study._ledger.record.uid)
    d = C.trial_dir(root, 0)
    meta = json.loads((d / "meta.json").read_text())
    files = sorted(p.name for p in d.iterdir())
    assert files == sorted([meta["file"], "meta.json", ".owner"])  # no temps
    assert meta["step"] == 3 and meta["attempt"] == 1 and meta["bytes"] > 0
    t.save_checkpoint({"w": 1}, step=7)
    assert C.checkpoint_step(root, 0) == 7


def test_weights_only_refuses_arbitrary_objects(tmp_path):
    import pickle

    study = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=str(tmp_path))
    t = study.ask()
    t.save_checkpoint({"obj": Checkpoints()})  # a custom class instance
    with pytest.raises(pickle.UnpicklingError):
        t.load_checkpoint()
    assert t.load_checkpoint(weights_only=False)["obj"] == Checkpoints()


def _uid(study):
    return study._ledger.record.uid


def test_default_folder_is_beside_the_study_file_named_by_the_study_id(tmp_path):
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, storage=str(tmp_path / "s.db"))
    uid = _uid(study)
    assert len(uid) == 32 and int(uid, 16) >= 0
    assert study.checkpoint_dir == str(tmp_path / "s.db.checkpoints" / uid)
    memory = hn.Study(None, SPACE, objectives={"loss": "min"})
    assert "hpo-checkpoints-" in memory.checkpoint_dir and memory.checkpoint_dir.endswith(
        _uid(memory)
    )


@pytest.mark.parametrize("name", ["../../x", "/abs/olute", "a/../../b", "..", "trial-1"])
def test_study_names_cannot_steer_checkpoint_paths(tmp_path, name):
    for kwargs in ({"storage": str(tmp_path / "s.db")}, {"checkpoints": str(tmp_path / "c")}):
        study = hn.Study(None, SPACE, objectives={"loss": "min"}, name=name, **kwargs)
        base = tmp_path / ("s.db.checkpoints" if "storage" in kwargs else "c")
        assert study.checkpoint_dir == str(base / _uid(study))
        t = study.ask()
        t.save_checkpoint({"w": 1}, step=1)
        assert (base / _uid(study) / "trial-0" / "meta.json").is_file()
        study.close()


def _saves_and_says(params, trial):
    """Loads its checkpoint if any (says so), else trains and saves one."""
    state = trial.load_checkpoint()
    if state is None:
        trial.report(1, loss=params["x"])
        trial.save_checkpoint({"x": params["x"]})
        return {"loss": params["x"], "resumed": 0.0}
    return {"loss": state["x"], "resumed": 1.0}


def _run_by_hand(study, n):
    for t in study.ask(n):
        study.tell(t, _saves_and_says(t.params, t))


def test_a_study_made_again_never_loads_the_old_studys_checkpoints(tmp_path):
    """Before: delete the file, run the same script again, and new trial 0 loaded the old
    study's kept checkpoint and returned the old trial's values for other parameters."""
    path = tmp_path / "s.db"
    old = hn.Study(None, SPACE, objectives={"loss": "min"}, storage=str(path), seed=1)
    _run_by_hand(old, 3)
    old.close()
    assert len(C.stored(old.checkpoint_dir)) == 3  # kept: the best three
    path.unlink()
    new = hn.Study(None, SPACE, objectives={"loss": "min"}, storage=str(path), seed=2)
    _run_by_hand(new, 3)
    assert [t.values["resumed"] for t in new.trials] == [0.0, 0.0, 0.0]
    assert [t.values["loss"] for t in new.trials] == [t.params["x"] for t in new.trials]


def test_two_studies_sharing_a_checkpoint_folder_stay_apart(tmp_path):
    shared = str(tmp_path / "shared")
    a = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=shared, seed=1)
    b = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=shared, seed=2)
    _run_by_hand(a, 2)
    _run_by_hand(b, 2)
    assert [t.values["resumed"] for t in a.trials + b.trials] == [0.0] * 4
    assert a.checkpoint_dir != b.checkpoint_dir
    assert C.stored(a.checkpoint_dir) == [0, 1] == C.stored(b.checkpoint_dir)


def test_cleanup_never_deletes_what_the_study_did_not_write(tmp_path):
    """Before: every trial-<N> folder not kept was removed, including ones the study never
    made (a folder of another tool, another study's, numbers it never had)."""
    base = tmp_path / "ck"
    study = hn.Study(
        None, SPACE, objectives={"loss": "min"}, checkpoints=Checkpoints(str(base), keep_best=0)
    )
    root = Path(study.checkpoint_dir)
    foreign = [base / "trial-0", root / "trial-1", root / "trial-99", root / "notes"]
    for d in foreign:
        d.mkdir(parents=True)
        (d / "data.txt").write_text("not yours")
    (root / "trial-1" / ".owner").write_text("0" * 32)  # another study's mark
    _run_by_hand(study, 3)  # keep_best=0: every checkpoint of this study is deleted
    assert C.stored(str(root)) == []
    assert not (root / "trial-0").exists() and not (root / "trial-2").exists()
    assert all((d / "data.txt").read_text() == "not yours" for d in foreign)


def test_a_stored_checkpoint_folder_from_a_received_file_is_only_written_below_its_id(
    tmp_path,
):
    """A study file someone sends may name any folder: the study only ever writes and
    deletes inside ``<folder>/<its id>`` and only folders it marked."""
    import sqlite3

    path = tmp_path / "sent.db"
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, storage=str(path))
    study.close()
    victim = tmp_path / "home"
    (victim / "trial-0").mkdir(parents=True)
    (victim / "trial-0" / "thesis.tex").write_text("precious")
    conn = sqlite3.connect(path)
    settings = json.loads(conn.execute("SELECT settings FROM studies").fetchone()[0])
    settings["checkpoints"] = {"dir": str(victim), "keep_best": 0, "max_bytes": None}
    conn.execute("UPDATE studies SET settings=?", (json.dumps(settings),))
    conn.commit()
    conn.close()
    again = hn.load_study(str(path))
    assert again.checkpoint_dir == str(victim / _uid(again))
    _run_by_hand(again, 2)
    assert (victim / "trial-0" / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in victim.iterdir()) == sorted(["trial-0", _uid(again)])
    again.close()


@pytest.mark.parametrize("uid", ["../../etc", "A" * 32, 5])
def test_a_tampered_study_id_is_refused(tmp_path, uid):
    import sqlite3

    path = tmp_path / "s.db"
    hn.Study(None, SPACE, objectives={"loss": "min"}, storage=str(path)).close()
    conn = sqlite3.connect(path)
    settings = json.loads(conn.execute("SELECT settings FROM studies").fetchone()[0])
    settings["uid"] = uid
    conn.execute("UPDATE studies SET settings=?", (json.dumps(settings),))
    conn.commit()
    conn.close()
    with pytest.raises(hn.StorageError, match="uid must be 32 hex digits"):
        hn.load_study(str(path))


def test_orphaned_temporary_files_are_removed(tmp_path):
    """Before: a save killed mid-write left ``.checkpoint-*.tmp`` in the folder for good."""
    study = hn.Study(
        None, SPACE, objectives={"loss": "min"}, checkpoints=Checkpoints(str(tmp_path), keep_best=2)
    )
    t = study.ask()
    t.save_checkpoint({"w": 0}, step=1)
    d = C.trial_dir(study.checkpoint_dir, t.number)
    (d / ".checkpoint-1-abc.tmp").write_bytes(b"half")  # a killed save of attempt 1
    (d / ".meta-1-def.tmp").write_text("{")
    ctx2 = hn.TrialContext(
        t.number, t.params, t.seed, attempt=2, checkpoint_root=t._checkpoint_root
    )
    ctx2.save_checkpoint({"w": 1}, step=2)  # attempt 2's save removes attempt 1's leftovers
    assert not any(p.suffix == ".tmp" for p in d.iterdir())
    (d / ".checkpoint-2-xyz.tmp").write_bytes(b"half")  # killed during attempt 2's last save
    study.tell(t, {"loss": 0.1})  # kept (best), and finished: no writer left
    assert C.stored(study.checkpoint_dir) == [0]
    assert not any(p.suffix == ".tmp" for p in d.iterdir())


def test_cleanup_keeps_best_and_drops_pruned_and_failed(tmp_path):
    study = hn.Study(
        None,
        SPACE,
        objectives={"loss": "min"},
        optimizer="sobol",
        checkpoints=Checkpoints(str(tmp_path), keep_best=2),
    )
    trials = study.ask(6)
    for t in trials:
        t.save_checkpoint({"x": t.params["x"]}, step=1)
    losses = [0.5, 0.1, 0.3, 0.2, None, None]
    for t, loss in zip(trials[:4], losses):
        study.tell(t, loss)
    study.tell(trials[4], ValueError("boom"))
    root = study.checkpoint_dir
    assert C.stored(root) == [1, 3, 5]  # best two complete + the running one
    study.tell(trials[5], hn.Pruned("behind"))
    assert C.stored(root) == [1, 3]


def test_policy_is_pure_and_bounds_size():
    policy = Checkpoints("unused", keep_best=3, max_bytes=250)
    sizes = {1: 100, 2: 100, 3: 100, 4: 100, 5: 100}
    doomed = C.to_delete(
        policy, [1, 2, 3, 4, 5], running=[5], ranked_complete=[2, 1, 3, 4], sizes=sizes
    )
    # 4 is outside the best three; then the total (2, 1, 3 and running 5 = 400) is over 250,
    # so the worst kept ones go: 3, then 1. Running trial 5 is never deleted.
    assert doomed == [4, 3, 1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"keep_best": -1}, "keep_best must be an integer >= 0"),
        ({"max_bytes": 0}, "max_bytes must be a positive integer"),
    ],
)
def test_bad_policy(kwargs, match):
    with pytest.raises(hn.ConfigError, match=match):
        Checkpoints(**kwargs)


def test_trial_outside_a_study_has_no_folder():
    ctx = hn.TrialContext(0, {"x": 0.5}, seed=1)
    with pytest.raises(hn.HpoError, match="no checkpoint folder"):
        ctx.save_checkpoint({})


def test_reports_lost_with_a_killed_driver_come_back_from_the_checkpoint(tmp_path):
    """Reports are sent without waiting; a driver killed right after the trial saved its
    checkpoint never stored the last ones, and the re-run starts after the checkpoint. The
    checkpoint carries them, so the curve has no hole."""
    path = str(tmp_path / "s.db")
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, storage=path, optimizer="sobol")
    t = study.ask()
    for step in (1, 2, 3):
        t.report(step, loss=1.0 / step)
        t.save_checkpoint({"w": step})
    study._store.delete_reports(
        study._ledger.record.id, t.number, after_step=1
    )  # 2, 3 never arrived
    assert study.curves(t.number)["step"].tolist() == [1]
    study.close()

    again = hn.load_study(path)
    again._ledger.start_attempt(t.number)  # what a resumed run does first
    curve = again.curves(t.number)
    assert curve["step"].tolist() == [1, 2, 3]
    assert curve["loss"].tolist() == [1.0, 0.5, 1.0 / 3]
    assert curve["attempt"].tolist() == [1, 1, 1]
    meta = json.loads(C.trial_dir(again.checkpoint_dir, t.number).joinpath("meta.json").read_text())
    assert [r["step"] for r in meta["reports"]] == [1, 2, 3]


def test_a_kill_between_file_and_meta_leaves_a_matching_pair(tmp_path, monkeypatch):
    """The new file is in place but the process dies before its meta: the old checkpoint and
    its step are what a re-run gets (the state of step 2 is never labelled step 1)."""
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=str(tmp_path))
    t = study.ask()
    t.report(1, loss=1.0)
    t.save_checkpoint({"at": 1})
    t.report(2, loss=0.5)
    real_replace = C.os.replace

    def die_at_meta(src, dst):
        if str(dst).endswith("meta.json"):
            raise KeyboardInterrupt  # the process is killed here
        real_replace(src, dst)

    monkeypatch.setattr(C.os, "replace", die_at_meta)
    with pytest.raises(KeyboardInterrupt):
        t.save_checkpoint({"at": 2})
    monkeypatch.undo()
    assert C.load(study.checkpoint_dir, 0) == ({"at": 1}, 1)


def test_an_unmarked_or_odd_checkpoint_is_not_loaded(tmp_path):
    import torch

    root = str(tmp_path / ("a" * 32))
    d = C.trial_dir(root, 4)
    d.mkdir(parents=True)
    torch.save({"old": True}, d / "checkpoint-1-1.pt")
    (d / "meta.json").write_text(json.dumps({"step": 5, "file": "checkpoint-1-1.pt"}))
    assert C.load(root, 4) is None and C.checkpoint_step(root, 4) is None  # no mark
    (d / ".owner").write_text("a" * 32)
    assert C.load(root, 4) == ({"old": True}, 5)
    (d / "meta.json").write_text(json.dumps({"step": 5, "file": "../../x.pt"}))
    assert C.load(root, 4) is None


def test_a_rerun_that_saved_before_the_loss_was_handled_keeps_the_step_it_resumed_from(tmp_path):
    """Dask announces a re-run with its start message; the study used to read the checkpoint
    step when it handled that message, and with a remote store the re-run had sometimes saved
    a newer checkpoint by then: the study recorded that newer step and kept the lost worker's
    report of it. The re-run's worker now says which step it resumed from."""
    from hpo_notebook.events import WorkerLost

    study = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=str(tmp_path))
    old = study.ask()
    for step in (1, 2, 3):
        old.report(step, loss=1.0 / step)
        old.save_checkpoint({"at": step})
    old.report(4, loss=99.0)  # the lost worker got this far without saving
    rerun = hn.TrialContext(old.number, old.params, old.seed, old.attempt,
                            checkpoint_root=old._checkpoint_root)  # fmt: skip
    assert rerun.load_checkpoint() == {"at": 3}
    rerun.save_checkpoint({"at": 4}, step=4)  # saved before the study handled the loss
    study._ledger.worker_lost(WorkerLost(old.number, old.attempt, "tcp://gone", from_step=3.0))
    t = study.trial(old.number)
    assert t.extra["checkpoint_step"] == 3.0 and t.extra["worker_restarts"] == 1
    assert study.curves(old.number)["step"].tolist() == [1, 2, 3]  # the stale 4 is gone
