"""Sample efficiency: log10 hypervolume gap after 16/32/48 evaluations (batches of 4).

hpo_notebook's optimizer (qLogNEHVI and qLogEHVI, driven through ``Study.ask``/``tell``
exactly as a user would) against quasi-random search, Optuna's NSGA-II and, as the
references to match, a plain tutorial-style BoTorch loop and Ax 1.3's default. Every method
gets the same budget, the same reference point (as objective thresholds where the method
takes them) and the same initial-design size where it has one.

Run (from the repository root; ``make bench`` installs Optuna and Ax)::

    python -m benchmarks.sample_efficiency --seeds 5 --peer-seeds 3 --jobs 2

Results go to ``docs/results/sample_efficiency.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from benchmarks._problems import PROBLEMS, gap_curve

CHECKPOINTS = (16, 32, 48)
RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def run_ours(
    name: str,
    seed: int,
    acquisition: str,
    n_evals: int = 48,
    q: int = 4,
    settings: dict[str, Any] | None = None,
) -> dict:
    """One run of hpo_notebook's optimizer through ask/tell; returns Y and proposal times.

    ``settings`` overrides fields of ``OptimizeSettings`` (to compare effort levels).
    """
    import hpo_notebook as hn
    from hpo_notebook.optimizers.botorch import BoTorchOptimizer
    from hpo_notebook.optimizers.botorch.candidates import OptimizeSettings

    problem = PROBLEMS[name]()
    space = hn.Space(
        {
            f"x{i}": hn.Float(float(lo), float(hi))
            for i, (lo, hi) in enumerate(problem.bounds.T.tolist())
        }
    )
    ref = problem.ref_point.tolist()
    objectives = {f"f{i}": hn.Objective("max", threshold=r) for i, r in enumerate(ref)}
    optimizer = BoTorchOptimizer(acquisition, settings=OptimizeSettings(**(settings or {})))
    study = hn.Study(None, space, objectives=objectives, seed=seed, optimizer=optimizer)
    ys: list[list[float]] = []
    batch_times: list[float] = []
    while len(ys) < n_evals:
        t0 = time.perf_counter()
        trials = study.ask(min(q, n_evals - len(ys)))
        elapsed = time.perf_counter() - t0
        if trials[0].number >= study.optimizer.initial_design_size(space):  # type: ignore[attr-defined]
            batch_times.append(elapsed)
        X = torch.tensor(
            [[t.params[f"x{i}"] for i in range(problem.dim)] for t in trials], dtype=torch.float64
        )
        Y = problem(X)
        for t, y in zip(trials, Y.tolist()):
            study.tell(t, {f"f{i}": v for i, v in enumerate(y)})
            ys.append(y)
    kinds = [t.proposal["kind"] for t in study.trials]
    return {"Y": ys, "batch_s": batch_times, "fallbacks": sum("sobol-" in k for k in kinds)}


def _one(job: tuple[str, str, int, dict[str, Any] | None]) -> dict[str, Any]:
    method, name, seed, settings = job
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from benchmarks import _peers

    _peers.quiet_peer_logging()
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if method in ("qLogNEHVI", "qLogEHVI"):
        out = run_ours(name, seed, method, settings=settings)
        Y = torch.tensor(out["Y"], dtype=torch.float64)
        extra = {"median_batch_s": statistics.median(out["batch_s"]), "fallbacks": out["fallbacks"]}
    elif method == "Sobol":
        Y = _peers.run_sobol(name, seed)
    elif method == "NSGA-II":
        Y = _peers.run_nsga2(name, seed, population=12)
    elif method.startswith("BoTorch "):
        Y = _peers.run_plain_botorch(name, seed, acquisition=method.split()[1])
    elif method == "Ax":
        Y = _peers.run_ax(name, seed)
    else:
        raise ValueError(method)
    wall = time.perf_counter() - t0
    problem = PROBLEMS[name]()
    gaps = gap_curve(problem, Y, CHECKPOINTS)
    return {"method": method, "problem": name, "seed": seed, "gaps": gaps, "wall_s": wall, **extra}


def _table(rows: list[dict[str, Any]], methods: list[str], problems: list[str]) -> str:
    lines = [
        "| problem | method | seeds | gap@16 | gap@32 | gap@48 (mean ± sd) | s per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in problems:
        for m in methods:
            rs = [r for r in rows if r["problem"] == p and r["method"] == m]
            if not rs:
                continue
            g = {k: [r["gaps"].get(k, r["gaps"].get(str(k))) for r in rs] for k in CHECKPOINTS}
            sd = statistics.stdev(g[48]) if len(rs) > 1 else 0.0
            lines.append(
                f"| {p} | {m} | {len(rs)} | {statistics.mean(g[16]):.2f} | "
                f"{statistics.mean(g[32]):.2f} | {statistics.mean(g[48]):.2f} ± {sd:.2f} | "
                f"{statistics.mean(r['wall_s'] for r in rs):.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["BraninCurrin", "ZDT1"])
    ap.add_argument("--seeds", type=int, default=5, help="seeds for ours, Sobol, NSGA-II")
    ap.add_argument("--peer-seeds", type=int, default=3, help="seeds for BoTorch and Ax")
    ap.add_argument(
        "--methods",
        nargs="+",
        default=[
            "qLogNEHVI",
            "qLogEHVI",
            "Sobol",
            "NSGA-II",
            "BoTorch qLogNEHVI",
            "BoTorch qLogEHVI",
            "Ax",
        ],
    )
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes (1 thread each)")
    ap.add_argument("--out", default="sample_efficiency")
    ap.add_argument(
        "--settings",
        default=None,
        help='JSON overrides of OptimizeSettings, e.g. {"raw_samples": 128}',
    )
    args = ap.parse_args(argv)

    jobs = []
    for p in args.problems:
        for m in args.methods:
            n = args.peer_seeds if m in ("Ax",) or m.startswith("BoTorch") else args.seeds
            settings = json.loads(args.settings) if args.settings else None
            jobs += [(m, p, s, settings) for s in range(n)]
    t0 = time.time()
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        rows = []
        for r in pool.imap_unordered(_one, jobs):
            rows.append(r)
            print(
                f"{r['problem']:>12} {r['method']:<18} seed {r['seed']}: "
                f"gap@48 {r['gaps'][48]:.2f} ({r['wall_s']:.0f} s)",
                flush=True,
            )
    table = _table(rows, args.methods, args.problems)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "settings": args.settings,
        "command": "python -m benchmarks.sample_efficiency "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"),
        "total_s": time.time() - t0,
        "torch": torch.__version__,
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (RESULTS / f"{args.out}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
