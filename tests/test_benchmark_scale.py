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


def test_utilization_by_windows_of_trials():
    got = scale.utilization(60, 4, optimizer="sobol", window=20)
    assert got["complete"] == 60 and not got["stopped_by_budget"]
    assert [w["trials"] for w in got["windows"]] == ["1-20", "21-40", "41-60"]
    # quasi-random proposals cost nothing on the virtual clock: every slot is busy until the
    # last wave, whose trials end at different times
    assert [w["utilization"] for w in got["windows"][:2]] == [1.0, 1.0]
    assert 0.5 < got["windows"][2]["utilization"] <= 1.0
    assert all(w["proposal_s_mean"] is None for w in got["windows"])  # no model proposals
    assert "| 21-40 |" in scale.render({"utilization": got})


def test_a_real_time_budget_stops_part_b():
    got = scale.utilization(10_000, 4, optimizer="sobol", real_budget_s=0.5)
    assert got["stopped_by_budget"] and got["complete"] < 10_000
    assert "real-time budget" in scale.render({"utilization": {**got, "command": ""}})


def test_big_cluster_part_scores_the_front_it_found():
    got = scale.big_cluster(64, 8, "sobol", window=32)
    assert got["complete"] == 64 and got["utilization"] > 0.99  # quasi-random costs nothing
    # 64 quasi-random DTLZ2 points find about a third of the optimal hypervolume (0.42)
    assert -1.0 < got["log10_gap"] < -0.3
    text = scale.render({"big_cluster": {"command": "c", "runs": {"sobol": got}}})
    assert "## d. A big cluster: 64 DTLZ2 trials of 60 s, 8 workers" in text
    assert f"| log10 hypervolume gap at the end | {got['log10_gap']} |" in text
