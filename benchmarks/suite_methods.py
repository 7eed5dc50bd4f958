"""The methods the suite compares, each driven the way its users drive it.

Every ``run_*`` takes a :class:`~benchmarks.suite_problems.SuiteProblem`, a seed and a
budget, and returns the parameters it evaluated, in order, plus a few facts about the run
(seconds per batch). Methods see only what a user would give them: the space, the objectives
and their directions, the thresholds when the problem states them, the outcome constraints,
and the (maybe noisy) observed metrics. Scoring happens elsewhere, on noiseless values.

- ``ours``: hpo_notebook's ``Study`` through ``ask``/``tell``, in batches of ``q``.
- ``Sobol``: the study's scrambled Sobol sequence.
- ``Optuna TPE`` / ``Optuna GP``: Optuna 5's samplers, one point at a time (the GP sampler
  proposes one at a time), with ``constraints_func`` for outcome constraints.
- ``Ax``: Ax 1.3's ``Client`` with its default generation strategy, in batches of ``q``.
- ``BoTorch``: the tutorial loop (``SingleTaskGP``, qLogNEHVI, ``optimize_acqf``) over the
  unit cube; Int and Choice parameters are relaxed and rounded, as a user of that loop would.
"""

from __future__ import annotations

import logging
import math
import time
import typing
from typing import Any

import numpy as np

import hpo_notebook as hn
from benchmarks.suite_problems import SuiteProblem

Params = dict[str, Any]


def _rng(seed: int) -> np.random.Generator:
    """The noise of the observations: the same for every method given the same seed."""
    return np.random.default_rng([seed, 0xB0B])


def quiet() -> None:
    """Silence the peers' per-trial logging."""
    for name in ("ax", "optuna", "botorch", "gpytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:  # pragma: no cover - a bench extra
        pass


# ---------------------------------------------------------------------- ours


def run_ours(
    problem: SuiteProblem,
    seed: int,
    n: int,
    q: int = 4,
    optimizer: Any = "qLogNEHVI",
) -> dict[str, Any]:
    objectives: dict[str, Any] = {}
    for name, direction in problem.objectives.items():
        thr = (problem.thresholds or {}).get(name)
        objectives[name] = hn.Objective(direction, threshold=thr)
    study = hn.Study(
        None,
        problem.space,
        objectives=objectives,
        constraints=problem.constraints or None,
        seed=seed,
        optimizer=optimizer,
    )
    rng = _rng(seed)
    params: list[Params] = []
    batch_s: list[float] = []
    while len(params) < n:
        t0 = time.perf_counter()
        trials = study.ask(min(q, n - len(params)))
        if study.trial(trials[0].number).proposal.get("kind", "").startswith("q"):
            batch_s.append(time.perf_counter() - t0)
        for t in trials:
            study.tell(t, problem.evaluate(t.params, rng))
            params.append(dict(t.params))
    kinds = [t.proposal.get("kind", "") for t in study.trials]
    return {"params": params, "batch_s": batch_s, "fallbacks": sum("sobol-" in k for k in kinds)}


def run_sobol(problem: SuiteProblem, seed: int, n: int) -> dict[str, Any]:
    return {"params": problem.space.sobol(n, seed)}


# ---------------------------------------------------------------------- Optuna


def optuna_distributions(space: hn.Space) -> dict[str, Any]:
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, hn.Float):
            out[name] = od.FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, hn.Int):
            out[name] = od.IntDistribution(p.low, p.high, log=p.log)
        else:
            out[name] = od.CategoricalDistribution(list(p.options))
    return out


def run_optuna(problem: SuiteProblem, seed: int, n: int, sampler: str) -> dict[str, Any]:
    import optuna

    names = list(problem.objectives)
    constraints = problem.constraints

    def constraints_func(trial: optuna.trial.FrozenTrial) -> list[float]:
        return list(trial.user_attrs.get("constraints", [0.0] * len(constraints)))

    kwargs: dict[str, Any] = {"seed": seed}
    if constraints:
        kwargs["constraints_func"] = constraints_func
    if sampler == "GP":
        s = optuna.samplers.GPSampler(**kwargs)
    elif sampler == "TPE-group":  # what Optuna's docs advise for conditional spaces
        s = optuna.samplers.TPESampler(multivariate=True, group=True, **kwargs)
    else:
        s = optuna.samplers.TPESampler(**kwargs)
    study = optuna.create_study(
        directions=["minimize" if problem.objectives[m] == "min" else "maximize" for m in names],
        sampler=s,
    )
    dists = optuna_distributions(problem.space)
    rng = _rng(seed)
    params: list[Params] = []
    step_s: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        if problem.space.is_conditional:
            trial = study.ask()
            p = _define_by_run(trial, problem.space)
        else:
            trial = study.ask(dists)
            p = dict(trial.params)
        step_s.append(time.perf_counter() - t0)
        y = problem.evaluate(p, rng)
        if constraints:  # Optuna: a value <= 0 means satisfied
            trial.set_user_attr(
                "constraints",
                [(y[m] - b) if op == "<=" else (b - y[m]) for m, (op, b) in constraints.items()],
            )
        values = [y[m] if math.isfinite(y[m]) else 1e300 for m in names]
        study.tell(trial, values)
        params.append(p)
    return {"params": params, "batch_s": step_s}


