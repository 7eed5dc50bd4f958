"""Outside reference methods ("peers") for the multi-objective benchmarks.

Each ``run_*`` function optimizes one problem from
:data:`benchmarks._problems.PROBLEMS` for a fixed budget and returns the tensor
``Y`` (``n_evals x 2``) of every evaluation in order, in BoTorch's maximized frame
and noiseless (the output of ``problem(X)``), ready for
:func:`benchmarks._problems.gap_curve`. The ``time_*`` functions measure the
latency of a single suggestion call of each peer for the suggestion-latency
benchmark.

The setups follow ``/work/shared/recipes/peers.md``:

* every method gets the same budget and the same reference point (as objective
  thresholds where the method takes them);
* model-based methods start from an initial design of ``2 * (d + 1)`` points
  unless told otherwise (Ax: the centre of the space counts as one of them);
* the plain BoTorch loop is the tutorial-style loop (batched ``SingleTaskGP``,
  ``fit_gpytorch_mll``, qLogNEHVI or qLogEHVI, ``optimize_acqf`` with 10 restarts
  and 512 raw samples, sequential greedy batches).

Ax and Optuna log every trial at INFO level; call :func:`quiet_peer_logging` to
silence them. The first use of BoTorch's log-EHVI family compiles a C++ kernel
(about 50 s once, then cached under the torch extensions folder), so warm it up
before timing anything.

Run ``python -m benchmarks._peers --smoke`` from the repository root for a quick
check (12 evaluations per method on BraninCurrin), or
``python -m benchmarks._peers --problems BraninCurrin ZDT1`` for full runs.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

import optuna
import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.acquisition.multi_objective.logei import (
    qLogExpectedHypervolumeImprovement,
    qLogNoisyExpectedHypervolumeImprovement,
)
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.optim import optimize_acqf
from botorch.sampling.normal import SobolQMCNormalSampler
from botorch.test_functions.multi_objective import MultiObjectiveTestProblem
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
)
from botorch.utils.sampling import draw_sobol_samples
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor

from benchmarks._problems import PROBLEMS, TIMING_PROBLEMS, gap_curve, log_hv_gap

if TYPE_CHECKING:
    from ax import Client

__all__ = [
    "default_n_init",
    "quiet_peer_logging",
    "run_ax",
    "run_nsga2",
    "run_plain_botorch",
    "run_sobol",
    "time_ax_suggest",
    "time_optuna_gp_suggest",
    "time_plain_botorch_suggest",
]

Acquisition = Literal["qLogNEHVI", "qLogEHVI"]

# Tutorial settings for the plain BoTorch loop (see peers.md).
_MC_SAMPLES = 128
_NUM_RESTARTS = 10
_RAW_SAMPLES = 512
_OPTIMIZER_OPTIONS: dict[str, int] = {"batch_limit": 5, "maxiter": 200}


# --------------------------------------------------------------------------- helpers
def _problem(name: str) -> MultiObjectiveTestProblem:
    """Builds the named benchmark problem.

    Args:
        name: A key of :data:`benchmarks._problems.PROBLEMS`.

    Returns:
        A fresh problem instance (float64, maximized frame).

    Raises:
        KeyError: If ``name`` is not a known problem.
    """
    known = {**PROBLEMS, **TIMING_PROBLEMS}
    if name not in known:
        raise KeyError(f"Unknown problem {name!r}; choose from {sorted(known)}.")
    return known[name]()


def default_n_init(problem: MultiObjectiveTestProblem) -> int:
    """Returns the default initial-design size ``2 * (d + 1)``.

    Args:
        problem: The test problem.

    Returns:
        The number of initial (quasi-random) evaluations for model-based peers.
    """
    return 2 * (problem.dim + 1)


def _sobol_design(problem: MultiObjectiveTestProblem, n: int, seed: int) -> Tensor:
    """Draws a seeded, scrambled Sobol design in the problem's bounds.

    Args:
        problem: The test problem.
        n: Number of points.
        seed: Seed for the scrambling.

    Returns:
        ``n x d`` float64 tensor of points.
    """
    return draw_sobol_samples(bounds=problem.bounds, n=n, q=1, seed=seed).squeeze(1)


def _evaluate(problem: MultiObjectiveTestProblem, X: Tensor) -> Tensor:
    """Evaluates the problem without noise.

    Args:
        problem: The test problem (maximized frame).
        X: ``n x d`` points.

    Returns:
        ``n x m`` noiseless objective values in the maximized frame.
    """
    return problem(X.to(problem.bounds), noise=False)


def quiet_peer_logging(level: int = logging.WARNING) -> None:
    """Raises the log level of Ax's handlers and Optuna's logger.

    Ax attaches an INFO handler to its root ``"ax"`` logger and Optuna logs every
    finished trial; both would flood benchmark output. This changes global logging
    state, so call it from scripts, not from library code.

    Args:
        level: The minimum level to keep.
    """
    # Ax attaches its handler when it is first imported, so import it first.
    import ax  # noqa: F401

    optuna.logging.set_verbosity(level)
    for handler in logging.getLogger("ax").handlers:
        handler.setLevel(level)


# --------------------------------------------------------------------------- Sobol
def run_sobol(name: str, seed: int, n_evals: int = 48) -> Tensor:
    """Quasi-random search with a scrambled Sobol sequence.

    The first ``2 * (d + 1)`` points are the same as the initial design of
    :func:`run_plain_botorch` with the same seed.

    Args:
        name: Problem name (key of :data:`benchmarks._problems.PROBLEMS`).
        seed: Seed for the Sobol scrambling.
        n_evals: Number of evaluations.

    Returns:
        ``n_evals x m`` noiseless objective values (maximized frame), in order.
    """
    problem = _problem(name)
    return _evaluate(problem, _sobol_design(problem, n_evals, seed))


# --------------------------------------------------------------------------- NSGA-II
def run_nsga2(name: str, seed: int, n_evals: int = 48, population: int = 12) -> Tensor:
    """Optuna's NSGA-II with a population small enough for the budget.

    Uses ``optuna.samplers.NSGAIISampler(population_size=population, seed=seed)``
    through Optuna's ask-and-tell interface with both objectives maximized. The
    sampler's default population of 50 would exceed a 48-evaluation budget, so
    NSGA-II would never leave its random first generation; ``population=12`` gives
    four generations in 48 evaluations.

    Args:
        name: Problem name (key of :data:`benchmarks._problems.PROBLEMS`).
        seed: Seed of the sampler.
        n_evals: Number of evaluations.
        population: NSGA-II population size.

    Returns:
        ``n_evals x m`` noiseless objective values (maximized frame), in order.
    """
    problem = _problem(name)
    sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    study = optuna.create_study(directions=["maximize"] * problem.num_objectives, sampler=sampler)
    distributions = _optuna_distributions(problem)
    ys: list[Tensor] = []
    for _ in range(n_evals):
        trial = study.ask()
        x = [trial.suggest_float(key, d.low, d.high) for key, d in distributions.items()]
        y = _evaluate(problem, torch.tensor([x], dtype=torch.float64))
        study.tell(trial, y.squeeze(0).tolist())
        ys.append(y)
    return torch.cat(ys, dim=0)


def _optuna_distributions(
    problem: MultiObjectiveTestProblem,
) -> dict[str, optuna.distributions.FloatDistribution]:
    """Builds Optuna float distributions ``x0 .. x{d-1}`` from the problem bounds.

    Args:
        problem: The test problem.

    Returns:
        Ordered mapping from parameter name to its distribution.
    """
    lower, upper = problem.bounds.tolist()
    return {
        f"x{i}": optuna.distributions.FloatDistribution(lo, hi)
        for i, (lo, hi) in enumerate(zip(lower, upper, strict=True))
    }


# --------------------------------------------------------------------------- BoTorch
def _plain_botorch_candidates(
    X: Tensor,
    Y: Tensor,
    bounds: Tensor,
    ref_point: Tensor,
    q: int,
    acquisition: Acquisition,
    seed: int,
) -> Tensor:
    """One step of the tutorial-style loop: fit, build the acquisition, optimize.

    Args:
        X: ``n x d`` observed points.
        Y: ``n x m`` observed values (maximized frame).
        bounds: ``2 x d`` search-space bounds.
        ref_point: ``m`` reference point (maximized frame).
        q: Batch size.
        acquisition: ``"qLogNEHVI"`` or ``"qLogEHVI"``.
        seed: Seed of the QMC sampler.

    Returns:
        ``q x d`` candidates.

    Raises:
        ValueError: If ``acquisition`` is unknown.
    """
    model = SingleTaskGP(
        X,
        Y,
        input_transform=Normalize(d=X.shape[-1], bounds=bounds),
        outcome_transform=Standardize(m=Y.shape[-1]),
    )
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([_MC_SAMPLES]), seed=seed)
    acqf: AcquisitionFunction
    if acquisition == "qLogNEHVI":
        acqf = qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=ref_point.tolist(),
            X_baseline=X,
            prune_baseline=True,
            sampler=sampler,
        )
    elif acquisition == "qLogEHVI":
        with torch.no_grad():
            pred = model.posterior(X).mean
        partitioning = FastNondominatedPartitioning(ref_point=ref_point, Y=pred)
        acqf = qLogExpectedHypervolumeImprovement(
            model=model,
            ref_point=ref_point.tolist(),
            partitioning=partitioning,
            sampler=sampler,
        )
    else:
        raise ValueError(f"Unknown acquisition {acquisition!r}.")
    candidates, _ = optimize_acqf(
        acq_function=acqf,
        bounds=bounds,
        q=q,
        num_restarts=_NUM_RESTARTS,
        raw_samples=_RAW_SAMPLES,
        options=dict(_OPTIMIZER_OPTIONS),
        sequential=True,
    )
    return candidates.detach()


def run_plain_botorch(
    name: str,
    seed: int,
    n_evals: int = 48,
    q: int = 4,
    acquisition: Acquisition = "qLogNEHVI",
    n_init: int | None = None,
) -> Tensor:
    """The tutorial-style BoTorch loop described in peers.md.

    A Sobol initial design of ``n_init`` points (the same points as
    :func:`run_sobol` with this seed), then batches of ``q`` candidates from a
    batched ``SingleTaskGP`` (``Normalize`` inputs, ``Standardize(m)`` outcomes,
    fitted with ``fit_gpytorch_mll``) and qLogNEHVI (``prune_baseline=True``) or
    qLogEHVI (partitioning of the posterior mean at the observed points), with a
    ``SobolQMCNormalSampler(128, seed)`` and ``optimize_acqf(num_restarts=10,
    raw_samples=512, options={"batch_limit": 5, "maxiter": 200}, sequential=True)``.
    The last batch is shortened so that exactly ``n_evals`` points are evaluated.
    Torch's global RNG is seeded with ``seed`` inside ``torch.random.fork_rng``, so
    the caller's RNG state is left untouched.

    Args:
        name: Problem name (key of :data:`benchmarks._problems.PROBLEMS`).
        seed: Seed for the initial design, the QMC sampler and torch's RNG.
        n_evals: Number of evaluations, including the initial design.
        q: Batch size.
        acquisition: ``"qLogNEHVI"`` or ``"qLogEHVI"``.
        n_init: Initial-design size; ``None`` means ``2 * (d + 1)``.

    Returns:
        ``n_evals x m`` noiseless objective values (maximized frame), in order.
    """
    problem = _problem(name)
    n_init = default_n_init(problem) if n_init is None else n_init
    n_init = min(n_init, n_evals)
    ref_point = problem.ref_point
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        X = _sobol_design(problem, n_init, seed)
        Y = _evaluate(problem, X)
        while X.shape[0] < n_evals:
            q_now = min(q, n_evals - X.shape[0])
            X_new = _plain_botorch_candidates(
                X, Y, problem.bounds, ref_point, q_now, acquisition, seed
            )
            X = torch.cat([X, X_new], dim=0)
            Y = torch.cat([Y, _evaluate(problem, X_new)], dim=0)
    return Y


def time_plain_botorch_suggest(
    X: Tensor,
    Y: Tensor,
    bounds: Tensor,
    ref_point: Tensor,
    q: int = 4,
    seed: int = 0,
) -> float:
    """Times one suggestion of the tutorial-style loop (qLogNEHVI).

    Measures fitting the GP, building qLogNEHVI and optimizing one batch of ``q``
    with the settings of :func:`run_plain_botorch`. Call once beforehand to
    exclude the one-off compilation of BoTorch's log-EHVI C++ kernel.

    Args:
        X: ``n x d`` observed points.
        Y: ``n x m`` observed values (maximized frame).
        bounds: ``2 x d`` search-space bounds.
        ref_point: ``m`` reference point (maximized frame).
        q: Batch size.
        seed: Seed of the QMC sampler and torch's RNG (restored afterwards).

    Returns:
        Wall-clock seconds for the whole suggestion.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        start = time.perf_counter()
        _plain_botorch_candidates(X, Y, bounds, ref_point, q, "qLogNEHVI", seed)
        return time.perf_counter() - start


