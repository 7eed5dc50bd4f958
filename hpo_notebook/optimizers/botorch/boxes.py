"""Exact box decompositions of the non-dominated space, computed in NumPy.

With three or more objectives, qLogNEHVI decomposes the space that one front per MC sample
does not dominate into boxes, again after each point of a sequential batch. BoTorch's
:class:`~botorch.utils.multi_objective.box_decompositions.non_dominated.FastNondominatedPartitioning`
does this with the incremental algorithm of Lacour, Klamroth and Fonseca (2017), one small
torch operation after another: with a 67-point 3-objective front, three quarters of a
batch's time went to per-operation overhead there. :class:`ExactPartitioning` runs the same
algorithm, step for step, on NumPy arrays and produces the same boxes in the same order
(``tests/test_boxes.py`` checks this against BoTorch), several times faster.

:func:`log_nehvi` builds qLogNEHVI with it; ``qLogEHVI`` takes an ``ExactPartitioning``
directly::

    >>> import torch
    >>> ref = torch.zeros(3, dtype=torch.float64)
    >>> Y = torch.tensor([[1.0, 2.0, 0.5], [2.0, 1.0, 1.0]], dtype=torch.float64)
    >>> float(ExactPartitioning(ref_point=ref, Y=Y).compute_hypervolume())
    2.5
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from botorch.acquisition.multi_objective import logei as _logei
from botorch.acquisition.multi_objective.logei import (
    qLogNoisyExpectedHypervolumeImprovement,
)
from botorch.utils.low_rank import _reshape_base_samples
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
)
from botorch.utils.objective import compute_smoothed_feasibility_indicator
from botorch.utils.safe_math import logmeanexp, logsumexp
from botorch.utils.transforms import match_batch_shape
from linear_operator.utils.errors import NanError, NotPSDError

from hpo_notebook.optimizers.botorch.joint import BaselinePosterior


def _local_upper_bounds(
    points: np.ndarray, U: np.ndarray, Z: np.ndarray, sid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Insert points into local upper bounds: Algorithm 1 of [Lacour17] (minimization), as
    ``botorch...box_decompositions.utils.compute_local_upper_bounds`` implements it, for
    several independent decompositions at once.

    Args:
        points: ``s x p x m``: for each decomposition, the points to insert in order
            (rows of ``+inf`` are padding: they dominate no bound).
        U: ``n x m`` local upper bounds of all decompositions, ``sid`` (``n``) saying whose.
        Z: ``n x m x m`` their defining points.

    Returns ``U``, ``Z`` and ``sid`` after the insertions. Each decomposition's rows keep the
    order the one-decomposition algorithm gives them (bounds kept, then children by ``j``).
    """
    m = U.shape[-1]
    others = [np.arange(m) != j for j in range(m)]
    for i in range(points.shape[1]):
        zs = points[sid, i]
        inside = (zs < U).all(axis=-1)
        if not inside.any():
            continue
        A, A_Z, A_sid, A_z = U[inside], Z[inside], sid[inside], zs[inside]
        outside = ~inside
        new_U, new_Z, new_sid = [U[outside]], [Z[outside]], [sid[outside]]
        for j in range(m):
            # u is split along j only where z_j is at least every other defining point's j-th
            # value (then all of them are <= z_j, so they stay defining points of the child).
            add = A_z[:, j] >= A_Z[:, others[j], j].max(axis=-1)
            if not add.any():
                continue
            u = A[add]
            u[:, j] = A_z[add, j]
            zu = A_Z[add]
            zu[:, j] = A_z[add]
            new_U.append(u)
            new_Z.append(zu)
            new_sid.append(A_sid[add])
        U, Z, sid = np.concatenate(new_U), np.concatenate(new_Z), np.concatenate(new_sid)
    return U, Z, sid


