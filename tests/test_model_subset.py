"""The large-n path: which observations the model sees past ``subset_size``, and that the
optimizer uses it, records it, and keeps proposing good points with it."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers import History
from hpo_notebook.optimizers.botorch import BoTorchOptimizer
from hpo_notebook.optimizers.botorch import adapter as adapter_mod
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings
from hpo_notebook.optimizers.botorch.subset import (
    domination_counts,
    farthest_points,
    model_subset,
)


def _brute_counts(Y: np.ndarray) -> list[int]:
    """The definition, pair by pair (``j`` dominates ``i``), as one broadcast comparison."""
    other, me = Y[None, :, :], Y[:, None, :]
    return ((other >= me).all(axis=-1) & (other > me).any(axis=-1)).sum(axis=1).tolist()


@pytest.mark.parametrize("m", [2, 3])
def test_domination_counts_match_the_definition(m):
    rng = np.random.default_rng(m)
    Y = rng.integers(0, 5, size=(600, m)).astype(float)  # ties, across a chunk border
    assert domination_counts(Y).tolist() == _brute_counts(Y)


def test_farthest_points_start_where_asked_and_spread():
    P = np.linspace(0, 1, 101)[:, None]
    assert farthest_points(P, 3, [50]) == [50, 0, 100]
    assert sorted(farthest_points(P, 5, [0])) == [0, 25, 50, 75, 100]
    assert farthest_points(P[:3], 10) == [0, 1, 2]


def test_a_small_front_is_kept_whole_with_the_next_ranks():
    rng = np.random.default_rng(0)
    X = rng.random((400, 3))
    Y = -rng.random((400, 2)) - 1.0  # every point dominated by the 5 below
    front = np.arange(5)
    Y[front] = [[0.0, -0.5], [-0.1, -0.4], [-0.2, -0.3], [-0.3, -0.2], [-0.5, 0.0]]
    idx, baseline = model_subset(X, Y, np.ones(400, bool), k=40, seed=1, n_front=12)
    assert len(idx) == 40 and len(set(idx.tolist())) == 40
    assert set(baseline[:5].tolist()) == set(front.tolist())  # best first
    counts = domination_counts(Y)
    assert sorted(counts[baseline]) == sorted(np.sort(counts)[:12])
    # the model's best half is the 20 lowest domination counts
    assert np.sort(counts[idx])[:20].tolist() == np.sort(counts)[:20].tolist()
    assert set(baseline.tolist()) <= set(idx.tolist())


def test_a_large_front_is_thinned_evenly_with_its_extremes():
    t = np.linspace(0, np.pi / 2, 300)
    Y = np.stack([np.cos(t), np.sin(t)], axis=1)  # 300 points, all non-dominated
    X = np.random.default_rng(1).random((300, 4))
    baseline = model_subset(X, Y, np.ones(300, bool), k=40, seed=0, n_front=10).front
    b = np.sort(t[baseline])
    assert len(baseline) == 10 and b[0] == 0.0 and b[-1] == t[-1]
    gaps = np.diff(b)
    assert gaps.max() < 2.5 * gaps.min(), gaps  # spread along the front, not clustered


def test_infeasible_points_rank_after_feasible_ones():
    rng = np.random.default_rng(2)
    X, Y = rng.random((200, 2)), rng.random((200, 2))
    feasible = np.zeros(200, bool)
    feasible[rng.choice(200, 30, replace=False)] = True
    idx, baseline = model_subset(X, Y, feasible, k=40, seed=0, n_front=20)
    assert feasible[baseline].all() and feasible[idx].sum() >= 20


def test_the_other_half_fills_the_space_and_is_seeded():
    rng = np.random.default_rng(3)
    X, Y = rng.random((500, 2)), rng.random((500, 2))
    a = model_subset(X, Y, np.ones(500, bool), k=64, seed=5).indices
    b = model_subset(X, Y, np.ones(500, bool), k=64, seed=5).indices
    c = model_subset(X, Y, np.ones(500, bool), k=64, seed=6).indices
    assert (a == b).all() and not (a == c).all()
    counts = domination_counts(Y)
    spread = X[a[np.argsort(counts[a], kind="stable")][32:]]  # past the best half
    # every quarter of the unit square holds some of the space-filling points
    quarters = {(int(x >= 0.5), int(y >= 0.5)) for x, y in spread}
    assert len(quarters) == 4


def test_the_latest_quarter_is_always_seen():
    """The model sees the outcomes of its latest proposals: without them it proposed the
    same (already evaluated) points again, a third of a 1,000-trial study's proposals."""
    rng = np.random.default_rng(5)
    X, Y = rng.random((300, 2)), rng.random((300, 2))
    Y[-40:] = -5.0  # the latest rows: poor, and in a cluster the spread would thin
    X[-40:] = 0.5 + rng.random((40, 2)) * 1e-3
    idx = model_subset(X, Y, np.ones(300, bool), k=64, seed=0).indices
    assert set(range(284, 300)) <= set(idx.tolist()) and len(idx) == 64


