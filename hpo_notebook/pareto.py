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


def hypervolume_history(
    Y: Sequence[Sequence[float]] | np.ndarray, ref_point: Sequence[float]
) -> list[float]:
    """Hypervolume of the first ``k`` rows, for every ``k`` (incremental).

    A row that is dominated by the current front leaves the value unchanged and costs one
    comparison; only rows that enter the front trigger a recomputation on the front alone.
    """
    arr = np.asarray(Y, dtype=np.float64)
    ref = np.asarray(list(ref_point), dtype=np.float64)
    out: list[float] = []
    front = np.empty((0, len(ref)))
    hv = 0.0
    for y in arr:
        useful = bool(np.all(y > ref))
        if useful and front.size:
            dominated = np.any(np.all(front >= y, axis=1))
            useful = not dominated
        if useful:
            front = np.vstack([front, y])
            front = front[non_dominated_mask(front)]
            hv = hypervolume(front, ref)
        out.append(hv)
    return out