# --------------------------------------------------------------------------- Ax
def _ax_client(
    problem: MultiObjectiveTestProblem,
    seed: int,
    n_init: int,
    initialize_with_center: bool,
) -> Client:
    """Configures an Ax 1.3 ``Client`` for a problem.

    Ax sees the raw problem in the minimization frame: metrics ``f0, f1`` with
    ``f_i = -problem(X)[i]``, objective ``"-f0, -f1"`` and outcome constraints
    ``f_i <= -ref_point[i]``, which Ax turns into objective thresholds equal to
    the problem's reference point.

    Args:
        problem: The test problem (maximized frame).
        seed: ``Client(random_seed=seed)`` and the Sobol initialization seed.
        n_init: Initialization budget (including the centre point, if any).
        initialize_with_center: Whether the first trial is the centre of the space.

    Returns:
        The configured ``ax.Client``.
    """
    # Imported lazily: importing Ax takes seconds and is only needed here.
    from ax import Client, RangeParameterConfig

    client = Client(random_seed=seed)
    lower, upper = problem.bounds.tolist()
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(
                name=f"x{i}", parameter_type="float", bounds=(float(lo), float(hi))
            )
            for i, (lo, hi) in enumerate(zip(lower, upper, strict=True))
        ]
    )
    metrics = [f"f{i}" for i in range(problem.num_objectives)]
    thresholds = (-problem.ref_point).tolist()
    client.configure_optimization(
        objective=", ".join(f"-{metric}" for metric in metrics),
        outcome_constraints=[
            f"{metric} <= {threshold!r}"
            for metric, threshold in zip(metrics, thresholds, strict=True)
        ],
    )
    # Ax's default strategy ("fast": centre + Sobol + MBM) with the shared
    # initial-design size; initialize_with_center is a documented argument here.
    client.configure_generation_strategy(
        initialization_budget=n_init,
        initialization_random_seed=seed,
        initialize_with_center=initialize_with_center,
    )
    return client