def test_all_points_when_there_are_few():
    X, Y = np.zeros((10, 2)), np.zeros((10, 2))
    idx, baseline = model_subset(X, Y, np.ones(10, bool), k=64, seed=0, n_front=4)
    assert idx.tolist() == list(range(10)) and len(baseline) == 4


@pytest.mark.parametrize("bad", [0, 3, 2.5, True, "64"])
def test_subset_settings_are_validated(bad):
    with pytest.raises(ValueError, match="subset_size"):
        OptimizeSettings(subset_size=bad)
    with pytest.raises(ValueError, match="subset_baseline"):
        OptimizeSettings(subset_baseline=bad)


SPACE = hn.Space(x0=hn.Float(0.0, 1.0), x1=hn.Float(0.0, 1.0), x2=hn.Float(0.0, 1.0))
OBJS = Objectives.parse({"f0": "min", "f1": "min"})


def _values(X: np.ndarray) -> np.ndarray:
    # a front along x0 where x1 = x2 = 0.3 (both minimized)
    dist = ((X[:, 1:] - 0.3) ** 2).sum(axis=1)
    return np.stack([X[:, 0] + dist, 1.0 - X[:, 0] + dist], axis=1)


def _history(n: int, pending: int = 0) -> History:
    X = np.random.default_rng(7).random((n + pending, 3))
    return History(X[:n], _values(X[:n]), X[n:], n + pending)


@pytest.mark.slow
def test_past_subset_size_the_model_sees_a_subset_and_says_so(monkeypatch):
    seen: list[int] = []
    real = adapter_mod._fit

    def spy(X, Y, *args, **kwargs):
        seen.append(len(X))
        return real(X, Y, *args, **kwargs)

    monkeypatch.setattr(adapter_mod, "_fit", spy)
    h = _history(60, pending=3)
    opt = BoTorchOptimizer(settings=OptimizeSettings(subset_size=24, subset_baseline=6))
    s = opt.suggest(SPACE, OBJS, h, n=2, seed=0)
    assert {p.kind for p in s.proposals} == {"qLogNEHVI-subset"}
    assert s.proposals[0].info["n_model"] == 24 and s.proposals[0].info["n_obs"] == 60
    assert seen and set(seen) == {24}
    exact = BoTorchOptimizer(settings=OptimizeSettings(subset_size=None))
    e = exact.suggest(SPACE, OBJS, h, n=2, seed=0)
    assert {p.kind for p in e.proposals} == {"qLogNEHVI"}
    assert e.proposals[0].info["n_model"] == 60 and seen[-1] == 60  # one fit per batch


@pytest.mark.slow
def test_a_fresh_fit_beside_the_warm_one_while_young_then_at_each_quarter_of_growth(
    monkeypatch,
):
    """Below ``FRESH_FIT_BELOW`` (64) observations a warm state is fitted from and the fit is
    repeated from the prior (the more likely one kept); past it, the warm fit alone until the
    observations have grown by a quarter since the last fresh fit: on the exact path and on
    the subset alike."""
    calls: list[object] = []
    from hpo_notebook.optimizers.botorch import candidates as C

    real = C.fit_model

    def spy(X, Y, cat_dims, warm, *args, **kwargs):
        calls.append(warm is not None)
        return real(X, Y, cat_dims, warm, *args, **kwargs)

    monkeypatch.setattr(C, "fit_model", spy)
    assert adapter_mod.FRESH_FIT_BELOW == 64 and adapter_mod.FRESH_FIT_GROWTH == 1.25
    for size in (None, 24):
        opt = BoTorchOptimizer(settings=OptimizeSettings(subset_size=size, gp_prior="dim_scaled"))
        state = None
        for n, expected, fresh_at in [
            (56, [False], 56),  # no state yet: the prior's start only
            (60, [False, True], 60),  # young: both starts
            (70, [True], 60),  # 70 < 1.25 x 60: the warm start alone
            (76, [False, True], 76),  # grown by a quarter: both again
            (80, [True], 76),
        ]:
            calls.clear()
            s = opt.suggest(SPACE, OBJS, _history(n), n=1, seed=0, state=state)
            assert calls == expected, (size, n)
            assert s.proposals[0].info["fresh_fit"] == (expected[0] is False)
            assert s.state["fresh_fit_at"] == fresh_at
            state = s.state


