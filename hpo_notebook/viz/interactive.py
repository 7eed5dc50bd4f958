"""Interactive figures (plotly) of a study, from the same plot data as the static ones.

Pure functions: plot data in, a ``plotly.graph_objects.Figure`` out. Each point and curve
carries its trial number as ``customdata`` (for click-to-select) and a hover text with the
trial's parameters and metrics. The static matplotlib figures (``hn.plots``) stay for scripts,
papers and saved notebooks; these serve the report (``Study.report``) and live views.

Example:
    >>> import hpo_notebook as hn
    >>> from hpo_notebook.viz import data as D, interactive as I
    >>> study = hn.Study(None, {"x": hn.Float(0, 1)}, {"a": "min", "b": "min"}, seed=0)
    >>> for t in study.ask(3):
    ...     study.tell(t, {"a": t.params["x"], "b": 1 - t.params["x"]})
    >>> data = D.pareto_data(study.trials, study.objectives)
    >>> fig = I.pareto(data, I.hover_texts(study.trials))
    >>> [trace.name for trace in fig.data]
    ['trials', 'staircase', 'Pareto front']
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo_notebook.viz import data as D

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from hpo_notebook.trial import Trial

#: colours shared with the static figures
FRONT, TRIALS, INFEASIBLE, BASELINE, RERUN = "#08519c", "#9ecae1", "#d62728", "#e6550d", "#e6550d"
_STATE_COLORS = {"COMPLETE": "#3182bd", "RUNNING": "#31a354", "PRUNED": "#bdbdbd",
                 "FAILED": "#d62728", "INTERRUPTED": "#fd8d3c"}  # fmt: skip


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _layout(fig: Figure, title: str, height: int = 380) -> Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 14}},
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        template="plotly_white",
        legend={"font": {"size": 11}},
        hoverlabel={"font_size": 11},
        # a live chart updated with new data keeps the user's zoom and pan
        uirevision="hpo",
    )
    return fig


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def hover_texts(trials: Sequence[Trial]) -> dict[int, str]:
    """Per trial number: its state, parameters and metrics, as hover text (HTML)."""
    out = {}
    esc = html.escape  # names and values are the user's: never markup
    for t in trials:
        lines = [f"<b>trial {t.number}</b> ({t.state.value.lower()})"]
        lines += [f"{esc(str(k))} = {esc(_fmt(v))}" for k, v in t.params.items()]
        lines += [f"<i>{esc(str(k))}</i> = {esc(_fmt(v))}" for k, v in (t.values or {}).items()]
        out[t.number] = "<br>".join(lines)
    return out


def pareto(data: D.ParetoData, hover: Mapping[int, str] | None = None, x: int = 0,
           y: int = 1) -> Figure:  # fmt: skip
    """Objective ``x`` against ``y``: trials, the front (with its staircase when there are two
    objectives), infeasible trials, the baseline and re-run means with error bars."""
    go = _go()
    hover = hover or {}
    fig = go.Figure()
    v, feas, front = data.values, data.feasible, data.front

    def trace(mask: np.ndarray, name: str, **style: Any) -> None:
        nums = data.numbers[mask]
        fig.add_trace(
            go.Scatter(
                x=v[mask, x], y=v[mask, y], mode="markers", name=name,
                customdata=nums, text=[hover.get(int(n), f"trial {n}") for n in nums],
                hovertemplate="%{text}<extra></extra>", **style,
            )
        )  # fmt: skip

    if len(v) and len(data.names) >= 2:
        trace(feas & ~front, "trials", marker={"size": 7, "color": TRIALS})
        if (~feas).any():
            trace(~feas, "infeasible", marker={"size": 8, "color": INFEASIBLE, "symbol": "x"})
        if front.any():
            if len(data.names) == 2:
                f = v[front][:, [x, y]]
                g = data.frame(x, y).to_max_array(f)
                order = np.argsort(-g[:, 0])
                steps = go.Scatter(x=f[order, 0], y=f[order, 1], mode="lines", name="staircase",
                                   line={"shape": "hv", "color": FRONT, "width": 1},
                                   hoverinfo="skip", showlegend=False)  # fmt: skip
                fig.add_trace(steps)
            trace(front, "Pareto front", marker={"size": 10, "color": FRONT})
        if data.baseline is not None and data.baseline in data.numbers:
            trace(data.numbers == data.baseline, "baseline",
                  marker={"size": 16, "color": BASELINE, "symbol": "star"})  # fmt: skip
        if data.rerun_mean is not None and data.rerun_std is not None:
            mean, std = data.rerun_mean, np.nan_to_num(data.rerun_std)
            fig.add_trace(
                go.Scatter(
                    x=mean[:, x], y=mean[:, y], mode="markers", name="mean ± std over seeds",
                    marker={"size": 8, "color": RERUN},
                    error_x={"type": "data", "array": std[:, x], "visible": True},
                    error_y={"type": "data", "array": std[:, y], "visible": True},
                    customdata=data.rerun_numbers,
                    hovertemplate="trial %{customdata} over seeds<br>%{x:.4g}, %{y:.4g}"
                    "<extra></extra>",
                )
            )  # fmt: skip
    if len(data.names) >= 2:
        fig.update_xaxes(title_text=f"{data.names[x]} ({data.directions[x]})")
        fig.update_yaxes(title_text=f"{data.names[y]} ({data.directions[y]})")
    return _layout(fig, "Pareto front" if len(data.names) >= 2 else "one objective")


#: the most points the learning-curve chart draws: 1,000 curves of 50 reports were 1.5 MB
#: per update in full; past this, each curve keeps every k-th report and its last one
CURVE_POINTS = 10_000


def curves(
    data: D.CurvesData,
    highlight: int | None = None,
    log_y: bool = False,
    max_points: int | None = CURVE_POINTS,
) -> Figure:
    """Learning curves of ``data.metric``, coloured by the trials' states (pruned ones dimmed),
    the pruner's rungs as vertical lines, trial ``highlight`` drawn on top (in full). One trace
    per state (curves joined by gaps), so a thousand trials stay a handful of traces, each a
    few float32 arrays (sent as binary, not as a list of numbers), thinned to ``max_points``
    points in all."""
    go = _go()
    fig = go.Figure()
    by_state: dict[str, list[D.Curve]] = {}
    for c in data.curves:
        by_state.setdefault(c.state, []).append(c)
    total = sum(len(c.steps) for c in data.curves)
    stride = 1 if max_points is None or total <= max_points else -(-total // max_points)

    def thin(values: Any) -> np.ndarray:
        a = np.asarray(values, dtype=np.float32)
        if stride == 1 or len(a) <= 2:
            return a
        return np.append(a[:-1:stride], a[-1])  # every stride-th report, and the last

    gap = np.array([np.nan], dtype=np.float32)
    for state, group in by_state.items():
        xs = np.concatenate([a for c in group for a in (thin(c.steps), gap)])
        ys = np.concatenate([a for c in group for a in (thin(c.values), gap)])
        nums = np.concatenate([np.append(np.full(len(thin(c.steps)), c.trial, np.float32), gap)
                               for c in group])  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", name=state.lower(), customdata=nums,
                line={"color": _STATE_COLORS.get(state, "#1f77b4"),
                      "width": 1 if state == "PRUNED" else 1.5},
                opacity=0.4 if state == "PRUNED" else 0.85,
                hovertemplate="trial %{customdata}<br>step %{x:g}: %{y:.4g}<extra>"
                + state.lower() + "</extra>",
            )
        )  # fmt: skip
    chosen = next((c for c in data.curves if c.trial == highlight), None)
    if chosen is not None:
        fig.add_trace(
            go.Scatter(
                x=list(chosen.steps), y=list(chosen.values), mode="lines+markers",
                name=f"trial {chosen.trial}", line={"color": "#d62728", "width": 3},
                customdata=[chosen.trial] * len(chosen.steps),
                hovertemplate=f"trial {chosen.trial}<br>step %{{x:g}}: %{{y:.4g}}<extra></extra>",
            )
        )  # fmt: skip
    for r in data.rungs:
        fig.add_vline(x=r, line={"color": "#999", "dash": "dot", "width": 1})
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text=data.metric or "", type="log" if log_y else None)
    return _layout(fig, f"learning curves: {data.metric}" if data.metric else "learning curves")


def hypervolume(data: D.HypervolumeData, by: str = "trials") -> Figure:
    """Hypervolume (or the best value, one objective) after each finished trial, against the
    number of finished trials (``by="trials"``) or, beside it, the seconds since the study
    began (``"both"``)."""
    go = _go()
    label = "best value" if data.best else "hypervolume"
    if by == "both":
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06)
    else:
        fig = go.Figure()
    axes = [("finished trials", data.n_trials, "%{x} trials")]
    if by == "both":
        axes.append(("seconds", data.elapsed_s, "%{x:.0f} s"))
    for col, (title, x, where) in enumerate(axes, start=1):
        trace = go.Scatter(
            x=x, y=data.hypervolume, mode="lines+markers", name=label, showlegend=False,
            line={"shape": "hv", "color": FRONT}, marker={"size": 4},
            hovertemplate=where + ": %{y:.5g}<extra></extra>",
        )  # fmt: skip
        if by == "both":
            fig.add_trace(trace, row=1, col=col)
            fig.update_xaxes(title_text=title, row=1, col=col)
        else:
            fig.add_trace(trace)
            fig.update_xaxes(title_text=title)
    fig.update_yaxes(title_text=label, **({"row": 1, "col": 1} if by == "both" else {}))
    return _layout(fig, label)


def parallel(data: D.ParallelData) -> Figure:
    """Parallel coordinates of the completed trials' parameters, coloured by an objective
    (drag along an axis to filter)."""
    go = _go()
    unit, off = data.placed(), D.INACTIVE_AT
    dims = []
    for i, (p, (lo, hi)) in enumerate(zip(data.params, data.labels)):
        inactive = bool(np.isnan(data.unit[:, i]).any())  # a conditional parameter
        dims.append(
            {"label": p, "values": unit[:, i], "range": [off - 0.05 if inactive else 0, 1],
             "tickvals": [off, 0, 1] if inactive else [0, 1],
             "ticktext": ["inactive", lo, hi] if inactive else [lo, hi]}
        )  # fmt: skip
    dims.append({"label": data.objective, "values": data.values})
    fig = go.Figure(
        go.Parcoords(
            line={"color": data.values, "colorscale": "Viridis",
                  "reversescale": data.direction == "min", "showscale": True},
            dimensions=dims,
        )
    )  # fmt: skip
    fig = _layout(fig, f"parameters, coloured by {data.objective} ({data.direction})", 440)
    return fig.update_layout(margin={"t": 90})  # the axis names sit above the axes


def importance(data: D.ImportanceData) -> Figure:
    """Parameter importance, largest on top."""
    go = _go()
    order = np.argsort(data.importance)
    fig = go.Figure(
        go.Bar(
            x=[data.importance[i] for i in order], y=[data.params[i] for i in order],
            orientation="h", marker={"color": "#3182bd"},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(title_text=f"importance ({data.method})")
    return _layout(fig, "parameter importance", max(260, 40 * len(data.params) + 120))