def _ax_point(problem: MultiObjectiveTestProblem, parameters: Mapping[str, object]) -> Tensor:
    """Converts an Ax parameterization to a ``1 x d`` tensor.

    Args:
        problem: The test problem.
        parameters: Mapping ``x0 .. x{d-1}`` to floats.

    Returns:
        ``1 x d`` float64 tensor.
    """
    return torch.tensor(
        [[float(parameters[f"x{i}"]) for i in range(problem.dim)]],
        dtype=torch.float64,
    )


def _ax_outcome(y: Tensor) -> dict[str, float]:
    """Converts a ``1 x m`` maximized-frame value to Ax's minimized metrics.

    Args:
        y: ``1 x m`` noiseless objective values (maximized frame).

    Returns:
        ``{"f0": -y0, "f1": -y1, ...}`` (noise left for Ax to infer).
    """
    return {f"f{i}": -float(v) for i, v in enumerate(y.squeeze(0).tolist())}


def run_ax(
    name: str,
    seed: int,
    n_evals: int = 48,
    q: int = 4,
    n_init: int | None = None,
    initialize_with_center: bool = True,
) -> Tensor:
    """Ax 1.3's default generation strategy through its ``Client`` API.

    Objective thresholds are the problem's reference point (see
    :func:`_ax_client`). Trials are requested with
    ``get_next_trials(max_trials=q)`` (fewer near the end of the budget) and all
    trials of a call are evaluated before the next call. Ax may return fewer
    trials than asked and the loop then simply asks again: Ax 1.3.1 caps a call
    at what the current node still allows, so with ``n_init=6`` and ``q=4`` the
    batches are 4 (centre + 3 Sobol), 2 (Sobol), 1 (the first model-based trial,
    capped by the exhausted Sobol node), then 4, 4, ... Evaluations are reported
    as plain floats, so Ax infers the noise level.

    Args:
        name: Problem name (key of :data:`benchmarks._problems.PROBLEMS`).
        seed: ``Client(random_seed=seed)`` and Sobol initialization seed.
        n_evals: Number of evaluations.
        q: Maximum number of trials per ``get_next_trials`` call.
        n_init: Initialization budget including the centre point; ``None`` means
            ``2 * (d + 1)``, the same design size as the other peers (Ax's own
            default would be 5).
        initialize_with_center: Whether the first trial is the centre of the
            search space (passed to ``Client.configure_generation_strategy``).

    Returns:
        ``n_evals x m`` noiseless objective values (maximized frame), in order.

    Raises:
        RuntimeError: If Ax stops producing trials before the budget is spent.
    """
    problem = _problem(name)
    n_init = default_n_init(problem) if n_init is None else n_init
    client = _ax_client(problem, seed, n_init, initialize_with_center)
    ys: list[Tensor] = []
    while len(ys) < n_evals:
        trials = client.get_next_trials(max_trials=min(q, n_evals - len(ys)))
        if not trials:
            raise RuntimeError(f"Ax returned no trials after {len(ys)} evaluations.")
        for index, parameters in sorted(trials.items()):
            y = _evaluate(problem, _ax_point(problem, parameters))
            client.complete_trial(trial_index=index, raw_data=_ax_outcome(y))
            ys.append(y)
    return torch.cat(ys, dim=0)


