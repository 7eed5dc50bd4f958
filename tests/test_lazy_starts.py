"""Starting points of later points of a sequential-greedy batch, screened lazily
(``candidates.LazyStarts``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch

from hpo_notebook.optimizers.botorch import candidates as C
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings

DT = torch.float64
BOUNDS = torch.stack([torch.zeros(3, dtype=DT), torch.ones(3, dtype=DT)])
OPTIONS = {"init_batch_limit": 50, "sample_around_best": False}


class _Bumps(torch.nn.Module):
    """A stand-in acquisition: a smooth landscape minus a dip around each pending point, so
    values only fall as points turn pending (as a hypervolume improvement does)."""

    def __init__(self) -> None:
        super().__init__()
        self.X_pending: torch.Tensor | None = None
        self.calls = 0

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        self.calls += X.shape[0]
        x = X[..., 0, :]
        value = torch.sin(6 * x).sum(-1) + x[..., 0]
        if self.X_pending is not None:
            d2 = ((x.unsqueeze(-2) - self.X_pending) ** 2).sum(-1)
            value = value - 3 * torch.exp(-d2 / 0.02).sum(-1)
        return value


def test_later_steps_reevaluate_a_chunk_and_find_the_same_best_point() -> None:
    torch.manual_seed(0)
    acq, lazy = _Bumps(), C.LazyStarts(chunk=16)
    starts = lazy(acq, BOUNDS, 1, 2, 200, None, OPTIONS)
    assert starts.shape == (2, 1, 3) and acq.calls == 200
    assert lazy.X is not None
    pending: list[torch.Tensor] = []
    for _ in range(5):
        # the step's pick: the best kept point (what the optimizer would refine)
        assert lazy.values is not None
        pending.append(lazy.X[int(lazy.values.argmax()), 0])
        acq.X_pending = torch.stack(pending)
        before = acq.calls
        starts = lazy(acq, BOUNDS, 1, 2, 200, None, OPTIONS)
        assert starts.shape == (2, 1, 3)
        assert 16 <= acq.calls - before < 200  # a chunk or a few, never all again
        # lazily, the best kept point is the true best under the new pending points
        full = acq(lazy.X)
        assert lazy.values is not None
        assert float(lazy.values.max()) == pytest.approx(float(full.max()), abs=1e-12)
    assert lazy.evaluated[0] == 200 and all(n < 200 for n in lazy.evaluated[1:])


def test_what_it_does_not_cover_goes_to_botorch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def botorch(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(kwargs)
        return torch.zeros(2, args[2], 3, dtype=DT)

    monkeypatch.setattr(C, "gen_batch_initial_conditions", botorch)
    lazy = C.LazyStarts()
    lazy(_Bumps(), BOUNDS, 2, 2, 20, None, OPTIONS)  # q > 1
    constraint = [(torch.tensor([0]), torch.tensor([1.0], dtype=DT), 0.1)]
    lazy(_Bumps(), BOUNDS, 1, 2, 20, None, OPTIONS, inequality_constraints=constraint)
    lazy(_Bumps(), BOUNDS, 1, 2, 20, None, OPTIONS, fixed_X_fantasies=torch.zeros(2, 3))
    assert len(calls) == 3 and lazy.X is None
    lazy(_Bumps(), BOUNDS, 1, 2, 20, None, OPTIONS, inequality_constraints=None)
    assert len(calls) == 3 and lazy.X is not None


def test_fixed_features_hold_in_every_start() -> None:
    torch.manual_seed(1)
    acq, lazy = _Bumps(), C.LazyStarts()
    for step in range(3):
        starts = lazy(acq, BOUNDS, 1, 3, 64, {1: 0.25}, OPTIONS)
        assert torch.all(starts[..., 1] == 0.25), step
        acq.X_pending = starts[0]


@pytest.mark.slow
def test_batches_of_a_real_model_screen_lazily_from_the_threshold_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """optimize_candidates: lazily for q >= lazy_screening_from_q, BoTorch's way below it
    and with None; the batch's points are distinct either way."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(20, 3, generator=g, dtype=DT)
    Y = torch.stack([X[:, 0], 1 - X[:, 0] ** 2 + 0.3 * X[:, 1]], -1)
    model, _ = C.fit_model(X, Y, (), None, 30)
    made: list[C.LazyStarts] = []
    real = C.LazyStarts

    def spy(**kwargs: Any) -> C.LazyStarts:
        made.append(real(**kwargs))
        return made[-1]

    monkeypatch.setattr(C, "LazyStarts", spy)
    dims = C.DimSpec(3)
    for q, threshold, lazy in ((4, 4, True), (3, 4, False), (4, None, False)):
        made.clear()
        acq = C.build_acquisition("qLogNEHVI", model, X, Y, 2, [-0.2, -0.2], mc_samples=16)
        settings = OptimizeSettings(raw_samples=32, lazy_screening_from_q=threshold)
        cand = C.optimize_candidates(acq, dims, q, settings)
        assert cand.shape == (q, 3)
        assert torch.cdist(cand, cand).add(torch.eye(q, dtype=DT)).min() > 1e-6
        assert bool(made) == lazy
        if lazy:
            assert made[0].evaluated[0] == 64 and max(made[0].evaluated[1:]) < 64


class _Screened(_Bumps):
    """Records the Monte-Carlo samples each evaluation was asked to use."""

    def __init__(self) -> None:
        super().__init__()
        self.mc: int | None = None
        self.seen: list[int | None] = []

    @contextmanager
    def screening(self, mc_samples: int | None) -> Iterator[None]:
        old, self.mc = self.mc, mc_samples
        try:
            yield
        finally:
            self.mc = old

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        self.seen.append(self.mc)
        return super().forward(X)


@pytest.mark.parametrize("lazy", [False, True])
def test_raw_points_are_screened_on_the_screening_samples(lazy: bool) -> None:
    torch.manual_seed(0)
    acq = _Screened()
    make = C._starts(OptimizeSettings(screening_mc_samples=4), lazy=lazy)
    assert make is not None
    for _ in range(3):  # three steps of a sequential batch
        starts = make(acq, BOUNDS, 1, 2, 64, None, OPTIONS)
        assert starts.shape == (2, 1, 3)
        acq.X_pending = starts[0]
    assert acq.seen and set(acq.seen) == {4}
    assert acq.mc is None  # and only while screening
    # without screening samples: BoTorch's own generator
    assert C._starts(OptimizeSettings(screening_mc_samples=None), lazy=False) is None


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "16"])
def test_screening_samples_are_validated(bad: Any) -> None:
    with pytest.raises(ValueError, match="screening_mc_samples"):
        OptimizeSettings(screening_mc_samples=bad)


@pytest.mark.parametrize("bad", [1, 0, True, 2.5, "4"])
def test_the_threshold_is_validated(bad: Any) -> None:
    with pytest.raises(ValueError, match="lazy_screening_from_q"):
        OptimizeSettings(lazy_screening_from_q=bad)
    assert OptimizeSettings(lazy_screening_from_q=None).lazy_screening_from_q is None
