"""Asynchronous successive halving (ASHA; Li et al., 2020), stopping variant.

Rungs sit at steps ``grace * eta**k`` below ``max_steps``. When a trial first reports at or
after a rung step, it competes with every trial that reached that rung before it: it goes on
if it is in the top ``1/eta`` of them (at least the best one), else it stops. Decisions are
asynchronous: nobody waits for a rung to fill.

Differences from Optuna's ``SuccessiveHalvingPruner`` (which it otherwise matches decision for
decision, see ``tests/test_pruners.py``): a trial that reached ``max_steps`` has done its work
and is never stopped; a non-finite value stops the trial at any step, with the reason.

Example:
    >>> from hpo_notebook.objectives import Objectives
    >>> objs = Objectives.parse({"loss": "min"})
    >>> asha = ASHA(max_steps=9, grace=1, eta=3)
    >>> asha.bind(objs)
    >>> h = ReportHistory(objs)
    >>> asha.prepare(h)
    >>> for trial, loss in [(0, 0.5), (1, 0.9)]:
    ...     h.add(trial, 1, {"loss": loss})
    ...     print(asha.decide(trial, 1, {"loss": loss}, h).prune)
    False
    True
"""

from __future__ import annotations

import bisect
import copy
import math
from collections.abc import Mapping
from typing import Any

from hpo_notebook._numbers import positive_int
from hpo_notebook.exceptions import ConfigError
from hpo_notebook.objectives import Objectives
from hpo_notebook.pruners import _rungs
from hpo_notebook.pruners.base import (
    CONTINUE,
    Decision,
    DecisionPoints,
    ReportHistory,
    bad_value_reason,
    non_finite,
    resolve_metrics,
    vectors,
)


class _SuccessiveHalving:
    """Rung bookkeeping shared by ASHA and its multi-objective variant."""

    def __init__(
        self, max_steps: float, grace: float = 1, eta: float = 3, rungs: int | None = None
    ) -> None:
        for name, v, low in (("max_steps", max_steps, 0), ("grace", grace, 0), ("eta", eta, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > low:
                raise ConfigError(
                    f"{type(self).__name__}: {name} must be a number > {low}, got {v!r}"
                )
        if grace >= max_steps:
            raise ConfigError(
                f"{type(self).__name__}: grace must be < max_steps, got grace={grace!r}, "
                f"max_steps={max_steps!r}"
            )
        if rungs is not None:
            positive_int(f"{type(self).__name__}: rungs (or None)", rungs)
        self.max_steps, self.grace, self.eta, self.n_rungs = max_steps, grace, eta, rungs
        self.rungs = _rungs.rung_steps(max_steps, grace, eta)[:rungs]
        self._ranked = Objectives(())  # set by bind

    def prepare(self, history: ReportHistory) -> None:
        history.track_rungs(self.rungs)

    @property
    def decision_points(self) -> DecisionPoints:
        """The first report at or after each rung (where ASHA decides)."""
        return DecisionPoints(rungs=tuple(self.rungs), stop=self.max_steps)

    def decide(
        self, trial: int, step: float, metrics: Mapping[str, float], history: ReportHistory
    ) -> Decision:
        bad = non_finite(metrics, self._ranked.names)
        if bad is not None:
            return Decision(True, bad_value_reason(metrics, bad, step))
        if step >= self.max_steps:
            return CONTINUE
        before = history.previous_step(trial, step)
        for rung in self.rungs:
            if step < rung:
                break
            if before is not None and before >= rung:
                continue  # this rung was decided at an earlier report
            goes_on, n = self._judge_rung(rung, trial, history)
            if not goes_on:
                return Decision(True, self._reason(rung, n))
        return CONTINUE

    def _judge_rung(self, rung: float, trial: int, history: ReportHistory) -> tuple[bool, int]:
        """Whether ``trial`` goes on at ``rung``, and how many trials compete there."""
        ids, Y = vectors(history.at_rung(rung), self._ranked)
        return self._goes_on(ids.index(trial), Y), len(ids)

    def _goes_on(self, index: int, Y: object) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def _reason(self, rung: float, n: int) -> str:
        names = ", ".join(self._ranked.names)
        k = _rungs.keep_count(n, self.eta)
        return f"not in the top {k} of {n} trials on {names} at rung step {rung:g}"


class ASHA(_SuccessiveHalving):
    """Asynchronous successive halving on one metric.

    Args:
        max_steps: the last step a trial reports (its full budget, e.g. epochs).
        grace: the first rung (minimum steps before a trial can be stopped).
        eta: reduction factor: the top ``1/eta`` of trials at a rung go on.
        metric: the objective to rank on (default: the study's first objective).
        rungs: how many rungs to use (default: every ``grace * eta**k`` below ``max_steps``);
            fewer rungs let more trials finish.
    """

    def __init__(
        self,
        max_steps: float,
        grace: float = 1,
        eta: float = 3,
        metric: str | None = None,
        rungs: int | None = None,
    ) -> None:
        super().__init__(max_steps, grace, eta, rungs)
        self.metric = metric
        # rung -> (drops, arrivals seen, sorted maximized values, the report log they are of)
        self._sorted: dict[float, tuple[int, int, list[float], ReportHistory]] = {}

    def __repr__(self) -> str:
        return f"ASHA(max_steps={self.max_steps}, grace={self.grace}, eta={self.eta})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "ASHA",
            "max_steps": self.max_steps,
            "grace": self.grace,
            "eta": self.eta,
            "metric": self.metric,
            "rungs": self.n_rungs,
        }

    def bind(self, objectives: Objectives) -> None:
        name = self.metric if self.metric is not None else objectives.names[0]
        self._ranked = resolve_metrics(objectives, name)

    def _judge_rung(self, rung: float, trial: int, history: ReportHistory) -> tuple[bool, int]:
        # One sorted list of values per rung, kept up to date from the rung's arrivals: a
        # decision costs a bisection, not a sort of every trial (10,000s of trials).
        frame = self._ranked
        name = frame.names[0]
        drops, arrivals = history.rung_arrivals(rung)
        cache = self._sorted.get(rung)
        if (
            cache is None
            or cache[0] != drops
            or cache[1] > len(arrivals)
            or cache[3] is not history
        ):
            cache = (drops, 0, [], history)
        values, table = cache[2], history.at_rung(rung)
        for t in arrivals[cache[1] :]:
            v = table[t].get(name)
            if v is not None and math.isfinite(float(v)):
                bisect.insort(values, frame.to_max(name, v))
        self._sorted[rung] = (drops, len(arrivals), values, history)
        n = len(values)
        mine = frame.to_max(name, table[trial][name])
        return mine >= values[n - _rungs.keep_count(n, self.eta)], n

    def __deepcopy__(self, memo: dict[int, Any]) -> ASHA:
        # the cache refers to a study's report log: a copy starts without it
        new = copy.copy(self)
        new._sorted = {}
        return new