def time_ax_suggest(name: str, n_obs: int, seed: int, q: int = 4, X: Tensor | None = None) -> float:
    """Times one Ax ``get_next_trials(max_trials=q)`` after ``n_obs`` observations.

    The client is configured as in :func:`run_ax` (initial design ``2 * (d + 1)``)
    but with ``initialize_with_center=False``; ``n_obs`` Sobol points are attached
    with ``Client.attach_trial`` and completed with their noiseless values. Ax
    counts attached trials towards initialization, so the timed call is the
    model-based step (fit + qLogNEHVI + optimization) for all ``q`` trials. With
    the centre node enabled, Ax 1.3.1 skips the centre but then still emits one
    Sobol trial before switching to the model, so the call would time a mix.

    Args:
        name: Problem name (key of :data:`benchmarks._problems.PROBLEMS`).
        n_obs: Number of existing observations; at least ``2 * (d + 1)``.
        seed: Seed of the Sobol observations and of the Ax client.
        q: Batch size requested.
        X: the ``n_obs x d`` observed points (default: a Sobol design).

    Returns:
        Wall-clock seconds of the ``get_next_trials`` call.

    Raises:
        ValueError: If ``n_obs`` is smaller than the initialization budget (the
            call would then time Sobol, not the model).
        RuntimeError: If Ax did not produce ``q`` model-based trials.
    """
    problem = _problem(name)
    n_init = default_n_init(problem)
    if n_obs < n_init:
        raise ValueError(f"n_obs must be at least {n_init} for {name}, got {n_obs}.")
    client = _ax_client(problem, seed, n_init, initialize_with_center=False)
    X = _sobol_design(problem, n_obs, seed) if X is None else X
    Y = _evaluate(problem, X)
    for x, y in zip(X, Y, strict=True):
        parameters = {f"x{i}": float(v) for i, v in enumerate(x.tolist())}
        index = client.attach_trial(parameters=parameters)
        client.complete_trial(trial_index=index, raw_data=_ax_outcome(y.unsqueeze(0)))
    start = time.perf_counter()
    trials = client.get_next_trials(max_trials=q)
    elapsed = time.perf_counter() - start
    nodes = client.summarize(trial_indices=list(trials))["generation_node"].tolist()
    if len(trials) != q or any(node != "MBM" for node in nodes):
        raise RuntimeError(f"Expected {q} trials from Ax's MBM node, got {nodes}.")
    return elapsed


