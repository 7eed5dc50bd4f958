"""Quasi-random search: a scrambled Sobol sequence over the space.

Point ``i`` of the study is point ``i`` of the sequence for the study's seed, so a resumed
study draws exactly what it would have drawn. Also the initial design of the Bayesian
optimizer and its fallback.
"""

from __future__ import annotations

from typing import Any

from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers.base import History, Proposal, Suggestion
from hpo_notebook.space import Space


def sobol_proposals(
    space: Space, start: int, n: int, seed: int, kind: str = "sobol", note: str | None = None
) -> list[Proposal]:
    """Points ``start .. start + n - 1`` of the scrambled Sobol sequence for ``seed``."""
    out = []
    for i, params in enumerate(space.sobol(n, seed=seed, skip=start)):
        info = {"sobol_index": start + i, "fit_s": 0.0, "acq_s": 0.0}
        if note:
            info["note"] = note
        out.append(Proposal(params, kind, info))
    return out


class SobolSearch:
    """Quasi-random search (no model).

    Example:
        >>> import hpo_notebook as hn
        >>> from hpo_notebook.optimizers.base import History
        >>> space = hn.Space(x=hn.Float(0, 1))
        >>> objs = Objectives.parse({"y": "min"})
        >>> s = SobolSearch().suggest(space, objs, History.empty(1, 1), n=2, seed=0)
        >>> [p.kind for p in s.proposals]
        ['sobol', 'sobol']
    """

    name = "sobol"

    def suggest(
        self,
        space: Space,
        objectives: Objectives,
        history: History,
        n: int,
        seed: int,
        state: dict[str, Any] | None = None,
    ) -> Suggestion:
        return Suggestion(sobol_proposals(space, history.n_trials, n, seed))
