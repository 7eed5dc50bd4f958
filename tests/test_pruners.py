"""Pruners on scripted report streams: ASHA against Optuna's SuccessiveHalvingPruner, the
multi-objective ranking, the median rule, and the edge cases (max_steps, non-finite values)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook.objectives import Objectives
from hpo_notebook.pruners import ASHA, Median, MultiObjectiveASHA, ReportHistory, _rungs

MIN = Objectives.parse({"loss": "min"})
TWO = Objectives.parse({"err": "min", "size": "min"})


def feed(pruner, objectives, stream):
    """Feed (trial, step, metrics) reports; return {report index: prune?} for live trials."""
    pruner.bind(objectives)
    h = ReportHistory(objectives)
    pruner.prepare(h)
    stopped, out = set(), []
    for trial, step, metrics in stream:
        if trial in stopped:
            continue
        h.add(trial, step, metrics)
        d = pruner.decide(trial, step, metrics, h)
        out.append((trial, step, d.prune))
        if d.prune:
            stopped.add(trial)
    return out


def random_stream(seed, n_trials=12, max_steps=27, every=1):
    """Interleaved learning curves: each trial's loss decays towards its own floor."""
    rng = np.random.default_rng(seed)
    floors = rng.uniform(0.05, 0.6, n_trials)
    rates = rng.uniform(0.05, 0.4, n_trials)
    pending = {t: list(range(every, max_steps + 1, every)) for t in range(n_trials)}
    started = 0
    stream = []
    while any(pending.values()):
        live = [t for t in range(started) if pending[t]]
        if started < n_trials and (not live or rng.random() < 0.3):
            started += 1
            live = [started - 1]
        t = int(rng.choice(live))
        step = pending[t].pop(0)
        loss = floors[t] + (1 - floors[t]) * math.exp(-rates[t] * step) + rng.normal(0, 0.01)
        stream.append((t, step, {"loss": float(loss)}))
    return stream


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("grace", "eta", "every"), [(1, 3, 1), (1, 2, 1), (2, 3, 1), (1, 3, 2)])
def test_asha_matches_optuna_successive_halving(seed, grace, eta, every):
    """Decision for decision, on steps below max_steps (where we deliberately never prune)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    max_steps = 27
    stream = [r for r in random_stream(seed, every=every) if r[1] < max_steps]
    ours = feed(ASHA(max_steps, grace=grace, eta=eta), MIN, stream)

    study = optuna.create_study(
        direction="minimize",
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=grace,
            reduction_factor=eta,
            min_early_stopping_rate=0,
            bootstrap_count=0,
        ),
    )
    handles, stopped, theirs = {}, set(), []
    for trial, step, metrics in stream:
        if trial in stopped:
            continue
        if trial not in handles:
            handles[trial] = study.ask()
        handles[trial].report(metrics["loss"], step)
        prune = handles[trial].should_prune()
        theirs.append((trial, step, prune))
        if prune:
            stopped.add(trial)
    assert ours == theirs
    assert any(p for *_, p in ours)  # the streams do exercise pruning


def test_asha_never_prunes_a_trial_that_reached_max_steps():
    asha = ASHA(max_steps=9, grace=1, eta=3)
    stream = [(0, 1, {"loss": 0.1}), (0, 3, {"loss": 0.05}), (1, 1, {"loss": 0.01})]
    stream += [(1, 9, {"loss": 5.0})]  # terrible, but its work is done
    decisions = feed(asha, MIN, stream)
    assert decisions[-1] == (1, 9, False)
    points = asha.decision_points
    assert not points.includes(9, 3) and points.includes(1, None)
    assert points.includes(4, 1) and not points.includes(4, 3)  # rung 3 decided at 3


def test_asha_rungs_and_reason():
    assert _rungs.rung_steps(27, 1, 3) == [1, 3, 9]
    assert _rungs.rung_steps(100, 5, 2) == [5, 10, 20, 40, 80]
    asha = ASHA(max_steps=27)
    asha.bind(MIN)
    h = ReportHistory(MIN)
    asha.prepare(h)
    for t, v in enumerate([0.1, 0.2, 0.3, 0.4]):
        h.add(t, 1, {"loss": v})
        d = asha.decide(t, 1, {"loss": v}, h)
    assert d.prune and d.reason == "not in the top 1 of 4 trials on loss at rung step 1"


def test_asha_respects_direction_and_metric():
    objs = Objectives.parse({"acc": "max", "loss": "min"})
    stream = [(0, 1, {"acc": 0.9, "loss": 0.9}), (1, 1, {"acc": 0.5, "loss": 0.1})]
    assert feed(ASHA(9), objs, stream)[-1][2] is True  # ranks on acc (first objective), max
    assert feed(ASHA(9, metric="loss"), objs, stream)[-1][2] is False


def test_non_finite_value_prunes_at_once_with_reason():
    asha = ASHA(max_steps=27, grace=3)
    asha.bind(MIN)
    h = ReportHistory(MIN)
    asha.prepare(h)
    h.add(0, 1, {"loss": float("nan")})
    d = asha.decide(0, 1, {"loss": float("nan")}, h)
    assert d.prune and d.reason == "loss is nan at step 1"
    m = Median()
    m.bind(MIN)
    assert m.decide(0, 1, {"loss": math.inf}, h).prune
    # a report without the pruner's metric says what to write instead
    for pruner in (asha, m):
        d = pruner.decide(0, 2, {"train_loss": 0.3}, h)
        assert d.prune and d.reason.startswith("loss was not reported at step 2")
        assert "trial.report(step, loss=...)" in d.reason


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ASHA(max_steps=0), "max_steps must be a number > 0"),
        (lambda: ASHA(max_steps=9, eta=1), "eta must be a number > 1"),
        (lambda: ASHA(max_steps=9, grace=9), "grace must be < max_steps"),
        (lambda: Median(warmup=-1), "warmup must be a number >= 0"),
        (lambda: Median(min_trials=0), "min_trials must be a positive integer"),
    ],
)
def test_bad_pruner_arguments(make, match):
    with pytest.raises(hn.ConfigError, match=match):
        make()


def test_pruner_metric_must_be_an_objective():
    with pytest.raises(hn.ConfigError, match=r"\['acc'\] are not objectives"):
        ASHA(9, metric="acc").bind(MIN)
    with pytest.raises(hn.ConfigError, match=r"\['acc'\] are not objectives"):
        MultiObjectiveASHA(9, metrics=["err", "acc"]).bind(TWO)


def test_multi_objective_ranking_keeps_the_ends_of_the_front():
    """Nine trials at a rung, eta=3: three go on. Single-metric ranking keeps the three lowest
    errors (all large models); MO-ASHA keeps the front's two ends and its best-spread point."""
    Y_raw = [  # (error, size): a front from big-accurate to small-inaccurate, plus dominated
        (0.05, 100),
        (0.06, 80),
        (0.07, 90),
        (0.10, 40),
        (0.20, 10),
        (0.40, 2),
        (0.45, 50),
        (0.50, 60),
        (0.30, 30),
    ]
    Y = -np.array(Y_raw, dtype=float)  # maximized frame
    order = _rungs.multi_objective_order(Y)
    assert set(order[:3].tolist()) == {0, 5, 4} or set(order[:3].tolist()) == {0, 5, 3}
    assert _rungs.promotable_multi(5, Y, 3)  # the smallest model goes on
    assert not _rungs.promotable_multi(5, Y[:, :1], 3)  # on error alone it would stop
    assert _rungs.nondominated_ranks(Y).tolist()[:6] == [0, 0, 1, 0, 0, 0]


