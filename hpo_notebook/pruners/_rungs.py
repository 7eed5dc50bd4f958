"""Successive-halving maths as pure functions: rung steps and who goes on at a rung.

Values are in the maximization frame (bigger is better) so one code path serves "min" and
"max" objectives.

Example:
    >>> rung_steps(max_steps=27, grace=1, eta=3)
    [1, 3, 9]
    >>> promotable(0.9, [0.5, 0.7, 0.9], eta=3)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def rung_steps(max_steps: float, grace: float, eta: float) -> list[float]:
    """Steps ``grace * eta**k`` below ``max_steps``: where trials may be stopped.

    A trial that reaches ``max_steps`` has done all its work and is never stopped there.
    """
    out = []
    k = 0
    while (s := grace * eta**k) < max_steps:
        out.append(int(s) if float(s).is_integer() else s)
        k += 1
    return out


def keep_count(n: int, eta: float) -> int:
    """How many of ``n`` trials at a rung go on: the top ``n // eta``, and at least one (so the
    first trials to reach a rung must be the best so far, as in Optuna's successive halving)."""
    return max(1, math.floor(n / eta))


def promotable(value: float, competing: Sequence[float], eta: float) -> bool:
    """Whether ``value`` (maximized) is within the top ``keep_count`` of ``competing``.

    ``competing`` includes ``value`` itself.
    """
    k = keep_count(len(competing), eta)
    return value >= sorted(competing, reverse=True)[k - 1]


def nondominated_ranks(Y: np.ndarray, top: int | None = None) -> np.ndarray:
    """Front index of each row (0 = not dominated), by fast non-dominated sorting (Deb et al.,
    2002): one domination matrix, then fronts peeled off by counting dominators.

    With ``top``, stop once that many rows have a front; the rest share the next index.
    """
    n = len(Y)
    ranks = np.full(n, -1)
    if n == 0:
        return ranks
    ge = np.all(Y[:, None, :] >= Y[None, :, :], axis=2)
    gt = np.any(Y[:, None, :] > Y[None, :, :], axis=2)
    dom = ge & gt  # dom[i, j]: row i dominates row j
    count = dom.sum(axis=0)
    remaining = np.ones(n, dtype=bool)
    front = 0
    while remaining.any():
        if top is not None and n - remaining.sum() >= top:
            ranks[remaining] = front
            break
        current = remaining & (count == 0)
        ranks[current] = front
        remaining &= ~current
        count = count - dom[current].sum(axis=0)
        front += 1
    return ranks


def dominated(index: int, Y: np.ndarray) -> bool:
    """Whether another row of ``Y`` (maximized) dominates row ``index`` (one pass)."""
    rows, y = Y, Y[index]
    return bool(np.any(np.all(rows >= y, axis=1) & np.any(rows > y, axis=1)))


def hypervolume_share(index: int, Y: np.ndarray, margin: float = 0.1) -> float:
    """The share of the hypervolume of ``Y``'s undominated rows (all maximized) that row
    ``index`` adds, against a reference point ``margin`` of each column's range below its
    worst value (the rung's own scale: a pruner knows no other).

    Example:
        >>> Y = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.9]])
        >>> round(hypervolume_share(2, Y), 3), round(hypervolume_share(0, Y), 3)  # of 1.02
        (0.794, 0.01)
    """
    from hpo_notebook.pareto import hypervolume, non_dominated_mask

    Y = np.asarray(Y, dtype=float)
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    ref = lo - margin * np.maximum(hi - lo, 1e-12)
    total = hypervolume(Y[non_dominated_mask(Y)], ref)
    if total <= 0:
        return 0.0
    others = np.delete(Y, index, axis=0)
    rest = hypervolume(others[non_dominated_mask(others)], ref) if len(others) else 0.0
    return float((total - rest) / total)


def crowding_distance(Y: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance within one front; the extremes of each objective get inf, so
    the ends of the front (e.g. the smallest models) are kept first."""
    n, m = Y.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(Y[:, j], kind="stable")
        span = Y[order[-1], j] - Y[order[0], j]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span <= 0:
            continue
        dist[order[1:-1]] += (Y[order[2:], j] - Y[order[:-2], j]) / span
    return dist


def multi_objective_order(Y: np.ndarray, top: int | None = None) -> np.ndarray:
    """Indices of ``Y``'s rows from best to worst: by non-dominated front, then by crowding
    distance (larger first), then by index for a deterministic order. With ``top``, only the
    first ``top`` are exact (the rest follow in a coarser order)."""
    if Y.shape[1] == 1:
        return np.argsort(-Y[:, 0], kind="stable")
    ranks = nondominated_ranks(Y, top)
    crowd = np.zeros(len(Y))
    for r in np.unique(ranks):
        idx = np.flatnonzero(ranks == r)
        crowd[idx] = crowding_distance(Y[idx])
    return np.array(sorted(range(len(Y)), key=lambda i: (ranks[i], -crowd[i], i)), dtype=int)


def promotable_multi(index: int, Y: np.ndarray, eta: float) -> bool:
    """Whether row ``index`` of ``Y`` (all maximized) is among the top ``keep_count`` rows in
    :func:`multi_objective_order`. While fewer than ``eta`` trials compete, "the best so far"
    means not dominated by any of them."""
    if math.floor(len(Y) / eta) == 0:
        return bool(nondominated_ranks(Y)[index] == 0)
    k = keep_count(len(Y), eta)
    return index in set(multi_objective_order(Y)[:k].tolist())
