"""The median rule: stop a trial whose best value so far is worse than the median of the other
trials' values at the same step (Golovin et al., 2017; Optuna's ``MedianPruner``).

Example:
    >>> from hpo_notebook.objectives import Objectives
    >>> objs = Objectives.parse({"loss": "min"})
    >>> p = Median(warmup=1, min_trials=2)
    >>> p.bind(objs)
    >>> h = ReportHistory(objs)
    >>> for t, loss in enumerate([0.2, 0.4, 0.9]):
    ...     h.add(t, 2, {"loss": loss})
    ...     print(p.decide(t, 2, {"loss": loss}, h).prune)
    False
    False
    True
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any

from hpo_notebook._numbers import positive_int
from hpo_notebook.exceptions import ConfigError
from hpo_notebook.objectives import Objectives
from hpo_notebook.pruners.base import (
    CONTINUE,
    Decision,
    DecisionPoints,
    ReportHistory,
    bad_value_reason,
    non_finite,
    resolve_metrics,
)

__all__ = ["Median", "ReportHistory"]


class Median:
    """Median stopping rule on one metric.

    Args:
        warmup: steps before a trial can be stopped.
        min_trials: other trials that must have reported at a step before it is used.
        metric: the objective to watch (default: the study's first objective).
        max_steps: the last step of a trial, if known: a trial that reached it has done its
            work and is never stopped.
    """

    def __init__(
        self,
        warmup: float = 5,
        min_trials: int = 5,
        metric: str | None = None,
        max_steps: float | None = None,
    ) -> None:
        if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or warmup < 0:
            raise ConfigError(f"Median: warmup must be a number >= 0, got {warmup!r}")
        positive_int("Median: min_trials", min_trials)
        self.warmup, self.min_trials, self.metric = warmup, min_trials, metric
        self.max_steps = max_steps
        self._name = ""
        self._ranked = Objectives(())  # set by bind

    def __repr__(self) -> str:
        steps = "" if self.max_steps is None else f", max_steps={self.max_steps}"
        return f"Median(warmup={self.warmup}, min_trials={self.min_trials}{steps})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "Median",
            "warmup": self.warmup,
            "min_trials": self.min_trials,
            "metric": self.metric,
            "max_steps": self.max_steps,
        }

    def bind(self, objectives: Objectives) -> None:
        name = self.metric if self.metric is not None else objectives.names[0]
        self._ranked = resolve_metrics(objectives, name)
        self._name = name

    def prepare(self, history: ReportHistory) -> None:
        return None

    @property
    def decision_points(self) -> DecisionPoints:
        """Every report from the warm-up on (and before ``max_steps``)."""
        stop = math.inf if self.max_steps is None else self.max_steps
        return DecisionPoints(start=self.warmup, stop=stop)

    def _may_stop(self, step: float) -> bool:
        return step >= self.warmup and (self.max_steps is None or step < self.max_steps)

    def decide(
        self, trial: int, step: float, metrics: Mapping[str, float], history: ReportHistory
    ) -> Decision:
        if non_finite(metrics, [self._name]) is not None:
            return Decision(True, bad_value_reason(metrics, self._name, step))
        if not self._may_stop(step):
            return CONTINUE
        others = {t: v for t, v in history.values_at(step, self._name).items() if t != trial}
        if len(others) < self.min_trials:
            return CONTINUE
        to_max, name = self._ranked.to_max, self._name
        best = max(
            to_max(name, m[name]) for s, m in history.curve(trial) if s <= step and name in m
        )
        median = statistics.median(to_max(name, v) for v in others.values())
        if best < median:
            return Decision(
                True,
                f"best {self._name} so far is worse than the median of "
                f"{len(others)} other trials at step {step:g}",
            )
        return CONTINUE
