"""The pruning oracle's bound is exact (benchmarks/pruning_oracle.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.pruning_oracle import best_hypervolumes, oracle
from hpo_notebook.pareto import hypervolume


def _hv_min(points: np.ndarray, ref: list[float]) -> float:
    return hypervolume(-np.asarray(points), [-r for r in ref])  # maximization frame


@pytest.mark.parametrize("seed", range(5))
def test_best_hypervolumes_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.random((9, 2))
    points[0] = [1.5, 0.1]  # beyond the reference point: counts for nothing
    ref = [1.1, 1.2]
    got = best_hypervolumes(points, ref)
    assert got == sorted(got) and len(got) <= 9
    for c, value in enumerate(got, start=1):
        brute = max(_hv_min(points[list(s)], ref) for s in itertools.combinations(range(9), c))
        assert value == pytest.approx(brute, abs=1e-12)
    assert got[-1] == pytest.approx(_hv_min(points, ref))


def test_oracle_runs_the_fewest_trials_and_stops_the_rest_after_one_step() -> None:
    finals = np.array([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0], [2.5, 2.5]])  # hv 4, 5, 6 by size
    out = oracle(finals, [3.0, 3.0], max_steps=10, share=0.8)  # 0.8 * 6 = 4.8: two points
    assert (out["front"], out["needed"]) == (3, 2)
    assert out["saved"] == pytest.approx(1 - (2 * 10 + 2 * 1) / 40)
    assert out["saved_free"] == pytest.approx(0.5)
    assert oracle(finals, [3.0, 3.0], 10, share=1.0)["needed"] == 3
