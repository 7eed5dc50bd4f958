"""The trial ledger: a study's trials, their attempts and reports, kept in its store.

Every change is saved to the store before anything acts on it, and then published to the
study's listeners as an event. The ledger also keeps what is derived from its records and
read often: the report log (:class:`~hpo_notebook.reports.ReportHistory`, read by the pruner
and the views), what the optimizer sees (:class:`~hpo_notebook._history.HistoryIndex`), the
hypervolume history, and each trial's checkpoints.

The study's driver loop, ``ask``/``tell`` and the views all go through its public methods;
:class:`~hpo_notebook.study.Study` is a facade over it, the proposer and the driver.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from hpo_notebook import checkpoints
from hpo_notebook import results as R
from hpo_notebook._history import HistoryIndex
from hpo_notebook.checkpoints import Checkpoints
from hpo_notebook.clock import WALL, Clock
from hpo_notebook.events import PruningGamble, ReportsAdded, StudyEvent, TrialChanged, WorkerLost
from hpo_notebook.exceptions import HpoWarning, PruningGambleWarning, TrialResultError
from hpo_notebook.execution.base import TrialEnded
from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers import History, Proposal
from hpo_notebook.pruners._rungs import multi_objective_order, rung_steps
from hpo_notebook.pruners.base import Decision, Pruner
from hpo_notebook.pruners.rank_correlation import MIN_TRIALS, RankCorrelation, rank_correlations
from hpo_notebook.reports import Report, ReportHistory
from hpo_notebook.space import Space
from hpo_notebook.store import SQLiteStore, StudyRecord
from hpo_notebook.trial import Trial, TrialState

Listener = Callable[[StudyEvent], None]


def trial_seed(study_seed: int, number: int) -> int:
    """The seed of trial ``number`` (independent streams per trial, stable across resumes)."""
    return int(np.random.SeedSequence([study_seed, number, 0x7417]).generate_state(1)[0] >> 1)


class TrialLedger:
    """The trials and reports of one study (see the module docstring).

    Args:
        store: where the study lives (its records are read from it now).
        record: the study's record in ``store``.
        space, objectives: the study's.
        seed: the study seed (trial seeds derive from it).
        pruner: the study's pruner (it indexes the report log), or None.
        pruned_in_model: how pruned trials inform the model (``Study(pruned_in_model=...)``).
        checkpoint_policy: where checkpoints go and which are kept.
    """

    def __init__(
        self,
        store: SQLiteStore,
        record: StudyRecord,
        space: Space,
        objectives: Objectives,
        seed: int,
        pruner: Pruner | None,
        pruned_in_model: str,
        checkpoint_policy: Checkpoints,
    ) -> None:
        self.store = store
        self.record = record
        self.space = space
        self.objectives = objectives
        self.seed = seed
        self.pruner = pruner
        self.pruned_in_model = pruned_in_model
        self.checkpoint_policy = checkpoint_policy
        #: the clock of the executor of the latest run (times the ledger records)
        self.clock: Clock = WALL
        #: GPUs each trial of the latest run asks for (recorded with the trial, for budgets)
        self.gpus_per_trial = 0.0
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._trials: dict[int, Trial] = {t.number: t for t in store.trials(record.id)}
        self._state_counts = collections.Counter(t.state for t in self._trials.values())
        self._index: HistoryIndex | None = None
        self._report_history: ReportHistory | None = None
        self._hv_history: R.HypervolumeHistory | None = None
        self._gambles_warned: set[tuple[float, str]] = set()
        self._checkpoint_root: checkpoints.Root | None = None
        # what catch_up() saw last (another process's writes change these)
        self._seen_version = store.data_version()
        self._seen_reports = store.reports_version(record.id)

    @property
    def name(self) -> str:
        """The study's name in its file (``Study(name=...)``, default ``"study"``)."""
        return self.record.name

    @property
    def trials(self) -> list[Trial]:
        """Snapshots of every trial, by number."""
        with self._lock:  # the dict is in number order: trials are created in that order
            return list(self._trials.values())

    def trial(self, number: int) -> Trial | None:
        """The snapshot of trial ``number`` (None: no such trial)."""
        with self._lock:
            return self._trials.get(number)

    def counts(self) -> dict[str, int]:
        """How many trials are in each state."""
        with self._lock:
            return {s.value: self._state_counts[s] for s in TrialState}

    def n_finished(self) -> int:
        """Trials that finished (complete, failed or pruned)."""
        with self._lock:
            return sum(self._state_counts[s] for s in TrialState if s.finished)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every change from now on; returns the unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: StudyEvent) -> None:
        """Hand ``event`` to every listener (a listener that raises is warned about)."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception as exc:  # a broken view must never stop the study
                warnings.warn(
                    f"hpo_notebook: a study listener raised {exc!r}", HpoWarning, stacklevel=2
                )

    def history(self) -> History:
        """What the optimizer may know now (built incrementally, see ``_history.py``)."""
        with self._lock:
            if self._index is None:
                index = HistoryIndex(self.space, self.objectives, self.pruned_in_model == "last")
                for t in self._trials.values():
                    index.update(t, self._curve_if_pruned(t))
                self._index = index
            h = self._index.history()
            if self.pruned_in_model != "fidelity":
                return h
            trials = list(self._trials.values())
        return _with_curves(h, trials, self.reports(), self.space, self.objectives,
                            self.pruner)  # fmt: skip

    def _curve_if_pruned(self, t: Trial) -> list[tuple[float, Any]]:
        """A pruned trial's reports, from which the model takes its last values."""
        if t.state is not TrialState.PRUNED or self.pruned_in_model != "last":
            return []
        return self.reports().curve(t.number)

    def set_target(self, n: int) -> None:
        """Save how many finished trials the latest run aims at (``run(n_trials=None)``
        continues to it)."""
        self.store.set_target(self.record.id, n)

    def target(self) -> int | None:
        """The saved target (None before the first run)."""
        return self.store.get_study(self.name).target

    def setting(self, key: str) -> Any:
        """One of the study's stored settings (None when absent)."""
        return self.store.get_study(self.name).settings.get(key)

    def update_settings(self, **values: Any) -> None:
        """Store ``values`` in the study's settings (read afresh, so nothing else is lost)."""
        with self._lock:
            settings = self.store.get_study(self.name).settings
            if all(settings.get(k) == v for k, v in values.items()):
                return
            self.store.set_settings(self.record.id, {**settings, **values})

    def set_optimizer_state(self, state: dict[str, Any] | None) -> None:
        """Save the optimizer's state (a resumed study proposes with it)."""
        self.store.set_optimizer_state(self.record.id, state)

    def stored_reports(self, trial: int | None = None) -> list[dict[str, Any]]:
        """The reports as stored (of one trial, or all), with their attempt and time."""
        return self.store.reports(self.record.id, trial)

    def hypervolume_history(self) -> R.HypervolumeHistory:
        """The hypervolume after each finished trial, extended as trials finish."""
        with self._lock:
            if self._hv_history is None:
                self._hv_history = R.HypervolumeHistory(self.objectives)
            return self._hv_history.update(list(self._trials.values()))

    def attempt_of(self, number: int) -> int | None:
        """The current attempt of trial ``number`` (None: no such trial)."""
        t = self._trials.get(number)
        return None if t is None else t.attempt

    def create(self, proposals: Sequence[Proposal]) -> list[Trial]:
        """Save new trials as RUNNING (first attempt) before they are handed to anyone."""
        now = self.clock.time()
        with self._lock:
            start = len(self._trials)
            new = []
            for i, p in enumerate(proposals):
                number = start + i
                new.append(
                    Trial(
                        number,
                        TrialState.RUNNING,
                        self.space.validate(p.params),
                        seed=trial_seed(self.seed, number),
                        proposal={"kind": p.kind, **p.info},
                        created_at=now,
                        started_at=now,
                        attempt=1,
                        extra=self._run_extra(),
                    )
                )
            self.store.add_trials(self.record.id, new)
            self._trials.update({t.number: t for t in new})
            self._state_counts[TrialState.RUNNING] += len(new)
            if self._index is not None:
                for t in new:
                    self._index.update(t)
        for t in new:
            self.publish(TrialChanged(t))
        return new

    @property
    def checkpoint_root(self) -> checkpoints.Root:
        """The folder of this study's trial checkpoints (``<dir>/<study uid>``), with the
        storage options of a URL (what the trials get)."""
        if self._checkpoint_root is None:
            policy = self.checkpoint_policy.resolved(self.store.path)
            self.checkpoint_policy = policy
            self._checkpoint_root = policy.study_root(self.record.uid)
        return self._checkpoint_root

    @property
    def checkpoint_dir(self) -> str:
        """The folder (or URL) of this study's trial checkpoints."""
        return str(self.checkpoint_root)

    def catch_up(self) -> list[Trial]:
        """Take in what other processes wrote to the file since the last look (cheap when
        nothing changed: one ``PRAGMA``); publishes each changed trial, and the new reports as
        one :class:`~hpo_notebook.events.ReportsAdded`. Returns the changed trials."""
        version = self.store.data_version()
        if version == self._seen_version:
            return []
        self._seen_version = version
        rec = self.store.get_study(self.name)
        trials = {t.number: t for t in self.store.trials(rec.id)}
        n_reports = self.store.reports_version(rec.id)
        with self._lock:
            changed = [t for n, t in sorted(trials.items()) if self._trials.get(n) != t]
            new_reports = n_reports != self._seen_reports
            self.record = rec
            self._seen_reports = n_reports
            if changed:
                self._trials = trials
                self._state_counts = collections.Counter(t.state for t in trials.values())
                self._index = None
                self._hv_history = None
            if changed or new_reports:
                self._report_history = None
        for t in changed:
            self.publish(TrialChanged(t))
        if new_reports:
            self.publish(ReportsAdded(()))
        return changed

    def reload(self) -> StudyRecord:
        """Catch up with the store (another process may have driven the study meanwhile);
        returns the study's record as stored now."""
        rec = self.store.get_study(self.name)
        trials = {t.number: t for t in self.store.trials(rec.id)}
        with self._lock:
            self.record = rec
            if trials != self._trials:
                self._trials = trials
                self._state_counts = collections.Counter(t.state for t in trials.values())
                self._index = None
                self._report_history = None
                self._hv_history = None
        return rec

    def _keep_curve_to_checkpoint(self, number: int, step: float | None = None) -> float | None:
        """A trial starts again: drop its reports after its checkpoint (all without one), and
        restore those saved with the checkpoint that never reached the store (sent just before
        the driver died). ``step``: the checkpoint step the re-run started from, when its
        worker said (read now, the re-run may have saved a newer one already)."""
        root = self.checkpoint_root
        if step is None:
            step = checkpoints.checkpoint_step(root, number)
        self.store.delete_reports(self.record.id, number, after_step=step)
        if self._report_history is not None:
            self._report_history.drop_after(number, step)
        if step is not None:
            have = {float(r["step"]) for r in self.store.reports(self.record.id, number)}
            lost = [
                r
                for r in checkpoints.checkpoint_reports(root, number)
                if r.get("trial") == number
                and float(r["step"]) <= step
                and float(r["step"]) not in have
            ]
            if lost:
                self.store.add_reports(self.record.id, lost)
                if self._report_history is not None:
                    for r in lost:
                        self._report_history.add(number, r["step"], r["metrics"])
        return step

    def worker_lost(self, lost: WorkerLost) -> None:
        """The cluster lost the worker of a running attempt and runs it again: its curve
        goes back to its checkpoint, and the loss is counted and published."""
        number = lost.number
        with self._lock:
            t = self._trials.get(number)
            if t is None or t.attempt != lost.attempt or t.state is not TrialState.RUNNING:
                return
            step = self._keep_curve_to_checkpoint(number, lost.from_step)
            extra = {
                **t.extra,
                "worker_restarts": t.extra.get("worker_restarts", 0) + 1,
                "checkpoint_step": step,
            }
            self._save(dataclasses.replace(t, extra=extra))
        self.publish(lost)

    def _cleanup_checkpoints(self) -> None:
        """Apply the checkpoint policy after a trial ended: only to folders of this study's
        trials that will not run again (``checkpoints.stored`` lists only folders it made).
        The best are ranked among the trials that have a checkpoint: the ones kept so far and
        those that just ended."""
        root = self._checkpoint_root
        if root is None:
            return
        present = checkpoints.stored(root)
        if not present:
            return
        with self._lock:  # only trials with a folder: the cost stays flat as the study grows
            mine = {n: self._trials[n] for n in present if n in self._trials}
        present = list(mine)
        running = [n for n in present if not mine[n].state.finished]
        feas = R.feasible([mine[n] for n in present], self.objectives)
        keep = self.checkpoint_policy.keep_best
        order = multi_objective_order(R.objective_matrix(feas, self.objectives), top=keep)
        ranked = [feas[i].number for i in order]
        sizes = {n: checkpoints.size(root, n) for n in present}
        doomed = checkpoints.to_delete(self.checkpoint_policy, present, running, ranked, sizes)
        for n in doomed:
            checkpoints.delete(root, n)
        for n in set(present) - set(running) - set(doomed):
            checkpoints.remove_temporaries(root, n)  # left by a save killed mid-write

    def start_attempt(self, number: int) -> Trial:
        """Mark a trial RUNNING for a new attempt (persisted before it is submitted)."""
        with self._lock:
            old = self._trials[number]
            t = dataclasses.replace(
                old,
                state=TrialState.RUNNING,
                attempt=old.attempt + 1,
                started_at=self.clock.time(),
                ended_at=None,
                error=None,
                traceback=None,
            )
            extra: dict[str, Any] = self._run_extra()
            if old.attempt:
                extra["checkpoint_step"] = self._keep_curve_to_checkpoint(number)
            # the time of earlier attempts was spent too (stop.Budget counts it)
            earlier = float(old.extra.get("earlier_attempts_s", 0.0) or 0.0)
            if old.started_at is not None and old.ended_at is not None:
                earlier += max(0.0, old.ended_at - old.started_at)
            if earlier:
                extra["earlier_attempts_s"] = earlier
            t = dataclasses.replace(t, extra=extra)
            self._save(t)
        return t

    def _run_extra(self) -> dict[str, Any]:
        return {"gpus": self.gpus_per_trial} if self.gpus_per_trial else {}

    def _save(self, t: Trial) -> None:
        with self._lock:
            self.store.update_trial(self.record.id, t)
            old = self._trials[t.number]
            self._trials[t.number] = t
            self._state_counts[old.state] -= 1
            self._state_counts[t.state] += 1
            if self._index is not None:
                self._index.update(t, self._curve_if_pruned(t))
        self.publish(TrialChanged(t))

    # ------------------------------------------------------------------ core: finish

    def finish(self, ended: TrialEnded) -> Trial:
        """Record how a trial ended (persisted before anything acts on it)."""
        with self._lock:
            old = self._trials[ended.number]
        fields: dict[str, Any] = {
            "ended_at": ended.ended_at or self.clock.time(),
            "started_at": ended.started_at or old.started_at,
            "worker": ended.worker or old.worker,
            "lineage": {**old.lineage, **ended.lineage} if ended.lineage else old.lineage,
            "error": ended.error,
            "traceback": ended.traceback,
        }
        if ended.state is TrialState.COMPLETE:
            try:
                fields["values"] = self.objectives.check_result(ended.result)
                fields["state"] = TrialState.COMPLETE
            except TrialResultError as exc:
                fields.update(state=TrialState.FAILED, error=str(exc), traceback=None)
        elif ended.state is TrialState.PRUNED:
            fields["state"] = TrialState.PRUNED
            if "pruned_at" in old.extra:
                fields["error"] = old.extra.get("prune_reason") or ended.error
                fields["extra"] = {**old.extra, "steps_after_decision": self._steps_after(old)}
        elif ended.state is TrialState.INTERRUPTED:
            fields["state"] = TrialState.INTERRUPTED
        else:
            fields["state"] = TrialState.FAILED
        t = dataclasses.replace(old, **fields)
        self._save(t)
        if t.state.finished:
            self._cleanup_checkpoints()
        if t.state is TrialState.COMPLETE and self.pruner is not None:
            self._warn_gambles()
        return t

    # ------------------------------------------------------------------ is pruning a gamble?

    def rank_correlations(self, steps: Sequence[float] | None = None) -> list[RankCorrelation]:
        """The early metric against the final one at ``steps`` (default: where the pruner
        decides), over the completed trials."""
        with self._lock:
            done = {t.number: t.values for t in self._trials.values()
                    if t.state is TrialState.COMPLETE and t.values}  # fmt: skip
        h = self.reports()
        curves = {n: h.curve(n) for n in done}
        if steps is None:
            steps = _decision_steps(self.pruner, curves)
        return rank_correlations(curves, done, steps, _ranked_metrics(self.pruner, self.objectives))

    def _warn_gambles(self) -> None:
        """Warn once per rung and metric when pruning there is a gamble (checked at every
        completion up to 50, then at every tenth: the figure moves slowly)."""
        n = self._state_counts[TrialState.COMPLETE]
        if n < MIN_TRIALS or (n > 50 and n % 10):
            return
        for c in self.rank_correlations():
            key = (c.step, c.metric)
            if c.gamble and key not in self._gambles_warned:
                self._gambles_warned.add(key)
                warnings.warn(f"hpo_notebook: {c.message()}", PruningGambleWarning, stacklevel=2)
                self.publish(PruningGamble(c))

    def _steps_after(self, t: Trial) -> int:
        """Reports a pruned trial made after the decision to stop it."""
        at = t.extra["pruned_at"]
        return sum(1 for step, _ in self.reports().curve(t.number) if step > at)

    def add_reports(self, reports: Sequence[Report]) -> None:
        """Save reports, index them, then publish them."""
        if not reports:
            return
        # under the lock: a report log being built on another thread (a view's first read)
        # then holds every report, stored before or after
        with self._lock:
            self.store.add_reports(self.record.id, [r.as_dict() for r in reports])
            if self.pruner is not None or self._report_history is not None:
                h = self.reports()
                for r in reports:
                    h.add(r.trial, r.step, r.metrics)
                for number in {r.trial for r in reports}:
                    t = self._trials.get(number)  # reports after a trial was pruned
                    if t is not None and t.state is TrialState.PRUNED and self._index is not None:
                        self._index.update(t, self._curve_if_pruned(t))
        self.publish(ReportsAdded(tuple(reports)))

    def reports(self) -> ReportHistory:
        """Every stored report, indexed (built once, then kept up to date)."""
        with self._lock:
            if self._report_history is None:
                h = ReportHistory(self.objectives)
                reports = self.store.reports(self.record.id)
                key = lambda r: (r.get("t") or 0.0, r["trial"], r["step"])  # noqa: E731
                for r in sorted(reports, key=key):
                    h.add(int(r["trial"]), r["step"], r["metrics"])
                if self.pruner is not None:
                    self.pruner.prepare(h)
                self._report_history = h
            return self._report_history

    def mark_pruned(self, number: int, reason: str, step: float | None = None) -> float:
        """Record a decision to stop a running trial (by the pruner or by hand)."""
        with self._lock:
            t = self._trials[number]
            if step is None:
                curve = self.reports().curve(number)
                step = curve[-1][0] if curve else 0
            if "pruned_at" not in t.extra:
                extra = {**t.extra, "pruned_at": step, "prune_reason": reason}
                self._save(dataclasses.replace(t, extra=extra))
        return step

    def judge(self, report: Report) -> Decision | None:
        """The decision on a report of a running trial: the pruner's, or the standing decision
        to stop it (made earlier, by the pruner or by hand); None when nothing decides."""
        number = report.trial
        with self._lock:
            t = self._trials.get(number)
        if t is None or t.state is not TrialState.RUNNING or t.attempt != report.attempt:
            return None
        if "pruned_at" in t.extra:  # decided already: say it again (the trial may not know)
            return Decision(True, t.extra.get("prune_reason", ""))
        if self.pruner is None:
            return None
        d = self.pruner.decide(number, report.step, report.metrics, self.reports())
        if d.prune:
            sent = report.t
            extra = {
                **t.extra,
                "pruned_at": report.step,
                "prune_reason": d.reason,
                "decision_latency_s": None if sent is None else max(0.0, self.clock.time() - sent),
            }
            self._save(dataclasses.replace(t, extra=extra))
        return d


