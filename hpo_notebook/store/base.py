"""The storage contract: the only thing the rest of the package knows about persistence.

A store holds studies (settings, lineage, optimizer state), their trials and the trials'
intermediate reports, all as JSON: opening a study file never runs code. Every write is
committed when the method returns, so the study can act on a change only after it is saved.
"""

from __future__ import annotations

import hashlib
import re
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

    @property
    def uid(self) -> str:
        """The study's unique id (32 hex digits): what its checkpoints are marked with.

        Stored in the settings since checkpoints were tied to studies; for a study made
        before, derived from its name and creation time (a file deleted and made again gets
        a new one). A stored value that is not 32 hex digits is refused, so a file someone
        else wrote cannot steer a path.
        """
        from hpo_notebook.exceptions import StorageError

        uid = self.settings.get("uid")
        if uid is None:
            return hashlib.sha256(f"{self.name}\0{self.created_at!r}".encode()).hexdigest()[:32]
        if not isinstance(uid, str) or not _UID.fullmatch(uid):
            raise StorageError(
                f"study {self.name!r}: its stored uid must be 32 hex digits, got {uid!r}"
            )
        return uid


_UID = re.compile(r"[0-9a-f]{32}")


class Store(Protocol):
    """What :class:`~hpo_notebook.study.Study` needs from a storage backend."""

    #: File path, or None for an in-memory store.
    path: str | None
    #: Opened for reading only (writes raise ``StorageError``).
    read_only: bool

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

    def set_settings(self, study_id: int, settings: dict[str, Any]) -> None: ...

    def add_trials(self, study_id: int, trials: Iterable[Trial]) -> None:
        """Insert new trials in one transaction; raises ``StorageError`` (writing nothing) if a
        number is taken: trials are never overwritten by a second writer."""
        ...

    def update_trial(self, study_id: int, trial: Trial) -> None:
        """Save a new snapshot of an existing trial (keyed by its number)."""
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
