"""Multi-objective ASHA: successive halving that ranks a rung by Pareto dominance.

At a rung, trials are ordered by non-dominated front and, within a front, by crowding
distance (NSGA-II; the extremes of each objective first), and the top ``1/eta`` go on
(Schmucker et al., 2021, "Multi-objective asynchronous successive halving", use an
epsilon-net for the tie-break; crowding distance serves the same purpose: keep the front
spread). Ranking on every objective keeps the cheap end of the front (small models) that
single-metric pruning throws away. By default (``keep_front=True``) a trial that no earlier
trial at the rung dominates goes on as well, so the front's middle is kept too.

Example:
    >>> from hpo_notebook.objectives import Objectives
    >>> objs = Objectives.parse({"err": "min", "size": "min"})
    >>> p = MultiObjectiveASHA(max_steps=9)
    >>> p.bind(objs)
    >>> h = ReportHistory(objs)
    >>> p.prepare(h)
    >>> for t, m in enumerate([{"err": 0.1, "size": 9}, {"err": 0.5, "size": 1},
    ...                        {"err": 0.6, "size": 5}]):
    ...     h.add(t, 1, m)
    ...     print(t, p.decide(t, 1, m, h).prune)
    0 False
    1 False
    2 True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hpo_notebook.exceptions import ConfigError
from hpo_notebook.objectives import Objectives
from hpo_notebook.pruners import _rungs
from hpo_notebook.pruners.asha import _SuccessiveHalving
from hpo_notebook.pruners.base import resolve_metrics
from hpo_notebook.reports import ReportHistory

__all__ = ["MultiObjectiveASHA", "ReportHistory"]


class MultiObjectiveASHA(_SuccessiveHalving):
    """Asynchronous successive halving ranked on several objectives at once.

    Args:
        max_steps: the last step a trial reports.
        grace: the first rung.
        eta: reduction factor.
        metrics: the objectives to rank on (default: all of the study's objectives).
        rungs: how many rungs to use (default: all below ``max_steps``).
        keep_front: a trial that no earlier trial at the rung dominates always goes on, even
            outside the top ``1/eta`` (the front's ends and its middle stay covered). The
            default since the pruning replay (``benchmarks/pruning_replay.py``): it kept
            >= 0.96 of the unpruned hypervolume on every workload, where ``False`` kept
            0.58-0.82. ``False`` is plain MO-ASHA: more steps saved, more of the front lost.
        min_share: with ``keep_front``, an undominated trial outside the top ``1/eta`` goes on
            only if it adds at least this share of the hypervolume of the rung's undominated
            trials (reference point: 10% of each objective's range beyond the rung's worst
            value), so the far, nearly empty ends of the front are not trained to the end.
            0 (default): every undominated trial goes on. Measured in the replay (0.02: 0.95-
            0.99 kept at 74-81% saved, against 0.96-1.00 at 67-77%), not yet in studies.
    """

    def __init__(
        self,
        max_steps: float,
        grace: float = 1,
        eta: float = 3,
        metrics: Iterable[str] | None = None,
        rungs: int | None = None,
        keep_front: bool = True,
        min_share: float = 0.0,
    ) -> None:
        super().__init__(max_steps, grace, eta, rungs)
        if not isinstance(keep_front, bool):
            raise ConfigError(
                f"MultiObjectiveASHA: keep_front must be True or False, got {keep_front!r}"
            )
        if (
            isinstance(min_share, bool)
            or not isinstance(min_share, (int, float))
            or not 0 <= min_share < 1
        ):
            raise ConfigError(
                f"MultiObjectiveASHA: min_share must be a number in [0, 1), got {min_share!r}"
            )
        self.metrics = list(metrics) if metrics is not None else None
        self.keep_front = keep_front
        self.min_share = float(min_share)

    def __repr__(self) -> str:
        return (
            f"MultiObjectiveASHA(max_steps={self.max_steps}, grace={self.grace}, "
            f"eta={self.eta}, keep_front={self.keep_front}"
            + (f", min_share={self.min_share:g})" if self.min_share else ")")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "MultiObjectiveASHA",
            "max_steps": self.max_steps,
            "grace": self.grace,
            "eta": self.eta,
            "metrics": self.metrics,
            "rungs": self.n_rungs,
            "keep_front": self.keep_front,
            "min_share": self.min_share,
        }

    def bind(self, objectives: Objectives) -> None:
        self._ranked = resolve_metrics(objectives, None, self.metrics)

    def _goes_on(self, index: int, Y: Any) -> bool:
        # the one-pass domination check first: with keep_front (the default) it decides most
        # promotions without sorting the rung into fronts
        undominated = self.keep_front and not _rungs.dominated(index, Y)
        if undominated and (
            self.min_share == 0 or _rungs.hypervolume_share(index, Y) >= self.min_share
        ):
            return True
        return _rungs.promotable_multi(index, Y, self.eta)
