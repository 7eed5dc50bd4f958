"""The incremental history equals a full rebuild after any sequence of trial changes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hpo_notebook as hn
from hpo_notebook._history import HistoryIndex
from hpo_notebook.objectives import Objectives
from hpo_notebook.trial import Trial, TrialState

SPACE = hn.Space(x=hn.Float(0.0, 1.0), k=hn.Int(1, 5))
OBJECTIVES = Objectives.parse({"a": "min", "b": "max"})


def _rebuild(trials: dict[int, Trial], curves: dict[int, list], pruned_last: bool):
    """The history as the study built it before it was incremental."""
    names = OBJECTIVES.metric_names
    ordered = [trials[n] for n in sorted(trials)]
    done = [t for t in ordered if t.state is TrialState.COMPLETE]
    X = [SPACE.to_unit(t.params) for t in done]
    Y = [[t.values[m] for m in names] for t in done]
    if pruned_last:
        for t in ordered:
            if t.state is TrialState.PRUNED:
                for _, metrics in reversed(curves.get(t.number, [])):
                    if all(m in metrics for m in names):
                        X.append(SPACE.to_unit(t.params))
                        Y.append([metrics[m] for m in names])
                        break
    pending = [
        SPACE.to_unit(t.params)
        for t in ordered
        if t.state in (TrialState.RUNNING, TrialState.INTERRUPTED)
    ]
    return (
        np.array(X, dtype=float).reshape(-1, SPACE.dim),
        np.array(Y, dtype=float).reshape(-1, 2),
        np.array(pending, dtype=float).reshape(-1, SPACE.dim),
        len(ordered),
    )


step = st.tuples(
    st.integers(0, 7),  # which trial (created on first mention, in number order)
    st.sampled_from(list(TrialState)),
    st.floats(-5, 5),
    st.booleans(),  # a report with both metrics, or with only one
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(step, max_size=40), st.booleans())
def test_incremental_history_equals_a_rebuild(steps, pruned_last):
    index = HistoryIndex(SPACE, OBJECTIVES, pruned_last)
    trials: dict[int, Trial] = {}
    curves: dict[int, list] = {}
    for number, state, value, full in steps:
        number = min(number, len(trials))  # numbers come in order
        params = {"x": (number * 0.37) % 1.0, "k": number % 5 + 1}
        metrics = {"a": value, "b": -value} if full else {"a": value}
        curves.setdefault(number, []).append((len(curves.get(number, [])) + 1, metrics))
        values = {"a": value, "b": 2 * value} if state is TrialState.COMPLETE else None
        trials[number] = Trial(number, state, params, values=values)
        index.update(trials[number], curves[number] if state is TrialState.PRUNED else ())
        h = index.history()
        X, Y, Xp, n = _rebuild(trials, curves, pruned_last)
        np.testing.assert_array_equal(h.X, X)
        np.testing.assert_array_equal(h.Y, Y)
        np.testing.assert_array_equal(h.X_pending, Xp)
        assert h.n_trials == n


def test_a_study_continued_from_its_file_has_the_history_it_had(tmp_path):
    """Resume proposes what the uninterrupted study would have: same rows, same order."""
    path = str(tmp_path / "h.db")
    study = hn.Study(
        None, SPACE, objectives={"a": "min", "b": "max"}, storage=path, optimizer="sobol"
    )
    trials = study.ask(6)
    for i, t in enumerate(reversed(trials)):  # told out of order
        if i == 2:
            t.report(1, a=0.5, b=0.1)
            study.tell(t, hn.Pruned("behind"))
        elif i != 4:
            study.tell(t, {"a": float(i), "b": float(-i)})
    live = study._ledger.history()
    study.close()
    again = hn.load_study(path)._ledger.history()
    for name in ("X", "Y", "X_pending", "n_trials"):
        np.testing.assert_array_equal(getattr(live, name), getattr(again, name))
    assert live.X.shape == (5, 2) and live.X_pending.shape == (1, 2)
