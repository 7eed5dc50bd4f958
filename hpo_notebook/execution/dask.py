"""The Dask executor: the only module that knows Dask.

- Trials are ``Client.submit`` tasks (one per trial attempt, ``pure=False``) running
  :func:`_run_trial` on a worker, which seeds the process, calls the user function with a
  :class:`~hpo_notebook.trial.TrialContext` and returns a small outcome dict; exceptions are
  caught there so the traceback text survives the trip back.
- Reports travel as worker events (``Worker.log_event`` -> ``Client.subscribe_topic``):
  about 0.1 ms to send, fire-and-forget, in order (``shared/recipes/dask-channels.md``).
- Stopping is cooperative, through a ``distributed.Event`` that ``trial.report`` checks on a
  timer: ``Client.cancel`` does not stop running Python code.

``cluster`` may be None (a ``LocalCluster`` on 127.0.0.1 with one single-threaded worker
process per trial slot, closed afterwards), a ``distributed.Client`` (used as is, never
closed), a scheduler address string, or a cluster object with ``scheduler_address``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import random
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from distributed.diagnostics.plugin import WorkerPlugin

from hpo_notebook.clock import WALL, Clock
from hpo_notebook.events import WorkerLost
from hpo_notebook.exceptions import ConfigError, HpoError, HpoWarning
from hpo_notebook.execution.base import (
    ClusterLost,
    DecisionPolicy,
    Message,
    ReportArrived,
    TrialEnded,
    TrialSpec,
    TrialStarted,
    WorkersChanged,
    call_trial,
    check_resources,
)
from hpo_notebook.lineage import process_lineage
from hpo_notebook.reports import Report
from hpo_notebook.trial import TrialContext, TrialState


def default_workers() -> int:
    """Worker processes for a LocalCluster when the user gives no concurrency."""
    return max(1, min(os.cpu_count() or 1, 8))


class DaskExecutor:
    """Runs trials on a Dask cluster.

    Args:
        cluster: None, a ``distributed.Client``, a scheduler address or a cluster object.
        n_workers: worker processes of the LocalCluster started when ``cluster`` is None.
        resources: Dask resources each trial needs, e.g. ``{"GPU": 1}``.

    Raises:
        ConfigError: ``cluster`` has an unsupported type, or no worker offers ``resources``.
    """

    def __init__(
        self,
        cluster: Any = None,
        n_workers: int | None = None,
        resources: Mapping[str, float] | None = None,
    ) -> None:
        if not (
            cluster is None
            or isinstance(cluster, str)
            or _is_client(cluster)
            or hasattr(cluster, "scheduler_address")
        ):
            raise ConfigError(
                "cluster must be None (start a local cluster), a distributed.Client, a "
                f"scheduler address such as 'tcp://10.0.0.1:8786', or a cluster object; got "
                f"{type(cluster).__name__}"
            )
        self._cluster_arg = cluster
        self._n_workers = n_workers or default_workers()
        self.resources = check_resources(resources)
        self._client: Any = None
        self._own_client = False
        self._own_cluster: Any = None
        self._messages: queue.Queue[Message] | None = None
        self._topic = ""
        self._stop_name = ""
        self._control = ""
        self._policy: DecisionPolicy | None = None
        self._futures: dict[tuple[int, int], Any] = {}
        # (number, attempt) -> the worker it started on, while it runs
        self._started: dict[tuple[int, int], str | None] = {}
        self._lost: str | None = None  # why the scheduler counts as lost
        self._watching = threading.Event()  # set while the scheduler is watched

    # ------------------------------------------------------------------ lifecycle

    def open(
        self, messages: queue.Queue[Message], study_key: str, policy: DecisionPolicy | None = None
    ) -> None:
        from distributed import Client, LocalCluster

        self._messages = messages
        self._policy = policy
        self._topic = f"hpo-report-{study_key}"
        self._stop_name = f"hpo-stop-{study_key}"
        self._control = f"hpo-control-{study_key}"
        c = self._cluster_arg
        if c is None:
            try:
                self._own_cluster = LocalCluster(
                    n_workers=self._n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    # a free port: None would mean 8787 and a warning when it is taken
                    dashboard_address="127.0.0.1:0",
                    # its workers' shutdown chatter (heartbeats to a scheduler that is closing)
                    # would land in the notebook cell; trial errors are reported separately
                    silence_logs=logging.CRITICAL,
                )
            except Exception as exc:
                raise HpoError(
                    f"could not start a local Dask cluster ({type(exc).__name__}: {exc}). In a "
                    'script, run the study under `if __name__ == "__main__":`: worker '
                    "processes import the script again."
                ) from exc
            self._client = Client(self._own_cluster, set_as_default=False)
            self._own_client = True
        elif _is_client(c):
            self._client = c
        else:
            self._client = Client(c, set_as_default=False)
            self._own_client = True
        self._check_resources()
        self._client.register_plugin(IgnoreInterrupts(), name="hpo-notebook-ignore-sigint")
        self._client.subscribe_topic(self._topic, self._on_report)
        self._lost = None
        self._watching.set()
        threading.Thread(
            target=self._watch_scheduler, name="hpo-watch-scheduler", daemon=True
        ).start()

    def _watch_scheduler(self) -> None:
        """Report the cluster lost when the client has not been connected to its scheduler
        for :data:`SCHEDULER_LOST_AFTER_S` (a blip shorter than that is ridden out: Dask
        reconnects and the trials go on)."""
        client, since, seen = self._client, None, None
        while self._watching.wait(0) and client is self._client:
            status = getattr(client, "status", "running")
            # a frozen or cut-off scheduler keeps the connection open: ask it something
            workers = self._workers(client) if status == "running" else None
            if workers is not None:
                since = None
                if workers != seen:
                    seen = workers
                    self._workers_changed(workers)
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since >= SCHEDULER_LOST_AFTER_S:
                self._cluster_lost(
                    f"the Dask scheduler at {_address(client)} has not answered for "
                    f"{SCHEDULER_LOST_AFTER_S:g} s (client status {status!r})"
                )
                return
            time.sleep(SCHEDULER_POLL_S)

    def _workers(self, client: Any) -> tuple[_Worker, ...] | None:
        """``(address, threads, resources)`` of every worker, or None if the scheduler did
        not answer in time. Without ``resources=`` only the thread counts are asked for (a
        few bytes per worker, where the full worker info is kilobytes: this runs every 2 s)."""
        timeout = SCHEDULER_POLL_S * 2
        try:
            if not self.resources:
                threads = client.sync(client.scheduler.ncores, callback_timeout=timeout)
                return tuple(sorted((a, int(n), ()) for a, n in threads.items()))
            info = client.sync(client.scheduler.identity, n_workers=-1, callback_timeout=timeout)
        except Exception:  # a timeout, a closed comm
            return None
        return tuple(sorted(
            (a, int(w.get("nthreads", 1)), tuple(sorted(w.get("resources", {}).items())))
            for a, w in info.get("workers", {}).items()
        ))  # fmt: skip

    def _workers_changed(self, workers: tuple[Any, ...]) -> None:
        if self._messages is None:
            return
        slots = self._slots({"nthreads": n, "resources": dict(r)} for _, n, r in workers)
        maximum = self._adaptive_maximum()
        if maximum is not None:  # it grows while trials wait: count the workers it may have
            per_worker = slots / len(workers) if workers else 1.0
            slots = max(slots, math.floor(maximum * max(per_worker, 1.0)))
        self._messages.put(WorkersChanged(len(workers), slots, maximum is not None))

    def _rpc(self, handler: str, **kwargs: Any) -> None:
        """One call to the scheduler that gives up after :data:`RPC_TIMEOUT_S`: a frozen
        scheduler must not hang the study (the watcher reports it lost)."""
        client = self._client
        if client is None or self._lost is not None:
            return
        try:
            client.sync(getattr(client.scheduler, handler), callback_timeout=RPC_TIMEOUT_S,
                        **kwargs)  # fmt: skip
        except Exception:
            logging.getLogger(__name__).debug("scheduler call %s failed", handler, exc_info=True)

    def _cancel(self, futures: list[Any]) -> None:
        """Cancel ``futures`` without waiting more than :data:`RPC_TIMEOUT_S` on the
        scheduler (Future.cancel waits for its answer)."""
        client = self._client
        if not futures or client is None or self._lost is not None:
            return
        done = threading.Event()

        def cancel() -> None:
            try:
                client.cancel(futures)
            except Exception:
                logging.getLogger(__name__).debug("cancelling failed", exc_info=True)
            finally:
                done.set()

        threading.Thread(target=cancel, name="hpo-cancel", daemon=True).start()
        done.wait(RPC_TIMEOUT_S)

    def _cluster_lost(self, reason: str) -> None:
        if self._lost is not None or not self._watching.is_set():
            return
        self._lost = reason
        self._watching.clear()
        if self._messages is not None:
            self._messages.put(ClusterLost(reason))

    def close(self) -> None:
        self._watching.clear()  # closing on purpose: not a lost scheduler
        client = self._client
        if client is None:
            return
        if self._lost is not None:  # nothing to tell a dead scheduler; do not wait on it
            self._futures.clear()
            with _quiet("distributed", "tornado.application"):
                if self._own_client:
                    client.close(timeout=2)
                if self._own_cluster is not None:
                    self._own_cluster.close(timeout=2)
            self._client = None
            self._own_cluster = None
            return
        try:
            client.unsubscribe_topic(self._topic)
            self._cancel(list(self._futures.values()))
            self._futures.clear()
            self._rpc("event_clear", name=self._stop_name)
        except Exception:  # closing must not raise over the real error, if any
            logging.getLogger(__name__).debug("while closing the executor", exc_info=True)
        finally:
            with _quiet("distributed", "tornado.application"):  # closing on purpose
                if self._own_client:
                    client.close(timeout=CLOSE_TIMEOUT_S)
                if self._own_cluster is not None:
                    self._own_cluster.close(timeout=CLOSE_TIMEOUT_S)
            self._client = None
            self._own_cluster = None

    @property
    def clock(self) -> Clock:
        return WALL

    @property
    def client(self) -> Any:
        return self._client

    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def dashboard_link(self) -> str | None:
        if self._client is None or not _has_bokeh():
            return None
        try:
            return str(self._client.dashboard_link)
        except Exception:
            return None

    def capacity(self) -> int:
        return self._slots(self._client.scheduler_info(n_workers=-1)["workers"].values())

    def _slots(self, workers: Any) -> int:
        total = 0
        for w in workers:
            slots = int(w.get("nthreads", 1))
            for name, need in (self.resources or {}).items():
                have = float(w.get("resources", {}).get(name, 0))
                slots = min(slots, int(have // need))
            total += slots
        return total

    def _adaptive_maximum(self) -> int | None:
        """The most workers an adaptive cluster (``cluster.adapt(maximum=...)``) may grow to,
        if the cluster we run on is one."""
        cluster = self._own_cluster or getattr(self._cluster_arg, "cluster", None)
        if cluster is None and hasattr(self._cluster_arg, "scheduler_address"):
            cluster = self._cluster_arg
        adaptive = getattr(cluster, "_adaptive", None)
        maximum = getattr(adaptive, "maximum", None)
        state = getattr(getattr(adaptive, "periodic_callback", None), "is_running", None)
        if adaptive is None or not isinstance(maximum, (int, float)) or math.isinf(maximum):
            return None
        return int(maximum) if state is None or state() else None

    def _check_resources(self) -> None:
        if not self.resources:
            return
        if self._client.scheduler_info(n_workers=-1)["workers"] and self.capacity() > 0:
            return
        offered = {
            addr: w.get("resources", {})
            for addr, w in self._client.scheduler_info(n_workers=-1)["workers"].items()
        }
        raise ConfigError(
            f"no worker offers resources {self.resources} (workers offer {offered or 'nothing'}); "
            "start workers that declare them, e.g. hn.local_gpu_cluster() or "
            "`dask worker ADDRESS --resources GPU=1`"
        )

    # ------------------------------------------------------------------ trials

    def submit(self, fn: Callable[..., Any], spec: TrialSpec) -> None:
        route = _Route(self._topic, self._stop_name, self._control, self._policy)
        fut = self._client.submit(
            _run_trial,
            fn,
            spec,
            route,
            key=self._key(spec.number, spec.attempt),
            pure=False,
            resources=self.resources,
        )
        self._futures[(spec.number, spec.attempt)] = fut
        fut.add_done_callback(lambda f, s=spec: self._on_done(f, s))

    def _key(self, number: int, attempt: int) -> str:
        return f"{self._topic}-{number}-{attempt}"

    def scale(self, n: int) -> None:
        """Resize the cluster this executor started (a user's cluster is left alone)."""
        if self._own_cluster is not None:
            self._own_cluster.scale(n)

    def send_decision(self, number: int, attempt: int, step: float, prune: str | None) -> None:
        """Tell a running trial the pruner's decision on its report at ``step`` (pushed to its
        worker: the trial checks a local flag, no round trip)."""
        msg = {"trial": number, "attempt": attempt, "step": step, "prune": prune}
        self._rpc("log_event", topic=self._control, msg=msg)

    def stop_trials(self) -> None:
        # Pushed to the workers, so a trial stops at its very next report; the event is for
        # trials that start later or report rarely (they ask for it on a timer).
        self._rpc("log_event", topic=self._control, msg={"stop": True})
        self._rpc("event_set", name=self._stop_name)

    def stop_trial(self, number: int, attempt: int, reason: str, worker: str | None) -> None:
        """Stop one running trial the study has given up on (it timed out).

        A trial that reports stops at its next report; the task is released, so its slot
        takes other work. Python code cannot be stopped from outside its thread, so a trial
        still running after :data:`HUNG_TRIAL_GRACE_S` (hung in a call, or never reporting) has its
        worker process restarted by its nanny, when no other work runs there; otherwise a
        warning names the worker.
        """
        self.send_decision(number, attempt, math.inf, reason)
        fut = self._futures.pop((number, attempt), None)
        if fut is not None:
            self._cancel([fut])
        if worker is not None and self._client is not None:
            args = (self._client, worker, self._key(number, attempt), self._topic)
            threading.Thread(
                target=_free_worker, args=args, name="hpo-stop-trial", daemon=True
            ).start()

    def abandon(self, numbers: Mapping[int, int]) -> None:
        futures = [self._futures.pop(key, None) for key in numbers.items()]
        self._cancel([f for f in futures if f is not None])

    # ------------------------------------------------------------------ callbacks

    def _on_report(self, event: tuple[float, dict[str, Any]]) -> None:
        # Runs on the client's event loop: only enqueue.
        _, msg = event
        if self._messages is None:
            return
        if msg.get("kind") == "start":  # on the reports' topic: in order with them
            worker = msg.get("worker")
            worker = worker if isinstance(worker, str) else None
            key = (int(msg["trial"]), int(msg["attempt"]))
            if key in self._started:  # Dask ran it again: the first worker was lost
                step = msg.get("checkpoint_step")
                step = float(step) if isinstance(step, (int, float)) else None
                self._messages.put(WorkerLost(*key, self._started[key], step))
            if key in self._futures:  # (a start that arrives after the end is not kept)
                self._started[key] = worker
            self._messages.put(TrialStarted(*key, worker, msg.get("t")))
        else:
            self._messages.put(ReportArrived(Report.from_dict(msg)))

    def _on_done(self, fut: Any, spec: TrialSpec) -> None:
        self._futures.pop((spec.number, spec.attempt), None)
        self._started.pop((spec.number, spec.attempt), None)
        if self._messages is None or self._lost is not None:
            return  # (after a lost scheduler, the study has marked its trials interrupted)
        if fut.status == "cancelled" and getattr(self._client, "status", "running") != "running":
            # Dask gave up on the scheduler before the watcher did: the trial did not fail
            self._cluster_lost(
                f"the Dask scheduler at {_address(self._client)} is gone (the client gave up "
                "reconnecting)"
            )
            return
        try:
            out = fut.result()
            msg = TrialEnded(spec.number, spec.attempt, **out)
        except BaseException as exc:  # the task could not run: worker loss, cancellation
            msg = TrialEnded(
                spec.number,
                spec.attempt,
                TrialState.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)),
                ended_at=time.time(),
            )
        self._messages.put(msg)


