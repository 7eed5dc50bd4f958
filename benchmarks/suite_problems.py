"""The problems of the benchmark suite (``benchmarks/suite.py``): one interface for all.

A :class:`SuiteProblem` is what a user brings: a space of named parameters (floats, ints,
choices), objectives with directions, maybe thresholds and outcome constraints, and a function
that returns metrics. Every method under test sees only that. Scoring is separate: the
hypervolume of the feasible points evaluated so far, on the *noiseless* values, above a fixed
reference point, as ``log10(max_hv - hv)`` (lower is better).

The catalogue spans the regimes users hit (``tags``): 2, 3 and 4 objectives; 2 to 60 inputs;
a reference point few early points dominate and one the methods must infer; outcome
constraints that leave most of the box infeasible; observation noise; mixed spaces; a real
model trained on bundled data with heavy-tailed losses and seed noise. (BoTorch's Penicillin,
3 objectives, is left out: one evaluation takes 2.3 s here.) Problems come from
BoTorch's test functions (``negate=False``: objectives are minimized as written); their
``max_hv`` is computed from a dense sample of the known Pareto front where BoTorch has one.

Example:
    >>> p = PROBLEMS["BraninCurrin"]()
    >>> p.tags, len(p.space.names)
    (('2 objectives', '2 inputs'), 2)
    >>> import numpy as np
    >>> y = p.evaluate({"x0": 0.5, "x1": 0.5}, np.random.default_rng(0))
    >>> sorted(y)
    ['f0', 'f1']
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import hpo_notebook as hn

Metrics = dict[str, float]


@dataclass(frozen=True)
class SuiteProblem:
    """One benchmark problem, as a user would state it, plus how to score it.

    Attributes:
        name: short unique name.
        space: the parameters.
        objectives: metric name -> ``"min"`` or ``"max"``.
        thresholds: objective thresholds the methods are told (None: they must infer a
            reference point; the score still uses ``ref_point``).
        constraints: metric name -> ``(op, bound)``, ``op`` one of ``"<="``, ``">="``.
        ref_point: the scoring reference point, per objective in its own direction.
        max_hv: the best achievable hypervolume above ``ref_point``.
        observe: ``(params, rng) -> metrics`` as the methods see them (maybe noisy).
        truth: ``params -> metrics`` without noise, for scoring.
        tags: the regimes the problem stands for.
    """

    name: str
    space: hn.Space
    objectives: dict[str, str]
    thresholds: dict[str, float] | None
    constraints: dict[str, tuple[str, float]]
    ref_point: list[float]
    max_hv: float
    observe: Callable[[Mapping[str, Any], np.random.Generator], Metrics]
    truth: Callable[[Mapping[str, Any]], Metrics]
    tags: tuple[str, ...] = ()
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def evaluate(self, params: Mapping[str, Any], rng: np.random.Generator) -> Metrics:
        """What a method gets back for ``params``."""
        return self.observe(params, rng)

    def to_max_frame(self, metrics: Mapping[str, float]) -> list[float]:
        """Objective values with "min" objectives negated (the hypervolume frame)."""
        return [
            (1.0 if d == "max" else -1.0) * float(metrics[n]) for n, d in self.objectives.items()
        ]

    def feasible(self, metrics: Mapping[str, float]) -> bool:
        for m, (op, bound) in self.constraints.items():
            v = float(metrics[m])
            if (op == "<=" and v > bound) or (op == ">=" and v < bound) or not math.isfinite(v):
                return False
        return True


def hypervolume(Y_max: np.ndarray, ref_max: Sequence[float]) -> float:
    """Hypervolume of ``Y_max`` (rows in the maximization frame) above ``ref_max``."""
    from botorch.utils.multi_objective.box_decompositions.dominated import (
        DominatedPartitioning,
    )

    if len(Y_max) == 0:
        return 0.0
    Y = torch.as_tensor(np.asarray(Y_max, dtype=float))
    ref = torch.as_tensor(np.asarray(ref_max, dtype=float))
    Y = Y[(ref < Y).all(-1)]
    if len(Y) == 0:
        return 0.0
    return float(DominatedPartitioning(ref_point=ref, Y=Y).compute_hypervolume())


def score_curve(
    problem: SuiteProblem, params: Sequence[Mapping[str, Any]], at: Sequence[int]
) -> dict[int, float]:
    """log10 hypervolume gap of the first ``k`` evaluated points, for each ``k`` in ``at``
    (noiseless values; infeasible points count for nothing)."""
    ref = [
        (1.0 if d == "max" else -1.0) * r
        for d, r in zip(problem.objectives.values(), problem.ref_point)
    ]
    rows = []
    for p in params:
        m = problem.truth(p)
        rows.append(problem.to_max_frame(m) if problem.feasible(m) else None)
    out = {}
    for k in at:
        if k > len(rows):
            continue
        Y = np.array([r for r in rows[:k] if r is not None and all(map(math.isfinite, r))]).reshape(
            -1, len(ref)
        )
        out[int(k)] = log_gap(problem.max_hv, hypervolume(Y, ref))
    return out


GAP_FLOOR = -8.0


def log_gap(max_hv: float, hv: float) -> float:
    gap = max_hv - hv
    return GAP_FLOOR if gap <= 10**GAP_FLOOR else max(math.log10(gap), GAP_FLOOR)


# ---------------------------------------------------------------------- BoTorch problems


def _floats(bounds: torch.Tensor, prefix: str = "x") -> hn.Space:
    return hn.Space(
        {
            f"{prefix}{i}": hn.Float(float(lo), float(hi))
            for i, (lo, hi) in enumerate(bounds.T.tolist())
        }
    )


def _front_hv(problem: Any, ref_min: Sequence[float], n: int = 4000) -> float:
    """Hypervolume of a dense sample of ``problem``'s Pareto front (minimization frame)."""
    front = problem.gen_pareto_front(n)  # minimization frame with negate=False
    return hypervolume(-front.numpy(), [-r for r in ref_min])


