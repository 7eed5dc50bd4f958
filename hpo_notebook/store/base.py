"""The storage contract: the only thing the rest of the package knows about persistence.

A store holds studies (settings, lineage, optimizer state), their trials and the trials'
intermediate reports, all as JSON: opening a study file never runs code. Every write is
committed when the method returns, so the study can act on a change only after it is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hpo_notebook.trial import Trial

#: Version of the on-disk layout; a file written by a newer version is refused.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StudyRecord:
    """A stored study's header.

    Attributes:
        id: the store's key for the study.
        name: unique within the store.
        settings: space, objectives, optimizer and options as JSON-ready data.
        lineage: where and with what the study was created.
        optimizer_state: what the optimizer asked to be given back next time.
        target: number of trials the last ``run``/``start`` aimed for (used by resume).
        created_at: UNIX time.
    """

    id: int
    name: str
    settings: dict[str, Any]
    lineage: dict[str, Any]
    optimizer_state: dict[str, Any] | None
    target: int | None
    created_at: float


class Store(Protocol):
    """What :class:`~hpo_notebook.study.Study` needs from a storage backend."""

    #: File path, or None for an in-memory store.
    path: str | None

    def create_study(
        self, name: str, settings: dict[str, Any], lineage: dict[str, Any]
    ) -> StudyRecord:
        """Create a study; raises ``StorageError`` if the name is taken."""
        ...

    def get_study(self, name: str | None = None) -> StudyRecord:
        """The study named ``name``, or the only one when ``name`` is None."""
        ...

    def study_names(self) -> list[str]: ...

    def set_optimizer_state(self, study_id: int, state: dict[str, Any] | None) -> None: ...

    def set_target(self, study_id: int, target: int | None) -> None: ...

    def put_trial(self, study_id: int, trial: Trial) -> None:
        """Insert or replace a trial (keyed by its number)."""
        ...

    def put_trials(self, study_id: int, trials: Iterable[Trial]) -> None:
        """Insert or replace several trials in one transaction."""
        ...

    def trials(self, study_id: int) -> list[Trial]: ...

    def add_reports(self, study_id: int, reports: Iterable[dict[str, Any]]) -> None:
        """Store reports ``{"trial", "step", "metrics", "t", "attempt", "worker"}``; a report
        for a (trial, step) already stored replaces it, so a re-run never duplicates steps."""
        ...

    def reports(self, study_id: int, trial: int | None = None) -> list[dict[str, Any]]: ...

    def delete_reports(self, study_id: int, trial: int, after_step: float | None = None) -> None:
        """Drop a trial's reports (those after ``after_step`` only, when given): a trial that
        starts again from scratch, or from a checkpoint, must not keep a stale tail."""
        ...

    def close(self) -> None: ...
