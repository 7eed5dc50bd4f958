"""Robust outcome preprocessing (winsorizing the bad tail) and approximate box decompositions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers import History
from hpo_notebook.optimizers.botorch import BoTorchOptimizer
from hpo_notebook.optimizers.botorch import adapter as adapter_mod
from hpo_notebook.optimizers.botorch import candidates as C
from hpo_notebook.optimizers.botorch.outcomes import bad_tail_fences, winsorize_bad_tail
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings
from hpo_notebook.testing.problems import UNIT_2D, branin_currin_values


def _t(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def test_only_outliers_on_the_bad_side_are_clipped():
    rng = np.random.default_rng(0)
    good = rng.normal(0.0, 1.0, size=(50, 2))
    Y = _t([*good.tolist(), [-1e4, 0.0], [1e4, 0.0]])
    out = winsorize_bad_tail(Y, 2)
    q25, q75 = np.quantile(Y[:, 0].numpy(), [0.25, 0.75])
    assert out[50, 0] == pytest.approx(q25 - 1.5 * (q75 - q25))
    assert out[51, 0] == 1e4  # the good tail is what the search is about: never touched
    assert torch.equal(out[:50], Y[:50])  # no value inside the fences moves
    assert torch.equal(out[:, 1], Y[:, 1])


def test_the_fence_never_lies_above_the_reference_point_or_a_bound():
    Y = _t([[1.0], [2.0], [3.0], [4.0], [-1e4]])
    # sorted [-1e4, 1, 2, 3, 4]: q25 = 1, q75 = 3, IQR = 2, fence = 1 - 1.5 * 2
    assert bad_tail_fences(Y, 1) == [pytest.approx(-2.0)]
    assert bad_tail_fences(Y, 1, ref_point=[-5.0]) == [pytest.approx(-7.0)]
    assert bad_tail_fences(Y, 1, lower_bounds=[[-10.0]]) == [pytest.approx(-12.0)]
    # a point below the reference point stays below it after clipping
    out = winsorize_bad_tail(Y, 1, ref_point=[-5.0])
    assert out[4, 0] == pytest.approx(-7.0) and out[4, 0] < -5.0


def test_columns_without_spread_or_data_are_left_alone():
    flat = _t([[1.0, 0.0]] * 6 + [[-1e6, 1.0]])
    assert bad_tail_fences(flat, 2)[0] is None
    assert bad_tail_fences(_t([[1.0], [-1e6], [2.0]]), 1) == [None]  # too few points
    nan = _t([[float("nan")], [1.0], [2.0], [3.0], [4.0], [-1e6]])
    assert bad_tail_fences(nan, 1)[0] is not None  # NaN is ignored, not propagated
    constraint_col = _t([[1.0, -1e6], [2.0, 1.0], [3.0, 2.0], [4.0, 3.0]])
    assert torch.equal(winsorize_bad_tail(constraint_col, 1)[:, 1], constraint_col[:, 1])


def test_lower_bounds_come_from_constraints_on_objectives_in_the_max_frame():
    from hpo_notebook.objectives import Objectives

    objs = Objectives.parse(
        {"loss": "min", "acc": "max"},
        {
            "loss": ("<=", 5.0),  # min objective: loss <= 5 -> -loss >= -5
            "acc": (">=", 0.7),  # max objective: acc >= 0.7
            "mem": (">=", 3.0),  # not an objective
        },
    )
    assert objs.constraint_floors() == [[-5.0], [0.7]]
    capped = Objectives.parse({"acc": "max"}, {"acc": ("<=", 0.99)})  # a cap: no floor
    assert capped.constraint_floors() == [[]]
    # the model's constraint columns: objectives maximized, others in user units
    cons = adapter_mod._model_constraints(objs)
    assert [(c.column, c.sign, c.op, c.bound) for c in cons] == [
        (0, -1.0, "<=", 5.0),
        (1, 1.0, ">=", 0.7),
        (2, 1.0, ">=", 3.0),
    ]
    assert objs.metrics_to_model_frame([[2.0, 0.8, 4.0]]).tolist() == [[-2.0, 0.8, 4.0]]


def test_a_diverged_run_does_not_flatten_the_model():
    """One loss 10^4 times the others: the GP fitted on winsorized outcomes still ranks
    held-out points like the truth; fitted on the raw outcomes it cannot."""
    rng = np.random.default_rng(1)
    X = rng.random((30, 2))
    y = np.array([branin_currin_values(*x)[0] for x in X])
    y[0] = y.max() * 1e4  # a diverged run (a loss, minimized)
    Y = _t((-y)[:, None].tolist())  # the maximization frame
    X_test = rng.random((200, 2))
    truth = -np.array([branin_currin_values(*x)[0] for x in X_test])

    def rank_corr(Y_fit: torch.Tensor) -> float:
        model, _ = C.fit_model(torch.as_tensor(X), Y_fit, maxiter=75)
        with torch.no_grad():
            mean = model.posterior(torch.as_tensor(X_test)).mean[:, 0].numpy()
        return float(np.corrcoef(np.argsort(np.argsort(mean)), np.argsort(np.argsort(truth)))[0, 1])

    robust = rank_corr(winsorize_bad_tail(Y, 1))
    raw = rank_corr(Y)
    assert robust > 0.8, robust
    assert robust > raw + 0.2, (robust, raw)


@pytest.mark.slow
def test_the_optimizer_fits_its_model_on_winsorized_outcomes(monkeypatch):
    seen: list[torch.Tensor] = []
    real_fit = adapter_mod._fit

    def spy(X, Y, *args, **kwargs):
        seen.append(Y.clone())
        return real_fit(X, Y, *args, **kwargs)

    monkeypatch.setattr(adapter_mod, "_fit", spy)
    rng = np.random.default_rng(2)
    X = rng.random((12, 2))
    Y = np.array([list(branin_currin_values(*x)) for x in X])
    Y[3, 0] = 1e7  # diverged
    h = History(X, Y, np.zeros((0, 2)), 12)
    objs = Objectives.parse({"f0": "min", "f1": "min"})
    s = BoTorchOptimizer(n_initial=4).suggest(UNIT_2D, objs, h, n=1, seed=0)
    assert s.proposals[0].kind == "qLogNEHVI"
    assert -1e6 < float(seen[0][3, 0]) < 0  # clipped, still the worst of the column
    assert float(seen[0][3, 0]) <= float(seen[0][:, 0].min())


@pytest.mark.slow
def test_three_objectives_use_approximate_boxes_and_fewer_samples(monkeypatch):
    seen: list[float] = []
    real = C.build_acquisition

    def spy(*args, **kwargs):
        seen.append((kwargs.get("alpha", 0.0), args[8]))  # alpha, MC samples
        return real(*args, **kwargs)

    monkeypatch.setattr(C, "build_acquisition", spy)
    rng = np.random.default_rng(3)
    X = rng.random((10, 2))
    Y3 = np.column_stack([X[:, 0], 1 - X[:, 0] + X[:, 1], X[:, 1]])
    for cols, expected in ((3, (0.05, 16)), (2, (0.0, 64))):
        objs = Objectives.parse({f"f{i}": "min" for i in range(cols)})
        h = History(X, Y3[:, :cols], np.zeros((0, 2)), 10)
        settings = OptimizeSettings(hv_alpha=0.05, mc_samples=64, mc_samples_many=16)
        opt = BoTorchOptimizer(n_initial=4, settings=settings)
        s = opt.suggest(UNIT_2D, objs, h, n=2, seed=0)
        assert s.proposals[0].kind == "qLogNEHVI"
        assert seen[-1] == expected
    # a front of 40 points on a sphere: the approximate decomposition has far fewer boxes
    X = torch.as_tensor(rng.random((40, 2)))
    a, b = X[:, 0] * torch.pi / 2, X[:, 1] * torch.pi / 2
    Y = torch.stack([a.cos() * b.cos(), a.cos() * b.sin(), a.sin()], dim=-1)
    model, _ = C.fit_model(X, Y)
    boxes = {
        alpha: real("qLogEHVI", model, X, Y, 3, [0.0] * 3, alpha=alpha).cell_lower_bounds.shape[-2]
        for alpha in (0.0, 0.05)
    }
    assert boxes[0.05] < boxes[0.0] / 2, boxes
