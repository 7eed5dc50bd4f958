"""The optimizer contract: pure proposals from a history.

An optimizer never does I/O, never talks to Dask and keeps no hidden state: the
:class:`~hpo_notebook.study.Study` gives it everything it needs on every call, including the
small JSON ``state`` the optimizer returned last time (stored with the study, so a resumed
study continues where it stopped).

Call order, for each batch of free workers::

    suggestion = optimizer.suggest(space, objectives, history, n=free_workers, seed=s, state=st)
    st = suggestion.state          # persisted by the study
    for p in suggestion.proposals: # submitted as trials, p.kind and p.info stored with each
        ...

The same inputs (history, seed and state) always give the same proposals.

Optionally, ``uses_model(space, history) -> bool`` tells the study whether the next call will
do real work: if so it runs off the driver thread with a deadline (``suggest_timeout``), and
while every worker is busy the next proposal is computed ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hpo_notebook.objectives import Objectives
from hpo_notebook.space import Space


@dataclass(frozen=True)
class History:
    """What the optimizer may know about a study.

    Attributes:
        X: ``n x d`` unit-cube points of the completed trials.
        Y: ``n x k`` raw metric values of those trials, columns in
            ``objectives.metric_names`` order (objectives first, unflipped).
        X_pending: ``p x d`` unit-cube points of trials still running (or already asked for),
            so that new proposals avoid them.
        n_trials: trials created so far (also the index of the next quasi-random point).
        X_partial, Y_partial, fidelity: with ``Study(pruned_in_model="fidelity")``, points
            of learning curves before their end: ``r x d`` points, ``r x k`` values reported
            there, and how far along each is (``r``, in (0, 1); 1 is the end, where ``X``
            lies). Empty otherwise; an optimizer that does not model curves ignores them.
        X_stopped: ``s x d`` points of pruned trials: never finished, so not in ``X``; a
            curve model predicts their final values.
        deadline_s: seconds a free worker waits for this proposal before it gets a
            quasi-random point (the study's ``suggest_timeout``; None: no limit). An
            optimizer may spend less effort on later proposals when one took longer.
    """

    X: np.ndarray
    Y: np.ndarray
    X_pending: np.ndarray
    n_trials: int
    X_partial: np.ndarray | None = None
    Y_partial: np.ndarray | None = None
    fidelity: np.ndarray | None = None
    X_stopped: np.ndarray | None = None
    deadline_s: float | None = None

    @property
    def has_curves(self) -> bool:
        """Whether partial learning curves came with this history."""
        return self.X_partial is not None and len(self.X_partial) > 0

    @classmethod
    def empty(cls, d: int, k: int) -> History:
        return cls(np.zeros((0, d)), np.zeros((0, k)), np.zeros((0, d)), 0)


@dataclass(frozen=True)
class Proposal:
    """One proposed parameter assignment and how it was made.

    Attributes:
        params: the parameter values.
        kind: how it was made, e.g. ``"sobol"``, ``"qLogNEHVI"``, ``"sobol-fallback"``.
        info: timings (``fit_s``, ``acq_s``, ``total_s``) and notes, stored with the trial.
    """

    params: dict[str, Any]
    kind: str
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suggestion:
    """The answer of :meth:`Optimizer.suggest`: proposals and the state to pass next time."""

    proposals: list[Proposal]
    state: dict[str, Any] | None = None


@runtime_checkable
class Optimizer(Protocol):
    """Anything with a ``name`` and a pure ``suggest`` method."""

    name: str

    def suggest(
        self,
        space: Space,
        objectives: Objectives,
        history: History,
        n: int,
        seed: int,
        state: dict[str, Any] | None = None,
    ) -> Suggestion:
        """Propose ``n`` new points, avoiding ``history.X_pending``.

        ``seed`` is the study's seed; randomness of one call derives from it and
        ``history.n_trials``.
        """
        ...
