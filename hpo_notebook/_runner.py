"""The driver loop behind ``Study.run`` / ``Study.start``: a thread looping over ask/tell.

Whenever trial slots are free it asks the study for proposals (running trials pending) and
submits them; it then blocks on one queue that carries trial ends, reports and control
commands, so it reacts to each at once without polling. Everything it changes goes through
the study, which saves it before the loop acts on it.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from hpo_notebook.exceptions import StudyFailedError
from hpo_notebook.execution.base import ReportArrived, TrialEnded, TrialSpec
from hpo_notebook.trial import TrialState

if TYPE_CHECKING:
    from hpo_notebook.execution.dask import DaskExecutor
    from hpo_notebook.study import Study

#: Seconds running trials get to return after a stop before they are marked INTERRUPTED.
STOP_GRACE_S = 1.0
#: Proposals faster than this are computed when needed rather than ahead of time.
PREFETCH_ABOVE_S = 0.005
#: Failed trials needed before the failure share can stop a study.
MIN_FAILURES = 3


class _Wake:
    """A control message: something changed (pause, resume, stop); look again."""


class Runner:
    """Runs ``n_trials`` trials of ``study`` on ``executor`` in a background thread."""

    def __init__(
        self,
        study: Study,
        n_trials: int,
        concurrency: int | None,
        executor: DaskExecutor,
        timeout: float | None,
    ) -> None:
        self.study = study
        self.n_trials = n_trials
        self.concurrency = concurrency
        self.executor = executor
        self.timeout = timeout
        self.messages: queue.Queue[Any] = queue.Queue()
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.stop_reason: str | None = None
        self.running: dict[int, int] = {}  # trial number -> attempt
        self.finished = 0
        self._paused = False
        self._stopping = False
        self._control = threading.RLock()
        self._prefetch: Any = None  # Future of the next proposal, computed ahead
        self.capacity = 0
        self._thread = threading.Thread(
            target=self._main, name=f"hpo-driver-{study.name}", daemon=True
        )

    # ------------------------------------------------------------------ control

    @property
    def status(self) -> str:
        if self._stopping:
            return "stopping"
        return "paused" if self._paused else "running"

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def pause(self) -> None:
        with self._control:
            self._paused = True
        self._wake()

    def resume(self) -> None:
        with self._control:
            self._paused = False
        self._wake()

    def stop(self, reason: str = "stopped") -> None:
        with self._control:
            self.stop_reason = self.stop_reason or reason
            self._stopping = True
        self._wake()

    def _wake(self) -> None:
        self.messages.put(_Wake())
        self.study._publish({"type": "status", "status": self.status})

    # ------------------------------------------------------------------ loop

    def _main(self) -> None:
        try:
            self.executor.open(self.messages, f"{self.study.name}-{uuid.uuid4().hex[:12]}")
            self.study._publish({"type": "status", "status": "running"})
            self._loop()
        except BaseException as exc:  # reported by Study.wait(); never lost
            self.error = exc
        finally:
            try:
                self._shutdown()
            except BaseException as exc:
                self.error = self.error or exc
            self.done.set()
            self.study._publish({"type": "status", "status": "idle"})

    def _loop(self) -> None:
        study = self.study
        capacity = self.capacity = self.concurrency or self.executor.capacity()
        requeue = [
            t.number
            for t in study.trials
            if t.state in (TrialState.RUNNING, TrialState.INTERRUPTED)
        ]
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while not self._stopping:
            if deadline is not None and time.monotonic() >= deadline:
                self.stop("timeout")
                break
            to_start = self.n_trials - self.finished - len(self.running)
            free = capacity - len(self.running)
            if not self._paused and free > 0 and to_start > 0:
                self._launch(min(free, to_start), requeue)
                continue
            if not self.running and to_start <= 0:
                break
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                msg = self.messages.get(timeout=wait)
            except queue.Empty:
                continue
            self._handle(msg)

    def _launch(self, k: int, requeue: list[int]) -> None:
        """Fill ``k`` free slots: interrupted trials first, then a proposal computed while
        every worker was busy (if one is ready or coming), then fresh proposals."""
        study = self.study
        with self._control:  # control calls take this lock: after pause(), nothing starts
            if self._paused or self._stopping:
                return
            numbers = requeue[:k]
            del requeue[:k]
            self._submit([study._start_attempt(n) for n in numbers])
        k -= len(numbers)
        if k and self._prefetch is not None:
            fut, self._prefetch = self._prefetch, None
            self._create_and_submit(study._await_proposals(fut, 1, study.suggest_timeout))
            k -= 1
        if k:
            self._create_and_submit(study._propose(k, timeout=study.suggest_timeout))
        self._maybe_prefetch()

    def _create_and_submit(self, proposals: list[Any]) -> None:
        with self._control:
            if self._paused or self._stopping:
                return  # dropped before they became trials; proposed again on resume
            self._submit(self.study._create_trials(proposals))

    def _submit(self, trials: list[Any]) -> None:
        for t in trials:
            self.running[t.number] = t.attempt
            spec = TrialSpec(t.number, dict(t.params), t.seed or 0, t.attempt)
            self.executor.submit(self.study.fn, spec)  # type: ignore[arg-type]

    def _maybe_prefetch(self) -> None:
        """While every slot is busy, compute the next proposal so the next free worker
        starts at once (the proposal misses only the results that arrive meanwhile)."""
        more = self.n_trials - self.finished - len(self.running)
        slow = self.study.last_suggest_s > PREFETCH_ABOVE_S
        if slow and self._prefetch is None and more > 0 and len(self.running) >= self.capacity:
            self._prefetch = self.study._suggest_async(1)

    def _handle(self, msg: Any) -> None:
        if isinstance(msg, TrialEnded):
            self._on_end(msg)
        elif isinstance(msg, ReportArrived):
            batch = [msg.report]
            # Drain what else is queued: one transaction for a burst of reports.
            while True:
                try:
                    nxt = self.messages.get_nowait()
                except queue.Empty:
                    break
                if isinstance(nxt, ReportArrived):
                    batch.append(nxt.report)
                else:
                    self.messages.put(nxt)
                    break
            self._on_reports(batch)

    def _on_reports(self, batch: list[dict[str, Any]]) -> None:
        # Reports of an abandoned attempt are dropped; those of the current one are kept even
        # if they arrive after its end.
        current = {t.number: t.attempt for t in self.study.trials}
        live = [r for r in batch if current.get(int(r.get("trial", -1))) == r.get("attempt")]
        self.study._add_reports(live)

    def _on_end(self, msg: TrialEnded) -> None:
        if self.running.get(msg.number) != msg.attempt:
            return  # an abandoned attempt that finished anyway
        del self.running[msg.number]
        t = self.study._finish(msg)
        if t.state.finished:
            self.finished += 1
        if t.state is TrialState.FAILED:
            self._check_failures()

    def _check_failures(self) -> None:
        trials = self.study.trials
        failed = [t for t in trials if t.state is TrialState.FAILED]
        ended = sum(t.state.finished for t in trials)
        share = self.study.max_failure_share
        if len(failed) >= MIN_FAILURES and len(failed) / max(1, ended) > share:
            last = failed[-1]
            self.error = StudyFailedError(
                f"study {self.study.name!r} stopped: {len(failed)} of {ended} finished trials "
                f"failed (more than max_failure_share={share:g}). Last error, trial "
                f"{last.number}: {last.error}\n{last.traceback or ''}"
            )
            self.stop("failures")

    # ------------------------------------------------------------------ shutdown

    def _shutdown(self) -> None:
        if self.executor.client is None:
            return
        if self.running:
            self.executor.stop_trials()
            deadline = time.monotonic() + STOP_GRACE_S
            while self.running and time.monotonic() < deadline:
                try:
                    msg = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                self._handle(msg)
            if self.running:
                self.executor.abandon(dict(self.running))
                for number in list(self.running):
                    self.study._finish(
                        TrialEnded(
                            number,
                            self.running.pop(number),
                            "interrupted",
                            error="the study stopped before the trial finished",
                            ended_at=time.time(),
                        )
                    )
        while True:  # keep the reports that arrived before the stop
            try:
                msg = self.messages.get_nowait()
            except queue.Empty:
                break
            if isinstance(msg, ReportArrived):
                self._handle(msg)
        self.executor.close()
