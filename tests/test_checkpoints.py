"""Checkpoints: the on-disk format, the trial API and the cleanup policy."""

from __future__ import annotations

import json

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
    d = tmp_path / "trial-0"
    meta = json.loads((d / "meta.json").read_text())
    assert sorted(p.name for p in d.iterdir()) == sorted([meta["file"], "meta.json"])  # no temps
    assert meta["step"] == 3 and meta["attempt"] == 1 and meta["bytes"] > 0
    t.save_checkpoint({"w": 1}, step=7)
    assert C.checkpoint_step(str(tmp_path), 0) == 7


def test_weights_only_refuses_arbitrary_objects(tmp_path):
    import pickle

    study = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=str(tmp_path))
    t = study.ask()
    t.save_checkpoint({"obj": Checkpoints()})  # a custom class instance
    with pytest.raises(pickle.UnpicklingError):
        t.load_checkpoint()
    assert t.load_checkpoint(weights_only=False)["obj"] == Checkpoints()


def test_default_folder_is_beside_the_study_file(tmp_path):
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, storage=str(tmp_path / "s.db"))
    assert study.checkpoint_dir == str(tmp_path / "s.db.checkpoints" / "study")
    memory = hn.Study(None, SPACE, objectives={"loss": "min"})
    assert "hpo-study-checkpoints-" in memory.checkpoint_dir


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
    assert C.stored(str(tmp_path)) == [1, 3, 5]  # best two complete + the running one
    study.tell(trials[5], hn.Pruned("behind"))
    assert C.stored(str(tmp_path)) == [1, 3]


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
    study._store.delete_reports(study._record.id, t.number, after_step=1)  # 2, 3 never arrived
    assert study.curves(t.number)["step"].tolist() == [1]
    study.close()

    again = hn.load_study(path)
    again._start_attempt(t.number)  # what a resumed run does first
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
    assert C.load(str(tmp_path), 0) == ({"at": 1}, 1)


def test_checkpoints_of_the_first_layout_are_still_read(tmp_path):
    import torch

    d = C.trial_dir(str(tmp_path), 4)
    d.mkdir(parents=True)
    torch.save({"old": True}, d / "checkpoint.pt")
    (d / "meta.json").write_text(json.dumps({"step": 5, "attempt": 1, "bytes": 1, "time": 0}))
    assert C.load(str(tmp_path), 4) == ({"old": True}, 5)
    assert C.checkpoint_reports(str(tmp_path), 4) == []
