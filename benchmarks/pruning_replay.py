"""Pruning rules replayed on recorded learning curves: many rules, many seeds, in minutes.

``pruning_curves.py`` records the full curves of 100 configurations per workload. A replay
seed draws ``n_trials`` of them in a random order and runs them on ``concurrency`` virtual
workers, one time unit per step, with the pruner judging every report as a study does
(:class:`~hpo_notebook.pruners.base.ReportHistory`, ``pruner.decide``). Because the
configurations do not depend on the results (random search), the pruned run is the unpruned
run of the same seed cut short, and the comparison isolates the pruning rule: hypervolume
kept, steps saved, and budgets at or above the unpruned run cut to the same budget, the
measures of ``pruning.py``. What the replay leaves out is the searcher's reaction to pruning
(Bayesian optimization proposes from the pruned results); ``pruning.py`` measures that.

The rules: MO-ASHA over a grid of ``eta``, ``grace``, ``rungs`` and ``keep_front``; ASHA
and the median rule on the first objective; Optuna's Hyperband and median pruners on the
first objective and Syne Tune's MOASHA scheduler, fed the same reports; and "one step for
everyone, keep the top k".

Run::

    python -m benchmarks.pruning_replay --seeds 30 --jobs 2

Prints one table (rules saving >= 70% on every workload first, then by the worst
workload's hypervolume kept) and writes ``docs/results/pruning_replay.md`` and the per-run
rows to ``pruning_replay.jsonl`` (not committed: 3 MB, and the replay repeats exactly).
"""

from __future__ import annotations

import argparse
import functools
import heapq
import itertools
import json
import math
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.pruning import RESULTS, _row, compare, optuna_pruner
from benchmarks.pruning_curves import load

#: Targets of issue 11: on every workload and on average over the workloads.
EVERY = {"kept": 0.95, "saved": 0.70, "budgets": 0.95}
MEAN = {"kept": 0.98, "saved": 0.80}


def _moasha(eta: float = 3, grace: float = 1, rungs: int | None = None,
            keep_front: bool = False, min_share: float = 0.0) -> Callable[[int], Any]:  # fmt: skip
    import hpo_notebook as hn

    def make(max_steps: int) -> Any:
        return hn.MultiObjectiveASHA(
            max_steps=max_steps, grace=grace, eta=eta, rungs=rungs, keep_front=keep_front,
            min_share=min_share,
        )  # fmt: skip

    return make


class _OptunaRule:
    """An Optuna pruner on the first objective, behind our pruner interface: each replayed
    trial is an Optuna trial that reports the same values (the sampler's proposals are not
    used: the configurations are the recorded ones)."""

    def __init__(self, kind: str, max_steps: int) -> None:
        self.kind, self.max_steps = kind, max_steps

    def bind(self, objectives: Any) -> None:
        self.metric = objectives.names[0]

    def prepare(self, history: Any) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        pruner = optuna_pruner(f"Optuna {self.kind.title()}", self.max_steps)
        sampler = optuna.samplers.RandomSampler(seed=0)
        # Hyperband assigns brackets from a hash of the study name: a fixed one repeats
        self.study = optuna.create_study(
            study_name="replay", direction="minimize", pruner=pruner, sampler=sampler
        )
        self.trials: dict[int, Any] = {}

    def _trial(self, trial: int) -> Any:
        if trial not in self.trials:
            self.trials[trial] = self.study.ask()
        return self.trials[trial]

    def decide(self, trial: int, step: float, metrics: Any, history: Any) -> Any:
        import optuna

        from hpo_notebook.pruners.base import CONTINUE, Decision

        ot = self._trial(trial)
        ot.report(metrics[self.metric], int(step))
        if ot.should_prune():
            self.study.tell(ot, state=optuna.trial.TrialState.PRUNED)
            return Decision(True, f"Optuna pruned at {step}")
        return CONTINUE

    def finish(self, trial: int, metrics: Any) -> None:
        ot = self._trial(trial)
        ot.report(metrics[self.metric], self.max_steps)
        self.study.tell(ot, metrics[self.metric])