def test_multi_objective_asha_stream_keeps_small_models():
    stream = []
    rng = np.random.default_rng(0)
    for t in range(18):
        size = float(2 ** rng.integers(1, 8))
        error = 0.5 / math.log2(size + 1) + rng.normal(0, 0.01)
        stream.append((t, 1, {"err": error, "size": size}))
    mo = feed(MultiObjectiveASHA(max_steps=9), TWO, stream)
    single = feed(ASHA(max_steps=9), TWO, stream)
    kept_mo = [stream[i][2]["size"] for i, (_, _, p) in enumerate(mo) if not p]
    kept_single = [stream[i][2]["size"] for i, (_, _, p) in enumerate(single) if not p]
    assert min(kept_mo) < min(kept_single)


def test_median_rule():
    p = Median(warmup=2, min_trials=3)
    stream = [(t, s, {"loss": 1.0 / s + 0.1 * t}) for s in (1, 2, 3) for t in range(5)]
    decisions = {(t, s): d for t, s, d in feed(p, MIN, stream)}
    assert not any(d for (t, s), d in decisions.items() if s < 2)  # warm-up
    assert decisions[(0, 2)] is False and decisions[(1, 2)] is False
    assert decisions[(3, 2)] is True  # worse than the median of trials 0-2 at step 2