@pytest.mark.slow
def test_on_the_subset_a_warm_start_that_does_not_fit_is_replaced_by_a_fresh_fit():
    """A state from another prior (a one-point proposal alternates priors, a batch hedges
    both) made the subset's warm-only fit fail, and the whole batch fell back to
    quasi-random points."""
    opt = BoTorchOptimizer(settings=OptimizeSettings(subset_size=24, gp_prior="hedge"))
    one = opt.suggest(SPACE, OBJS, _history(57), n=1, seed=0)  # one prior's state
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warns
        batch = opt.suggest(SPACE, OBJS, _history(60), n=4, seed=0, state=one.state)
    assert {p.kind for p in batch.proposals} == {"qLogNEHVI-subset"}


@pytest.mark.slow
def test_subset_proposals_head_for_the_front():
    """With 300 observations and a model on 48 of them, a batch lands near the front
    (x1 = x2 = 0.3) far more often than random points do."""
    h = _history(300)
    opt = BoTorchOptimizer(settings=OptimizeSettings(subset_size=48, subset_baseline=12))
    s = opt.suggest(SPACE, OBJS, h, n=4, seed=1)
    X = np.array([SPACE.to_unit(p.params) for p in s.proposals])
    dist = np.sqrt(((X[:, 1:] - 0.3) ** 2).sum(axis=1))
    # a random point is within 0.1 of the line with probability about 3%
    assert (dist < 0.1).sum() >= 3, dist


def _ask_tell(n_trials: int, optimizer: BoTorchOptimizer, **study_kwargs) -> hn.Study:
    """A study of ``n_trials`` on ``_values``, in batches of 4 through ask/tell."""
    study = hn.Study(
        None, SPACE, objectives={"f0": "min", "f1": "min"}, seed=0, optimizer=optimizer,
        **study_kwargs,
    )  # fmt: skip
    while len(study.trials) < n_trials:
        for t in study.ask(4):
            x = np.array([[t.params[k] for k in ("x0", "x1", "x2")]])
            f0, f1 = _values(x)[0]
            study.tell(t, {"f0": f0, "f1": f1})
    return study


@pytest.mark.slow
def test_a_study_records_the_subset_in_its_trials_frame():
    settings = OptimizeSettings(subset_size=12, subset_baseline=4)
    study = _ask_tell(20, BoTorchOptimizer(n_initial=12, settings=settings))
    kinds = study.trials_frame()["proposal"].tolist()
    assert kinds[:12] == ["sobol"] * 12
    assert kinds[12:16] == ["qLogNEHVI"] * 4  # 12 observations: not more than subset_size
    assert kinds[16:] == ["qLogNEHVI-subset"] * 4


@pytest.mark.slow
def test_a_proposal_that_missed_its_deadline_shrinks_the_next_model():
    opt = BoTorchOptimizer(settings=OptimizeSettings(subset_size=128, gp_prior="dim_scaled"))
    h = _history(60)
    late = dataclasses.replace(h, deadline_s=1e-4)  # every proposal misses it
    first = opt.suggest(SPACE, OBJS, late, n=1, seed=0)
    assert first.proposals[0].kind == "qLogNEHVI" and first.state["model_points"] == 42
    second = opt.suggest(SPACE, OBJS, late, n=1, seed=0, state=first.state)
    assert second.proposals[0].kind == "qLogNEHVI-subset"
    assert second.proposals[0].info["n_model"] == 42 and second.state["model_points"] == 32
    # proposals well within the deadline grow the cap back, then lift it
    easy = dataclasses.replace(h, deadline_s=1e6)
    third = opt.suggest(SPACE, OBJS, easy, n=1, seed=0, state=second.state)
    assert third.proposals[0].info["n_model"] == 32 and third.state["model_points"] == 41
    lifted = opt.suggest(SPACE, OBJS, easy, n=1, seed=0, state={**third.state, "model_points": 110})
    assert "model_points" not in lifted.state
    # no deadline, or the exact path forced: no cap
    assert "model_points" not in opt.suggest(SPACE, OBJS, h, n=1, seed=0).state
    exact = BoTorchOptimizer(settings=OptimizeSettings(subset_size=None))
    forced = exact.suggest(SPACE, OBJS, late, n=1, seed=0, state=first.state)
    assert forced.proposals[0].kind == "qLogNEHVI" and "model_points" not in forced.state