def _botorch(
    name: str,
    factory: Callable[[], Any],
    tags: tuple[str, ...],
    *,
    ref_min: Sequence[float] | None = None,
    tell_thresholds: bool = True,
    noise: float = 0.0,
    embed_dim: int | None = None,
    notes: str = "",
) -> SuiteProblem:
    """A BoTorch test problem (minimized as written), optionally with a tighter reference
    point, noise (a fraction of each objective's range), or embedded in ``embed_dim`` inputs
    of which only the first ``problem.dim`` matter."""
    prob = factory()
    m = prob.num_objectives
    names = [f"f{i}" for i in range(m)]
    default_ref = (
        (-prob.ref_point).tolist() if getattr(prob, "negate", False) else prob.ref_point.tolist()
    )
    ref = list(ref_min) if ref_min is not None else [float(r) for r in default_ref]
    if ref_min is None and getattr(prob, "_max_hv", None) is not None:
        max_hv = float(prob._max_hv)
    else:
        max_hv = _front_hv(prob, ref)
    d = prob.dim
    space_bounds = prob.bounds
    if embed_dim is not None:
        lo = torch.cat([prob.bounds[0], torch.zeros(embed_dim - d, dtype=prob.bounds.dtype)])
        hi = torch.cat([prob.bounds[1], torch.ones(embed_dim - d, dtype=prob.bounds.dtype)])
        space_bounds = torch.stack([lo, hi])
    space = _floats(space_bounds)
    keys = space.names
    ranges = _ranges(prob) if noise else None

    def truth(params: Mapping[str, Any]) -> Metrics:
        x = torch.tensor([[float(params[k]) for k in keys[:d]]], dtype=torch.float64)
        y = prob.evaluate_true(x)[0].tolist()
        return dict(zip(names, y))

    def observe(params: Mapping[str, Any], rng: np.random.Generator) -> Metrics:
        y = truth(params)
        if noise:
            y = {n: v + float(rng.normal(0.0, noise * r)) for (n, v), r in zip(y.items(), ranges)}
        return y

    return SuiteProblem(
        name,
        space,
        {n: "min" for n in names},
        dict(zip(names, ref)) if tell_thresholds else None,
        {},
        ref,
        max_hv,
        observe,
        truth,
        tags,
        notes,
    )


def _ranges(prob: Any) -> list[float]:
    """Each objective's range over the box (from 2,048 Sobol points)."""
    from scipy.stats import qmc

    u = qmc.Sobol(prob.dim, seed=0).random(2048)
    lo, hi = prob.bounds[0].numpy(), prob.bounds[1].numpy()
    Y = prob.evaluate_true(torch.tensor(lo + u * (hi - lo)))
    return (Y.max(0).values - Y.min(0).values).tolist()


def _constrained_dtlz2() -> SuiteProblem:
    """C2DTLZ2 (6 inputs): the feasible region is thin bands near the front, 6% of the box."""
    from botorch.test_functions.multi_objective import C2DTLZ2

    prob = C2DTLZ2(dim=6, num_objectives=2)
    base = _botorch("C2DTLZ2-6", lambda: C2DTLZ2(dim=6, num_objectives=2), ())
    keys = base.space.names

    def truth(params: Mapping[str, Any]) -> Metrics:
        x = torch.tensor([[float(params[k]) for k in keys]], dtype=torch.float64)
        y = prob.evaluate_true(x)[0].tolist()
        slack = float(prob.evaluate_slack_true(x)[0, 0])
        return {"f0": y[0], "f1": y[1], "slack": slack}

    return SuiteProblem(
        "C2DTLZ2-6",
        base.space,
        base.objectives,
        base.thresholds,
        {"slack": (">=", 0.0)},
        base.ref_point,
        float(prob._max_hv),
        lambda params, rng: truth(params),
        truth,
        ("constraints", "6% of the box feasible", "2 objectives"),
    )


