"""The scale benchmark measures what it says (benchmarks/scale.py), at a small size."""

from __future__ import annotations

import pytest

from benchmarks import scale


def test_driver_cost_accounts_for_every_trial_and_report(tmp_path):
    out = scale.driver_cost(150, 8)
    assert out["all_accounted"] and out["reports_made"] == out["reports_stored"] > 150
    counts = out["counts"]
    assert counts["COMPLETE"] + counts["PRUNED"] == 150 and counts["PRUNED"] > 50
    assert out["real_ms_per_trial"] > 0 and out["file_mb"] > 0


def test_speedup_of_quasi_random_proposals_is_near_linear():
    got = scale.speedup(120, [1, 4], "sobol")
    one, four = got["rows"]
    assert (one["complete"], four["complete"]) == (120, 120)
    # trial lengths come from the trial seeds: the same work on 1 and 4 workers
    assert four["speedup"] == pytest.approx(4.0, rel=0.1) and four["efficiency"] <= 1.0


def test_the_report_renders_every_part(tmp_path):
    results = {
        "driver_cost": scale.driver_cost(60, 4),
        "speedup": {"sobol": scale.speedup(40, [1, 2], "sobol")},
    }
    text = scale.render(results)
    assert "## a. Driver cost: 60 trials" in text and "## c. Speedup: 40 trials, sobol" in text
