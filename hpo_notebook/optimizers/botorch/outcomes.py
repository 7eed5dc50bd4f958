"""Robust outcome preprocessing before the GP sees the data.

A diverged training run can report a loss 10^4 times the typical one. A GP with standardized
outcomes then spends its whole output scale on that one point: every other observation looks
equally good, the model is flat where it matters, and proposals degrade to random ones. Ax
guards against this with winsorization (and a log-like transform); so do we.

:func:`winsorize_bad_tail` clips each objective's *bad* tail (low values, in the maximization
frame) at Tukey's lower fence, ``q25 - 1.5 * IQR``. Only values that are both outliers and
worse than anything the hypervolume counts are clipped: the fence never lies above the
reference point, nor above an outcome-constraint bound on the same column, so clipping moves
no point across a threshold or a constraint and changes no hypervolume improvement. The good
tail is never touched: the best observations are what the search is about.

Example:
    >>> import torch
    >>> Y = torch.tensor([[1.0], [2.0], [3.0], [4.0], [-1e4]], dtype=torch.float64)
    >>> winsorize_bad_tail(Y, 1, ref_point=[0.0])[:, 0].tolist()
    [1.0, 2.0, 3.0, 4.0, -2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

#: Tukey's fence multiplier (1.5: "outlier"; 3: "far out").
FENCE = 1.5


def bad_tail_fences(
    Y: Tensor,
    n_objectives: int,
    ref_point: Sequence[float] | None = None,
    lower_bounds: Sequence[Sequence[float]] | None = None,
) -> list[float | None]:
    """The clipping value of each objective column (None: leave the column alone).

    Args:
        Y: ``n x k`` outcomes, the first ``n_objectives`` columns objectives in the
            maximization frame.
        ref_point: the hypervolume reference point (maximization frame), if known.
        lower_bounds: per objective, the values it must stay at or above by an outcome
            constraint on the same metric (maximization frame).
    """
    fences: list[float | None] = []
    for j in range(n_objectives):
        col = Y[:, j]
        col = col[torch.isfinite(col)]
        if len(col) < 4:
            fences.append(None)
            continue
        q25, q75 = torch.quantile(col, torch.tensor([0.25, 0.75], dtype=col.dtype)).tolist()
        iqr = q75 - q25
        if not iqr > 0:
            fences.append(None)
            continue
        fence = q25 - FENCE * iqr
        # keep every point whose place relative to the reference point or a bound matters
        limits = [ref_point[j]] if ref_point is not None else []
        limits += list(lower_bounds[j]) if lower_bounds is not None else []
        for limit in limits:
            fence = min(fence, float(limit) - iqr)
        fences.append(fence)
    return fences


def winsorize_bad_tail(
    Y: Tensor,
    n_objectives: int,
    ref_point: Sequence[float] | None = None,
    lower_bounds: Sequence[Sequence[float]] | None = None,
) -> Tensor:
    """``Y`` with each objective's outliers on the bad side clipped (see the module doc)."""
    fences = bad_tail_fences(Y, n_objectives, ref_point, lower_bounds)
    if all(f is None for f in fences):
        return Y
    out = Y.clone()
    for j, fence in enumerate(fences):
        if fence is not None:
            out[:, j] = out[:, j].clamp(min=fence)
    return out
