"""The benchmark suite: every problem of ``suite_problems.py``, every method of
``suite_methods.py``, in one run on one machine.

For each run: the log10 hypervolume gap (lower is better) after 48 and 100 evaluations, on
noiseless values, and the evaluations each run needed to reach 90% of the best hypervolume any
run reached on that problem. Runs go to ``docs/results/<out>.jsonl`` as they finish (a
killed run keeps what it had; ``--resume`` skips what is there), and the tables to
``docs/results/<out>.md``.

Run (from the repository root; ``make bench`` installs Optuna and Ax)::

    python -m benchmarks.suite --seeds 5 --peer-seeds 3 --jobs 2
    python -m benchmarks.suite --problems DTLZ2-6 ZDT1-4 --methods "ours q=4" Sobol --seeds 2

A problem whose best hypervolume is not known (a real model) is scored against the best any
run of the suite reached (``max_hv`` taken as 1.001 x that).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
AT = (48, 100)
PEERS_FEWER_SEEDS = ("Ax", "BoTorch", "Optuna GP")


def _one(job: tuple[str, str, int, int]) -> dict[str, Any]:
    method, name, seed, n = job
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    from benchmarks import suite_methods as M
    from benchmarks.suite_problems import PROBLEMS, hypervolume

    M.quiet()
    problem = PROBLEMS[name]()
    t0 = time.perf_counter()
    try:
        out = M.run(method, problem, seed, n)
    except Exception as exc:  # a peer that crashes is a result too
        return {"method": method, "problem": name, "seed": seed, "error": repr(exc)[:300]}
    wall = time.perf_counter() - t0
    # the hypervolume after each evaluation, on noiseless values (scored once, here)
    ref = [
        (1.0 if d == "max" else -1.0) * r
        for d, r in zip(problem.objectives.values(), problem.ref_point)
    ]
    hv, rows = [], []
    for p in out["params"]:
        m = problem.truth(p)
        y = problem.to_max_frame(m)
        if problem.feasible(m) and all(map(math.isfinite, y)):
            rows.append(y)
        hv.append(hypervolume(rows, ref) if rows else 0.0)
    batch = out.get("batch_s") or [0.0]
    return {
        "method": method,
        "problem": name,
        "seed": seed,
        "hv": hv,
        "wall_s": wall,
        "median_batch_s": statistics.median(batch),
        "fallbacks": out.get("fallbacks", 0),
    }


def _gap(max_hv: float, hv: float) -> float:
    from benchmarks.suite_problems import log_gap

    return log_gap(max_hv, hv)


def _mean_cell(values: list[float], n_problems: int) -> str:
    """A method's mean gap; marked with its problem count when it ran on fewer problems than
    the table has (such a mean is not comparable with the others)."""
    if not values:
        return ""
    mean = f"{statistics.mean(values):.2f}"
    return mean if len(values) == n_problems else f"{mean} ({len(values)} of {n_problems})"


def summarize(rows: list[dict[str, Any]]) -> str:
    """The tables: gap at 48 and 100 (mean over seeds) per problem and method, the winners,
    and evaluations to 90% of the best hypervolume."""
    from benchmarks.suite_problems import PROBLEMS

    ok = [r for r in rows if "hv" in r]
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in ok)]
    methods = list(dict.fromkeys(r["method"] for r in ok))
    best_hv = {p: max(max(r["hv"]) for r in ok if r["problem"] == p) for p in problems}
    max_hv = {}
    for p in problems:
        known = PROBLEMS[p]().max_hv
        max_hv[p] = known if known == known else 1.001 * best_hv[p]
    lines = []
    for k in AT:
        lines += [
            f"log10 hypervolume gap after {k} evaluations (mean over seeds; lower is better):",
            "",
            "| problem | " + " | ".join(methods) + " |",
            "|---|" + "---|" * len(methods),
        ]
        means: dict[str, list[float]] = {m: [] for m in methods}
        for p in problems:
            cells = []
            vals = {}
            for m in methods:
                rs = [r for r in ok if r["problem"] == p and r["method"] == m and len(r["hv"]) >= k]
                if not rs:
                    cells.append("")
                    continue
                v = statistics.mean(_gap(max_hv[p], r["hv"][k - 1]) for r in rs)
                vals[m] = v
                means[m].append(v)
                cells.append(f"{v:.2f} ({len(rs)})")
            if vals:
                best = min(vals.values())
                cells = [
                    f"**{c}**" if c and vals.get(m) == best else c for m, c in zip(methods, cells)
                ]
            lines.append(f"| {p} | " + " | ".join(cells) + " |")
        n_rows = sum(1 for p in problems if any(len(r["hv"]) >= k for r in ok if r["problem"] == p))
        lines.append(
            "| **mean** | " + " | ".join(_mean_cell(v, n_rows) for v in means.values()) + " |"
        )
        lines.append("")
    lines += [
        "Evaluations to reach 90% of the best hypervolume any run reached on the problem "
        "(median over seeds; '>N': not within the budget):",
        "",
        "| problem | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for p in problems:
        cells = []
        for m in methods:
            rs = [r for r in ok if r["problem"] == p and r["method"] == m]
            if not rs:
                cells.append("")
                continue
            reach = [
                next((i + 1 for i, h in enumerate(r["hv"]) if h >= 0.9 * best_hv[p]), None)
                for r in rs
            ]
            budget = max(len(r["hv"]) for r in rs)
            done = sorted(x if x is not None else math.inf for x in reach)
            med = done[len(done) // 2]
            cells.append(f">{budget}" if med == math.inf else f"{med}")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    errors = [r for r in rows if "error" in r]
    if errors:
        lines += ["", "Runs that failed:", ""]
        lines += [
            f"- {r['problem']} / {r['method']} / seed {r['seed']}: {r['error']}" for r in errors
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.suite_methods import METHODS
    from benchmarks.suite_problems import PROBLEMS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--seeds", type=int, default=5, help="seeds for ours and Sobol, TPE")
    ap.add_argument("--peer-seeds", type=int, default=3, help=f"seeds for {PEERS_FEWER_SEEDS}")
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes (1 thread each)")
    ap.add_argument("--out", default="suite")
    ap.add_argument("--resume", action="store_true", help="skip runs already in the results")
    args = ap.parse_args(argv)
    unknown = [p for p in args.problems if p not in PROBLEMS]
    if unknown:
        ap.error(f"unknown problems {unknown}; choose from {list(PROBLEMS)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{args.out}.jsonl"
    done: list[dict[str, Any]] = []
    if args.resume and path.is_file():
        done = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    have = {(r["method"], r["problem"], r["seed"]) for r in done if "hv" in r}
    jobs = []
    for p in args.problems:
        for m in args.methods:
            n_seeds = args.peer_seeds if m in PEERS_FEWER_SEEDS else args.seeds
            jobs += [(m, p, s, args.evals) for s in range(n_seeds) if (m, p, s) not in have]
    # slow peers first, so the parallel jobs end together
    jobs.sort(key=lambda j: j[0] in ("Sobol", "Optuna TPE"))
    mode = "a" if args.resume else "w"
    t0 = time.time()
    with path.open(mode) as f, mp.get_context("spawn").Pool(args.jobs) as pool:
        for r in pool.imap_unordered(_one, jobs):
            done.append(r)
            f.write(json.dumps(r) + "\n")
            f.flush()
            what = f"error {r['error']}" if "error" in r else f"{r['wall_s']:.0f} s"
            print(f"{r['problem']:>22} {r['method']:<12} seed {r['seed']}: {what}", flush=True)
    table = summarize(done)
    print(table)
    command = " ".join(sys.argv[1:] if argv is None else argv)
    meta = (
        f"\n\nCommand: `python -m benchmarks.suite {command}`, {time.strftime('%Y-%m-%d')}, "
        f"{(time.time() - t0) / 60:.0f} min.\n"
    )
    (RESULTS / f"{args.out}.md").write_text(table + meta)


if __name__ == "__main__":
    main()
