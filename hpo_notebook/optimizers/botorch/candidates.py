"""Bayesian-optimization candidate generation as pure functions over tensors.

Everything here works in the unit cube ``[0, 1]^d`` (the encoding of
:class:`hpo_notebook.space.Space`, which is the input normalization) and in the
maximization frame for objectives. Fit -> acquisition -> optimize is written once:

1. :func:`fit_model` fits a GP (``SingleTaskGP``, or ``MixedSingleTaskGP`` with a categorical
   kernel when the space has :class:`~hpo_notebook.space.Choice` parameters) with outcome
   standardization and one of two sets of priors, optionally warm-started from the previous
   fit's hyperparameters;
2. :func:`build_acquisition` builds one of the Log acquisition functions;
3. :func:`optimize_candidates` optimizes it with BoTorch's continuous or mixed optimizer.

Shapes: ``X`` is ``n x d``, ``Y`` is ``n x k`` where the first ``m`` columns are objectives
(maximized) and the rest are constrained metrics; ``X_pending`` is ``p x d``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from botorch.acquisition.logei import qLogNoisyExpectedImprovement, qLogProbabilityOfFeasibility
from botorch.acquisition.multi_objective.logei import qLogExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
from botorch.acquisition.multi_objective.parego import qLogNParEGO
from botorch.acquisition.objective import GenericMCObjective
from botorch.fit import fit_gpytorch_mll
from botorch.models import MixedSingleTaskGP, SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from botorch.models.utils.gpytorch_modules import (
    get_gaussian_likelihood_with_gamma_prior,
    get_matern_kernel_with_gamma_prior,
)
from botorch.optim import optimize_acqf
from botorch.optim.initializers import (
    gen_batch_initial_conditions,
    initialize_q_batch,
    sample_points_around_best,
)
from botorch.optim.optimize_mixed import optimize_acqf_mixed_alternating
from botorch.optim.utils import fix_features
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    NondominatedPartitioning,
)
from botorch.utils.sampling import draw_sobol_samples
from gpytorch.kernels import MaternKernel
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import GammaPrior
from linear_operator.utils.warnings import NumericalWarning
from torch import Tensor

from hpo_notebook.optimizers.botorch._kernel import ensure_nonblocking
from hpo_notebook.optimizers.botorch.baseline import prune_baseline
from hpo_notebook.optimizers.botorch.boxes import ExactPartitioning, log_nehvi
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings

# BoTorch reports a failed L-BFGS-B restart and then retries it itself (and, when the retry
# fails too, keeps the best point found); in a notebook that notice shows up in the running
# cell's output as if something had gone wrong. (Set once, not per call:
# warnings.catch_warnings is not thread-safe and proposals run in a thread.)
warnings.filterwarnings(
    "ignore",
    message=r"Optimization failed (in `gen_candidates_scipy`|on the second try)",
    category=RuntimeWarning,
    module=r"botorch\.",
)
# GPyTorch adds a little jitter to a covariance matrix that is not numerically positive
# definite and says so every time (hundreds of lines in a long study); the fit goes on, and
# a matrix that jitter cannot repair raises NotPSDError, and the proposal falls back.
warnings.filterwarnings(
    "ignore",
    message=r"A not p\.d\., added jitter",
    category=NumericalWarning,
    module=r"linear_operator\.",
)

DTYPE = torch.float64

#: Acquisition functions this module builds, by name.
ACQUISITIONS = ("qLogNEHVI", "qLogEHVI", "qLogNEI", "qLogNParEGO", "qLogPoF")


@dataclass(frozen=True)
class DimSpec:
    """How each unit-cube dimension may vary.

    Attributes:
        d: number of dimensions.
        discrete_dims: ordinal dimensions and their allowed unit values (Int parameters).
        cat_dims: categorical dimensions and their allowed unit values (Choice parameters).
        fixed: dimensions with a single allowed value (a one-option Choice).
    """

    d: int
    discrete_dims: dict[int, list[float]] = field(default_factory=dict)
    cat_dims: dict[int, list[float]] = field(default_factory=dict)
    fixed: dict[int, float] = field(default_factory=dict)

    @property
    def bounds(self) -> Tensor:
        return torch.stack([torch.zeros(self.d, dtype=DTYPE), torch.ones(self.d, dtype=DTYPE)])


@dataclass(frozen=True)
class OutcomeConstraint:
    """``sign * Z[..., column] <= bound`` (``op='<='``) or ``>= bound``, on model outputs."""

    column: int
    sign: float
    op: str
    bound: float

    def callable(self) -> Callable[[Tensor], Tensor]:
        col, s, b, le = self.column, self.sign, self.bound, self.op == "<="
        if le:
            return lambda Z: s * Z[..., col] - b
        return lambda Z: b - s * Z[..., col]


# --------------------------------------------------------------------------- model


def fit_model(
    X: Tensor,
    Y: Tensor,
    cat_dims: Sequence[int] = (),
    warm_state: dict[str, Any] | None = None,
    maxiter: int = 75,
    prior: str = "dim_scaled",
    input_transform: Any = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit a GP to ``X`` (``n x d``) and ``Y`` (``n x k``), return it and its hyperparameters.

    Args:
        warm_state: hyperparameters from a previous fit (as returned here). Starting from it
            makes the fit 3-4x faster.
        maxiter: L-BFGS iterations of the marginal-likelihood fit.
        prior: the hyperparameter priors: ``"dim_scaled"`` is BoTorch's default (an RBF
            kernel whose lengthscale prior grows with the number of inputs, Hvarfner et al.
            2024); ``"gamma"`` is BoTorch's default before 0.12 (Matern-5/2, lengthscale
            Gamma(3, 6), noise Gamma(1.1, 0.05)).
        input_transform: a BoTorch input transform (the inactive coordinates of a
            conditional space, :class:`~hpo_notebook.optimizers.botorch.conditional.InactiveFill`).

    Raises:
        botorch.exceptions.ModelFittingError: the fit failed (callers fall back).
        ValueError: ``warm_state`` does not match this model's hyperparameters.
    """
    if prior not in ("dim_scaled", "gamma"):  # "hedge" is the adapter's: it fits both
        raise ValueError(f"unknown GP prior {prior!r}; expected 'dim_scaled' or 'gamma'")
    k = Y.shape[-1]
    kwargs: dict[str, Any] = {"outcome_transform": Standardize(k)}
    if input_transform is not None:
        kwargs["input_transform"] = input_transform
    if prior == "gamma":
        kwargs.update(_gamma_modules(X.shape[-1], k, bool(cat_dims)))
    if cat_dims:
        model = MixedSingleTaskGP(X, Y, cat_dims=list(cat_dims), **kwargs)
    else:
        model = SingleTaskGP(X, Y, **kwargs)
    if warm_state and not _load_hyperparameters(model, warm_state):
        raise ValueError("the warm-start state does not fit this model (other inputs or prior)")
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}})
    model.eval()
    return model, hyperparameters(model)