# --------------------------------------------------------------------------- Optuna GP
def time_optuna_gp_suggest(name: str, n_obs: int, seed: int, X: Tensor | None = None) -> float:
    """Times one multi-objective ``GPSampler`` suggestion after ``n_obs`` trials.

    ``n_obs`` Sobol points with their noiseless values are added with
    ``study.add_trial(optuna.trial.create_trial(...))`` to a study that maximizes
    every objective; the timed part is ``study.ask()`` plus ``suggest_float`` for
    every parameter (GPSampler proposes one point per call). With ``n_obs`` below
    the sampler's 10 start-up trials the call would be random sampling.

    Args:
        name: Problem name (key of :data:`benchmarks._problems.PROBLEMS`).
        n_obs: Number of existing trials.
        seed: Seed of the Sobol points and of ``GPSampler``.
        X: the ``n_obs x d`` observed points (default: a Sobol design).

    Returns:
        Wall-clock seconds of the ask-and-sample call.
    """
    problem = _problem(name)
    distributions = _optuna_distributions(problem)
    study = optuna.create_study(
        directions=["maximize"] * problem.num_objectives,
        sampler=optuna.samplers.GPSampler(seed=seed),
    )
    X = _sobol_design(problem, n_obs, seed) if X is None else X
    Y = _evaluate(problem, X)
    for x, y in zip(X, Y, strict=True):
        study.add_trial(
            optuna.trial.create_trial(
                params=dict(zip(distributions, x.tolist(), strict=True)),
                distributions=distributions,
                values=y.tolist(),
            )
        )
    start = time.perf_counter()
    trial = study.ask()
    for key, dist in distributions.items():
        trial.suggest_float(key, dist.low, dist.high)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- CLI
