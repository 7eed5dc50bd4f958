"""Boundary warnings (issue 15, item 3): good trials piled against a bound say so, once, with
the parameter, the bound and the evidence; a study continues with a widened space."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook import boundary as B
from hpo_notebook.objectives import Objectives
from hpo_notebook.widgets.dashboard import Dashboard

T0 = 1_700_000_000.0


def _trial(number, params, values):
    return hn.Trial(number, hn.TrialState.COMPLETE, params, values=values)


def test_a_front_against_the_upper_bound_of_a_log_parameter_is_flagged():
    space = hn.Space(lr=hn.Float(1e-4, 1e-2, log=True), x=hn.Float(0.0, 1.0))
    objs = Objectives.parse({"loss": "min", "size": "min"})
    rng = np.random.default_rng(0)
    trials = []
    for i in range(30):
        x = float(rng.random())
        # the front: lr at 9.2e-3 .. 1e-2, which is the top 2% of the log range
        lr = 1e-2 * (1 - 0.08 * rng.random()) if i % 3 == 0 else float(10 ** rng.uniform(-4, -2))
        trials.append(_trial(i, {"lr": lr, "x": x},
                             {"loss": x - 10 * (lr > 9e-3), "size": 1 - x}))  # fmt: skip
    got = B.boundary_warnings(space, objs, trials)
    assert [(w.parameter, w.bound, w.value) for w in got] == [("lr", "upper", 0.01)]
    assert got[0].near == got[0].good >= B.MIN_GOOD and got[0].what == "the Pareto front"
    assert "'lr' within 5% of its range from its upper bound (0.01)" in got[0].message()
    # a front spread over the range of x is not a pile-up
    assert not [w for w in got if w.parameter == "x"]


def test_good_trials_inside_the_range_are_not_flagged():
    space = hn.Space(x=hn.Float(0.0, 1.0), c=hn.Choice(["a", "b"]))
    objs = Objectives.parse({"loss": "min"})
    trials = [_trial(i, {"x": i / 39, "c": "a"}, {"loss": (i / 39 - 0.6) ** 2})
              for i in range(40)]  # fmt: skip
    assert B.boundary_warnings(space, objs, trials) == []
    assert B.boundary_warnings(space, objs, trials[:9]) == []  # too few to judge


def test_the_front_is_the_non_dominated_set():
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.4, 0.4], [1.0, 0.0]])
    assert B._front(Y) == [0, 1, 2, 4]  # duplicates kept, the dominated one out


def _edge(params, trial):
    """One objective whose optimum lies beyond x = 1 (at 1.3)."""
    return {"loss": (params["x"] - 1.3) ** 2 + (params["y"] - 0.4) ** 2}


class TowardsTheEdge:
    """A stand-in for a model that has found where the loss falls: x near its upper bound
    (``hi``), y anywhere (fast and seeded; benchmarks/boundary.py measures the real one)."""

    name = "edge-test"

    def __init__(self, hi: float = 1.0) -> None:
        self.hi = hi

    def suggest(self, space, objectives, history, n, seed, state=None):
        from hpo_notebook.optimizers import Proposal, Suggestion

        rng = np.random.default_rng(seed * 1000 + history.n_trials)
        points = [{"x": float(self.hi * (1 - 0.03 * rng.random())), "y": float(rng.random())}
                  for _ in range(n)]  # fmt: skip
        return Suggestion([Proposal(p, "model") for p in points], state)


@pytest.mark.slow
def test_a_study_warns_once_and_continues_with_a_widened_space(tmp_path):
    path = str(tmp_path / "s.db")
    space = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0))
    study = hn.Study(_edge, space, {"loss": "min"}, optimizer=TowardsTheEdge(), seed=0,
                     storage=path)  # fmt: skip
    with pytest.warns(hn.HpoWarning, match="'x' within 5% of its range from its upper") as got:
        study.run(30, cluster=hn.SimulatedCluster(4, start=T0), progress=False, show=False)
    assert len([w for w in got if "'x'" in str(w.message)]) == 1  # once
    assert len(study.warnings()) == 1
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    assert "upper bound (1.0)" in dash.header.value
    study.close()

    wider = hn.Space(x=hn.Float(0.0, 2.0), y=hn.Float(0.0, 1.0))
    again = hn.load_study(path, _edge, space=wider, optimizer=TowardsTheEdge(hi=2.0))
    assert again.space == wider and len(again.trials) == 30  # past trials kept
    again.run(20, cluster=hn.SimulatedCluster(4, start=T0), progress=False, show=False)
    assert max(t.params["x"] for t in again.trials) > 1.0  # the new range is searched
    again.close()
    conn = sqlite3.connect(path)
    settings = json.loads(conn.execute("SELECT settings FROM studies").fetchone()[0])
    conn.close()
    assert settings["space"]["x"]["high"] == 2.0
    assert settings["widened"][0]["from"]["x"]["high"] == 1.0  # the old space is recorded
    assert hn.load_study(path).space == wider  # and kept


@pytest.mark.parametrize(
    ("wider", "match"),
    [
        ({"x": hn.Float(0.2, 2.0), "y": hn.Float(0.0, 1.0)}, "does not contain the range"),
        ({"y": hn.Float(0.0, 1.0), "x": hn.Float(0.0, 2.0)}, "same parameters in the same"),
        ({"x": hn.Float(0.01, 2.0, log=True), "y": hn.Float(0.0, 1.0)}, "cannot become"),
        ({"x": hn.Int(0, 2), "y": hn.Float(0.0, 1.0)}, "cannot become"),
    ],
)
def test_a_space_that_is_not_wider_is_refused(tmp_path, wider, match):
    path = str(tmp_path / "s.db")
    space = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0))
    hn.Study(_edge, space, {"loss": "min"}, storage=path).close()
    with pytest.raises(hn.StorageError, match=match):
        hn.load_study(path, _edge, space=hn.Space(wider))
    assert hn.load_study(path).space == space  # untouched


def test_a_study_of_a_custom_optimizer_reopens_to_read_and_says_how_to_run_it(tmp_path):
    """Before: hn.load_study(path) of such a study raised ("unknown acquisition")."""
    path = str(tmp_path / "s.db")
    space = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0))
    study = hn.Study(_edge, space, {"loss": "min"}, optimizer=TowardsTheEdge(), storage=path)
    study.run(4, cluster=hn.SimulatedCluster(2, start=T0), progress=False, show=False)
    study.close()
    read = hn.load_study(path, _edge)
    assert read.counts()["COMPLETE"] == 4 and read.best().number in range(4)
    with pytest.raises(hn.StorageError, match=r"custom optimizer 'edge-test'.*optimizer=<that"):
        read.run(2, cluster=hn.SimulatedCluster(2, start=T0), progress=False, show=False)
    read.close()
