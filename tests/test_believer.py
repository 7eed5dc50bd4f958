"""qLogEHVI against the mean front with believed pending points (``subset_front="mean"``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.acquisition.multi_objective.logei import qLogExpectedHypervolumeImprovement
from botorch.models import SingleTaskGP
from botorch.sampling import SobolQMCNormalSampler

from hpo_notebook.optimizers import History
from hpo_notebook.optimizers.botorch import BoTorchOptimizer
from hpo_notebook.optimizers.botorch.believer import BelieverLogEHVI
from hpo_notebook.optimizers.botorch.boxes import ExactPartitioning
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings
from tests.test_model_subset import OBJS, SPACE, _history

D = torch.float64


def _model(n: int = 30, seed: int = 0) -> tuple[SingleTaskGP, torch.Tensor]:
    X = torch.rand(n, 2, dtype=D, generator=torch.Generator().manual_seed(seed))
    Y = torch.stack([X[:, 0] - X[:, 1] ** 2, -X[:, 0] + 0.5 * X[:, 1]], -1)
    return SingleTaskGP(X, Y), X


def _sampler() -> SobolQMCNormalSampler:
    return SobolQMCNormalSampler(torch.Size([32]), seed=0)


REF = torch.tensor([-1.5, -1.5], dtype=D)


def test_without_pending_points_it_is_qlogehvi_on_the_front_of_the_means():
    model, X = _model()
    with torch.no_grad():
        mean = model.posterior(X).mean
    plain = qLogExpectedHypervolumeImprovement(
        model, REF, ExactPartitioning(ref_point=REF, Y=mean), sampler=_sampler()
    )
    ours = BelieverLogEHVI(model, REF, X, sampler=_sampler())
    Xc = torch.rand(16, 1, 2, dtype=D, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(ours(Xc), plain(Xc))


def test_a_pending_point_joins_the_front_at_its_mean_and_is_no_longer_an_improvement():
    model, X = _model()
    acq = BelieverLogEHVI(model, REF, X, sampler=_sampler())
    grid = torch.rand(256, 1, 2, dtype=D, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        x_new = grid[acq(grid).argmax()].unsqueeze(0)  # the most promising of 256 points
        before = acq(x_new)
    acq.set_X_pending(x_new[0])
    assert acq.X_pending is None  # believed: not evaluated jointly with each candidate
    with torch.no_grad():
        after = acq(x_new)
    assert float(after) < float(before) - 0.3, (before, after)  # 26% less improvement
    # exactly qLogEHVI against the front with that point's mean added
    with torch.no_grad():
        Y = model.posterior(torch.cat([X, x_new[0]])).mean
    plain = qLogExpectedHypervolumeImprovement(
        model, REF, ExactPartitioning(ref_point=REF, Y=Y), sampler=_sampler()
    )
    with torch.no_grad():
        assert torch.allclose(after, plain(x_new))
        acq.set_X_pending(None)  # back to the front of the observations
        assert torch.allclose(acq(x_new), before)


def test_pending_points_the_constraints_call_infeasible_do_not_join_the_front():
    model, X = _model()
    # feasible where the first outcome is at most 0.2 (BoTorch's sign: <= 0 is feasible)
    cons = [lambda Z: Z[..., 0] - 0.2]
    acq = BelieverLogEHVI(model, REF, X, sampler=_sampler(), objective=None, constraints=cons)
    boxes = acq.cell_lower_bounds.shape[0]
    with torch.no_grad():
        hi = model.posterior(torch.tensor([[0.95, 0.05]], dtype=D)).mean[0, 0]
    assert hi > 0.2  # so this pending point is believed infeasible
    acq.set_X_pending(torch.tensor([[0.95, 0.05]], dtype=D))
    assert acq.cell_lower_bounds.shape[0] == boxes


@pytest.mark.slow
@pytest.mark.parametrize("m", [2, 3])
def test_on_the_subset_the_mean_front_proposes_away_from_running_trials(m):
    """Past ``subset_size`` with ``subset_front="mean"``: qLogEHVI over the front of many
    points, valid proposals that are not the running trials, recorded as such."""
    h = _history(300, pending=6)
    objs = OBJS
    if m == 3:
        from hpo_notebook.objectives import Objectives

        objs = Objectives.parse({"f0": "min", "f1": "min", "f2": "min"})
        h = History(h.X, np.c_[h.Y, h.X[:, 2]], h.X_pending, h.n_trials)
    settings = OptimizeSettings(subset_size=48, subset_front="mean")
    s = BoTorchOptimizer(settings=settings).suggest(SPACE, objs, h, n=4, seed=1)
    assert {p.kind for p in s.proposals} == {"qLogEHVI-subset"}
    info = s.proposals[0].info
    assert info["n_model"] == 48 and info["n_pending"] == 6
    assert 48 < info["n_front"] <= 300  # the front of many more points than the model saw
    X = np.array([SPACE.to_unit(p.params) for p in s.proposals])
    gaps = np.abs(X[:, None, :] - h.X_pending[None]).max(axis=-1)
    assert gaps.min() > 1e-3  # none repeats a running trial
    if m == 2:  # and they head for the front (x1 = x2 = 0.3), as the sampled path's do
        dist = np.sqrt(((X[:, 1:] - 0.3) ** 2).sum(axis=1))
        assert (dist < 0.1).sum() >= 3, dist


def test_subset_front_is_validated():
    with pytest.raises(ValueError, match=r"subset_front='exact'.*'sampled', 'mean'"):
        OptimizeSettings(subset_front="exact")
