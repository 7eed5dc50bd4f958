"""Conditional problems of the benchmark suite: spaces that are trees (issue 17).

- ``CondZDT-12``: a synthetic tree of 12 parameters, 3 to 7 active, whose Pareto front lies in
  one branch only (``family="c"`` and, under it, ``act="relu"`` with ``slope=0.2``). Every other
  branch reaches a copy of the front shifted up by a known amount, so the others are close
  enough to be tempting and the front (ZDT1's, ``max_hv`` known) is still only in one place.
- ``Family-digits``: the model family and its hyperparameters on scikit-learn's digits: a
  logistic regression, an RBF SVM, a random forest or k nearest neighbours, each with its own
  parameters. The objectives: the validation error, and the log10 of the multiply-adds one
  prediction costs (deterministic: coefficients, support vectors x features, tree depths, or
  the training set x features), the accuracy/latency trade-off a deployment faces.

:func:`flat` turns a conditional problem into the box a user would write without conditions:
every parameter always proposed, the function ignoring the ones its branch does not use
(what the suite compares the tree against: "ours ... flat").

Example:
    >>> p = cond_zdt()
    >>> p.space.dim, len(p.space.active_names({"family": "b"}))
    (12, 4)
    >>> y = p.truth({"x0": 0.25, "family": "c", "c1": 0.3, "c2": 0.6, "c3": 0.45,
    ...              "act": "relu", "slope": 0.2})
    >>> round(y["f0"], 3), round(y["f1"], 3)
    (0.25, 0.5)
    >>> flat(p).space.is_conditional
    False
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

import hpo_notebook as hn
from benchmarks.suite_problems import Metrics, SuiteProblem, hypervolume, real_model_problem

# ---------------------------------------------------------------------- synthetic

#: where branch c's inputs have their optimum (interior, so no corner finds it by luck)
_C_AT = (0.3, 0.6, 0.45)
#: how far above the front each branch's best copy of it lies
_SHIFT = {"a": 0.25, "b": 0.12, "c": 0.0, "tanh": 0.06}


def _zdt1(f0: float, g: float) -> Metrics:
    return {"f0": f0, "f1": g * (1.0 - math.sqrt(f0 / g))}


def _cond_zdt_truth(params: Mapping[str, Any]) -> Metrics:
    x0 = float(params["x0"])
    family = params["family"]
    if family == "a":
        dist = sum((float(params[f"a{i}"]) - 0.5) ** 2 for i in (1, 2, 3))
    elif family == "b":
        dist = (float(params["b1"]) / 10 - 0.7) ** 2 + (float(params["b2"]) - 0.2) ** 2
    else:
        dist = sum((float(params[f"c{i}"]) - t) ** 2 for i, t in zip((1, 2, 3), _C_AT))
        if params["act"] == "relu":
            dist += (float(params["slope"]) - 0.2) ** 2
        else:
            dist += _SHIFT["tanh"]
    g = 1.0 + _SHIFT[family] + 3.0 * dist
    return _zdt1(x0, g)


def cond_zdt() -> SuiteProblem:
    """The synthetic tree (see the module docstring)."""
    space = hn.Space(
        x0=hn.Float(0.0, 1.0),
        family=hn.Choice(
            {
                "a": hn.Space(a1=hn.Float(0, 1), a2=hn.Float(0, 1), a3=hn.Float(0, 1)),
                "b": hn.Space(b1=hn.Int(0, 10), b2=hn.Float(0, 1)),
                "c": hn.Space(
                    c1=hn.Float(0, 1),
                    c2=hn.Float(0, 1),
                    c3=hn.Float(0, 1),
                    act=hn.Choice({"relu": hn.Space(slope=hn.Float(0, 1)), "tanh": None}),
                ),
            }
        ),
    )
    ref = [1.1, 1.1]
    # ZDT1's front f1 = 1 - sqrt(f0), f0 in [0, 1]: the area it dominates up to (1.1, 1.1)
    f0 = np.linspace(0, 1, 20001)
    max_hv = hypervolume(-np.column_stack([f0, 1 - np.sqrt(f0)]), [-1.1, -1.1])
    return SuiteProblem(
        "CondZDT-12",
        space,
        {"f0": "min", "f1": "min"},
        {"f0": 1.1, "f1": 1.1},
        {},
        ref,
        max_hv,
        lambda params, rng: _cond_zdt_truth(params),
        _cond_zdt_truth,
        ("conditional", "12 parameters, 3-7 active", "2 levels", "2 objectives"),
    )


# ---------------------------------------------------------------------- model family


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, ...]:
    from benchmarks.suite_problems import _digits_split

    return _digits_split()


def _family_metrics(params: Mapping[str, Any], seed: int) -> Metrics:
    """Validation error and log10 multiply-adds per prediction of the chosen model."""
    import warnings

    Xtr, Xva, ytr, yva = _digits()
    family = params["family"]
    d = Xtr.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "logreg":
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=float(params["C_logreg"]), max_iter=200)
            model.fit(Xtr, ytr)
            cost = model.coef_.size
        elif family == "svm":
            from sklearn.svm import SVC

            model = SVC(C=float(params["C_svm"]), gamma=float(params["gamma"]))
            model.fit(Xtr, ytr)
            cost = len(model.support_) * d
        elif family == "forest":
            from sklearn.ensemble import RandomForestClassifier

            model = RandomForestClassifier(
                n_estimators=int(params["n_trees"]),
                max_depth=int(params["max_depth"]),
                max_features=float(params["max_features"]),
                random_state=seed,
                n_jobs=1,
            )
            model.fit(Xtr, ytr)
            cost = sum(e.get_depth() for e in model.estimators_)
        else:
            from sklearn.neighbors import KNeighborsClassifier

            model = KNeighborsClassifier(
                n_neighbors=int(params["k"]), weights=str(params["weights"])
            )
            model.fit(Xtr, ytr)
            cost = len(Xtr) * d
        error = float(np.mean(model.predict(Xva) != yva))
    return {"val_error": error, "log10_cost": math.log10(max(cost, 1))}


def family_digits() -> SuiteProblem:
    """The model family and its hyperparameters (see the module docstring)."""
    space = hn.Space(
        family=hn.Choice(
            {
                "logreg": hn.Space(C_logreg=hn.Float(1e-4, 1e2, log=True)),
                "svm": hn.Space(
                    C_svm=hn.Float(1e-2, 1e3, log=True), gamma=hn.Float(1e-5, 1e-1, log=True)
                ),
                "forest": hn.Space(
                    n_trees=hn.Int(2, 200, log=True),
                    max_depth=hn.Int(1, 20),
                    max_features=hn.Float(0.02, 1.0),
                ),
                "knn": hn.Space(
                    k=hn.Int(1, 50, log=True), weights=hn.Choice(["uniform", "distance"])
                ),
            }
        )
    )
    ref = [0.3, 5.0]  # 70% accuracy; 100,000 multiply-adds (k-NN's 80,448 is inside)
    return real_model_problem(
        "Family-digits",
        space,
        {"val_error": "min", "log10_cost": "min"},
        ref,
        _family_metrics,
        ("conditional", "real model", "model family", "inferred reference", "2 objectives"),
    )


# ---------------------------------------------------------------------- the flat box


def flat(problem: SuiteProblem) -> SuiteProblem:
    """``problem`` as a flat box: every parameter of the tree always there (choices keep
    their options, not their sub-spaces); the function sees the active ones only."""
    tree = problem.space
    box = hn.Space(
        {n: hn.Choice(list(p.options)) if isinstance(p, hn.Choice) else p for n, p in tree.items()}
    )

    def active(params: Mapping[str, Any]) -> dict[str, Any]:
        return {n: params[n] for n in tree.active_names(params)}

    observe, truth = problem.observe, problem.truth
    return dataclasses.replace(
        problem,
        space=box,
        observe=lambda params, rng: observe(active(params), rng),
        truth=lambda params: truth(active(params)),
    )
