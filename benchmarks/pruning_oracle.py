"""How much any pruning rule could save: an oracle on the replay's recorded curves.

The replay (``pruning_replay.py``) scores a rule by the hypervolume of the trials it lets
finish, against the unpruned run of the same seed (the same ``n_trials`` recorded
configurations). An oracle that knows every trial's final values lets finish only the
fewest trials whose final values keep a given share of the unpruned hypervolume, and stops
every other trial at its first report (a rule must see a trial once before it can judge
it). No rule that judges from reports saves more on that seed while keeping that share:
this bounds what issue 11's targets ask (>= 70% saved at >= 0.95 kept on every workload,
>= 80% at >= 0.98 on average).

The fewest trials are exact, not greedy: with two objectives, the largest hypervolume of
``c`` points of the front is a dynamic program over the front sorted by the first objective.

Run::

    python -m benchmarks.pruning_oracle --seeds 30

Prints a table and writes ``docs/results/pruning_oracle.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import numpy as np

from benchmarks.pruning import RESULTS
from benchmarks.pruning_curves import load

#: Hypervolume shares of issue 11's targets (every workload; on average).
SHARES = (0.95, 0.98)


def best_hypervolumes(points: np.ndarray, ref: Sequence[float]) -> list[float]:
    """``out[c - 1]``: the largest hypervolume (two objectives, both minimized, reference
    point ``ref``) of any ``c`` of ``points``, for ``c = 1 .. len(front)``.

    Example:
        >>> best_hypervolumes(np.array([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]]), [3.0, 3.0])
        [4.0, 5.0, 6.0]
    """
    r1, r2 = float(ref[0]), float(ref[1])
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    pts = pts[(pts[:, 0] < r1) & (pts[:, 1] < r2)]
    if not len(pts):
        return []
    # the front, sorted by the first objective (the second then falls): only its points help
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    front = []
    for x, y in pts:
        if not front or y < front[-1][1]:
            front.append((x, y))
    m = len(front)
    xs = [p[0] for p in front] + [r1]
    ys = [p[1] for p in front]
    # best[c][i]: largest hypervolume of c chosen points whose leftmost is front[i], counting
    # the region from x_i rightwards
    best = [[(r1 - xs[i]) * (r2 - ys[i]) for i in range(m)]]
    for _ in range(2, m + 1):
        prev, row = best[-1], []
        for i in range(m):
            row.append(
                max(
                    ((xs[k] - xs[i]) * (r2 - ys[i]) + prev[k] for k in range(i + 1, m)),
                    default=-np.inf,
                )
            )
        best.append(row)
    return [float(max(row)) for row in best]


def oracle(
    finals: np.ndarray, ref: Sequence[float], max_steps: int, share: float
) -> dict[str, float]:
    """The fewest trials to run to the end so that their final values keep ``share`` of the
    hypervolume of all of them, and the steps saved when every other trial stops after one
    step (``saved``) or costs nothing (``saved_free``)."""
    n = len(finals)
    hv = best_hypervolumes(finals, ref)
    if not hv:
        return {"front": 0, "needed": 0, "saved": 1 - 1 / max_steps, "saved_free": 1.0}
    k = next(c for c, v in enumerate(hv, start=1) if v >= share * hv[-1] - 1e-12)
    return {
        "front": len(hv),
        "needed": k,
        "saved": 1 - (k * max_steps + (n - k)) / (n * max_steps),
        "saved_free": 1 - k / n,
    }


def run(workload: str, seeds: int, n_trials: int) -> dict[float, list[dict[str, float]]]:
    """The oracle on the replay's draws (same seeds, same configurations)."""
    from benchmarks.pruning_workloads import WORKLOADS

    w = WORKLOADS[workload]
    recorded = load(workload)
    out: dict[float, list[dict[str, float]]] = {s: [] for s in SHARES}
    for seed in range(seeds):
        pick = np.random.default_rng(seed).choice(len(recorded), n_trials, replace=False)
        finals = np.array([recorded[i]["curve"][-1][1:] for i in pick], dtype=float)
        for share in SHARES:
            out[share].append(oracle(finals, w.ref, w.max_steps, share))
    return out


def table(results: dict[str, dict[float, list[dict[str, float]]]], n_trials: int) -> str:
    lines = [
        f"The oracle of `pruning_oracle.py` on the replay's draws ({n_trials} trials per seed; "
        "mean over seeds, worst seed in brackets): the final front's size, the fewest trials "
        "that must run to the end to keep each share of the unpruned hypervolume, and the "
        "steps saved when every other trial stops after its first step.",
        "",
        "| workload | front | needed for 0.95 | saved at 0.95 | needed for 0.98 | saved at 0.98 |",
        "|---|---|---|---|---|---|",
    ]
    means: dict[float, list[float]] = {s: [] for s in SHARES}
    for wl, per in results.items():
        cells = [wl, f"{statistics.mean(r['front'] for r in per[SHARES[0]]):.1f}"]
        for s in SHARES:
            saved = [r["saved"] for r in per[s]]
            means[s].append(statistics.mean(saved))
            cells.append(f"{statistics.mean(r['needed'] for r in per[s]):.1f}")
            cells.append(f"{statistics.mean(saved):.0%} ({min(saved):.0%})")
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**mean**", ""]
    for s in SHARES:
        cells += ["", f"{statistics.mean(means[s]):.0%}"]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.pruning_workloads import WORKLOADS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--out", default="pruning_oracle")
    args = ap.parse_args(argv)
    results = {wl: run(wl, args.seeds, args.trials) for wl in args.workloads}
    text = table(results, args.trials)
    print(text)
    meta = (
        f"\n\nCommand: `python -m benchmarks.pruning_oracle --seeds {args.seeds} --trials "
        f"{args.trials}`, {time.strftime('%Y-%m-%d')}.\n"
    )
    (RESULTS / f"{args.out}.md").write_text(text + meta)


if __name__ == "__main__":
    main()
