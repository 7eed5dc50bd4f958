"""The scale benchmark measures what it says (benchmarks/scale.py), at a small size."""

from __future__ import annotations

import pytest

from benchmarks import scale


@pytest.mark.slow
def test_driver_cost_accounts_for_every_trial_and_report(tmp_path):
    out = scale.driver_cost(150, 8)
    assert out["all_accounted"] and out["reports_made"] == out["reports_stored"] > 150
    counts = out["counts"]
    assert counts["COMPLETE"] + counts["PRUNED"] == 150 and counts["PRUNED"] > 50
    assert out["real_ms_per_trial"] > 0 and out["file_mb"] > 0


@pytest.mark.slow
def test_speedup_of_quasi_random_proposals_is_near_linear():
    got = scale.speedup(120, [1, 4], "sobol")
    one, four = got["rows"]
    assert (one["complete"], four["complete"]) == (120, 120)
    # trial lengths come from the trial seeds: the same work on 1 and 4 workers
    assert four["speedup"] == pytest.approx(4.0, rel=0.1) and four["efficiency"] <= 1.0


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_speedup_rows_are_saved_one_by_one_and_merge_with_earlier_runs(tmp_path):
    seen = []
    first = scale.speedup(40, [1], "sobol", on_row=lambda c: seen.append(len(c["rows"])))
    got = scale.speedup(40, [2, 4], "sobol", earlier=first["rows"], on_row=lambda c: None)
    assert seen == [1] and [r["workers"] for r in got["rows"]] == [1, 2, 4]
    # the speedup of a later run is taken against the 1-worker row of the earlier one
    assert got["rows"][2]["speedup"] == pytest.approx(4.0, rel=0.15)
    # busy share needs no 1-worker row: the trials' durations over workers x virtual time
    assert all(0.5 < r["busy_share"] <= 1.0 for r in got["rows"])


def test_a_speedup_run_stopped_by_its_budget_has_no_speedup(tmp_path):
    got = scale.speedup(100_000, [1], "sobol", real_budget_s=0.3)
    (row,) = got["rows"]
    assert row["complete"] < 100_000 and "speedup" not in row
    text = scale.render({"speedup": {"x": got}})
    assert "Stopped by its real-time budget" in text and f"{row['complete']:,} of 100,000" in text


def test_saving_keeps_what_another_run_saved_meanwhile(tmp_path):
    scale._save(tmp_path, {"speedup": {"sobol, 40 trials": scale.speedup(40, [1], "sobol")}})
    mine = {"speedup": {"qLogNEHVI, 40 trials": {"trials": 40, "optimizer": "q", "rows": []}}}
    scale._save(tmp_path, {**mine, "utilization": {"trials": 1}})
    now = scale._load(tmp_path)
    assert set(now["speedup"]) == {"sobol, 40 trials", "qLogNEHVI, 40 trials"}
    assert now["utilization"] == {"trials": 1}


def test_a_model_run_without_its_own_one_worker_row_is_measured_against_the_quasi_random_one():
    sobol = scale.speedup(40, [1], "sobol")
    model = {"trials": 40, "optimizer": "q", "rows": [
        {"workers": 4, "virtual_s": sobol["rows"][0]["virtual_s"] / 3.2, "complete": 40,
         "real_s": 1.0, "busy_share": 0.8}]}  # fmt: skip
    text = scale.render({"speedup": {"sobol, 40 trials": sobol, "q, 40 trials": model}})
    assert "| 3.20 \\*\\* | 4 | 0.8 | 0.8 |" in text
    assert "Against the 1-worker time of the quasi-random run of the same 40 trials" in text
