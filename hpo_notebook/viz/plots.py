"""Static plots: each takes a study (or the plot data) and returns a matplotlib ``Figure``.

Drawn with the object-oriented API on the Agg canvas (never pyplot), so they work in scripts,
threads and notebooks alike, with zero renderer configuration; the dashboard draws the same
figures. In Jupyter a returned ``Figure`` displays itself.

Example:
    >>> import hpo_notebook as hn
    >>> study = hn.Study(None, hn.Space(x=hn.Float(0, 1)), objectives={"a": "min", "b": "min"},
    ...                  optimizer="sobol", seed=0)
    >>> for t in study.ask(6):
    ...     study.tell(t, {"a": t.params["x"], "b": 1 - t.params["x"] ** 0.5})
    >>> fig = hn.plots.pareto(study)
    >>> fig.axes[0].get_xlabel()
    'a (min)'
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo_notebook.viz import data as D

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hpo_notebook.objectives import Objectives

STATE_COLORS = {
    "COMPLETE": "#1f77b4",
    "RUNNING": "#d62728",
    "PRUNED": "#9e9e9e",
    "FAILED": "#000000",
    "INTERRUPTED": "#ff7f0e",
}


_display_checked = False


def _ensure_ipython_display() -> None:
    """Let a returned ``Figure`` show itself in IPython even when pyplot was never imported
    (importing pyplot is what registers matplotlib's inline formatter). A format the user
    registered for figures (svg, retina, ...) is left alone."""
    global _display_checked
    if _display_checked:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        _display_checked = True
        return
    shell = get_ipython()
    if shell is None:  # not in IPython yet: check again next time
        return
    _display_checked = True
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/svg+xml", "image/jpeg", "application/pdf"):
        try:
            formatters[mime].lookup_by_type(Figure)
            return
        except (KeyError, AttributeError):
            continue
    select_figure_formats(shell, {"png"})  # what matplotlib-inline registers, nothing chosen


def _figure(width: float = 6.0, height: float = 4.0) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _ensure_ipython_display()
    fig = Figure(figsize=(width, height), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _empty(fig: Figure, message: str) -> Figure:
    ax = fig.axes[0] if fig.axes else fig.add_subplot()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def _study_parts(study: Any, objectives: Any = None) -> tuple[list[Any], Any]:
    """Trials and objectives of a study, or of its ``trials_frame()`` plus ``objectives``."""
    if hasattr(study, "trials") and hasattr(study, "objectives"):
        return study.trials, study.objectives
    if hasattr(study, "iterrows"):
        return _frame_trials(study, objectives)
    raise TypeError(
        f"expected a Study, its trials_frame() (with objectives=...) or plot data, got "
        f"{type(study).__name__}"
    )


def _frame_trials(df: Any, objectives: Any) -> tuple[list[Any], Any]:
    from hpo_notebook.objectives import Objectives
    from hpo_notebook.results import metric_column
    from hpo_notebook.trial import Trial, TrialState

    if objectives is None:
        raise TypeError(
            "plotting a trials frame needs its objectives, e.g. objectives={'loss': 'min'}"
        )
    objs = objectives if isinstance(objectives, Objectives) else Objectives.parse(objectives)
    trials = []
    for k, (_, row) in enumerate(df.iterrows()):
        cols = {m: metric_column(m) for m in objs.metric_names}
        values = {m: float(row[c]) for m, c in cols.items() if c in row and row[c] == row[c]}
        params = {c[len("params_") :]: row[c] for c in df.columns if str(c).startswith("params_")}
        number = int(row["number"]) if "number" in row else k
        trials.append(
            Trial(
                number,
                TrialState(row.get("state", "COMPLETE")),
                params,
                values or None,
                started_at=float(k),
                ended_at=float(k + 1),
            )
        )
    return trials, objs


# ---------------------------------------------------------------------- pareto


def pareto(study_or_data: Any, x: int = 0, y: int = 1, objectives: Any = None) -> Figure:
    """Objective ``x`` against objective ``y``: trials, the Pareto front, the dominated region
    (up to the reference point), infeasible trials (crosses) and, after ``study.rerun()``,
    each re-run configuration's mean with error bars of one standard deviation. With three or more
    objectives, every pair is drawn in a grid (``x``/``y`` pick a single pair when the data
    has exactly the columns asked for). Takes a study, plot data, or a study's
    ``trials_frame()`` with ``objectives={"name": "min" | "max", ...}``."""
    data = (
        study_or_data
        if isinstance(study_or_data, D.ParetoData)
        else D.pareto_data(*_study_parts(study_or_data, objectives))
    )
    m = len(data.names)
    if m == 1:
        return _empty(_figure(), "one objective: see the best-value plot")
    pairs = [(x, y)] if m == 2 else list(itertools.combinations(range(m), 2))
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    fig = _figure(4.2 * cols, 3.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (i, j) in zip(axes, pairs):
        _pareto_pair(ax, data, i, j)
    for ax in axes[len(pairs) :]:
        ax.set_visible(False)
    return fig


def _pareto_pair(ax: Any, data: D.ParetoData, i: int, j: int) -> None:
    v, feas, front = data.values, data.feasible, data.front
    ax.set_xlabel(f"{data.names[i]} ({data.directions[i]})")
    ax.set_ylabel(f"{data.names[j]} ({data.directions[j]})")
    if len(v) == 0:
        ax.text(
            0.5,
            0.5,
            "no completed trial yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="#666",
        )
        return
    ax.scatter(v[feas & ~front, i], v[feas & ~front, j], s=14, color="#9ecae1", label="trials")
    if (~feas).any():
        ax.scatter(v[~feas, i], v[~feas, j], s=18, marker="x", color="#d62728", label="infeasible")
    if front.any():
        f = v[front][:, [i, j]]
        if len(data.names) == 2:
            _front_steps(ax, f, data.frame(i, j), data.ref_point)
        ax.scatter(f[:, 0], f[:, 1], s=28, color="#08519c", zorder=3, label="Pareto front")
    if data.rerun_mean is not None and data.rerun_std is not None:
        # seed re-runs: each configuration's mean over its seeds, +- one standard deviation
        mean, std = data.rerun_mean, np.nan_to_num(data.rerun_std)
        ax.errorbar(mean[:, i], mean[:, j], xerr=std[:, i], yerr=std[:, j], fmt="o", ms=4,
                    color="#e6550d", ecolor="#fdae6b", elinewidth=1, capsize=2, zorder=4,
                    label="mean ± std over seeds")  # fmt: skip
    if data.baseline is not None and data.baseline in data.numbers:
        # the baseline, and the lines past which a trial beats it on one objective
        b = v[int(np.flatnonzero(data.numbers == data.baseline)[0])]
        ax.axvline(b[i], color="#e6550d", lw=0.8, ls="--", alpha=0.7)
        ax.axhline(b[j], color="#e6550d", lw=0.8, ls="--", alpha=0.7)
        ax.scatter([b[i]], [b[j]], s=90, marker="*", color="#e6550d", zorder=4, label="baseline")
    ax.legend(fontsize=7, loc="best")


def _front_steps(ax: Any, f: np.ndarray, frame: Objectives, ref: tuple[float, ...] | None) -> None:
    """The attainment staircase and, with a reference point, the dominated region (``frame``:
    the two objectives plotted)."""
    g = frame.to_max_array(f)  # the staircase is built in the maximization frame
    g = g[np.argsort(-g[:, 0])]  # best x first, so y rises along the front
    if ref is None:
        ax.plot(*frame.from_max_array(g).T, color="#08519c", lw=1, alpha=0.6)
        return
    r = frame.to_max_array(ref)
    poly = [(g[0, 0], r[1])]
    for k in range(len(g)):
        poly.append((g[k, 0], g[k, 1]))
        nxt = g[k + 1, 0] if k + 1 < len(g) else r[0]
        poly.append((nxt, g[k, 1]))
    poly.append((r[0], r[1]))
    pts = frame.from_max_array(np.array(poly))
    ax.fill(pts[:, 0], pts[:, 1], color="#c6dbef", alpha=0.5, lw=0, label="dominated region")
    ax.plot(pts[1:-1, 0], pts[1:-1, 1], color="#08519c", lw=1)
    ax.scatter([ref[0]], [ref[1]], marker="+", color="#555", s=40, label="reference point")


# ---------------------------------------------------------------------- curves


def curves(
    study_or_data: Any, metric: str | None = None, log_y: bool = False, highlight: int | None = None
) -> Figure:
    """Learning curves of ``metric``: running trials highlighted, pruned trials dimmed, the
    pruner's rung steps marked, an optional trial (``highlight``) drawn on top."""
    if isinstance(study_or_data, D.CurvesData):
        data = study_or_data
    else:
        study = study_or_data
        rungs = getattr(getattr(study, "pruner", None), "rungs", ())
        data = D.curves_from_history(study.trials, study.reports(), study.objectives, metric, rungs)
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot()
    if not data.curves:
        return _empty(fig, "no reports yet: call trial.report(step, metric=value)")
    from matplotlib.collections import LineCollection

    groups: dict[tuple[str, float, float], list[Any]] = {}
    marks = []
    for c in data.curves:
        color, lw, alpha = STATE_COLORS.get(c.state, "#1f77b4"), 1.0, 0.8
        if c.state == "PRUNED":
            lw, alpha = 0.8, 0.25
        elif c.state == "RUNNING":
            lw, alpha = 1.8, 1.0
        if highlight is not None and c.trial == highlight:
            continue  # drawn last, on top
        groups.setdefault((color, lw, alpha), []).append(np.column_stack([c.steps, c.values]))
        if c.pruned_at is not None and c.steps:
            marks.append((c.steps[-1], c.values[-1]))
    # one artist per style: thousands of curves draw in one call
    for (color, lw, alpha), segs in groups.items():
        ax.add_collection(LineCollection(segs, colors=color, linewidths=lw, alpha=alpha))
    if marks:
        ax.plot(*zip(*marks), ls="", marker="x", color="#777", ms=4)
    for c in data.curves:
        if highlight is not None and c.trial == highlight:
            ax.plot(c.steps, c.values, color="#ff7f0e", lw=2.6, zorder=5, label=f"trial {c.trial}")
    ax.autoscale_view()
    for r in data.rungs:
        ax.axvline(r, color="#bbb", lw=0.8, ls="--", zorder=0)
    if log_y and all(v > 0 for c in data.curves for v in c.values):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    label = f"{data.metric} ({data.direction})" if data.direction else data.metric
    ax.set_ylabel(label)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=STATE_COLORS[s], label=s.lower())
        for s in ("RUNNING", "COMPLETE", "PRUNED")
        if any(c.state == s for c in data.curves)
    ]
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="best")
    return fig


