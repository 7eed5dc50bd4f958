"""Is the early metric a good guide: rank correlations at the rungs, the study's warning when
pruning there is a gamble, and the dashboard's line."""

from __future__ import annotations

import math
import warnings

import pytest

import hpo_notebook as hn
from hpo_notebook.pruners.rank_correlation import GAMBLE_BELOW, MIN_TRIALS, rank_correlations
from hpo_notebook.widgets.dashboard import signal_html

MAX = 9


def _crossing(a: float, step: int) -> float:
    """Good early (small a) means bad late: the order reverses at step 5."""
    return a + (1 - 2 * a) * (step - 1) / (MAX - 1)


def _parallel(a: float, step: int) -> float:
    return a + 1.0 / step


def test_rank_correlation_reads_the_first_report_at_or_after_the_step():
    curves = {
        0: [(1, {"loss": 0.1}), (4, {"loss": 0.5}), (9, {"loss": 0.9})],
        1: [(2, {"loss": 0.2}), (4, {"loss": 0.4}), (9, {"loss": 0.8})],
        2: [(1, {"loss": 0.3}), (5, {"loss": 0.3}), (9, {"loss": 0.7})],
        3: [(1, {"loss": 0.0})],  # did not run to the end: left out
    }
    final = {t: c[-1][1] for t, c in curves.items() if t != 3}
    at1, at3 = rank_correlations(curves, final, [1, 3], ["loss"])
    # step 1: 0.1, 0.2 (trial 1's first report is at 2), 0.3 against 0.9, 0.8, 0.7
    assert (at1.n, at1.spearman) == (3, pytest.approx(-1.0))
    # step 3: 0.5, 0.4, 0.3 (first reports at or after 3) against the same finals
    assert (at3.n, at3.spearman) == (3, pytest.approx(1.0))
    assert not at1.gamble  # 3 trials are too few to judge
    few = rank_correlations(curves, {0: final[0], 1: final[1]}, [1], ["loss"])[0]
    assert few.n == 2 and math.isnan(few.spearman)


def test_a_gamble_needs_enough_trials_and_a_low_figure():
    curves = {t: [(1, {"m": float(t)}), (9, {"m": float(-t)})] for t in range(MIN_TRIALS)}
    final = {t: c[-1][1] for t, c in curves.items()}
    [c] = rank_correlations(curves, final, [1], ["m"])
    assert c.gamble and c.spearman == pytest.approx(-1.0)
    text = c.message()
    assert "step 1" in text and "-1.00" in text and f"{MIN_TRIALS} trials" in text
    fewer = {t: final[t] for t in range(MIN_TRIALS - 1)}
    assert not rank_correlations(curves, fewer, [1], ["m"])[0].gamble
    assert GAMBLE_BELOW == 0.5


def _run(curve, pruner, n=40):
    study = hn.Study(None, {"a": hn.Float(0.0, 1.0)}, objectives="min", seed=3,
                     optimizer="sobol", pruner=pruner)  # fmt: skip
    events = []
    study.subscribe(events.append)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(n):
            trial = study.ask()
            try:
                for s in range(1, MAX + 1):
                    trial.report(s, value=curve(trial.params["a"], s))
                study.tell(trial, curve(trial.params["a"], MAX))
            except hn.Pruned as exc:
                study.tell(trial, exc)
    gambles = [w for w in caught if issubclass(w.category, hn.PruningGambleWarning)]
    return study, gambles, [e for e in events if e["type"] == "pruning_gamble"]


def test_the_study_warns_once_naming_the_rung_where_curves_cross():
    study, gambles, events = _run(_crossing, hn.ASHA(max_steps=MAX, grace=1, eta=2, rungs=1))
    assert len(gambles) == 1 and len(events) == 1
    text = str(gambles[0].message)
    assert "pruning at step 1 is a gamble" in text and "value" in text and "-1.00" in text
    frame = study.rank_correlations()
    assert list(frame.columns) == ["step", "metric", "trials", "spearman", "gamble"]
    assert frame["step"].tolist() == [1.0] and frame["gamble"].tolist() == [True]
    assert frame["trials"].iloc[0] == study.counts()["COMPLETE"] >= MIN_TRIALS
    # any step can be asked about: late steps predict the end
    late = study.rank_correlations(steps=[7])
    assert late["spearman"].iloc[0] == pytest.approx(1.0) and not late["gamble"].iloc[0]


def test_no_warning_where_the_early_order_holds():
    study, gambles, events = _run(_parallel, hn.ASHA(max_steps=MAX, grace=1, eta=2, rungs=2))
    assert gambles == [] and events == []
    frame = study.rank_correlations()
    assert frame["step"].tolist() == [1.0, 2.0]
    assert frame["spearman"].tolist() == pytest.approx([1.0, 1.0])


def test_without_a_pruner_every_objective_is_judged_at_powers_of_three_and_nothing_warns():
    study = hn.Study(None, {"a": hn.Float(0.0, 1.0)}, objectives={"x": "min", "y": "max"},
                     seed=0, optimizer="sobol")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", hn.PruningGambleWarning)
        for _ in range(10):
            t = study.ask()
            for s in range(1, MAX + 1):
                t.report(s, x=_crossing(t.params["a"], s), y=t.params["a"])
            study.tell(t, {"x": _crossing(t.params["a"], MAX), "y": t.params["a"]})
    frame = study.rank_correlations()
    assert frame[["step", "metric"]].values.tolist() == [[1.0, "x"], [1.0, "y"], [3.0, "x"],
                                                        [3.0, "y"]]  # fmt: skip
    assert frame["gamble"].tolist() == [True, False, True, False]  # y never changes


@pytest.mark.parametrize("steps", [[0], [-1], ["1"], [float("nan")], "13", [True]])
def test_bad_steps_are_refused_with_the_value_named(steps):
    study = hn.Study(None, {"a": hn.Float(0.0, 1.0)}, objectives="min")
    with pytest.raises(hn.ConfigError, match="steps must be positive numbers"):
        study.rank_correlations(steps=steps)


def test_the_dashboard_line_marks_a_gamble():
    study, _, _ = _run(_crossing, hn.ASHA(max_steps=MAX, grace=1, eta=2, rungs=1))
    line = signal_html(study.rank_correlations())
    assert "step 1 value: -1.00" in line and "&#9888;" in line and "gamble" in line
    study2, _, _ = _run(_parallel, hn.ASHA(max_steps=MAX, grace=1, eta=2, rungs=1), n=12)
    assert "&#9888;" not in signal_html(study2.rank_correlations())
    assert "step 1 value: 1.00" in signal_html(study2.rank_correlations())


@pytest.mark.slow
def test_the_dashboard_shows_the_figures_under_the_curves_and_updates_on_completion():
    from hpo_notebook.widgets.dashboard import Dashboard

    study, _, _ = _run(_crossing, hn.ASHA(max_steps=MAX, grace=1, eta=2, rungs=1))
    dash = Dashboard(study, autostart=False)
    dash.refresh({"curves"})
    assert "&#9888; step 1 value: -1.00" in dash.signal.value
    n = study.counts()["COMPLETE"]
    assert f"({n})" in dash.signal.value
    t = study.ask()  # one more completed trial: the line follows
    for s in range(1, MAX + 1):
        try:
            t.report(s, value=_crossing(0.01, s))
        except hn.Pruned:
            break
    study.tell(t, _crossing(0.01, MAX))
    dash.refresh({"curves"})
    assert f"({n + 1})" in dash.signal.value
    dash.close()