def _gamma_modules(d: int, k: int, mixed: bool) -> dict[str, Any]:
    """Kernel and likelihood with BoTorch's pre-0.12 Gamma priors, batched over ``k`` outputs."""
    batch = torch.Size([k]) if k > 1 else torch.Size()
    out: dict[str, Any] = {"likelihood": get_gaussian_likelihood_with_gamma_prior(batch)}
    if mixed:
        # MixedSingleTaskGP scales and combines the continuous kernel with its own.
        out["cont_kernel_factory"] = lambda batch_shape, ard_num_dims, active_dims: MaternKernel(
            nu=2.5,
            ard_num_dims=ard_num_dims,
            batch_shape=batch_shape,
            lengthscale_prior=GammaPrior(3.0, 6.0),
            active_dims=active_dims,
        )
    else:
        out["covar_module"] = get_matern_kernel_with_gamma_prior(d, batch)
    return out


def log_marginal_likelihood(model: Any) -> float:
    """The fitted model's log marginal likelihood plus log prior, summed over its outputs
    (what the fit maximizes: the higher of two fits of the same data is the better one)."""
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    model.train()
    try:
        with torch.no_grad():
            value = mll(model(*model.train_inputs), model.train_targets)
    finally:
        model.eval()
    return float(value.sum())


