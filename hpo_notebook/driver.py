"""The driver loop behind ``Study.run`` / ``Study.start``: a thread that keeps the workers
busy with trials.

The loop blocks on one queue that carries trial ends, reports, finished proposals and control
commands, and reacts to each at once; it never waits for the optimizer. Model proposals are
computed on the proposer's thread (with the running trials pending) and arrive as messages;
while every worker is busy the next one is computed ahead of time, and a worker that has
waited ``suggest_timeout`` seconds gets a quasi-random point instead. So reports are judged by
the pruner within milliseconds even while a proposal takes a second.

The driver uses only the executor contract and the public methods of the ledger (which saves
every change before the driver acts on it) and the proposer. Time comes from the executor's
clock, so the same loop runs on a simulated cluster in virtual time.
"""

from __future__ import annotations

import atexit
import collections
import math
import queue
import threading
import uuid
import weakref
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpo_notebook.events import StatusChanged, WorkerLost
from hpo_notebook.exceptions import ClusterLostError, StudyFailedError
from hpo_notebook.execution.base import (
    ClusterLost,
    DecisionPolicy,
    Executor,
    ReportArrived,
    TrialEnded,
    TrialSpec,
    TrialStarted,
    WorkersChanged,
)
from hpo_notebook.trial import Trial, TrialState

if TYPE_CHECKING:
    from hpo_notebook.ledger import TrialLedger
    from hpo_notebook.optimizers import Proposal
    from hpo_notebook.proposer import Proposer
    from hpo_notebook.reports import Report
    from hpo_notebook.stop import StopRule, StopState

#: Seconds running trials get to return after a stop before they are marked INTERRUPTED.
STOP_GRACE_S = 1.0
#: Failed trials needed before the failure share can stop a study.
MIN_FAILURES = 3


_LIVE: weakref.WeakSet[Driver] = weakref.WeakSet()


def _stop_all() -> None:
    # A process that exits while a study runs in the background: stop it cleanly (trials
    # saved as INTERRUPTED, a cluster we started closed) rather than kill the driver mid-step.
    for runner in list(_LIVE):
        if not runner.done.is_set():
            runner.stop("process exit")
            runner.done.wait(10)


# Before concurrent.futures shuts its thread pools down (Dask's client needs them to stop the
# trials): threading's exit hooks run in reverse order of registration, before atexit's.
_register = getattr(threading, "_register_atexit", None)
if _register is not None:
    _register(_stop_all)
else:  # pragma: no cover - other Python implementations
    atexit.register(_stop_all)


class _Wake:
    """A control message: something changed (pause, resume, stop); look again."""


@dataclass
class _Call:
    """Run ``fn`` on the driver thread (changes to running state come this way)."""

    fn: Any


@dataclass
class _Request:
    """Proposals being computed on the proposal thread."""

    future: Future[list[Proposal]]
    n: int
    waiting_since: float | None  # when a free worker started waiting for them
    asked_at: float  # when they were asked for (monotonic)


