"""The pruning benchmark's virtual-clock schedule, its baselines and its scoring (the runs
on the real workloads are benchmarks)."""

from __future__ import annotations

import math

import pytest

import hpo_notebook as hn
from benchmarks import pruning
from benchmarks.pruning_workloads import WORKLOADS, Workload

MAX = 9


def _curve(params: dict, trial: object) -> dict:
    x, y = params["x"], params["y"]
    out: dict = {}
    for s in range(1, MAX + 1):
        out = {"a": (x - 0.3) ** 2 + 1.0 / s, "b": (y + x) / 2 + 0.5 / s}
        trial.report(s, **out)  # type: ignore[attr-defined]
    return out


TOY = Workload("toy", _curve, hn.Space(x=hn.Float(0, 1), y=hn.Float(0, 1)), ("a", "b"),
               (2.0, 2.0), MAX)  # fmt: skip


def _fixed(curves: list[list[float]]) -> tuple[list, list]:
    """Run trials with the given curves of "a" on the virtual clock, 2 workers."""
    todo = list(enumerate(curves))
    ended: list[tuple[int, str]] = []

    def fn(params: dict, trial: object) -> dict:
        for s, v in enumerate(params["curve"], start=1):
            trial.report(s, a=v)  # type: ignore[attr-defined]
        return {"a": params["curve"][-1]}

    def start() -> pruning._Running | None:
        if not todo:
            return None
        i, c = todo.pop(0)
        stepper = pruning._Stepper(fn, {"curve": c}, i, lambda s, m: None)
        return pruning._Running(stepper, lambda kind, v, i=i: ended.append((i, kind)))

    spent, completed = pruning._simulate(start, 2, max_steps=3)
    return spent, [(t, m["a"]) for t, m in completed] + ended


