"""The options of one ``run``/``start``/``run_async`` call, checked once, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo_notebook import _checks
from hpo_notebook.exceptions import ConfigError


@dataclass(frozen=True)
class RunOptions:
    """What a run was asked for (the arguments of :meth:`hpo_notebook.Study.run`).

    Bad values are refused when the object is made, before any cluster starts.

    Example:
        >>> RunOptions(n_trials=20, concurrency=4).concurrency
        4
        >>> RunOptions(timeout=-1)
        Traceback (most recent call last):
        ...
        hpo_notebook.exceptions.ConfigError: timeout must be a positive number of seconds, got -1
    """

    n_trials: int | None = None
    concurrency: int | None = None
    cluster: Any = None
    resources: Mapping[str, float] | None = None
    timeout: float | None = None
    progress: bool | None = None
    show: bool | None = None
    trial_timeout: float | None = None
    stop_when: Any = None

    def __post_init__(self) -> None:
        from hpo_notebook import stop

        stop.parse(self.stop_when, "stop_when")
        if self.n_trials is not None:
            _checks.check_n_trials(self.n_trials)
        if self.concurrency is not None:
            _checks.positive_int("concurrency", self.concurrency)
        if self.timeout is not None and not _checks.positive_number(self.timeout):
            raise ConfigError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        _checks.check_timeout("trial_timeout", self.trial_timeout)