def _partition_bounds(Z: np.ndarray, U: np.ndarray, ref_point: np.ndarray) -> np.ndarray:
    """Boxes from local upper bounds (Equation 2 of [Lacour17]), ``2 x n x m``, empty ones
    included: ``botorch...box_decompositions.utils.get_partition_bounds`` without the loop."""
    m = U.shape[-1]
    bounds = np.empty((2, U.shape[0], m))
    bounds[0, :, 0] = Z[:, 0, 0]
    bounds[1, :, 0] = ref_point[0]
    for j in range(1, m):
        bounds[0, :, j] = Z[:, :j, j].max(axis=-1)
        bounds[1, :, j] = U[:, j]
    return bounds


def _padded(arrays: list[np.ndarray], m: int) -> np.ndarray:
    out = np.full((len(arrays), max(len(a) for a in arrays), m), np.inf)
    for k, a in enumerate(arrays):
        out[k, : len(a)] = a
    return out


def _decompose(
    neg_fronts: list[np.ndarray], neg_refs: list[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each front's local upper bounds ``U``, their defining points ``Z`` (minimization
    frame) and its boxes (maximization frame), as ``FastNondominatedPartitioning`` has them."""
    s, m = len(neg_fronts), neg_refs[0].shape[-1]
    diag = np.arange(m)
    # the dummy defining points of [Lacour17] Sec 2.1 (-inf: outcomes are not in [0, 1])
    U = np.stack(neg_refs)
    Z = np.full((s, m, m), -np.inf)
    Z[:, diag, diag] = U
    U, Z, sid = _local_upper_bounds(_padded(neg_fronts, m), U, Z, np.arange(s))
    Us = [U[sid == k] for k in range(s)]
    Zs = [Z[sid == k] for k in range(s)]
    return list(zip(Us, Zs, _boxes(Us, neg_refs), strict=True))


def _boxes(Us: list[np.ndarray], neg_refs: list[np.ndarray]) -> list[np.ndarray]:
    """The boxes of each decomposition from its local upper bounds: as BoTorch, -U (the
    local lower bounds of the maximization problem) is the front of a minimization problem
    with reference point +inf, whose dominated space is split."""
    s, m = len(Us), neg_refs[0].shape[-1]
    diag = np.arange(m)
    U2 = np.full((s, m), np.inf)
    Z2 = np.repeat(-np.stack(neg_refs)[:, None, :], m, axis=1)
    Z2[:, diag, diag] = np.inf
    U2, Z2, sid = _local_upper_bounds(_padded([-u for u in Us], m), U2, Z2, np.arange(s))
    bounds = _partition_bounds(Z2, U2, np.full(m, np.inf))
    keep = ~(bounds[1] <= bounds[0]).any(axis=-1)
    return [bounds[:, keep & (sid == k)] for k in range(s)]


class _Batch:
    """Partitionings built one after another (one per MC sample) and decomposed together,
    the first time any of them is used: one pass of the algorithm for all of them."""

    def __init__(self) -> None:
        self.members: list[ExactPartitioning] = []

    def run(self) -> None:
        members, self.members = self.members, []
        results = _decompose(
            [p._numpy(p._neg_pareto_Y) for p in members],
            [p._numpy(p._neg_ref_point) for p in members],
        )
        for p, (U, Z, bounds) in zip(members, results, strict=True):
            p._set_result(U, Z, bounds)


class ExactPartitioning(FastNondominatedPartitioning):
    """``FastNondominatedPartitioning`` (maximization, exact) with its 3+-objective
    algorithm on NumPy arrays. Two objectives and batched fronts take BoTorch's own path.

    Partitionings given the same ``batch`` are decomposed together the first time one of
    them is used (qLogNEHVI builds one per MC sample).
    """

    def __init__(
        self, ref_point: torch.Tensor, Y: torch.Tensor | None = None, batch: _Batch | None = None
    ) -> None:
        self.__dict__["_batch"] = batch  # before BoTorch's __init__ partitions the space
        super().__init__(ref_point=ref_point, Y=Y)

    def _partition_space(self) -> None:
        if len(self.batch_shape) > 0:
            super()._partition_space()  # BoTorch raises its own error for this case
            return
        self.hypercell_bounds = None
        if self._batch is not None:
            self._batch.members.append(self)
            return
        [(U, Z, bounds)] = _decompose(
            [self._numpy(self._neg_pareto_Y)], [self._numpy(self._neg_ref_point)]
        )
        self._set_result(U, Z, bounds)

    def _get_partitioning(self) -> None:  # after update(), from the updated self._U
        [bounds] = _boxes([self._numpy(self._U)], [self._numpy(self._neg_ref_point)])
        self.hypercell_bounds = self._tensor(bounds)

    def _resolve(self) -> None:
        if self._batch is not None and self.hypercell_bounds is None:
            self._batch.run()

    def get_hypercell_bounds(self) -> torch.Tensor:
        self._resolve()
        return super().get_hypercell_bounds()

    def compute_hypervolume(self) -> torch.Tensor:
        self._resolve()
        return super().compute_hypervolume()

    def update(self, Y: torch.Tensor) -> None:
        self._resolve()
        super().update(Y)

    def _set_result(self, U: np.ndarray, Z: np.ndarray, bounds: np.ndarray) -> None:
        self.__dict__["_batch"] = None  # from now on, like any partitioning
        self.register_buffer("_U", self._tensor(U))
        self._Z = self._tensor(Z)
        self.hypercell_bounds = self._tensor(bounds)

    @staticmethod
    def _numpy(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float64)

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        like = self._neg_ref_point
        return torch.from_numpy(np.ascontiguousarray(a)).to(dtype=like.dtype, device=like.device)


class _LogNEHVI(qLogNoisyExpectedHypervolumeImprovement):
    """qLogNEHVI whose exact box decompositions (3+ objectives) use :class:`ExactPartitioning`,
    and whose joint posteriors of baseline and new points reuse the baseline's block
    (:class:`~hpo_notebook.optimizers.botorch.joint.BaselinePosterior`).

    Inside :meth:`screening`, one new point at a time is judged on the first few
    Monte-Carlo samples only (ranking starting points needs less precision than L-BFGS).
    """

    _screen_mc: int | None = None

    @contextlib.contextmanager
    def screening(self, mc_samples: int | None) -> Iterator[None]:
        """Evaluate with the first ``mc_samples`` Monte-Carlo samples (and their boxes)
        while inside; ``None``: all of them. Scrambled Sobol base samples keep their
        balance in a prefix of a power of two."""
        old, self._screen_mc = self._screen_mc, mc_samples
        try:
            yield
        finally:
            self._screen_mc = old

    def _compute_posterior_samples_and_concat_pending(self, X: torch.Tensor) -> Any:
        # BoTorch's method, with model.posterior(X_full) computed by BaselinePosterior
        if not (self._cache_root and BaselinePosterior.supports(self.model)):
            return super()._compute_posterior_samples_and_concat_pending(X)
        if self.X_pending is not None:
            num_pending = self.X_pending.shape[-2]
            cached = self.X_baseline.shape[-2] - self._X_baseline.shape[-2]
            uncached = num_pending - cached if self.cache_pending else num_pending
            X = torch.cat(
                [X, match_batch_shape(self.X_pending[..., num_pending - uncached :, :], X)], dim=-2
            )
        n_baseline = self.X_baseline.shape[-2]
        X_full = torch.cat([match_batch_shape(self.X_baseline, X), X], dim=-2)
        joint = getattr(self, "_joint_posterior", None)
        if joint is None:
            joint = self._joint_posterior = BaselinePosterior(self.model)
        q_in = X.shape[-2]
        base = self.sampler.base_samples
        laid_out = getattr(self, "_laid_out", None)
        if (
            laid_out is not None
            and laid_out[0] is base
            and laid_out[1] == (q_in, n_baseline)
            and self.q_in == q_in
            and hasattr(self, "_baseline_L")
        ):
            # the same samples as below without building the posterior object, whose
            # linear operators cost more than the arithmetic
            try:
                return joint.samples(X_full, n_baseline, self._baseline_L, laid_out[2]), X
            except (NanError, NotPSDError):
                pass  # the full path retries with BoTorch's fallbacks (and warns)
        posterior = joint(X_full, n_baseline)
        self._set_sampler(q_in=q_in, posterior=posterior)
        samples = self._get_f_X_samples(posterior=posterior, q_in=q_in)
        base = self.sampler.base_samples
        if base is not None and BaselinePosterior.supports_sampling(self.model):
            layout = _reshape_base_samples(base, self.sampler.sample_shape, posterior)
            one = layout.reshape(-1, *layout.shape[-3:])[0]
            self._laid_out = (base, (q_in, n_baseline), one)
        return samples, X

    def _compute_log_qehvi(self, samples: torch.Tensor, X: torch.Tensor | None = None) -> Any:
        lower, upper = self.cell_lower_bounds, self.cell_upper_bounds
        k = self._screen_mc
        if k is None or k >= samples.shape[0] or lower.ndim <= 2:
            return self._log_qehvi(samples, X)
        # the first k samples and the boxes of the baseline's fronts in those samples, on
        # every path (BoTorch's too: the fused kernel may load between two proposals, and a
        # study's proposals must not depend on when)
        self.cell_lower_bounds, self.cell_upper_bounds = lower[:k], upper[:k]
        try:
            return self._log_qehvi(samples[:k], X)
        finally:
            self.cell_lower_bounds, self.cell_upper_bounds = lower, upper

    def _log_qehvi(self, samples: torch.Tensor, X: torch.Tensor | None) -> Any:
        # One new point at a time (sequential greedy; pending points are in the cached
        # baseline): BoTorch's inclusion-exclusion then runs three log-sum-exps over
        # samples x batch x cells that each return their input unchanged (a sum over one
        # subset, the odd terms plus no even ones, minus none). Skipping them gives the same
        # numbers; they were a fifth of a proposal.
        if samples.shape[-2] != 1 or _logei._C is None or not self.fat:
            return super()._compute_log_qehvi(samples, X)
        if samples.device.type != "cpu":
            return super()._compute_log_qehvi(samples, X)
        obj = self.objective(samples, X=X)  # mc_samples x batch x 1 x m
        lower, upper = self.cell_lower_bounds, self.cell_upper_bounds
        batch = obj.shape[:-2]
        n_tbatch = len(batch) - (lower.ndim - 2)
        if lower.ndim > 2 and n_tbatch > 0:  # as BoTorch expands them for the kernel
            view = (lower.shape[0], *[1] * n_tbatch, *lower.shape[1:])
            lower = lower.view(view).expand(*batch, *lower.shape[-2:])
            upper = upper.view(view).expand(*batch, *upper.shape[-2:])
        subsets = obj.view(*batch, 1, 1, obj.shape[-1])
        log_areas = _logei._FusedLogAreas.apply(subsets, lower, upper, self.tau_relu, self.tau_max)[
            ..., 0
        ]  # mc_samples x batch x cells
        if self.constraints is not None:
            log_feas = compute_smoothed_feasibility_indicator(
                constraints=self.constraints, samples=samples, eta=self.eta, log=True, fat=self.fat
            )
            log_areas = log_areas + log_feas  # mc_samples x batch x 1
        return logmeanexp(logsumexp(log_areas, dim=-1), dim=0)

    def _set_cell_bounds(self, num_new_points: int) -> None:
        if self.alpha == 0:  # exact: one partitioning per MC sample, decomposed together
            self.p_class = functools.partial(ExactPartitioning, batch=_Batch())
        super()._set_cell_bounds(num_new_points)


def log_nehvi(*args: Any, **kwargs: Any) -> qLogNoisyExpectedHypervolumeImprovement:
    """``qLogNoisyExpectedHypervolumeImprovement(*args, **kwargs)``, with the exact box
    decompositions computed by :class:`ExactPartitioning` (the same boxes, faster)."""
    return _LogNEHVI(*args, **kwargs)


__all__ = ["ExactPartitioning", "log_nehvi"]
