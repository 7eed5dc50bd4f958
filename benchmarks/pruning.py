"""Pruning on a workload suite: steps saved and hypervolume kept, every method, every workload.

The workloads (``pruning_workloads.py``) are real training loops. They run in this process on
a virtual clock: each trial function runs in its own thread and is let through one report at
a time, in the order the reports would arrive on ``concurrency`` workers if every step took
one time unit. A report is judged when it arrives (the study's ask/tell channel), a free
worker gets the next proposal at once (running trials pending), and a trial stopped at a
report has spent that step. So every method sees the same asynchronous schedule, runs are
reproducible, and only the training and the proposals cost real time. (Issue 12's
simulated cluster will do this for any study; this is the benchmark's own, narrower one.)

Methods: ``none`` (no pruning, the reference), our pruners (MO-ASHA with all rungs or two,
plain (``keep_front=False``) unless the name says "keep front" (the default since the
replay, ``pruning_replay.py``), with pruned trials in the model as their last report, as a
curve (``pruned_in_model="fidelity"``) or ignored; ASHA and the median rule on
the first objective), Optuna's TPE on the first objective with its Hyperband and median
pruners (Optuna cannot prune a multi-objective study), Syne Tune's MOASHA with its own
searcher (random sampling; ``pip install --no-deps syne-tune dill sortedcontainers``, as
``make bench`` does), and "one step for everyone, keep the top k": ``n_trials`` Sobol points
run one step each, the best ``n_trials // 5`` by Pareto rank and crowding run to the end.

Per run: steps spent, the hypervolume of the completed trials, and the anytime value (the
hypervolume after each completion against the steps spent by then). The summary compares
each run with the unpruned run of the same workload and seed: hypervolume kept, steps saved,
and at how many of 20 budgets (up to the run's own total) its hypervolume is at least the
unpruned run's cut to that budget.

Run::

    python -m benchmarks.pruning --seeds 5 --jobs 2

Results go to ``docs/results/pruning.jsonl`` (one line per run; ``--resume`` skips runs
that are there), ``pruning.md`` and ``pruning_anytime.png``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import multiprocessing as mp
import queue
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
N_BUDGETS = 20

OURS = {
    "none": {},
    "MO-ASHA": {"pruner": "moasha"},
    "MO-ASHA, 2 rungs": {"pruner": "moasha", "rungs": 2},
    "MO-ASHA, 2 rungs, pruned ignored": {"pruner": "moasha", "rungs": 2, "model": "ignore"},
    "MO-ASHA, 2 rungs, curve model": {"pruner": "moasha", "rungs": 2, "model": "fidelity"},
    "MO-ASHA, curve model": {"pruner": "moasha", "model": "fidelity"},
    "MO-ASHA, keep front": {"pruner": "moasha", "keep_front": True},
    "MO-ASHA, keep front, curve model": {
        "pruner": "moasha",
        "keep_front": True,
        "model": "fidelity",
    },
    "MO-ASHA, keep front, pruned ignored": {
        "pruner": "moasha",
        "keep_front": True,
        "model": "ignore",
    },
    "MO-ASHA, 2 rungs, keep front": {"pruner": "moasha", "rungs": 2, "keep_front": True},
    "MO-ASHA, keep front, min share 2%": {
        "pruner": "moasha",
        "keep_front": True,
        "min_share": 0.02,
    },
    "MO-ASHA, 2 rungs, eta 2": {"pruner": "moasha", "rungs": 2, "eta": 2},
    "ASHA": {"pruner": "asha"},
    "Median": {"pruner": "median"},
}
PEERS = ("Optuna Hyperband", "Optuna Median", "Syne Tune MOASHA", "top-k after 1 step")
METHODS = (*OURS, *PEERS)


class _Stop(BaseException):
    """Raised inside a parked trial's thread to end it (top-k: not among the k)."""


