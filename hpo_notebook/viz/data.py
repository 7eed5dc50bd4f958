"""Plot data: a study's trials and reports turned into small frozen dataclasses.

Computed apart from drawing, so the dashboard can build them off the driver thread and the
plot functions stay pure. Every builder takes plain trials / reports / objectives.

Example:
    >>> from hpo_notebook.objectives import Objectives
    >>> from hpo_notebook.trial import Trial, TrialState

if TYPE_CHECKING:
    import pandas as pd
    >>> objs = Objectives.parse({"err": "min", "size": "min"})
    >>> ts = [Trial(0, TrialState.COMPLETE, {"x": 0.1}, {"err": 0.2, "size": 3.0}),
    ...       Trial(1, TrialState.COMPLETE, {"x": 0.9}, {"err": 0.4, "size": 4.0})]
    >>> pareto_data(ts, objs).front.tolist()
    [True, False]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo_notebook import results as R
from hpo_notebook.objectives import Objectives
from hpo_notebook.space import Space
from hpo_notebook.trial import Trial, TrialState, is_rerun

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Curve:
    """One trial's learning curve for one metric."""

    trial: int
    state: str
    steps: tuple[float, ...]
    values: tuple[float, ...]
    pruned_at: float | None = None


@dataclass(frozen=True)
class CurvesData:
    metric: str
    direction: str | None
    curves: tuple[Curve, ...]
    rungs: tuple[float, ...] = ()
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParetoData:
    """Objective values of completed trials (each objective's own units)."""

    names: tuple[str, ...]
    directions: tuple[str, ...]
    numbers: np.ndarray
    values: np.ndarray  # n x m
    feasible: np.ndarray  # n
    front: np.ndarray  # n, non-dominated among the feasible
    ref_point: tuple[float, ...] | None
    baseline: int | None = None  # the number of the baseline trial, when it completed
    # seed re-runs (Study.rerun): per re-run configuration, the mean and std of each objective
    rerun_numbers: np.ndarray | None = None
    rerun_mean: np.ndarray | None = None  # k x m
    rerun_std: np.ndarray | None = None  # k x m

    def frame(self, *columns: int) -> Objectives:
        """The objectives of these columns (default: all), to move values between user units
        and the maximization frame."""
        cols = columns or range(len(self.names))
        return Objectives.parse({self.names[i]: self.directions[i] for i in cols})


@dataclass(frozen=True)
class HypervolumeData:
    n_trials: np.ndarray
    elapsed_s: np.ndarray
    hypervolume: np.ndarray
    best: bool = False  # single objective: best value so far instead


@dataclass(frozen=True)
class AnytimeData:
    """One study's anytime value: after each finished trial, the steps spent by then (reports
    made by every trial) and the hypervolume (one objective: best value) of the completed
    feasible trials."""

    label: str
    steps: np.ndarray
    value: np.ndarray
    best: bool = False


#: Where parallel coordinates draw a parameter that is inactive for a trial (a conditional
#: space), below the axis's low end.
INACTIVE_AT = -0.15


@dataclass(frozen=True)
class ParallelData:
    """Parameters on the unit scale and one objective, for parallel coordinates."""

    params: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]  # (low, high) tick labels per axis
    unit: np.ndarray  # n x d; NaN where a parameter is inactive (a conditional space)
    objective: str
    values: np.ndarray  # n
    direction: str

    def placed(self) -> np.ndarray:
        """``unit`` with inactive parameters at :data:`INACTIVE_AT`, below the axis."""
        return np.where(np.isnan(self.unit), INACTIVE_AT, self.unit)

    def has_inactive(self) -> bool:
        return bool(np.isnan(self.unit).any())

    def maximized(self) -> np.ndarray:
        """The objective's values in the maximization frame (bigger is better)."""
        frame = Objectives.parse({self.objective: self.direction})
        return frame.to_max_array(self.values[:, None])[:, 0]


@dataclass(frozen=True)
class ImportanceData:
    params: tuple[str, ...]
    importance: tuple[float, ...]
    method: str


@dataclass(frozen=True)
class ProposalTimes:
    numbers: tuple[int, ...]
    kinds: tuple[str, ...]
    fit_s: tuple[float, ...]
    acq_s: tuple[float, ...]


@dataclass(frozen=True)
class Summary:
    """Numbers for the dashboard header."""

    name: str
    counts: dict[str, int]
    elapsed_s: float
    eta_s: float | None
    score_label: str
    score: float | None
    utilization: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def curves_data(
    trials: Sequence[Trial],
    reports: Sequence[Mapping[str, Any]],
    objectives: Objectives,
    metric: str | None = None,
    rungs: Sequence[float] = (),
) -> CurvesData:
    """Curves of ``metric`` (default: the first reported objective) from report dicts."""
    from hpo_notebook.reports import ReportHistory

    history = ReportHistory(objectives)
    for r in reports:
        history.add(int(r["trial"]), r["step"], r["metrics"])
    return curves_from_history(trials, history, objectives, metric, rungs)


