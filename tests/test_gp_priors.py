"""The GP's hyperparameter priors: BoTorch's dimension-scaled default, the Gamma priors, and
the left-one-out choice between them."""

from __future__ import annotations

import pytest
import torch

from hpo_notebook.optimizers.botorch import adapter as adapter_mod
from hpo_notebook.optimizers.botorch import candidates as C
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings


def _data(n: int = 20, d: int = 3, k: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    Y = torch.stack([((X - 0.3) ** 2).sum(-1), ((X - 0.7) ** 2).sum(-1)][:k], dim=-1)
    return X, Y


def _kernel_lengthscale(model) -> torch.Tensor:
    kernel = model.covar_module
    kernel = getattr(kernel, "base_kernel", kernel)
    return kernel.lengthscale.detach()


def test_gamma_prior_builds_a_matern_kernel_with_gamma_priors():
    from gpytorch.kernels import MaternKernel
    from gpytorch.priors import GammaPrior

    X, Y = _data()
    model, hp = C.fit_model(X, Y, prior="gamma")
    kernel = model.covar_module.base_kernel
    assert isinstance(kernel, MaternKernel) and kernel.nu == 2.5
    assert isinstance(kernel.lengthscale_prior, GammaPrior)
    assert isinstance(model.likelihood.noise_covar.noise_prior, GammaPrior)
    assert _kernel_lengthscale(model).shape == (2, 1, 3)  # one lengthscale per output and input
    default, _ = C.fit_model(X, Y)
    assert set(hp) != set(C.hyperparameters(default))  # a differently shaped model


def test_gamma_prior_in_a_mixed_space_uses_matern_for_the_continuous_inputs():
    from gpytorch.kernels import MaternKernel

    X, Y = _data(d=3)
    X[:, 2] = torch.arange(len(X)) % 3  # a categorical input with 3 options
    model, _ = C.fit_model(X, Y, cat_dims=[2], prior="gamma")
    kinds = {type(m).__name__ for m in model.covar_module.modules()}
    assert "MaternKernel" in kinds and "CategoricalKernel" in kinds
    matern = next(m for m in model.covar_module.modules() if isinstance(m, MaternKernel))
    assert matern.lengthscale.shape[-1] == 2


def test_a_warm_state_of_the_other_prior_is_refused_and_the_fit_starts_fresh():
    X, Y = _data()
    _, gamma_state = C.fit_model(X, Y, prior="gamma")
    with pytest.raises(ValueError, match="does not fit"):
        C.fit_model(X, Y, warm_state=gamma_state)
    model, _ = adapter_mod._fit(X, Y, [], gamma_state, 50, "dim_scaled")
    fresh, _ = C.fit_model(X, Y, maxiter=50)
    assert torch.allclose(_kernel_lengthscale(model), _kernel_lengthscale(fresh))


def test_select_keeps_the_better_left_one_out_predictor():
    X, Y = _data(n=24)
    chosen, _ = adapter_mod._fit(X, Y, [], None, 100, "select")
    fits = {p: C.fit_model(X, Y, maxiter=100, prior=p)[0] for p in ("dim_scaled", "gamma")}
    scores = {p: C.loo_log_likelihood(m) for p, m in fits.items()}
    best = max(scores, key=scores.__getitem__)
    assert C.loo_log_likelihood(chosen) == pytest.approx(scores[best])
    assert type(chosen.covar_module) is type(fits[best].covar_module)


def test_left_one_out_likelihood_prefers_the_model_that_predicts_held_out_points():
    """On smooth noiseless data a fitted model's left-one-out likelihood beats the same
    model forced to interpolate with very short lengthscales."""
    X, Y = _data(n=30, k=1)
    good, _ = C.fit_model(X, Y)
    bad, _ = C.fit_model(X, Y)
    with torch.no_grad():
        bad.covar_module.lengthscale = torch.full_like(bad.covar_module.lengthscale, 0.03)
    assert C.loo_log_likelihood(good) > C.loo_log_likelihood(bad) + 3  # per point


@pytest.mark.parametrize("bad", ["Gamma", "", "rbf"])
def test_unknown_prior_is_rejected_before_any_fit(bad):
    with pytest.raises(ValueError, match=f"gp_prior='{bad}'"):
        OptimizeSettings(gp_prior=bad)
    X, Y = _data()
    with pytest.raises(ValueError, match="unknown GP prior"):
        C.fit_model(X, Y, prior=bad)