def _define_by_run(trial: Any, space: hn.Space) -> Params:
    """Optuna's way with a tree: suggest each parameter once the choices above make it active
    (as a user's objective function would, branch by branch)."""
    p: Params = {}
    for name in space.names:
        if name in space.active_names(p):
            q = space[name]
            if isinstance(q, hn.Float):
                p[name] = trial.suggest_float(name, q.low, q.high, log=q.log)
            elif isinstance(q, hn.Int):
                p[name] = trial.suggest_int(name, q.low, q.high, log=q.log)
            else:
                p[name] = trial.suggest_categorical(name, list(q.options))
    return p


# ---------------------------------------------------------------------- Ax


def run_ax(problem: SuiteProblem, seed: int, n: int, q: int = 4) -> dict[str, Any]:
    from ax import ChoiceParameterConfig, Client, RangeParameterConfig

    client = Client(random_seed=seed)
    parameters: list[Any] = []
    for name, p in problem.space.items():
        if isinstance(p, (hn.Float, hn.Int)):
            parameters.append(
                RangeParameterConfig(
                    name=name,
                    parameter_type="float" if isinstance(p, hn.Float) else "int",
                    bounds=(p.low, p.high),
                    scaling="log" if p.log else "linear",
                )
            )
        else:
            # a tree: Ax's hierarchical search space, each option's own parameters dependent
            dependents = {str(o): list(b.top_level()) for o, b in zip(p.options, p.branches) if b}
            parameters.append(
                ChoiceParameterConfig(
                    name=name,
                    parameter_type="str",
                    values=[str(o) for o in p.options],
                    is_ordered=False,
                    dependent_parameters=dependents or None,
                )
            )
    client.configure_experiment(parameters=parameters)
    objective = ", ".join(("-" if d == "min" else "") + m for m, d in problem.objectives.items())
    cons = [f"{m} {op} {b!r}" for m, (op, b) in problem.constraints.items()]
    for m, thr in (problem.thresholds or {}).items():
        cons.append(f"{m} {'<=' if problem.objectives[m] == 'min' else '>='} {thr!r}")
    client.configure_optimization(objective=objective, outcome_constraints=cons)
    rng = _rng(seed)
    options = {
        name: list(p.options) for name, p in problem.space.items() if isinstance(p, hn.Choice)
    }
    params: list[Params] = []
    batch_s: list[float] = []
    while len(params) < n:
        t0 = time.perf_counter()
        trials = client.get_next_trials(max_trials=min(q, n - len(params)))
        batch_s.append(time.perf_counter() - t0)
        if not trials:
            raise RuntimeError(f"Ax returned no trials after {len(params)} evaluations")
        for index, raw in sorted(trials.items()):
            p = {k: _from_ax(v, options.get(k)) for k, v in raw.items()}
            y = problem.evaluate(p, rng)
            data = {k: (v if math.isfinite(v) else 1e300) for k, v in y.items()}
            client.complete_trial(trial_index=index, raw_data=data)
            params.append(p)
    return {"params": params, "batch_s": batch_s}


def _from_ax(value: Any, options: list[Any] | None) -> Any:
    if options is None:
        return value
    return next(o for o in options if str(o) == value)


# ---------------------------------------------------------------------- plain BoTorch