def test_trials_run_on_the_virtual_clock_one_unit_per_step():
    spent, completed = _fixed([[3, 2, 1], [5, 4], [9, 8, 7]])
    # worker 1: trial 0 (t 1-3) then trial 2 (t 4-6); worker 2: trial 1 (t 1-2), ends early
    # and is noticed one unit later (t 3), as when its function returns without a report
    assert spent == [1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert completed[:3] == [(3.0, 1), (3.0, 4), (6.0, 7)]


def test_a_pruned_trial_spends_the_step_it_was_stopped_at():
    judged: list[float] = []

    def judge(step: float, metrics: dict) -> None:
        judged.append(step)
        if step == 2:
            raise hn.Pruned("enough")

    made = []

    def start() -> pruning._Running | None:
        if made:
            return None
        made.append(1)
        return pruning._Running(pruning._Stepper(_curve, {"x": 0.1, "y": 0.1}, 0, judge),
                                lambda kind, v: made.append(kind))  # fmt: skip

    spent, completed = pruning._simulate(start, 4, MAX)
    assert judged == [1, 2] and spent == [1.0, 2.0]
    assert completed == [] and made[-1] == "pruned"


@pytest.mark.slow
def test_pruners_save_steps_on_the_same_schedule_and_runs_repeat():
    none = pruning.run_ours(TOY, "none", 0, 12, 3)
    assert none["steps"] == 12 * MAX and none["complete"] == 12 and none["pruned"] == 0
    moasha = pruning.run_ours(TOY, "MO-ASHA", 0, 12, 3)
    assert moasha["pruned"] > 0 and moasha["complete"] + moasha["pruned"] == 12
    assert moasha["steps"] < none["steps"]
    again = pruning.run_ours(TOY, "MO-ASHA", 0, 12, 3)
    assert (again["steps"], again["hv"]) == (moasha["steps"], moasha["hv"])
    # the anytime value is the hypervolume after each completion, at the steps spent by then
    assert moasha["anytime"][-1][1] == pytest.approx(moasha["hv"])
    assert [s for s, _ in moasha["anytime"]] == sorted(s for s, _ in moasha["anytime"])


@pytest.mark.slow
def test_optuna_peers_prune_on_the_first_objective():
    r = pruning.run_optuna(TOY, "Optuna Hyperband", 0, 12, 3)
    assert r["complete"] + r["pruned"] == 12 and r["steps"] < 12 * MAX
    # Hyperband assigns brackets from a hash of the study name: a fixed name makes runs repeat
    again = [pruning.run_optuna(TOY, "Optuna Hyperband", 0, 12, 3)["steps"] for _ in range(3)]
    assert again == [r["steps"]] * 3


def test_top_k_runs_every_trial_one_step_and_the_best_fifth_to_the_end():
    r = pruning.run_top_k(TOY, 0, 12, 3)
    k = 12 // 5
    assert (r["complete"], r["pruned"]) == (k, 12 - k)
    assert r["steps"] == 12 + k * (MAX - 1)
    assert len(r["front"]) == k


def test_compare_counts_budgets_where_the_pruned_run_is_ahead():
    base = {"steps": 100, "hv": 2.0, "anytime": [(5, 1.0), (100, 2.0)]}
    run = {"steps": 40, "hv": 1.5, "anytime": [(10, 0.5), (30, 1.5)]}
    c = pruning.compare(run, base)
    assert c["kept"] == 0.75 and c["saved"] == pytest.approx(0.6)
    # budgets 2, 4, ..., 40: level at 2 and 4 (nothing yet), behind from 6 to 28, ahead from 30
    assert c["budgets"] == pytest.approx((2 + 6) / 20)


def test_summary_reports_every_workload_and_the_mean():
    base = {"steps": 100, "hv": 2.0, "anytime": [(100, 2.0)]}
    rows = [
        {**base, "workload": w, "method": "none", "seed": 0} for w in ("sgd-digits", "cnn-digits")
    ] + [
        {"steps": 25, "hv": 1.9, "anytime": [(25, 1.9)], "workload": w, "method": "MO-ASHA",
         "seed": 0} for w in ("sgd-digits", "cnn-digits")
    ]  # fmt: skip
    table = pruning.summarize(rows)
    assert "| sgd-digits | 1 | 0.95 / 75% / 100% |" in table
    assert "| **mean** | | 0.95 / 75% / 100% |" in table
    # a method run on fewer workloads says so in its mean
    rows.append({"steps": 50, "hv": 1.0, "anytime": [(50, 1.0)], "workload": "sgd-digits",
                 "method": "ASHA", "seed": 0})  # fmt: skip
    table = pruning.summarize(rows)
    assert "| **mean** | | 0.95 / 75% / 100% | 0.50 / 50% / 100% (1 of 2) |" in table


@pytest.mark.slow
def test_every_workload_reports_both_objectives_at_every_step():
    class Trial:
        seed = 0

        def __init__(self) -> None:
            self.steps: list[float] = []

        def report(self, step: float, **m: float) -> None:
            assert set(m) >= set(w.objectives)
            self.steps.append(step)

    for w in WORKLOADS.values():
        if w.name in ("mlp-digits", "cnn-digits"):
            continue  # torch training: a few seconds each; the benchmark runs them
        t = Trial()
        params = w.space.sobol(1, seed=0)[0]
        out = w.fn(params, t)
        assert t.steps == list(range(1, w.max_steps + 1))
        assert all(math.isfinite(out[o]) for o in w.objectives), (w.name, out)


@pytest.mark.slow
def test_syne_tune_moasha_prunes_on_the_same_schedule_and_repeats():
    pytest.importorskip("syne_tune", reason="a benchmark peer: `make bench` installs it")
    r = pruning.run_syne_tune(TOY, 0, 12, 3)
    assert r["complete"] + r["pruned"] == 12 and r["pruned"] > 0
    assert r["steps"] < 12 * MAX
    again = pruning.run_syne_tune(TOY, 0, 12, 3)
    assert (again["steps"], again["hv"]) == (r["steps"], r["hv"])
