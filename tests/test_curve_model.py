"""``pruned_in_model="fidelity"``: learning curves enter the model with how far along each
report is, and proposals are made for the end of training."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import hpo_notebook as hn

MAX = 9


def _run(pruned_in_model: str, n: int, n_initial: int = 4) -> hn.Study:
    study = hn.Study(None, {"x": hn.Float(0.0, 1.0)}, objectives={"a": "min", "b": "min"},
                     seed=2, n_initial=n_initial, pruned_in_model=pruned_in_model,
                     pruner=hn.MultiObjectiveASHA(MAX, rungs=2, keep_front=False))  # fmt: skip
    for _ in range(n):
        t = study.ask()
        x = t.params["x"]
        try:
            for step in range(1, MAX + 1):
                t.report(step, a=x + 1.0 / step, b=(1 - x) + 0.5 / step, lr=0.1)
            study.tell(t, {"a": x + 1.0 / MAX, "b": (1 - x) + 0.5 / MAX})
        except hn.Pruned as exc:
            study.tell(t, exc)
    return study


def test_the_history_carries_each_curve_at_the_rungs_and_where_it_stopped():
    study = _run("fidelity", 8, n_initial=8)  # quasi-random points: no model yet
    h = study._ledger.history()
    trials = {t.number: t for t in study.trials}
    done = [n for n, t in trials.items() if t.state is hn.TrialState.COMPLETE]
    pruned = [n for n, t in trials.items() if t.state is hn.TrialState.PRUNED]
    assert done and pruned
    unit = {n: [trials[n].params["x"]] for n in trials}
    assert sorted(h.X.ravel().tolist()) == sorted(unit[n][0] for n in done)  # no pruned rows
    assert sorted(h.X_stopped.ravel().tolist()) == sorted(unit[n][0] for n in pruned)
    rows = list(zip(h.X_partial.ravel().tolist(), h.fidelity.tolist(), h.Y_partial.tolist()))
    far = {s: math.log1p(s) / math.log1p(MAX) for s in (1, 3)}
    for n in done:  # the rungs, 1 and 3
        x = unit[n][0]
        mine = sorted((f, y) for xx, f, y in rows if xx == x)
        assert [f for f, _ in mine] == pytest.approx([far[1], far[3]])
        assert mine[0][1] == pytest.approx([x + 1.0, (1 - x) + 0.5])
    for n in pruned:  # stopped at a rung: its last report is a rung report
        x = unit[n][0]
        step = trials[n].extra["pruned_at"]
        mine = sorted(f for xx, f, _ in rows if xx == x)
        assert mine[-1] == pytest.approx(math.log1p(step) / math.log1p(MAX))
    assert len(h.fidelity) == len(h.X_partial) == len(h.Y_partial)
    assert ((h.fidelity > 0) & (h.fidelity < 1)).all()


def test_other_modes_bring_no_curves():
    h = _run("last", 8, n_initial=8)._ledger.history()
    assert not h.has_curves and h.X_partial is None


@pytest.mark.slow
def test_the_curve_model_proposes_for_the_end_of_training():
    with warnings.catch_warnings():
        warnings.simplefilter("error", hn.HpoWarning)  # no fallback to quasi-random points
        study = _run("fidelity", 14)
    model_trials = [t for t in study.trials if t.proposal.get("kind") == "qLogNEHVI"]
    assert len(model_trials) >= 8
    for t in model_trials:
        assert t.proposal["n_curve_points"] > 0
        assert 0.0 <= t.params["x"] <= 1.0


@pytest.mark.slow
def test_the_curve_model_predicts_a_stopped_trial_from_the_curves_of_others():
    """Curves a(x, step) = x + 1/step, finished trials at x <= 0.4, one stopped at step 1 at
    x = 0.9 (it reported 1.9). Fitted on the encoded curves, the model predicts its end near
    0.9 + 1/9, where "last" would say 1.9."""
    import torch

    from hpo_notebook.optimizers.botorch.candidates import fit_model

    def far(s: float) -> float:
        return math.log1p(s) / math.log1p(MAX)

    xs = np.linspace(0.0, 0.4, 5)
    rows = [(x, far(s), -(x + 1.0 / s)) for x in xs for s in (1, 3)]  # curves, maximized
    rows += [(x, 1.0, -(x + 1.0 / MAX)) for x in xs]  # ends
    rows += [(0.9, far(1), -1.9)]  # the stopped trial
    X = torch.tensor([[x, f] for x, f, _ in rows], dtype=torch.float64)
    Y = torch.tensor([[y] for _, _, y in rows], dtype=torch.float64)
    model, _ = fit_model(X, Y)
    with torch.no_grad():
        mean = -model.posterior(torch.tensor([[0.9, 1.0]], dtype=torch.float64)).mean.item()
    truth, last = 0.9 + 1.0 / MAX, 1.9
    assert abs(mean - truth) < 0.25 * abs(last - truth), mean
