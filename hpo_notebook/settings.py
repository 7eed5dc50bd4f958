"""A study's settings: what is stored with it and read back when it is reopened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpo_notebook.checkpoints import Checkpoints
from hpo_notebook.objectives import Objectives
from hpo_notebook.space import Space
from hpo_notebook.stop import StopRule


@dataclass(frozen=True)
class StudySettings:
    """The settings of a study, fixed for the life of one :class:`~hpo_notebook.Study`
    object (``study.settings``), stored with the study as JSON.

    Attributes:
        space, objectives: what is searched and optimized.
        optimizer: the optimizer's name.
        n_initial: quasi-random trials before the model (None: the optimizer's default).
        seed: the study seed.
        max_failure_share, suggest_timeout, pruned_in_model, trial_timeout: see
            :class:`~hpo_notebook.Study`.
        checkpoints: where checkpoints go and which are kept.
        pruner: the pruner as JSON (None without one).
        baseline: the configuration used today, run first (None without one).
        stop_when: the study's stopping rules (:mod:`hpo_notebook.stop`), or None.

    Example:
        >>> import hpo_notebook as hn
        >>> study = hn.Study(None, {"x": hn.Float(0, 1)}, {"loss": "min"}, seed=3)
        >>> study.settings.seed, study.settings.to_json()["optimizer"]
        (3, 'qLogNEHVI')
    """

    space: Space
    objectives: Objectives
    optimizer: str
    n_initial: int | None
    seed: int
    max_failure_share: float
    suggest_timeout: float | None
    checkpoints: Checkpoints
    pruned_in_model: str
    pruner: dict[str, Any] | None
    trial_timeout: float | None
    baseline: dict[str, Any] | None = None
    stop_when: StopRule | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON stored with the study (its unique id is added when it is created)."""
        return {
            "space": self.space.to_json(),
            **self.objectives.to_json(),
            "optimizer": self.optimizer,
            "n_initial": self.n_initial,
            "seed": self.seed,
            "max_failure_share": self.max_failure_share,
            "suggest_timeout": self.suggest_timeout,
            "checkpoints": self.checkpoints.to_json(),
            "pruned_in_model": self.pruned_in_model,
            "pruner": self.pruner,
            "trial_timeout": self.trial_timeout,
            "baseline": self.baseline,
            "stop_when": None if self.stop_when is None else self.stop_when.to_json(),
        }
