"""The spot-market benchmark measures what it says (benchmarks/spot_market.py), small."""

from __future__ import annotations

import pytest

from benchmarks import spot_market


@pytest.mark.slow
def test_a_small_spot_market_counts_every_trial_once_and_bounds_the_loss():
    res = spot_market.run(trials=60, workers=8, half_life_s=3600.0, replace_after_s=300.0)
    assert res["counted_once"] and res["curves_unbroken"] and res["complete"] == 60
    assert res["preemptions_of_running_trials"] >= 5  # the market made itself felt
    assert 0 < res["lost_intervals_max"] <= 1.0  # at most one checkpoint interval each
    assert res["utilization_useful"] <= res["utilization"] <= 1.0
    assert res["utilization"] > 0.7
    assert "| trials complete, each counted once | 60 of 60 (yes) |" in spot_market.render(
        {**res, "command": "c", "when": "w"}
    )