# ---------------------------------------------------------------------- worker side


class IgnoreInterrupts(WorkerPlugin):
    """A Dask worker plugin: worker processes ignore SIGINT.

    Interrupting a Jupyter kernel (or Ctrl-C in a terminal) signals the whole process group,
    which includes the worker processes of a LocalCluster started from it: they would die and
    leave the cluster without workers. Workers are stopped by their nanny or scheduler anyway,
    so they can safely ignore the signal; the kernel itself still gets it and stops the study.
    """

    name = "hpo-notebook-ignore-sigint"

    def setup(self, worker: Any) -> None:
        import signal

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Seconds a stopped trial gets to return before its worker process is restarted.
HUNG_TRIAL_GRACE_S = 5.0

#: Longest a trial waits, at a step where the pruner decides, for that decision (it normally
#: takes a few milliseconds; past this the trial goes on and a late "stop" applies at its next
#: report).
DECISION_WAIT_S = 2.0


class _Inbox:
    """Decisions for one trial attempt, delivered by the worker's control-topic handler."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.decided_step = -math.inf
        self.prune: str | None = None
        self.stopped = False  # the study is stopping (pushed to every trial of the run)

    def deliver(self, msg: dict[str, Any]) -> None:
        with self.cond:
            self.decided_step = max(self.decided_step, float(msg["step"]))
            if msg.get("prune"):
                self.prune = str(msg["prune"])
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def wait(self, step: float, timeout: float) -> str | None:
        with self.cond:
            self.cond.wait_for(
                lambda: self.prune is not None or self.stopped or self.decided_step >= step,
                timeout,
            )
            return self.prune


@dataclass(frozen=True)
class _Route:
    """Where a trial on a worker sends its news and hears the study (beside its
    :class:`TrialSpec`): the reports' topic, the study's stop event, the control topic of
    pruning decisions, and how it waits for them."""

    topic: str
    stop: str
    control: str
    policy: DecisionPolicy | None


class _ControlTopic:
    """One subscription per worker process and study run: routes each decision to the inbox
    of its trial attempt. (A topic has one handler per client, and all tasks of a worker share
    its client, hence the routing.)"""

    _topics: ClassVar[dict[str, _ControlTopic]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()
    _creating: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, topic: str) -> None:
        from distributed import get_client

        self.inboxes: dict[tuple[int, int], _Inbox] = {}
        self.stopped = False
        get_client().subscribe_topic(topic, self._on_event)

    @classmethod
    def inbox(cls, topic: str, number: int, attempt: int) -> _Inbox:
        if topic not in cls._topics:
            # Subscribe outside the lock: the handler takes it on the client's event loop.
            with cls._creating:
                if topic not in cls._topics:
                    created = _ControlTopic(topic)
                    with cls._lock:
                        cls._topics[topic] = created
        with cls._lock:
            control = cls._topics[topic]
            box = control.inboxes.setdefault((number, attempt), _Inbox())
            if control.stopped:
                box.stop()
            return box

    @classmethod
    def release(cls, topic: str, number: int, attempt: int) -> None:
        with cls._lock:
            if topic in cls._topics:
                cls._topics[topic].inboxes.pop((number, attempt), None)

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        _, msg = event  # runs on the worker client's event loop: only hand over
        if msg.get("stop"):
            with self._lock:
                self.stopped = True
                boxes = list(self.inboxes.values())
            for b in boxes:
                b.stop()
            return
        key = (int(msg["trial"]), int(msg["attempt"]))
        with self._lock:
            box = self.inboxes.setdefault(key, _Inbox())
        box.deliver(msg)


class _WorkerChannel:
    """The report channel of a trial running on a Dask worker."""

    def __init__(self, worker: Any, spec: TrialSpec, route: _Route) -> None:
        self.worker = worker
        self.topic = route.topic
        self.stop_name = route.stop
        self.policy = route.policy
        self._awaited: float | None = None  # an answered report whose answer is still due
        self.inbox = _ControlTopic.inbox(route.control, spec.number, spec.attempt)
        self._stop_event: Any = None

    def send(self, report: dict[str, Any]) -> None:
        self.worker.log_event(self.topic, report)

    def verdict(self, step: float | None, previous: float | None = None) -> str | None:
        if step is None or self.policy is None:
            return self.inbox.prune
        if self._awaited is not None:  # the answer to the previous report is due by now
            self.inbox.wait(self._awaited, DECISION_WAIT_S)
            self._awaited = None
        if self.policy.points.includes(step, previous):
            if self.policy.wait_now:
                return self.inbox.wait(step, DECISION_WAIT_S)
            self._awaited = step
        return self.inbox.prune

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def stop_heard(self) -> bool:
        return self.inbox.stopped

    def stopping(self) -> bool:
        if self.inbox.stopped:
            return True
        if self._stop_event is None:
            from distributed import Event

            self._stop_event = Event(self.stop_name)
        return bool(self._stop_event.is_set())


def _run_trial(fn: Callable[..., Any], spec: TrialSpec, route: _Route) -> dict[str, Any]:
    """Executed on a Dask worker: run one trial and describe how it ended."""
    from distributed import get_worker

    worker = get_worker()
    # A fresh worker's one-time costs (importing NumPy and torch to seed them, reading package
    # versions: seconds on a busy machine) come before the start is announced: the trial's
    # timeout runs from the announcement.
    seed_everything(spec.seed)
    lineage = process_lineage()
    # A second start of one attempt means Dask re-ran it elsewhere.
    start = {
        "kind": "start",
        "trial": spec.number,
        "attempt": spec.attempt,
        "t": time.time(),
        "pid": os.getpid(),
        "worker": worker.address,
        # what a re-run resumes from: read before the trial can save a newer checkpoint
        "checkpoint_step": _checkpoint_step(spec),
    }
    worker.log_event(route.topic, start)
    channel = _WorkerChannel(worker, spec, route)
    ctx = TrialContext(
        spec.number, spec.params, spec.seed, spec.attempt, channel, spec.checkpoint_root
    )
    started = time.time()
    base = {"started_at": started, "worker": worker.address, "lineage": lineage}
    try:
        return {**base, **call_trial(fn, ctx, time.time)}
    finally:
        _ControlTopic.release(route.control, spec.number, spec.attempt)


def _free_worker(client: Any, worker: str, key: str, prefix: str) -> None:
    """After a grace period, restart ``worker`` if it still runs the stopped trial ``key`` and
    nothing but this study's trials (keys starting with ``prefix``). The study may be over by
    then: a user's cluster still gets its worker back."""
    time.sleep(HUNG_TRIAL_GRACE_S)  # the trial's chance to stop by itself at a report
    if client.status != "running":
        return  # closed with the study (its own cluster's workers are gone anyway)
    try:
        busy = client.run(_running_keys, workers=[worker]).get(worker, [])
        if key not in busy:
            return  # it stopped by itself
        others = [k for k in busy if not k.startswith(prefix)]
        if not others:
            client.restart_workers([worker], raise_for_error=False)
            return
    except Exception as exc:
        if client.status != "running":
            return
        others = [f"(could not check: {type(exc).__name__}: {exc})"]
    warnings.warn(
        f"hpo_notebook: a stopped trial ({key}) still runs on worker {worker}, which also runs "
        f"{others}, so it was not restarted; that worker slot stays busy until the trial "
        "returns",
        HpoWarning,
        stacklevel=1,
    )