@pytest.mark.slow
def test_the_study_hands_its_suggest_timeout_to_the_optimizer_as_the_deadline():
    optimizer = BoTorchOptimizer(n_initial=40, settings=OptimizeSettings(gp_prior="gamma"))
    study = _ask_tell(44, optimizer, suggest_timeout=1e-4)
    kinds = study.trials_frame()["proposal"].tolist()
    assert kinds[40:] == ["qLogNEHVI"] * 4
    nxt = study.ask(1)[0]
    assert study.trial(nxt.number).proposal["kind"] == "qLogNEHVI-subset"


@pytest.mark.slow
def test_on_the_subset_the_baseline_is_the_front_of_all_observations(monkeypatch):
    """qLogNEHVI's baseline is ``subset_baseline`` of the best-ranked observations of all,
    not only of the model's subset."""
    from hpo_notebook.optimizers.botorch import candidates as C
    from hpo_notebook.optimizers.botorch.subset import domination_counts

    built: list[tuple[str, np.ndarray]] = []
    real = C.build_acquisition

    def spy(name, model, X_baseline, *args, **kwargs):
        built.append((name, X_baseline.numpy().copy()))
        return real(name, model, X_baseline, *args, **kwargs)

    monkeypatch.setattr(C, "build_acquisition", spy)
    h = _history(300, pending=3)
    opt = BoTorchOptimizer(
        settings=OptimizeSettings(subset_size=24, subset_baseline=16, gp_prior="dim_scaled")
    )
    opt.suggest(SPACE, OBJS, h, n=2, seed=0)
    ((name, base),) = built
    assert name == "qLogNEHVI" and len(base) == 16
    counts = domination_counts(-h.Y)
    rows = [int(np.flatnonzero((x == h.X).all(axis=1))[0]) for x in base]
    assert sorted(counts[rows]) == sorted(np.sort(counts)[:16])


@pytest.mark.slow
def test_the_subset_path_works_with_mixed_spaces_and_learning_curves():
    mixed = hn.Space(x0=hn.Float(0.0, 1.0), x1=hn.Int(0, 8), x2=hn.Choice(["a", "b", "c"]))
    rng = np.random.default_rng(4)
    X = np.array([mixed.to_unit(mixed.from_unit(x)) for x in rng.random((80, 3))])
    Y = _values(X)
    opt = BoTorchOptimizer(settings=OptimizeSettings(subset_size=24, subset_baseline=6))
    s = opt.suggest(mixed, OBJS, History(X[:70], Y[:70], X[70:], 80), n=2, seed=0)
    assert {p.kind for p in s.proposals} == {"qLogNEHVI-subset"}
    curves = History(
        X[:60],
        Y[:60],
        X[70:],
        80,
        X_partial=np.repeat(X[60:70], 3, axis=0),
        Y_partial=np.repeat(Y[60:70], 3, axis=0) + 0.5,
        fidelity=np.tile([0.25, 0.5, 0.75], 10),
        X_stopped=X[60:70],
    )
    c = opt.suggest(mixed, OBJS, curves, n=2, seed=0)
    assert {p.kind for p in c.proposals} == {"qLogNEHVI-subset"}
    assert c.proposals[0].info["n_model"] == 24


@pytest.mark.parametrize("kind", ["continuous", "ties", "duplicates"])
def test_two_objective_domination_counts_match_the_pairwise_count(kind: str) -> None:
    """Past 512 rows two objectives take a sweep with a Fenwick tree instead of comparing
    every pair: the same counts, with ties in either objective and repeated rows."""
    rng = np.random.default_rng(len(kind))
    n = 900
    if kind == "continuous":
        Y = rng.normal(size=(n, 2))
    elif kind == "ties":
        Y = rng.integers(0, 9, (n, 2)).astype(float)
    else:
        Y = np.repeat(rng.random((n // 3, 2)), 3, axis=0)
    geq = (Y[None, :, :] >= Y[:, None, :]).all(-1)
    gt = (Y[None, :, :] > Y[:, None, :]).any(-1)
    expected = (geq & gt).sum(1)
    assert np.array_equal(domination_counts(Y), expected)
    assert np.array_equal(domination_counts(-Y), (geq.T & gt.T).sum(1))


@pytest.mark.parametrize("m", [1, 3, 4])
def test_domination_counts_with_other_numbers_of_objectives(m: int) -> None:
    rng = np.random.default_rng(m)
    Y = rng.integers(0, 5, (700, m)).astype(float)  # many ties, more than one chunk
    geq = (Y[None, :, :] >= Y[:, None, :]).all(-1)
    gt = (Y[None, :, :] > Y[:, None, :]).any(-1)
    assert np.array_equal(domination_counts(Y), (geq & gt).sum(1))
