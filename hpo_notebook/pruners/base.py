"""The pruner contract: from a report and the reports so far, continue or stop.

A pruner is pure: no I/O, no Dask. The study keeps its report log, a
:class:`~hpo_notebook.reports.ReportHistory` rebuilt from the stored reports when a study is
reopened (so pruning state survives a crash), and for every report of a running trial calls::

    history.add(trial, step, metrics)
    decision = pruner.decide(trial, step, metrics, history)

A decision to stop reaches the trial, whose next ``trial.report`` raises ``hn.Pruned``.
``pruner.decision_points`` says, as plain data, which reports the pruner answers (the first
report past each rung for ASHA, every report after the warm-up for the median rule); how a
trial waits for those answers is the executor's business
(:class:`~hpo_notebook.execution.base.DecisionPolicy`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from hpo_notebook.exceptions import ConfigError
from hpo_notebook.objectives import Objectives
from hpo_notebook.reports import ReportHistory

__all__ = [
    "CONTINUE",
    "EVERY_REPORT",
    "Decision",
    "DecisionPoints",
    "Pruner",
    "ReportHistory",
    "resolve_metrics",
]


@dataclass(frozen=True)
class Decision:
    """A pruner's answer. ``reason`` says why a trial is stopped (stored with the trial)."""

    prune: bool
    reason: str = ""


CONTINUE = Decision(False)


@dataclass(frozen=True)
class DecisionPoints:
    """The reports of a trial that a pruner answers: the first report at or after each of
    ``rungs`` when they are given, else every report at or after ``start``; none at or after
    ``stop``. Plain data, sent with each trial to where it runs.

    Example:
        >>> asha = DecisionPoints(rungs=(1, 3, 9), stop=27)
        >>> asha.includes(4, previous=2), asha.includes(4, previous=3), asha.includes(30, 20)
        (True, False, False)
        >>> DecisionPoints(start=5).includes(4, previous=3)
        False
    """

    rungs: tuple[float, ...] | None = None
    start: float = -math.inf
    stop: float = math.inf

    def includes(self, step: float, previous: float | None) -> bool:
        """Whether the report at ``step`` is answered (``previous``: the trial's reported step
        before it, None for its first report)."""
        if step >= self.stop:
            return False
        if self.rungs is None:
            return step >= self.start
        low = -math.inf if previous is None else previous
        return any(low < r <= step for r in self.rungs)


#: A pruner that answers every report.
EVERY_REPORT = DecisionPoints()


@runtime_checkable
class Pruner(Protocol):
    """Decides, report by report, whether a running trial should stop."""

    def bind(self, objectives: Objectives) -> None:
        """Check the pruner against the study's objectives (raise ``ConfigError`` if it names
        an unknown metric); called when the study is created."""
        ...

    #: Which reports the pruner answers (:data:`EVERY_REPORT` for a rule that may stop a
    #: trial at any report).
    decision_points: DecisionPoints

    def prepare(self, history: ReportHistory) -> None:
        """Register what the pruner needs indexed (e.g. rung steps)."""
        ...

    def decide(
        self, trial: int, step: float, metrics: Mapping[str, float], history: ReportHistory
    ) -> Decision:
        """Continue or stop ``trial`` after its report ``metrics`` at ``step``."""
        ...


def resolve_metrics(
    objectives: Objectives, metric: str | None, metrics: Iterable[str] | None = None
) -> Objectives:
    """The objectives a pruner ranks on: ``metric`` names one, ``metrics`` several, neither
    means every objective. Pruners compare values in their maximization frame
    (:meth:`Objectives.to_max`).

    Raises:
        ConfigError: a name is not an objective of the study.
    """
    names = [metric] if metric is not None else list(metrics or objectives.names)
    try:
        return objectives.only(names)
    except ConfigError as exc:
        raise ConfigError(f"pruner: {exc} (the pruner needs each metric's direction)") from None


def non_finite(metrics: Mapping[str, float], names: Iterable[str]) -> str | None:
    """The first of ``names`` whose reported value is missing or not finite, if any."""
    for n in names:
        v = metrics.get(n)
        if v is None or not math.isfinite(float(v)):
            return n
    return None


def bad_value_reason(metrics: Mapping[str, float], name: str, step: float) -> str:
    """Why a report with a missing or non-finite ``name`` stops the trial (the stored reason)."""
    if name not in metrics:
        return (
            f"{name} was not reported at step {step:g}: with this pruner every trial.report "
            f"must include {name} (e.g. trial.report(step, {name}=...))"
        )
    return f"{name} is {metrics[name]!r} at step {step:g}"


def vectors(
    table: Mapping[int, Mapping[str, float]], ranked: Objectives
) -> tuple[list[int], np.ndarray]:
    """Trials with finite values of every objective in ``ranked``, and their maximized
    values."""
    names = ranked.names
    ids, rows = [], []
    for t, m in table.items():
        if non_finite(m, names) is None:
            ids.append(t)
            rows.append([m[n] for n in names])
    return ids, ranked.to_max_array(np.array(rows, dtype=float).reshape(-1, len(names)))