#: a worker as the study sees it: address, threads, resources
_Worker = tuple[str, int, tuple[tuple[str, float], ...]]

#: seconds without a connection to the scheduler after which the cluster counts as lost
SCHEDULER_LOST_AFTER_S = 10.0
#: how often the scheduler is asked which workers it has (which also shows it is there)
SCHEDULER_POLL_S = 2.0
#: seconds a call to the scheduler may take before the study gives up on it
RPC_TIMEOUT_S = 10.0
#: seconds closing our own client and cluster may take
CLOSE_TIMEOUT_S = 30.0


def _address(client: Any) -> str:
    try:
        return str(client.scheduler.address)
    except Exception:
        return "(unknown address)"


def _checkpoint_step(spec: TrialSpec) -> float | None:
    """The step of the trial's checkpoint as the task starts (None: none, or unreadable)."""
    if spec.checkpoint_root is None:
        return None
    from hpo_notebook import checkpoints

    try:
        return checkpoints.checkpoint_step(spec.checkpoint_root, spec.number)
    except Exception:  # the study reads it itself then
        return None


def _running_keys(dask_worker: Any) -> list[str]:
    """Executed on a worker by ``Client.run``: the keys its threads are running now."""
    with dask_worker.active_threads_lock:
        return [str(k) for k in dask_worker.active_threads.values()]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators for one trial.

    NumPy and torch are imported here when the trial function has not loaded them yet: a
    function that imports torch inside must still start from its seed. A worker process pays
    the import once, at its first trial.
    """
    random.seed(seed)
    try:
        import numpy

        numpy.random.seed(seed % 2**32)
        import torch

        torch.manual_seed(seed)
    except ImportError:  # torch and numpy are dependencies; a trimmed worker may lack them
        pass


def _is_client(x: Any) -> bool:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a dependency
        return False
    return isinstance(x, Client)


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Only CRITICAL messages from these loggers while the block runs."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True