_METHODS: dict[str, Callable[[str, int, int], Tensor]] = {
    "sobol": lambda name, seed, n: run_sobol(name, seed, n_evals=n),
    "nsga2": lambda name, seed, n: run_nsga2(name, seed, n_evals=n),
    "botorch_qlognehvi": lambda name, seed, n: run_plain_botorch(
        name, seed, n_evals=n, acquisition="qLogNEHVI"
    ),
    "botorch_qlogehvi": lambda name, seed, n: run_plain_botorch(
        name, seed, n_evals=n, acquisition="qLogEHVI"
    ),
    "ax": lambda name, seed, n: run_ax(name, seed, n_evals=n),
    "ax_no_center": lambda name, seed, n: run_ax(
        name, seed, n_evals=n, initialize_with_center=False
    ),
}


def _main(argv: list[str] | None = None) -> None:
    """Runs peers and prints log10 hypervolume gaps and wall times.

    Args:
        argv: Command-line arguments (``None`` means ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="12 evaluations on BraninCurrin only.")
    parser.add_argument("--problems", nargs="+", default=["BraninCurrin"])
    parser.add_argument("--methods", nargs="+", default=list(_METHODS), choices=list(_METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-evals", type=int, default=48)
    args = parser.parse_args(argv)
    problems = ["BraninCurrin"] if args.smoke else args.problems
    n_evals = 12 if args.smoke else args.n_evals
    checkpoints = (*(k for k in (16, 32, 48) if k < n_evals), n_evals)
    quiet_peer_logging()
    for name in problems:
        problem = _problem(name)
        for method in args.methods:
            start = time.perf_counter()
            Y = _METHODS[method](name, args.seed, n_evals)
            elapsed = time.perf_counter() - start
            if Y.shape != (n_evals, problem.num_objectives):
                raise RuntimeError(f"{method} returned Y of shape {tuple(Y.shape)}.")
            curve = gap_curve(problem, Y, checkpoints)
            gaps = "  ".join(f"@{k}: {v:6.3f}" for k, v in curve.items())
            print(
                f"{name:12s} {method:18s} seed {args.seed}  {gaps}  "
                f"final {log_hv_gap(problem, Y):6.3f}  {elapsed:7.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    _main()