def test_history_rung_table_and_rerun():
    h = ReportHistory(MIN)
    h.add(0, 1, {"loss": 1.0})
    h.add(0, 4, {"loss": 0.5})
    h.track_rungs([3])  # tracked late: filled from the past
    assert h.at_rung(3) == {0: {"loss": 0.5}}
    h.drop_after(0, 1)  # the trial restarts from its checkpoint at step 1
    assert h.at_rung(3) == {} and h.curve(0) == [(1, {"loss": 1.0})]
    h.add(0, 3, {"loss": 0.7})
    assert h.at_rung(3) == {0: {"loss": 0.7}} and h.previous_step(0, 3) == 1


def test_rungs_limit_and_round_trip():
    from hpo_notebook.pruners import pruner_from_json

    p = MultiObjectiveASHA(max_steps=27, rungs=2)
    assert p.rungs == [1, 3] and ASHA(27).rungs == [1, 3, 9]
    points = p.decision_points
    assert not points.includes(9, 4) and points.includes(3, 2) and points.includes(9, 2)
    again = pruner_from_json(p.to_json())
    assert isinstance(again, MultiObjectiveASHA) and again.rungs == [1, 3]
    median = pruner_from_json(Median(warmup=2, min_trials=4, max_steps=20).to_json())
    assert (median.warmup, median.min_trials, median.max_steps) == (2, 4, 20)
    with pytest.raises(hn.ConfigError, match=r"rungs \(or None\) must be a positive integer"):
        ASHA(27, rungs=0)


def test_median_never_stops_a_finished_trial():
    p = Median(warmup=1, min_trials=1, max_steps=3)
    stream = [(0, 3, {"loss": 0.1}), (1, 3, {"loss": 0.9})]
    assert feed(p, MIN, stream)[-1] == (1, 3, False)
    assert feed(Median(warmup=1, min_trials=1), MIN, stream)[-1] == (1, 3, True)


def test_moasha_keep_front_lets_every_undominated_trial_go_on():
    from hpo_notebook.objectives import Objectives
    from hpo_notebook.reports import ReportHistory

    objs = Objectives.parse({"err": "min", "size": "min"})
    # trials arrive at rung 1 in this order; the 4th is dominated by none of the earlier ones
    # but is not in the top third by front and crowding (the ends of the front come first)
    reports = [(0.10, 9.0), (0.90, 1.0), (0.50, 5.0), (0.40, 6.0), (0.95, 9.5), (0.45, 5.5)]
    outcome = {}
    for keep_front in (False, True):
        p = hn.MultiObjectiveASHA(max_steps=9, keep_front=keep_front)
        p.bind(objs)
        h = ReportHistory(objs)
        p.prepare(h)
        decisions = []
        for t, (err, size) in enumerate(reports):
            m = {"err": err, "size": size}
            h.add(t, 1, m)
            decisions.append(p.decide(t, 1, m, h).prune)
        outcome[keep_front] = decisions
    assert outcome[False] == [False, False, True, True, True, True]
    # 0.5/5 and 0.4/6 are on the front of those seen; 0.95/9.5 is dominated; 0.45/5.5 is not
    assert outcome[True] == [False, False, False, False, True, False]
    assert hn.MultiObjectiveASHA(9).keep_front is True  # the default since the replay
    assert hn.MultiObjectiveASHA(9, keep_front=True).to_json()["keep_front"] is True


