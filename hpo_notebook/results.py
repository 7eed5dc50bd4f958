"""Tables and numbers computed from a study's trials: pure functions, pandas out.

:class:`~hpo_notebook.study.Study` exposes these as methods (``trials_frame``, ``curves``,
``pareto``, ``hypervolume``, ``hypervolume_history``, ``best``); they also work on trials
loaded from a file without a Study object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo_notebook.exceptions import ConfigError
from hpo_notebook.objectives import Objectives
from hpo_notebook.trial import Trial, TrialState

if TYPE_CHECKING:
    import pandas as pd


def completed(trials: Sequence[Trial], objectives: Objectives) -> list[Trial]:
    """COMPLETE trials that carry every objective and constrained metric."""
    names = objectives.metric_names
    return [
        t
        for t in trials
        if t.state is TrialState.COMPLETE and t.values and all(n in t.values for n in names)
    ]


def feasible(trials: Sequence[Trial], objectives: Objectives) -> list[Trial]:
    """Completed trials that satisfy every outcome constraint."""
    return [t for t in completed(trials, objectives) if objectives.feasible(t.values or {})]


def objective_matrix(trials: Sequence[Trial], objectives: Objectives) -> np.ndarray:
    """``n x m`` objective values in the maximization frame."""
    if not trials:
        return np.zeros((0, objectives.n))
    return np.array([objectives.to_max_frame(t.values or {}) for t in trials], dtype=float)


def trials_frame(trials: Sequence[Trial], objectives: Objectives) -> pd.DataFrame:
    """One row per trial: number, state, ``params_<name>`` columns, metrics, timings."""
    import pandas as pd

    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.value}
        row.update({f"params_{k}": v for k, v in t.params.items()})
        for k, v in (t.values or {}).items():
            row[k] = v
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
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["number", "state"])
    return df.set_index("number", drop=False).rename_axis(None)


def curves_frame(reports: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per report: trial, step, attempt, time and one column per metric."""
    import pandas as pd

    rows = [
        {
            "trial": r["trial"],
            "step": r["step"],
            "attempt": r.get("attempt"),
            "t": r.get("t"),
            **r["metrics"],
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


def hypervolume(trials: Sequence[Trial], objectives: Objectives) -> float:
    """Hypervolume of the feasible completed trials."""
    from hpo_notebook import pareto

    _require_multi(objectives, "hypervolume")
    feas = feasible(trials, objectives)
    if not feas:
        return 0.0
    ref = study_reference_point(trials, objectives)
    return pareto.hypervolume(objective_matrix(feas, objectives), ref)


def hypervolume_history(
    trials: Sequence[Trial], objectives: Objectives, by: str = "trials"
) -> pd.DataFrame:
    """Hypervolume after each finished trial, in order of completion.

    Args:
        by: ``"trials"`` (column ``n_trials``, finished trials so far) or ``"time"`` (column
            ``elapsed_s``, seconds since the first trial started).
    """
    import pandas as pd

    from hpo_notebook import pareto

    _require_multi(objectives, "hypervolume_history")
    if by not in ("trials", "time"):
        raise ConfigError(f"hypervolume_history: by must be 'trials' or 'time', got {by!r}")
    done = sorted(
        (t for t in trials if t.state.finished and t.ended_at is not None),
        key=lambda t: (t.ended_at, t.number),
    )
    feas_ids = {t.number for t in feasible(trials, objectives)}
    if not done or not feas_ids:
        return pd.DataFrame(columns=["n_trials", "elapsed_s", "hypervolume"])
    ref = study_reference_point(trials, objectives)
    # Trials that add nothing to the front keep the previous value: give them a point far
    # below the reference point so the incremental history treats them as dominated.
    floor = np.asarray(ref) - 1.0
    Y = np.array(
        [objectives.to_max_frame(t.values or {}) if t.number in feas_ids else floor for t in done]
    )
    hv = pareto.hypervolume_history(Y, ref)
    t0 = min(t.started_at or t.ended_at or 0.0 for t in done)
    return pd.DataFrame(
        {
            "n_trials": np.arange(1, len(done) + 1),
            "elapsed_s": [float((t.ended_at or t0) - t0) for t in done],
            "hypervolume": hv,
            "trial": [t.number for t in done],
        }
    )


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