class _SyneTuneRule:
    """Syne Tune's MOASHA scheduler on every objective, behind our pruner interface (its
    searcher is not used: the configurations are the recorded ones)."""

    def __init__(self, workload: str, max_steps: int) -> None:
        self.workload, self.max_steps = workload, max_steps

    def bind(self, objectives: Any) -> None:
        self.names = list(objectives.names)

    def prepare(self, history: Any) -> None:
        from syne_tune.optimizer.schedulers.multiobjective.moasha import MOASHA

        from benchmarks.pruning import _syne_tune_space
        from benchmarks.pruning_workloads import WORKLOADS

        space = _syne_tune_space(WORKLOADS[self.workload].space)
        self.scheduler = MOASHA(
            space, metrics=self.names, do_minimize=True, time_attr="step",
            max_t=self.max_steps, grace_period=1, reduction_factor=3, random_seed=0,
        )  # fmt: skip
        self.trials: dict[int, Any] = {}

    def _trial(self, trial: int) -> Any:
        import datetime

        from syne_tune.backend.trial_status import Trial

        if trial not in self.trials:
            t = Trial(trial_id=trial, config={}, creation_time=datetime.datetime.now())
            self.scheduler.on_trial_add(t)
            self.trials[trial] = t
        return self.trials[trial]

    def decide(self, trial: int, step: float, metrics: Any, history: Any) -> Any:
        from syne_tune.optimizer.scheduler import SchedulerDecision

        from hpo_notebook.pruners.base import CONTINUE, Decision

        t = self._trial(trial)
        if self.scheduler.on_trial_result(t, {"step": step, **metrics}) == SchedulerDecision.STOP:
            self.scheduler.on_trial_remove(t)
            return Decision(True, f"Syne Tune stopped at {step}")
        return CONTINUE

    def finish(self, trial: int, metrics: Any) -> None:
        self.scheduler.on_trial_complete(self._trial(trial), {"step": self.max_steps, **metrics})


def _ours(kind: str) -> Callable[[int], Any]:
    import hpo_notebook as hn

    def make(max_steps: int) -> Any:
        if kind == "asha":
            return hn.ASHA(max_steps=max_steps)
        return hn.Median(warmup=3, min_trials=5, max_steps=max_steps)

    return make


#: Rules that are not MO-ASHA settings: single-metric pruners (ours and Optuna's, on the
#: first objective), Syne Tune's MOASHA and "one step for everyone, keep the top k".
PEERS = ("ASHA", "Median", "Optuna Hyperband", "Optuna Median", "Syne Tune MOASHA",
         "top-k after 1 step")  # fmt: skip


def _name(eta: float, grace: float, rungs: int | None, keep_front: bool) -> str:
    return f"MO-ASHA eta {eta:g} grace {grace:g} rungs {rungs or 'all'}" + (
        " keep front" if keep_front else ""
    )


@functools.cache
def rules() -> dict[str, Callable[[int], Any] | None]:
    """The rules replayed: no pruning, then MO-ASHA over a grid of its settings, and with
    ``keep_front`` larger reduction factors (the front then decides most promotions)."""
    out: dict[str, Callable[[int], Any] | None] = {"none": None}
    grid = itertools.product((False, True), (2, 3, 4), (1, 2, 3), (None, 1, 2, 3))
    wide = itertools.product((True,), (6, 9, 1000), (1,), (None,))
    for keep_front, eta, grace, rungs in (*grid, *wide):
        out[_name(eta, grace, rungs, keep_front)] = _moasha(eta, grace, rungs, keep_front)
    for share in (0.02, 0.04):  # keep_front only for trials that add hypervolume
        out[_name(3, 1, None, True) + f" min share {share:g}"] = _moasha(3, 1, None, True, share)
    out["ASHA"], out["Median"] = _ours("asha"), _ours("median")
    out["Optuna Hyperband"] = lambda m: _OptunaRule("hyperband", m)
    out["Optuna Median"] = lambda m: _OptunaRule("median", m)
    out["Syne Tune MOASHA"] = None  # made per workload in run()
    out["top-k after 1 step"] = None  # replay_top_k
    return out