@dataclass(frozen=True)
class RunProgress:
    """Where a study's latest ``run``/``start`` stands (see :meth:`Study.progress`).

    Attributes:
        status: ``"running"``, ``"paused"``, ``"stopping"`` or ``"idle"`` (it ended).
        target: trials this run is to finish.
        finished: trials it has finished (complete, failed or pruned).
        running: trials running now.
        capacity: trials it may run at once.
        started_at: when it started, and ``now``, on the study's clock (virtual on a
            simulated cluster).
        workers: workers of the cluster now (None: not known, e.g. a simulated cluster).
        rule: where the stopping rules stand (budget used and left, projected end), or None.
        stop_reason: why the stopping rule holds (status ``"finishing"``) or ended the run.
    """

    status: str
    target: int
    finished: int
    running: int
    capacity: int
    started_at: float
    now: float
    workers: int | None = None
    rule: str | None = None
    stop_reason: str | None = None

    @property
    def elapsed_s(self) -> float:
        """Seconds since the run started, on the study's clock."""
        return max(0.0, self.now - self.started_at)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first trial finished, or after
        the run ended)."""
        if self.status in ("idle", "cluster lost") or not self.finished:
            return None
        return self.elapsed_s / self.finished * max(0, self.target - self.finished)

    @property
    def utilization(self) -> float | None:
        """Share of the trial slots in use (None after the run ended)."""
        if self.status in ("idle", "cluster lost") or not self.capacity:
            return None
        return self.running / self.capacity


class _ProposalsReady:
    def __init__(self, request: _Request) -> None:
        self.request = request


class Driver:
    """Runs ``n_trials`` trials of ``fn`` on ``executor`` in a background thread.

    Args:
        ledger, proposer: the study's.
        fn: the trial function.
        executor: where trials run (opened by the driver, closed when it ends).
        n_trials: trials to finish.
        concurrency: trials at once (None: the executor's capacity).
        timeout: stop after this many seconds of the executor's clock.
        trial_timeout: seconds each trial may run.
        suggest_timeout: seconds a free worker waits for a model proposal.
        max_failure_share: the share of failed trials that stops the run.
        on_exit: called on the driver thread as its last act before it reports "idle".
        stop_rule: the study's and the run's stopping rules (:mod:`hpo_notebook.stop`).
        n_initial: trials of the initial design (a rule waits for them).
    """

    def __init__(
        self,
        ledger: TrialLedger,
        proposer: Proposer,
        fn: Any,
        executor: Executor,
        n_trials: int,
        concurrency: int | None = None,
        timeout: float | None = None,
        trial_timeout: float | None = None,
        suggest_timeout: float | None = None,
        max_failure_share: float = 0.5,
        on_exit: Any = None,
        stop_rule: StopRule | None = None,
        n_initial: int = 0,
    ) -> None:
        self.ledger = ledger
        self.proposer = proposer
        self.fn = fn
        self.suggest_timeout = suggest_timeout
        self.max_failure_share = max_failure_share
        self._on_exit = on_exit
        self.n_trials = n_trials
        self.concurrency = concurrency
        self.executor = executor
        self.clock = executor.clock
        self.started_at = self.clock.time()
        #: how trials meet the pruner's answers (fixed for the run, as the pruner is)
        self.policy = DecisionPolicy.for_pruner(ledger.pruner)
        self.timeout = timeout
        self.trial_timeout = trial_timeout
        self.messages: queue.Queue[Any] = queue.Queue()
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.stop_reason: str | None = None
        self.stop_rule = stop_rule
        self.n_initial = n_initial
        #: why the stopping rule holds now (no new trial starts), else None
        self.holding: str | None = None
        #: why the stopping rule ended the run, else None
        self.rule_reason: str | None = None
        #: why the cluster counts as lost (the run ended with ClusterLostError), else None
        self.lost: str | None = None
        #: workers of the cluster, as last seen (None: the executor does not say)
        self.workers: int | None = None
        self.running: dict[int, int] = {}  # trial number -> attempt
        self.finished = 0
        self.capacity = 0
        self._paused = False
        self._stopping = False
        self._control = threading.RLock()
        self._request: _Request | None = None
        self._ready: list[Proposal] = []
        # how long the latest model proposal and the latest trials took: how many trials
        # end while one proposal is made (see _ends_per_proposal)
        self._proposal_s: float | None = None
        self._durations: collections.deque[float] = collections.deque(maxlen=1)
        self._requeue: list[int] = []
        # running trials' deadlines (monotonic) and workers, from their start on a worker
        self._deadlines: dict[int, float] = {}
        self._where: dict[int, str] = {}
        self._thread = threading.Thread(
            target=self._main, name=f"hpo-driver-{ledger.name}", daemon=True
        )

    # ------------------------------------------------------------------ control

    @property
    def status(self) -> str:
        if self.lost is not None:
            return "cluster lost"
        if self._stopping:
            return "stopping"
        if self._paused:
            return "paused"
        return "finishing" if self.holding is not None else "running"

    def start(self) -> None:
        _LIVE.add(self)
        self.started_at = self.clock.time()
        self._thread.start()

    def progress(self) -> RunProgress:
        """A snapshot of where this run stands."""
        rule = None if self.stop_rule is None else self.stop_rule.describe(self.stop_state())
        return RunProgress(
            "idle" if self.done.is_set() else self.status,
            self.n_trials,
            self.finished,
            len(self.running),
            self.capacity,
            self.started_at,
            self.clock.time(),
            self.workers,
            rule,
            self.rule_reason or self.holding,
        )

    def stop_state(self) -> StopState:
        """What the stopping rule looks at, now."""
        from hpo_notebook.stop import StopState

        ledger = self.ledger
        progress = ledger.hypervolume_history().values if ledger.objectives.n > 1 else None
        return StopState(
            ledger.trials,
            self.clock.time(),
            ledger.objectives,
            progress,
            self.n_initial,
            self.started_at,
            self.ledger.gpus_per_trial,
            frozenset(self.running),
        )

    def _rule_allows(self, free: int) -> int:
        """How many of ``free`` trials the stopping rule lets start now. While it holds, none
        starts, and once none runs the run ends with the rule's reason. Asked only when a
        trial could start."""
        rule = self.stop_rule
        if rule is None or free <= 0:
            return free
        state = self.stop_state()
        room = rule.room(state)
        reason = (rule.check(state) or "a stopping rule holds") if room <= 0 else None
        changed = (reason is None) != (self.holding is None)
        self.holding = reason
        if reason is not None and not self.running:
            self.rule_reason = reason
            self.stop(reason)
        elif changed:
            self.ledger.publish(StatusChanged(self.status))
        return free if room == math.inf else min(free, int(room))

    def join(self) -> None:
        self._thread.join()

    def pause(self) -> None:
        with self._control:  # the loop starts trials under this lock: after pause(), none
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

    def add_trials(self, n: int) -> None:
        """Run ``n`` more trials than planned."""
        self.messages.put(_Call(lambda: self._add(n)))

    def _add(self, n: int) -> None:
        self.n_trials += n
        self.ledger.set_target(self.ledger.n_finished() + self._to_start() + len(self.running))

    def set_concurrency(self, k: int) -> None:
        """Run up to ``k`` trials at once from now on (running ones are not stopped)."""
        self.messages.put(_Call(lambda: self._set_capacity(k)))

    def _set_capacity(self, k: int) -> None:
        self.capacity = self.concurrency = k
        self.executor.scale(k)

    def prune(self, number: int, reason: str) -> None:
        """Stop a running trial at its next report (it ends PRUNED)."""
        self.messages.put(_Call(lambda: self._prune(number, reason)))

    def _prune(self, number: int, reason: str) -> None:
        attempt = self.running.get(number)
        if attempt is None:
            return
        step = self.ledger.mark_pruned(number, reason)
        self.executor.send_decision(number, attempt, step, reason)

    def _wake(self) -> None:
        self.messages.put(_Wake())
        self.ledger.publish(StatusChanged(self.status))

    # ------------------------------------------------------------------ loop

    def _main(self) -> None:
        try:
            key = f"{self.ledger.name}-{uuid.uuid4().hex[:12]}"
            self.executor.open(self.messages, key, self.policy)
            self.ledger.publish(StatusChanged("running"))
            self._loop()
        except BaseException as exc:  # reported by Study.wait(); never lost
            self.error = exc
        finally:
            try:
                self._shutdown()
            except BaseException as exc:
                self.error = self.error or exc
            if self._on_exit is not None:
                self._on_exit()
            self.done.set()
            self.ledger.publish(StatusChanged("idle"))  # the run ended (also after a lost cluster)

    def _loop(self) -> None:
        self.capacity = self.concurrency or self.executor.capacity()
        self._durations = collections.deque(maxlen=max(1, self.capacity))
        self._requeue = [
            t.number
            for t in self.ledger.trials
            if t.state in (TrialState.RUNNING, TrialState.INTERRUPTED)
        ]
        clock = self.clock
        deadline = None if self.timeout is None else clock.monotonic() + self.timeout
        while not self._stopping:
            now = clock.monotonic()
            if deadline is not None and now >= deadline:
                self.stop("timeout")
                break
            self._expire(now)
            self._fill_slots()
            if not self.running and self._to_start() <= 0:
                break
            waits = [deadline - now] if deadline is not None else []
            if self._deadlines:
                waits.append(min(self._deadlines.values()) - now)
            late_at = self._late_at()
            if late_at is not None:
                waits.append(late_at - now)
            try:
                msg = clock.wait(self.messages, max(0.0, min(waits)) if waits else None)
            except queue.Empty:
                continue
            self._handle(msg)

    def _expire(self, now: float) -> None:
        """Fail the trials that ran past ``trial_timeout`` and stop them."""
        for number in [n for n, at in self._deadlines.items() if at <= now]:
            del self._deadlines[number]
            attempt = self.running.pop(number, None)
            if attempt is None:
                continue
            reason = (
                f"TrialTimeout: the trial ran longer than trial_timeout={self.trial_timeout:g}s "
                "and was stopped"
            )
            self.executor.stop_trial(number, attempt, reason, self._where.pop(number, None))
            self.finished += 1
            t = self.ledger.finish(
                TrialEnded(
                    number, attempt, TrialState.FAILED, error=reason, ended_at=self.clock.time()
                )
            )
            self._check_failures(t)

    def _on_workers(self, msg: WorkersChanged) -> None:
        """Trials at once follow the workers there are (an adaptive cluster: the workers it
        may grow to), up to the ``concurrency`` asked for. Running trials are never stopped:
        fewer slots only hold back new starts (a worker that left has its trial re-run by
        Dask elsewhere)."""
        self.workers = msg.workers
        cap = msg.slots if self.concurrency is None else min(self.concurrency, msg.slots)
        if cap > 0 and cap != self.capacity:
            self.capacity = cap
        self.ledger.publish(StatusChanged(self.status))  # the dashboard shows the workers

    def _to_start(self) -> int:
        return self.n_trials - self.finished - len(self.running)

    def _fill_slots(self) -> None:
        """Start what can start now; ask for proposals (or compute them ahead) otherwise."""
        ledger = self.ledger
        with self._control:
            if self._paused or self._stopping:
                return
            free = self._rule_allows(min(self.capacity - len(self.running), self._to_start()))
            if self.holding is not None:
                return
            if free > 0 and self._requeue:
                numbers, self._requeue = self._requeue[:free], self._requeue[free:]
                self._submit([ledger.start_attempt(n) for n in numbers])
                free -= len(numbers)
            if free > 0 and self._ready:
                take, self._ready = self._ready[:free], self._ready[free:]
                self._submit(ledger.create(take))
                free -= len(take)
        if free > 0:
            # a slow model: also for the workers that will free up while it computes
            more = min(self._ends_per_proposal(), 2 * self.capacity)
            self._ask(max(free, min(more, self._to_start() - len(self._ready))), waiting=True)
        else:
            # Every worker is busy: keep proposals computed ahead, one coherent batch at a
            # time, so a worker that frees up finds one ready even while the model takes as
            # long as several trials take to end (a big cluster, short trials).
            ahead = max(1, self.capacity // 2, min(self._ends_per_proposal(), 2 * self.capacity))
            unplanned = self._to_start() - len(self._ready)
            if self._request is None and unplanned > 0 and len(self._ready) < ahead:
                self._ask(min(unplanned, ahead), waiting=False)
        self._fill_late()

    def _ends_per_proposal(self) -> int:
        """How many trials end while one proposal is made, with every worker busy: the
        latest proposal's time over the mean duration of the latest ``capacity`` trials,
        times the workers (0 before there are both). Not the rate at which trials did end:
        a slow model holds that down to its own pace.

        While every worker is busy, proposals are kept ready for half the workers (the
        trials that tend to end close together) or for this many, up to two rounds of
        workers; a request for waiting workers asks for this many too. With 4 workers,
        trials of 0.2-2 s and proposals of 1-3 s (the utilization part of
        ``benchmarks/dispatch.py``, steady state, in one session), proposals for half the
        workers kept them 46-54% busy (3 runs), this rule 60-86% (6 runs)."""
        took, durations = self._proposal_s, self._durations
        if took is None or not durations:
            return 0
        return math.ceil(self.capacity * took * len(durations) / sum(durations))

    def _ask(self, n: int, waiting: bool) -> None:
        proposer = self.proposer
        if self._request is not None:
            if waiting and self._request.waiting_since is None:
                self._request.waiting_since = self.clock.monotonic()
            return
        if not proposer.uses_model():
            if waiting:  # cheap: no thread hand-off
                self._ready.extend(proposer.propose(n))
                self._fill_slots()
            return
        # its real compute time counts on the clock (a simulated cluster's workers wait for it)
        work = self.clock.work()
        fut = proposer.propose_async(n, self._ready)
        now = self.clock.monotonic()
        req = _Request(fut, n, now if waiting else None, now)
        self._request = req
        fut.add_done_callback(lambda f, r=req: work.done(self.messages, _ProposalsReady(r)))

    def _late_at(self) -> float | None:
        """When the worker waiting for the current request gets quasi-random points instead.
        The loop waits until this very number and compares with it: ``now - since < limit``
        can stay true at ``now == since + limit`` in floating point, and a virtual clock, which
        moves exactly to the time waited for, then never got past it."""
        req, limit = self._request, self.suggest_timeout
        if req is None or req.waiting_since is None or limit is None:
            return None
        return req.waiting_since + limit

    def _fill_late(self) -> None:
        """A worker waited ``suggest_timeout`` for the model: give it quasi-random points.
        The model's proposals are still used when they arrive, for the next free workers: a
        model slower than the timeout would otherwise never propose again (each new request
        would be late too)."""
        late_at = self._late_at()
        if late_at is None or self.clock.monotonic() < late_at:
            return
        req, limit = self._request, self.suggest_timeout
        assert req is not None and limit is not None  # a late_at needs both
        req.waiting_since = None  # the next worker to free up waits afresh
        with self._control:
            if self._paused or self._stopping:
                return
            free = self._rule_allows(min(self.capacity - len(self.running), self._to_start()))
            if free > 0:
                self._submit(self.ledger.create(self.proposer.late(free, limit)))

    def _submit(self, trials: list[Any]) -> None:
        for t in trials:
            self.running[t.number] = t.attempt
            spec = TrialSpec(
                t.number, dict(t.params), t.seed or 0, t.attempt, self.ledger.checkpoint_root
            )
            self.executor.submit(self.fn, spec)  # type: ignore[arg-type]

    def _handle(self, msg: Any) -> None:
        if isinstance(msg, TrialEnded):
            self._on_end(msg)
        elif isinstance(msg, TrialStarted):
            self._on_start(msg)
        elif isinstance(msg, WorkerLost):
            if self.running.get(msg.number) == msg.attempt:
                self.ledger.worker_lost(msg)
        elif isinstance(msg, ClusterLost):
            self.lost = msg.reason
            self.stop("cluster lost")
        elif isinstance(msg, WorkersChanged):
            self._on_workers(msg)
        elif isinstance(msg, ReportArrived):
            batch = [msg.report]
            # Drain what else is queued: one transaction for a burst of reports.
            while True:
                try:
                    nxt = self.messages.get_nowait()
                except queue.Empty:
                    break
                if isinstance(nxt, TrialStarted):  # touches no report: handled in passing
                    self._on_start(nxt)
                    continue
                if not isinstance(nxt, ReportArrived):
                    self.messages.put(nxt)
                    break
                batch.append(nxt.report)
            self._on_reports(batch)
        elif isinstance(msg, _ProposalsReady):
            self._on_proposals(msg.request)
        elif isinstance(msg, _Call):
            msg.fn()

    def _on_proposals(self, req: _Request) -> None:
        if req is not self._request:
            return  # of an earlier run
        self._request = None
        self._proposal_s = self.clock.monotonic() - req.asked_at
        self._ready.extend(req.future.result())  # an optimizer error stops the study

    def _on_start(self, msg: TrialStarted) -> None:
        if self.running.get(msg.number) == msg.attempt:
            if msg.worker is not None:
                self._where[msg.number] = msg.worker
            if self.trial_timeout is not None:
                self._deadlines[msg.number] = self.clock.monotonic() + self.trial_timeout

    def _on_reports(self, batch: list[Report]) -> None:
        # Reports of an abandoned attempt are dropped; those of the current one are kept even
        # if they arrive after its end (but only running trials are judged).
        attempt_of = self.ledger.attempt_of
        live = [r for r in batch if attempt_of(r.trial) == r.attempt]
        self.ledger.add_reports(live)
        policy = self.policy
        for r in live:
            number, attempt = r.trial, r.attempt
            if attempt is None or self.running.get(number) != attempt:
                continue
            d = self.ledger.judge(r)
            if d is None:
                continue
            previous = self.ledger.reports().previous_step(number, r.step)
            if d.prune or (policy is not None and policy.points.includes(r.step, previous)):
                self.executor.send_decision(number, attempt, r.step, d.reason or None)

    def _on_end(self, msg: TrialEnded) -> None:
        if self.running.get(msg.number) != msg.attempt:
            return  # an abandoned attempt that finished anyway
        del self.running[msg.number]
        self._deadlines.pop(msg.number, None)
        self._where.pop(msg.number, None)
        # counted before the study publishes the end: a progress snapshot taken by a
        # listener then agrees with the trial states (the study keeps the state's kind)
        self.finished += msg.state.finished
        t = self.ledger.finish(msg)
        if t.started_at is not None and t.ended_at is not None and t.ended_at > t.started_at:
            self._durations.append(t.ended_at - t.started_at)
        if t.state is TrialState.FAILED:
            self._check_failures(t)

    def _check_failures(self, last: Trial) -> None:
        counts = self.ledger.counts()
        failed = counts["FAILED"]
        ended = failed + counts["COMPLETE"] + counts["PRUNED"]
        share = self.max_failure_share
        if failed >= MIN_FAILURES and failed / max(1, ended) > share:
            self.error = StudyFailedError(
                f"study {self.ledger.name!r} stopped: {failed} of {ended} finished trials "
                f"failed (more than max_failure_share={share:g}). Last error, trial "
                f"{last.number}: {last.error}\n{last.traceback or ''}"
            )
            self.stop("failures")

    # ------------------------------------------------------------------ shutdown

    def _shutdown(self) -> None:
        if not self.executor.is_open:
            return
        if self.running and self.lost is not None:  # no trial can report or end any more
            interrupted = len(self.running)
            for number, attempt in list(self.running.items()):
                self.running.pop(number)
                self.ledger.finish(
                    TrialEnded(number, attempt, TrialState.INTERRUPTED,
                               error=f"ClusterLost: {self.lost}", ended_at=self.clock.time())
                )  # fmt: skip
            self.error = self.error or ClusterLostError(
                f"{self.lost}. {interrupted} running trial(s) were marked INTERRUPTED; completed "
                "trials are kept. Continue on a new cluster with study.run(cluster='tcp://"
                "<scheduler>:8786') (or a Client): the interrupted trials run again, from "
                "their checkpoints, and the plan is finished."
            )
        elif self.lost is not None:
            self.error = self.error or ClusterLostError(
                f"{self.lost}. No trial was running; continue on a new cluster with "
                "study.run(cluster='tcp://<scheduler>:8786') (or a Client)."
            )
        if self.running:
            self.executor.stop_trials()
            clock = self.clock
            deadline = clock.monotonic() + STOP_GRACE_S
            while self.running and clock.monotonic() < deadline:
                try:
                    msg = clock.wait(self.messages, max(0.0, deadline - clock.monotonic()))
                except queue.Empty:
                    break
                self._handle(msg)
            if self.running:
                self.executor.abandon(dict(self.running))
                for number in list(self.running):
                    attempt = self.running.pop(number)
                    self.ledger.finish(
                        TrialEnded(
                            number,
                            attempt,
                            TrialState.INTERRUPTED,
                            error="the study stopped before the trial finished",
                            ended_at=self.clock.time(),
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