class _Stepper:
    """Runs ``fn(params, self)`` in its own thread, one report per :meth:`advance`.

    ``report`` passes the report to ``judge`` (which raises ``hn.Pruned`` to stop the trial,
    as a study's trial context does), then blocks until the next ``advance``.
    """

    def __init__(
        self, fn: Callable[..., Any], params: dict[str, Any], seed: int,
        judge: Callable[[float, dict[str, float]], None],
    ) -> None:  # fmt: skip
        self.params, self.seed, self._fn, self._judge = params, seed, fn, judge
        self.last: dict[str, float] = {}
        self._go = threading.Semaphore(0)
        self._out: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = False
        threading.Thread(target=self._main, daemon=True).start()

    def _main(self) -> None:
        import hpo_notebook as hn

        self._go.acquire()
        try:
            self._out.put(("ok", self._fn(self.params, self)))
        except (hn.Pruned, _Stop) as e:
            self._out.put(("pruned", e))
        except Exception as e:  # a failing trial is a result, not a crash of the benchmark
            self._out.put(("failed", e))

    def report(self, step: float, **metrics: float) -> None:
        if self._stop:
            raise _Stop
        self.last = metrics
        self._judge(step, metrics)
        self._out.put(("report", step))
        self._go.acquire()
        if self._stop:
            raise _Stop

    def advance(self) -> tuple[str, Any]:
        """Let the trial run to its next report (or its end) and say what happened."""
        self._go.release()
        return self._out.get()

    def kill(self) -> None:
        self._stop = True
        self.advance()


class _Running:
    def __init__(self, stepper: _Stepper, end: Callable[[str, Any], None]) -> None:
        self.stepper, self.end = stepper, end


def _simulate(
    start: Callable[[], _Running | None],
    concurrency: int,
    max_steps: int,
    on_report: Callable[[_Running, float], bool] = lambda r, s: True,
) -> tuple[list[float], list[tuple[float, dict[str, float]]]]:
    """Run trials from ``start`` on ``concurrency`` virtual workers until it returns None
    and none runs. ``on_report`` returning False parks a trial (its worker is freed; a later
    ``start`` may hand the same :class:`_Running` back). Returns the virtual time of every
    step spent and ``(time, metrics)`` of every completed trial."""
    heap: list[tuple[float, int, _Running]] = []
    spent: list[float] = []
    completed: list[tuple[float, dict[str, float]]] = []
    seq = 0

    def fill(now: float) -> None:
        nonlocal seq
        while len(heap) < concurrency:
            r = start()
            if r is None:
                return
            seq += 1
            heapq.heappush(heap, (now + 1.0, seq, r))

    fill(0.0)
    while heap:
        now, _, r = heapq.heappop(heap)
        kind, value = r.stepper.advance()
        if kind == "report":
            spent.append(now)
            if value >= max_steps:
                kind, value = r.stepper.advance()
            elif on_report(r, value):
                seq += 1
                heapq.heappush(heap, (now + 1.0, seq, r))
                continue
            else:
                fill(now)
                continue
        elif kind == "pruned":
            spent.append(now)  # stopped at a report: that step was computed
        if kind == "ok":
            completed.append((now, value))
        r.end(kind, value)
        fill(now)
    return spent, completed