def replay(
    curves: list[list[list[float]]],
    objectives: tuple[str, ...],
    make_pruner: Callable[[int], Any] | None,
    max_steps: int,
    concurrency: int,
) -> tuple[list[float], list[tuple[float, dict[str, float]]], int, int]:
    """Run ``curves`` (in order, each ``[[step, obj1, obj2], ...]``) on ``concurrency``
    virtual workers under the pruner. Returns the time of every step spent, ``(time,
    metrics)`` of every completed trial, and the numbers completed and pruned."""
    from hpo_notebook.objectives import Objectives
    from hpo_notebook.reports import ReportHistory

    objs = Objectives.parse({o: "min" for o in objectives})
    pruner = make_pruner(max_steps) if make_pruner is not None else None
    history = ReportHistory(objs)
    if pruner is not None:
        pruner.bind(objs)
        pruner.prepare(history)
    heap: list[tuple[float, int, int]] = []  # (time of the next report, trial, its index)
    spent: list[float] = []
    completed: list[tuple[float, dict[str, float]]] = []
    n_pruned = 0
    started = 0

    def fill(now: float) -> None:
        nonlocal started
        while len(heap) < concurrency and started < len(curves):
            heapq.heappush(heap, (now + 1.0, started, 0))
            started += 1

    fill(0.0)
    while heap:
        now, trial, i = heapq.heappop(heap)
        step, *values = curves[trial][i]
        metrics = dict(zip(objectives, values))
        spent.append(now)
        history.add(trial, step, metrics)
        if i + 1 == len(curves[trial]):
            completed.append((now, metrics))
            if hasattr(pruner, "finish"):
                pruner.finish(trial, metrics)
        elif pruner is not None and pruner.decide(trial, step, metrics, history).prune:
            n_pruned += 1
        else:
            heapq.heappush(heap, (now + 1.0, trial, i + 1))
            continue
        fill(now)
    return spent, completed, len(completed), n_pruned


