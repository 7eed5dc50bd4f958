"""Seed re-runs of the front (``study.rerun``, ``study.pareto(robust=True)``) on the simulated
cluster, on a problem whose noise is known."""

from __future__ import annotations

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook.results import robust_front
from hpo_notebook.trial import Trial, TrialState

SIGMA = 0.1
SPACE = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0))


def noisy(params, trial):
    """A linear front ``f1 = 1 - f0`` that ``y`` moves away from, plus noise of SIGMA drawn
    from the trial's own seed (NumPy is seeded with it)."""
    e = np.random.normal(0.0, SIGMA, size=2)
    x, y = params["x"], params["y"]
    return {"f0": x + e[0], "f1": 1.0 - x + 0.3 * y + e[1]}


def study_with_reruns(seeds: int = 20) -> hn.Study:
    study = hn.Study(noisy, SPACE, {"f0": "min", "f1": "min"}, optimizer="sobol", seed=4)
    cluster = hn.SimulatedCluster(4)
    study.run(24, cluster=cluster, progress=False, show=False)
    study.rerun(seeds=seeds, cluster=hn.SimulatedCluster(4), progress=False, show=False)
    return study


def test_reruns_repeat_the_front_with_new_seeds_and_stay_out_of_the_search():
    study = hn.Study(noisy, SPACE, {"f0": "min", "f1": "min"}, optimizer="sobol", seed=4)
    study.run(24, cluster=hn.SimulatedCluster(4), progress=False, show=False)
    front = study.pareto()
    hv = study.hypervolume()
    history = study._ledger.history()
    study.rerun(seeds=3, cluster=hn.SimulatedCluster(4), progress=False, show=False)
    reruns = [t for t in study.trials if t.proposal.get("kind") == "rerun"]
    assert len(reruns) == 3 * len(front)
    assert sorted(t.proposal["rerun_of"] for t in reruns) == sorted(list(front["number"]) * 3)
    for t in reruns:
        assert t.params == study.trial(t.proposal["rerun_of"]).params
    assert len({t.seed for t in study.trials}) == len(study.trials)  # every run a new seed
    # nothing the search or the front reads has changed
    assert list(study.pareto()["number"]) == list(front["number"])
    assert study.hypervolume() == hv
    assert len(study.hypervolume_history()) == 24  # nor what a stopping rule reads
    after = study._ledger.history()
    assert np.array_equal(after.X, history.X) and len(after.X_pending) == 0
    frame = study.trials_frame()
    assert frame["rerun_of"].notna().sum() == len(reruns)


def test_the_robust_front_reports_the_noise_and_flags_a_configuration_dominated_on_average():
    study = study_with_reruns(seeds=20)
    robust = study.pareto(robust=True)
    assert (robust["n_seeds"] == 21).all()
    # the reported std is the noise: within 25% for each objective, pooled over the front
    for m in ("f0", "f1"):
        pooled = float(np.sqrt((robust[f"{m}_std"] ** 2).mean()))
        assert abs(pooled - SIGMA) < 0.25 * SIGMA, (m, pooled)
    # each looked undominated on its first run; the flag names exactly those that the
    # noiseless values dominate (a larger y costs f1 at about the same x)
    truth = {n: (x, 1.0 - x + 0.3 * y) for n, x, y in
             zip(robust["number"], robust["params_x"], robust["params_y"])}  # fmt: skip
    dominated = {
        n for n, (a, b) in truth.items()
        if any(c <= a and d <= b and (c, d) != (a, b) for c, d in truth.values())
    }  # fmt: skip
    assert dominated and set(robust.index[robust["dominated_on_average"]]) == dominated
    assert robust.loc[sorted(dominated), "unstable"].all()
    assert (robust["on_front_share"] <= 1).all() and (robust["on_front_share"] > 0).all()


def test_one_objective_reruns_the_best_k():
    def bowl(params, trial):
        return (params["x"] - 0.3) ** 2 + np.random.normal(0.0, 0.01)

    study = hn.Study(bowl, SPACE, "min", optimizer="sobol", seed=0)
    study.run(12, cluster=hn.SimulatedCluster(2), progress=False, show=False)
    study.rerun(top=3, seeds=2, cluster=hn.SimulatedCluster(2), progress=False, show=False)
    best3 = sorted((t for t in study.trials if t.values and "rerun_of" not in t.proposal),
                   key=lambda t: t.values["value"])[:3]  # fmt: skip
    robust = study.pareto(robust=True)
    assert sorted(robust["number"]) == sorted(t.number for t in best3)
    assert robust["dominated_on_average"].sum() == 2  # one best mean


