"""What the optimizer sees of a study, kept up to date one trial at a time.

The optimizer is given a :class:`~hpo_notebook.optimizers.History` for every proposal, and the
driver asks for one (or asks the optimizer whether it will need one) several times per trial.
Rebuilt from every trial each time, that cost grows with the study: 2,000 trials made it 4x
dearer per trial. :class:`HistoryIndex` keeps the arrays instead, and changes them by one row
when one trial changes, so building a ``History`` costs a few array copies in C.

Rows keep the order a full rebuild would give (completed trials by number, then pruned trials
by number), so a resumed study, which rebuilds the index from its file, proposes exactly what
the uninterrupted one would have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers import History
from hpo_notebook.space import Space
from hpo_notebook.trial import Trial, TrialState, is_rerun

_PENDING = (TrialState.RUNNING, TrialState.INTERRUPTED)


class _Rows:
    """Points and metric rows keyed by trial number, in number order."""

    def __init__(self, d: int, k: int) -> None:
        self.numbers = np.zeros(0, dtype=np.int64)
        self.X = np.zeros((0, d))
        self.Y = np.zeros((0, k))

    def put(self, number: int, x: list[float], y: list[float]) -> None:
        i = int(np.searchsorted(self.numbers, number))
        if i < len(self.numbers) and self.numbers[i] == number:
            self.X[i], self.Y[i] = x, y
            return
        self.numbers = np.insert(self.numbers, i, number)
        self.X = np.insert(self.X, i, x, axis=0)
        self.Y = np.insert(self.Y, i, y, axis=0)

    def discard(self, number: int) -> None:
        i = int(np.searchsorted(self.numbers, number))
        if i < len(self.numbers) and self.numbers[i] == number:
            self.numbers = np.delete(self.numbers, i)
            self.X = np.delete(self.X, i, axis=0)
            self.Y = np.delete(self.Y, i, axis=0)


class HistoryIndex:
    """The model's data of one study: completed trials, pruned trials' last values (when they
    inform the model), and the points of trials still pending.

    Args:
        space, objectives: the study's.
        pruned_last: whether pruned trials enter with their last complete report.

    Example:
        >>> import hpo_notebook as hn
        >>> space = hn.Space(x=hn.Float(0.0, 1.0))
        >>> index = HistoryIndex(space, Objectives.parse({"y": "min"}), pruned_last=True)
        >>> index.update(Trial(0, TrialState.COMPLETE, {"x": 0.25}, values={"y": 1.0}))
        >>> index.update(Trial(1, TrialState.RUNNING, {"x": 0.75}))
        >>> h = index.history()
        >>> h.X.tolist(), h.Y.tolist(), h.X_pending.tolist(), h.n_trials
        ([[0.25]], [[1.0]], [[0.75]], 2)
    """

    def __init__(self, space: Space, objectives: Objectives, pruned_last: bool) -> None:
        self.space = space
        self.names = objectives.metric_names
        self.pruned_last = pruned_last
        d, k = space.dim, len(self.names)
        self._done = _Rows(d, k)
        self._pruned = _Rows(d, k)
        self._pending: dict[int, list[float]] = {}
        self._units: dict[int, list[float]] = {}
        self.n_trials = 0
        # the driver asks several times per change (is a model due? then the proposal)
        self._built: History | None = None

    def update(self, trial: Trial, curve: Sequence[tuple[float, Mapping[str, float]]] = ()) -> None:
        """Take a trial's new snapshot into account.

        Args:
            trial: the snapshot.
            curve: for a PRUNED trial, its reports ``(step, metrics)`` in step order: the last
                one that has every metric stands in for the result it never returned.
        """
        n = trial.number
        self._built = None
        self.n_trials = max(self.n_trials, n + 1)
        x = self._unit(trial)
        self._pending.pop(n, None)
        self._done.discard(n)
        self._pruned.discard(n)
        values = trial.values or {}
        if is_rerun(trial):  # a seed re-run of a known point: nothing new for the search
            return
        if trial.state in _PENDING:
            self._pending[n] = x
        elif trial.state is TrialState.COMPLETE and all(m in values for m in self.names):
            self._done.put(n, x, [float(values[m]) for m in self.names])
        elif trial.state is TrialState.PRUNED and self.pruned_last:
            for _, metrics in reversed(curve):
                if all(m in metrics for m in self.names):
                    self._pruned.put(n, x, [float(metrics[m]) for m in self.names])
                    break

    def history(self) -> History:
        """The optimizer's input: completed then pruned rows, pending points by number (the
        same object until the next update; optimizers do not modify their input)."""
        if self._built is None:
            X = np.vstack([self._done.X, self._pruned.X])
            Y = np.vstack([self._done.Y, self._pruned.Y])
            pending = [self._pending[n] for n in sorted(self._pending)]
            Xp = np.array(pending, dtype=float).reshape(-1, self.space.dim)
            self._built = History(X, Y, Xp, self.n_trials)
        return self._built

    def _unit(self, trial: Trial) -> list[float]:
        u = self._units.get(trial.number)
        if u is None:  # params never change: encode each trial once
            u = self._units[trial.number] = self.space.to_unit(trial.params)
        return u
