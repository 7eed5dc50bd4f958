"""The pruning replay: a rule replayed on recorded curves decides as a study does."""

from __future__ import annotations

import numpy as np
import pytest

import hpo_notebook as hn
from benchmarks import pruning, pruning_replay

MAX = 9


def _curves(n: int, seed: int) -> list[list[list[float]]]:
    """Noisy decreasing curves that cross: each trial's two objectives at steps 1..MAX."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a_end, a_start, b = rng.uniform(0, 1, 3)
        curve = []
        for s in range(1, MAX + 1):
            frac = s / MAX
            a = a_start * (1 - frac) + a_end * frac + rng.normal(0, 0.05)
            curve.append([s, round(float(a), 6), round(float(b + 0.1 / s), 6)])
        out.append(curve)
    return out


def _study_run(curves: list[list[list[float]]], pruner: hn.MultiObjectiveASHA) -> tuple:
    """The same curves through a real study's ask/tell and report channel, on the pruning
    benchmark's virtual clock: the k-th trial asked reports the k-th curve."""
    study = hn.Study(
        None,
        hn.Space(x=hn.Float(0, 1)),
        objectives={"a": "min", "b": "min"},
        seed=0,
        optimizer="sobol",
        pruner=pruner,
    )
    todo = list(curves)

    def start() -> pruning._Running | None:
        if not todo:
            return None
        curve = todo.pop(0)
        ctx = study.ask()

        def fn(params: dict, trial: object) -> dict:
            out: dict = {}
            for step, a, b in curve:
                out = {"a": a, "b": b}
                trial.report(step, **out)  # type: ignore[attr-defined]
            return out

        def end(kind: str, value: object) -> None:
            study.tell(ctx, value)

        judge = lambda s, m: ctx.report(s, **m)  # noqa: E731
        return pruning._Running(pruning._Stepper(fn, ctx.params, 0, judge), end)

    spent, completed = pruning._simulate(start, 3, MAX)
    states = [t.state.value for t in study.trials]
    return spent, completed, states.count("COMPLETE"), states.count("PRUNED")


@pytest.mark.parametrize("keep_front", [False, True])
def test_replay_decides_as_a_study_does(keep_front: bool) -> None:
    curves = _curves(14, seed=3)

    def make(m: int) -> hn.MultiObjectiveASHA:
        return hn.MultiObjectiveASHA(max_steps=m, grace=1, eta=3, keep_front=keep_front)

    replayed = pruning_replay.replay(curves, ("a", "b"), make, MAX, concurrency=3)
    live = _study_run(curves, make(MAX))
    assert replayed[0] == live[0]  # the same steps at the same times
    assert [(t, m) for t, m in replayed[1]] == [(t, dict(m)) for t, m in live[1]]
    assert replayed[2:] == live[2:]
    assert replayed[3] > 0  # something was pruned, so the comparison says something


def test_without_a_pruner_every_step_is_spent() -> None:
    curves = _curves(7, seed=1)
    spent, completed, n_complete, n_pruned = pruning_replay.replay(
        curves, ("a", "b"), None, MAX, concurrency=2
    )
    assert len(spent) == 7 * MAX
    assert (n_complete, n_pruned) == (7, 0)
    # two workers: trials end at 9, 9, 18, 18, 27, 27, 36
    assert [t for t, _ in completed] == [9.0, 9.0, 18.0, 18.0, 27.0, 27.0, 36.0]


def test_meets_requires_every_workload_and_the_mean() -> None:
    good = {"kept": 0.99, "saved": 0.85, "budgets": 1.0}
    assert pruning_replay.meets({"w1": good, "w2": good})
    weak = {**good, "kept": 0.94}  # one workload below 0.95 fails, whatever the mean
    assert not pruning_replay.meets({"w1": good, "w2": weak, "w3": good})
    low_mean = {"kept": 0.96, "saved": 0.75, "budgets": 1.0}  # every one passes, mean does not
    assert not pruning_replay.meets({"w1": low_mean, "w2": low_mean})


def test_top_k_runs_everyone_one_step_then_the_best_k_to_the_end() -> None:
    curves = _curves(10, seed=2)
    spent, completed, n_complete, n_pruned = pruning_replay.replay_top_k(
        curves, ("a", "b"), k=2, concurrency=4
    )
    assert len(spent) == 10 + 2 * (MAX - 1) and (n_complete, n_pruned) == (2, 8)
    firsts = np.array([c[0][1:] for c in curves])
    best = pruning._rank(firsts)[:2]
    assert sorted(m["a"] for _, m in completed) == sorted(curves[i][-1][1] for i in best)
    # step 1 of 10 trials on 4 workers ends at t=3; the two chosen go on from there
    assert [t for t, _ in completed] == [3.0 + MAX - 1] * 2


@pytest.mark.parametrize("rule", ["Optuna Median", "Optuna Hyperband", "ASHA", "Median"])
def test_single_metric_peers_prune_and_never_at_the_end(rule: str) -> None:
    curves = _curves(16, seed=4)
    make = pruning_replay.rules()[rule]
    spent, _completed, n_complete, n_pruned = pruning_replay.replay(
        curves, ("a", "b"), make, MAX, concurrency=2
    )
    assert n_pruned > 0 and n_complete + n_pruned == 16
    assert len(spent) < 16 * MAX
    again = [
        len(pruning_replay.replay(curves, ("a", "b"), make, MAX, concurrency=2)[0])
        for _ in range(4)
    ]
    assert again == [len(spent)] * 4  # repeats exactly (Optuna's brackets included)


def test_syne_tune_moasha_replays_on_the_recorded_curves() -> None:
    pytest.importorskip("syne_tune", reason="a benchmark peer: `make bench` installs it")
    r = pruning_replay.run("sgd-digits", "Syne Tune MOASHA", 0, 12, 3)
    assert r["pruned"] > 0 and r["complete"] >= 1 and r["complete"] + r["pruned"] == 12
    assert pruning_replay.run("sgd-digits", "Syne Tune MOASHA", 0, 12, 3)["steps"] == r["steps"]
