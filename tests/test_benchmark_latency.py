"""The suggestion-latency benchmark's histories and table (the timing itself is the
benchmark's job, not a test's)."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks import suggest_latency as L


def test_front_histories_put_half_the_points_near_the_pareto_set():
    for m in (2, 3):
        X = L.observations(200, m, seed=1, history="front")
        assert X.shape == (200, 6) and (X >= 0).all() and (X <= 1).all()
        # DTLZ2's Pareto set: the distance inputs (from m-1 on) at 0.5
        near = (np.abs(X[:, m - 1 :] - 0.5) < 0.2).all(axis=1).sum()
        sobol = L.observations(200, m, seed=1)
        near_sobol = (np.abs(sobol[:, m - 1 :] - 0.5) < 0.2).all(axis=1).sum()
        assert near >= 95 and near_sobol < 20, (near, near_sobol)
        _, objs, h, problem = L._history(X, m)
        assert h.Y.shape == (200, m) and objs.n == m
        assert torch.allclose(problem(torch.tensor(X[:3])), torch.tensor(h.Y[:3]))


def test_the_table_has_a_row_per_size_and_batch_with_medians_and_blank_peers():
    rows = [
        {"objectives": 2, "n_obs": 200, "q": 4, "seed": s, "ours warm": w, "Ax": a}
        for s, (w, a) in enumerate([(1.0, 5.0), (3.0, 7.0), (2.0, 6.0)])
    ]
    rows.append({"objectives": 2, "n_obs": 5000, "q": 4, "seed": 0, "ours warm": 4.0})
    table = L.summarize(rows).splitlines()
    assert table[0] == "| objectives | observations | q | ours warm | Ax |"
    assert table[2] == "| 2 | 200 | 4 | 2.00 | 6.00 |"
    assert table[3] == "| 2 | 5000 | 4 | 4.00 |  |"