def hyperparameters(model: Any) -> dict[str, Any]:
    """The model's raw hyperparameters as JSON-friendly nested lists."""
    return {
        k: v.detach().tolist()
        for k, v in model.state_dict().items()
        if ".raw_" in f".{k}" and "_constraint" not in k
    }


def _load_hyperparameters(model: Any, state: dict[str, Any]) -> bool:
    current = model.state_dict()
    update = {}
    for k, v in state.items():
        if k not in current:
            return False
        t = torch.as_tensor(v, dtype=current[k].dtype)
        if t.shape != current[k].shape or not torch.isfinite(t).all():
            return False
        update[k] = t
    model.load_state_dict(update, strict=False)
    return True


# --------------------------------------------------------------------------- acquisition


def build_acquisition(
    name: str,
    model: Any,
    X_baseline: Tensor,
    Y_baseline: Tensor,
    n_objectives: int,
    ref_point: Sequence[float] | None,
    constraints: Sequence[OutcomeConstraint] = (),
    X_pending: Tensor | None = None,
    mc_samples: int = 128,
    seed: int = 0,
    scalarization_weights: Tensor | None = None,
    alpha: float = 0.0,
) -> Any:
    """Build a BoTorch acquisition function by name (one of :data:`ACQUISITIONS`).

    ``qLogPoF`` maximizes the probability that every constraint holds (used while no
    observed point is feasible); for it, ``constraints`` should include objective thresholds.
    ``alpha`` > 0 approximates the hypervolume box decompositions of qLogEHVI and qLogNEHVI
    (BoTorch's ``NondominatedPartitioning``): fewer boxes, faster with 3+ objectives. Exact
    decompositions use :class:`~hpo_notebook.optimizers.botorch.boxes.ExactPartitioning`.
    """
    # First, before any BoTorch constructor: qLogEHVI's and qLogNEHVI's would otherwise
    # compile BoTorch's fused kernel, or wait forever on a build lock left by a killed compile.
    ensure_nonblocking()

    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    cons = [c.callable() for c in constraints] or None
    k = Y_baseline.shape[-1]
    mo_objective = (
        IdentityMCMultiOutputObjective(outcomes=list(range(n_objectives)))
        if k > n_objectives >= 2
        else None
    )
    if name == "qLogPoF":
        return qLogProbabilityOfFeasibility(
            model, constraints=cons or [], sampler=sampler, X_pending=X_pending
        )
    if name == "qLogNEI":
        objective = GenericMCObjective(lambda Z, X=None: Z[..., 0]) if k > 1 else None
        return qLogNoisyExpectedImprovement(
            model,
            X_baseline=X_baseline,
            sampler=sampler,
            objective=objective,
            constraints=cons,
            X_pending=X_pending,
            prune_baseline=True,
        )
    if name == "qLogNParEGO":
        return qLogNParEGO(
            model,
            X_baseline=X_baseline,
            scalarization_weights=scalarization_weights,
            sampler=sampler,
            objective=mo_objective,
            constraints=cons,
            X_pending=X_pending,
            prune_baseline=True,
        )
    ref = torch.as_tensor(list(ref_point or []), dtype=DTYPE)
    if name == "qLogNEHVI":
        # BoTorch's own pruning (prune_baseline=True) keeps the same points, slower
        X_baseline = prune_baseline(
            model, X_baseline, ref, objective=mo_objective, constraints=cons, seed=seed
        )
        return log_nehvi(
            model,
            ref_point=ref,
            X_baseline=X_baseline,
            sampler=sampler,
            objective=mo_objective,
            constraints=cons,
            X_pending=X_pending,
            prune_baseline=False,
            cache_root=True,
            alpha=alpha,
        )
    if name == "qLogEHVI":
        # Partition the objective space under the model's posterior mean at the feasible
        # observed points: less sensitive to noise than the raw observations.
        with torch.no_grad():
            mean = model.posterior(X_baseline).mean
        feas = torch.ones(mean.shape[0], dtype=torch.bool)
        for c in constraints:
            feas &= c.callable()(mean) <= 0
        front = mean[feas][..., :n_objectives]
        partitioning = (
            NondominatedPartitioning(ref_point=ref, Y=front, alpha=alpha)
            if alpha > 0
            else ExactPartitioning(ref_point=ref, Y=front)
        )
        return qLogExpectedHypervolumeImprovement(
            model,
            ref_point=ref,
            partitioning=partitioning,
            sampler=sampler,
            objective=mo_objective,
            constraints=cons,
            X_pending=X_pending,
        )
    raise ValueError(f"unknown acquisition {name!r}; expected one of {ACQUISITIONS}")