def test_a_study_stored_before_keep_front_reopens_pruning_as_it_did():
    from hpo_notebook.pruners import pruner_from_json

    stored = {"type": "MultiObjectiveASHA", "max_steps": 9, "grace": 1, "eta": 3,
              "metrics": None, "rungs": None}  # fmt: skip
    assert pruner_from_json(stored).keep_front is False
    assert pruner_from_json({**stored, "keep_front": True}).keep_front is True
    with pytest.raises(hn.ConfigError, match="keep_front must be True or False, got 1"):
        hn.MultiObjectiveASHA(9, keep_front=1)


def test_min_share_stops_undominated_trials_that_add_little_hypervolume():
    """``MultiObjectiveASHA(min_share=...)``: keep_front keeps an undominated trial only when
    it adds that share of the rung front's hypervolume; the front's extremes and the top
    1/eta go on regardless."""
    objs = Objectives.parse({"err": "min", "size": "min"})
    points = [(0.1, 9), (0.5, 1), (0.3, 3), (0.2, 6), (0.9, 9), (0.31, 2.95)]
    stream = [(t, 1, {"err": err, "size": size}) for t, (err, size) in enumerate(points)]
    decisions = {
        share: [
            pruned for _, _, pruned in feed(MultiObjectiveASHA(9, min_share=share), objs, stream)
        ]
        for share in (0.0, 0.2)
    }
    assert decisions[0.0] == [False, False, False, False, True, False]  # only the dominated
    assert decisions[0.2] == [False, False, False, True, True, True]  # and two thin ones


@pytest.mark.parametrize("bad", [-0.1, 1.0, True, "0.1", None])
def test_min_share_is_checked(bad):
    with pytest.raises(hn.ConfigError, match="min_share must be a number in"):
        MultiObjectiveASHA(max_steps=9, min_share=bad)


def test_min_share_round_trips_and_old_files_mean_zero():
    from hpo_notebook.pruners import pruner_from_json

    p = MultiObjectiveASHA(max_steps=27, min_share=0.02)
    again = pruner_from_json(p.to_json())
    assert (again.min_share, again.keep_front) == (0.02, True)
    old = {k: v for k, v in p.to_json().items() if k != "min_share"}
    assert pruner_from_json(old).min_share == 0.0


@pytest.mark.slow
def test_asha_incremental_rung_index_matches_the_full_ranking():
    """ASHA keeps each rung's values sorted as trials arrive; with arrivals, re-runs that drop
    reports, non-finite values and a new report log, it decides as the full ranking does."""
    import random

    from hpo_notebook.pruners.base import vectors

    objs = Objectives.parse({"loss": "min", "acc": "max"})
    rng = random.Random(7)
    for metric in ("loss", "acc"):
        asha = ASHA(max_steps=27, grace=1, eta=3, metric=metric)
        asha.bind(objs)
        for _ in range(2):  # a second report log (a reopened study) starts a new index
            h = ReportHistory(objs)
            asha.prepare(h)
            checked = 0
            for trial in range(150):
                if trial > 10 and rng.random() < 0.1:  # a re-run drops an earlier trial's reports
                    h.drop_after(rng.randrange(trial), rng.choice([None, 1, 3]))
                for step in (1, 2, 3, 5, 9):
                    value = rng.choice([rng.random(), rng.random(), float("nan")])
                    h.add(trial, step, {"loss": value, "acc": 1 - value})
                    for rung in asha.rungs:
                        if step >= rung and trial in h.at_rung(rung):
                            if not math.isfinite(h.at_rung(rung)[trial][metric]):
                                continue
                            fast = asha._judge_rung(rung, trial, h)
                            ids, Y = vectors(h.at_rung(rung), asha._ranked)
                            col = Y[:, 0].tolist()
                            full = (_rungs.promotable(col[ids.index(trial)], col, 3), len(ids))
                            assert fast == full, (metric, trial, step, rung)
                            checked += 1
            assert checked > 500