def test_top_picks_the_front_members_that_add_most_hypervolume():
    study = hn.Study(noisy, SPACE, {"f0": "min", "f1": "min"}, optimizer="sobol", seed=4)
    study.run(24, cluster=hn.SimulatedCluster(4), progress=False, show=False)
    front = list(study.pareto()["number"])
    assert len(front) > 2
    study.rerun(top=2, seeds=1, cluster=hn.SimulatedCluster(4), progress=False, show=False)
    picked = {t.proposal["rerun_of"] for t in study.trials if "rerun_of" in t.proposal}
    assert len(picked) == 2 and picked <= set(front)


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"seeds": 0}, "rerun: seeds must be a positive integer"),
     ({"top": -1}, "rerun: top must be a positive integer")],
)  # fmt: skip
def test_bad_rerun_arguments_are_refused(kw, message):
    study = hn.Study(noisy, SPACE, {"f0": "min", "f1": "min"}, optimizer="sobol")
    with pytest.raises(hn.ConfigError, match=message):
        study.rerun(**kw)


def test_the_robust_front_of_hand_made_trials():
    def t(n, f0, f1, rerun_of=None):
        proposal = {"kind": "rerun", "rerun_of": rerun_of} if rerun_of is not None else {}
        return Trial(n, TrialState.COMPLETE, {"x": n}, {"f0": f0, "f1": f1}, proposal=proposal)

    # A looked best on its first run only; B gives the same values every time
    trials = [t(0, 0.0, 0.0), t(1, 0.5, 0.5), t(2, 1.0, 1.0, 0), t(3, 0.5, 0.5, 1),
              t(4, 1.0, 1.0, 0), t(5, 0.5, 0.5, 1)]  # fmt: skip
    objectives = hn.Study(None, SPACE, {"f0": "min", "f1": "min"}).objectives
    df = robust_front(trials, objectives)
    a, b = df.loc[0], df.loc[1]
    assert a["f0_mean"] == pytest.approx(2 / 3) and a["f0_std"] == pytest.approx(
        np.std([0, 1, 1], ddof=1)
    )
    assert a["on_front_share"] == pytest.approx(1 / 3) and a["unstable"]
    assert a["dominated_on_average"] and not b["dominated_on_average"]
    # B was off the front in the first run only (A's lucky one)
    assert b["on_front_share"] == pytest.approx(2 / 3) and b["unstable"]


@pytest.mark.slow
def test_the_plot_and_the_dashboard_show_the_reruns():
    from hpo_notebook.viz import data as D
    from hpo_notebook.widgets.dashboard import Dashboard

    study = study_with_reruns(seeds=4)
    data = D.pareto_data(study.trials, study.objectives)
    robust = study.pareto(robust=True)
    assert list(data.rerun_numbers) == list(robust["number"])
    assert np.allclose(data.rerun_std[:, 1], robust["f1_std"])
    assert len(data.numbers) == 24  # the re-runs are not trials of the search
    fig = hn.plots.pareto(study)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "mean ± std over seeds" in labels
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    n_bad = int(robust["dominated_on_average"].sum())
    assert (
        f"re-runs: {len(robust)} configurations, 5+ seeds, {n_bad} dominated" in dash.header.value
    )


def test_reruns_all_run_when_interrupted_trials_go_first(tmp_path):
    path = str(tmp_path / "s.db")
    study = hn.Study(noisy, SPACE, {"f0": "min", "f1": "min"}, optimizer="sobol", seed=4,
                     storage=path)  # fmt: skip
    study.run(12, cluster=hn.SimulatedCluster(4), progress=False, show=False)
    study.ask()  # left RUNNING in the file, as by a process that died
    study.close()
    again = hn.load_study(path, noisy)
    front = len(again.pareto())
    again.rerun(seeds=2, cluster=hn.SimulatedCluster(4), progress=False, show=False)
    reruns = [t for t in again.trials if t.proposal.get("kind") == "rerun"]
    assert len(reruns) == 2 * front and again.counts()["RUNNING"] == 0
    assert again.trial(12).state.value == "COMPLETE"  # the stale trial ran again first