def _hv(points: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    from hpo_notebook.pareto import hypervolume

    if not points:
        return 0.0
    return float(hypervolume(-np.array(points), [-v for v in ref]))


def _rank(points: np.ndarray) -> np.ndarray:
    """Order of ``points`` (minimized) by non-dominated front, then crowding distance."""
    from hpo_notebook.pruners import _rungs

    return np.asarray(_rungs.multi_objective_order(-points))


def run_ours(workload: Any, method: str, seed: int, n_trials: int, concurrency: int) -> dict:
    import hpo_notebook as hn

    cfg = OURS[method]
    w, objs = workload, workload.objectives
    pruner: Any = None
    if cfg.get("pruner") == "moasha":
        pruner = hn.MultiObjectiveASHA(
            max_steps=w.max_steps,
            grace=1,
            eta=cfg.get("eta", 3),
            rungs=cfg.get("rungs"),
            keep_front=cfg.get("keep_front", False),
            min_share=cfg.get("min_share", 0.0),
        )
    elif cfg.get("pruner") == "asha":
        pruner = hn.ASHA(max_steps=w.max_steps, grace=1, eta=3, metric=objs[0])
    elif cfg.get("pruner") == "median":
        pruner = hn.Median(warmup=3, min_trials=5, metric=objs[0], max_steps=w.max_steps)
    study = hn.Study(
        None,
        w.space,
        objectives={o: hn.Objective("min", threshold=r) for o, r in zip(objs, w.ref)},
        seed=seed,
        pruner=pruner,
        pruned_in_model=cfg.get("model", "last"),
    )
    asked = 0

    def start() -> _Running | None:
        nonlocal asked
        if asked >= n_trials:
            return None
        asked += 1
        ctx = study.ask()

        def judge(step: float, metrics: dict[str, float]) -> None:
            ctx.report(step, **metrics)

        stepper = _Stepper(w.fn, ctx.params, ctx.seed, judge)

        def end(kind: str, value: Any) -> None:
            study.tell(ctx, value if kind in ("ok", "pruned") else RuntimeError(str(value)))

        return _Running(stepper, end)

    spent, completed = _simulate(start, concurrency, w.max_steps)
    states = [t.state.value for t in study.trials]
    row = _row(w, spent, completed, states.count("COMPLETE"), states.count("PRUNED"))
    # is the early metric a good guide? (on every trial when nothing was pruned)
    steps = [s for s in (1, 3, 9) if s < w.max_steps]
    row["rank_correlations"] = study.rank_correlations(steps).to_dict("records")
    return row


def optuna_pruner(method: str, max_steps: int) -> Any:
    """Optuna's pruner for ``method`` ("Optuna Hyperband" or "Optuna Median"), as both pruning
    harnesses configure it."""
    import optuna

    if method == "Optuna Hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_steps, reduction_factor=3
        )
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)


def run_optuna(workload: Any, method: str, seed: int, n_trials: int, concurrency: int) -> dict:
    import optuna

    import hpo_notebook as hn
    from benchmarks.suite_methods import optuna_distributions

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    w = workload
    pruner = optuna_pruner(method, w.max_steps)
    study = optuna.create_study(  # Hyperband's brackets hash the name: a fixed one repeats
        study_name=f"pruning-{w.name}-{seed}",
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner,
    )
    dists = optuna_distributions(w.space)
    asked = 0

    def start() -> _Running | None:
        nonlocal asked
        if asked >= n_trials:
            return None
        asked += 1
        ot = study.ask(dists)

        def judge(step: float, metrics: dict[str, float]) -> None:
            ot.report(metrics[w.objectives[0]], int(step))
            if step < w.max_steps and ot.should_prune():
                raise hn.Pruned(f"pruned at {step}")

        stepper = _Stepper(w.fn, dict(ot.params), seed * 100_003 + ot.number, judge)

        def end(kind: str, value: Any) -> None:
            if kind == "ok":
                study.tell(ot, value[w.objectives[0]])
            else:
                study.tell(ot, state=optuna.trial.TrialState.PRUNED if kind == "pruned"
                           else optuna.trial.TrialState.FAIL)  # fmt: skip

        return _Running(stepper, end)

    spent, completed = _simulate(start, concurrency, w.max_steps)
    states = [t.state.name for t in study.trials]
    return _row(w, spent, completed, states.count("COMPLETE"), states.count("PRUNED"))


def _syne_tune_space(space: Any) -> dict[str, Any]:
    from syne_tune import config_space as cs

    import hpo_notebook as hn

    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, hn.Float):
            out[name] = (cs.loguniform if p.log else cs.uniform)(p.low, p.high)
        elif isinstance(p, hn.Int):
            out[name] = (cs.lograndint if p.log else cs.randint)(p.low, p.high)
        else:
            out[name] = cs.choice(list(p.options))
    return out


