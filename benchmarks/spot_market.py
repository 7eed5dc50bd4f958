"""A spot market on the simulated cluster: 64 workers whose instances are preempted at the
rate teams report for spot GPUs, and replaced after a delay.

Trials last 30-90 virtual minutes (drawn from the trial's seed), report and save a checkpoint
every 5 virtual minutes, and resume from their checkpoint. Each worker instance lives an
exponential time with a half-life of 2 hours (half the instances are gone within 2 hours)
and is replaced 10 minutes after it is gone. Quasi-random proposals: the subject here is the
failure logic and the scheduling, not the model.

Measured: every trial counted once with an unbroken curve; the work lost per preemption (the
virtual time from the trial's last checkpoint, or from its start, to the preemption; at most
one checkpoint interval); the time from a preemption to the trial running again; and worker
utilization over the run (the time workers ran trials, over the time worker instances
existed; also without the work that was lost).

    python -m benchmarks.spot_market                  # 600 trials, 64 workers
    python -m benchmarks.spot_market --trials 100 --workers 16

Results: ``docs/results/spot_market.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._results import RESULTS, publish

T0 = 1_700_000_000.0
CHECKPOINT_S = 300.0


def run(
    trials: int = 600,
    workers: int = 64,
    half_life_s: float = 7200.0,
    replace_after_s: float = 600.0,
    seed: int = 0,
) -> dict[str, Any]:
    import hpo_notebook as hn

    spot = hn.Preemptions(half_life_s=half_life_s, replace_after_s=replace_after_s, seed=seed)
    cluster = hn.SimulatedCluster(workers, start=T0, preemptions=spot)
    runs: list[dict[str, Any]] = []  # one per execution of a trial (a re-run is another)
    saves: dict[int, list[float]] = {}
    interval: dict[int, float] = {}  # each trial's checkpoint interval (about 5 minutes)

    def train(params: dict[str, Any], trial: Any) -> dict[str, float]:
        record = {"trial": trial.number, "start": cluster.clock.time(), "end": None}
        runs.append(record)
        length = random.Random(trial.seed).uniform(1800.0, 5400.0)
        steps = int(length // CHECKPOINT_S)
        interval[trial.number] = length / steps
        try:
            state = trial.load_checkpoint() or {"step": 0}
            for step in range(state["step"] + 1, steps + 1):
                trial.sleep(length / steps)
                trial.report(step, loss=params["x"] / step)
                trial.save_checkpoint({"step": step})
                saves.setdefault(trial.number, []).append(cluster.clock.time())
            return {"loss": params["x"] / steps}
        finally:  # also when the worker is preempted: the trial's code unwinds here
            record["end"] = cluster.clock.time()

    with tempfile.TemporaryDirectory() as ck:
        study = hn.Study(train, {"x": hn.Float(0.0, 1.0)}, {"loss": "min"}, optimizer="sobol",
                         seed=seed, checkpoints=ck)  # fmt: skip
        t0 = time.perf_counter()
        study.run(trials, cluster=cluster, progress=False, show=False)
        real_s = time.perf_counter() - t0
        curves_ok = all(
            study.curves(t.number)["step"].tolist()
            == list(range(1, len(study.curves(t.number)) + 1))
            for t in study.trials
        )
    end = max(r["end"] for r in runs)
    hits = [p for p in cluster.preempted if p["trial"] is not None and p["time"] <= end]
    # work lost per preemption: since the trial's last save (or this run's start)
    lost, lost_share, back = [], [], []
    for p in hits:
        n, at = p["trial"], p["time"]
        started = max(r["start"] for r in runs if r["trial"] == n and r["start"] <= at)
        saved = [s for s in saves.get(n, []) if s <= at]
        lost.append(at - max([started, *saved]))
        lost_share.append(lost[-1] / interval[n])
        back.append(min(r["start"] for r in runs if r["trial"] == n and r["start"] >= at) - at)
    # worker-time that existed: every instance from its start (or T0) to its end (or `end`)
    gone = sorted(p["time"] for p in cluster.preempted if p["time"] <= end)
    alive = workers * (end - T0) - sum(min(end, g + replace_after_s) - g for g in gone)
    busy = sum(r["end"] - r["start"] for r in runs)
    counts = study.counts()
    return {
        "trials": trials,
        "workers": workers,
        "half_life_s": half_life_s,
        "replace_after_s": replace_after_s,
        "checkpoint_s": CHECKPOINT_S,
        "seed": seed,
        "complete": counts["COMPLETE"],
        "counted_once": len(study.trials) == trials and counts["COMPLETE"] == trials,
        "curves_unbroken": curves_ok,
        "virtual_hours": round((end - T0) / 3600, 2),
        "preemptions": len([g for g in gone]),
        "preemptions_of_running_trials": len(hits),
        "instances_gone_within_2h_of_start": _gone_within(cluster.preempted, workers, 7200.0),
        "lost_s_max": round(max(lost), 1) if lost else 0.0,
        "lost_s_mean": round(statistics.mean(lost), 1) if lost else 0.0,
        "lost_intervals_max": round(max(lost_share), 3) if lost_share else 0.0,
        "back_s_median": round(statistics.median(back), 1) if back else None,
        "back_s_max": round(max(back), 1) if back else None,
        "utilization": round(busy / alive, 3),
        "utilization_useful": round((busy - sum(lost)) / alive, 3),
        "real_s": round(real_s, 1),
    }


def _gone_within(preempted: list[dict[str, Any]], workers: int, horizon: float) -> float:
    """The share of the first instances (one per worker) preempted within ``horizon``."""
    first = {p["worker"] for p in preempted if "." not in p["worker"] and p["time"] - T0 <= horizon}
    return round(len(first) / workers, 3)


def render(res: dict[str, Any]) -> str:
    rows = [
        ("trials complete, each counted once", f"{res['complete']:,} of {res['trials']:,} "
         f"({'yes' if res['counted_once'] else 'NO'})"),
        ("curves without duplicated or missing steps", "yes" if res["curves_unbroken"] else "NO"),
        ("virtual time", f"{res['virtual_hours']} h"),
        ("preemptions (of them, of a running trial)",
         f"{res['preemptions']} ({res['preemptions_of_running_trials']})"),
        ("first instances gone within 2 h", f"{res['instances_gone_within_2h_of_start']:.0%}"),
        ("work lost per preemption, max / mean",
         f"{res['lost_s_max']:,} s / {res['lost_s_mean']:,} s"),
        ("the most lost, in the trial's checkpoint intervals (5-6 min)",
         f"{res['lost_intervals_max']}"),
        ("preemption to running again, median / max",
         f"{res['back_s_median']} s / {res['back_s_max']} s"),
        ("**worker utilization** (trial time / instance time)", f"**{res['utilization']:.1%}**"),
        ("the same without the lost work", f"{res['utilization_useful']:.1%}"),
        ("real time", f"{res['real_s']} s"),
    ]  # fmt: skip
    lines = [
        "# Spot market (simulated cluster)",
        "",
        f"`{res.get('command', '')}` ({res.get('when', '')}): {res['workers']} workers, "
        f"instances with a half-life of {res['half_life_s'] / 3600:g} h replaced "
        f"{res['replace_after_s'] / 60:g} min after they go, trials of 30-90 min with a "
        f"checkpoint every {res['checkpoint_s'] / 60:g} min, quasi-random proposals.",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows],
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=600)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--half-life-s", type=float, default=7200.0)
    ap.add_argument("--replace-after-s", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    return publish(
        "spot_market",
        run(args.trials, args.workers, args.half_life_s, args.replace_after_s, args.seed),
        render,
        args.out,
        argv,
    )


if __name__ == "__main__":
    main()
