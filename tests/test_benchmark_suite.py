"""The benchmark suite's scoring and method parsing (the runs themselves are benchmarks)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import suite, suite_methods
from benchmarks.suite_problems import PROBLEMS, log_gap


def _row(method: str, problem: str, seed: int, hv: list[float]) -> dict:
    return {"method": method, "problem": problem, "seed": seed, "hv": hv}


def test_summary_scores_gaps_and_evaluations_to_ninety_percent():
    max_hv = PROBLEMS["BraninCurrin"]().max_hv
    a = [0.0] * 47 + [0.5 * max_hv] * 52 + [0.99 * max_hv]
    b = [0.0] * 9 + [0.95 * max_hv] * 91
    table = suite.summarize(
        [
            _row("A", "BraninCurrin", 0, a),
            _row("B", "BraninCurrin", 0, b),
            {"method": "C", "problem": "BraninCurrin", "seed": 0, "error": "boom"},
        ]
    )
    lines = table.splitlines()
    gap48 = next(line for line in lines if line.startswith("| BraninCurrin"))
    assert f"{log_gap(max_hv, 0.5 * max_hv):.2f} (1)" in gap48
    assert f"**{log_gap(max_hv, 0.95 * max_hv):.2f} (1)**" in gap48  # the winner in bold
    reach = [line for line in lines if line.startswith("| BraninCurrin")][-1]
    # 90% of the best any run reached (0.99): A at its 100th evaluation, B at its 10th
    assert reach == "| BraninCurrin | 100 | 10 |"
    assert "BraninCurrin / C / seed 0: boom" in table


def test_a_mean_over_fewer_problems_is_marked_as_such():
    hv = [1.0] * 100
    table = suite.summarize(
        [
            _row("A", "BraninCurrin", 0, hv),
            _row("A", "ZDT1-4", 0, hv),
            _row("B", "ZDT1-4", 0, hv),
        ]
    )
    mean = next(line for line in table.splitlines() if line.startswith("| **mean**"))
    a, b = (c.strip() for c in mean.split("|")[2:4])
    assert "of" not in a and b.endswith("(1 of 2)")


def test_variants_name_optimizer_settings_and_unknown_ones_are_refused():
    opt = suite_methods._our_optimizer("ours q=4 acq=qLogEHVI n_initial=8 warm=0 num_restarts=6")
    assert (opt.name, opt.n_initial, opt.warm_start) == ("qLogEHVI", 8, False)
    assert opt.settings.num_restarts == 6
    assert suite_methods._our_optimizer("ours q=4") == "qLogNEHVI"
    with pytest.raises(ValueError, match="unknown settings \\['restarts'\\]"):
        suite_methods._our_optimizer("ours q=4 restarts=6")
    exact = suite_methods._our_optimizer("ours q=8 subset_size=none subset_baseline=16")
    assert exact.settings.subset_size is None and exact.settings.subset_baseline == 16
    # fields that may be None take their type from the annotation, not the default
    hedge = suite_methods._our_optimizer("ours q=4 hedge_max_observations=100 device=cpu")
    assert (hedge.settings.hedge_max_observations, hedge.settings.device) == (100, "cpu")


@pytest.mark.slow
def test_every_problem_evaluates_and_scores_its_centre():
    rng = np.random.default_rng(0)
    for name, make in PROBLEMS.items():
        if name == "SGD-digits":  # trains a model: covered by its own smoke run
            continue
        p = make()
        centre = p.space.from_unit([0.5] * p.space.dim)
        observed = p.evaluate(centre, rng)
        assert set(p.objectives) <= set(observed), name
        assert all(math.isfinite(v) for v in p.truth(centre).values()), name
        assert p.max_hv > 0 or math.isnan(p.max_hv), name