# ---------------------------------------------------------------------- hypervolume


def hypervolume(study_or_data: Any, by: str = "trials", objectives: Any = None) -> Figure:
    """Hypervolume (or, with one objective, the best value) after each finished trial, against
    the number of trials (``by="trials"``), wall time (``"time"``) or both (``"both"``).
    Takes a study, plot data, or a ``trials_frame()`` with ``objectives=...`` (then in row
    order)."""
    data = (
        study_or_data
        if isinstance(study_or_data, D.HypervolumeData)
        else D.hypervolume_data(*_study_parts(study_or_data, objectives))
    )
    which = ["trials", "time"] if by == "both" else [by]
    fig = _figure(4.2 * len(which), 3.4)
    axes = fig.subplots(1, len(which), squeeze=False).ravel()
    label = "best value" if data.best else "hypervolume"
    for ax, w in zip(axes, which):
        x = data.n_trials if w == "trials" else data.elapsed_s
        if len(x) == 0:
            _empty(fig, "no finished trial yet")
            continue
        ax.step(x, data.hypervolume, where="post", color="#08519c")
        ax.set_xlabel("finished trials" if w == "trials" else "seconds")
        ax.set_ylabel(label)
    return fig


# ---------------------------------------------------------------------- anytime


def anytime(studies: Any, ref_point: Sequence[float] | None = None) -> Figure:
    """Hypervolume (one objective: best value) against steps spent, one line per study: what
    each study had found after spending so many steps (reports) in all. The way to compare a
    pruned study with an unpruned one, or pruners with each other.

    Args:
        studies: ``{label: study}``, a list of studies (labelled by name), or
            :class:`~hpo_notebook.viz.data.AnytimeData`.
        ref_point: the reference point in each objective's own direction (default: the
            studies' thresholds, else one inferred from every study's trials, so that the
            lines share it).

    Example:
        >>> fig = hn.plots.anytime({"no pruning": plain, "MO-ASHA": pruned})  # doctest: +SKIP
    """
    items = list(studies.items()) if isinstance(studies, Mapping) else [
        (getattr(s, "name", f"study {i}"), s) for i, s in enumerate(studies)
    ]  # fmt: skip
    data = [s for _, s in items if isinstance(s, D.AnytimeData)]
    live = [(label, s) for label, s in items if not isinstance(s, D.AnytimeData)]
    if live:
        from hpo_notebook import results as R

        objectives = live[0][1].objectives
        for label, s in live:
            if list(s.objectives.names) != list(objectives.names):
                raise ValueError(
                    f"anytime: study {label!r} has objectives {list(s.objectives.names)}, "
                    f"not {list(objectives.names)}: only studies of one problem compare"
                )
        if ref_point is not None:
            ref = objectives.to_max_array(ref_point).tolist()
        elif objectives.n > 1:
            ref = R.study_reference_point([t for _, s in live for t in s.trials], objectives)
        else:
            ref = None
        for label, s in live:
            times = s.curves()["t"].dropna().to_numpy(dtype=float)
            data.append(D.anytime_data(str(label), s.trials, times, objectives, ref))
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    if not any(len(d.steps) for d in data):
        return _empty(fig, "no finished trial yet")
    for d in data:
        ax.step(d.steps, d.value, where="post", label=d.label)
    ax.set_xlabel("steps spent (reports of every trial)")
    ax.set_ylabel("best value" if data and data[0].best else "hypervolume")
    ax.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------------- parallel


