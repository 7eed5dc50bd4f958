"""Seconds to propose a batch of 4 with three objectives, at 50 and 100 observations.

The hard case for hypervolume acquisitions is a large Pareto front: the box decomposition of
a 3-objective front grows roughly with the square of its size, and qLogNEHVI decomposes one
front per MC sample. The histories here are built to have one: a third Sobol points, the
rest scattered close to the problem's Pareto set (the position inputs uniform, the distance
inputs near their optimum), which is what a study holds late in a good run. Each method is
timed on the same histories in one process, one after the other:

- ``ours`` (the default settings: exact box decompositions computed by
  ``hpo_notebook.optimizers.botorch.boxes.ExactPartitioning``, 32 MC samples),
- ``ours hv_alpha=0.01`` (approximate box decompositions: faster with large fronts, but it
  cost hypervolume on VehicleSafety in the suite, so it is an option, not the default),
- ``ours 64 samples`` (exact, 64 MC samples),
- ``ours, BoTorch's boxes`` (the defaults, with the same boxes computed by BoTorch's
  ``FastNondominatedPartitioning``, as before ``ExactPartitioning``),
- ``BoTorch tutorial`` (qLogNEHVI, 128 MC samples, 10 restarts, 512 raw samples, exact).

Run alone on a quiet machine::

    python -m benchmarks.three_objectives --repeats 2

Results go to ``docs/results/three_objectives.json`` and ``.md``. Whether the approximation
costs hypervolume is measured by ``benchmarks/suite.py`` (3-objective problems).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
PROBLEMS = ("DTLZ2-6x3", "VehicleSafety")


def history(name: str, n: int, seed: int) -> tuple[Any, Any, Any, int]:
    """A study-like history of ``n`` observations with a large front, and its front size."""
    from benchmarks.suite_problems import PROBLEMS as SUITE
    from hpo_notebook.objectives import Objectives
    from hpo_notebook.optimizers import History
    from hpo_notebook.pareto import non_dominated_mask

    problem = SUITE[name]()
    space = problem.space
    rng = np.random.default_rng(seed)
    sobol = np.array([space.to_unit(p) for p in space.sobol(n // 3, seed)])
    near = rng.uniform(size=(n - len(sobol), space.dim))
    if name.startswith("DTLZ2"):  # the first m - 1 inputs place a point on the front
        near[:, 2:] = np.clip(0.5 + rng.normal(0.0, 0.03, near[:, 2:].shape), 0.0, 1.0)
    X = np.vstack([sobol, near])
    metrics = [problem.truth(space.from_unit(x.tolist())) for x in X]
    Y = np.array([[m[k] for k in problem.objectives] for m in metrics])
    objs = Objectives.parse(dict(problem.objectives))
    front = int(non_dominated_mask(-Y).sum())
    return space, objs, History(X, Y, np.zeros((0, space.dim)), n), front


VARIANTS: dict[str, dict[str, Any]] = {
    "ours": {},
    "ours, dim-scaled prior only": {"gp_prior": "dim_scaled"},
    "ours hv_alpha=0.01": {"hv_alpha": 0.01},
    "ours 64 samples": {"mc_samples_many": 64},
    "ours, BoTorch's boxes": {},
}


def time_ours(space: Any, objs: Any, hist: Any, variant: str) -> float:
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )

    from hpo_notebook.optimizers.botorch import BoTorchOptimizer, boxes
    from hpo_notebook.optimizers.botorch.settings import OptimizeSettings

    opt = BoTorchOptimizer(settings=OptimizeSettings(**VARIANTS[variant]))
    with contextlib.ExitStack() as stack:
        if variant == "ours, BoTorch's boxes":  # as before boxes.ExactPartitioning
            stack.enter_context(
                mock.patch.object(
                    boxes._LogNEHVI,
                    "_set_cell_bounds",
                    qLogNoisyExpectedHypervolumeImprovement._set_cell_bounds,
                )
            )
        t0 = time.perf_counter()
        s = opt.suggest(space, objs, hist, 4, seed=1)
        elapsed = time.perf_counter() - t0
    assert s.proposals[0].kind == "qLogNEHVI", s.proposals[0]
    return elapsed


def time_tutorial(hist: Any, objs: Any) -> float:
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling.normal import SobolQMCNormalSampler
    from botorch.utils.multi_objective.hypervolume import infer_reference_point
    from gpytorch.mlls import ExactMarginalLogLikelihood

    t0 = time.perf_counter()
    X = torch.as_tensor(hist.X)
    Y = -torch.as_tensor(hist.Y)  # every objective minimized here
    model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=Y.shape[-1]))
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    acqf = qLogNoisyExpectedHypervolumeImprovement(
        model=model,
        ref_point=infer_reference_point(Y),
        X_baseline=X,
        prune_baseline=True,
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128]), seed=0),
    )
    bounds = torch.stack([torch.zeros(X.shape[-1]), torch.ones(X.shape[-1])]).double()
    optimize_acqf(
        acqf,
        bounds=bounds,
        q=4,
        num_restarts=10,
        raw_samples=512,
        options={"batch_limit": 5, "maxiter": 200},
        sequential=True,
    )
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="histories (seeds) per cell")
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--no-tutorial", action="store_true", help="skip the plain BoTorch loop")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    # the machine's two cores for the tutorial loop; ours sets one thread while proposing
    # (OptimizeSettings.torch_threads: two were slower here, 5.6 s against 3.6 s)
    torch.set_num_threads(2)
    rows: list[dict[str, Any]] = []
    for name in PROBLEMS:
        for n in args.sizes:
            for seed in range(args.repeats):
                space, objs, hist, front = history(name, n, seed)
                time_ours(space, objs, hist, "ours")  # imports, kernel load
                row: dict[str, Any] = {"problem": name, "n": n, "seed": seed, "front": front}
                for variant in VARIANTS:
                    row[variant] = time_ours(space, objs, hist, variant)
                if not args.no_tutorial:
                    row["BoTorch tutorial"] = time_tutorial(hist, objs)
                rows.append(row)
                print(
                    json.dumps(
                        {k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}
                    ),
                    flush=True,
                )
    methods = [k for k in rows[0] if k not in ("problem", "n", "seed", "front")]
    lines = [
        "Seconds per batch of 4, three objectives (median over histories; 2 torch threads):",
        "",
        "| problem | observations | front size | " + " | ".join(methods) + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    for name in PROBLEMS:
        for n in args.sizes:
            rs = [r for r in rows if r["problem"] == name and r["n"] == n]
            front = statistics.median(r["front"] for r in rs)
            cells = [f"{statistics.median(r[m] for r in rs):.2f}" for m in methods]
            lines.append(f"| {name} | {n} | {front:.0f} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "three_objectives.json").write_text(json.dumps(rows, indent=1))
    command = " ".join(sys.argv[1:] if argv is None else argv)
    (RESULTS / "three_objectives.md").write_text(
        f"{table}\n\nCommand: `python -m benchmarks.three_objectives {command}`, "
        f"{time.strftime('%Y-%m-%d')}.\n"
    )


if __name__ == "__main__":
    main()
