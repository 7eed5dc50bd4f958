"""The executor contract: run trial functions somewhere and say when they end.

The study's run loop is the only caller. An executor puts three kinds of messages on the
queue it is opened with, from whatever thread it likes, in order for each trial:

- :class:`TrialStarted` when a trial attempt starts where it runs (twice for one attempt when
  the cluster ran it again after losing its worker);
- :class:`ReportArrived` for every ``trial.report(...)`` made inside a running trial;
- :class:`TrialEnded` when a trial function returned, raised, or could not run.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hpo_notebook.pruners.base import DecisionPoints
from hpo_notebook.trial import TrialState


@dataclass(frozen=True)
class TrialSpec:
    """What a worker needs to run one trial (all plain data but ``fn``).

    Attributes:
        number: trial number.
        params: parameter values.
        seed: the trial's seed.
        attempt: 1 for the first run, more for re-runs.
        checkpoint_root: the study's checkpoint folder.
    """

    number: int
    params: dict[str, Any]
    seed: int
    attempt: int
    checkpoint_root: str | None = None


@dataclass(frozen=True)
class TrialEnded:
    """A trial function finished.

    Attributes:
        number: trial number.
        attempt: which run of the trial this was.
        state: ``COMPLETE`` (the function returned; the study still checks the result),
            ``FAILED``, ``PRUNED`` or ``INTERRUPTED``.
        result: what the function returned (``COMPLETE``).
        error: one-line description (other states).
        traceback: full traceback text of a failure.
        started_at, ended_at: UNIX times measured where the trial ran.
        worker: where it ran (a Dask worker address).
        lineage: host, pid and versions of the process that ran it.
    """

    number: int
    attempt: int
    state: TrialState
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    worker: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in _ENDED:
            allowed = sorted(str(s.value) for s in _ENDED)
            raise ValueError(f"TrialEnded.state must be one of {allowed}, got {self.state!r}")


_ENDED = frozenset(
    {TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED, TrialState.INTERRUPTED}
)


@dataclass(frozen=True)
class TrialStarted:
    """A trial attempt started on ``worker`` at UNIX time ``t``."""

    number: int
    attempt: int
    worker: str | None = None
    t: float | None = None


@dataclass(frozen=True)
class ReportArrived:
    """An intermediate report ``{"trial", "step", "metrics", "attempt", "t", "worker"}``."""

    report: dict[str, Any]


Message = TrialStarted | ReportArrived | TrialEnded


@dataclass(frozen=True)
class DecisionPolicy:
    """How a running trial meets its pruner's answers (handed to :meth:`Executor.open`).

    Attributes:
        points: the reports the pruner answers.
        wait_now: at an answered report the trial waits (a few milliseconds) for the answer
            before its next step, so no step runs after a decision; otherwise it collects the
            answer at its next report, so at most one step runs after a decision and a fast
            driver costs the trial nothing. Rung-based pruners answer few reports and wait
            now; a rule that answers every report does not.

    Example:
        >>> from hpo_notebook import ASHA, Median
        >>> [DecisionPolicy.for_pruner(p).wait_now for p in (ASHA(9), Median())]
        [True, False]
    """

    points: DecisionPoints
    wait_now: bool

    @classmethod
    def for_pruner(cls, pruner: Any) -> DecisionPolicy | None:
        """The policy for ``pruner`` (None without one: no report waits for an answer)."""
        if pruner is None:
            return None
        points: DecisionPoints = pruner.decision_points
        return cls(points, wait_now=points.rungs is not None)


class Executor(Protocol):
    """Runs trial functions; see the module docstring for the messages it sends."""

    def open(
        self, messages: queue.Queue[Message], study_key: str, policy: DecisionPolicy | None = None
    ) -> None:
        """Connect (starting a cluster if needed); :data:`Message` objects go to ``messages``.
        ``policy``: how trials wait for the pruner's answers (None: no pruner)."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` succeeded and :meth:`close` has not run since."""
        ...

    def capacity(self) -> int:
        """How many trials can run at once."""
        ...

    def submit(self, fn: Callable[..., Any], spec: TrialSpec) -> None:
        """Start a trial; its :class:`TrialEnded` arrives on the queue later."""
        ...

    def scale(self, n: int) -> None:
        """Offer ``n`` trial slots (a cluster the executor started grows or shrinks; one it
        was given may be left alone)."""
        ...

    def send_decision(self, number: int, attempt: int, step: float, prune: str | None) -> None:
        """Answer a trial's report at ``step`` (a report its policy answers, or any report the
        pruner stops the trial at): ``prune`` is the reason to stop, None to go on."""
        ...

    def stop_trials(self) -> None:
        """Ask running trials to stop at their next report (cooperative)."""
        ...

    def stop_trial(self, number: int, attempt: int, reason: str, worker: str | None) -> None:
        """Give up on one running trial (it timed out): tell it to stop, free its slot, and
        free its worker (``worker``: where it started, if known) if it does not stop."""
        ...

    def abandon(self, numbers: Mapping[int, int]) -> None:
        """Stop waiting for these trials (number -> attempt); they are re-run later."""
        ...

    def close(self) -> None:
        """Release what :meth:`open` acquired (a cluster it started is shut down)."""
        ...

    @property
    def dashboard_link(self) -> str | None:
        """Where the cluster's own dashboard is, if it has one."""
        ...