def run_syne_tune(workload: Any, seed: int, n_trials: int, concurrency: int) -> dict:
    """Syne Tune's MOASHA (its own searcher: random sampling), on every objective."""
    import datetime

    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers.multiobjective.moasha import MOASHA

    import hpo_notebook as hn

    w = workload
    np.random.seed(seed)  # MOASHA samples configurations and brackets from numpy's global RNG
    scheduler = MOASHA(
        _syne_tune_space(w.space), metrics=list(w.objectives), do_minimize=True,
        time_attr="step", max_t=w.max_steps, grace_period=1, reduction_factor=3,
        random_seed=seed,
    )  # fmt: skip
    asked = 0
    ends = {"ok": 0, "pruned": 0, "failed": 0}

    def start() -> _Running | None:
        nonlocal asked
        if asked >= n_trials:
            return None
        asked += 1
        config = scheduler.suggest().config
        trial = Trial(trial_id=asked, config=config, creation_time=datetime.datetime.now())
        scheduler.on_trial_add(trial)

        def judge(step: float, metrics: dict[str, float]) -> None:
            if step >= w.max_steps:
                return  # the end: on_trial_complete below
            decision = scheduler.on_trial_result(trial, {"step": step, **metrics})
            if decision == SchedulerDecision.STOP:
                scheduler.on_trial_remove(trial)
                raise hn.Pruned(f"stopped at {step}")

        def end(kind: str, value: Any) -> None:
            ends[kind] = ends.get(kind, 0) + 1
            if kind == "ok":
                scheduler.on_trial_complete(trial, {"step": w.max_steps, **value})

        seed_t = seed * 100_003 + asked
        return _Running(_Stepper(w.fn, dict(config), seed_t, judge), end)

    spent, completed = _simulate(start, concurrency, w.max_steps)
    return _row(w, spent, completed, ends["ok"], ends["pruned"])


