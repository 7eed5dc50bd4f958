"""Preemption: time from a worker's SIGTERM (or ``client.retire_workers``) to the trial
running again on another worker, and the steps lost.

A trial of 20 steps of 0.1 s that saves a checkpoint after every report runs alone on a
LocalCluster of two single-threaded worker processes; at step 5 its worker is preempted.
Measured from the preemption to the re-run's start (the driver's ``WorkerLost`` event, sent
when Dask starts the task again); steps lost = the last step the preempted worker reported
minus the checkpoint step the re-run started from.

    python -m benchmarks.preemption --repeats 5

Results: ``docs/results/preemption.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks._results import RESULTS, publish

HOW = ("SIGTERM", "retire_workers")


def preempt_once(client: Any, how: str, at_step: int = 5, steps: int = 20) -> dict[str, Any]:
    """Run one checkpointing trial on ``client`` and preempt its worker at ``at_step``.

    Returns the study, ``again_after_s`` (preemption -> the trial starts again),
    ``old_steps`` (steps the preempted worker reported), the preempted worker's ``pid`` and
    ``lost_steps`` (its last step minus the re-run's checkpoint step)."""
    import hpo_notebook as hn
    from hpo_notebook.testing.problems import checkpointed

    if how not in HOW:
        raise ValueError(f"how must be one of {HOW}, got {how!r}")
    space = hn.Space(x=hn.Float(0.2, 0.3), steps=hn.Choice([steps]), step_s=hn.Choice([0.1]))
    study = hn.Study(checkpointed, space, {"loss": "min"}, optimizer="sobol", seed=3)
    seen: dict[str, Any] = {}
    old_steps: list[float] = []
    threads: list[threading.Thread] = []

    def preempt(event: Any) -> None:
        if isinstance(event, hn.events.ReportsAdded):
            for r in event.reports:
                if seen and r.metrics["pid"] == seen["pid"]:
                    old_steps.append(r.step)  # still reported by the preempted worker
                if not seen and r.step >= at_step:
                    seen.update(pid=r.metrics["pid"], at=time.monotonic())
                    old_steps.append(r.step)
                    if how == "SIGTERM":
                        os.kill(int(r.metrics["pid"]), signal.SIGTERM)
                    else:  # blocking: not on the driver's thread
                        pids = client.run(os.getpid)
                        addr = next(a for a, p in pids.items() if p == r.metrics["pid"])
                        threads.append(
                            threading.Thread(target=client.retire_workers, args=([addr],))
                        )
                        threads[-1].start()
        elif isinstance(event, hn.events.WorkerLost) and "at" in seen:
            seen["again_after_s"] = time.monotonic() - seen["at"]

    study.subscribe(preempt)
    study.run(n_trials=1, concurrency=1, cluster=client, progress=False, show=False)
    for t in threads:
        t.join(60)
    ckpt = study.trial(0).extra.get("checkpoint_step")
    return {
        "study": study,
        "pid": seen.get("pid"),
        "again_after_s": seen.get("again_after_s"),
        "old_steps": old_steps,
        "lost_steps": None if ckpt is None or not old_steps else max(old_steps) - ckpt,
    }


def run(repeats: int) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    rows: dict[str, dict[str, Any]] = {}
    for how in HOW:
        again, lost = [], []
        for _ in range(repeats):
            cluster = LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None,
            )  # fmt: skip
            client = Client(cluster, set_as_default=False)
            try:
                got = preempt_once(client, how)
            finally:
                client.close()
                cluster.close()
            again.append(got["again_after_s"])
            lost.append(got["lost_steps"])
            print(f"  {how}: again after {got['again_after_s']:.2f} s, lost {got['lost_steps']}",
                  flush=True)  # fmt: skip
        rows[how] = {
            "again_after_s": [round(a, 3) for a in again],
            "median_s": round(statistics.median(again), 3),
            "max_s": round(max(again), 3),
            "lost_steps": lost,
        }
    return {
        "repeats": repeats,
        "rows": rows,
        "machine": "2 cores, no GPU (the team's shared box)",
        "when": time.strftime("%Y-%m-%d"),
    }


def render(res: dict[str, Any]) -> str:
    lines = [
        "# Preemption: time to run again, steps lost",
        "",
        f"Machine: {res['machine']}; run {res['when']}; {res['repeats']} preemptions each. "
        "A trial of 20 steps of 0.1 s, a checkpoint after every report, preempted at step 5 "
        "on a LocalCluster of two worker processes.",
        "",
        "| preemption | to running again, median (s) | max (s) | steps lost (each run) |",
        "|---|---|---|---|",
    ]
    for how, r in res["rows"].items():
        lines.append(f"| {how} | {r['median_s']} | {r['max_s']} | {r['lost_steps']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    return publish("preemption", run(args.repeats), render, args.out, argv)


if __name__ == "__main__":
    main()