# --------------------------------------------------------------------------- optimize


def optimize_candidates(
    acq: Any, dims: DimSpec, q: int, settings: OptimizeSettings | None = None
) -> Tensor:
    """Maximize ``acq`` over the space, returning ``q x d`` candidates (sequential greedy).

    Purely continuous spaces use ``optimize_acqf``; spaces with Int or Choice dimensions use
    ``optimize_acqf_mixed_alternating``, which searches discrete values directly instead of
    rounding a continuous optimum.
    """
    settings = settings or OptimizeSettings()
    bounds = dims.bounds
    fixed = dict(dims.fixed) or None
    if not dims.discrete_dims and not dims.cat_dims:
        lazy = settings.lazy_screening_from_q is not None and q >= settings.lazy_screening_from_q
        X, _ = optimize_acqf(
            acq,
            bounds=bounds,
            q=q,
            num_restarts=settings.num_restarts,
            raw_samples=settings.raw_samples,
            options={
                "maxiter": settings.maxiter,
                "batch_limit": settings.num_restarts,
                "init_batch_limit": settings.raw_samples,
                "sample_around_best": settings.sample_around_best,
            },
            sequential=True,
            fixed_features=fixed,
            ic_generator=_starts(settings, lazy),
        )
        return X.detach()
    X, _ = optimize_acqf_mixed_alternating(
        acq,
        bounds=bounds,
        discrete_dims=dims.discrete_dims,
        cat_dims=dims.cat_dims,
        q=q,
        num_restarts=settings.num_restarts,
        raw_samples=settings.raw_samples,
        options={"maxiter_alternating": settings.maxiter_alternating},
        fixed_features=fixed,
    )
    return X.detach()


