"""A simulated cluster: trials run in the driver process on a virtual clock.

``hn.SimulatedCluster(n_workers=64)``, passed as ``cluster=``, runs the same study loop as a
Dask cluster does (pending points, concurrency, pruning decisions, failures, ``resources=``,
pause and stop, checkpoints, ``trial_timeout``) but trial functions run in the driver
process, one at a time, and time is virtual: ``trial.sleep(seconds)`` advances a trial's
time instead of waiting, so 10,000 trials of an hour each finish in seconds. Everything the
study records (trial durations, report times, the run's ``timeout``, hypervolume over time,
the dashboard's clock) is virtual time.

The real compute time of model proposals is charged to the virtual clock: while a proposal
is computed, virtual time runs no faster than real time, and its result arrives at the
virtual time it was asked for plus its real compute time. A slow optimizer therefore shows up
as idle simulated workers, as it would on a real cluster.

How it works: the driver thread owns the clock. When it has no message to handle, it runs
the next event of the clock's queue: it starts a trial, or resumes one whose ``trial.sleep``
is over. Each running trial has a thread, but only one thread (the driver's or one trial's)
runs at any time; a trial hands control back when it sleeps, when it waits for a pruning
decision, and when it ends. So a simulation is deterministic for a given sequence of
proposals.

Example:
    >>> import hpo_notebook as hn
    >>> def train(params, trial):
    ...     for epoch in range(1, 4):
    ...         trial.sleep(600.0)  # ten virtual minutes per epoch
    ...         trial.report(epoch, loss=params["x"] / epoch)
    ...     return {"loss": params["x"] / 3}
    >>> cluster = hn.SimulatedCluster(n_workers=4)
    >>> space = {"x": hn.Float(0.0, 1.0)}
    >>> study = hn.Study(train, space, {"loss": "min"}, optimizer="random", seed=0)
    >>> _ = study.run(8, cluster=cluster, progress=False, show=False)
    >>> study.counts()["COMPLETE"], round(float(study.trials_frame()["duration_s"].max()))
    (8, 1800)
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import queue
import random
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo_notebook._numbers import positive_int
from hpo_notebook.clock import Work
from hpo_notebook.events import WorkerLost
from hpo_notebook.exceptions import ConfigError
from hpo_notebook.execution.base import (
    DecisionPolicy,
    Message,
    ReportArrived,
    TrialAbandoned,
    TrialEnded,
    TrialSpec,
    TrialStarted,
    WorkersChanged,
    call_trial,
    check_resources,
)
from hpo_notebook.reports import Report
from hpo_notebook.trial import TrialContext, TrialState


class _Tick:
    """Wakes a driver that waits in real time (real work ended)."""


_TICK = _Tick()


class VirtualClock:
    """Virtual time and the queue of what happens when (owned by the driver thread).

    Args:
        start: the UNIX time the clock starts at.
    """

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()  # events may be added from a proposal thread
        self._works: dict[int, tuple[float, float]] = {}  # id -> (virtual, real) start

    def __repr__(self) -> str:
        return f"VirtualClock(time={self._now:.3f})"

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def at(self, t: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the driver thread when the clock reaches ``t``."""
        with self._lock:
            heapq.heappush(self._events, (max(t, self._now), next(self._seq), fn))

    def work(self) -> Work:
        return _VirtualWork(self)

    def discard(self) -> None:
        """Forget every scheduled event (the run they belong to is over)."""
        with self._lock:
            self._events.clear()

    def _bound(self) -> float:
        """How far virtual time may run now: real work in flight holds it to its start plus
        the real time it has taken so far."""
        if not self._works:
            return math.inf
        real = time.perf_counter()
        return min(v + (real - r) for v, r in self._works.values())

    def wait(self, messages: queue.Queue[Any], timeout: float | None) -> Any:
        deadline = math.inf if timeout is None else self._now + max(0.0, timeout)
        while True:
            try:
                msg = messages.get_nowait()
            except queue.Empty:
                pass
            else:
                if msg is not _TICK:
                    return msg
                continue
            with self._lock:
                first = self._events[0][0] if self._events else math.inf
                bound = self._bound()
                target = min(first, deadline)
                # taken under the lock: a proposal ending now may add an earlier event
                due = None
                if self._events and first <= min(deadline, bound):
                    due = heapq.heappop(self._events)
            if due is not None:
                self._now = max(self._now, due[0])
                due[2]()
                continue
            if target <= bound:
                if target == math.inf:  # nothing scheduled: only another thread can help
                    msg = messages.get()
                    if msg is not _TICK:
                        return msg
                    continue
                self._now = max(self._now, target)  # the deadline, before the next event
                raise queue.Empty
            # Real work holds the clock back: let real time pass (at most until the next
            # event is due) and virtual time with it.
            self._now = max(self._now, bound)
            real0 = time.perf_counter()
            try:
                msg = messages.get(timeout=None if target == math.inf else target - bound)
            except queue.Empty:
                msg = None
            with self._lock:
                first = self._events[0][0] if self._events else math.inf
            self._now = max(self._now, min(bound + time.perf_counter() - real0, target, first))
            if msg is not None and msg is not _TICK:
                return msg


