"""Shared multi-objective test problems and hypervolume-gap metrics for benchmarks.

Every benchmark in this folder uses the problems below in BoTorch's *maximized*
frame: they are built with ``negate=True``, so ``problem(X)`` returns the negated
objectives and ``problem.ref_point`` is already expressed in that frame. The
reported quality metric is the log10 hypervolume gap
``log10(max_hv - hv)`` of all points evaluated so far (lower is better), computed
on noiseless values with
:class:`~botorch.utils.multi_objective.box_decompositions.dominated.DominatedPartitioning`.

Example:
    >>> problem = PROBLEMS["BraninCurrin"]()
    >>> generator = torch.Generator().manual_seed(0)
    >>> X = torch.rand(8, problem.dim, generator=generator, dtype=torch.float64)
    >>> gap = log_hv_gap(problem, problem(X))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from botorch.test_functions.multi_objective import (
    DTLZ2,
    ZDT1,
    BraninCurrin,
    MultiObjectiveTestProblem,
)
from botorch.utils.multi_objective.box_decompositions.dominated import (
    DominatedPartitioning,
)

__all__ = [
    "GAP_FLOOR",
    "MAX_HV",
    "PROBLEMS",
    "gap_curve",
    "log_hv_gap",
]

#: Value returned by :func:`log_hv_gap` when the hypervolume gap is not positive
#: (or is smaller than ``10**GAP_FLOOR``). ``max_hv`` is itself a rounded/numerical
#: value, so a run that reaches the front can end up with ``hv >= max_hv`` and a
#: logarithm of a non-positive number; such runs are reported at this floor.
GAP_FLOOR: float = -8.0

#: Factories for the benchmark problems, all float64 and in the maximized frame.
PROBLEMS: dict[str, Callable[[], MultiObjectiveTestProblem]] = {
    "BraninCurrin": lambda: BraninCurrin(negate=True, dtype=torch.float64),
    "ZDT1": lambda: ZDT1(dim=4, negate=True, dtype=torch.float64),
    "DTLZ2": lambda: DTLZ2(dim=6, num_objectives=2, negate=True, dtype=torch.float64),
}

#: Problems only the latency benchmarks use (not in the sample-efficiency table).
TIMING_PROBLEMS: dict[str, Callable[[], MultiObjectiveTestProblem]] = {
    "DTLZ2x3": lambda: DTLZ2(dim=6, num_objectives=3, negate=True, dtype=torch.float64),
}


def _max_hv_table(
    factories: dict[str, Callable[[], MultiObjectiveTestProblem]],
) -> dict[str, float]:
    """Collects ``problem._max_hv`` for every problem that defines it.

    Args:
        factories: Mapping from problem name to a zero-argument factory.

    Returns:
        Mapping from problem name to its maximal achievable hypervolume with
        respect to ``problem.ref_point``; problems without ``_max_hv`` are left out.
    """
    table: dict[str, float] = {}
    for name, factory in factories.items():
        max_hv = getattr(factory(), "_max_hv", None)
        if max_hv is not None:
            table[name] = float(max_hv)
    return table


#: Best achievable hypervolume per problem, taken from ``problem._max_hv``
#: (BraninCurrin about 59.36, ZDT1(dim=4) about 120.67, DTLZ2(dim=6) about 0.4246).
MAX_HV: dict[str, float] = _max_hv_table(PROBLEMS)


def _hypervolume(problem: MultiObjectiveTestProblem, Y: torch.Tensor) -> float:
    """Computes the hypervolume dominated by ``Y`` with respect to the reference point.

    Args:
        problem: The test problem; its ``ref_point`` (maximized frame) is used.
        Y: ``n x m`` objective values in the maximized frame. ``n`` may be zero.

    Returns:
        The dominated hypervolume (0.0 for an empty ``Y``).
    """
    if Y.shape[0] == 0:
        return 0.0
    ref_point = problem.ref_point.to(Y)
    partitioning = DominatedPartitioning(ref_point=ref_point, Y=Y)
    return float(partitioning.compute_hypervolume())


def log_hv_gap(problem: MultiObjectiveTestProblem, Y: torch.Tensor) -> float:
    """Returns ``log10(max_hv - hv)`` for all points evaluated so far.

    Args:
        problem: A test problem built with ``negate=True`` that defines ``_max_hv``.
        Y: ``n x m`` noiseless objective values in the maximized frame, i.e. the
            output of ``problem(X)``, for every evaluation so far.

    Returns:
        The log10 hypervolume gap (lower is better). If the gap is not positive,
        or below ``10**GAP_FLOOR``, :data:`GAP_FLOOR` (-8.0) is returned instead.

    Raises:
        ValueError: If the problem has no known maximal hypervolume or ``Y`` is
            not a 2-D tensor with one column per objective.
    """
    max_hv = getattr(problem, "_max_hv", None)
    if max_hv is None:
        raise ValueError(f"{type(problem).__name__} does not define _max_hv.")
    if Y.ndim != 2 or Y.shape[-1] != problem.num_objectives:
        raise ValueError(f"Y must have shape n x {problem.num_objectives}, got {tuple(Y.shape)}.")
    gap = float(max_hv) - _hypervolume(problem, Y)
    if gap <= 0.0:
        return GAP_FLOOR
    return max(math.log10(gap), GAP_FLOOR)


def gap_curve(
    problem: MultiObjectiveTestProblem,
    Y: torch.Tensor,
    checkpoints: Iterable[int] = (16, 32, 48),
) -> dict[int, float]:
    """Evaluates :func:`log_hv_gap` on the first ``k`` evaluations for each checkpoint.

    Args:
        problem: The test problem (see :func:`log_hv_gap`).
        Y: ``n x m`` objective values in evaluation order (maximized frame).
        checkpoints: Evaluation counts at which to report the gap.

    Returns:
        Mapping from each checkpoint ``k`` to the log10 gap of ``Y[:k]``.

    Raises:
        ValueError: If a checkpoint is negative or exceeds the number of rows of
            ``Y`` (a run that stopped early must not silently report a gap).
    """
    curve: dict[int, float] = {}
    for k in checkpoints:
        if k < 0 or k > Y.shape[0]:
            raise ValueError(f"Checkpoint {k} outside the {Y.shape[0]} evaluations available.")
        curve[int(k)] = log_hv_gap(problem, Y[:k])
    return curve
