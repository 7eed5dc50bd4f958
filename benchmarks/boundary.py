"""Boundary warnings, measured: how often the warning fires within 30 trials when the
optimum lies outside the range on one parameter, and when it lies inside.

Two problems, each in an "outside" and an "inside" version that differ only in where the
optimum is on one parameter:

- ``bowl-4d``: one objective, 4 inputs, ``sum((x - c)^2)`` with ``c0`` = 1.3 (outside) or
  0.6 (inside), the other coordinates of ``c`` inside;
- ``log-lr-2obj``: two objectives, a log-scaled learning rate in [1e-4, 1e-2] and one more
  input; both objectives want ``lr`` = 3e-2 (outside) or 1e-3 (inside).

Each run: the default optimizer in batches of 4 on a simulated cluster of 4 workers, 30
trials, 10 seeds for the outside versions and 20 for the inside ones.

    python -m benchmarks.boundary

Results: ``docs/results/boundary.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks._results import RESULTS, publish

T0 = 1_700_000_000.0


def _bowl(c0: float) -> Any:
    def fn(params: dict[str, Any], trial: Any) -> dict[str, float]:
        c = (c0, 0.4, 0.6, 0.5)
        return {"loss": sum((params[f"x{i}"] - c[i]) ** 2 for i in range(4))}

    return fn


def _log_lr(best_lr: float) -> Any:
    def fn(params: dict[str, Any], trial: Any) -> dict[str, float]:
        d = (math.log10(params["lr"]) - math.log10(best_lr)) ** 2
        return {"f0": d + (params["x"] - 0.3) ** 2, "f1": d + (params["x"] - 0.8) ** 2}

    return fn


def problems() -> dict[str, dict[str, Any]]:
    import hpo_notebook as hn

    bowl_space = {f"x{i}": hn.Float(0.0, 1.0) for i in range(4)}
    lr_space = {"lr": hn.Float(1e-4, 1e-2, log=True), "x": hn.Float(0.0, 1.0)}
    return {
        "bowl-4d outside (x0)": {"fn": _bowl(1.3), "space": bowl_space,
                                  "objectives": {"loss": "min"}, "outside": ("x0", "upper")},
        "bowl-4d inside": {"fn": _bowl(0.6), "space": bowl_space,
                           "objectives": {"loss": "min"}, "outside": None},
        "log-lr-2obj outside (lr)": {"fn": _log_lr(3e-2), "space": lr_space,
                                      "objectives": {"f0": "min", "f1": "min"},
                                      "outside": ("lr", "upper")},
        "log-lr-2obj inside": {"fn": _log_lr(1e-3), "space": lr_space,
                               "objectives": {"f0": "min", "f1": "min"}, "outside": None},
    }  # fmt: skip


def run_one(problem: dict[str, Any], seed: int, trials: int) -> dict[str, Any]:
    """One study; the trial count at which each boundary warning first fired."""
    import hpo_notebook as hn

    study = hn.Study(problem["fn"], problem["space"], problem["objectives"], seed=seed)
    fired: dict[str, int] = {}

    def note(event: Any) -> None:
        for w in study.warnings():
            fired.setdefault(w, sum(t.state.finished for t in study.trials))

    study.subscribe(note)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.run(trials, cluster=hn.SimulatedCluster(4, start=T0), progress=False, show=False)
    note(None)
    return {"seed": seed, "fired": [{"message": m, "after": n} for m, n in fired.items()]}


def run(trials: int = 30, seeds_outside: int = 10, seeds_inside: int = 20) -> dict[str, Any]:
    out: dict[str, Any] = {"trials": trials, "problems": {}}
    for name, problem in problems().items():
        seeds = seeds_outside if problem["outside"] else seeds_inside
        runs = []
        for seed in range(seeds):
            t0 = time.perf_counter()
            r = run_one(problem, seed, trials)
            r["real_s"] = round(time.perf_counter() - t0, 1)
            runs.append(r)
            print(f"  {name} seed {seed}: {[f['after'] for f in r['fired']]}", flush=True)
        if problem["outside"]:
            param, bound = problem["outside"]
            right = [r for r in runs if any(f"{param!r} within" in f["message"]
                                             and f"{bound} bound" in f["message"]
                                             for f in r["fired"])]  # fmt: skip
            summary = {"expected": f"{param} {bound}", "fired_right": len(right)}
        else:
            summary = {"expected": None, "fired_right": None}
        summary.update(
            runs=runs,
            seeds=seeds,
            fired_any=sum(bool(r["fired"]) for r in runs),
            first_after=[min((f["after"] for f in r["fired"]), default=None) for r in runs],
        )
        out["problems"][name] = summary
    return out


def render(res: dict[str, Any]) -> str:
    lines = [
        "# Boundary warnings",
        "",
        f"`{res.get('command', '')}` ({res.get('when', '')}): {res['trials']} trials per run, "
        "the default optimizer in batches of 4 (simulated cluster of 4 workers).",
        "",
        "| problem | seeds | warned about the right bound | warned at all | after (trials) |",
        "|---|---|---|---|---|",
    ]
    for name, p in res["problems"].items():
        right = "" if p["fired_right"] is None else f"{p['fired_right']} of {p['seeds']}"
        after = ", ".join("-" if a is None else str(a) for a in p["first_after"])
        lines.append(f"| {name} | {p['seeds']} | {right} | {p['fired_any']} of {p['seeds']} "
                     f"| {after} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seeds-outside", type=int, default=10)
    ap.add_argument("--seeds-inside", type=int, default=20)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    return publish(
        "boundary", run(args.trials, args.seeds_outside, args.seeds_inside), render, args.out, argv
    )


if __name__ == "__main__":
    main()
