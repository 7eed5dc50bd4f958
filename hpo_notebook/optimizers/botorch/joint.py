"""The joint posterior of qLogNEHVI's baseline and new points, with the baseline block cached.

Every evaluation of qLogNEHVI asks the model for the joint posterior of ``[X_baseline; X]``,
a ``batch x (n_b + q)``-point posterior, although the baseline's own block never changes
(BoTorch caches its Cholesky factor and leaves a TODO to stop recomputing it). With ``n_b``
baseline points and ``n`` training points, GPyTorch's predictive covariance costs about
``batch x (n_b + q) x n^2`` multiplications per call, and only ``q`` of those rows are new.
:class:`BaselinePosterior` computes the baseline's rows once per baseline and the new rows per
call, with the same formula GPyTorch uses (``K** - (K*T R)(K*T R)^T`` with its cached root
``R`` of the inverse training covariance), and returns the same posterior object
``model.posterior`` would: same numbers up to rounding, several times faster at a few
hundred observations.

It applies to BoTorch's batched multi-output GPs without input transforms (``SingleTaskGP``
and ``MixedSingleTaskGP`` as :mod:`~hpo_notebook.optimizers.botorch.candidates` fits them);
:func:`BaselinePosterior.supports` says when, and other models keep ``model.posterior``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from botorch.models.utils.assorted import gpt_posterior_settings
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultitaskMultivariateNormal, MultivariateNormal
from gpytorch.kernels import MaternKernel, RBFKernel, ScaleKernel
from gpytorch.likelihoods import GaussianLikelihood
from linear_operator import to_linear_operator
from linear_operator.operators import CatLinearOperator
from linear_operator.utils.cholesky import psd_safe_cholesky
from linear_operator.utils.errors import NanError
from torch import Tensor


class BaselinePosterior:
    """``model.posterior(torch.cat([X_baseline expanded, X], -2))`` with the baseline's block
    computed once for each ``X_baseline``."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._key: Tensor | None = None
        self._blocks: tuple[Tensor, Tensor, Tensor, Tensor] | None = None

    @staticmethod
    def supports(model: Any) -> bool:
        """Whether ``model`` is one this class computes exactly as ``model.posterior``."""
        return (
            isinstance(model, SingleTaskGP)
            and model.num_outputs > 1
            and len(model._input_batch_shape) == 0
            and getattr(model, "input_transform", None) is None
            and type(model.likelihood) is GaussianLikelihood
        )

    def __call__(self, X_full: Tensor, n_baseline: int) -> GPyTorchPosterior:
        """The posterior at ``X_full`` (``batch x (n_baseline + q) x d``), whose first
        ``n_baseline`` rows are the same baseline in every batch."""
        model = self.model
        with gpt_posterior_settings():
            mean_b, cov_bb = self._blocks_for(X_full[..., :n_baseline, :])[:2]
            mean_x, cov_xb, cov_xx = self._new_rows(X_full[..., n_baseline:, :])
            batch = cov_xx.shape[:-3]
            # lazily: the baseline block is only read by a full (fallback) sampling
            top = CatLinearOperator(
                to_linear_operator(cov_bb.expand(*batch, *cov_bb.shape[-3:])),
                to_linear_operator(cov_xb.transpose(-1, -2)),
                dim=-1,
            )
            cov = CatLinearOperator(
                top, to_linear_operator(torch.cat([cov_xb, cov_xx], -1)), dim=-2
            )
            mean = torch.cat([mean_b.expand(*batch, *mean_b.shape[-2:]), mean_x], -1)
            mvn = MultivariateNormal(mean, cov)
            mvns = [
                MultivariateNormal(mvn.mean.select(-2, t), mvn.lazy_covariance_matrix[..., t, :, :])
                for t in range(model.num_outputs)
            ]
            mvn = MultitaskMultivariateNormal.from_independent_mvns(mvns=mvns)
        posterior = GPyTorchPosterior(distribution=mvn)
        if hasattr(model, "outcome_transform"):
            posterior = model.outcome_transform.untransform_posterior(posterior, X=X_full)
        return posterior

    def samples(
        self, X_full: Tensor, n_baseline: int, baseline_L: Tensor, base_samples: Tensor
    ) -> Tensor:
        """What BoTorch's ``sample_cached_cholesky`` draws from ``self(X_full, n_baseline)``
        at the new points, computed on plain tensors.

        Args:
            baseline_L: ``m x n_b x n_b``, the lower Cholesky factors of the baseline block
                (qLogNEHVI's ``_baseline_L``).
            base_samples: ``m x (n_b + q) x S``, the base samples as BoTorch's
                ``_reshape_base_samples`` lays them out for one batch element.

        Returns:
            ``S x batch x q x m`` samples.

        Raises:
            linear_operator.utils.errors.NanError, NotPSDError:
                as ``sample_cached_cholesky`` (the caller falls back to the full path).
        """
        with gpt_posterior_settings():
            self._blocks_for(X_full[..., :n_baseline, :])
            mean, cov_xb, cov_xx = self._new_rows(X_full[..., n_baseline:, :])
        transform = getattr(self.model, "outcome_transform", None)
        if transform is not None:
            std = transform.stdvs.reshape(-1, 1)
            mean = mean * std + transform.means.reshape(-1, 1)
            var = (std * std).unsqueeze(-1)
            cov_xb, cov_xx = cov_xb * var, cov_xx * var
        bl = torch.linalg.solve_triangular(
            baseline_L, cov_xb.transpose(-2, -1), upper=False
        ).transpose(-2, -1)
        br = psd_safe_cholesky(cov_xx - bl @ bl.transpose(-2, -1), max_tries=6)
        res = torch.cat([bl, br], -1) @ base_samples + mean.unsqueeze(-1)
        nb = res.dim() - 3
        res = res.permute(-1, *range(nb), -2, -3).contiguous()
        if not torch.isfinite(res).all():
            raise NanError("Samples contain nans or infs.")
        return res

    @staticmethod
    def supports_sampling(model: Any) -> bool:
        """Whether :meth:`samples` applies: :meth:`supports`, and the outputs standardized
        by BoTorch's ``Standardize`` (all of them) or not transformed."""
        transform = getattr(model, "outcome_transform", None)
        return BaselinePosterior.supports(model) and (
            transform is None
            or (type(transform) is Standardize and getattr(transform, "_outputs", None) is None)
        )

    def _blocks_for(self, base: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        self.model.eval()
        key = base.reshape(-1, *base.shape[-2:])[0]
        if self._key is None or self._key.shape != key.shape or not torch.equal(self._key, key):
            self._blocks = self._baseline_blocks(key)
            self._key = key.detach().clone()
        assert self._blocks is not None
        return self._blocks

    def _new_rows(self, X: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Mean (``batch x m x q``) and covariance rows against the baseline (``... x n_b``)
        and themselves (``... x q``) at the new points ``X``, in the model's output space."""
        assert self._blocks is not None and self._key is not None
        model, (_, _, w_b, root) = self.model, self._blocks
        Xo = X.unsqueeze(-3)  # an output dimension, as BoTorch's add_output_dim
        strategy = model.prediction_strategy
        kernel = model.covar_module
        k_xt = _dense_kernel(kernel, Xo, strategy.train_inputs[0])
        w_x = _per_output(k_xt, root)
        mean_x = model.mean_module(Xo) + (k_xt @ _mean_cache(strategy).unsqueeze(-1)).squeeze(-1)
        k_xb = _dense_kernel(kernel, Xo, self._key.unsqueeze(-3))
        cov_xb = k_xb - _per_output(w_x, w_b.transpose(-1, -2))
        cov_xx = _dense_kernel(kernel, Xo, Xo) - w_x @ w_x.transpose(-1, -2)
        return mean_x, cov_xb, cov_xx

    def _baseline_blocks(self, base: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        model = self.model
        if getattr(model, "prediction_strategy", None) is None:
            model.posterior(base[:1])  # GPyTorch builds its caches on the first posterior
        strategy = model.prediction_strategy
        root = strategy.covar_cache
        bo = base.unsqueeze(-3)
        k_bt = model.covar_module(bo, strategy.train_inputs[0]).to_dense()
        w_b = k_bt @ root
        mean_b = model.mean_module(bo) + (k_bt @ _mean_cache(strategy).unsqueeze(-1)).squeeze(-1)
        cov_bb = model.covar_module(bo).to_dense() - w_b @ w_b.transpose(-1, -2)
        return mean_b.detach(), cov_bb.detach(), w_b.detach(), root.detach()


def _dense_kernel(kernel: Any, x1: Tensor, x2: Tensor) -> Tensor:
    """``kernel(x1, x2).to_dense()``, computed directly for the two kernels the fits use
    (BoTorch's RBF with ARD lengthscales, and a scaled Matern with ARD lengthscales): for the
    few new points of an L-BFGS step, GPyTorch's lazy kernel tensors cost 3-4x the
    arithmetic. Other kernels (mixed spaces, active dimensions) go to GPyTorch."""
    base = kernel.base_kernel if type(kernel) is ScaleKernel else kernel
    if (
        type(base) not in (RBFKernel, MaternKernel)
        or base.active_dims is not None
        or kernel.active_dims is not None
        or (type(base) is MaternKernel and base.nu not in (0.5, 1.5, 2.5))
    ):
        return kernel(x1, x2).to_dense()
    ls = base.lengthscale  # (batch) x 1 x d
    a, b = x1 / ls, x2 / ls
    d2 = (a.unsqueeze(-2) - b.unsqueeze(-3)).pow(2).sum(-1)
    if type(base) is RBFKernel:
        k = torch.exp(-0.5 * d2)
    else:
        # GPyTorch's Matern: the distance's gradient is zero where it is (near) zero
        d = d2.clamp_min(1e-30).sqrt()
        s = math.sqrt(2 * base.nu) * d
        poly = {0.5: 1.0, 1.5: 1 + s, 2.5: 1 + s + s * s / 3}[base.nu]
        k = poly * torch.exp(-s)
    if base is not kernel:
        k = k * kernel.outputscale.view(*kernel.outputscale.shape, 1, 1)
    return k


def _per_output(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for ``a``: ``batch x m x q x n`` and ``b``: ``m x n x k``, as ``m`` matrix
    products: torch's broadcasting matmul copies ``b`` once per batch element first (70 ms
    for a batch of 128 with 256 training points)."""
    *lead, m, q, n = a.shape
    rows = a.reshape(-1, m, q, n).transpose(0, 1).reshape(m, -1, n)
    out = rows @ b
    return out.reshape(m, -1, q, b.shape[-1]).transpose(0, 1).reshape(*lead, m, q, b.shape[-1])


def _mean_cache(strategy: Any) -> Tensor:
    cache = strategy.mean_cache
    return cache.squeeze(1) if cache.dim() == 4 else cache


__all__ = ["BaselinePosterior"]