# ---------------------------------------------------------------------- a mixed space


_CHOICE_VALUES = {"c6": ["u", "v", "w", "z"], "c7": ["a", "b", "c", "d"]}
# where each option puts its input: not in option order, so the options have no order to learn
_CHOICE_AT = {"c6": [0.9, 0.5, 0.1, 0.3], "c7": [0.2, 0.7, 0.5, 1.0]}


def _mixed_dtlz2() -> SuiteProblem:
    """DTLZ2 (8 inputs, 2 objectives) with two inputs as Int levels and two as unordered
    Choices; the continuous optimum (distance inputs at 0.5) stays reachable, so the front and
    ``max_hv`` are DTLZ2's."""
    from botorch.test_functions.multi_objective import DTLZ2

    prob = DTLZ2(dim=8, num_objectives=2)
    space = hn.Space(
        x0=hn.Float(0.0, 1.0),
        x1=hn.Float(0.0, 1.0),
        x2=hn.Float(0.0, 1.0),
        x3=hn.Float(0.0, 1.0),
        k4=hn.Int(0, 10),
        k5=hn.Int(0, 10),
        c6=hn.Choice(_CHOICE_VALUES["c6"]),
        c7=hn.Choice(_CHOICE_VALUES["c7"]),
    )

    def truth(params: Mapping[str, Any]) -> Metrics:
        x = [float(params[f"x{i}"]) for i in range(4)]
        x += [params["k4"] / 10, params["k5"] / 10]
        x += [_CHOICE_AT[c][_CHOICE_VALUES[c].index(params[c])] for c in ("c6", "c7")]
        y = prob.evaluate_true(torch.tensor([x], dtype=torch.float64))[0].tolist()
        return {"f0": y[0], "f1": y[1]}

    ref = [1.1, 1.1]
    return SuiteProblem(
        "MixedDTLZ2-8",
        space,
        {"f0": "min", "f1": "min"},
        {"f0": 1.1, "f1": 1.1},
        {},
        ref,
        float(prob._max_hv),
        lambda params, rng: truth(params),
        truth,
        ("mixed space", "2 Int, 2 Choice, 4 Float", "2 objectives"),
    )


# ---------------------------------------------------------------------- a real model


@functools.lru_cache(maxsize=1)
def _digits_split() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xva), ytr, yva


def _sgd_digits_metrics(params: Mapping[str, Any], seed: int) -> Metrics:
    """Validation log-loss (heavy-tailed: a diverged run's is huge) and the number of non-zero
    weights of an SGD logistic regression on scikit-learn's digits."""
    import warnings

    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss

    Xtr, Xva, ytr, yva = _digits_split()
    clf = SGDClassifier(
        loss="log_loss",
        penalty=params["penalty"],
        alpha=float(params["alpha"]),
        l1_ratio=float(params["l1_ratio"]),
        learning_rate=params["schedule"],
        eta0=float(params["eta0"]),
        power_t=float(params["power_t"]),
        max_iter=int(params["epochs"]),
        average=bool(params["average"] == "yes"),
        tol=None,
        random_state=seed,
    )
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
        proba = clf.predict_proba(Xva)
    proba = np.nan_to_num(proba, nan=1.0 / proba.shape[1])
    loss = float(log_loss(yva, np.clip(proba, 1e-12, 1.0), labels=clf.classes_))
    coef = np.nan_to_num(clf.coef_)
    return {"val_log_loss": loss, "nonzero_weights": float(np.count_nonzero(np.abs(coef) > 1e-8))}


def _sgd_digits() -> SuiteProblem:
    space = hn.Space(
        alpha=hn.Float(1e-7, 1.0, log=True),
        eta0=hn.Float(1e-5, 10.0, log=True),
        power_t=hn.Float(0.1, 1.0),
        l1_ratio=hn.Float(0.0, 1.0),
        epochs=hn.Int(1, 50, log=True),
        penalty=hn.Choice(["l2", "l1", "elasticnet"]),
        schedule=hn.Choice(["constant", "optimal", "invscaling", "adaptive"]),
        average=hn.Choice(["no", "yes"]),
    )
    ref = [1.0, 650.0]  # log-loss of a weak model; all 640 weights plus a margin
    return real_model_problem(
        "SGD-digits",
        space,
        {"val_log_loss": "min", "nonzero_weights": "min"},
        ref,
        _sgd_digits_metrics,
        ("real model", "mixed space", "heavy-tailed loss", "seed noise", "inferred reference"),
    )