def run_top_k(workload: Any, seed: int, n_trials: int, concurrency: int) -> dict:
    """Every trial one step, then the best ``n_trials // 5`` (Pareto rank, crowding) on."""
    w = workload
    k = max(1, n_trials // 5)
    configs = w.space.sobol(n_trials, seed=seed)
    parked: list[_Running] = []
    chosen: list[_Running] | None = None
    started = 0
    ends = {"ok": 0, "pruned": 0}

    def end(kind: str, value: Any) -> None:
        ends[kind] = ends.get(kind, 0) + 1

    def start() -> _Running | None:
        nonlocal started, chosen
        if started < n_trials:
            started += 1
            return _Running(_Stepper(w.fn, configs[started - 1], seed * 100_003 + started,
                                     lambda s, m: None), end)  # fmt: skip
        if chosen is None and len(parked) == n_trials:
            Y = np.array([[r.stepper.last[o] for o in w.objectives] for r in parked])
            order = _rank(Y)
            chosen = [parked[i] for i in order[:k]]
            for i in order[k:]:
                parked[i].stepper.kill()
                ends["pruned"] += 1
        if chosen:
            return chosen.pop(0)
        return None

    def on_report(r: _Running, step: float) -> bool:
        if chosen is None and step == 1:
            parked.append(r)
            return False
        return True

    spent, completed = _simulate(start, concurrency, w.max_steps, on_report)
    return _row(w, spent, completed, ends["ok"], ends["pruned"])


def _row(
    w: Any, spent: list[float], completed: list[tuple[float, dict[str, float]]],
    n_complete: int, n_pruned: int,
) -> dict[str, Any]:  # fmt: skip
    spent = sorted(spent)
    points: list[tuple[float, ...]] = []
    anytime = []
    for t, m in sorted(completed, key=lambda c: c[0]):
        points.append(tuple(float(m[o]) for o in w.objectives))
        anytime.append((int(np.searchsorted(spent, t, side="right")), _hv(points, w.ref)))
    return {
        "steps": len(spent),
        "hv": _hv(points, w.ref),
        "complete": n_complete,
        "pruned": n_pruned,
        "anytime": anytime,
        "front": points,
    }


def _one(job: tuple[str, str, int, int, int]) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    from benchmarks.pruning_workloads import WORKLOADS

    workload, method, seed, n_trials, concurrency = job
    warnings.filterwarnings("ignore")
    w = WORKLOADS[workload]
    t0 = time.time()
    with threadpool_limits(1):
        if method in OURS:
            r = run_ours(w, method, seed, n_trials, concurrency)
        elif method.startswith("Optuna"):
            r = run_optuna(w, method, seed, n_trials, concurrency)
        elif method == "Syne Tune MOASHA":
            r = run_syne_tune(w, seed, n_trials, concurrency)
        else:
            r = run_top_k(w, seed, n_trials, concurrency)
    r.update(workload=workload, method=method, seed=seed, n_trials=n_trials,
             concurrency=concurrency, wall_s=time.time() - t0)  # fmt: skip
    return r


def _at_budget(anytime: list, budget: float) -> float:
    hv = 0.0
    for spent, value in anytime:
        if spent <= budget:
            hv = value
    return hv


def compare(run: dict[str, Any], base: dict[str, Any]) -> dict[str, float]:
    """``run`` against the unpruned run ``base``: hypervolume kept, steps saved, and the
    share of :data:`N_BUDGETS` budgets (up to ``run``'s total) where it is at least ``base``
    cut to that budget."""
    grid = np.linspace(0, run["steps"], N_BUDGETS + 1)[1:]
    wins = [_at_budget(run["anytime"], g) >= _at_budget(base["anytime"], g) - 1e-12 for g in grid]
    return {
        "kept": run["hv"] / base["hv"] if base["hv"] > 0 else float("nan"),
        "saved": 1 - run["steps"] / base["steps"],
        "budgets": sum(wins) / len(wins),
    }


def summarize(rows: list[dict[str, Any]]) -> str:
    """Per workload and method (means over seeds): hypervolume kept, steps saved, budgets at
    or above the unpruned run; then the means over workloads."""
    from benchmarks.pruning_workloads import WORKLOADS

    base = {(r["workload"], r["seed"]): r for r in rows if r["method"] == "none"}
    workloads = [w for w in WORKLOADS if any(r["workload"] == w for r in rows)]
    methods = [m for m in METHODS if m != "none" and any(r["method"] == m for r in rows)]
    out = [
        "Hypervolume kept / steps saved / budgets at or above the unpruned run cut to the "
        "same budget (mean over seeds; each run against the unpruned run of its seed):",
        "",
        "| workload | seeds | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    per_method: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for wl in workloads:
        cells = []
        seeds = sorted({r["seed"] for r in rows if r["workload"] == wl and r["method"] == "none"})
        for m in methods:
            cs = [
                compare(r, base[(wl, r["seed"])])
                for r in rows
                if r["workload"] == wl and r["method"] == m and (wl, r["seed"]) in base
            ]
            if not cs:
                cells.append("")
                continue
            mean = {k: statistics.mean(c[k] for c in cs) for k in cs[0]}
            per_method[m].append(mean)
            cells.append(f"{mean['kept']:.2f} / {mean['saved']:.0%} / {mean['budgets']:.0%}")
        out.append(f"| {wl} | {len(seeds)} | " + " | ".join(cells) + " |")
    means = []
    for m in methods:
        ms = per_method[m]
        if not ms:
            means.append("")
            continue
        fewer = f" ({len(ms)} of {len(workloads)})" if len(ms) < len(workloads) else ""
        means.append(
            f"{statistics.mean(c['kept'] for c in ms):.2f} / "
            f"{statistics.mean(c['saved'] for c in ms):.0%} / "
            f"{statistics.mean(c['budgets'] for c in ms):.0%}{fewer}"
        )
    out.append("| **mean** | | " + " | ".join(means) + " |")
    return "\n".join(out)


def correlations(rows: list[dict[str, Any]]) -> str:
    """Is the early metric a good guide? The rank correlation between each trial's first
    objective at steps 1, 3 and 9 and at the end, over every trial of the unpruned runs (mean
    over seeds)."""
    from benchmarks.pruning_workloads import WORKLOADS

    out = [
        "Rank correlation (Spearman) of the first objective at a step with its final value, "
        "every trial of the unpruned runs (mean over seeds):",
        "",
        "| workload | objective | step 1 | step 3 | step 9 |",
        "|---|---|---|---|---|",
    ]
    for wl, w in WORKLOADS.items():
        rs = [r for r in rows if r["workload"] == wl and r["method"] == "none"]
        cells = []
        for step in (1, 3, 9):
            vals = [
                c["spearman"]
                for r in rs
                for c in r.get("rank_correlations", [])
                if c["step"] == step and c["metric"] == w.objectives[0]
            ]
            cells.append(f"{statistics.mean(vals):.2f}" if vals else "")
        if any(cells):
            out.append(f"| {wl} | {w.objectives[0]} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """The anytime plot: hypervolume of the completed trials against steps spent, one panel
    per workload, one line per method (mean over seeds)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from benchmarks.pruning_workloads import WORKLOADS

    workloads = [w for w in WORKLOADS if any(r["workload"] == w for r in rows)]
    fig = Figure(figsize=(4.2 * len(workloads), 3.8))
    FigureCanvasAgg(fig)
    cmap = matplotlib.colormaps["tab20"]
    for i, wl in enumerate(workloads):
        ax = fig.add_subplot(1, len(workloads), i + 1)
        wrows = [r for r in rows if r["workload"] == wl]
        grid = np.linspace(0, max(r["steps"] for r in wrows), 200)
        for k, m in enumerate(METHODS):  # one colour per method in every panel
            rs = [r for r in wrows if r["method"] == m]
            if rs:
                hv = np.mean([[_at_budget(r["anytime"], g) for g in grid] for r in rs], axis=0)
                color = "black" if m == "none" else cmap(k % 20)
                ax.plot(grid, hv, label=m, color=color, lw=2.2 if m == "none" else 1.2)
        ax.set_title(wl, fontsize=10)
        ax.set_xlabel("steps spent")
        if i == 0:
            ax.set_ylabel("hypervolume of completed trials")
    handles = {h.get_label(): h for ax in fig.axes for h in ax.get_lines()}
    fig.legend(list(handles.values()), list(handles), fontsize=7, loc="upper center",
               ncol=min(6, len(handles)), bbox_to_anchor=(0.5, 0.0))  # fmt: skip
    fig.savefig(path, dpi=100, bbox_inches="tight")


def main(argv: list[str] | None = None) -> None:
    from benchmarks.pruning_workloads import WORKLOADS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes (1 thread each)")
    ap.add_argument("--out", default="pruning")
    ap.add_argument("--resume", action="store_true", help="skip runs already in the results")
    args = ap.parse_args(argv)
    for name, known in (("workloads", WORKLOADS), ("methods", METHODS)):
        bad = [v for v in getattr(args, name) if v not in known]
        if bad:
            ap.error(f"unknown {name} {bad}; choose from {list(known)}")
    path = RESULTS / f"{args.out}.jsonl"
    done: list[dict[str, Any]] = []
    if args.resume and path.is_file():
        done = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    have = {(r["workload"], r["method"], r["seed"]) for r in done}
    jobs = [
        (wl, m, s, args.trials, args.concurrency)
        for s in range(args.seeds)
        for wl in args.workloads
        for m in args.methods
        if (wl, m, s) not in have
    ]
    with (
        path.open("a" if args.resume else "w") as f,
        mp.get_context("spawn").Pool(args.jobs) as pool,
    ):
        for r in pool.imap_unordered(_one, jobs):
            done.append(r)
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(
                f"{r['workload']:>15} {r['method']:<34} seed {r['seed']}: steps {r['steps']:4d} "
                f"hv {r['hv']:.3f} complete {r['complete']} pruned {r['pruned']} "
                f"({r['wall_s']:.0f} s)",
                flush=True,
            )
    table = summarize(done) + "\n\n" + correlations(done)
    print(table)
    command = " ".join(sys.argv[1:] if argv is None else argv)
    (RESULTS / f"{args.out}.md").write_text(
        table + f"\n\nCommand: `python -m benchmarks.pruning {command}`, "
        f"{time.strftime('%Y-%m-%d')}.\n"
    )
    plot(done, RESULTS / f"{args.out}_anytime.png")


if __name__ == "__main__":
    main()
