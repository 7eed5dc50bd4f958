"""Search-space boundary warnings: the good trials pile up against a bound of a parameter,
so the range may cut the optimum off.

The good trials are the Pareto front of the feasible completed trials (for one objective: the
best fifth, at least :data:`MIN_GOOD`). For each Float and Int parameter, in the unit cube
(so a log-scaled parameter is judged on its log scale), a bound is flagged when at least half
of the good trials, and at least :data:`MIN_GOOD`, lie within :data:`MARGIN` of it. Under
good trials spread over the range, a given bound holds each of them with probability 0.05, so
half of five or more there is a p-value under 0.001. Choices are not judged: they have no
bounds. Pure functions; the study calls :func:`boundary_warnings` as trials complete.

Example:
    >>> import hpo_notebook as hn
    >>> space = hn.Space(lr=hn.Float(1e-4, 1e-2, log=True), width=hn.Int(8, 64))
    >>> objs = hn.objectives.Objectives.parse({"loss": "min"})
    >>> trials = [hn.Trial(i, hn.TrialState.COMPLETE, {"lr": 1e-2 * (1 - 0.001 * i),
    ...           "width": 8 + 7 * i}, values={"loss": -i * (i < 6) + 10 * (i >= 6)})
    ...           for i in range(30)]
    >>> [(w.parameter, w.bound) for w in boundary_warnings(space, objs, trials)]
    [('lr', 'upper')]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_notebook import results as R
from hpo_notebook.objectives import Objectives
from hpo_notebook.space import Choice, Space
from hpo_notebook.trial import Trial

#: how close to a bound, in the unit cube, counts as "against" it
MARGIN = 0.05
#: the fewest good trials that can make a warning
MIN_GOOD = 5
#: the fewest completed trials before any warning
MIN_COMPLETE = 10


@dataclass(frozen=True)
class BoundaryWarning:
    """Good trials against ``bound`` (``"lower"`` or ``"upper"``, at ``value``) of
    ``parameter``: ``near`` of the ``good`` trials lie within :data:`MARGIN` of it."""

    parameter: str
    bound: str
    value: Any
    near: int
    good: int
    what: str  # "the Pareto front" or "the best fifth"

    def message(self) -> str:
        return (
            f"hpo_notebook: {self.near} of the {self.good} trials of {self.what} have "
            f"{self.parameter!r} within {MARGIN:.0%} of its range from its {self.bound} bound "
            f"({self.value!r}): the optimum may lie beyond it. Widen the range and continue: "
            "hn.load_study(path, fn, space=<the wider space>)"
        )


def good_trials(trials: Sequence[Trial], objectives: Objectives) -> tuple[list[Trial], str]:
    """The trials the warning looks at, and how to name them."""
    feasible = R.feasible(trials, objectives)
    if objectives.n > 1:
        Y = R.objective_matrix(feasible, objectives)
        return [feasible[i] for i in _front(Y)], "the Pareto front"
    if not feasible:
        return [], "the best fifth"
    y = R.objective_matrix(feasible, objectives)[:, 0]
    k = max(MIN_GOOD, math.ceil(len(feasible) / 5))
    return [feasible[i] for i in np.argsort(-y, kind="stable")[:k]], "the best fifth"


def _front(Y: np.ndarray) -> list[int]:
    """Indices of the rows of ``Y`` (maximized) that no other row dominates: one pass in
    order of the first column, each row compared with the front so far (no BoTorch import
    on the driver's thread, and O(n x front) rather than O(n^2))."""
    order = np.lexsort(tuple(-Y[:, k] for k in reversed(range(Y.shape[1]))))
    front: list[int] = []
    for i in order:
        if front:
            F = Y[front]
            if np.any(np.all(Y[i] <= F, axis=1) & np.any(Y[i] < F, axis=1)):
                continue
        front.append(int(i))
    return sorted(front)


def boundary_warnings(
    space: Space, objectives: Objectives, trials: Sequence[Trial]
) -> list[BoundaryWarning]:
    """Bounds the good trials pile up against (see the module docstring)."""
    if len(R.completed(trials, objectives)) < MIN_COMPLETE:
        return []
    good, what = good_trials(trials, objectives)
    if len(good) < MIN_GOOD:
        return []
    out = []
    for name in space.names:
        param = space[name]
        if isinstance(param, Choice):
            continue
        active = [t for t in good if name in t.params]  # a conditional one may be inactive
        if len(active) < MIN_GOOD:
            continue
        u = np.array([param.to_unit(t.params[name]) for t in active], dtype=float)
        for bound, near, value in (
            ("lower", int(np.sum(u <= MARGIN)), param.low),
            ("upper", int(np.sum(u >= 1.0 - MARGIN)), param.high),
        ):
            if near >= MIN_GOOD and 2 * near >= len(active):
                out.append(BoundaryWarning(name, bound, value, near, len(active), what))
    return out
