"""What a study tells its listeners: one frozen class per kind of change.

:meth:`hpo_notebook.Study.subscribe` calls ``listener(event)`` with one of these, on the
driver thread, after the change is saved. Match on the class::

    def on_event(event):
        match event:
            case hn.events.TrialChanged(trial=t) if t.state is hn.TrialState.FAILED:
                print("trial", t.number, "failed:", t.error)
            case hn.events.WorkerLost(number=n, worker=w):
                print("trial", n, "lost its worker", w, "and runs again")

Events also read like the dicts they once were (``event["type"]``, ``event["trial"]``), so
listeners written that way keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from hpo_notebook._dict_reads import DictReads

if TYPE_CHECKING:
    from hpo_notebook.pruners.rank_correlation import RankCorrelation
    from hpo_notebook.reports import Report
    from hpo_notebook.trial import Trial


@dataclass(frozen=True)
class TrialChanged(DictReads):
    """A trial was created, started again, decided on (pruned), or ended; ``trial`` is its
    snapshot as saved.

    Example:
        >>> from hpo_notebook.trial import Trial, TrialState
        >>> e = TrialChanged(Trial(0, TrialState.RUNNING, {"x": 0.5}))
        >>> e.trial.number, e["type"]
        (0, 'trial')
    """

    type: ClassVar[str] = "trial"
    trial: Trial


@dataclass(frozen=True)
class ReportsAdded(DictReads):
    """Intermediate reports were saved (a burst that arrived together)."""

    type: ClassVar[str] = "reports"
    reports: tuple[Report, ...]


@dataclass(frozen=True)
class StatusChanged(DictReads):
    """The run changed state: ``"running"``, ``"paused"``, ``"stopping"`` or ``"idle"``
    (:attr:`hpo_notebook.Study.status`)."""

    type: ClassVar[str] = "status"
    status: str


@dataclass(frozen=True)
class PruningGamble(DictReads):
    """Pruning at a rung is a gamble: early values there predict the final ones badly (see
    :class:`~hpo_notebook.PruningGambleWarning`, issued at the same time)."""

    type: ClassVar[str] = "pruning_gamble"
    correlation: RankCorrelation


@dataclass(frozen=True)
class WorkerLost(DictReads):
    """Trial ``number`` lost its worker (``worker``, if known) during attempt ``attempt``;
    the cluster runs it again, from its last checkpoint if it saved one (``from_step``: that
    checkpoint's step as the re-run found it when it started; None: none, or not known)."""

    type: ClassVar[str] = "worker_lost"
    number: int
    attempt: int
    worker: str | None = None
    from_step: float | None = None


StudyEvent = TrialChanged | ReportsAdded | StatusChanged | PruningGamble | WorkerLost

__all__ = [
    "PruningGamble",
    "ReportsAdded",
    "StatusChanged",
    "StudyEvent",
    "TrialChanged",
    "WorkerLost",
]
