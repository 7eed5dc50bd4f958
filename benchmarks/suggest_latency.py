"""Suggestion latency: seconds to propose a batch on DTLZ2 (6 inputs, 2 or 3 objectives) after
n observations, hpo_notebook beside a plain BoTorch loop, Ax and Optuna's GP.

For hpo_notebook two numbers: ``warm`` is what a running study pays (it has the
hyperparameters of the previous proposal, made 4 observations earlier, to start a second fit
from), ``cold`` a first proposal (e.g. after ``load_study``); with ``--memory`` also the peak
memory a warm proposal added to its process (each of our measurements then runs in a fresh
process). Peers are timed in the same run, one after the other, on the same observations, up
to ``--peer-max-n`` observations (beyond that they take minutes to hours per batch). Run alone
on a quiet machine::

    python -m benchmarks.suggest_latency --repeats 3
    python -m benchmarks.suggest_latency --sizes 200 1000 5000 --objectives 2 3 \\
        --history front --acquisitions qLogNEHVI --memory --out suggest_latency_large

Histories: ``sobol`` (the observations of a quasi-random design: a small front) or
``front`` (half of them quasi-random, half near the Pareto set, as in a study that has
been running for a while: a front of hundreds of points, the expensive case).

Results go to ``docs/results/<out>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing as mp
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks._problems import PROBLEMS, TIMING_PROBLEMS

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
PROBLEM_BY_OBJECTIVES = {2: "DTLZ2", 3: "DTLZ2x3"}


def _problem(m: int) -> Any:
    return {**PROBLEMS, **TIMING_PROBLEMS}[PROBLEM_BY_OBJECTIVES[m]]()


def observations(n: int, m: int, seed: int, history: str = "sobol") -> np.ndarray:
    """``n x 6`` unit-cube points: a scrambled Sobol design, or (``"front"``) half of one
    and half near DTLZ2's Pareto set (distance inputs 0.5 plus noise of sd 0.05)."""
    import hpo_notebook as hn

    space = hn.Space({f"x{i}": hn.Float(0.0, 1.0) for i in range(6)})
    n_sobol = n if history == "sobol" else n // 2
    X = np.array([space.to_unit(p) for p in space.sobol(n_sobol, seed=seed)]).reshape(-1, 6)
    if history == "front":
        rng = np.random.default_rng(seed)
        near = rng.uniform(size=(n - n_sobol, 6))
        near[:, m - 1 :] = np.clip(0.5 + rng.normal(0, 0.05, (n - n_sobol, 7 - m)), 0, 1)
        X = np.concatenate([X, near])
        rng.shuffle(X)
    return X


