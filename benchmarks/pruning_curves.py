"""Record full learning curves of the pruning workloads, for replaying pruning rules on them.

Each workload of ``pruning_workloads.py`` trains ``--configs`` Sobol configurations to
``max_steps`` (each with its own training seed) and keeps every report. A pruning rule can then
be replayed on these curves in milliseconds (``pruning_replay.py``): with a searcher that does
not look at results (the replay draws configurations at random from the recorded ones), a run
with pruning is exactly the unpruned run cut short, so many rules and many seeds can be
compared on the same trials. The Bayesian-optimization runs of ``pruning.py`` then check the
chosen rule with the study's own searcher.

Run::

    python -m benchmarks.pruning_curves --configs 100 --jobs 2

Results go to ``docs/results/pruning_curves/<workload>.jsonl``: one line per configuration,
``{"params", "seed", "curve": [[step, objective 1, objective 2], ...]}``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
import warnings
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results" / "pruning_curves"
CHUNK = 5


class _Recorder:
    """The part of a trial context the workloads use: ``seed`` and ``report``."""

    def __init__(self, seed: int, objectives: tuple[str, ...]) -> None:
        self.seed, self._objectives = seed, objectives
        self.curve: list[list[float]] = []

    def report(self, step: float, **metrics: float) -> None:
        self.curve.append([step, *(float(f"{metrics[o]:.6g}") for o in self._objectives)])


def _record(job: tuple[str, int, int, int]) -> tuple[str, list[dict[str, Any]]]:
    from threadpoolctl import threadpool_limits

    from benchmarks.pruning_workloads import WORKLOADS

    workload, first, count, n_configs = job
    warnings.filterwarnings("ignore")
    w = WORKLOADS[workload]
    configs = w.space.sobol(n_configs, seed=12345)
    out = []
    with threadpool_limits(1):
        import torch

        torch.set_num_threads(1)
        for k in range(first, min(first + count, n_configs)):
            rec = _Recorder(1_000_003 + k, w.objectives)
            w.fn(configs[k], rec)
            out.append({"index": k, "params": configs[k], "seed": rec.seed, "curve": rec.curve})
    return workload, out


def load(workload: str) -> list[dict[str, Any]]:
    """The recorded curves of ``workload`` (ordered by configuration index)."""
    path = RESULTS / f"{workload}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["index"])


def main(argv: list[str] | None = None) -> None:
    from benchmarks.pruning_workloads import WORKLOADS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    ap.add_argument("--configs", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    bad = [w for w in args.workloads if w not in WORKLOADS]
    if bad:
        ap.error(f"unknown workloads {bad}; choose from {list(WORKLOADS)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    have = {}
    for wl in args.workloads:
        path = RESULTS / f"{wl}.jsonl"
        have[wl] = {r["index"] for r in load(wl)} if path.is_file() else set()
    jobs = [
        (wl, first, CHUNK, args.configs)
        for first in range(0, args.configs, CHUNK)  # every workload early, for a first look
        for wl in args.workloads
        if not set(range(first, min(first + CHUNK, args.configs))) <= have[wl]
    ]
    t0 = time.time()
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        for wl, rows in pool.imap_unordered(_record, jobs):
            with (RESULTS / f"{wl}.jsonl").open("a") as f:
                for r in rows:
                    if r["index"] not in have[wl]:
                        f.write(json.dumps(r) + "\n")
                        have[wl].add(r["index"])
            print(f"{wl}: {len(have[wl])} of {args.configs} ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
