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

import collections
import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hpo_notebook.exceptions import HpoError, Pruned, TrialInterrupted

if TYPE_CHECKING:
    from hpo_notebook.checkpoints import Root


class TrialState(str, Enum):
    """Where a trial is in its life (a ``str`` enum: ``TrialState("PRUNED")`` works).

    RUNNING trials are submitted (or asked for and not told yet). INTERRUPTED trials were
    stopped before they finished (the study was stopped or its process died) and are run
    again, with the same parameters, when the study resumes.

    Attributes:
        RUNNING: submitted, or asked for and not told yet.
        COMPLETE: returned a valid result.
        FAILED: raised, or returned a result without a usable value of every metric.
        PRUNED: stopped early by the pruner or by hand.
        INTERRUPTED: stopped before it finished; run again when the study resumes.
    """

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    PRUNED = "PRUNED"
    INTERRUPTED = "INTERRUPTED"

    @property
    def finished(self) -> bool:
        """COMPLETE, FAILED or PRUNED: the trial will not run again."""
        return self in (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED)

    def __str__(self) -> str:
        return self.value


#: the proposal kind of a seed re-run (``Study.rerun``): never a new point for the search
RERUN = "rerun"


def is_rerun(trial: Trial) -> bool:
    """Whether ``trial`` re-runs another trial's configuration with a new seed."""
    return trial.proposal.get("kind") == RERUN


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
        created_at: UNIX time the trial was created.
        started_at: UNIX time of its last start.
        ended_at: UNIX time it ended (None while running).
        worker: the Dask worker that ran it (its address).
        error: one-line error for FAILED trials (the reason for PRUNED ones).
        traceback: the full traceback text of a FAILED trial.
        attempt: how many times the trial was started (re-runs after interruptions).
        lineage: where it ran (host, pid, worker) and package versions there.
        extra: what the study learnt along the way: ``pruned_at`` (step), ``prune_reason``,
            ``decision_latency_s`` (report sent to decision made), ``steps_after_decision``,
            ``checkpoint_step``.
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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        """Seconds from the last start to the end, or None while running."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


class ReportChannel(Protocol):
    """How a :class:`TrialContext` talks to its study (a Dask worker event stream, or the study
    itself for ``ask``/``tell``)."""

    def send(self, report: dict[str, Any]) -> None:
        """Deliver a report (fire-and-forget)."""
        ...

    def verdict(self, step: float | None, previous: float | None = None) -> str | None:
        """Why the trial should stop, or None. For a report the pruner decides on at once
        (``step`` given, ``previous`` the trial's preceding reported step), wait briefly for
        that decision; with ``step=None`` never wait."""
        ...

    def stop_heard(self) -> bool:
        """Whether a stop was pushed to this trial already (no round trip: called at every
        report)."""
        ...

    def stopping(self) -> bool:
        """Whether the study is stopping (may cost a round trip: called on a timer)."""
        ...

    def time(self) -> float:
        """Now, in UNIX seconds of the study's clock (virtual on a simulated cluster)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on the study's clock."""
        ...


class TrialContext:
    """The handle a trial function receives as its second argument.

    Attributes:
        number: the trial's number in the study.
        params: its parameter values (the same dict as the first argument).
        seed: a seed derived from the study seed and the trial number.
        attempt: 1 on the first run, more when the trial is re-run after an interruption.
        checkpoint_step: the step saved with the checkpoint that :meth:`load_checkpoint`
            returned (None before, or without a checkpoint).
    """

    #: Seconds between two checks of the study's stop signal (each check may cost an RPC).
    stop_check_interval = 0.25

    def __init__(
        self,
        number: int,
        params: Mapping[str, Any],
        seed: int,
        attempt: int = 1,
        channel: ReportChannel | None = None,
        checkpoint_root: Root | None = None,
    ) -> None:
        self.number = number
        self.params = dict(params)
        self.seed = seed
        self.attempt = attempt
        self._channel = channel
        self._checkpoint_root = checkpoint_root
        #: The step saved with the checkpoint :meth:`load_checkpoint` returned (else None).
        self.checkpoint_step: float | None = None
        self._last_stop_check = self._now()  # first check one interval in
        self._last_step: float | None = None
        # the latest reports, saved with each checkpoint (see checkpoints.save)
        self._recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=100)

    def __repr__(self) -> str:
        return f"TrialContext(number={self.number}, params={self.params!r})"

    def report(self, step: int | float, **metrics: float) -> None:
        """Record intermediate metrics at ``step`` (an epoch, an iteration count, ...).

        Report every objective so that pruners can rank on all of them: with a pruner, a report
        that lacks a metric the pruner watches, or has a non-finite value for it, stops the
        trial. Sending is fire-and-forget (a few microseconds on a Dask worker); only at a step
        where the pruner decides does the trial wait for the decision (a few milliseconds).

        Raises:
            hn.Pruned: the pruner stopped this trial (let it propagate; the trial ends PRUNED
                with its curve kept).
            hn.TrialInterrupted: the study is stopping; the trial is re-run on resume.
            TypeError: ``step`` or a metric is not a number.
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
        previous, self._last_step = self._last_step, step
        if self._channel is None:
            return
        msg = {"trial": self.number, "step": step, "metrics": clean, "attempt": self.attempt,
               "t": self._channel.time()}  # fmt: skip
        self._recent.append(msg)
        self._channel.send(msg)
        reason = self._channel.verdict(step, previous)
        if reason is not None:
            raise Pruned(f"trial {self.number} pruned at step {step:g}: {reason}")
        self._check_stop()

    @property
    def checkpoint_dir(self) -> Path | str:
        """This trial's checkpoint folder (for extra files; created on first save): a Path,
        or a URL for an object store (write there with fsspec)."""
        from hpo_notebook import checkpoints

        return checkpoints.trial_dir(self._require_root(), self.number)

    def save_checkpoint(self, obj: Any, step: float | None = None) -> None:
        """Save ``obj`` (e.g. state dicts) with ``torch.save``, replacing the previous one.

        Args:
            step: the step it belongs to (default: the last reported step). A re-run of the
                trial (after a lost worker or a restarted study) keeps its curve up to here.
        """
        from hpo_notebook import checkpoints

        step = self._last_step if step is None else step
        reports = [m for m in self._recent if step is not None and m["step"] <= step]
        checkpoints.save(self._require_root(), self.number, self.attempt, obj, step, reports)

    def load_checkpoint(self, weights_only: bool = True) -> Any:
        """The last saved checkpoint of this trial, or None; sets :attr:`checkpoint_step`.

        Args:
            weights_only: passed to ``torch.load``: True (the default) loads tensors, dicts,
                lists and numbers without running code from the file.
        """
        from hpo_notebook import checkpoints

        got = checkpoints.load(self._require_root(), self.number, weights_only)
        if got is None:
            self.checkpoint_step = None
            return None
        obj, self.checkpoint_step = got
        self._last_step = self.checkpoint_step  # the curve goes on from here
        return obj

    def _require_root(self) -> Root:
        if self._checkpoint_root is None:
            raise HpoError(
                "this trial has no checkpoint folder (it runs outside a study); "
                "create it with Study(...).ask() or run it through study.run()"
            )
        return self._checkpoint_root

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass: a real sleep on a Dask cluster, an advance of the virtual
        clock on ``hn.SimulatedCluster`` (so a simulated trial says how long a step takes).

        Example:
            >>> def train(params, trial):
            ...     for epoch in range(1, 11):
            ...         trial.sleep(60.0)  # one epoch takes a minute
            ...         trial.report(epoch, loss=params["lr"] / epoch)
            ...     return {"loss": params["lr"] / 10}

        Raises:
            ValueError: ``seconds`` is negative or not a finite number.
        """
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, numbers.Real)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise ValueError(f"trial.sleep: seconds must be a finite number >= 0, got {seconds!r}")
        if self._channel is None:
            time.sleep(float(seconds))
        else:
            self._channel.sleep(float(seconds))

    def _now(self) -> float:
        return time.monotonic() if self._channel is None else self._channel.time()

    def should_prune(self) -> bool:
        """Whether the pruner has decided to stop this trial (for code that prefers to check
        and clean up rather than let ``report`` raise ``hn.Pruned``)."""
        return self._channel is not None and self._channel.verdict(None) is not None

    def _check_stop(self) -> None:
        if self._channel is None:
            return
        if self._channel.stop_heard():
            raise TrialInterrupted(f"trial {self.number}: the study is stopping")
        now = self._now()
        if now - self._last_stop_check < self.stop_check_interval:
            return
        self._last_stop_check = now
        if self._channel.stopping():
            raise TrialInterrupted(f"trial {self.number}: the study is stopping")