def _history(X: np.ndarray, m: int) -> tuple[Any, Any, Any, Any]:
    import hpo_notebook as hn
    from hpo_notebook.objectives import Objectives
    from hpo_notebook.optimizers import History

    problem = _problem(m)
    space = hn.Space({f"x{i}": hn.Float(0.0, 1.0) for i in range(X.shape[1])})
    objs = Objectives.parse(
        {
            f"f{i}": hn.Objective("max", threshold=r)
            for i, r in enumerate(problem.ref_point.tolist())
        }
    )
    Y = problem(torch.tensor(X, dtype=torch.float64)).numpy()  # bounds are [0, 1]
    return space, objs, History(X, Y, np.zeros((0, X.shape[1])), len(X)), problem


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def time_ours(
    n: int,
    seed: int,
    acquisition: str,
    m: int = 2,
    history: str = "sobol",
    q: int = 4,
    exact: bool = False,
    device: str = "auto",
) -> dict[str, float]:
    """Cold and warm seconds for one batch of ``q`` (and the warm call's split); ``exact``:
    the exact GP on every observation (``subset_size=None``); ``device``: where the model
    runs (``OptimizeSettings.device``)."""
    from hpo_notebook.optimizers import History
    from hpo_notebook.optimizers.botorch import BoTorchOptimizer, OptimizeSettings

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    space, objs, h, _ = _history(observations(n, m, seed, history), m)
    exact_gp = {"subset_size": None} if exact else {}
    settings = OptimizeSettings(device=device, **exact_gp)
    opt = BoTorchOptimizer(acquisition, settings=settings)
    on_gpu = torch.cuda.is_available() and device != "cpu"
    t0 = time.perf_counter()
    cold = opt.suggest(space, objs, h, q, seed)
    t_cold = time.perf_counter() - t0
    # a running study: the state comes from the proposal made 4 observations earlier
    prev = History(h.X[:-4], h.Y[:-4], h.X[-4:], h.n_trials)
    state = opt.suggest(space, objs, prev, q, seed).state
    rss_before = _rss_kb("VmRSS")
    if on_gpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    warm = opt.suggest(space, objs, h, q, seed, state)
    t_warm = time.perf_counter() - t0  # the proposals are on the CPU: the GPU is done
    assert cold.proposals[0].kind.startswith(acquisition), cold.proposals[0]
    assert warm.proposals[0].kind.startswith(acquisition), warm.proposals[0]
    info = warm.proposals[0].info
    return {
        "cold": t_cold,
        "warm": t_warm,
        "warm_fit": info["fit_s"],
        "warm_acq": info["acq_s"],
        "n_model": info.get("n_model", n),
        # the high-water mark covers the cold and previous calls too (the same work)
        "peak_mb": (_rss_kb("VmHWM") - rss_before) / 1024,
        **({"gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20} if on_gpu else {}),
    }


def _ours_in_fresh_process(*args: Any) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(time_ours, *args).result()


def time_peers(peers: list[str], X: np.ndarray, m: int, seed: int, q: int) -> dict[str, float]:
    from benchmarks import _peers

    name = PROBLEM_BY_OBJECTIVES[m]
    problem = _problem(m)
    Xt = torch.tensor(X, dtype=torch.float64)
    Y = problem(Xt)
    out: dict[str, float] = {}
    if "botorch" in peers:
        out["BoTorch tutorial"] = _peers.time_plain_botorch_suggest(
            Xt, Y, problem.bounds, problem.ref_point, q=q, seed=seed
        )
    if "ax" in peers:
        out["Ax"] = _peers.time_ax_suggest(name, len(X), seed, q=q, X=Xt)
    if "optuna-gp" in peers:
        out["Optuna GP (1 point)"] = _peers.time_optuna_gp_suggest(name, len(X), seed, X=Xt)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--repeats", type=int, default=3, help="data sets (seeds) per size")
    ap.add_argument("--objectives", type=int, nargs="+", default=[2], choices=[2, 3])
    ap.add_argument("--history", choices=["sobol", "front"], default="sobol")
    ap.add_argument("--batches", type=int, nargs="+", default=[4], help="batch sizes q")
    ap.add_argument("--acquisitions", nargs="+", default=["qLogNEHVI", "qLogEHVI"])
    ap.add_argument("--peers", nargs="*", default=["botorch", "ax", "optuna-gp"])
    ap.add_argument("--peer-max-n", type=int, default=200)
    ap.add_argument("--peer-max-q", type=int, default=4)
    ap.add_argument("--memory", action="store_true", help="ours in a fresh process each")
    ap.add_argument(
        "--exact-max-n", type=int, default=0, help="also time the exact GP up to this n"
    )
    ap.add_argument(
        "--device", default="cpu", help="where our model runs: auto, cpu, cuda or cuda:N"
    )
    ap.add_argument("--out", default="suggest_latency")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    from benchmarks import _peers

    _peers.quiet_peer_logging()
    torch.set_num_threads(1)
    ours = _ours_in_fresh_process if args.memory else time_ours
    rows: list[dict[str, Any]] = []
    for m in args.objectives:
        for n in args.sizes:
            for q in args.batches:
                for seed in range(args.repeats):
                    row: dict[str, Any] = {"objectives": m, "n_obs": n, "q": q, "seed": seed}
                    for acq in args.acquisitions:
                        res = ours(n, seed, acq, m, args.history, q, False, args.device)
                        row.update({f"{acq} {k}": v for k, v in res.items()})
                        if n <= args.exact_max_n:
                            res = ours(n, seed, acq, m, args.history, q, True, args.device)
                            row.update({f"{acq} exact {k}": res[k] for k in ("warm", "peak_mb")})
                    if n <= args.peer_max_n and q <= args.peer_max_q:
                        X = observations(n, m, seed, args.history)
                        row.update(time_peers(args.peers, X, m, seed, q))
                    rows.append(row)
                    shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
                    print(shown, flush=True)
    table = summarize(rows)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python -m benchmarks.suggest_latency "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"),
        "torch_threads": 1,
        "history": args.history,
        "device": args.device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (RESULTS / f"{args.out}.md").write_text(table + "\n")


def summarize(rows: list[dict[str, Any]]) -> str:
    """Medians over seeds, one row per (objectives, observations, q); peers' cells empty
    where they did not run."""
    keys = ("objectives", "n_obs", "q", "seed")
    cols = list(dict.fromkeys(k for r in rows for k in r if k not in keys))
    head = "| objectives | observations | q | " + " | ".join(cols) + " |"
    lines = [head, "|---" * (len(cols) + 3) + "|"]
    groups = dict.fromkeys((r["objectives"], r["n_obs"], r["q"]) for r in rows)
    for m, n, q in groups:
        rs = [r for r in rows if (r["objectives"], r["n_obs"], r["q"]) == (m, n, q)]
        cells = []
        for c in cols:
            vals = [r[c] for r in rs if c in r]
            cells.append(f"{statistics.median(vals):.2f}" if vals else "")
        lines.append(f"| {m} | {n} | {q} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