class _VirtualWork:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.key = id(self)
        with clock._lock:
            clock._works[self.key] = (clock._now, time.perf_counter())

    def done(self, messages: queue.Queue[Any], message: Any) -> None:
        clock = self.clock
        with clock._lock:
            v, r = clock._works.pop(self.key)
            end = v + (time.perf_counter() - r)
            heapq.heappush(
                clock._events,
                (max(end, clock._now), next(clock._seq), lambda: messages.put(message)),
            )
        messages.put(_TICK)


@dataclass(frozen=True)
class Preemptions:
    """Simulated workers taken away while they run, as spot instances are.

    At a rate: every worker instance lives an exponential time whose half-life is
    ``half_life_s`` (half the instances are gone within it), and is replaced by a new instance
    ``replace_after_s`` later (which may be preempted in turn). Or at given times:
    ``at=((seconds after the run starts, worker index), ...)``, each replaced the same way.

    A trial on a preempted worker is run again on another worker with the same attempt
    number, as Dask does: it goes on from its checkpoint, its reports after the checkpoint's
    step are dropped, and it counts once. Every preemption is logged in the cluster's
    :attr:`SimulatedCluster.preempted`.

    Example:
        >>> spot = Preemptions(half_life_s=7200.0, replace_after_s=600.0, seed=1)
        >>> spot.mean_life_s > spot.half_life_s
        True
    """

    half_life_s: float | None = None
    replace_after_s: float = 300.0
    at: tuple[tuple[float, int], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        def positive(name: str, v: Any) -> None:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
                raise ConfigError(f"Preemptions: {name} must be a positive number, got {v!r}")

        if self.half_life_s is not None:
            positive("half_life_s", self.half_life_s)
        positive("replace_after_s", self.replace_after_s)
        if self.half_life_s is None and not self.at:
            raise ConfigError("Preemptions: give half_life_s (a rate) or at=((time, worker), ...)")
        for item in self.at:
            ok = isinstance(item, tuple) and len(item) == 2
            if not ok or isinstance(item[1], bool) or not isinstance(item[1], int):
                raise ConfigError(
                    f"Preemptions: at holds (seconds, worker index) pairs, got {item!r}"
                )
            if isinstance(item[0], bool) or not isinstance(item[0], (int, float)) or item[0] < 0:
                raise ConfigError(f"Preemptions: a time in at must be >= 0, got {item[0]!r}")

    @property
    def mean_life_s(self) -> float:
        """The mean lifetime of an instance (half-life / ln 2)."""
        return math.inf if self.half_life_s is None else self.half_life_s / math.log(2)


class SimulatedCluster:
    """A cluster of ``n_workers`` simulated workers on a virtual clock; pass it as
    ``cluster=`` to ``Study.run``/``start``/``run_async`` (see the module docstring).

    Args:
        n_workers: workers; each runs one trial at a time.
        resources: what each worker offers, e.g. ``{"GPU": 1}``: a study run with
            ``resources={"GPU": 1}`` uses only the workers that offer it.
        start: the UNIX time the virtual clock starts at (default: now). The clock goes on
            from where it stopped when the cluster is used again.
        preemptions: workers taken away while they run, and replaced (see
            :class:`Preemptions`); None: workers never leave.

    Attributes:
        preempted: one dict per preemption (``time``, ``worker``, and the ``trial`` and
            ``attempt`` it ran, or None), across runs.

    Raises:
        ConfigError: ``n_workers`` is not a positive integer, ``resources`` is not a
            mapping of names to positive amounts, or ``preemptions`` names a worker the
            cluster does not have.
    """

    def __init__(
        self,
        n_workers: int = 8,
        resources: Mapping[str, float] | None = None,
        start: float | None = None,
        preemptions: Preemptions | None = None,
    ) -> None:
        self.n_workers = positive_int("n_workers", n_workers)
        self.resources = check_resources(resources)
        if preemptions is not None and not isinstance(preemptions, Preemptions):
            raise ConfigError(
                f"preemptions must be hn.Preemptions(...) or None, got {preemptions!r}"
            )
        for _, index in preemptions.at if preemptions else ():
            if not 0 <= index < self.n_workers:
                raise ConfigError(
                    f"Preemptions: worker index {index} is not one of the cluster's "
                    f"{self.n_workers} workers (0 to {self.n_workers - 1})"
                )
        self.preemptions = preemptions
        self.preempted: list[dict[str, Any]] = []
        if start is not None and (
            isinstance(start, bool)
            or not isinstance(start, (int, float))
            or not math.isfinite(start)
        ):
            raise ConfigError(f"start must be a UNIX time in seconds or None, got {start!r}")
        self.clock = VirtualClock(time.time() if start is None else float(start))
        self._user: str | None = None  # the study running on it now (one at a time)
        self._use = threading.Lock()

    def _acquire(self, who: str) -> None:
        with self._use:
            if self._user is not None:
                raise ConfigError(
                    f"this SimulatedCluster is running study {self._user!r}; one simulated "
                    "cluster runs one study at a time (its clock is that study's): make another "
                    "hn.SimulatedCluster(...) for a second study"
                )
            self._user = who

    def _release(self) -> None:
        with self._use:
            self._user = None

    def __repr__(self) -> str:
        res = f", resources={self.resources}" if self.resources else ""
        return f"SimulatedCluster(n_workers={self.n_workers}{res}, clock={self.clock!r})"


@dataclass(eq=False)
class _Job:
    fn: Callable[..., Any]
    spec: TrialSpec
    worker: str | None = None
    fiber: _Fiber | None = None
    decided: float = -math.inf  # the latest step the pruner answered
    prune: str | None = None
    abandoned: bool = False
    wake: int = 0  # which of its sleeps the pending wake-up belongs to
    ended: bool = False
    awaited: float | None = field(default=None)
    lost_from: str | None = None  # a re-run: the worker preempted under it


class _Fiber:
    """A thread that runs one trial at a time, only while the driver hands it control."""

    def __init__(self, sim: SimulatedExecutor, index: int) -> None:
        self.sim = sim
        self.go = threading.Lock()
        self.go.acquire()
        self.job: _Job | None = None
        self.thread = threading.Thread(target=self._body, name=f"hpo-sim-{index}", daemon=True)
        self.thread.start()

    def resume(self) -> None:
        """Driver side: run this fiber until it hands control back."""
        self.go.release()
        self.sim.back.acquire()

    def pause(self) -> None:
        """Fiber side: hand control back until resumed; unwind if the trial was given up."""
        self.sim.back.release()
        self.go.acquire()
        if self.job is None or self.job.abandoned:
            raise TrialAbandoned

    def _body(self) -> None:
        while True:
            self.go.acquire()
            job = self.job
            if job is None:  # the executor closed
                self.sim.back.release()
                return
            try:
                self.sim.run_job(job)
            except TrialAbandoned:
                pass
            except BaseException as exc:  # a bug of ours: log it, never leave the driver waiting
                logging.getLogger(__name__).exception("simulated trial %s", job.spec.number)
                self.sim.failed(job, exc)
            finally:
                self.job = None
                self.sim.fiber_free(self, job)
                self.sim.back.release()


class _Channel:
    """The report channel of a simulated trial."""

    def __init__(self, sim: SimulatedExecutor, job: _Job) -> None:
        self.sim = sim
        self.job = job

    def send(self, report: dict[str, Any]) -> None:
        self.sim.post(ReportArrived(Report.from_dict(report)))

    def verdict(self, step: float | None, previous: float | None = None) -> str | None:
        job, policy = self.job, self.sim.policy
        if step is None or policy is None:
            return job.prune
        if job.awaited is not None and job.decided < job.awaited:
            self.sim.yield_now(job)  # the answer to the previous report is due by now
        job.awaited = None
        if policy.points.includes(step, previous):
            if policy.wait_now:
                self.sim.yield_now(job)  # the driver answers before the trial goes on
            else:
                job.awaited = step
        return job.prune

    def stop_heard(self) -> bool:
        return False  # a simulated trial sees a stop on its timer (in virtual time)

    def stopping(self) -> bool:
        return self.sim.stopping

    def time(self) -> float:
        return self.sim.clock.time()

    def sleep(self, seconds: float) -> None:
        self.sim.sleep(self.job, seconds)


class SimulatedExecutor:
    """The executor behind :class:`SimulatedCluster` (see the module docstring)."""

    def __init__(self, cluster: SimulatedCluster, resources: Mapping[str, float] | None = None):
        if cluster._user is not None:  # say so before anything starts (open() makes sure)
            cluster._acquire("")
        self.cluster = cluster
        self.resources = check_resources(resources)
        self.back = threading.Lock()  # released by a fiber when it hands control back
        self.back.acquire()
        self.policy: DecisionPolicy | None = None
        self.stopping = False
        self._messages: queue.Queue[Message] | None = None
        self._free: list[str] = []
        self._queued: deque[_Job] = deque()
        self._jobs: dict[tuple[int, int], _Job] = {}
        self._fibers: list[_Fiber] = []
        self._idle: list[_Fiber] = []
        self._lineage: dict[str, Any] | None = None
        self._alive: list[str] = []  # worker instances there now
        self._generation: dict[int, int] = {}  # worker index -> its instances so far
        self._rng = random.Random(0)

    @property
    def clock(self) -> VirtualClock:
        return self.cluster.clock

    # ------------------------------------------------------------------ lifecycle

    def open(
        self, messages: queue.Queue[Message], study_key: str, policy: DecisionPolicy | None = None
    ) -> None:
        from hpo_notebook.lineage import process_lineage

        self.cluster._acquire(study_key.rsplit("-", 1)[0])
        try:
            self._open(messages, policy)
        except BaseException:
            self.cluster._release()
            raise
        self._lineage = {**process_lineage(), "simulated": True}

    def _open(self, messages: queue.Queue[Message], policy: DecisionPolicy | None) -> None:
        self._messages = messages
        self.policy = policy
        self.stopping = False
        self._alive = self._workers()
        self._generation = {}
        self._free = [w for w in self._alive if self._fits(w)]
        if not self._free:
            raise ConfigError(
                f"no simulated worker offers resources {self.resources} (workers offer "
                f"{self.cluster.resources or 'nothing'}); pass "
                f"hn.SimulatedCluster(..., resources={self.resources})"
            )
        self._free.reverse()  # pop() hands out worker 0 first
        spot = self.cluster.preemptions
        if spot is not None:
            self._rng = random.Random(spot.seed)
            now = self.clock.time()
            for offset, index in spot.at:
                self.clock.at(now + offset, lambda i=index: self._preempt(self._instance(i)))
            for worker in self._alive:
                self._schedule_end(worker)

    def _workers(self) -> list[str]:
        return [f"sim://worker-{i}" for i in range(self.cluster.n_workers)]

    # ------------------------------------------------------------------ preemption

    def _instance(self, index: int) -> str:
        """The name of worker ``index``'s current instance (a replacement gets ``.<n>``)."""
        gen = self._generation.get(index, 0)
        return f"sim://worker-{index}" + (f".{gen}" if gen else "")

    def _schedule_end(self, worker: str) -> None:
        spot = self.cluster.preemptions
        if spot is not None and spot.half_life_s is not None:
            life = self._rng.expovariate(1.0 / spot.mean_life_s)
            self.clock.at(self.clock.time() + life, lambda: self._preempt(worker))

    def _preempt(self, worker: str) -> None:
        """Driver side: ``worker`` is gone. Its trial runs again elsewhere, from its
        checkpoint, as the same attempt; a replacement comes ``replace_after_s`` later."""
        if self._messages is None or worker not in self._alive:
            return
        self._alive.remove(worker)
        if worker in self._free:
            self._free.remove(worker)
        job = next((j for j in self._jobs.values() if j.worker == worker and not j.abandoned
                    and not j.ended), None)  # fmt: skip
        self.cluster.preempted.append({
            "time": self.clock.time(), "worker": worker,
            "trial": None if job is None else job.spec.number,
            "attempt": None if job is None else job.spec.attempt,
        })  # fmt: skip
        if job is not None:
            again = _Job(job.fn, job.spec, lost_from=worker)
            job.abandoned = True  # its code unwinds; no end is posted for it
            job.worker = None
            self._jobs[(job.spec.number, job.spec.attempt)] = again
            self._queued.appendleft(again)
            if job.fiber is not None:
                job.fiber.resume()  # raises TrialAbandoned in the trial; back when unwound
        self._post_workers()
        index = int(worker.split("-", 1)[1].split(".")[0])
        replace_after = self.cluster.preemptions.replace_after_s  # type: ignore[union-attr]
        self.clock.at(self.clock.time() + replace_after, lambda: self._replace(index))
        self._dispatch()

    def _replace(self, index: int) -> None:
        if self._messages is None:
            return
        self._generation[index] = self._generation.get(index, 0) + 1
        worker = self._instance(index)
        self._alive.append(worker)
        if self._fits(worker):
            self._free.append(worker)
        self._schedule_end(worker)
        self._post_workers()
        self._dispatch()

    def _post_workers(self) -> None:
        slots = sum(self._fits(w) for w in self._alive)
        self.post(WorkersChanged(len(self._alive), slots))

    def _fits(self, worker: str) -> bool:
        have = self.cluster.resources or {}
        return all(have.get(k, 0.0) >= need for k, need in (self.resources or {}).items())

    @property
    def is_open(self) -> bool:
        return self._messages is not None

    @property
    def dashboard_link(self) -> str | None:
        return None

    def capacity(self) -> int:
        return sum(self._fits(w) for w in (self._alive or self._workers()))

    def scale(self, n: int) -> None:
        """A simulated cluster is the user's: its size stays as given."""

    def close(self) -> None:
        if self._messages is None:
            return
        self.abandon({n: a for (n, a) in list(self._jobs)})
        for fiber in self._fibers:  # idle fibers end their threads
            fiber.resume()
        self._fibers.clear()
        self._idle.clear()
        self._queued.clear()
        self.clock.discard()  # wake-ups of the trials given up (the clock lives on)
        self._messages = None
        self.cluster._release()

    # ------------------------------------------------------------------ trials

    def submit(self, fn: Callable[..., Any], spec: TrialSpec) -> None:
        job = _Job(fn, spec)
        self._jobs[(spec.number, spec.attempt)] = job
        self._queued.append(job)
        self._dispatch()

    def _dispatch(self) -> None:
        while self._free and self._queued:
            job = self._queued.popleft()
            if job.abandoned:
                continue
            job.worker = self._free.pop()
            self.clock.at(self.clock.time(), lambda j=job: self._start(j))

    def _start(self, job: _Job) -> None:
        if job.abandoned:
            return
        fiber = self._idle.pop() if self._idle else self._new_fiber()
        fiber.job, job.fiber = job, fiber
        fiber.resume()

    def _new_fiber(self) -> _Fiber:
        fiber = _Fiber(self, len(self._fibers))
        self._fibers.append(fiber)
        return fiber

    def run_job(self, job: _Job) -> None:
        """Fiber side: run one trial and post how it ended."""
        spec, now = job.spec, self.clock.time
        _seed(spec.seed)
        if job.lost_from is not None:  # as Dask's second start of a task tells the study
            from hpo_notebook.checkpoints import checkpoint_step

            step = None if spec.checkpoint_root is None else checkpoint_step(
                spec.checkpoint_root, spec.number)  # fmt: skip
            self.post(WorkerLost(spec.number, spec.attempt, job.lost_from, step))
        self.post(TrialStarted(spec.number, spec.attempt, job.worker, now()))
        ctx = TrialContext(
            spec.number, spec.params, spec.seed, spec.attempt, _Channel(self, job),
            spec.checkpoint_root,
        )  # fmt: skip
        started = now()
        out = call_trial(job.fn, ctx, now)
        if not job.abandoned:
            job.ended = True
            self.post(
                TrialEnded(
                    spec.number,
                    spec.attempt,
                    **out,
                    started_at=started,
                    worker=job.worker,
                    lineage=dict(self._lineage or {}),
                )
            )

    def failed(self, job: _Job, exc: BaseException) -> None:
        """Fiber side: the simulator itself failed around a trial; the trial ends FAILED (it
        must end, or the study would wait for it forever)."""
        if job.abandoned or job.ended:
            return
        job.ended = True
        now = self.clock.time()
        self.post(
            TrialEnded(
                job.spec.number,
                job.spec.attempt,
                state=TrialState.FAILED,
                error=f"the simulated cluster failed: {type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)),
                ended_at=now,
                started_at=now,
                worker=job.worker,
            )
        )

    def fiber_free(self, fiber: _Fiber, job: _Job) -> None:
        """Fiber side, last act of a trial: its worker takes the next one."""
        job.fiber = None
        self._idle.append(fiber)
        if not job.abandoned:
            self._release(job)

    def _release(self, job: _Job) -> None:
        if self._jobs.get((job.spec.number, job.spec.attempt)) is job:
            del self._jobs[(job.spec.number, job.spec.attempt)]
        if job.worker is not None:
            if job.worker in self._alive:  # (a preempted one is gone)
                self._free.append(job.worker)
            job.worker = None
        self._dispatch()

    def post(self, msg: Message) -> None:
        if self._messages is not None:
            self._messages.put(msg)

    def sleep(self, job: _Job, seconds: float) -> None:
        """Fiber side: the trial's time goes on ``seconds`` while others run."""
        job.wake += 1
        wake = job.wake
        self.clock.at(self.clock.time() + seconds, lambda: self._wake(job, wake))
        assert job.fiber is not None
        job.fiber.pause()

    def yield_now(self, job: _Job) -> None:
        """Fiber side: let the driver handle what the trial sent, then go on."""
        self.sleep(job, 0.0)

    def _wake(self, job: _Job, wake: int) -> None:
        if job.wake == wake and job.fiber is not None and not job.ended:
            job.fiber.resume()

    def send_decision(self, number: int, attempt: int, step: float, prune: str | None) -> None:
        job = self._jobs.get((number, attempt))
        if job is None:
            return
        job.decided = max(job.decided, float(step))
        if prune:
            job.prune = str(prune)

    def stop_trials(self) -> None:
        self.stopping = True

    def stop_trial(self, number: int, attempt: int, reason: str, worker: str | None) -> None:
        self.send_decision(number, attempt, math.inf, reason)
        self.abandon({number: attempt})

    def abandon(self, numbers: Mapping[int, int]) -> None:
        """Give these trials up: their workers take other trials at once, and their code is
        unwound (a ``TrialAbandoned`` raised where it sleeps)."""
        for number, attempt in numbers.items():
            job = self._jobs.get((number, attempt))
            if job is None:
                continue
            job.abandoned = True
            self._release(job)
            if job.fiber is not None:
                job.fiber.resume()  # raises TrialAbandoned in the trial; back when unwound


def _seed(seed: int) -> None:
    """Seed the generators a trial may use, as a Dask worker does (here they are the driver
    process's own; torch only when it is loaded)."""
    random.seed(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        # another thread (the proposer) may be importing torch right now: the import
        # statement waits until it is complete, where sys.modules would hand over half of it
        import torch

        torch.manual_seed(seed)
