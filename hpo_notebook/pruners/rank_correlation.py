"""Is the early metric a good guide? Rank correlation between the values at a rung and at the end.

A pruner that stops trials at step ``s`` bets that the order of the trials at ``s`` is the
order they would finish in. Among the trials that ran to the end, the Spearman rank
correlation between each one's value at ``s`` (its first report at or after ``s``, as ASHA
reads a rung) and its final value measures that bet: near 1 the early order holds; near 0 or
below, curves cross and pruning at ``s`` throws away trials that would have won.

The trials that ran to the end are those the pruner let through, a narrower spread than all
trials, which lowers the figure: read a low value as "the survivors' order changed after
``s``", which is the case where pruning there is a gamble.

Example:
    >>> curves = {
    ...     0: [(1, {"loss": 0.9}), (9, {"loss": 0.1})],
    ...     1: [(1, {"loss": 0.5}), (9, {"loss": 0.3})],
    ...     2: [(1, {"loss": 0.2}), (9, {"loss": 0.6})],
    ... }
    >>> final = {t: c[-1][1] for t, c in curves.items()}
    >>> [c] = rank_correlations(curves, final, steps=[1], metrics=["loss"])
    >>> c.step, c.n, round(c.spearman, 2)
    (1, 3, -1.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: Below this rank correlation, pruning at the step is a gamble.
GAMBLE_BELOW = 0.5
#: Trials that ran to the end needed before a figure is judged (fewer: too noisy to warn).
MIN_TRIALS = 8


@dataclass(frozen=True)
class RankCorrelation:
    """How well the values of ``metric`` at ``step`` predict the final values.

    Attributes:
        step: the rung step.
        metric: the reported metric.
        n: trials that ran to the end and reported ``metric`` at or after ``step``.
        spearman: Spearman rank correlation (NaN with fewer than 3 trials or constant values).
    """

    step: float
    metric: str
    n: int
    spearman: float

    @property
    def gamble(self) -> bool:
        """True when enough trials show the early order does not hold (see the module doc)."""
        return self.n >= MIN_TRIALS and self.spearman < GAMBLE_BELOW

    def message(self) -> str:
        """One sentence naming the step and the figure."""
        return (
            f"pruning at step {self.step:g} is a gamble: the rank correlation between "
            f"{self.metric} there and at the end is {self.spearman:.2f} over {self.n} trials "
            f"that ran to the end (below {GAMBLE_BELOW}: curves cross after step "
            f"{self.step:g}); consider a later first rung (grace) or fewer rungs"
        )


def _spearman(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def rank_correlations(
    curves: Mapping[int, Sequence[tuple[float, Mapping[str, float]]]],
    final: Mapping[int, Mapping[str, float]],
    steps: Iterable[float],
    metrics: Iterable[str],
) -> list[RankCorrelation]:
    """The rank correlation at each step for each metric.

    Args:
        curves: each trial's ``(step, metrics)`` reports in step order.
        final: the final values of the trials that ran to the end (others are left out).
        steps: the rung steps to judge.
        metrics: the metrics to judge.
    """
    out = []
    metrics = list(metrics)
    for step in steps:
        for name in metrics:
            early, late = [], []
            for trial, end in final.items():
                v_end = end.get(name)
                at = next((m for s, m in curves.get(trial, ()) if s >= step), None)
                if at is None or name not in at or v_end is None:
                    continue
                v = float(at[name])
                if math.isfinite(v) and math.isfinite(float(v_end)):
                    early.append(v)
                    late.append(float(v_end))
            out.append(RankCorrelation(step, name, len(early), _spearman(early, late)))
    return out
