"""qLogNEHVI's work, done faster with the same numbers as BoTorch's: the pruning of the
baseline (``baseline.py``), the joint posterior that reuses the baseline's block and samples on
plain tensors (``joint.py``), and the hypervolume improvement of one new point (``boxes.py``)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from botorch.acquisition.multi_objective.utils import prune_inferior_points_multi_objective
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.utils.multi_objective.pareto import is_non_dominated
from gpytorch.kernels import MaternKernel, RBFKernel, ScaleKernel

from hpo_notebook.optimizers.botorch import candidates as C
from hpo_notebook.optimizers.botorch.baseline import non_dominated, prune_baseline
from hpo_notebook.optimizers.botorch.boxes import _LogNEHVI
from hpo_notebook.optimizers.botorch.joint import BaselinePosterior, _dense_kernel

DT = torch.float64


@pytest.mark.parametrize("m", [2, 3, 4])
def test_non_dominated_matches_botorch_with_ties_and_nan_rows(m: int) -> None:
    g = torch.Generator().manual_seed(m)
    for n in (1, 2, 5, 17, 40):
        Y = torch.randint(0, 4, (9, n, m), generator=g).to(DT)  # many ties and duplicates
        Y[0, 0] = float("nan")
        expected = is_non_dominated(Y, deduplicate=False)
        assert torch.equal(non_dominated(Y), expected), (m, n)
    assert not bool(non_dominated(Y)[0, 0])
    assert non_dominated(torch.zeros(3, 0, m, dtype=DT)).shape == (3, 0)


@pytest.mark.slow
def test_non_dominated_large_batches_match_botorchs_loop() -> None:
    # BoTorch switches to its loop here (more than 5 MB of pairwise comparisons)
    g = torch.Generator().manual_seed(0)
    for m in (2, 3):
        Y = torch.randn(300, 150, m, generator=g, dtype=DT)
        assert torch.equal(non_dominated(Y), is_non_dominated(Y, deduplicate=False))


def _model(n: int = 40, k: int = 2, d: int = 4, seed: int = 0, **kwargs: Any) -> Any:
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=DT)
    Y = torch.stack([X[:, 0], 1 - X[:, 0] ** 2, X[:, 1] - X[:, 2]][:k], -1)
    Y = Y + 0.05 * torch.randn(n, k, generator=g, dtype=DT)
    model = SingleTaskGP(X, Y, outcome_transform=Standardize(k), **kwargs)
    model.eval()
    return model, X, Y


@pytest.mark.slow
@pytest.mark.parametrize("constrained", [False, True])
def test_prune_baseline_keeps_botorchs_points(constrained: bool) -> None:
    model, X, _ = _model(k=3 if constrained else 2)
    ref = torch.tensor([-0.2, -0.2], dtype=DT)
    objective = C.IdentityMCMultiOutputObjective(outcomes=[0, 1]) if constrained else None
    cons = [lambda Z: Z[..., 2] - 0.1] if constrained else None
    torch.manual_seed(3)  # both draw an unseeded sampler's seed from torch's generator
    theirs = prune_inferior_points_multi_objective(
        model, X, ref, objective=objective, constraints=cons
    )
    torch.manual_seed(3)
    ours = prune_baseline(model, X, ref, objective=objective, constraints=cons)
    assert torch.equal(ours, theirs)
    assert 0 < len(ours) < len(X)


def _acquisitions(model: Any, X: Any, Y: Any, m: int, pending: Any, cons: Any) -> tuple[Any, Any]:
    ref = [-0.5] * m
    ours = C.build_acquisition("qLogNEHVI", model, X, Y, m, ref, cons, pending, 32, 0)
    theirs = C.build_acquisition("qLogNEHVI", model, X, Y, m, ref, cons, pending, 32, 0)
    # theirs: BoTorch's own method, model.posterior over baseline and new points each call
    theirs._compute_posterior_samples_and_concat_pending = super(
        _LogNEHVI, theirs
    )._compute_posterior_samples_and_concat_pending
    theirs._compute_log_qehvi = super(_LogNEHVI, theirs)._compute_log_qehvi
    return ours, theirs


def _same_values_and_gradients(ours: Any, theirs: Any, shape: tuple[int, ...]) -> None:
    g = torch.Generator().manual_seed(sum(shape))
    values, grads = [], []
    for acq in (ours, theirs):
        Xq = torch.rand(*shape, generator=g.manual_seed(7), dtype=DT).requires_grad_(True)
        value = acq(Xq)
        value.sum().backward()
        values.append(value.detach())
        grads.append(Xq.grad)
    # the same formula in another order: rounding, amplified by a triangular solve against
    # the baseline's Cholesky factor when a pending point lies near a baseline point
    assert torch.allclose(values[0], values[1], rtol=1e-7, atol=1e-9)
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("k", "m", "cat", "prior"),
    [
        (2, 2, False, "dim_scaled"),
        (2, 2, False, "gamma"),
        (3, 3, False, "dim_scaled"),
        (3, 2, True, "dim_scaled"),
        (2, 2, True, "dim_scaled"),
    ],
)
def test_joint_posterior_gives_botorchs_acquisition_values_and_gradients(
    k: int, m: int, cat: bool, prior: str
) -> None:
    """Objectives only (RBF and scaled Matern kernels), three objectives, a constrained
    metric, a categorical input."""
    g = torch.Generator().manual_seed(k + m)
    X = torch.rand(50, 4, generator=g, dtype=DT)
    if cat:
        X[:, 3] = torch.randint(0, 3, (50,), generator=g).to(DT)
    Y = torch.stack([X[:, 0], 1 - X[:, 0] ** 2, X[:, 1] * X[:, 2]][:k], -1)
    noisy = Y + 0.05 * torch.randn(Y.shape, generator=g, dtype=DT)
    model, _ = C.fit_model(X, noisy, [3] if cat else [], None, 30, prior=prior)
    cons = [C.OutcomeConstraint(2, 1.0, "<=", 0.2)] if k > m else []
    pending = torch.rand(2, 4, generator=g, dtype=DT)
    ours, theirs = _acquisitions(model, X, Y, m, pending, cons)
    # the later calls of each q sample on tensors; q=1 skips the inclusion-exclusion
    for shape in ((6, 2, 4), (6, 2, 4), (3, 2, 4), (6, 1, 4), (6, 1, 4)):
        _same_values_and_gradients(ours, theirs, shape)
    assert isinstance(getattr(ours, "_joint_posterior", None), BaselinePosterior)
    assert getattr(ours, "_laid_out", None) is not None


@pytest.mark.parametrize(
    "kernel",
    [
        RBFKernel(ard_num_dims=4, batch_shape=torch.Size([2])),
        *[
            ScaleKernel(
                MaternKernel(nu=nu, ard_num_dims=4, batch_shape=torch.Size([2])),
                batch_shape=torch.Size([2]),
            )
            for nu in (0.5, 1.5, 2.5)
        ],
    ],
)
def test_dense_kernels_match_gpytorchs_values_and_gradients(kernel: Any) -> None:
    g = torch.Generator().manual_seed(0)
    kernel = kernel.to(DT)
    with torch.no_grad():
        for p in kernel.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=DT))
    train = torch.rand(2, 30, 4, generator=g, dtype=DT)
    x = torch.rand(5, 1, 3, 4, generator=g, dtype=DT)
    x[0, 0, 1] = x[0, 0, 0]  # a repeated point: distance zero
    for x2 in (train, None):
        grads = []
        for dense in (
            lambda a, b: kernel(a, b).to_dense(),
            lambda a, b: _dense_kernel(kernel, a, b),
        ):
            xg = x.clone().requires_grad_(True)
            k = dense(xg, xg if x2 is None else x2)
            (k * torch.linspace(0, 1, k.shape[-1], dtype=DT)).sum().backward()
            grads.append((k.detach(), xg.grad))
        assert grads[0][0].shape == grads[1][0].shape
        assert torch.allclose(grads[0][0], grads[1][0], rtol=1e-12, atol=1e-14)
        assert torch.allclose(grads[0][1], grads[1][1], rtol=1e-9, atol=1e-12)


def test_joint_posterior_follows_the_baseline_as_points_turn_pending() -> None:
    """Sequential greedy: each chosen point joins the (cached) baseline as pending."""
    model, X, Y = _model(n=30)
    ours, theirs = _acquisitions(model, X, Y, 2, None, [])
    _same_values_and_gradients(ours, theirs, (5, 1, 4))
    for step in range(2):
        new = torch.rand(step + 1, 4, generator=torch.Generator().manual_seed(step), dtype=DT)
        for acq in (ours, theirs):
            acq.set_X_pending(new)
        _same_values_and_gradients(ours, theirs, (5, 1, 4))


def _count_samples(acq: Any, monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[int]:
    """Spy on (or break) the tensor-only sampling of ``acq``'s joint posterior."""
    acq(torch.rand(1, 1, 4, dtype=DT))  # creates the joint posterior
    joint, calls = acq._joint_posterior, []
    real = joint.samples

    def spy(*args: Any) -> Any:
        calls.append(1)
        if fail:
            from linear_operator.utils.errors import NotPSDError

            raise NotPSDError("broken on purpose")
        return real(*args)

    monkeypatch.setattr(joint, "samples", spy)
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("fail", [False, True])
def test_repeated_calls_sample_on_tensors_with_botorchs_numbers(
    fail: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the second call with the same number of new points on, the samples come from
    plain tensors (the base samples laid out once): the same values and gradients as BoTorch's
    path, for any batch size, across pending points; when that fails the full path answers."""
    model, X, Y = _model(n=30)
    ours, theirs = _acquisitions(model, X, Y, 2, None, [])
    calls = _count_samples(ours, monkeypatch, fail)
    for step in range(3):
        for shape in ((6, 1, 4), (3, 1, 4), (6, 1, 4), (40, 1, 4), (2, 2, 4), (2, 2, 4)):
            _same_values_and_gradients(ours, theirs, shape)
        new = torch.rand(step + 1, 4, generator=torch.Generator().manual_seed(step), dtype=DT)
        for acq in (ours, theirs):
            acq.set_X_pending(new)
    # per step: the first call of each q and the first after each switch of q build the
    # posterior; the other three calls of q=1 and one of q=2 sample on tensors
    assert len(calls) >= 3 * 3


def test_models_it_does_not_cover_keep_botorchs_posterior() -> None:
    model, X, Y = _model(input_transform=Normalize(4))
    assert not BaselinePosterior.supports(model)
    assert BaselinePosterior.supports(_model()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acq = C.build_acquisition("qLogNEHVI", model, X, Y, 2, [-0.5, -0.5], [], None, 16, 0)
        acq(torch.rand(3, 1, 4, dtype=DT))
    assert getattr(acq, "_joint_posterior", None) is None


def test_one_new_point_skips_the_inclusion_exclusion(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fused kernel built (``make venv`` builds it), q=1 never reaches BoTorch's
    general computation; q=2 does. The values are compared with BoTorch's in the tests above."""
    from botorch.acquisition.multi_objective import logei

    model, X, Y = _model(n=30)
    ours, _ = _acquisitions(model, X, Y, 2, None, [])  # loads the kernel where it is built
    if logei._C is None:
        pytest.skip(reason="BoTorch's fused log-EHVI kernel is not built here (build-kernel)")
    general: list[int] = []
    real = logei.qLogNoisyExpectedHypervolumeImprovement._compute_log_qehvi

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        general.append(args[0].shape[-2])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(logei.qLogNoisyExpectedHypervolumeImprovement, "_compute_log_qehvi", spy)
    ours(torch.rand(4, 1, 4, dtype=DT))
    assert general == []
    ours(torch.rand(4, 2, 4, dtype=DT))
    assert general == [2]
