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
    assert sorted(p.name for p in d.iterdir()) == ["checkpoint.pt", "meta.json"]  # no temps
    meta = json.loads((d / "meta.json").read_text())
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
