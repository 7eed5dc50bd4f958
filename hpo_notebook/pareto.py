"""Pareto fronts, reference points and hypervolume: thin wrappers over BoTorch utilities.

All functions take objective values in the **maximization frame** (see
:meth:`hpo_notebook.objectives.Objectives.to_max_frame`) as an ``n x m`` array-like and
return plain NumPy / Python values. torch and BoTorch are imported on first use.

Example:
    >>> Y = [[1.0, 0.0], [0.0, 1.0], [-0.5, -0.5]]
    >>> non_dominated_mask(Y).tolist()
    [True, True, False]
    >>> hypervolume(Y, ref_point=[-1.0, -1.0])
    3.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _tensor(Y: Sequence[Sequence[float]] | np.ndarray):  # -> torch.Tensor
    import torch

    t = torch.as_tensor(np.asarray(Y, dtype=np.float64), dtype=torch.float64)
    return t.reshape(-1, t.shape[-1]) if t.numel() else t.reshape(0, max(1, t.shape[-1]))


def non_dominated_mask(Y: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``Y`` that no other row dominates (duplicates kept)."""
    arr = np.asarray(Y, dtype=np.float64)
    if arr.size == 0:
        return np.zeros(len(arr), dtype=bool)
    from botorch.utils.multi_objective.pareto import is_non_dominated

    return is_non_dominated(_tensor(arr), deduplicate=False).numpy()


def reference_point(
    Y: Sequence[Sequence[float]] | np.ndarray,
    thresholds: Sequence[float | None] | None = None,
) -> list[float]:
    """The hypervolume reference point, in the maximization frame.

    Known thresholds are used as they are (they define what is worth having); the other
    coordinates come from BoTorch's ``infer_reference_point`` (the nadir of the Pareto front
    less 10% of its range).

    Raises:
        ValueError: no data and not every threshold is known.
    """
    arr = np.asarray(Y, dtype=np.float64)
    m = arr.shape[1] if arr.ndim == 2 and arr.size else len(thresholds or [])
    ths = list(thresholds) if thresholds is not None else [None] * m
    if ths and all(t is not None for t in ths):
        return [float(t) for t in ths]  # type: ignore[arg-type]
    if arr.size == 0:
        raise ValueError("cannot infer a reference point without observations or thresholds")
    from botorch.utils.multi_objective.hypervolume import infer_reference_point

    front = _tensor(arr)[non_dominated_mask(arr)]
    inferred = infer_reference_point(front).tolist()
    return [float(t) if t is not None else r for t, r in zip(ths or [None] * m, inferred)]


def hypervolume(Y: Sequence[Sequence[float]] | np.ndarray, ref_point: Sequence[float]) -> float:
    """Hypervolume dominated by the rows of ``Y`` and bounded by ``ref_point``."""
    arr = np.asarray(Y, dtype=np.float64)
    if arr.size == 0:
        return 0.0
    import torch
    from botorch.utils.multi_objective.box_decompositions.dominated import (
        DominatedPartitioning,
    )

    ref = torch.as_tensor(list(ref_point), dtype=torch.float64)
    Yt = _tensor(arr)
    Yt = Yt[(Yt > ref).all(dim=-1)]
    if Yt.shape[0] == 0:
        return 0.0
    return float(DominatedPartitioning(ref_point=ref, Y=Yt).compute_hypervolume())


class HypervolumeTracker:
    """Hypervolume history kept up to date one observation at a time.

    An observation dominated by the current front costs one comparison; one that enters the
    front recomputes the hypervolume of the front alone. The history is rebuilt only when the
    reference point changes (an inferred reference point moves when the front's nadir does).

    Example:
        >>> tr = HypervolumeTracker([0.0, 0.0])
        >>> [tr.add(y) for y in ([1.0, 1.0], [0.5, 0.5], [2.0, 0.5])]
        [1.0, 1.0, 1.5]
    """

    def __init__(self, ref_point: Sequence[float]) -> None:
        self.ref = np.asarray(list(ref_point), dtype=np.float64)
        self.front = np.empty((0, len(self.ref)))
        self.history: list[float] = []
        self._ys: list[np.ndarray | None] = []

    @property
    def value(self) -> float:
        return self.history[-1] if self.history else 0.0

    def add(self, y: Sequence[float] | None) -> float:
        """Add one observation (maximization frame; None for one that counts for nothing,
        e.g. an infeasible or failed trial) and return the hypervolume so far."""
        arr = None if y is None else np.asarray(y, dtype=np.float64)
        self._ys.append(arr)
        useful = arr is not None and bool(np.all(arr > self.ref))
        if useful and self.front.size:
            useful = not bool(np.any(np.all(self.front >= arr, axis=1)))
        hv = self.value
        if useful:
            front = np.vstack([self.front, arr])
            self.front = front[non_dominated_mask(front)]
            hv = hypervolume(self.front, self.ref)
        self.history.append(hv)
        return hv

    def rebase(self, ref_point: Sequence[float]) -> None:
        """Use another reference point: the history is recomputed."""
        ref = np.asarray(list(ref_point), dtype=np.float64)
        if ref.shape == self.ref.shape and np.array_equal(ref, self.ref):
            return
        ys = self._ys
        self.__init__(ref)  # type: ignore[misc]
        for y in ys:
            self.add(y)


def hypervolume_history(
    Y: Sequence[Sequence[float]] | np.ndarray, ref_point: Sequence[float]
) -> list[float]:
    """Hypervolume of the first ``k`` rows, for every ``k`` (incremental, see
    :class:`HypervolumeTracker`)."""
    tracker = HypervolumeTracker(ref_point)
    for y in np.asarray(Y, dtype=np.float64):
        tracker.add(y)
    return tracker.history