def real_model_problem(
    name: str,
    space: hn.Space,
    objectives: dict[str, str],
    ref: list[float],
    metrics: Callable[[Mapping[str, Any], int], Metrics],
    tags: tuple[str, ...],
) -> SuiteProblem:
    """A real model trained with a seed: each evaluation draws a new seed, the score uses the
    run with seed 0, no thresholds are told, and ``max_hv`` comes from the suite's own results
    (see ``suite.py``)."""
    return SuiteProblem(
        name,
        space,
        objectives,
        None,
        {},
        ref,
        float("nan"),
        lambda params, rng: metrics(params, int(rng.integers(1, 2**31))),
        lambda params: metrics(params, 0),
        tags,
        notes="scored on the run with seed 0 of each configuration",
    )


# ---------------------------------------------------------------------- the catalogue


def _catalogue() -> dict[str, Callable[[], SuiteProblem]]:
    from botorch.test_functions.multi_objective import (
        DTLZ2,
        ZDT1,
        ZDT2,
        ZDT3,
        BraninCurrin,
        CarSideImpact,
        VehicleSafety,
    )

    B = _botorch
    return {
        "BraninCurrin": lambda: B("BraninCurrin", BraninCurrin, ("2 objectives", "2 inputs")),
        "ZDT1-4": lambda: B("ZDT1-4", lambda: ZDT1(dim=4), ("2 objectives", "4 inputs")),
        "DTLZ2-6": lambda: B(
            "DTLZ2-6", lambda: DTLZ2(dim=6, num_objectives=2), ("2 objectives", "6 inputs")
        ),
        "ZDT3-10": lambda: B(
            "ZDT3-10", lambda: ZDT3(dim=10), ("2 objectives", "10 inputs", "disconnected front")
        ),
        "ZDT2-20": lambda: B(
            "ZDT2-20", lambda: ZDT2(dim=20), ("2 objectives", "20 inputs", "concave front")
        ),
        "VehicleSafety": lambda: B(
            "VehicleSafety", VehicleSafety, ("3 objectives", "5 inputs", "engineering")
        ),
        "DTLZ2-6x3": lambda: B(
            "DTLZ2-6x3", lambda: DTLZ2(dim=6, num_objectives=3), ("3 objectives", "6 inputs")
        ),
        "CarSideImpact": lambda: B(
            "CarSideImpact", CarSideImpact, ("4 objectives", "7 inputs", "engineering")
        ),
        "DTLZ2-8x4": lambda: B(
            "DTLZ2-8x4", lambda: DTLZ2(dim=8, num_objectives=4), ("4 objectives", "8 inputs")
        ),
        "ZDT1-30": lambda: B(
            "ZDT1-30", lambda: ZDT1(dim=30), ("2 objectives", "30 inputs", "high-dimensional")
        ),
        "BraninCurrin-in-60": lambda: B(
            "BraninCurrin-in-60",
            BraninCurrin,
            ("2 objectives", "60 inputs", "high-dimensional", "2 inputs matter"),
            embed_dim=60,
        ),
        "DTLZ2-6-tight": lambda: B(
            "DTLZ2-6-tight",
            lambda: DTLZ2(dim=6, num_objectives=2),
            ("2 objectives", "tight thresholds", "0.1% of random points dominate"),
            ref_min=[0.8, 0.8],
        ),
        "BraninCurrin-inferred": lambda: B(
            "BraninCurrin-inferred",
            BraninCurrin,
            ("2 objectives", "inferred reference"),
            tell_thresholds=False,
        ),
        "C2DTLZ2-6": _constrained_dtlz2,
        "VehicleSafety-noisy": lambda: B(
            "VehicleSafety-noisy",
            VehicleSafety,
            ("3 objectives", "noise 5% of range"),
            noise=0.05,
        ),
        "DTLZ2-6-noisy": lambda: B(
            "DTLZ2-6-noisy",
            lambda: DTLZ2(dim=6, num_objectives=2),
            ("2 objectives", "noise 10% of range"),
            noise=0.10,
        ),
        "MixedDTLZ2-8": _mixed_dtlz2,
        "SGD-digits": _sgd_digits,
        "CondZDT-12": _lazy("cond_zdt"),
        "Family-digits": _lazy("family_digits"),
    }


def _lazy(name: str) -> Callable[[], SuiteProblem]:
    """A problem of ``benchmarks/suite_conditional.py`` (which imports this module)."""

    def make() -> SuiteProblem:
        from benchmarks import suite_conditional

        return getattr(suite_conditional, name)()

    return make


#: name -> a factory of the problem (built lazily: some compute their front on creation).
PROBLEMS: dict[str, Callable[[], SuiteProblem]] = _catalogue()