def parallel(study_or_data: Any, objective: str | None = None) -> Figure:
    """Parallel coordinates: each completed trial a line across its parameters (unit scale),
    coloured by an objective (darker is better)."""
    if isinstance(study_or_data, D.ParallelData):
        data = study_or_data
    else:
        s = study_or_data
        data = D.parallel_data(s.trials, s.space, s.objectives, objective)
    d = len(data.params)
    fig = _figure(max(4.5, 1.2 * d + 1.5), 3.6)
    ax = fig.add_subplot()
    if len(data.values) == 0:
        return _empty(fig, "no completed trial yet")
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    vals = data.maximized()
    norm = Normalize(vmin=float(vals.min()), vmax=float(vals.max()) or 1.0)
    cmap = colormaps["viridis"]
    from matplotlib.collections import LineCollection

    xs = np.arange(d)
    order = np.argsort(vals)  # best drawn last, on top
    unit = data.placed()
    segs = [np.column_stack([xs, unit[k]]) for k in order]
    ax.add_collection(
        LineCollection(segs, colors=cmap(norm(vals[order])), linewidths=1.0, alpha=0.8)
    )
    ax.set_ylim(D.INACTIVE_AT - 0.05 if data.has_inactive() else -0.05, 1.05)
    ax.set_xticks(
        xs, [f"{p}\n{lo} … {hi}" for p, (lo, hi) in zip(data.params, data.labels)], fontsize=7
    )
    if data.has_inactive():
        ax.set_yticks([D.INACTIVE_AT, 0, 1], ["inactive", "low", "high"])
    else:
        ax.set_yticks([0, 1], ["low", "high"])
    ax.set_xlim(-0.2, d - 0.8)
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(
        norm=Normalize(float(data.values.min()), float(data.values.max())),
        cmap=cmap if data.direction == "max" else cmap.reversed(),
    )
    fig.colorbar(sm, ax=ax, label=f"{data.objective} ({data.direction})")
    return fig