def curves_from_history(
    trials: Sequence[Trial],
    history: Any,
    objectives: Objectives,
    metric: str | None = None,
    rungs: Sequence[float] = (),
) -> CurvesData:
    """Like :func:`curves_data`, from a study's report log (``Study.reports()``) instead of
    the stored reports: no database read per redraw."""
    states = {t.number: t for t in trials}
    curves = []
    seen: dict[str, None] = {}
    for n in history.trials():
        for _, m in history.curve(n)[-1:]:
            seen.update(dict.fromkeys(m))
    # the metric asked for if reported, else the first reported objective, else any
    candidates = [metric, *objectives.names, *seen]
    metric = next((c for c in candidates if c is not None and c in seen), metric or "")
    for n in sorted(history.trials()):
        pts = []
        for step, m in history.curve(n):
            seen.update(dict.fromkeys(m))
            v = m.get(metric)
            if v is not None and math.isfinite(float(v)):
                pts.append((float(step), float(v)))
        if not pts:
            continue
        t = states.get(n)
        curves.append(
            Curve(
                n,
                t.state.value if t else "RUNNING",
                tuple(p[0] for p in pts),
                tuple(p[1] for p in pts),
                (t.extra.get("pruned_at") if t else None),
            )
        )
    direction = dict((n, o.direction) for n, o in objectives.objectives).get(metric)
    return CurvesData(metric, direction, tuple(curves), tuple(rungs), tuple(seen))


def pareto_data(trials: Sequence[Trial], objectives: Objectives) -> ParetoData:
    """Completed trials' objectives, which are feasible and which are on the front."""
    from hpo_notebook.pareto import non_dominated_mask

    done = R.completed(trials, objectives)
    names = objectives.names
    values = np.array([[t.values[n] for n in names] for t in done], dtype=float)  # type: ignore[index]
    values = values.reshape(-1, len(names))
    feasible = np.array([objectives.feasible(t.values or {}) for t in done], dtype=bool)
    front = np.zeros(len(done), dtype=bool)
    if feasible.any():
        maxed = objectives.to_max_array(values[feasible])
        front[np.flatnonzero(feasible)[non_dominated_mask(maxed)]] = True
    ref = None
    if objectives.n >= 2 and feasible.any():
        r = R.study_reference_point(trials, objectives)
        ref = tuple(objectives.from_max_array(r).tolist())
    base = next((t.number for t in done if t.proposal.get("kind") == "baseline"), None)
    numbers = mean = std = None
    if any(is_rerun(t) for t in trials):
        robust = R.robust_front(trials, objectives)
        if len(robust):
            numbers = robust["number"].to_numpy(dtype=int)
            mean = robust[[f"{n}_mean" for n in names]].to_numpy(dtype=float)
            std = robust[[f"{n}_std" for n in names]].to_numpy(dtype=float)
    return ParetoData(
        names,
        tuple(o.direction for _, o in objectives.objectives),
        np.array([t.number for t in done], dtype=int),
        values,
        feasible,
        front,
        ref,
        base,
        numbers,
        mean,
        std,
    )


def hypervolume_data(
    trials: Sequence[Trial], objectives: Objectives, history: pd.DataFrame | None = None
) -> HypervolumeData:
    """Hypervolume (several objectives) or best value so far (one) after each finished trial.

    ``history``: a study's ``hypervolume_history()`` (kept incrementally), to avoid
    recomputing it from ``trials``.
    """
    if objectives.n >= 2:
        df = (
            history
            if history is not None
            else R.HypervolumeHistory(objectives).update(trials).frame()
        )
        return HypervolumeData(
            df["n_trials"].to_numpy(),
            df["elapsed_s"].to_numpy(dtype=float),
            df["hypervolume"].to_numpy(dtype=float),
        )
    name = objectives.names[0]
    done = sorted(
        (t for t in trials if t.state.finished and t.ended_at is not None),
        key=lambda t: (t.ended_at, t.number),
    )
    if not done:
        return HypervolumeData(np.zeros(0), np.zeros(0), np.zeros(0), best=True)
    t0 = min(t.started_at or t.ended_at or 0.0 for t in done)
    best, out = math.nan, []
    for t in done:
        ok = t.state is TrialState.COMPLETE and t.values and objectives.feasible(t.values)
        if ok:
            v = float(t.values[name])  # type: ignore[index]
            better = math.isnan(best) or objectives.to_max(name, v) > objectives.to_max(name, best)
            best = v if better else best
        out.append(best)
    return HypervolumeData(
        np.arange(1, len(done) + 1),
        np.array([(t.ended_at or t0) - t0 for t in done]),
        np.array(out),
        best=True,
    )


