"""The executor contract: run trial functions somewhere and say when they end.

The study's run loop is the only caller. An executor puts three kinds of messages on the
queue it is opened with, from whatever thread it likes, in order for each trial:

- :class:`TrialStarted` when a trial attempt starts where it runs;
- :class:`ReportArrived` for every ``trial.report(...)`` made inside a running trial;
- :class:`~hpo_notebook.events.WorkerLost` when the cluster lost the worker of a running
  attempt and runs the attempt again (a new :class:`TrialStarted` follows);
- :class:`TrialEnded` when a trial function returned, raised, or could not run.
"""

from __future__ import annotations

import queue
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hpo_notebook._numbers import positive_number
from hpo_notebook.events import WorkerLost
from hpo_notebook.exceptions import ConfigError, Pruned, TrialInterrupted
from hpo_notebook.pruners.base import DecisionPoints
from hpo_notebook.reports import Report
from hpo_notebook.trial import TrialState

if TYPE_CHECKING:
    from hpo_notebook.checkpoints import Root
    from hpo_notebook.clock import Clock
    from hpo_notebook.trial import TrialContext


@dataclass(frozen=True)
class TrialSpec:
    """What a worker needs to run one trial (all plain data but ``fn``).

    Attributes:
        number: trial number.
        params: parameter values.
        seed: the trial's seed.
        attempt: 1 for the first run, more for re-runs.
        checkpoint_root: the study's checkpoint folder (a path or URL, or a
            :class:`~hpo_notebook.checkpoints.CheckpointRoot` with storage options).
    """

    number: int
    params: dict[str, Any]
    seed: int
    attempt: int
    checkpoint_root: Root | None = None


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
class WorkersChanged:
    """Workers joined or left the cluster: ``slots`` trials fit on the ``workers`` there now
    (``elastic``: an adaptive cluster that grows while trials wait, up to ``slots``)."""

    workers: int
    slots: int
    elastic: bool = False


@dataclass(frozen=True)
class ClusterLost:
    """The executor lost its cluster (the Dask scheduler stopped answering): no running trial
    will report or end through it any more."""

    reason: str


@dataclass(frozen=True)
class ReportArrived:
    """An intermediate report of a running trial."""

    report: Report


Message = TrialStarted | ReportArrived | WorkerLost | TrialEnded | ClusterLost | WorkersChanged


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

    @property
    def clock(self) -> Clock:
        """The clock trials run on (wall time, or a simulated cluster's virtual time)."""
        ...

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


class TrialAbandoned(BaseException):
    """Raised inside a trial its executor gave up on, to unwind it; the trial's end is not
    reported (the study already recorded it). Trial code should let it pass."""


def call_trial(
    fn: Callable[..., Any], ctx: TrialContext, now: Callable[[], float]
) -> dict[str, Any]:
    """Run ``fn(params, ctx)`` and describe how it ended: the fields of a :class:`TrialEnded`
    but its number and attempt (``state``, ``result`` or ``error``/``traceback``, ``ended_at``
    read from ``now``). Whatever the function raises is caught and described, so the
    traceback text survives a trip between processes; only :class:`TrialAbandoned` passes.
    """
    try:
        result = fn(dict(ctx.params), ctx)
    except TrialAbandoned:
        raise
    except Pruned as exc:
        return {"state": TrialState.PRUNED, "error": str(exc) or None, "ended_at": now()}
    except TrialInterrupted as exc:
        return {"state": TrialState.INTERRUPTED, "error": str(exc), "ended_at": now()}
    except BaseException as exc:  # SystemExit, KeyboardInterrupt too: never the worker's end
        return {
            "state": TrialState.FAILED,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
            "ended_at": now(),
        }
    return {"state": TrialState.COMPLETE, "result": result, "ended_at": now()}


def check_resources(resources: Mapping[str, float] | None) -> dict[str, float] | None:
    """``resources`` as a plain dict (None when empty), or a ConfigError naming what is wrong.

    Example:
        >>> check_resources({"GPU": 1})
        {'GPU': 1}
    """
    if resources is not None and (
        not isinstance(resources, Mapping)
        or not all(isinstance(k, str) and positive_number(v) for k, v in resources.items())
    ):
        raise ConfigError(
            f"resources must map names to positive amounts, e.g. {{'GPU': 1}}; got {resources!r}"
        )
    return dict(resources) if resources else None
