"""Dispatch: what the study loop costs on top of Dask.

1. Overhead per trial: 500 no-op trials on a 2-worker LocalCluster (quasi-random proposals,
   so the optimizer costs nothing), beside a bare Dask loop that submits the same no-op
   tasks with ``as_completed`` (the floor: Dask's own round trip). Overhead per trial is the
   wall time times the number of workers divided by the number of trials: the slot-time each
   trial costs beyond its own (zero) work.
2. Utilization: 4 workers running sleep trials of random 0.2-2 s. Busy time over available
   slot-time, overall and in the steady state (until the last trial starts; the final drain
   is the same for any scheduler), with quasi-random proposals and with the default
   qLogNEHVI optimizer (whose proposals take about a second, computed while workers are busy).
3. Scaling: one study of 10,000 no-op trials (2 workers, quasi-random proposals) beside a bare
   Dask loop of as many tasks. In windows of 100 trials ending at trial 100, 2,000 and 10,000:
   the driver thread's CPU per trial (measured on that thread, ``time.thread_time``) and wall
   per trial of both loops. A driver whose work per trial grows with the study shows here.

Run::

    python -m benchmarks.dispatch

Results go to ``docs/results/dispatch.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def _noop(x: float) -> float:
    return x


def _sleep_trial(params: dict[str, Any], trial: Any) -> float:
    """Sleeps 0.2-2 s, drawn from the trial's seed (so the length does not depend on what
    the optimizer proposes); the objective is a smooth bowl."""
    import random

    time.sleep(random.Random(trial.seed).uniform(0.2, 2.0))
    return (params["x"] - 0.3) ** 2 + (params["y"] - 0.6) ** 2


def _cluster(n: int) -> Any:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return cluster, Client(cluster, set_as_default=False)


def bare_dask(client: Any, n: int, concurrency: int) -> float:
    """Wall time of n no-op tasks kept ``concurrency`` in flight with as_completed."""
    from distributed import as_completed

    t0 = time.perf_counter()
    futs = [client.submit(_noop, float(i), pure=False) for i in range(concurrency)]
    ac = as_completed(futs, loop=client.loop)
    submitted = concurrency
    for f in ac:
        f.result()
        if submitted < n:
            ac.add(client.submit(_noop, float(submitted), pure=False))
            submitted += 1
    return time.perf_counter() - t0


def study_noop(client: Any, n: int, concurrency: int) -> float:
    import hpo_notebook as hn
    from hpo_notebook.testing.problems import noop

    study = hn.Study(noop, hn.Space(x=hn.Float(0, 1)), objectives="min", optimizer="sobol")
    t0 = time.perf_counter()
    study.run(n_trials=n, concurrency=concurrency, cluster=client)
    wall = time.perf_counter() - t0
    assert study.counts()["COMPLETE"] == n
    return wall


def utilization(client: Any, n: int, workers: int, optimizer: str, seed: int) -> dict[str, Any]:
    import hpo_notebook as hn

    space = hn.Space(x=hn.Float(0, 1), y=hn.Float(0, 1))
    study = hn.Study(_sleep_trial, space, objectives="min", optimizer=optimizer, seed=seed)
    t0 = time.time()
    study.run(n_trials=n, concurrency=workers, cluster=client)
    wall = time.time() - t0
    trials = study.trials
    busy = sum(t.ended_at - t.started_at for t in trials)
    start = min(t.started_at for t in trials)
    end = max(t.ended_at for t in trials)
    last_start = max(t.started_at for t in trials)
    # steady state: slot-time from the first start to the last start
    steady_busy = sum(
        min(t.ended_at, last_start) - t.started_at for t in trials if t.started_at < last_start
    )
    kinds = [t.proposal["kind"] for t in trials]
    model = [t.proposal.get("total_s", 0.0) for t in trials if t.proposal["kind"].startswith("q")]
    return {
        "optimizer": optimizer,
        "trials": n,
        "workers": workers,
        "wall_s": wall,
        "overall": busy / (workers * (end - start)),
        "steady": steady_busy / (workers * (last_start - start)),
        "sobol_late": kinds.count("sobol-late"),
        "median_proposal_s": statistics.median(model) if model else 0.0,
    }


def _report_cost_trial(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """Times each ``trial.report`` call inside the trial (1,000 steps, no work between)."""
    costs = []
    for step in range(1, 1001):
        t0 = time.perf_counter()
        trial.report(step, loss=1.0 / step + params["x"])
        costs.append(time.perf_counter() - t0)
    costs.sort()
    return {
        "loss": params["x"],
        "median_ms": 1000 * costs[500],
        "p99_ms": 1000 * costs[990],
        "max_ms": 1000 * costs[-1],
    }


def _windows(marks: list[float], ends: list[int], width: int) -> dict[int, float]:
    """Per-item mean over the ``min(width, e)`` completions up to each ``e`` of ``ends``;
    ``marks[k]`` is a running total (a clock) after ``k`` completions."""
    out = {}
    for e in ends:
        w = min(width, e)
        if e < len(marks):
            out[e] = (marks[e] - marks[e - w]) / w
    return out


def bare_dask_marks(client: Any, n: int, concurrency: int) -> list[float]:
    """Completion times of a bare as_completed loop of ``n`` no-op tasks."""
    from distributed import as_completed

    futs = [client.submit(_noop, float(i), pure=False) for i in range(concurrency)]
    ac = as_completed(futs, loop=client.loop)
    submitted, marks = concurrency, [time.perf_counter()]
    for f in ac:
        f.result()
        marks.append(time.perf_counter())
        if submitted < n:
            ac.add(client.submit(_noop, float(submitted), pure=False))
            submitted += 1
    return marks


def scaling(client: Any, n: int, ends: list[int], width: int = 100) -> dict[str, Any]:
    """Driver CPU and wall per trial in windows of one long no-op study, beside bare Dask."""
    import hpo_notebook as hn
    from hpo_notebook.execution.dask import seed_everything
    from hpo_notebook.testing.problems import noop

    client.run(seed_everything, 0)  # workers import torch at their first trial: not in a window
    study = hn.Study(noop, hn.Space(x=hn.Float(0, 1)), objectives="min", optimizer="sobol")
    cpu: list[float] = []
    wall: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        # runs on the driver thread: thread_time() is the driver's own CPU
        if event["type"] != "trial":
            return
        if event["trial"].state.finished or not cpu:  # the first mark: trial 0 created
            cpu.append(time.thread_time())
            wall.append(time.perf_counter())

    study.subscribe(on_event)
    t0 = time.perf_counter()
    study.run(n_trials=n, concurrency=2, cluster=client)
    total = time.perf_counter() - t0
    assert study.counts()["COMPLETE"] == n
    bare = bare_dask_marks(client, n, 2)
    ms = 1000.0
    return {
        "trials": n,
        "study_wall_s": total,
        "bare_wall_s": bare[-1] - bare[0],
        "driver_cpu_ms": {e: v * ms for e, v in _windows(cpu, ends, width).items()},
        # wall time of 100 trials is too noisy here: 500 (but the first 100) per point
        "study_wall_ms": {e: v * ms for e, v in _windows(wall, ends, 5 * width).items()},
        "bare_wall_ms": {e: v * ms for e, v in _windows(bare, ends, 5 * width).items()},
    }


def report_cost(client: Any) -> list[dict[str, Any]]:
    """Cost of ``trial.report`` inside a trial, without a pruner and with ASHA (whose rung
    reports wait for the decision)."""
    import hpo_notebook as hn

    out = []
    for label, pruner in (("no pruner", None), ("ASHA(max_steps=1000)", hn.ASHA(1000))):
        study = hn.Study(
            _report_cost_trial,
            hn.Space(x=hn.Float(0, 1)),
            objectives={"loss": "min"},
            optimizer="sobol",
            seed=0,
            pruner=pruner,
        )
        study.run(n_trials=1, concurrency=1, cluster=client)
        v = study.trials[0].values
        out.append({"pruner": label, **{k: v[k] for k in ("median_ms", "p99_ms", "max_ms")}})
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noop-trials", type=int, default=500)
    ap.add_argument("--sleep-trials", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scaling-trials", type=int, default=10_000)
    ap.add_argument("--only-scaling", action="store_true", help="run part 3 only")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    out: dict[str, Any] = {
        "meta": {
            "command": "python -m benchmarks.dispatch "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "date": time.strftime("%Y-%m-%d"),
        }
    }
    ends = sorted({100, 2000, args.scaling_trials} & set(range(100, args.scaling_trials + 1)))
    cluster, client = _cluster(2)
    try:
        bare_dask(client, 50, 2)  # warm-up
        out["scaling"] = scaling(client, args.scaling_trials, ends)
        print(out["scaling"], flush=True)
    finally:
        client.close()
        cluster.close()
    scale_table = _scaling_table(out["scaling"], ends)
    if args.only_scaling:
        print(scale_table)
        _save(out, scale_table, "dispatch_scaling")
        return
    cluster, client = _cluster(2)
    try:
        bare_dask(client, 50, 2)  # warm-up
        rows = []
        for _ in range(args.repeats):
            b = bare_dask(client, args.noop_trials, 2)
            s = study_noop(client, args.noop_trials, 2)
            rows.append({"bare_dask_s": b, "study_s": s})
            print(f"no-op x{args.noop_trials}: bare Dask {b:.2f} s, study {s:.2f} s", flush=True)
        out["noop"] = rows
        out["report_cost"] = report_cost(client)
        print(out["report_cost"], flush=True)
    finally:
        client.close()
        cluster.close()
    cluster, client = _cluster(4)
    try:
        util = []
        for opt in ("sobol", "qLogNEHVI"):
            for seed in range(args.repeats):
                r = utilization(client, args.sleep_trials, 4, opt, seed)
                util.append(r)
                print(r, flush=True)
        out["utilization"] = util
    finally:
        client.close()
        cluster.close()
    n = args.noop_trials
    med_b = statistics.median(r["bare_dask_s"] for r in out["noop"])
    med_s = statistics.median(r["study_s"] for r in out["noop"])
    lines = [
        f"No-op trials ({n}, 2 workers, median of {args.repeats}):",
        "",
        "| | wall s | slot-ms per trial |",
        "|---|---|---|",
        f"| bare Dask loop (as_completed) | {med_b:.2f} | {2000 * med_b / n:.2f} |",
        f"| hpo_notebook Study.run | {med_s:.2f} | {2000 * med_s / n:.2f} |",
        f"| ratio | {med_s / med_b:.2f} | |",
        "",
        f"Sleep trials 0.2-2 s ({args.sleep_trials}, 4 workers):",
        "",
        "| optimizer | runs | utilization overall | steady state | late proposals | "
        "median proposal s |",
        "|---|---|---|---|---|---|",
    ]
    tail = [
        "",
        "Cost of one `trial.report` call inside a trial (1,000 reports):",
        "",
        "| pruner | median ms | p99 ms | max ms |",
        "|---|---|---|---|",
    ]
    tail += [
        f"| {r['pruner']} | {r['median_ms']:.3f} | {r['p99_ms']:.3f} | {r['max_ms']:.1f} |"
        for r in out["report_cost"]
    ]
    for opt in ("sobol", "qLogNEHVI"):
        rs = [r for r in out["utilization"] if r["optimizer"] == opt]
        lines.append(
            f"| {opt} | {len(rs)} | {statistics.mean(r['overall'] for r in rs):.1%} | "
            f"{statistics.mean(r['steady'] for r in rs):.1%} | "
            f"{sum(r['sobol_late'] for r in rs)} | "
            f"{statistics.mean(r['median_proposal_s'] for r in rs):.2f} |"
        )
    table = "\n".join([*lines, *tail, "", scale_table])
    print(table)
    _save(out, table, "dispatch")


def _scaling_table(r: dict[str, Any], ends: list[int]) -> str:
    rows = [
        f"Scaling: one study of {r['trials']:,} no-op trials, 2 workers, quasi-random proposals "
        f"({r['study_wall_s']:.0f} s; a bare Dask loop of as many tasks {r['bare_wall_s']:.0f} s: "
        f"{1000 * (r['study_wall_s'] - r['bare_wall_s']) / r['trials']:.2f} ms per trial on "
        "top of Dask). Per trial, driver CPU over the 100 trials up to each point, wall time "
        "over the 500 up to it (the first 100 for the first point):",
        "",
        "| trials so far | driver CPU ms | study wall ms | bare Dask wall ms | study - bare ms |",
        "|---|---|---|---|---|",
    ]
    for e in ends:
        cpu, sw, bw = r["driver_cpu_ms"][e], r["study_wall_ms"][e], r["bare_wall_ms"][e]
        rows.append(f"| {e:,} | {cpu:.2f} | {sw:.2f} | {bw:.2f} | {sw - bw:.2f} |")
    first, last = ends[0], ends[-1]
    rows += [
        "",
        f"Driver CPU per trial at {last:,} over at {first:,}: "
        f"{r['driver_cpu_ms'][last] / r['driver_cpu_ms'][first]:.2f}x.",
    ]
    return "\n".join(rows)


def _save(out: dict[str, Any], table: str, name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=1))
    (RESULTS / f"{name}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
