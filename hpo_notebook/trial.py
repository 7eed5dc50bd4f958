"""Trials: their states, the frozen snapshot users read, and the handle a trial function gets.

A trial function has the signature ``fn(params, trial)`` where ``trial`` is a
:class:`TrialContext`; it returns a dict of metrics (or a float for one objective) and may
call ``trial.report(step, **metrics)`` to record its learning curve.

Example:
    >>> def train(params, trial):
    ...     loss = 1.0
    ...     for epoch in range(1, 4):
    ...         loss *= params["decay"]
    ...         trial.report(epoch, loss=loss)
    ...     return {"loss": loss}
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hpo_notebook.exceptions import TrialInterrupted


class TrialState(str, Enum):
    """Where a trial is in its life.

    RUNNING trials are submitted (or asked for and not told yet). INTERRUPTED trials were
    stopped before they finished (the study was stopped or its process died) and are run
    again, with the same parameters, when the study resumes.
    """

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    PRUNED = "PRUNED"
    INTERRUPTED = "INTERRUPTED"

    @property
    def finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Trial:
    """A read-only snapshot of one trial.

    Attributes:
        number: 0-based index in the study.
        state: see :class:`TrialState`.
        params: parameter values.
        values: metrics returned by the trial function (None until it completes).
        seed: the seed the trial ran with (Python, NumPy and torch are seeded with it).
        proposal: how the parameters were proposed (``kind``) and how long it took
            (``fit_s``, ``acq_s``, ``total_s``).
        error: one-line error for FAILED trials; ``traceback`` holds the full text.
        attempt: how many times the trial was started (re-runs after interruptions).
        lineage: where it ran (host, pid, worker) and package versions there.
    """

    number: int
    state: TrialState
    params: dict[str, Any]
    values: dict[str, Any] | None = None
    seed: int | None = None
    proposal: dict[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    worker: str | None = None
    attempt: int = 0
    error: str | None = None
    traceback: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        """Seconds from the last start to the end, or None while running."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


ReportSink = Callable[[dict[str, Any]], None]


class TrialContext:
    """The handle a trial function receives as its second argument.

    Attributes:
        number: the trial's number in the study.
        params: its parameter values (the same dict as the first argument).
        seed: a seed derived from the study seed and the trial number.
        attempt: 1 on the first run, more when the trial is re-run after an interruption.
    """

    #: Seconds between two checks of the study's stop signal (each check may cost an RPC).
    stop_check_interval = 0.25

    def __init__(
        self,
        number: int,
        params: Mapping[str, Any],
        seed: int,
        attempt: int = 1,
        sink: ReportSink | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.number = number
        self.params = dict(params)
        self.seed = seed
        self.attempt = attempt
        self._sink = sink
        self._should_stop = should_stop
        self._last_stop_check = time.monotonic()  # first check one interval in
        self._last_step: float | None = None

    def __repr__(self) -> str:
        return f"TrialContext(number={self.number}, params={self.params!r})"

    def report(self, step: int | float, **metrics: float) -> None:
        """Record intermediate metrics at ``step`` (an epoch, an iteration count, ...).

        Sending is fire-and-forget (about 0.1 ms on a Dask worker). Raises
        :class:`~hpo_notebook.exceptions.TrialInterrupted` when the study is stopping.

        Raises:
            TypeError: ``step`` is not a number or a metric is not a number.
        """
        if isinstance(step, bool) or not isinstance(step, numbers.Real) or not math.isfinite(step):
            raise TypeError(f"trial.report: step must be a finite number, got {step!r}")
        step = int(step) if float(step).is_integer() else float(step)  # msgpack wants builtins
        clean: dict[str, float] = {}
        for k, v in metrics.items():
            try:
                clean[k] = float(v)  # numpy / torch scalars too; msgpack needs plain floats
            except (TypeError, ValueError):
                raise TypeError(f"trial.report: metric {k!r} must be a number, got {v!r}") from None
        if not clean:
            raise TypeError("trial.report: pass at least one metric, e.g. report(1, loss=0.3)")
        self._last_step = step
        if self._sink is not None:
            self._sink(
                {
                    "trial": self.number,
                    "step": step,
                    "metrics": clean,
                    "attempt": self.attempt,
                    "t": time.time(),
                }
            )
        self._check_stop()

    def _check_stop(self) -> None:
        if self._should_stop is None:
            return
        now = time.monotonic()
        if now - self._last_stop_check < self.stop_check_interval:
            return
        self._last_stop_check = now
        if self._should_stop():
            raise TrialInterrupted(f"trial {self.number}: the study is stopping")
