"""The GP's hyperparameter priors: BoTorch's dimension-scaled ones, the Gamma priors, and
the hedge between them."""

from __future__ import annotations

import numpy as np
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_gamma_prior_in_a_mixed_space_uses_matern_for_the_continuous_inputs():
    from gpytorch.kernels import MaternKernel

    X, Y = _data(d=3)
    X[:, 2] = torch.arange(len(X)) % 3  # a categorical input with 3 options
    model, _ = C.fit_model(X, Y, cat_dims=[2], prior="gamma")
    kinds = {type(m).__name__ for m in model.covar_module.modules()}
    assert "MaternKernel" in kinds and "CategoricalKernel" in kinds
    matern = next(m for m in model.covar_module.modules() if isinstance(m, MaternKernel))
    assert matern.lengthscale.shape[-1] == 2


@pytest.mark.slow
def test_a_warm_state_of_the_other_prior_is_refused_and_the_fit_starts_fresh():
    X, Y = _data()
    _, gamma_state = C.fit_model(X, Y, prior="gamma")
    with pytest.raises(ValueError, match="does not fit"):
        C.fit_model(X, Y, warm_state=gamma_state)
    model, _ = adapter_mod._fit(X, Y, [], gamma_state, 50, "dim_scaled")
    fresh, _ = C.fit_model(X, Y, maxiter=50)
    assert torch.allclose(_kernel_lengthscale(model), _kernel_lengthscale(fresh))


def test_hedge_alternates_whole_batches_and_single_points():
    def shares(prior: str, n: int, n_trials: int, d: int = 6) -> list[tuple[str, int]]:
        return adapter_mod._prior_shares(prior, n, n_trials, d)

    # each model proposes a whole batch: split in halves, ZDT3-10 lost 0.6 decades
    assert [shares("hedge", 4, n) for n in (20, 24, 28)] == [
        [("gamma", 4)],
        [("dim_scaled", 4)],
        [("gamma", 4)],
    ]
    assert shares("hedge", 3, 21) == [("gamma", 3)] and shares("hedge", 3, 24) == [
        ("dim_scaled", 3)
    ]
    assert [shares("hedge", 1, n)[0][0] for n in (20, 21, 22)] == [
        "dim_scaled",
        "gamma",
        "dim_scaled",
    ]
    assert shares("gamma", 4, 20) == [("gamma", 4)]
    assert shares("hedge", 4, 24, d=30) == [("dim_scaled", 4)]  # as asked


def test_auto_hedges_up_to_ten_parameters_and_two_objectives():
    assert OptimizeSettings().gp_prior == "auto"
    assert adapter_mod._prior_shares("auto", 4, 20, 10) == [("gamma", 4)]
    assert adapter_mod._prior_shares("auto", 4, 20, 11) == [("dim_scaled", 4)]
    # with 3 or more objectives the hedge gained nothing on the suite and cost time
    assert adapter_mod._prior_shares("auto", 4, 20, 6, 1) == [("gamma", 4)]
    assert adapter_mod._prior_shares("auto", 4, 20, 6, 3) == [("dim_scaled", 4)]


def test_auto_stops_hedging_at_hedge_max_observations():
    def shares(n_obs: int, cap: int | None, prior: str = "auto") -> list[tuple[str, int]]:
        return adapter_mod._prior_shares(prior, 4, n_obs + 4, 6, 2, n_obs, cap)

    assert shares(99, 100) == [("gamma", 4)]  # 103 trials: batch 25, an odd one
    assert shares(95, 100) == [("dim_scaled", 4)]
    assert shares(100, 100) == shares(103, 100) == [("dim_scaled", 4)]  # no more Gamma
    assert shares(4995, None) == [("gamma", 4)]
    assert shares(499, 100, "hedge") == [("gamma", 4)]  # asked for: kept
    with pytest.raises(ValueError, match="hedge_max_observations=2; expected"):
        OptimizeSettings(hedge_max_observations=2)


