"""The Study: the one object users hold, a facade over three parts.

- the :class:`~hpo_notebook.ledger.TrialLedger`: trials, reports and events, saved in the
  study's store before anything acts on them;
- the :class:`~hpo_notebook.proposer.Proposer`: the optimizer and its state, proposals;
- the :class:`~hpo_notebook.driver.Driver` of a ``run``/``start``: the loop that keeps an
  executor's workers busy (Dask, or a simulated cluster).

``ask``/``tell`` use the ledger and the proposer directly.

Example:
    >>> import hpo_notebook as hn
    >>> space = hn.Space(x=hn.Float(0.0, 1.0))
    >>> study = hn.Study(None, space, objectives={"y": "min"}, seed=0)
    >>> trial = study.ask()
    >>> study.tell(trial, {"y": (trial.params["x"] - 0.3) ** 2})
    >>> len(study.trials), study.trials[0].state.value
    (1, 'COMPLETE')
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import threading
import time
import traceback as tb_module
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from hpo_notebook import _checks
from hpo_notebook import results as R
from hpo_notebook import stop as stop_rules
from hpo_notebook.checkpoints import Checkpoints
from hpo_notebook.clock import Clock
from hpo_notebook.events import StatusChanged, StudyEvent, TrialChanged
from hpo_notebook.exceptions import (
    ConfigError,
    HpoError,
    HpoWarning,
    Pruned,
    SpaceError,
    StorageError,
)
from hpo_notebook.execution.base import TrialEnded
from hpo_notebook.ledger import PRUNED_IN_MODEL, TrialLedger, _LocalChannel, trial_seed
from hpo_notebook.lineage import study_lineage
from hpo_notebook.objectives import Objective, Objectives
from hpo_notebook.optimizers import Optimizer, Proposal
from hpo_notebook.proposer import Proposer
from hpo_notebook.pruners import pruner_from_json
from hpo_notebook.pruners.base import Pruner
from hpo_notebook.reports import ReportHistory
from hpo_notebook.run_options import RunOptions
from hpo_notebook.settings import StudySettings
from hpo_notebook.space import Space
from hpo_notebook.stop import StopRule
from hpo_notebook.store import SQLiteStore, StudyRecord, open_store
from hpo_notebook.store.lock import DriverLock
from hpo_notebook.trial import Trial, TrialContext, TrialState

if TYPE_CHECKING:
    import pandas as pd

    from hpo_notebook.driver import Driver, RunProgress

TrialFn = Callable[[dict[str, Any], TrialContext], Any]
Listener = Callable[[StudyEvent], None]

#: trials the model proposed (after the initial design) before a baseline that nothing
#: dominates gets a warning
BASELINE_PATIENCE = 10


class Study:
    """A hyperparameter study: a function, a space, objectives, and everything tried so far.

    Args:
        fn: the trial function ``fn(params, trial) -> dict of metrics`` (or a float with one
            objective). May be None for studies driven with :meth:`ask` / :meth:`tell`.
        space: a :class:`~hpo_notebook.space.Space` (or a dict of parameters).
        objectives: ``{"metric": "min" | "max" | hn.Objective(...)}``, or one direction for a
            single objective called ``"value"``.
        constraints: outcome constraints ``{"metric": ("<=", bound)}``; infeasible trials never
            reach the Pareto front and the acquisition avoids them.
        storage: a file path (SQLite, created on first use) or None to keep it in memory.
        name: the study's name in the file (default ``"study"``).
        seed: seeds proposals and trials; random (and recorded) when None.
        optimizer: ``"qLogNEHVI"`` (default), ``"qLogEHVI"``, ``"qLogNParEGO"``, ``"sobol"``,
            or an :class:`~hpo_notebook.optimizers.Optimizer`.
        pruner: stops trials early from their reports: ``hn.ASHA(max_steps)``,
            ``hn.MultiObjectiveASHA(max_steps)``, ``hn.Median()`` or None (never).
        n_initial: quasi-random trials before the model is used (default ``min(2 * (d + 1), 20)``).
        max_failure_share: the study stops with an error once at least 3 trials failed and
            failures exceed this share of finished trials.
        suggest_timeout: seconds a free worker waits for the model's proposal before it gets a
            quasi-random point instead (recorded as ``kind="sobol-late"``); the model's
            proposals start the next trials when they arrive.
        pruned_in_model: how pruned trials inform the model: ``"last"`` (their last reported
            values, a pessimistic estimate that steers proposals away from them),
            ``"ignore"``, or ``"fidelity"`` (the learning curves of pruned, running and
            completed trials enter the model with how far along each report is as an input,
            and proposals are made for the end of training). See docs/benchmarks.md for the
            measurement behind the default.
        checkpoints: where ``trial.save_checkpoint`` writes and what is kept: a folder, or
            ``hn.Checkpoints(dir, keep_best=3, max_bytes=None)`` (default: beside the file).
            The study writes into a subfolder named by its unique id, never another's.
        trial_timeout: seconds a trial may run (from its start on a worker); past it, the
            trial is stopped and FAILED with the reason. None (default): no limit. ``run``,
            ``start`` and ``run_async`` take it too, for one run.
        load_if_exists: reopen the study of that name if the file already has it.
        lineage: extra JSON data to record (e.g. data fingerprints, see ``hn.fingerprint``).
        held_out: metrics the trial returns (or reports) that must never steer the search,
            such as a test-set score beside the validation objective: a mapping from each to
            the objective it mirrors (``{"test_loss": "val_loss"}``), or a list. They are
            stored and shown (``trials_frame()``, the dashboard, :meth:`held_out_gap`), and
            never reach the optimizer, the pruner or the ranking.
        baseline: the configuration you run today (every parameter of the space). It is the
            study's first trial (proposal kind ``"baseline"``, once); :meth:`pareto` gives each
            trial's gain over it per objective (``gain_<objective>``, positive is better), the
            dashboard's header the best gains, and :meth:`warnings` says so when nothing
            dominates it after the initial design and :data:`BASELINE_PATIENCE` trials the
            model proposed.
        stop_when: stopping rules for every run of the study, stored with it:
            ``hn.stop.NoImprovement()``, ``hn.stop.Budget(gpu_hours=...)``, or several
            combined with ``|``. When one holds, no new trial starts; the running ones finish,
            then the run ends and :attr:`status` says why. Reopening the study with another
            rule replaces the stored one. See :mod:`hpo_notebook.stop`.

    Raises:
        ConfigError, SpaceError, StorageError: bad arguments, before anything runs.
    """

    def __init__(
        self,
        fn: TrialFn | None,
        space: Space | Mapping[str, Any],
        objectives: Mapping[str, str | Objective] | str | None = None,
        constraints: Mapping[str, tuple[str, float]] | None = None,
        storage: str | SQLiteStore | None = None,
        name: str | None = None,
        seed: int | None = None,
        optimizer: str | Optimizer = "qLogNEHVI",
        pruner: Any = None,
        *,
        n_initial: int | None = None,
        max_failure_share: float = 0.5,
        suggest_timeout: float | None = 30.0,
        checkpoints: Checkpoints | str | None = None,
        pruned_in_model: str = "last",
        trial_timeout: float | None = None,
        load_if_exists: bool = False,
        lineage: dict[str, Any] | None = None,
        held_out: Mapping[str, str | None] | Sequence[str] | None = None,
        baseline: Mapping[str, Any] | None = None,
        stop_when: StopRule | None = None,
    ) -> None:
        self.fn = _checks.check_fn(fn)
        stop_when = stop_rules.parse(stop_when)
        self.space = space if isinstance(space, Space) else Space(space)
        self.objectives = Objectives.parse(objectives, constraints, held_out)
        self.pruner = _checks.check_pruner(pruner, self.objectives)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed must be an integer or None, got {seed!r}")
        _checks.check_share(max_failure_share)
        if suggest_timeout is not None and not _checks.positive_number(suggest_timeout):
            raise ConfigError(f"suggest_timeout must be > 0 or None, got {suggest_timeout!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigError(f"name must be a non-empty string, got {name!r}")
        self.optimizer = _checks.resolve_optimizer(optimizer, n_initial)
        if isinstance(checkpoints, (str, os.PathLike)):
            checkpoints = Checkpoints(str(checkpoints))
        if checkpoints is not None and not isinstance(checkpoints, Checkpoints):
            raise ConfigError(
                f"checkpoints must be a folder or hn.Checkpoints(...), got {checkpoints!r}"
            )
        self._checkpoint_policy = checkpoints or Checkpoints()
        if pruned_in_model not in PRUNED_IN_MODEL:
            raise ConfigError(
                f"pruned_in_model must be one of {PRUNED_IN_MODEL}, got {pruned_in_model!r}"
            )
        trial_timeout = _checks.check_timeout("trial_timeout", trial_timeout)
        if baseline is not None and not isinstance(baseline, Mapping):
            raise ConfigError(f"baseline must be a dict of parameter values, got {baseline!r}")
        baseline = None if baseline is None else self.space.validate(baseline)
        self._store = open_store(storage)
        self._driver_lock = (
            DriverLock(self._store.path)
            if self._store.path is not None and not self._store.read_only
            else None
        )
        self._asked: set[int] = set()  # asked for in this process and not told yet
        # a view catching up with another process's writes never overlaps taking the file
        self._follow_lock = threading.Lock()
        self._unusable: str | None = None  # why this study can be read but not run
        self._driver: Driver | None = None
        self._dashboard: Any = None
        given = StudySettings(
            self.space,
            self.objectives,
            self.optimizer.name,
            # given to the Study or to the optimizer object: either way a reopened study keeps it
            n_initial if n_initial is not None else getattr(self.optimizer, "n_initial", None),
            -1,  # set below: the given seed, a new one, or the stored one
            float(max_failure_share),
            suggest_timeout,
            self._checkpoint_policy,
            pruned_in_model,
            _checks.pruner_json(self.pruner),
            trial_timeout,
            baseline,
            stop_when,
        )
        record = self._create_or_load(name or "study", seed, given, load_if_exists, lineage)
        record.uid  # noqa: B018 - a tampered id is refused now, before anything runs
        stored = record.settings.get("checkpoints")
        if stored and checkpoints is None:  # reopened: the folder it had
            self._checkpoint_policy = _stored_checkpoints(stored, self._store.path)
        #: the settings of this study object (frozen)
        self.settings = dataclasses.replace(
            given,
            seed=int(record.settings["seed"]),
            checkpoints=self._checkpoint_policy,
            baseline=baseline if baseline is not None else record.settings.get("baseline"),
            stop_when=stop_when or stop_rules.from_json(record.settings.get("stop_when")),
        )
        self._warnings: list[str] = []
        #: why a stopping rule ended the study's last run (as stored), else None
        self._stored_stop_reason: str | None = record.settings.get("stopped_by")
        self._ledger = TrialLedger(
            self._store,
            record,
            self.space,
            self.objectives,
            self.seed,
            self.pruner,
            pruned_in_model,
            self._checkpoint_policy,
        )
        self._proposer = Proposer(
            self._ledger,
            self.optimizer,
            record.optimizer_state,
            self.settings.suggest_timeout,
            self.settings.baseline,
        )
        self._unwatch_baseline: Callable[[], None] | None = None
        if self.settings.baseline is not None:
            self._unwatch_baseline = self.subscribe(self._watch_baseline)
        if stop_when is not None:  # given to a reopened study: it replaces the stored rule
            self._ledger.update_settings(stop_when=stop_when.to_json())
        self._warned_bounds: set[tuple[str, str]] = set()
        self._next_bound_check = 0
        self.subscribe(self._watch_bounds)

    # ------------------------------------------------------------------ construction

    @property
    def seed(self) -> int:
        """The study seed (given, or drawn at creation and stored)."""
        return self.settings.seed

    @property
    def pruned_in_model(self) -> str:
        """How pruned trials inform the model (see the class docstring)."""
        return self.settings.pruned_in_model

    @property
    def max_failure_share(self) -> float:
        """The share of failed trials that stops a run."""
        return self.settings.max_failure_share

    @property
    def suggest_timeout(self) -> float | None:
        """Seconds a free worker waits for a model proposal."""
        return self.settings.suggest_timeout

    @property
    def trial_timeout(self) -> float | None:
        """Seconds a trial may run (None: no limit)."""
        return self.settings.trial_timeout

    def _create_or_load(
        self,
        name: str,
        seed: int | None,
        given: StudySettings,
        load_if_exists: bool,
        lineage: dict[str, Any] | None,
    ) -> StudyRecord:
        if name in self._store.study_names():
            if not load_if_exists:
                raise StorageError(
                    f"{self._store.path} already holds a study named {name!r}: reopen it with "
                    f"hn.load_study({self._store.path!r}, fn), pass load_if_exists=True, or "
                    "choose another name="
                )
            rec = self._store.get_study(name)
            mine = dataclasses.replace(given, seed=rec.settings["seed"]).to_json()
            for key in ("space", "objectives", "constraints"):
                if rec.settings.get(key) != mine[key]:
                    raise StorageError(
                        f"study {name!r} in {self._store.path} has a different {key}: "
                        f"stored {rec.settings.get(key)}, given {mine[key]}"
                    )
            return rec
        seed = seed if seed is not None else secrets.randbelow(2**31)
        # its checkpoints are marked with this id: a study made again under the same name and
        # file never mistakes the old study's checkpoints for its own
        settings = {"uid": uuid.uuid4().hex, **dataclasses.replace(given, seed=seed).to_json()}
        return self._store.create_study(name, settings, study_lineage(self.fn, seed, lineage))

    # ------------------------------------------------------------------ properties

    @property
    def name(self) -> str:
        """The study's name in its file (``Study(name=...)``, default ``"study"``)."""
        return self._ledger.name

    @property
    def trials(self) -> list[Trial]:
        """Snapshots of every trial, by number."""
        return self._ledger.trials

    @property
    def checkpoint_dir(self) -> str:
        """The folder of this study's trial checkpoints (``<dir>/<study uid>``; a URL for an
        object store)."""
        return self._ledger.checkpoint_dir

    @property
    def clock(self) -> Clock:
        """The clock this study records time with: the wall clock, or, from a run on
        ``hn.SimulatedCluster`` on, that cluster's virtual clock (``clock.time()``)."""
        return self._ledger.clock

    @property
    def storage_path(self) -> str | None:
        """The study file, or None for an in-memory study."""
        return self._store.path

    @property
    def lineage(self) -> dict[str, Any]:
        """Versions, host, git commit, code fingerprint and seed recorded at creation."""
        return dict(self._ledger.record.lineage)

    def trial(self, number: int) -> Trial:
        """The current snapshot of trial ``number``.

        Raises:
            KeyError: the study has no such trial.
        """
        t = self._ledger.trial(number)
        if t is None:
            raise KeyError(f"no trial {number}; the study has {len(self.trials)} trials")
        return t

    def counts(self) -> dict[str, int]:
        """Number of trials in each state."""
        return self._ledger.counts()

    @property
    def status(self) -> str:
        """``"idle"``, ``"running"``, ``"finishing"`` (a stopping rule holds: no new trials,
        the running ones finish), ``"paused"``, ``"stopping"``, ``"cluster lost"`` (the last
        run ended because the Dask scheduler stopped answering) or ``"stopped: <reason>"``
        (a stopping rule ended the last run; also read back from the file). The last two
        hold until the next run."""
        r = self._driver
        if r is not None and not r.done.is_set():
            return r.status
        if r is not None and r.lost is not None:
            return "cluster lost"
        reason = r.rule_reason if r is not None else self._stored_stop_reason
        return "idle" if reason is None else f"stopped: {reason}"

    def catch_up(self) -> int:
        """Take in what another process running this study wrote to its file since the last
        look: trials, reports, their events (a dashboard of a reopened study calls this every
        second, so it follows a study run by a script, a batch job or another kernel). Cheap
        when nothing changed. Returns how many trials changed; 0 while this object runs or
        asks itself (it is then the writer).

        Example:
            >>> import hpo_notebook as hn
            >>> hn.Study(None, {"x": hn.Float(0, 1)}, "min").catch_up()
            0
        """
        if self._store.path is None:
            return 0
        with self._follow_lock:
            lock = self._driver_lock
            if not self._is_idle() or self._asked or (lock is not None and lock.held):
                return 0
            return len(self._ledger.catch_up())

    def driven_elsewhere(self) -> str | None:
        """Which other process runs this study now, in words (None: none that can be seen;
        this object itself does not count). Read from the study file's lock file, without
        taking the lock."""
        path = self._store.path
        if path is None or not self._is_idle():
            return None
        if self._driver_lock is not None and self._driver_lock.held:
            return None
        h = DriverLock(path).elsewhere()
        if h is None:
            return None
        since = time.strftime("%H:%M:%S", time.localtime(float(h.get("since") or 0)))
        return f"process {h['pid']} on host {h['host']} ({h.get('what', 'run')}, since {since})"

    def _is_idle(self) -> bool:
        r = self._driver
        return r is None or r.done.is_set()

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"<Study {self.name!r}: {sum(c.values())} trials "
            f"({c['COMPLETE']} complete, {c['RUNNING']} running, {c['FAILED']} failed), "
            f"objectives {dict((n, o.direction) for n, o in self.objectives.objectives)}, "
            f"{self.status}>"
        )

    # ------------------------------------------------------------------ events

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every change; returns a function that unsubscribes.

        Events are the frozen classes of :mod:`hpo_notebook.events`:
        :class:`~hpo_notebook.events.TrialChanged` (``.trial``, a :class:`Trial`),
        :class:`~hpo_notebook.events.ReportsAdded` (``.reports``),
        :class:`~hpo_notebook.events.StatusChanged` (``.status``),
        :class:`~hpo_notebook.events.WorkerLost` and
        :class:`~hpo_notebook.events.PruningGamble`. They also read like the dicts they once
        were (``event["type"] == "trial"``, ``event["trial"]``). Listeners run on the driver
        thread, after the change is saved: keep them quick and never block.

        Example:
            >>> import hpo_notebook as hn
            >>> study = hn.Study(None, hn.Space(x=hn.Float(0, 1)), {"y": "min"})
            >>> seen = []
            >>> unsubscribe = study.subscribe(seen.append)
            >>> study.tell(study.ask(), 0.5)
            >>> [type(e).__name__ for e in seen], seen[-1].trial.state.value
            (['TrialChanged', 'TrialChanged'], 'COMPLETE')
            >>> unsubscribe()
        """
        return self._ledger.subscribe(listener)

    # ------------------------------------------------------------------ ask / tell

    @overload
    def ask(self, n: None = None) -> TrialContext: ...
    @overload
    def ask(self, n: int) -> list[TrialContext]: ...

    def ask(self, n: int | None = None) -> TrialContext | list[TrialContext]:
        """Propose trials to run yourself; finish each with :meth:`tell`.

        Trials asked for and not told yet count as pending: the next proposals avoid them.

        Returns:
            one :class:`TrialContext` when ``n`` is None, else a list of ``n``.
        """
        k = 1 if n is None else _checks.positive_int("ask: n", n)
        self._require_idle("ask")
        self._require_runnable()
        self._hold("ask")
        try:
            trials = self._ledger.create(self._proposer.propose(k))
        except BaseException:
            self._let_go()
            raise
        self._asked.update(t.number for t in trials)
        ctxs = [
            TrialContext(
                t.number,
                t.params,
                t.seed or 0,
                t.attempt,
                _LocalChannel(self._ledger),
                self._ledger.checkpoint_root,
            )
            for t in trials
        ]
        return ctxs[0] if n is None else ctxs

    def tell(
        self,
        trial: TrialContext | Trial | int,
        result: Any = None,
        *,
        state: TrialState | str | None = None,
    ) -> None:
        """Finish a trial asked for with :meth:`ask`.

        Args:
            trial: the handle from :meth:`ask` (or its number).
            result: the metrics (dict, or a float with one objective); or the exception the
                trial raised (``hn.Pruned`` marks it PRUNED, anything else FAILED).
            state: force ``"FAILED"`` or ``"PRUNED"`` without a result.

        Raises:
            ConfigError: the trial is unknown or already finished. A bad ``result`` does not
                raise: the trial is marked FAILED with the reason.
        """
        number = trial if isinstance(trial, int) else trial.number
        if number not in self._asked and self._is_idle():
            self._hold("tell")  # a trial asked for by an earlier process
        try:
            current = self._ledger.trial(number)
            if current is None:
                raise ConfigError(f"tell: no trial {number} in study {self.name!r}")
            if current.state is not TrialState.RUNNING:
                raise ConfigError(f"tell: trial {number} is already {current.state.value}")
            self._ledger.finish(_told(number, current.attempt, result, state))
            self._asked.discard(number)
        finally:
            self._let_go()

    def _hold(self, what: str) -> None:
        """Become the file's one driver (refused if another holds it); on taking the file,
        catch up with what other processes saved meanwhile."""
        lock = self._driver_lock
        if lock is None or lock.held:
            return
        with self._follow_lock:
            lock.acquire(what)
            try:
                self._proposer.restore(self._ledger.reload().optimizer_state)
            except BaseException:
                lock.release()
                raise

    def _let_go(self, runner_ending: bool = False) -> None:
        """Give the file up once nothing of this object's is in flight (``runner_ending``: the
        driver thread calls this as its last act, before the study becomes idle, so that a
        new ``start`` cannot slip in between)."""
        r = self._driver
        running = not runner_ending and r is not None and not r.done.is_set()
        if self._driver_lock is not None and not self._asked and not running:
            self._driver_lock.release()

    def _require_runnable(self) -> None:
        if self._unusable is not None:
            raise StorageError(self._unusable)

    # ------------------------------------------------------------------ run / start

    def run(
        self,
        n_trials: int | None = None,
        concurrency: int | None = None,
        cluster: Any = None,
        resources: Mapping[str, float] | None = None,
        timeout: float | None = None,
        progress: bool | None = None,
        show: bool | None = None,
        trial_timeout: float | None = None,
        stop_when: StopRule | None = None,
    ) -> Study:
        """Run trials on Dask until ``n_trials`` more have finished; blocks.

        Interrupted trials (the study was stopped, or its process died) are run again first,
        with their parameters, and count toward ``n_trials``. With ``n_trials=None`` the
        study continues to the target of its last ``run``/``start`` (handy after a crash).

        Args:
            n_trials: trials to finish in this call.
            concurrency: trials at once (default: every worker thread of the cluster, or the
                number of CPU cores, at most 8, for the local cluster).
            cluster: None (start a local Dask cluster on 127.0.0.1 and close it afterwards), a
                ``distributed.Client``, a scheduler address, a cluster object, or
                ``hn.SimulatedCluster(...)`` (trials run in this process on a virtual clock).
            resources: Dask resources each trial needs, e.g. ``{"GPU": 1}``.
            timeout: stop starting trials after this many seconds; running ones are
                interrupted (and re-run on resume).
            progress: print a text progress bar (default: when stderr is a terminal and no
                dashboard is shown).
            show: display the live dashboard (default: inside Jupyter). A blocking ``run``
                streams it live, but its buttons only respond while the cell awaits: use
                ``start()`` or ``await study.run_async(...)`` to keep them alive; the kernel's
                stop button (or Ctrl-C) stops a blocking ``run`` cleanly.
            trial_timeout: seconds each trial may run, for this run (default: the study's).
            stop_when: stopping rules for this run, beside the study's own (see
                :mod:`hpo_notebook.stop`); stored with the plan, so ``run()`` after a crash
                goes on under them.

        Raises:
            StudyFailedError: too many trials failed (see ``max_failure_share``).
            StudyLockedError: another process (or Study object) drives this study file.
            KeyboardInterrupt: after stopping cleanly on Ctrl-C / the kernel's stop button;
                the study is saved and the cluster left usable.
        """
        self._start(
            RunOptions(
                n_trials,
                concurrency,
                cluster,
                resources,
                timeout,
                progress,
                show,
                trial_timeout,
                stop_when,
            )
        )
        return self._wait_blocking()

    def start(
        self,
        n_trials: int | None = None,
        concurrency: int | None = None,
        cluster: Any = None,
        resources: Mapping[str, float] | None = None,
        timeout: float | None = None,
        progress: bool | None = None,
        show: bool | None = None,
        trial_timeout: float | None = None,
        stop_when: StopRule | None = None,
    ) -> Study:
        """Like :meth:`run` but returns at once; the study runs in a background thread.

        Use :meth:`wait`, :meth:`pause`, :meth:`resume` and :meth:`stop` to control it.
        """
        return self._start(
            RunOptions(
                n_trials,
                concurrency,
                cluster,
                resources,
                timeout,
                progress,
                show,
                trial_timeout,
                stop_when,
            )
        )

    def _start(self, opts: RunOptions, fixed: Sequence[Proposal] | None = None) -> Study:
        """Start a run (``fixed``: run exactly these proposals, for seed re-runs: no plan,
        no stopping rule, no model)."""
        from hpo_notebook.driver import Driver
        from hpo_notebook.execution import executor_for
        from hpo_notebook.proposer import FixedProposals

        self._require_idle("start")
        if self.fn is None:
            raise ConfigError(
                "this study has no trial function: create it with Study(fn, ...) or reopen it "
                "with hn.load_study(path, fn)"
            )
        self._require_runnable()
        fn = self.fn
        gpus = float((opts.resources or {}).get("GPU", 0) or 0)
        rule = None if fixed is not None else self._stop_rule_for(opts, gpus)
        executor = executor_for(
            opts.cluster, opts.concurrency, opts.resources, lambda: _checks.check_picklable(fn)
        )
        self._hold("run")
        try:
            if fixed is not None:  # interrupted trials run again first, and count
                counts = self._ledger.counts()
                n = len(fixed) + counts["INTERRUPTED"] + counts["RUNNING"]
            else:
                n = self._resolve_n_trials(opts.n_trials)
            if n == 0:  # nothing to run: no cluster to start
                self._let_go()
                return self
            if fixed is None and (opts.n_trials is not None or opts.stop_when is not None):
                run_rule = opts.stop_when  # a new plan
                self._ledger.update_settings(
                    run_stop_when=None if run_rule is None else run_rule.to_json()
                )
            if fixed is None:
                self._ledger.set_target(self._ledger.n_finished() + n)
            self._ledger.clock = executor.clock
            self._ledger.gpus_per_trial = gpus
            self._driver = Driver(
                self._ledger,
                self._proposer if fixed is None else FixedProposals(fixed),  # type: ignore[arg-type]
                self.fn,
                executor,
                n,
                opts.concurrency,
                opts.timeout,
                opts.trial_timeout or self.trial_timeout,
                self.suggest_timeout,
                self.max_failure_share,
                on_exit=self._on_run_exit,
                stop_rule=rule,
                n_initial=self._initial_design_size(),
            )
        except BaseException:
            self._let_go()
            raise
        from hpo_notebook.widgets._env import in_notebook

        if opts.show if opts.show is not None else in_notebook():
            self._show_live()
        elif opts.progress or (opts.progress is None and _checks.stderr_is_tty()):
            from hpo_notebook.progress import TextProgress

            TextProgress(self, total=n).attach()
        if fixed is None:
            self._proposer.warm_up()
        self._driver.start()
        return self

    def _wait_blocking(self) -> Study:
        """Wait for the run; on Ctrl-C (the kernel's stop button) stop it cleanly, then
        raise the interrupt."""
        try:
            self.wait()
        except KeyboardInterrupt:
            self.stop()
            self.wait(raise_errors=False)
            raise
        return self

    def _stop_rule_for(self, opts: RunOptions, gpus: float) -> StopRule | None:
        """The study's rule and this run's (continuing the plan with ``run()``, the rule the
        plan was stored with), checked against the run's resources before anything starts."""
        run_rule = opts.stop_when
        if opts.n_trials is None and run_rule is None:
            run_rule = stop_rules.from_json(self._ledger.setting("run_stop_when"))
        rule = stop_rules.combine(self.settings.stop_when, run_rule)
        if rule is not None:
            rule.validate(gpus)
        return rule

    def _initial_design_size(self) -> int:
        size = getattr(self.optimizer, "initial_design_size", None)
        return int(size(self.space)) if callable(size) else 0

    def _on_run_exit(self) -> None:
        """Last act of the driver thread: record why the run ended, give the file up."""
        r = self._driver
        reason = None if r is None else r.rule_reason
        with contextlib.suppress(Exception):  # a closed store must not hide the run's error
            self._ledger.update_settings(stopped_by=reason)
        self._stored_stop_reason = reason
        self._let_go(runner_ending=True)

    def _resolve_n_trials(self, n_trials: int | None) -> int:
        if n_trials is None:
            target = self._ledger.target()
            if target is None:
                raise ConfigError("n_trials is required: how many trials should run?")
            return max(0, target - self._ledger.n_finished())
        return _checks.check_n_trials(n_trials)

    def wait(self, timeout: float | None = None, raise_errors: bool = True) -> bool:
        """Block until the running study ends; True if it ended (False on ``timeout``).

        Raises:
            StudyFailedError: too many trials failed (only when ``raise_errors``; so is any
                other error that stopped the driver).
        """
        r = self._driver
        if r is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        # Short waits keep Ctrl-C responsive on every platform.
        while not r.done.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                return False
        r.join()
        if raise_errors and r.error is not None:
            err, r.error = r.error, None
            raise err
        return True

    async def run_async(
        self,
        n_trials: int | None = None,
        concurrency: int | None = None,
        cluster: Any = None,
        resources: Mapping[str, float] | None = None,
        timeout: float | None = None,
        progress: bool | None = None,
        show: bool | None = None,
        trial_timeout: float | None = None,
        stop_when: StopRule | None = None,
    ) -> Study:
        """Like :meth:`run`, awaitable: ``await study.run_async(...)`` in a notebook cell.

        The driver thread does the work while the cell awaits, so the dashboard's buttons
        (whose clicks the kernel handles only while a cell awaits or is idle) stay live.
        Cancelling the cell (the kernel's stop button) stops the study cleanly.
        """
        import asyncio

        self._start(
            RunOptions(
                n_trials,
                concurrency,
                cluster,
                resources,
                timeout,
                progress,
                show,
                trial_timeout,
                stop_when,
            )
        )
        r = self._driver
        try:
            if r is not None:  # awaited on a helper thread: the event loop stays free
                await asyncio.get_running_loop().run_in_executor(None, r.done.wait)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.stop()
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: self.wait(raise_errors=False)
            )
            raise
        self.wait()
        return self

    def rerun(
        self,
        top: int | None = None,
        seeds: int = 5,
        concurrency: int | None = None,
        cluster: Any = None,
        resources: Mapping[str, float] | None = None,
        progress: bool | None = None,
        show: bool | None = None,
    ) -> Study:
        """Run the best configurations again with new seeds, to see whether the winner is real
        or seed noise; blocks. Read the result with ``pareto(robust=True)``.

        Each re-run is a new trial (proposal kind ``"rerun"``, ``rerun_of`` the trial it
        repeats) with a seed of its own. Re-runs never reach the optimizer as new points,
        nor the Pareto front, the hypervolume or :meth:`best`; stopping rules do not apply
        to them. Calling it again adds more seeds.

        Args:
            top: how many configurations: for one objective the ``top`` best (default 5); for
                several, the Pareto set (all of it by default, else the ``top`` that add the
                most hypervolume).
            seeds: runs of each configuration, besides the original one.
            concurrency: trials at once (as for :meth:`run`).
            cluster: where they run (as for :meth:`run`; default: a local cluster).
            resources: Dask resources each re-run needs, e.g. ``{"GPU": 1}``.
            progress: print a text progress bar (as for :meth:`run`).
            show: display the live dashboard (as for :meth:`run`).

        Example:
            >>> import hpo_notebook as hn
            >>> study = hn.Study(lambda p, t: p["x"], {"x": hn.Float(0, 1)}, "min")
            >>> study.rerun()
            Traceback (most recent call last):
            ...
            hpo_notebook.exceptions.ConfigError: rerun: no completed feasible trial to re-run yet
        """
        from hpo_notebook.trial import RERUN

        _checks.positive_int("rerun: seeds", seeds)
        if top is not None:
            _checks.positive_int("rerun: top", top)
        picks = self._rerun_picks(top)
        if not picks:
            raise ConfigError("rerun: no completed feasible trial to re-run yet")
        fixed = [
            Proposal(dict(t.params), RERUN, {"rerun_of": t.number})
            for t in picks
            for _ in range(seeds)
        ]
        opts = RunOptions(len(fixed), concurrency, cluster, resources, None, progress, show)
        self._start(opts, fixed=fixed)
        return self._wait_blocking()

    def _rerun_picks(self, top: int | None) -> list[Trial]:
        """The configurations :meth:`rerun` repeats."""
        if self.objectives.n == 1:
            feas = R.feasible(self.trials, self.objectives)
            name = self.objectives.names[0]
            ordered = sorted(feas, key=lambda t: -self.objectives.to_max(name, t.values[name]))
            return ordered[: top or 5]
        front = R.pareto_trials(self.trials, self.objectives)
        if top is None or len(front) <= top:
            return front
        from hpo_notebook import pareto

        ref = R.study_reference_point(self.trials, self.objectives)
        Y = R.objective_matrix(front, self.objectives)
        total = pareto.hypervolume(Y, ref)
        share = [total - pareto.hypervolume(Y[[j for j in range(len(Y)) if j != i]], ref)
                 for i in range(len(Y))]  # fmt: skip
        order = sorted(range(len(front)), key=lambda i: (-share[i], front[i].number))
        return [front[i] for i in sorted(order[:top])]

    def add_trials(self, n: int) -> None:
        """Run ``n`` more trials than planned (while the study runs)."""
        _checks.positive_int("add_trials: n", n)
        if self._driver is None or self._driver.done.is_set():
            raise ConfigError("add_trials: the study is not running; call run(n_trials=...)")
        self._driver.add_trials(n)

    def set_concurrency(self, k: int) -> None:
        """Run up to ``k`` trials at once from now on (a local cluster started by the study is
        resized; with your own cluster, make sure it has the workers)."""
        _checks.positive_int("set_concurrency: k", k)
        if self._driver is None or self._driver.done.is_set():
            raise ConfigError("set_concurrency: the study is not running")
        self._driver.set_concurrency(k)

    def prune(self, number: int, reason: str = "stopped by hand") -> None:
        """Stop a running trial at its next report; it ends PRUNED with ``reason``."""
        t = self.trial(number)
        if t.state is not TrialState.RUNNING:
            raise ConfigError(f"prune: trial {number} is {t.state.value}, not RUNNING")
        if self._driver is None or self._driver.done.is_set():
            raise ConfigError("prune: the study is not running (use tell(trial, hn.Pruned()))")
        self._driver.prune(number, reason)

    def pause(self) -> None:
        """Start no new trials; running ones go on. :meth:`resume` continues."""
        if self._driver is not None:
            self._driver.pause()

    def resume(self) -> None:
        """Continue after :meth:`pause`."""
        if self._driver is not None:
            self._driver.resume()

    def stop(self) -> None:
        """Stop the study: no new trials; running ones are asked to stop at their next report
        and marked INTERRUPTED if they do not finish within a second (re-run on resume)."""
        if self._driver is not None:
            self._driver.stop()

    def _require_idle(self, what: str) -> None:
        if not self._is_idle():
            raise ConfigError(f"{what}: the study is {self.status}; call wait() or stop() first")

    def close(self) -> None:
        """Stop anything running and close the study file."""
        if self._driver is not None and not self._driver.done.is_set():
            self.stop()
            self.wait(raise_errors=False)
        self._proposer.close()
        self._asked.clear()
        if self._driver_lock is not None:
            self._driver_lock.release()
        self._store.close()

    # ------------------------------------------------------------------ views

    def dashboard(self, refresh_s: float = 0.5) -> Any:
        """The live dashboard (an ipywidgets widget): header, learning curves, Pareto front,
        hypervolume, trial table, parameters, proposal times, and controls. One per study;
        displaying it again shows the same live view."""
        if self._dashboard is None:
            from hpo_notebook.widgets.dashboard import Dashboard

            self._dashboard = Dashboard(self, refresh_s=refresh_s)
        self._dashboard.displayed()
        return self._dashboard.widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """In Jupyter: the dashboard, with a PNG and text fallback for viewers without a
        widget manager (a static viewer, or a notebook reopened without its kernel)."""
        from hpo_notebook.widgets._env import in_notebook

        bundle: dict[str, Any] = {"text/plain": repr(self)}
        with contextlib.suppress(Exception):  # a fallback must never break the display
            bundle["image/png"] = self._summary_png()
        if in_notebook():
            bundle.update(self.dashboard()._repr_mimebundle_(include=include, exclude=exclude))
            bundle["text/plain"] = repr(self)
        return bundle

    def _show_live(self) -> None:
        """Display the dashboard; when the study ends, refresh the output's PNG fallback so a
        notebook saved afterwards shows the final state even without its kernel."""
        from IPython.display import display, update_display

        handle = display(self._repr_mimebundle_(), raw=True, display_id=True)

        def on_idle(event: StudyEvent) -> None:
            if isinstance(event, StatusChanged) and event.status == "idle":
                unsubscribe()
                if handle is not None:
                    update_display(self._repr_mimebundle_(), raw=True, display_id=handle.display_id)

        unsubscribe = self.subscribe(on_idle)

    def _summary_png(self) -> bytes:
        from hpo_notebook.viz import plots

        fig = plots.pareto(self) if self.objectives.n > 1 else plots.hypervolume(self)
        return plots.to_png(fig)

    def report(self, path: str | os.PathLike[str]) -> str:
        """Write one self-contained HTML file to share: summary, warnings, the front (chart
        and table), seed re-runs, curves, hypervolume, parameters, every trial in a sortable
        table, lineage. Its charts are interactive (hover, zoom) and it opens without network.
        Returns the file's path.

        Example:
            >>> import hpo_notebook as hn, tempfile, os
            >>> study = hn.Study(None, {"x": hn.Float(0, 1)}, {"a": "min", "b": "max"}, seed=0)
            >>> for t in study.ask(4):
            ...     study.tell(t, {"a": t.params["x"], "b": t.params["x"] ** 2})
            >>> path = study.report(os.path.join(tempfile.mkdtemp(), "study.html"))
            >>> os.path.getsize(path) > 1_000_000  # plotly.js is inside
            True
        """
        from hpo_notebook import report

        return str(report.write(self, path))

    def progress(self) -> RunProgress | None:
        """Where the latest ``run``/``start`` of this object stands (None before the first):
        target, finished and running trials, elapsed time and ETA on the study's clock.

        Example:
            >>> import hpo_notebook as hn
            >>> study = hn.Study(None, {"x": hn.Float(0, 1)}, {"loss": "min"})
            >>> study.progress() is None
            True
        """
        r = self._driver
        return None if r is None else r.progress()

    @property
    def dask_dashboard(self) -> str | None:
        """Link to the Dask dashboard of the running study's cluster, if any."""
        r = self._driver
        return r.executor.dashboard_link if r is not None else None

    # ------------------------------------------------------------------ results

    def trials_frame(self) -> pd.DataFrame:
        """One row per trial (pandas): state, ``params_*``, metrics, timings, errors."""
        return R.trials_frame(self.trials, self.objectives, self.space.names)

    def curves(self, trial: int | None = None) -> pd.DataFrame:
        """One row per intermediate report: trial, step, attempt, time and metrics."""
        return R.curves_frame(self._ledger.stored_reports(trial))

    def reports(self) -> ReportHistory:
        """The report log: every intermediate report, per trial in step order (built from the
        stored reports on first use, then kept up to date as reports arrive).

        A live view shared with the pruner: read it (``trials()``, ``curve(n)``,
        ``values_at(step, metric)``), do not add to it. For a table, use :meth:`curves`.

        Example:
            >>> import hpo_notebook as hn
            >>> study = hn.Study(None, hn.Space(x=hn.Float(0, 1)), {"loss": "min"})
            >>> trial = study.ask()
            >>> trial.report(1, loss=0.5); trial.report(2, loss=0.3)
            >>> study.tell(trial, {"loss": 0.3})
            >>> study.reports().curve(trial.number)
            [(1, {'loss': 0.5}), (2, {'loss': 0.3})]
        """
        return self._ledger.reports()

    @property
    def optimizer_state(self) -> dict[str, Any] | None:
        """A copy of what the optimizer last stored (a BoTorch study: the GP's lengthscales
        per objective, read by ``hn.plots.importance``); None before its first model."""
        return self._proposer.state

    def rank_correlations(self, steps: Sequence[float] | None = None) -> pd.DataFrame:
        """Is the early metric a good guide? Per step and metric, the Spearman rank
        correlation between the completed trials' values at that step and their final values.

        A value near 1 says the order at that step holds to the end; below 0.5 (over at least
        8 completed trials, ``gamble`` is True) curves cross after it, and a pruner deciding
        there throws away trials that would have won. While a study with a pruner runs, such
        a step is reported once as a :class:`~hpo_notebook.PruningGambleWarning`.

        Args:
            steps: the steps to judge (default: where the pruner decides, its rung steps;
                without rungs 1, 3, 9, ... below the last step reached).

        Returns:
            columns ``step``, ``metric`` (the objectives the pruner ranks on; all without a
            pruner), ``trials`` (completed trials with a report at or after the step) and
            ``spearman`` (NaN with fewer than 3), ``gamble``.

        Example:
            >>> study.rank_correlations()  # doctest: +SKIP
               step     metric  trials  spearman  gamble
            0   1.0  val_error      12      0.31    True
            1   3.0  val_error      12      0.78   False
        """
        import pandas as pd

        if steps is not None:
            bad = [s for s in steps if isinstance(s, bool) or not _checks.positive_number(s)]
            if isinstance(steps, (str, bytes)) or bad:
                raise ConfigError(
                    f"rank_correlations: steps must be positive numbers, got {steps!r}"
                )
            steps = [float(s) for s in steps]
        rows = [
            {"step": c.step, "metric": c.metric, "trials": c.n, "spearman": c.spearman,
             "gamble": c.gamble}
            for c in self._ledger.rank_correlations(steps)
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["step", "metric", "trials", "spearman", "gamble"])

    def pareto(self, robust: bool = False) -> pd.DataFrame:
        """The non-dominated feasible completed trials (rows of :meth:`trials_frame`).

        With ``robust=True``: every configuration re-run by :meth:`rerun`, over all its seeds,
        with mean and standard deviation per objective and the flags ``unstable`` (its place
        on the front changes across seeds) and ``dominated_on_average`` (see
        :func:`hpo_notebook.results.robust_front`).
        """
        if robust:
            return R.robust_front(self.trials, self.objectives)
        front = {t.number for t in R.pareto_trials(self.trials, self.objectives)}
        df = self.trials_frame()
        if not front:
            return df.iloc[0:0]
        out = df[df["number"].isin(front)].copy()
        base = self.baseline_trial()
        if base is not None and base.state is TrialState.COMPLETE and base.values:
            for name, _ in self.objectives.objectives:  # positive: better than the baseline
                col = R.metric_column(name)
                out[f"gain_{name}"] = [self.objectives.to_max(name, v - base.values[name])
                                       for v in out[col]]  # fmt: skip
        first, obj = self.objectives.objectives[0]
        return out.sort_values(R.metric_column(first), ascending=obj.direction == "min")

    def baseline_trial(self) -> Trial | None:
        """The trial of the ``baseline=`` configuration (None: no baseline, or not run yet)."""
        return next((t for t in self.trials if t.proposal.get("kind") == "baseline"), None)

    def warnings(self) -> list[str]:
        """What this study found worth a warning while it ran (the baseline not beaten, ...),
        oldest first; each was also issued once as an :class:`HpoWarning`."""
        return list(self._warnings)

    def _warn(self, message: str) -> None:
        if message not in self._warnings:
            self._warnings.append(message)
            warnings.warn(message, HpoWarning, stacklevel=2)

    def _watch_bounds(self, event: StudyEvent) -> None:
        """As trials complete, warn once per bound that the good trials pile up against
        (see :mod:`hpo_notebook.boundary`): at every completion up to 50 trials, then each
        time the study has grown by a tenth (a check reads every trial)."""
        if not isinstance(event, TrialChanged) or event.trial.state is not TrialState.COMPLETE:
            return
        n = event.trial.number + 1
        if n < self._next_bound_check:
            return
        self._next_bound_check = n + 1 if n < 50 else int(n * 1.1)
        from hpo_notebook.boundary import boundary_warnings

        for w in boundary_warnings(self.space, self.objectives, self.trials):
            if (w.parameter, w.bound) not in self._warned_bounds:
                self._warned_bounds.add((w.parameter, w.bound))
                self._warn(w.message())

    def _watch_baseline(self, event: StudyEvent) -> None:
        """Once the initial design and BASELINE_PATIENCE model trials have finished, warn if
        no feasible completed trial dominates the baseline (one check, then no more)."""
        if not isinstance(event, TrialChanged) or not event.trial.state.finished:
            return
        base = self.baseline_trial()
        if base is None or base.state is not TrialState.COMPLETE or not base.values:
            return
        trials = self.trials
        kinds = [(t, str(t.proposal.get("kind", "sobol"))) for t in trials if t.state.finished]
        model = [t for t, k in kinds if k != "baseline" and not k.startswith("sobol")]
        if len(model) < BASELINE_PATIENCE:
            return
        if self._unwatch_baseline is not None:
            self._unwatch_baseline()
            self._unwatch_baseline = None
        ref = self.objectives.to_max_frame(base.values)
        for t in R.feasible(trials, self.objectives):
            y = self.objectives.to_max_frame(t.values or {})
            if t.number != base.number and all(a >= b for a, b in zip(y, ref)) and y != ref:
                return
        self._warn(
            f"hpo_notebook: no trial dominates the baseline (trial {base.number}, "
            f"{ {n: base.values[n] for n in self.objectives.names} }) after the initial design "
            f"and {len(model)} trials the model proposed: widen the search space, check the "
            "objectives' directions, or keep the baseline"
        )

    def held_out_gap(self, top: int = 5) -> pd.DataFrame:
        """Validation against held-out values (``held_out=``) where the search would pick:
        on the Pareto front (one objective: the ``top`` best), per trial and held-out metric,
        the two values, ``gap`` and ``worse_by`` (positive: the held-out value is worse, the
        validation value flattered the trial). Empty without a held-out metric that mirrors an
        objective."""
        return R.held_out_gap(self.trials, self.objectives, top)

    def reference_point(self) -> list[float]:
        """The hypervolume reference point, in each objective's own direction."""
        ref = R.study_reference_point(self.trials, self.objectives)
        return self.objectives.from_max_array(ref).tolist()

    def hypervolume(self) -> float:
        """Hypervolume of the feasible completed trials (two or more objectives)."""
        return self._ledger.hypervolume_history().value

    def hypervolume_history(self, by: str = "trials") -> pd.DataFrame:
        """Hypervolume after each finished trial (columns ``n_trials``, ``elapsed_s``,
        ``hypervolume``, ``trial``), updated incrementally as trials finish; indexed by
        ``n_trials`` (``by="trials"``) or by ``elapsed_s`` (``by="time"``, virtual seconds on
        a simulated cluster), so ``.plot(y="hypervolume")`` draws against it."""
        return R.indexed_by(self._ledger.hypervolume_history().frame(), by)

    def best(self) -> Trial:
        """The best feasible trial of a single-objective study."""
        return R.best_trial(self.trials, self.objectives)


