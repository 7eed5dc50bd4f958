"""Suggestion latency: seconds to propose a batch of 4 on DTLZ2(dim=6, 2 objectives) with
50 / 100 / 200 observations, hpo_notebook beside a plain BoTorch loop, Ax and Optuna's GP.

For hpo_notebook two numbers: ``warm`` is what a running study pays (it has the
hyperparameters of the previous proposal, made 4 observations earlier, to start a second fit
from), ``cold`` a first proposal (e.g. after ``load_study``). Peers are timed in the same
process, one after the other, on the same observations. Run alone on a quiet machine::

    python -m benchmarks.suggest_latency --repeats 3

Results go to ``docs/results/suggest_latency.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks._problems import PROBLEMS

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
PROBLEM = "DTLZ2"


def _history(n: int, seed: int, pending: int = 0) -> tuple[Any, Any, Any, Any]:
    import hpo_notebook as hn
    from hpo_notebook.objectives import Objectives
    from hpo_notebook.optimizers import History

    problem = PROBLEMS[PROBLEM]()
    space = hn.Space(
        {
            f"x{i}": hn.Float(float(lo), float(hi))
            for i, (lo, hi) in enumerate(problem.bounds.T.tolist())
        }
    )
    objs = Objectives.parse(
        {
            f"f{i}": hn.Objective("max", threshold=r)
            for i, r in enumerate(problem.ref_point.tolist())
        }
    )
    params = space.sobol(n + pending, seed=seed)
    X = np.array([space.to_unit(p) for p in params])
    Y = problem(torch.tensor(X, dtype=torch.float64)).numpy()  # bounds are [0, 1]
    return space, objs, History(X[:n], Y[:n], X[n:], n + pending), problem


def time_ours(n: int, seed: int, acquisition: str) -> dict[str, float]:
    from hpo_notebook.optimizers import History
    from hpo_notebook.optimizers.botorch import BoTorchOptimizer

    space, objs, h, _ = _history(n, seed)
    opt = BoTorchOptimizer(acquisition)
    t0 = time.perf_counter()
    cold = opt.suggest(space, objs, h, 4, seed)
    t_cold = time.perf_counter() - t0
    # a running study: the state comes from the proposal made 4 observations earlier
    prev = History(h.X[:-4], h.Y[:-4], h.X[-4:], h.n_trials)
    state = opt.suggest(space, objs, prev, 4, seed).state
    t0 = time.perf_counter()
    warm = opt.suggest(space, objs, h, 4, seed, state)
    t_warm = time.perf_counter() - t0
    assert cold.proposals[0].kind == warm.proposals[0].kind == acquisition
    info = warm.proposals[0].info
    return {"cold": t_cold, "warm": t_warm, "warm_fit": info["fit_s"], "warm_acq": info["acq_s"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--repeats", type=int, default=3, help="data sets (seeds) per size")
    ap.add_argument("--peers", nargs="*", default=["botorch", "ax", "optuna-gp"])
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    from benchmarks import _peers

    _peers.quiet_peer_logging()
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        for seed in range(args.repeats):
            row: dict[str, Any] = {"n_obs": n, "seed": seed}
            for acq in ("qLogNEHVI", "qLogEHVI"):
                ours = time_ours(n, seed, acq)
                row.update({f"{acq} {k}": v for k, v in ours.items()})
            _, _, h, problem = _history(n, seed)
            X, Y = torch.tensor(h.X), torch.tensor(h.Y)
            if "botorch" in args.peers:
                row["BoTorch tutorial"] = _peers.time_plain_botorch_suggest(
                    X, Y, problem.bounds, problem.ref_point, q=4, seed=seed
                )
            if "ax" in args.peers:
                row["Ax"] = _peers.time_ax_suggest(PROBLEM, n, seed, q=4)
            if "optuna-gp" in args.peers:
                row["Optuna GP (1 point)"] = _peers.time_optuna_gp_suggest(PROBLEM, n, seed)
            rows.append(row)
            print(
                {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True
            )
    cols = [k for k in rows[0] if k not in ("n_obs", "seed")]
    lines = ["| observations | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for n in args.sizes:
        rs = [r for r in rows if r["n_obs"] == n]
        med = {c: statistics.median(r[c] for r in rs) for c in cols}
        lines.append(f"| {n} | " + " | ".join(f"{med[c]:.2f}" for c in cols) + " |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python -m benchmarks.suggest_latency "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"),
        "torch_threads_ours": 1,
    }
    (RESULTS / "suggest_latency.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1)
    )
    (RESULTS / "suggest_latency.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