@pytest.mark.slow
def test_hedged_proposals_name_their_prior_and_the_state_keeps_both_fits():
    import hpo_notebook as hn
    from hpo_notebook.objectives import Objectives
    from hpo_notebook.optimizers import History
    from hpo_notebook.optimizers.botorch import BoTorchOptimizer

    space = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0))
    objs = Objectives.parse({"f": "min", "g": "min"})
    X, Y = _data(n=12, d=2)
    history = History(X.numpy(), Y.numpy(), np.zeros((0, 2)), 12)
    opt = BoTorchOptimizer(settings=OptimizeSettings(gp_prior="hedge"))
    out = opt.suggest(space, objs, history, n=4, seed=3)  # 12 trials so far: an odd batch
    assert [p.info["gp_prior"] for p in out.proposals] == ["gamma"] * 4
    assert set(out.state["hyperparameters_by_prior"]) == {"gamma"}
    later = History(X.numpy(), Y.numpy(), np.zeros((0, 2)), 16)
    again = opt.suggest(space, objs, later, n=4, seed=3, state=out.state)
    assert [p.info["gp_prior"] for p in again.proposals] == ["dim_scaled"] * 4
    by_prior = again.state["hyperparameters_by_prior"]
    assert set(by_prior) == {"dim_scaled", "gamma"}  # the Gamma fit kept for its next turn
    assert by_prior["gamma"] == out.state["hyperparameters_by_prior"]["gamma"]
    assert any("base_kernel" in k for k in by_prior["gamma"])  # the Gamma model's own state
    assert again.state["hyperparameters"] == by_prior["dim_scaled"]


def _mean_distance_error(prior: str, seed: int) -> float:
    """DTLZ2 with 6 inputs, batches of 4 up to 30 evaluations: the mean over the model's
    proposals of g = sum((x_i - 0.5)^2) over the five distance inputs (0 on the front; a
    uniformly random point has 5/12 on average, a corner 1.25)."""
    from botorch.test_functions.multi_objective import DTLZ2

    import hpo_notebook as hn
    from hpo_notebook.optimizers.botorch import BoTorchOptimizer

    prob = DTLZ2(dim=6, num_objectives=2)
    space = hn.Space(**{f"x{i}": hn.Float(0.0, 1.0) for i in range(6)})
    study = hn.Study(
        None,
        space,
        objectives={f"f{j}": hn.Objective("min", threshold=1.1) for j in range(2)},
        seed=seed,
        optimizer=BoTorchOptimizer(settings=OptimizeSettings(gp_prior=prior)),
    )
    g = []
    while len(study.trials) < 30:
        batch = study.ask(4)
        for t in batch:
            x = torch.tensor([[t.params[f"x{i}"] for i in range(6)]], dtype=torch.float64)
            y = prob(x)[0]
            study.tell(t, {"f0": float(y[0]), "f1": float(y[1])})
            if study.trial(t.number).proposal.get("kind", "").startswith("q"):
                g.append(sum((t.params[f"x{i}"] - 0.5) ** 2 for i in range(1, 6)))
    return sum(g) / len(g)


@pytest.mark.slow
def test_gamma_priors_keep_early_proposals_off_the_corners_of_a_six_input_problem():
    """With BoTorch's dimension-scaled prior the first fits judge DTLZ2's distance inputs
    irrelevant (lengthscales 2-5) and the acquisition goes to their corners (measured: mean
    g 0.70-0.82 over 3 seeds, worse than random points); with the Gamma priors 0.54-0.55.
    In the suite this was 0.4-0.5 decades of hypervolume gap after 48 evaluations. The runs
    are chaotic: rounding-level differences (BoTorch's fused kernel or its PyTorch path)
    moved the dimension-scaled mean from 0.82 to 0.70 with the same code, per seed
    0.89 / 0.65 / 0.54 against Gamma's 0.72 / 0.44 / 0.48; hence a margin of 0.1."""
    gamma = sum(_mean_distance_error("gamma", s) for s in range(3)) / 3
    scaled = sum(_mean_distance_error("dim_scaled", s) for s in range(3)) / 3
    assert gamma < scaled - 0.1, (gamma, scaled)


@pytest.mark.parametrize("bad", ["Gamma", "", "select"])
def test_unknown_prior_is_rejected_before_any_fit(bad):
    with pytest.raises(ValueError, match=f"gp_prior='{bad}'"):
        OptimizeSettings(gp_prior=bad)
    X, Y = _data()
    with pytest.raises(ValueError, match="unknown GP prior"):
        C.fit_model(X, Y, prior=bad)
    with pytest.raises(ValueError, match="unknown GP prior 'hedge'"):  # the adapter's, not a fit's
        C.fit_model(X, Y, prior="hedge")