def anytime_data(
    label: str,
    trials: Sequence[Trial],
    report_times: Sequence[float],
    objectives: Objectives,
    ref_point: Sequence[float] | None = None,
) -> AnytimeData:
    """The anytime value of one study.

    Args:
        label: the study's name in the legend.
        trials: its trials.
        report_times: the time of every report (``study.curves()["t"]``): the steps spent by
            a time are the reports made until then.
        objectives: its objectives.
        ref_point: the reference point (maximization frame); give the same one to compare
            studies (default: this study's own).
    """
    done = sorted(
        (t for t in trials if t.state.finished and t.ended_at is not None),
        key=lambda t: (t.ended_at, t.number),
    )
    times = np.sort(np.asarray(report_times, dtype=float))
    steps = np.searchsorted(times, [t.ended_at for t in done], side="right")
    if objectives.n == 1:
        h = hypervolume_data(done, objectives)
        return AnytimeData(label, steps.astype(float), h.hypervolume, best=True)
    ref = R.study_reference_point(trials, objectives) if ref_point is None else ref_point
    values = R.HypervolumeHistory(objectives, ref).update(done).values
    return AnytimeData(label, steps.astype(float), np.array(values, dtype=float))


def parallel_data(
    trials: Sequence[Trial], space: Space, objectives: Objectives, objective: str | None = None
) -> ParallelData:
    """Completed trials as lines across the parameters (unit scale), coloured by an objective."""
    name = objective or objectives.names[0]
    done = [t for t in R.completed(trials, objectives) if name in (t.values or {})]
    unit = np.array([space.to_unit(t.params) for t in done], dtype=float).reshape(-1, space.dim)
    if space.is_conditional:  # an inactive parameter has no value to show
        for i, t in enumerate(done):
            unit[i, [j for j, n in enumerate(space.names) if n not in t.params]] = np.nan
    labels = []
    for p in space.values():
        if p.kind == "choice":
            labels.append((str(p.options[0]), str(p.options[-1])))  # type: ignore[union-attr]
        else:
            labels.append((f"{p.low:g}", f"{p.high:g}"))  # type: ignore[union-attr]
    direction = dict((n, o.direction) for n, o in objectives.objectives).get(name, "min")
    return ParallelData(
        space.names,
        tuple(labels),
        unit,
        name,
        np.array([float(t.values[name]) for t in done]),
        direction,  # type: ignore[index]
    )


def importance_data(
    space: Space,
    optimizer_state: Mapping[str, Any] | None,
    trials: Sequence[Trial],
    objectives: Objectives,
) -> ImportanceData:
    """Parameter importance: inverse GP lengthscales of the last model fit (ARD relevance,
    averaged over the model's outputs), or, before a model was fitted or for a mixed model,
    the absolute rank correlation of each parameter with the first objective (a conditional
    parameter's over the trials where it is active)."""
    d = space.dim
    hp = (optimizer_state or {}).get("hyperparameters") or {}
    raw = hp.get("covar_module.raw_lengthscale") or hp.get(
        "covar_module.base_kernel.raw_lengthscale"
    )
    if raw is not None:
        arr = np.asarray(raw, dtype=float).reshape(-1, np.asarray(raw).shape[-1])
        if arr.shape[-1] == d:
            lengthscale = np.log1p(np.exp(arr))  # gpytorch's Positive(): softplus
            rel = (1.0 / np.maximum(lengthscale, 1e-9)).mean(axis=0)
            return ImportanceData(
                space.names, tuple((rel / rel.sum()).tolist()), "inverse GP lengthscale"
            )
    data = parallel_data(trials, space, objectives)
    if len(data.values) < 3:
        return ImportanceData(space.names, tuple([1.0 / d] * d), "not enough data")
    ranks_y = np.argsort(np.argsort(data.values))
    rel = []
    for j in range(d):
        on = ~np.isnan(data.unit[:, j])  # the trials where the parameter is active
        x = data.unit[on, j]
        if on.sum() < 3 or np.ptp(x) == 0:
            rel.append(0.0)
            continue
        rx = np.argsort(np.argsort(x))
        ry = np.argsort(np.argsort(data.values[on])) if not on.all() else ranks_y
        rel.append(abs(float(np.corrcoef(rx, ry)[0, 1])))
    total = sum(rel) or 1.0
    return ImportanceData(space.names, tuple(r / total for r in rel), "|rank correlation|")


def proposal_times(trials: Sequence[Trial]) -> ProposalTimes:
    """How long each trial's proposal took (model fit and acquisition)."""
    ts = [t for t in trials if t.proposal]
    return ProposalTimes(
        tuple(t.number for t in ts),
        tuple(str(t.proposal.get("kind", "")) for t in ts),
        tuple(float(t.proposal.get("fit_s") or 0.0) for t in ts),
        tuple(float(t.proposal.get("acq_s") or 0.0) for t in ts),
    )
