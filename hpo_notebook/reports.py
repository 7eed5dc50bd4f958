"""The report log: every intermediate report of a study, indexed for the pruners and the views.

The study adds each report as it arrives (after storing it) and rebuilds the log from the
stored reports when it is reopened, so pruning state survives a crash. Pruners read it in
``decide``; the dashboard and ``hn.plots`` read it through :meth:`hpo_notebook.Study.reports`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo_notebook._dict_reads import DictReads
from hpo_notebook.objectives import Objectives


@dataclass(frozen=True)
class Report(DictReads):
    """One ``trial.report(step, **metrics)`` as the study received it.

    Attributes:
        trial: the trial's number.
        step: the reported step.
        metrics: metric name -> value.
        attempt: which run of the trial made it (None: not known, as in old study files).
        t: UNIX time (on the executor's clock) at which the trial sent it.
        worker: where the trial ran, if known.

    ``report["step"]`` reads like the dict reports used to be.

    Example:
        >>> r = Report.from_dict({"trial": 3, "step": 2, "metrics": {"loss": 0.4}, "attempt": 1})
        >>> r.step, r["metrics"], r.as_dict()["attempt"]
        (2, {'loss': 0.4}, 1)
    """

    trial: int
    step: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    attempt: int | None = None
    t: float | None = None
    worker: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Report:
        """A report from its wire or stored form ``{"trial", "step", "metrics", "attempt",
        "t", "worker"}`` (only the first three are required)."""
        worker = d.get("worker")
        attempt = d.get("attempt")
        return cls(
            int(d["trial"]),
            d["step"],
            dict(d["metrics"]),
            None if attempt is None else int(attempt),
            d.get("t"),
            worker if isinstance(worker, str) else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """The stored form (what the store's ``add_reports`` takes and ``reports`` returns)."""
        return {
            "trial": self.trial,
            "step": self.step,
            "metrics": dict(self.metrics),
            "t": self.t,
            "attempt": self.attempt,
            "worker": self.worker,
        }


class ReportHistory:
    """Every trial's reports, indexed: per trial in step order, and per tracked rung step the
    first report at or after it (Optuna records rung values the same way).

    Args:
        objectives: the study's objectives (names and directions).

    Example:
        >>> from hpo_notebook.objectives import Objectives
        >>> log = ReportHistory(Objectives.parse({"loss": "min"}))
        >>> log.add(0, 1, {"loss": 0.9}); log.add(0, 2, {"loss": 0.5})
        >>> log.curve(0)
        [(1, {'loss': 0.9}), (2, {'loss': 0.5})]
        >>> log.values_at(1.5, "loss")
        {0: 0.9}
    """

    def __init__(self, objectives: Objectives) -> None:
        self.objectives = objectives
        self._steps: dict[int, list[float]] = {}
        self._metrics: dict[int, list[Mapping[str, float]]] = {}
        self._rungs: dict[float, dict[int, Mapping[str, float]]] = {}
        # per rung: the trials in the order they reached it, and how often one was dropped
        self._arrivals: dict[float, list[int]] = {}
        self._drops: dict[float, int] = {}

    def track_rungs(self, steps: Iterable[float]) -> None:
        """Record, from now on and for the past, each trial's first report at or after these
        steps."""
        for s in steps:
            if s in self._rungs:
                continue
            table: dict[int, Mapping[str, float]] = {}
            for t, st in self._steps.items():
                i = bisect.bisect_left(st, s)
                if i < len(st):
                    table[t] = self._metrics[t][i]
            self._rungs[s] = table
            self._arrivals[s] = list(table)
            self._drops[s] = 0

    def add(self, trial: int, step: float, metrics: Mapping[str, float]) -> None:
        """Append a report; a report for a step already seen (a re-run) replaces it."""
        steps = self._steps.setdefault(trial, [])
        values = self._metrics.setdefault(trial, [])
        i = bisect.bisect_left(steps, step)
        if i < len(steps) and steps[i] == step:
            values[i] = metrics
        else:
            steps.insert(i, step)
            values.insert(i, metrics)
        for s, table in self._rungs.items():
            if trial not in table and step >= s:
                table[trial] = metrics
                self._arrivals[s].append(trial)

    def drop_after(self, trial: int, step: float | None) -> None:
        """Forget a trial's reports after ``step`` (all of them if None): it starts again."""
        steps = self._steps.get(trial, [])
        keep = 0 if step is None else bisect.bisect_right(steps, step)
        del steps[keep:]
        del self._metrics.get(trial, [])[keep:]
        for s, table in self._rungs.items():
            if trial in table and (step is None or s > step):
                del table[trial]
                self._arrivals[s].remove(trial)
                self._drops[s] += 1

    def trials(self) -> list[int]:
        """The trials with at least one report, in the order of their first report."""
        return list(self._steps)

    def curve(self, trial: int) -> list[tuple[float, Mapping[str, float]]]:
        """``(step, metrics)`` pairs of one trial in step order."""
        return list(zip(self._steps.get(trial, []), self._metrics.get(trial, [])))

    def previous_step(self, trial: int, step: float) -> float | None:
        """The trial's last reported step before ``step`` (None if there is none)."""
        steps = self._steps.get(trial, [])
        i = bisect.bisect_left(steps, step)
        return steps[i - 1] if i > 0 else None

    def at_rung(self, step: float) -> dict[int, Mapping[str, float]]:
        """Each trial's first report at or after the tracked rung ``step``."""
        return self._rungs[step]

    def rung_arrivals(self, step: float) -> tuple[int, list[int]]:
        """The trials at the tracked rung ``step`` in the order they reached it, and how many
        have left it since tracking began (a re-run trial drops its later reports): while
        that count stays the same, the list only grows at its end, so a pruner can keep an
        index of a rung up to date incrementally.

        Do not modify the list.
        """
        return self._drops[step], self._arrivals[step]

    def values_at(self, step: float, metric: str) -> dict[int, float]:
        """Each trial's latest value of ``metric`` at or before ``step``."""
        out = {}
        for t, st in self._steps.items():
            i = bisect.bisect_right(st, step) - 1
            if i >= 0 and metric in self._metrics[t][i]:
                out[t] = float(self._metrics[t][i][metric])
        return out
