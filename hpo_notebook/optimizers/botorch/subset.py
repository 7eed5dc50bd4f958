"""Which observations the model sees once a study has many: a bounded subset.

An exact GP costs O(n^3) to fit and O(n^2) per prediction, and qLogNEHVI's cost grows with
the points that may be on the front. Past a few hundred observations the model is fitted
on at most ``k`` of them (pure NumPy, no torch):

- half from the best non-domination ranks (feasible points first), where the next
  proposals matter; a first rank larger than that half is thinned to an even spread along
  the front (farthest-point selection in objectives scaled to ``[0, 1]``, extremes first);
- the most recent quarter of the rows (the outcomes of the latest proposals: without them
  a model that had not seen where its previous proposals went proposed the same points
  again, a third of all proposals of a 1,000-trial BraninCurrin study);
- the rest spread over the other inputs (farthest-point selection in the unit cube), so
  the model still knows where the bad regions are.

Both are deterministic given the data and the seed. The indices come back sorted, so the
caller can subset any array aligned with ``Y``. The acquisition's baseline (the points that
may be on the front) is chosen from all rows the same way as the best half, ``n_front`` of
them:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.uniform(size=(500, 3)), rng.uniform(size=(500, 2))
    >>> idx, front = model_subset(X, Y, np.ones(500, bool), k=64, seed=0, n_front=16)
    >>> len(idx), len(front), bool((np.diff(idx) > 0).all())
    (64, 16, True)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: rows of the dominance comparison handled at once (bounds memory to ~chunk x n x m)
_CHUNK = 512


def domination_counts(Y: np.ndarray) -> np.ndarray:
    """For each row of ``Y`` (maximized), how many rows dominate it (0: on the front).

    >>> domination_counts(np.array([[1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])).tolist()
    [0, 2, 0]
    """
    n = len(Y)
    if Y.ndim == 2 and Y.shape[1] == 2 and n > _CHUNK and np.isfinite(Y).all():
        return _domination_counts_2d(Y)
    counts = np.zeros(n, dtype=np.int64)
    cols = [np.ascontiguousarray(Y[:, j]) for j in range(Y.shape[1])]
    for lo in range(0, n, _CHUNK):
        # one objective at a time: 2-D comparisons, no n x n x m array to reduce
        block = [c[lo : lo + _CHUNK, None] for c in cols]  # the points being dominated
        geq = cols[0][None, :] >= block[0]
        gt = cols[0][None, :] > block[0]
        for c, bl in zip(cols[1:], block[1:], strict=True):
            geq &= c[None, :] >= bl
            gt |= c[None, :] > bl
        counts[lo : lo + _CHUNK] = (geq & gt).sum(axis=1)
    return counts


def _domination_counts_2d(Y: np.ndarray) -> np.ndarray:
    """:func:`domination_counts` for two objectives in O(n log n) (the pairwise comparison
    took a second at 5,000 observations): the rows at least as good in both objectives,
    counted with a Fenwick tree over the second objective's ranks while sweeping the first
    from the top, minus the rows equal to it (itself included)."""
    n = len(Y)
    a, b = Y[:, 0], Y[:, 1]
    # rank 1 is the largest b; equal values share a rank
    b_rank = (np.unique(-b, return_inverse=True)[1] + 1).tolist()
    tree = [0] * (max(b_rank) + 1)
    order = np.argsort(-a, kind="stable").tolist()
    a_list = a.tolist()
    weak = [0] * n
    i = 0
    while i < n:
        j = i
        while j < n and a_list[order[j]] == a_list[order[i]]:
            j += 1
        group = order[i:j]  # equal first objective: each counts the others
        for k in group:
            r = b_rank[k]
            while r < len(tree):
                tree[r] += 1
                r += r & -r
        for k in group:
            r, total = b_rank[k], 0
            while r > 0:
                total += tree[r]
                r -= r & -r
            weak[k] = total
        i = j
    equal = np.unique(Y, axis=0, return_inverse=True, return_counts=True)
    return np.asarray(weak, dtype=np.int64) - equal[2][equal[1].reshape(-1)]


def farthest_points(P: np.ndarray, k: int, first: list[int] | None = None) -> list[int]:
    """Greedy farthest-point selection of ``k`` rows of ``P``, starting from ``first``
    (or row 0): each next row is the one farthest from those chosen.

    >>> farthest_points(np.array([[0.0], [0.1], [1.0], [0.5]]), 3)
    [0, 2, 3]
    """
    n = len(P)
    if k >= n:
        return list(range(n))
    chosen = list(dict.fromkeys(first or [0]))[:k]
    dist = np.full(n, np.inf)
    for i in chosen:
        dist = np.minimum(dist, ((P - P[i]) ** 2).sum(axis=1))
    while len(chosen) < k:
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, ((P - P[i]) ** 2).sum(axis=1))
    return chosen


class ModelSubset(NamedTuple):
    """What :func:`model_subset` chose (indices into the rows it was given)."""

    #: the rows the model is fitted on, sorted
    indices: np.ndarray
    #: the ``n_front`` best-ranked rows of all (spread along a larger first rank), best
    #: first: the acquisition's baseline
    front: np.ndarray


def model_subset(
    X: np.ndarray,
    Y_obj: np.ndarray,
    feasible: np.ndarray,
    k: int,
    seed: int,
    n_front: int = 32,
) -> ModelSubset:
    """Indices (sorted) of at most ``k`` rows of ``X`` / ``Y_obj`` for the model to see,
    and the ``n_front`` best-ranked rows of all (the acquisition's baseline), both chosen
    as the module docstring says.

    Args:
        X: ``n x d`` unit-cube points.
        Y_obj: ``n x m`` objective values in the maximization frame.
        feasible: ``n`` booleans; infeasible points rank after every feasible one.
        k: how many to keep.
        seed: chooses where the space-filling half starts.
        n_front: how many best-ranked rows to return as ``front``.
    """
    n = len(X)
    rank = domination_counts(Y_obj).astype(np.float64)
    rank[~feasible] += n  # constrained domination: any feasible point ranks first
    order = np.argsort(rank, kind="stable")
    front = _best_ranked(order, rank, Y_obj, n_front)
    if n <= k:
        return ModelSubset(np.arange(n), front)
    best = np.union1d(_best_ranked(order, rank, Y_obj, k // 2), np.arange(n - k // 4, n))
    rest = np.setdiff1d(np.arange(n), best)
    start = int(np.random.default_rng(seed).integers(len(rest)))
    spread = rest[farthest_points(X[rest], k - len(best), [start])]
    idx = np.sort(np.concatenate([best, spread]))
    return ModelSubset(idx, front)


def _best_ranked(order: np.ndarray, rank: np.ndarray, Y_obj: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` best-ranked rows (``order`` sorts ``rank``); a first rank larger than
    that is thinned to an even spread along the front, its extremes first."""
    first = order[rank[order] == rank[order[0]]] if len(order) else order
    if len(first) <= count:
        return order[:count]
    F = Y_obj[first]
    span = np.ptp(F, axis=0)
    F = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    extremes = [int(np.argmax(F[:, j])) for j in range(F.shape[1])]
    return first[farthest_points(F, count, extremes)]


__all__ = ["ModelSubset", "domination_counts", "farthest_points", "model_subset"]
