"""The stopping benchmark's replay (``benchmarks/stopping.py``) is what a live study does: a
study run with the rule stops after exactly the trials the replay of its values says."""

from __future__ import annotations

import pytest

import hpo_notebook as hn
from benchmarks.stopping import choose, stop_point
from hpo_notebook import results as R
from hpo_notebook.testing.problems import UNIT_2D, branin_currin_values

OBJECTIVES = {"f0": hn.Objective("min", threshold=150.0), "f1": hn.Objective("min", threshold=12.0)}


def branin_currin(params, trial):
    f0, f1 = branin_currin_values(params["x0"], params["x1"])
    return {"f0": f0, "f1": f1}


@pytest.mark.parametrize("min_gain", [0.02, 0.05])
def test_the_replay_stops_where_the_live_study_stops(min_gain):
    rule = hn.stop.NoImprovement(trials=6, min_gain=min_gain)
    live = hn.Study(branin_currin, UNIT_2D, OBJECTIVES, optimizer="sobol", seed=1, stop_when=rule)
    live.run(60, cluster=hn.SimulatedCluster(1), progress=False, show=False)
    n_live = len(live.trials)
    assert 6 < n_live < 60 and live.status.startswith("stopped: no improvement")
    # the same study without the rule, to the plan: the replay sees its values only
    full = hn.Study(branin_currin, UNIT_2D, OBJECTIVES, optimizer="sobol", seed=1)
    full.run(60, cluster=hn.SimulatedCluster(1), progress=False, show=False)
    values = [t.values for t in full.trials]
    series = R.HypervolumeHistory(full.objectives).update(full.trials).values
    n = stop_point(rule, full.objectives, values, 60, n_initial=0, batch=1, series=series)
    assert n == n_live


def test_choose_takes_the_rule_that_saves_most_within_the_target():
    def row(trials, gain, problem, kept, saved, share=1.0):
        return {"trials": trials, "min_gain": gain, "problem": problem,
                "kept_vs_plan": kept, "share_ge_095": share, "saved": saved}  # fmt: skip

    problems = ("BraninCurrin", "DTLZ2-6", "Hartmann-6")
    rows = [row(10, 0.01, p, 0.97, 0.5) for p in problems]
    rows += [row(10, 0.02, p, k, 0.7) for p, k in zip(problems, (0.97, 0.94, 0.99))]
    rows += [row(20, 0.01, p, 0.99, 0.3) for p in problems]
    rows += [row(15, 0.01, p, 0.99, 0.6, share=0.85) for p in problems]  # too many bad seeds
    assert choose(rows) == {"trials": 10, "min_gain": 0.01, "mean_saved": 0.5}
    assert choose([r for r in rows if r["min_gain"] == 0.02]) is None
    # a rule that failed on the suite's runs (problems it was not chosen on) is not chosen
    failed = [{"rule": "NoImprovement(trials=10, min_gain=0.01)", "kept_vs_plan": 0.9}]
    assert choose(rows, failed) == {"trials": 20, "min_gain": 0.01, "mean_saved": 0.3}