# ---------------------------------------------------------------------- loading


def load_study(
    path: str,
    fn: TrialFn | None = None,
    name: str | None = None,
    optimizer: str | Optimizer | None = None,
    pruner: Pruner | None = None,
    storage_options: Mapping[str, Any] | None = None,
    space: Space | Mapping[str, Any] | None = None,
    stop_when: StopRule | None = None,
) -> Study:
    """Reopen a stored study, to read its results or to continue it.

    Trials that were RUNNING when the process died are run again, with the same parameters,
    by the next :meth:`Study.run` (``load_study(path, fn).run()`` finishes the planned trials).

    Args:
        path: the study file.
        fn: the trial function, needed only to run more trials (code is never stored).
        name: which study, when the file holds several.
        optimizer: overrides the stored optimizer name (needed for a custom optimizer).
        pruner: overrides the stored pruner (built-in pruners are stored and rebuilt).
        storage_options: fsspec options for a study whose checkpoints are at a URL
            (credentials, endpoint): they are never stored, so without them the
            environment's credentials are used.
        space: a wider space to continue with (after a boundary warning): the same
            parameters, each range the same or wider, each Choice with the same options or
            more. The study's past trials are kept; the stored space is replaced, and the old
            one recorded in its settings (``"widened"``).
        stop_when: stopping rules that replace the stored ones (None: keep them).

    Raises:
        StorageError: the file does not exist or is not a study file, or ``storage_options``
            were given for a study whose checkpoints are not at a URL.
    """
    from pathlib import Path

    if not Path(path).is_file():
        raise StorageError(f"no study file at {path!r}")
    store = SQLiteStore(path)
    try:
        rec = store.get_study(name)
        s = rec.settings
        if space is not None:
            s = _widened(store, rec, space)
        unusable = None
        if pruner is None:
            try:
                pruner = pruner_from_json(s.get("pruner"))
            except StorageError as exc:  # readable, but not runnable as it was stored
                unusable = f"study {rec.name!r} in {path}: {exc}"
        if optimizer is None:
            try:
                _checks.resolve_optimizer(s["optimizer"], s.get("n_initial"))
                optimizer = s["optimizer"]
            except ConfigError:  # a custom optimizer object: its code is not stored
                optimizer = "sobol"  # (only to read the study; running it is refused)
                unusable = unusable or (
                    f"study {rec.name!r} in {path} was run with the custom optimizer "
                    f"{s['optimizer']!r}: reopen it with hn.load_study(path, fn, "
                    "optimizer=<that optimizer object>) to run it"
                )
        constraints = {m: tuple(v) for m, v in s.get("constraints", {}).items()}
        objectives = Objectives.from_json(s)
        checkpoints = _with_options(s.get("checkpoints"), storage_options, path)
        study = Study(
            fn,
            Space.from_json(s["space"]),
            objectives={n: o for n, o in objectives.objectives},
            constraints=constraints or None,
            held_out=dict(objectives.held_out) or None,
            baseline=s.get("baseline"),
            storage=store,
            seed=s["seed"],
            optimizer=optimizer,
            n_initial=s.get("n_initial"),
            max_failure_share=s.get("max_failure_share", 0.5),
            suggest_timeout=s.get("suggest_timeout", 30.0),
            pruner=pruner,
            pruned_in_model=s.get("pruned_in_model", "last"),
            trial_timeout=s.get("trial_timeout"),
            name=rec.name,
            load_if_exists=True,
            checkpoints=checkpoints,
            stop_when=stop_when,
        )
    except StorageError:
        store.close()
        raise
    except (HpoError, KeyError, TypeError, ValueError, AttributeError) as exc:
        store.close()
        what = f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc)
        raise StorageError(
            f"{path}: the stored settings of study {name or '(the only one)'!r} cannot be "
            f"used by this version ({what})"
        ) from None
    study._unusable = unusable
    return study


