"""Pruning: epochs, wall time and hypervolume with and without pruning on a real workload.

An MLP on scikit-learn's digits (``hpo_notebook.demo``), epochs as steps (up to 27), two
objectives (validation error and log10 of the parameter count, reference point (1.0, 5.5) as
in ``shared/recipes/peers.md``), 40 trials, concurrency 4, seeds 0-2, for: no pruning,
Median, ASHA (on validation error), MultiObjectiveASHA, MultiObjectiveASHA with pruned trials
ignored by the model, and Optuna (TPE, single objective: it cannot prune a multi-objective
study) with its HyperbandPruner as the outside reference.

Also the anytime value: hypervolume against epochs spent, each method against the unpruned
study cut to the same budget; the median time from a report to its decision at the driver;
and the steps run after a prune decision.

Run::

    python -m benchmarks.pruning_live --seeds 3

Results go to ``docs/results/pruning_live.json``, ``.md`` and ``pruning_live_anytime.png``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.pruning import _at_budget

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
REF = (1.0, 5.5)  # (val_error, log10 params), both minimized
MAX_EPOCHS = 27


def _hv(points: list[tuple[float, float]]) -> float:
    from hpo_notebook.pareto import hypervolume

    if not points:
        return 0.0
    return hypervolume(-np.array(points), [-REF[0], -REF[1]])


def _anytime(reports: list[tuple[float, int]], completions: list[tuple[float, tuple]]) -> list:
    """[(epochs spent, hypervolume)] after each completion, in time order."""
    times = sorted(t for t, _ in reports)
    out, done = [], []
    for ended, point in sorted(completions, key=lambda c: c[0]):
        done.append(point)
        spent = int(np.searchsorted(times, ended, side="right"))
        out.append((spent, _hv(done)))
    return out


def run_ours(method: str, seed: int, n_trials: int, concurrency: int, client: Any) -> dict:
    import hpo_notebook as hn
    from hpo_notebook import demo

    two_rungs = {"max_steps": MAX_EPOCHS, "grace": 1, "eta": 3, "rungs": 2}
    # plain MO-ASHA (keep_front=False), as when these results were recorded; the suite
    # (pruning.py, pruning_replay.py) measures today's default
    pruner = {
        "none": None,
        "Median": hn.Median(warmup=3, min_trials=5, metric="val_error", max_steps=MAX_EPOCHS),
        "ASHA": hn.ASHA(max_steps=MAX_EPOCHS, grace=1, eta=3, metric="val_error"),
        "MO-ASHA": hn.MultiObjectiveASHA(max_steps=MAX_EPOCHS, grace=1, eta=3, keep_front=False),
        "MO-ASHA, 2 rungs": hn.MultiObjectiveASHA(**two_rungs, keep_front=False),
        "MO-ASHA, 2 rungs, pruned ignored": hn.MultiObjectiveASHA(**two_rungs, keep_front=False),
        "ASHA, 2 rungs": hn.ASHA(metric="val_error", **two_rungs),
    }[method]
    objectives = {
        "val_error": hn.Objective("min", threshold=REF[0]),
        "log10_params": hn.Objective("min", threshold=REF[1]),
    }
    study = hn.Study(
        functools.partial(demo.train, epochs=MAX_EPOCHS, size="log10_params"),
        demo.SPACE,
        objectives=objectives,
        seed=seed,
        pruner=pruner,
        pruned_in_model="ignore" if "ignored" in method else "last",
    )
    t0 = time.time()
    study.run(n_trials=n_trials, concurrency=concurrency, cluster=client)
    wall = time.time() - t0
    curves = study.curves()
    trials = study.trials
    complete = [t for t in trials if t.state.value == "COMPLETE"]
    pruned = [t for t in trials if t.state.value == "PRUNED"]
    completions = [
        (t.ended_at, (t.values["val_error"], t.values["log10_params"])) for t in complete
    ]
    lat = [t.extra["decision_latency_s"] for t in pruned if "decision_latency_s" in t.extra]
    return {
        "epochs": len(curves),
        "wall_s": wall,
        "hv": _hv([p for _, p in completions]),
        "complete": len(complete),
        "pruned": len(pruned),
        "anytime": _anytime([(t, 0) for t in curves["t"].tolist()], completions),
        "decision_latency_ms": [1000 * v for v in lat],
        "steps_after_decision": [t.extra.get("steps_after_decision", 0) for t in pruned],
        "pruned_at_max": sum(t.extra.get("pruned_at") == MAX_EPOCHS for t in pruned),
        "min_size_complete": min((t.values["log10_params"] for t in complete), default=None),
    }


def run_optuna(seed: int, n_trials: int) -> dict:
    import optuna

    from hpo_notebook import demo

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    class _Trial:  # adapts an Optuna trial to the demo's trial.report(step, **metrics)
        def __init__(self, ot: Any) -> None:
            self.ot, self.seed, self.reports = ot, seed * 1000 + ot.number, []

        def report(self, step: int, **m: float) -> None:
            self.reports.append(time.time())
            self.ot.report(m["val_error"], step)
            if self.ot.should_prune():
                raise optuna.TrialPruned()

    reports: list[float] = []
    completions = []

    def objective(ot: Any) -> float:
        params = {
            "lr": ot.suggest_float("lr", 1e-4, 3e-1, log=True),
            "width": ot.suggest_int("width", 4, 256, log=True),
            "layers": ot.suggest_int("layers", 1, 3),
            "dropout": ot.suggest_float("dropout", 0.0, 0.5),
            "batch_size": ot.suggest_categorical("batch_size", [32, 64, 128]),
            "optimizer": ot.suggest_categorical("optimizer", ["adam", "sgd"]),
        }
        tr = _Trial(ot)
        try:
            out = demo.train(params, tr, epochs=MAX_EPOCHS, size="log10_params")
        finally:
            reports.extend(tr.reports)
        completions.append((time.time(), (out["val_error"], out["log10_params"])))
        return out["val_error"]

    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=MAX_EPOCHS, reduction_factor=3
        ),
    )
    t0 = time.time()
    study.optimize(objective, n_trials=n_trials)
    states = [t.state.name for t in study.trials]
    return {
        "epochs": len(reports),
        "wall_s": time.time() - t0,
        "hv": _hv([p for _, p in completions]),
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "anytime": _anytime([(t, 0) for t in reports], completions),
        "min_size_complete": min((p[1] for _, p in completions), default=None),
    }


def summarize(rows: list[dict], methods: list[str], n_seeds: int) -> str:
    base = {r["seed"]: r for r in rows if r["method"] == "none"}
    lines = [
        "| method | epochs (mean) | epochs saved | hypervolume | vs no pruning | "
        "wall s | completed / pruned | smallest model (log10) | anytime: budgets where "
        "HV ≥ unpruned cut to that budget |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        if not rs:
            continue
        ep = statistics.mean(r["epochs"] for r in rs)
        hv = statistics.mean(r["hv"] for r in rs)
        saved = statistics.mean(1 - r["epochs"] / base[r["seed"]]["epochs"] for r in rs)
        ratio = statistics.mean(r["hv"] / base[r["seed"]]["hv"] for r in rs)
        wins = []
        for r in rs:
            b = base[r["seed"]]
            grid = np.linspace(0, r["epochs"], 21)[1:]
            wins += [
                _at_budget(r["anytime"], g) >= _at_budget(b["anytime"], g) - 1e-9 for g in grid
            ]
        sizes = [r["min_size_complete"] for r in rs if r["min_size_complete"] is not None]
        lines.append(
            f"| {m} | {ep:.0f} | {saved:.0%} | {hv:.3f} | {ratio:.2f} | "
            f"{statistics.mean(r['wall_s'] for r in rs):.0f} | "
            f"{statistics.mean(r['complete'] for r in rs):.1f} / "
            f"{statistics.mean(r['pruned'] for r in rs):.1f} | "
            f"{statistics.mean(sizes):.2f} | {sum(wins)}/{len(wins)} |"
        )
    lat = [v for r in rows for v in r.get("decision_latency_ms", [])]
    after = [v for r in rows for v in r.get("steps_after_decision", [])]
    at_max = sum(r.get("pruned_at_max", 0) for r in rows)
    lines += [
        "",
        f"Report-to-decision latency at the driver: median {statistics.median(lat):.1f} ms, "
        f"p95 {np.percentile(lat, 95):.1f} ms over {len(lat)} prune decisions. Steps run "
        f"after a prune decision: max {max(after)}, mean {statistics.mean(after):.2f}. "
        f"Trials pruned at max_steps ({MAX_EPOCHS}): {at_max}.",
    ]
    return "\n".join(lines)


def plot(rows: list[dict], methods: list[str], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = max(r["epochs"] for r in rows)
    grid = np.linspace(0, top, 200)
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        if not rs:
            continue
        hv = np.mean([[_at_budget(r["anytime"], g) for g in grid] for r in rs], axis=0)
        ax.plot(grid, hv, label=m)
    ax.set_xlabel("epochs spent")
    ax.set_ylabel("hypervolume of completed trials")
    ax.set_title(f"Anytime value (mean of {len({r['seed'] for r in rows})} seeds)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument(
        "--methods",
        nargs="+",
        default=[
            "none",
            "Median",
            "ASHA",
            "ASHA, 2 rungs",
            "MO-ASHA",
            "MO-ASHA, 2 rungs",
            "MO-ASHA, 2 rungs, pruned ignored",
            "Optuna Hyperband",
        ],
    )
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=args.concurrency,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster, set_as_default=False)
    rows = []
    try:
        for seed in range(args.seeds):
            for m in args.methods:
                if m == "Optuna Hyperband":
                    r = run_optuna(seed, args.trials)
                else:
                    r = run_ours(m, seed, args.trials, args.concurrency, client)
                r.update(method=m, seed=seed)
                rows.append(r)
                print(
                    f"seed {seed} {m:<24} epochs {r['epochs']:4d} hv {r['hv']:.3f} "
                    f"complete {r['complete']} pruned {r['pruned']} "
                    f"wall {r['wall_s']:.0f} s",
                    flush=True,
                )
    finally:
        client.close()
        cluster.close()
    table = summarize(rows, args.methods, args.seeds)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python -m benchmarks.pruning_live "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"),
    }
    (RESULTS / "pruning_live.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (RESULTS / "pruning_live.md").write_text(table + "\n")
    plot(rows, args.methods, RESULTS / "pruning_live_anytime.png")


if __name__ == "__main__":
    main()
