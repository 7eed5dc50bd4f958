"""Quasi-random search: a scrambled Sobol sequence over the space.

Point ``i`` of the study is point ``i`` of the sequence for the study's seed, so a resumed
study draws exactly what it would have drawn. Also the initial design of the Bayesian
optimizer and its fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers.base import History, Proposal, Suggestion
from hpo_notebook.space import Space

#: How far past the requested points the sequence is searched for ones not yet tried.
MAX_SKIP = 256


def sobol_proposals(
    space: Space,
    start: int,
    n: int,
    seed: int,
    kind: str = "sobol",
    note: str | None = None,
    avoid: Iterable[Mapping[str, Any]] = (),
) -> list[Proposal]:
    """``n`` points of the scrambled Sobol sequence for ``seed``, from index ``start`` on.

    Points equal to one in ``avoid`` (running or evaluated trials) or to an earlier point of
    the batch are skipped, so small discrete spaces are not sampled twice while untried
    points remain within :data:`MAX_SKIP` further indices.
    """
    seen = {_key(p) for p in avoid}
    candidates = space.sobol(n + MAX_SKIP if _is_discrete(space) else n, seed, start)
    picked: list[tuple[int, dict[str, Any]]] = []
    for i, params in enumerate(candidates):
        if len(picked) == n:
            break
        if _key(params) not in seen:
            seen.add(_key(params))
            picked.append((start + i, params))
    for i, params in enumerate(candidates[:n]):  # space exhausted: repeats are unavoidable
        if len(picked) == n:
            break
        picked.append((start + i, params))
    out = []
    for index, params in picked:
        info: dict[str, Any] = {"sobol_index": index, "fit_s": 0.0, "acq_s": 0.0}
        if note:
            info["note"] = note
        out.append(Proposal(params, kind, info))
    return out


def known_params(space: Space, history: History) -> list[dict[str, Any]]:
    """Parameters of the evaluated and pending points of ``history``; empty when the space has
    a Float parameter and is not conditional (repeats are then impossible and the check would
    cost time)."""
    if not _is_discrete(space):
        return []
    return [space.from_unit(x) for x in [*history.X.tolist(), *history.X_pending.tolist()]]


def _key(params: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple((k, type(v).__name__, v) for k, v in params.items())


def _is_discrete(space: Space) -> bool:
    # in a conditional space a branch without Float parameters can repeat a point
    return space.is_conditional or all(p.kind != "float" for p in space.values())


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

    def uses_model(self, space: Space, history: History) -> bool:
        return False

    def suggest(
        self,
        space: Space,
        objectives: Objectives,
        history: History,
        n: int,
        seed: int,
        state: dict[str, Any] | None = None,
    ) -> Suggestion:
        avoid = known_params(space, history)
        return Suggestion(sobol_proposals(space, history.n_trials, n, seed, avoid=avoid))