def _told(number: int, attempt: int, result: Any, state: TrialState | str | None) -> TrialEnded:
    """How a trial ended, from what ``Study.tell`` was given."""
    st = TrialState(state) if state is not None else None
    now = time.time()
    if not isinstance(result, BaseException) and st not in (TrialState.FAILED, TrialState.PRUNED):
        return TrialEnded(number, attempt, TrialState.COMPLETE, result=result, ended_at=now)
    pruned = isinstance(result, Pruned) or st is TrialState.PRUNED
    ended = TrialState.PRUNED if pruned else TrialState.FAILED
    if not isinstance(result, BaseException):
        return TrialEnded(number, attempt, ended, ended_at=now)
    return TrialEnded(
        number,
        attempt,
        ended,
        error=f"{type(result).__name__}: {result}",
        traceback="".join(tb_module.format_exception(result)),
        ended_at=now,
    )


def _widened(store: SQLiteStore, rec: StudyRecord, space: Space | Mapping[str, Any]) -> dict:
    """Store ``space`` as the study's space, if it widens the stored one; the new settings."""
    wider = space if isinstance(space, Space) else Space(space)
    old = Space.from_json(rec.settings["space"])
    try:
        old.check_widening(wider)
    except SpaceError as exc:
        raise StorageError(f"load_study(space=...): {exc}") from None
    if wider == old:
        return rec.settings
    history = [*rec.settings.get("widened", []), {"from": old.to_json(), "at": time.time()}]
    settings = {**rec.settings, "space": wider.to_json(), "widened": history}
    store.set_settings(rec.id, settings)
    return settings


def _with_options(
    stored: Any, storage_options: Mapping[str, Any] | None, path: str
) -> Checkpoints | None:
    """The stored checkpoint URL with the storage options given to :func:`load_study`."""
    if storage_options is None:
        return None
    where = stored.get("dir") if isinstance(stored, dict) else None
    if not isinstance(where, str) or "://" not in where or where.startswith("file://"):
        raise StorageError(
            f"{path}: storage_options were given, but the study's checkpoints are not at a URL "
            f"(they are in {where!r})"
        )
    return Checkpoints(**{**stored, "storage_options": storage_options})


def _stored_checkpoints(data: Any, path: str | None) -> Checkpoints:
    try:
        return Checkpoints(**data)
    except (TypeError, HpoError) as exc:
        raise StorageError(
            f"{path or 'the store'}: the stored checkpoint settings {data!r} are not valid ({exc})"
        ) from None


__all__ = ["Study", "load_study", "trial_seed"]