def replay_top_k(
    curves: list[list[list[float]]], objectives: tuple[str, ...], k: int, concurrency: int
) -> tuple[list[float], list[tuple[float, dict[str, float]]], int, int]:
    """ "One step for everyone, keep the top k": every trial runs its first step, then the
    best ``k`` by Pareto rank and crowding (as ``pruning.run_top_k``) run to the end."""
    from benchmarks.pruning import _rank

    n = len(curves)
    spent = [float(j // concurrency + 1) for j in range(n)]
    first = np.array([c[0][1:] for c in curves], dtype=float)
    chosen = _rank(first)[:k].tolist()
    t0 = float(math.ceil(n / concurrency))
    free = [t0] * concurrency
    completed = []
    for trial in chosen:
        start = heapq.heappop(free)
        rest = len(curves[trial]) - 1
        spent.extend(start + j for j in range(1, rest + 1))
        completed.append((start + rest, dict(zip(objectives, curves[trial][-1][1:]))))
        heapq.heappush(free, start + rest)
    return spent, completed, len(chosen), n - len(chosen)


def run(workload: str, rule: str, seed: int, n_trials: int, concurrency: int,
        recorded: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """One replay: ``n_trials`` recorded configurations drawn by ``seed``, under ``rule``."""
    from benchmarks.pruning_workloads import WORKLOADS

    w = WORKLOADS[workload]
    recorded = recorded if recorded is not None else load(workload)
    pick = np.random.default_rng(seed).choice(len(recorded), n_trials, replace=False)
    curves = [recorded[i]["curve"] for i in pick]
    if rule == "top-k after 1 step":
        spent, completed, n_complete, n_pruned = replay_top_k(
            curves, w.objectives, n_trials // 5, concurrency
        )
    else:
        make = rules()[rule]
        if rule == "Syne Tune MOASHA":
            make = lambda m: _SyneTuneRule(workload, m)  # noqa: E731
        spent, completed, n_complete, n_pruned = replay(
            curves, w.objectives, make, w.max_steps, concurrency
        )
    row = _row(w, spent, completed, n_complete, n_pruned)
    row.update(workload=workload, method=rule, seed=seed, n_trials=n_trials,
               concurrency=concurrency)  # fmt: skip
    return row


def _seeds(job: tuple[str, str, int, int, int]) -> list[dict[str, Any]]:
    workload, rule, seeds, n_trials, concurrency = job
    recorded = load(workload)
    return [run(workload, rule, s, n_trials, concurrency, recorded) for s in range(seeds)]


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    """One line per replay: its scores against the unpruned run of its seed, steps and
    hypervolume (the curves and fronts are left out: the replay recomputes them)."""
    base = {(r["workload"], r["seed"]): r for r in rows if r["method"] == "none"}
    keep = ("workload", "method", "seed", "n_trials", "concurrency", "steps", "hv", "complete",
            "pruned")  # fmt: skip
    with path.open("w") as f:
        for r in rows:
            out = {k: r[k] for k in keep}
            out.update(compare(r, base[(r["workload"], r["seed"])]))
            f.write(json.dumps(out) + "\n")


def score(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per rule and workload, the mean over seeds of :func:`~benchmarks.pruning.compare`."""
    base = {(r["workload"], r["seed"]): r for r in rows if r["method"] == "none"}
    acc: dict[str, dict[str, list[dict[str, float]]]] = {}
    for r in rows:
        if r["method"] != "none":
            c = compare(r, base[(r["workload"], r["seed"])])
            acc.setdefault(r["method"], {}).setdefault(r["workload"], []).append(c)
    return {
        m: {wl: {k: statistics.mean(c[k] for c in cs) for k in cs[0]} for wl, cs in per.items()}
        for m, per in acc.items()
    }


def meets(per_workload: dict[str, dict[str, float]]) -> bool:
    """Whether a rule meets the targets on every workload and on average."""
    every = all(c[k] >= v for c in per_workload.values() for k, v in EVERY.items())
    mean = all(statistics.mean(c[k] for c in per_workload.values()) >= v for k, v in MEAN.items())
    return every and mean


def table(scores: dict[str, dict[str, dict[str, float]]], workloads: list[str]) -> str:
    """Kept / saved / budgets per workload, the worst workload's kept, the means, and whether
    the targets are met; rules sorted by worst-workload kept among those saving >= 70%."""
    head = "| rule | " + " | ".join(workloads) + " | worst kept | mean | targets |"
    out = [head, "|---|" + "---|" * (len(workloads) + 3)]

    def key(m: str) -> tuple[bool, float]:
        per = scores[m]
        saves = min(c["saved"] for c in per.values()) >= EVERY["saved"]
        return (not saves, -min(c["kept"] for c in per.values()))

    for m in sorted(scores, key=key):
        per = scores[m]
        cells = [
            f"{per[w]['kept']:.2f} / {per[w]['saved']:.0%} / {per[w]['budgets']:.0%}"
            if w in per else ""
            for w in workloads
        ]  # fmt: skip
        mean = {k: statistics.mean(c[k] for c in per.values()) for k in EVERY}
        out.append(
            f"| {m} | " + " | ".join(cells) + f" | {min(c['kept'] for c in per.values()):.2f} | "
            f"{mean['kept']:.2f} / {mean['saved']:.0%} / {mean['budgets']:.0%} | "
            + ("**met**" if meets(per) else "")
            + " |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.pruning_workloads import WORKLOADS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    ap.add_argument("--rules", nargs="+", default=None, help="default: every rule")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes")
    ap.add_argument("--out", default="pruning_replay")
    args = ap.parse_args(argv)
    known = rules()
    names = args.rules or list(known)
    bad = [r for r in names if r not in known] + [w for w in args.workloads if w not in WORKLOADS]
    if bad:
        ap.error(f"unknown rules or workloads {bad}; rules: {list(known)}")
    names = ["none", *[n for n in names if n != "none"]]
    t0 = time.time()
    rows = []
    jobs = [(wl, rule, args.seeds, args.trials, args.concurrency)
            for wl in args.workloads for rule in names]  # fmt: skip
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        for i, part in enumerate(pool.imap_unordered(_seeds, jobs)):
            rows.extend(part)
            if (i + 1) % len(names) == 0:
                print(f"{i + 1} of {len(jobs)} replayed ({time.time() - t0:.0f} s)", flush=True)
    write_rows(rows, RESULTS / f"{args.out}.jsonl")
    command = sys.argv[1:] if argv is None else argv
    text = table(score(rows), args.workloads)
    print(text)
    (RESULTS / f"{args.out}.md").write_text(
        "Hypervolume kept / steps saved / budgets at or above the unpruned run, replayed on "
        f"recorded curves ({args.seeds} seeds of {args.trials} trials, concurrency "
        f"{args.concurrency}; mean over seeds):\n\n" + text + "\n\n"
        f"Command: `python -m benchmarks.pruning_replay {' '.join(command)}`, "
        f"{time.strftime('%Y-%m-%d')}.\n"
    )


if __name__ == "__main__":
    main()