def run_botorch(problem: SuiteProblem, seed: int, n: int, q: int = 4) -> dict[str, Any]:
    """The tutorial loop in the unit cube. Thresholds, when given, are the reference point;
    otherwise BoTorch's ``infer_reference_point`` on the observed front. Constraints are
    modelled as extra outcomes (``constraints=`` callables), as BoTorch's tutorial does."""
    import torch
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling.normal import SobolQMCNormalSampler
    from botorch.utils.multi_objective.hypervolume import infer_reference_point
    from gpytorch.mlls import ExactMarginalLogLikelihood

    space = problem.space
    names = list(problem.objectives)
    signs = [1.0 if problem.objectives[m] == "max" else -1.0 for m in names]
    cons = list(problem.constraints.items())
    rng = _rng(seed)
    n_init = min(n, 2 * (space.dim + 1))
    params: list[Params] = list(space.sobol(n_init, seed))
    rows: list[list[float]] = []

    def observe(p: Params) -> None:
        y = problem.evaluate(p, rng)
        obj = [s * y[m] for s, m in zip(signs, names)]
        slack = [(b - y[m]) if op == "<=" else (y[m] - b) for m, (op, b) in cons]
        rows.append(obj + slack)

    for p in params:
        observe(p)
    bounds = torch.stack([torch.zeros(space.dim), torch.ones(space.dim)]).double()
    batch_s: list[float] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        while len(params) < n:
            t0 = time.perf_counter()
            X = torch.tensor([space.to_unit(p) for p in params], dtype=torch.float64)
            Y = torch.tensor(rows, dtype=torch.float64)
            Y = torch.nan_to_num(Y, nan=-1e6, posinf=1e6, neginf=-1e6).clamp(-1e12, 1e12)
            model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=Y.shape[-1]))
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            k = len(names)
            if problem.thresholds:
                ref = [s * problem.thresholds[m] for s, m in zip(signs, names)]
            else:
                feas = Y[(Y[:, k:] >= 0).all(-1)][:, :k] if cons else Y[:, :k]
                ref = infer_reference_point(feas if len(feas) else Y[:, :k]).tolist()
            acqf = qLogNoisyExpectedHypervolumeImprovement(
                model=model,
                ref_point=ref,
                X_baseline=X,
                prune_baseline=True,
                sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128]), seed=seed),
                objective=_objective_slice(k, Y.shape[-1]),
                constraints=[_slack(k + i) for i in range(len(cons))] or None,
            )
            cand, _ = optimize_acqf(
                acqf,
                bounds=bounds,
                q=min(q, n - len(params)),
                num_restarts=10,
                raw_samples=512,
                options={"batch_limit": 5, "maxiter": 200},
                sequential=True,
            )
            batch_s.append(time.perf_counter() - t0)
            for x in cand.detach().tolist():
                p = space.from_unit(x)  # rounds Int and Choice coordinates
                params.append(p)
                observe(p)
    return {"params": params, "batch_s": batch_s}


def _objective_slice(k: int, total: int) -> Any:
    from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective

    return IdentityMCMultiOutputObjective(outcomes=list(range(k))) if total > k else None


def _slack(i: int) -> Any:
    return lambda Z: -Z[..., i]  # BoTorch: feasible where <= 0; column i holds slack >= 0


# ---------------------------------------------------------------------- dispatch


METHODS = ("ours q=4", "ours q=1", "Sobol", "Optuna TPE", "Optuna GP", "Ax", "BoTorch")


def run(method: str, problem: SuiteProblem, seed: int, n: int) -> dict[str, Any]:
    """Run ``method``: one of :data:`METHODS`; ``"ours q=4 <setting>=<value>..."``;
    ``"ours q=4 flat"`` (a conditional problem as a flat box); or ``"Optuna TPE-group"``
    (multivariate TPE with ``group=True``, what Optuna's docs advise for conditional spaces)."""
    if method.startswith("ours"):
        words = method.split()
        if "flat" in words:  # a tree searched as the flat box a user would write without it
            from benchmarks.suite_conditional import flat

            problem, method = flat(problem), " ".join(w for w in words if w != "flat")
        q = int(method.split()[1].removeprefix("q="))
        return run_ours(problem, seed, n, q=q, optimizer=_our_optimizer(method))
    if method == "Sobol":
        return run_sobol(problem, seed, n)
    if method.startswith("Optuna"):
        return run_optuna(problem, seed, n, method.split()[1])
    if method == "Ax":
        return run_ax(problem, seed, n)
    if method == "BoTorch":
        return run_botorch(problem, seed, n)
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def _our_optimizer(method: str) -> Any:
    """``"ours q=4"`` is the default; ``"ours q=4 acq=qLogEHVI n_initial=8 warm=0
    num_restarts=4"`` a variant (any :class:`OptimizeSettings` field; ``none`` is None), in
    batches of any ``q``."""
    kwargs: dict[str, str] = dict(w.split("=", 1) for w in method.split()[2:])
    if not kwargs:
        return "qLogNEHVI"
    from dataclasses import fields, replace

    from hpo_notebook.optimizers.botorch import BoTorchOptimizer
    from hpo_notebook.optimizers.botorch.settings import OptimizeSettings

    n_initial = int(kwargs.pop("n_initial")) if "n_initial" in kwargs else None
    acq = kwargs.pop("acq", "qLogNEHVI")
    warm = kwargs.pop("warm", "1") == "1"
    hints = typing.get_type_hints(OptimizeSettings)
    # ``int | None`` -> int: "none" is parsed apart
    types = {}
    for f in fields(OptimizeSettings):
        options = typing.get_args(hints[f.name]) or (hints[f.name],)
        types[f.name] = next(a for a in options if a is not type(None))
    unknown = set(kwargs) - set(types)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; choose from {sorted(types)}")

    def parse(k: str, v: str) -> Any:
        if v == "none":
            return None
        return v == "1" if types[k] is bool else types[k](v)

    settings = replace(OptimizeSettings(), **{k: parse(k, v) for k, v in kwargs.items()})
    return BoTorchOptimizer(acq, n_initial=n_initial, settings=settings, warm_start=warm)
