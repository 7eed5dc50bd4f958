"""ExactPartitioning computes BoTorch's exact box decompositions, box for box."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from botorch.acquisition.multi_objective import logei as _logei
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.models import SingleTaskGP
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
)

from hpo_notebook.optimizers.botorch._kernel import ensure_nonblocking
from hpo_notebook.optimizers.botorch.boxes import ExactPartitioning, _Batch, log_nehvi

DT = torch.float64


def _outcomes(n: int, m: int, seed: int) -> torch.Tensor:
    """Half the points on a sphere (mutually non-dominated), half inside it (dominated),
    a few worse than the reference point in some objective, and one duplicate."""
    g = torch.Generator().manual_seed(seed)
    Y = torch.rand(n, m, generator=g, dtype=DT) + 0.05
    Y[: n // 2] /= Y[: n // 2].norm(dim=-1, keepdim=True)
    Y[n // 2 :] *= 0.5
    if n >= 4:
        Y[-1] = Y[0]
        Y[-2, 0] = -1.0
    return Y


@pytest.mark.slow
@pytest.mark.parametrize("m", [3, 4, 5])
@pytest.mark.parametrize("n", [0, 1, 2, 9, 40])
def test_same_boxes_as_botorch(m: int, n: int) -> None:
    Y = _outcomes(n, m, seed=10 * m + n)
    ref = torch.full((m,), 0.1, dtype=DT)
    ours = ExactPartitioning(ref_point=ref, Y=Y)
    theirs = FastNondominatedPartitioning(ref_point=ref, Y=Y)
    assert torch.equal(ours.get_hypercell_bounds(), theirs.get_hypercell_bounds())
    assert float(ours.compute_hypervolume()) == pytest.approx(
        float(theirs.compute_hypervolume()), rel=1e-12
    )
    if n >= 9:
        assert ours.get_hypercell_bounds().shape[1] > n // 2  # a real decomposition, not one box


def test_known_hypervolume_and_incremental_update() -> None:
    ref = torch.zeros(3, dtype=DT)
    boxes = ExactPartitioning(ref_point=ref, Y=torch.tensor([[1.0, 2.0, 0.5]], dtype=DT))
    assert float(boxes.compute_hypervolume()) == pytest.approx(1.0)
    # (2, 1, 1) adds 2 and shares a 1 x 1 x 0.5 box with the first: 2.5 in all
    boxes.update(torch.tensor([[2.0, 1.0, 1.0]], dtype=DT))
    assert float(boxes.compute_hypervolume()) == pytest.approx(2.5)
    fresh = FastNondominatedPartitioning(
        ref_point=ref, Y=torch.tensor([[1.0, 2.0, 0.5], [2.0, 1.0, 1.0]], dtype=DT)
    )
    assert torch.equal(boxes.get_hypercell_bounds(), fresh.get_hypercell_bounds())


def test_partitionings_of_one_batch_are_decomposed_together() -> None:
    ref = torch.full((3,), 0.1, dtype=DT)
    fronts = [_outcomes(n, 3, seed=n) for n in (30, 7, 12, 18)]
    batch = _Batch()
    ours = [ExactPartitioning(ref_point=ref, Y=Y, batch=batch) for Y in fronts]
    assert len(batch.members) == 4 and all(p.hypercell_bounds is None for p in ours)
    first = ours[2].get_hypercell_bounds()  # the first use decomposes all four
    assert not batch.members and all(p.hypercell_bounds is not None for p in ours)
    for p, Y in zip(ours, fronts, strict=True):
        theirs = FastNondominatedPartitioning(ref_point=ref, Y=Y)
        assert torch.equal(p.get_hypercell_bounds(), theirs.get_hypercell_bounds())
    assert torch.equal(first, ours[2].get_hypercell_bounds())
    # after the batch, an update works on the partitioning alone
    extra = torch.tensor([[0.9, 0.9, 0.9]], dtype=DT)
    ours[1].update(extra)
    theirs = FastNondominatedPartitioning(ref_point=ref, Y=torch.cat([fronts[1], extra]))
    assert float(ours[1].compute_hypervolume()) == pytest.approx(
        float(theirs.compute_hypervolume()), rel=1e-12
    )


def test_two_objectives_take_botorchs_path() -> None:
    Y = _outcomes(12, 2, seed=3)
    ref = torch.zeros(2, dtype=DT)
    assert torch.equal(
        ExactPartitioning(ref_point=ref, Y=Y).get_hypercell_bounds(),
        FastNondominatedPartitioning(ref_point=ref, Y=Y).get_hypercell_bounds(),
    )


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.slow
def test_log_nehvi_values_match_botorch_with_pending_points(constrained: bool) -> None:
    ensure_nonblocking()
    g = torch.Generator().manual_seed(0)
    X = torch.rand(24, 4, generator=g, dtype=DT)
    Y = torch.stack([X[:, 0], 1 - X[:, 0] ** 2, (X[:, 1:] - 0.5).pow(2).sum(-1).neg()], -1)
    model = SingleTaskGP(X, Y)
    ref = Y.min(dim=0).values - 0.1
    X_pending = torch.rand(2, 4, generator=g, dtype=DT)

    def build(make: Callable[..., Any]) -> Any:
        torch.manual_seed(1)  # prune_baseline draws unseeded samples: the same for both
        return make(
            model,
            ref_point=ref,
            X_baseline=X,
            sampler=SobolQMCNormalSampler(torch.Size([16]), seed=5),
            X_pending=X_pending,  # max_iep=0: the pending point's boxes are recomputed
            prune_baseline=True,
            cache_root=True,
            max_iep=0,
            # infeasible samples leave each MC sample a front of its own size
            constraints=[lambda Z: 0.3 - Z[..., 0]] if constrained else None,
        )

    ours = build(log_nehvi)
    theirs = build(qLogNoisyExpectedHypervolumeImprovement)
    assert ours.p_class.func is ExactPartitioning
    assert torch.equal(ours.cell_lower_bounds, theirs.cell_lower_bounds)
    assert torch.equal(ours.cell_upper_bounds, theirs.cell_upper_bounds)
    assert ours.cell_lower_bounds.shape[-2] > 20  # boxes of a real front, per MC sample
    Xq = torch.rand(7, 1, 4, generator=g, dtype=DT)
    with torch.no_grad():
        assert torch.allclose(ours(Xq), theirs(Xq), rtol=1e-10, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("fused", [True, False])
def test_screening_uses_the_first_samples_and_their_boxes(
    fused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the first 8 of 16 scrambled Sobol base samples are the 8 an 8-sample sampler draws, so
    # a 16-sample acquisition screening on 8 must give an 8-sample acquisition's values, with
    # BoTorch's fused kernel and without it (before it loads, on a GPU): a study's
    # proposals must not depend on when the kernel loaded
    ensure_nonblocking()
    if not fused:
        monkeypatch.setattr(_logei, "_C", None)
    g = torch.Generator().manual_seed(0)
    X = torch.rand(24, 4, generator=g, dtype=DT)
    Y = torch.stack([X[:, 0], 1 - X[:, 0] ** 2], -1)
    model = SingleTaskGP(X, Y)
    ref = Y.min(dim=0).values - 0.1
    X_pending = torch.rand(2, 4, generator=g, dtype=DT)

    def build(make: Callable[..., Any], n: int) -> Any:
        torch.manual_seed(1)
        return make(
            model,
            ref_point=ref,
            X_baseline=X,
            sampler=SobolQMCNormalSampler(torch.Size([n]), seed=5),
            X_pending=X_pending,
            prune_baseline=True,
            cache_root=True,
            max_iep=0,
        )

    ours, eight = build(log_nehvi, 16), build(qLogNoisyExpectedHypervolumeImprovement, 8)
    Xq = torch.rand(7, 1, 4, generator=g, dtype=DT)
    with torch.no_grad():
        full = ours(Xq)
        with ours.screening(8):
            screened = ours(Xq)
        after = ours(Xq)
        expected = eight(Xq)
    assert torch.allclose(screened, expected, rtol=1e-10, atol=1e-12)
    assert (screened - full).abs().max() > 1e-3  # fewer samples: other values
    assert torch.allclose(after, full, rtol=1e-10)  # leaving it restores all samples