# ---------------------------------------------------------------------- importance


def importance(study_or_data: Any) -> Figure:
    """Parameter importance (see ``viz.data.importance_data`` for the method)."""
    if isinstance(study_or_data, D.ImportanceData):
        data = study_or_data
    else:
        s = study_or_data
        data = D.importance_data(s.space, s.optimizer_state, s.trials, s.objectives)
    fig = _figure(4.8, 0.45 * len(data.params) + 1.2)
    ax = fig.add_subplot()
    order = np.argsort(data.importance)
    ax.barh([data.params[i] for i in order], [data.importance[i] for i in order], color="#3182bd")
    ax.set_xlabel(f"importance ({data.method})")
    return fig


# ---------------------------------------------------------------------- proposal times


def proposal_times(study_or_data: Any) -> Figure:
    """Seconds each proposal took (GP fit and acquisition), so slow suggestions show."""
    data = (
        study_or_data
        if isinstance(study_or_data, D.ProposalTimes)
        else D.proposal_times(study_or_data.trials)
    )
    fig = _figure(5.2, 3.0)
    ax = fig.add_subplot()
    model = [i for i, k in enumerate(data.kinds) if k.startswith("q")]
    if not model:
        return _empty(fig, "no model-based proposal yet (initial design)")
    n = [data.numbers[i] for i in model]
    fit = [data.fit_s[i] for i in model]
    acq = [data.acq_s[i] for i in model]
    ax.bar(n, fit, color="#9ecae1", label="GP fit")
    ax.bar(n, acq, bottom=fit, color="#3182bd", label="acquisition")
    ax.set_xlabel("trial")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=7)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (Agg)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