class LazyStarts:
    """Starting points for the steps of a sequential-greedy batch, screened lazily.

    BoTorch screens ``raw_samples`` fresh points (twice that with ``sample_around_best``) for
    every point of a batch; for a batch of 32 that was 40% of the proposal. Here the first
    step screens as BoTorch does and keeps the points and their values. A later step's
    acquisition differs only by the points chosen since, which join the pending points and
    can only lower the hypervolume improvement elsewhere (it is submodular; Monte-Carlo
    noise aside). So the kept points are re-evaluated in order of their old values, a chunk
    at a time, until the best new value is at least the next old one (lazy greedy,
    Minoux 1978): the rest cannot beat it. The starting points are then drawn from the
    re-evaluated ones with BoTorch's ``initialize_q_batch``, as BoTorch draws them from all.

    Passed as ``optimize_acqf(..., ic_generator=LazyStarts())``, one per batch; a call it does
    not cover (q > 1, constraints on the inputs, fantasies) goes to BoTorch's own generator.
    """

    def __init__(self, chunk: int = 32, screening_mc: int | None = None) -> None:
        self.chunk = chunk
        self.screening_mc = screening_mc
        self.X: Tensor | None = None
        self.values: Tensor | None = None
        self.evaluated: list[int] = []  # points evaluated per step, for tests and reports

    def __call__(
        self,
        acq_function: Any,
        bounds: Tensor,
        q: int,
        num_restarts: int,
        raw_samples: int,
        fixed_features: dict[int, float] | None = None,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Tensor:
        options = options or {}
        if q != 1 or any(_given(v) for v in kwargs.values()):
            return gen_batch_initial_conditions(
                acq_function, bounds, q, num_restarts, raw_samples, fixed_features, options,
                **kwargs,
            )  # fmt: skip
        limit = int(options.get("init_batch_limit") or raw_samples)
        if self.X is None or self.values is None:
            X = draw_sobol_samples(bounds=bounds, n=raw_samples, q=1, seed=options.get("seed"))
            if options.get("sample_around_best"):
                near = sample_points_around_best(
                    acq_function=acq_function,
                    n_discrete_points=raw_samples,
                    sigma=options.get("sample_around_best_sigma", 1e-3),
                    bounds=bounds,
                    subset_sigma=options.get("sample_around_best_subset_sigma", 1e-1),
                    prob_perturb=options.get("sample_around_best_prob_perturb"),
                )
                if near is not None:
                    X = torch.cat([X, near.view(-1, 1, bounds.shape[-1]).to(X)])
            self.X = fix_features(X, fixed_features=fixed_features, replace_current_value=True)
            self.values = _evaluate(acq_function, self.X, limit, self.screening_mc)
            idx = torch.arange(len(self.X))
        else:
            order = torch.argsort(self.values, descending=True)
            done = 0
            while True:
                part = order[done : done + self.chunk]
                self.values[part] = _evaluate(acq_function, self.X[part], limit, self.screening_mc)
                done += len(part)
                if (
                    done >= len(order)
                    or self.values[order[:done]].max() >= self.values[order[done]]
                ):
                    break
            idx = order[:done]
        self.evaluated.append(len(idx))
        eta = {"eta": options["eta"]} if "eta" in options else {}
        starts, _ = initialize_q_batch(
            X=self.X[idx], acq_vals=self.values[idx], n=num_restarts, **eta
        )
        return starts


def _given(value: Any) -> bool:
    """Whether an optional argument of BoTorch's generator was passed (None and [] are not)."""
    return value is not None and not (isinstance(value, (list, tuple)) and len(value) == 0)


def _evaluate(acq: Any, X: Tensor, limit: int, screening_mc: int | None = None) -> Tensor:
    with torch.no_grad(), _screening(acq, screening_mc):
        return torch.cat([acq(x).detach() for x in X.split(limit)])


def _screening(acq: Any, mc_samples: int | None) -> AbstractContextManager[None]:
    """``acq.screening(mc_samples)`` where the acquisition has it (qLogNEHVI's, see
    :mod:`~hpo_notebook.optimizers.botorch.boxes`), else nothing."""
    if mc_samples is None or not hasattr(acq, "screening"):
        return nullcontext()
    return acq.screening(mc_samples)


def _starts(settings: OptimizeSettings, lazy: bool) -> Callable[..., Tensor] | None:
    """The starting-point generator for ``optimize_acqf`` (None: BoTorch's own)."""
    if lazy:
        return LazyStarts(screening_mc=settings.screening_mc_samples)
    if settings.screening_mc_samples is None:
        return None
    return functools.partial(_screened_starts, settings.screening_mc_samples)


def _screened_starts(
    screening_mc: int | None, acq_function: Any, *args: Any, **kwargs: Any
) -> Tensor:
    """BoTorch's starting points, its raw points judged on ``screening_mc`` MC samples."""
    with _screening(acq_function, screening_mc):
        return gen_batch_initial_conditions(acq_function, *args, **kwargs)


def resolve_device(name: str) -> torch.device:
    """The torch device an ``OptimizeSettings.device`` names: ``"auto"`` is the first CUDA
    GPU when torch sees one, else the CPU.

    Raises:
        ValueError: a CUDA device that torch does not see here.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        seen = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= seen:
            raise ValueError(
                f"device={name!r}, but torch sees {seen} CUDA GPU(s) in this process; use "
                f"'auto', 'cpu'" + (f" or 'cuda:0' to 'cuda:{seen - 1}'" if seen else "")
            )
    return device


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (None leaves it alone)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sample_weights(m: int, generator: torch.Generator) -> Tensor:
    """A uniform draw from the ``m``-simplex (ParEGO's random scalarization weights)."""
    e = -torch.log(torch.rand(m, generator=generator, dtype=DTYPE, device=generator.device))
    return e / e.sum()


__all__ = [
    "ACQUISITIONS",
    "DimSpec",
    "OptimizeSettings",
    "OutcomeConstraint",
    "build_acquisition",
    "fit_model",
    "hyperparameters",
    "log_marginal_likelihood",
    "optimize_candidates",
    "resolve_device",
    "sample_weights",
]
