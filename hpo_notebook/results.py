"""Tables and numbers computed from a study's trials: pure functions, pandas out.

:class:`~hpo_notebook.study.Study` exposes these as methods (``trials_frame``, ``curves``,
``pareto``, ``hypervolume_history``, ``best``); they also work on trials loaded from a file
without a Study object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo_notebook.exceptions import ConfigError
from hpo_notebook.objectives import Objectives
from hpo_notebook.trial import Trial, TrialState, is_rerun

if TYPE_CHECKING:
    import pandas as pd


#: The frames' own columns (``trials_frame`` and ``curves``), beside the metrics.
FRAME_COLUMNS = frozenset(
    {"number", "state", "feasible", "duration_s", "proposal", "fit_s", "acq_s", "worker"}
    | {"attempt", "error", "trial", "step", "t", "rerun_of"}
)


def metric_column(name: str) -> str:
    """The column of metric ``name`` in :func:`trials_frame` and :func:`curves_frame`.

    A metric keeps its name, unless that is one of the frames' own columns
    (:data:`FRAME_COLUMNS`) or starts with ``params_`` or ``values_``: then it is
    ``values_<name>``. So no metric can overwrite a column or another metric, and a metric
    called ``error`` is ``values_error`` beside the trial's ``error`` message.

    Example:
        >>> metric_column("val_loss"), metric_column("error"), metric_column("params_x")
        ('val_loss', 'values_error', 'values_params_x')
    """
    if name in FRAME_COLUMNS or name.startswith(("params_", "values_")):
        return f"values_{name}"
    return name


def completed(trials: Sequence[Trial], objectives: Objectives) -> list[Trial]:
    """COMPLETE trials that carry every objective and constrained metric (seed re-runs
    excepted: they are read with ``robust_front``)."""
    names = objectives.metric_names
    return [
        t
        for t in trials
        if t.state is TrialState.COMPLETE
        and t.values
        and all(n in t.values for n in names)
        and not is_rerun(t)
    ]


def feasible(trials: Sequence[Trial], objectives: Objectives) -> list[Trial]:
    """Completed trials that satisfy every outcome constraint."""
    return [t for t in completed(trials, objectives) if objectives.feasible(t.values or {})]


def objective_matrix(trials: Sequence[Trial], objectives: Objectives) -> np.ndarray:
    """``n x m`` objective values in the maximization frame."""
    if not trials:
        return np.zeros((0, objectives.n))
    return np.array([objectives.to_max_frame(t.values or {}) for t in trials], dtype=float)


def trials_frame(
    trials: Sequence[Trial], objectives: Objectives, param_names: Sequence[str] = ()
) -> pd.DataFrame:
    """One row per trial: number, state, ``params_<name>`` columns, metrics, timings.

    ``param_names`` (the space's) orders the parameter columns and keeps one for every
    parameter: a parameter a trial does not have (inactive in a conditional space) is
    missing (None) in its row.
    """
    import pandas as pd

    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.value}
        row.update({f"params_{k}": t.params.get(k) for k in param_names})
        row.update({f"params_{k}": v for k, v in t.params.items()})
        for k, v in (t.values or {}).items():
            row[metric_column(k)] = v
        if objectives.constraints and t.values is not None:
            try:
                row["feasible"] = objectives.feasible(t.values)
            except KeyError:
                row["feasible"] = None
        row.update(
            {
                "duration_s": t.duration,
                "proposal": t.proposal.get("kind"),
                "fit_s": t.proposal.get("fit_s"),
                "acq_s": t.proposal.get("acq_s"),
                "worker": t.worker,
                "attempt": t.attempt,
                "error": t.error,
            }
        )
        if is_rerun(t):
            row["rerun_of"] = t.proposal.get("rerun_of")
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["number", "state"])
    return df.set_index("number", drop=False).rename_axis(None)


def curves_frame(reports: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per report: trial, step, attempt, time and one column per metric (named by
    :func:`metric_column`)."""
    import pandas as pd

    rows = [
        {
            "trial": r["trial"],
            "step": r["step"],
            "attempt": r.get("attempt"),
            "t": r.get("t"),
            **{metric_column(k): v for k, v in r["metrics"].items()},
        }
        for r in reports
    ]
    if not rows:
        return pd.DataFrame(columns=["trial", "step", "attempt", "t"])
    return pd.DataFrame(rows).sort_values(["trial", "step"], kind="stable").reset_index(drop=True)


def study_reference_point(trials: Sequence[Trial], objectives: Objectives) -> list[float]:
    """The hypervolume reference point (maximization frame): thresholds where given, else
    inferred from the feasible observations."""
    from hpo_notebook.pareto import reference_point

    return reference_point(
        objective_matrix(feasible(trials, objectives), objectives),
        objectives.thresholds_max_frame(),
    )


def pareto_trials(trials: Sequence[Trial], objectives: Objectives) -> list[Trial]:
    """Non-dominated feasible completed trials."""
    from hpo_notebook.pareto import non_dominated_mask

    feas = feasible(trials, objectives)
    if not feas:
        return []
    mask = non_dominated_mask(objective_matrix(feas, objectives))
    return [t for t, keep in zip(feas, mask) if keep]


def _require_multi(objectives: Objectives, what: str) -> None:
    if objectives.n < 2:
        raise ConfigError(f"{what} needs two or more objectives; this study has one: use best()")


class HypervolumeHistory:
    """A study's hypervolume after each finished trial, kept up to date incrementally.

    :meth:`update` takes the study's trials and processes only those that finished since the
    last call (in order of completion). The reference point is ``ref_point`` (maximization
    frame) when given (to compare studies on one scale), else the one of
    :func:`study_reference_point`; when that is inferred and moves, the history is rebuilt.
    The one place hypervolume histories of trials are computed (the study, its dashboard and
    ``hn.plots.anytime`` use it), on :class:`~hpo_notebook.pareto.HypervolumeTracker`.
    """

    def __init__(self, objectives: Objectives, ref_point: Sequence[float] | None = None) -> None:
        _require_multi(objectives, "hypervolume")
        self.objectives = objectives
        self._fixed_ref = None if ref_point is None else [float(r) for r in ref_point]
        self.numbers: list[int] = []
        self.ended: list[float] = []
        self._seen: set[int] = set()
        self._t0: float | None = None
        self._front = np.empty((0, objectives.n))  # non-dominated feasible points, any ref
        self._tracker: Any = None
        self._pending: list[np.ndarray | None] = []  # before any feasible point fixes a ref

    def update(self, trials: Sequence[Trial]) -> HypervolumeHistory:
        from hpo_notebook import pareto

        new = sorted(
            (
                t
                for t in trials
                if t.state.finished
                and t.ended_at is not None
                and t.number not in self._seen
                and not is_rerun(t)
            ),
            key=lambda t: (t.ended_at, t.number),
        )
        if not new:
            return self
        ys: list[np.ndarray | None] = []
        for t in new:
            ok = bool(feasible([t], self.objectives))
            y = np.asarray(self.objectives.to_max_frame(t.values or {})) if ok else None
            ys.append(y)
            if y is not None:
                front = np.vstack([self._front, y])
                self._front = front[pareto.non_dominated_mask(front)]
            self._seen.add(t.number)
            self.numbers.append(t.number)
            self.ended.append(float(t.ended_at))  # type: ignore[arg-type]
            start = t.started_at or t.ended_at
            self._t0 = start if self._t0 is None else min(self._t0, start)  # type: ignore[type-var]
        if self._fixed_ref is not None:
            ref = self._fixed_ref
        elif not len(self._front):
            ref = None
        else:
            ref = pareto.reference_point(self._front, self.objectives.thresholds_max_frame())
        if ref is None:
            if self._tracker is None:
                self._pending += ys
            else:
                for y in ys:
                    self._tracker.add(y)
            return self
        if self._tracker is None:
            self._tracker = pareto.HypervolumeTracker(ref)
            ys, self._pending = self._pending + ys, []
        else:
            self._tracker.rebase(ref)
        for y in ys:
            self._tracker.add(y)
        return self

    @property
    def values(self) -> list[float]:
        if self._tracker is None:
            return [0.0] * len(self.numbers)
        return list(self._tracker.history)

    @property
    def value(self) -> float:
        return self._tracker.value if self._tracker is not None else 0.0

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        if not self.numbers:
            return pd.DataFrame(columns=["n_trials", "elapsed_s", "hypervolume", "trial"])
        t0 = self._t0 or 0.0
        return pd.DataFrame(
            {
                "n_trials": np.arange(1, len(self.numbers) + 1),
                "elapsed_s": [e - t0 for e in self.ended],
                "hypervolume": self.values,
                "trial": self.numbers,
            }
        )


def hypervolume_history(
    trials: Sequence[Trial], objectives: Objectives, by: str = "trials"
) -> pd.DataFrame:
    """Hypervolume after each finished trial, in order of completion (columns ``n_trials``,
    ``elapsed_s`` since the first trial started, ``hypervolume``, ``trial``).

    Args:
        by: the index: ``"trials"`` (the number of finished trials) or ``"time"``
            (``elapsed_s``), so that ``.plot(y="hypervolume")`` draws against it. Both
            columns are always there.
    """
    _require_multi(objectives, "hypervolume_history")
    return indexed_by(HypervolumeHistory(objectives).update(trials).frame(), by)


def indexed_by(history: pd.DataFrame, by: str) -> pd.DataFrame:
    """A hypervolume history indexed by ``n_trials`` (``by="trials"``) or ``elapsed_s``
    (``"time"``); a ConfigError names any other ``by``."""
    columns = {"trials": "n_trials", "time": "elapsed_s"}
    if by not in columns:
        raise ConfigError(f"hypervolume_history: by must be 'trials' or 'time', got {by!r}")
    out = history.set_index(history[columns[by]].to_numpy())
    out.index.name = None  # the column keeps the name: one name, one meaning
    return out


def best_trial(trials: Sequence[Trial], objectives: Objectives) -> Trial:
    """The best feasible completed trial of a single-objective study."""
    if objectives.n != 1:
        raise ConfigError(
            f"best() is for one objective; this study has {objectives.n} "
            f"{list(objectives.names)}: use pareto() for the trade-off front"
        )
    feas = feasible(trials, objectives)
    if not feas:
        raise ConfigError("no feasible completed trial yet")
    y = objective_matrix(feas, objectives)[:, 0]
    return feas[int(np.argmax(y))]


def held_out_gap(trials: Sequence[Trial], objectives: Objectives, top: int = 5) -> pd.DataFrame:
    """Validation against held-out values where the search would pick: per trial of the
    Pareto front (for one objective, the ``top`` best) and per held-out metric that mirrors an
    objective, the two values, ``gap`` (held-out minus validation) and ``worse_by`` (how much
    worse the held-out value is, in the objective's direction: positive means the validation
    value flattered the trial).

    Example:
        >>> import hpo_notebook as hn
        >>> objs = Objectives.parse({"loss": "min"}, held_out={"test_loss": "loss"})
        >>> t = hn.Trial(0, hn.TrialState.COMPLETE, {}, values={"loss": 0.2, "test_loss": 0.3})
        >>> round(float(held_out_gap([t], objs)["worse_by"].iloc[0]), 3)
        0.1
    """
    import pandas as pd

    columns = ["number", "objective", "validation", "held_out_metric", "held_out", "gap",
               "worse_by"]  # fmt: skip
    pairs = [(m, o) for m, o in objectives.held_out if o is not None]
    feas = feasible(trials, objectives)
    if not pairs or not feas:
        return pd.DataFrame(columns=columns)
    if objectives.n > 1:
        picked = pareto_trials(trials, objectives)
    else:
        y = objective_matrix(feas, objectives)[:, 0]
        picked = [feas[i] for i in np.argsort(-y, kind="stable")[:top]]
    rows = []
    for t in picked:
        for metric, mirrors in pairs:
            held, val = (t.values or {}).get(metric), (t.values or {}).get(mirrors)
            if not isinstance(held, (int, float)) or not isinstance(val, (int, float)):
                continue  # not reported by this trial
            rows.append({
                "number": t.number, "objective": mirrors, "validation": float(val),
                "held_out_metric": metric, "held_out": float(held), "gap": float(held) - val,
                "worse_by": objectives.to_max(mirrors, float(val) - float(held)),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def robust_front(trials: Sequence[Trial], objectives: Objectives) -> pd.DataFrame:
    """Every configuration that was re-run with new seeds (``Study.rerun``), over all its
    seeds: the trial it re-ran (``number``), its parameters, each objective's mean and sample
    standard deviation (``<objective>_mean``, ``<objective>_std``), ``n_seeds``, and two flags:

    - ``on_front_share``: the share of seeds in which it is on the front of the configurations
      compared seed by seed (the i-th run of each); ``unstable`` when below 1, i.e. its place
      on the front changes across seeds;
    - ``dominated_on_average``: another configuration is at least as good on the mean of every
      objective and better on one (for one objective: not the best mean).

    Rows are sorted by the first objective's mean, best first.
    """
    import pandas as pd

    from hpo_notebook.pareto import non_dominated_mask

    names = objectives.names
    by_number = {t.number: t for t in trials}
    samples: dict[int, list[Trial]] = {}
    for t in trials:
        source = t.proposal.get("rerun_of") if is_rerun(t) else None
        ok = t.state is TrialState.COMPLETE and t.values and all(n in t.values for n in names)
        if isinstance(source, int) and source in by_number and ok:
            samples.setdefault(source, []).append(t)
    columns = ["number", "n_seeds", "on_front_share", "unstable", "dominated_on_average"]
    if not samples:
        return pd.DataFrame(columns=columns)
    groups: dict[int, list[Trial]] = {}
    for source, reruns in sorted(samples.items()):
        first = by_number[source]
        done = first.state is TrialState.COMPLETE and first.values
        groups[source] = ([first] if done else []) + reruns
    numbers = list(groups)
    Y = {n: objective_matrix(groups[n], objectives) for n in numbers}  # max frame, per seed
    means = np.array([Y[n].mean(axis=0) for n in numbers])
    dominated = ~non_dominated_mask(means)
    on_front = {n: 0 for n in numbers}
    rounds = {n: 0 for n in numbers}
    for i in range(max(len(Y[n]) for n in numbers)):
        here = [n for n in numbers if len(Y[n]) > i]
        mask = non_dominated_mask(np.array([Y[n][i] for n in here]))
        for n, keep in zip(here, mask):
            rounds[n] += 1
            on_front[n] += int(keep)
    rows = []
    for k, n in enumerate(numbers):
        raw = np.array([[float((t.values or {})[m]) for m in names] for t in groups[n]])
        row: dict[str, Any] = {"number": n}
        row.update({f"params_{p}": v for p, v in by_number[n].params.items()})
        for j, m in enumerate(names):
            row[f"{m}_mean"] = float(raw[:, j].mean())
            row[f"{m}_std"] = float(raw[:, j].std(ddof=1)) if len(raw) > 1 else float("nan")
        share = on_front[n] / rounds[n]
        row.update(
            n_seeds=len(raw),
            on_front_share=share,
            unstable=share < 1.0,
            dominated_on_average=bool(dominated[k]),
        )
        rows.append(row)
    first, obj = objectives.objectives[0]
    df = pd.DataFrame(rows).sort_values(f"{first}_mean", ascending=obj.direction == "min")
    return df.set_index("number", drop=False).rename_axis(None)