class _LocalChannel:
    """The report channel of a trial run by hand (``ask``/``tell``): reports are stored and
    judged at once, so ``trial.report`` raises ``hn.Pruned`` right away."""

    def __init__(self, ledger: TrialLedger) -> None:
        self.ledger = ledger
        self.reason: str | None = None

    def send(self, report: dict[str, Any]) -> None:
        r = Report.from_dict(report)
        self.ledger.add_reports([r])
        d = self.ledger.judge(r)
        if d is not None and d.prune:
            self.reason = d.reason

    def verdict(self, step: float | None, previous: float | None = None) -> str | None:
        return self.reason

    def stop_heard(self) -> bool:
        return False

    def stopping(self) -> bool:
        return False

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


#: How pruned trials inform the model (``Study(pruned_in_model=...)``).
PRUNED_IN_MODEL = ("last", "ignore", "fidelity")
#: Most points one trial's curve adds to the model before its end.
CURVE_POINTS = 4


def _with_curves(
    h: History,
    trials: Sequence[Trial],
    reports: ReportHistory,
    space: Space,
    objectives: Objectives,
    pruner: Pruner | None,
) -> History:
    """``h`` with the trials' learning curves before their end (``pruned_in_model=
    "fidelity"``): for each trial, its reports at the pruner's rungs (or at steps 1, 3, 9,
    ...) and its latest one, with how far along each is, ``log(1 + step) / log(1 + max)``."""
    names = objectives.metric_names
    ends = [reports.curve(t.number)[-1][0] for t in trials
            if t.state is TrialState.COMPLETE and reports.curve(t.number)]  # fmt: skip
    top = float(getattr(pruner, "max_steps", None) or max(ends, default=0.0))
    if top <= 0:
        top = max((c[-1][0] for c in map(reports.curve, reports.trials()) if c), default=0.0)
    marks = list(getattr(pruner, "rungs", None) or rung_steps(top, 1, 3))
    X, Y, F, stopped = [], [], [], []
    for t in sorted(trials, key=lambda t: t.number):
        if t.state not in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
            continue
        curve = [(st, m) for st, m in reports.curve(t.number)
                 if st < top and all(n in m for n in names)]  # fmt: skip
        if t.state is TrialState.PRUNED:
            stopped.append(space.to_unit(t.params))
        if not curve:
            continue
        picked: dict[float, Mapping[str, float]] = {}
        for mark in marks:
            at = next(((st, m) for st, m in curve if st >= mark), None)
            if at is not None:
                picked[at[0]] = at[1]
        if t.state is not TrialState.COMPLETE:
            picked[curve[-1][0]] = curve[-1][1]  # how far it got
        x = space.to_unit(t.params)
        for st in sorted(picked)[-CURVE_POINTS:]:
            X.append(x)
            Y.append([float(picked[st][n]) for n in names])
            F.append(float(np.log1p(st) / np.log1p(top)))
    d, k = space.dim, len(names)
    return dataclasses.replace(
        h,
        X_partial=np.array(X, dtype=float).reshape(-1, d),
        Y_partial=np.array(Y, dtype=float).reshape(-1, k),
        fidelity=np.array(F, dtype=float),
        X_stopped=np.array(stopped, dtype=float).reshape(-1, d),
    )


def _decision_steps(
    pruner: Pruner | None, curves: Mapping[int, Sequence[tuple[float, Any]]]
) -> list[float]:
    """Where ``pruner`` decides: its rungs; otherwise the steps 1, 3, 9, ... (after the median
    rule's warm-up) below the last step the trials reached."""
    rungs = getattr(pruner, "rungs", None)
    if rungs is not None:
        return list(rungs)
    last = max((c[-1][0] for c in curves.values() if c), default=0)
    first = getattr(pruner, "warmup", 0)
    return [s for s in rung_steps(last, 1, 3) if s > first] if last > 1 else []


def _ranked_metrics(pruner: Pruner | None, objectives: Objectives) -> list[str]:
    """The objectives ``pruner`` ranks on (every objective without a pruner)."""
    one = getattr(pruner, "metric", None)
    several = getattr(pruner, "metrics", None)
    if pruner is not None and not hasattr(pruner, "metrics"):
        return [one if one is not None else objectives.names[0]]
    return list(several) if several is not None else list(objectives.names)
