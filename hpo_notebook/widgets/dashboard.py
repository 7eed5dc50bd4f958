"""The live notebook dashboard: thin ipywidgets wiring over the study's events and the pure
plot functions of ``hpo_notebook.viz``.

- Views only read: the dashboard subscribes to the study's events and marks panels dirty;
  a render thread redraws dirty panels at most every ``refresh_s`` seconds, off the driver's
  path (the event handler only sets flags).
- Charts are plotly ``FigureWidget``s (anywidget: JupyterLab 4, Notebook 7, VS Code, Voilà
  and Binder with no frontend build): hover names a trial, a click on a point or a curve
  selects it everywhere, zoom and pan survive updates, and an update sends the traces' data
  (binary arrays), only when it changed. The proposal-time chart and the selected trial's
  curve stay PNG images (Agg canvas, no pyplot).
- Buttons call the study's controls; errors in callbacks land in an ``Output`` widget.

Example:
    >>> import hpo_notebook as hn
    >>> study = hn.Study(None, hn.Space(x=hn.Float(0, 1)), objectives={"y": "min"})
    >>> dash = Dashboard(study, autostart=False)
    >>> t = study.ask(); study.tell(t, 0.5)
    >>> dash.refresh()
    >>> "1 complete" in dash.header.value
    True
"""

from __future__ import annotations

import atexit
import contextlib
import html
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo_notebook.events import ReportsAdded, StudyEvent, TrialChanged
from hpo_notebook.trial import TrialState
from hpo_notebook.viz import data as D
from hpo_notebook.viz import interactive as I
from hpo_notebook.viz import plots as P

if TYPE_CHECKING:
    from hpo_notebook.study import Study

_LIVE: weakref.WeakSet[Dashboard] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # A render thread still drawing (torch, matplotlib) while the interpreter shuts down
    # aborts the process: stop and join them first.
    for dash in list(_LIVE):
        dash.close(join_s=2.0)


#: seconds between two looks at the study file for another process's writes
FOLLOW_S = 0.5
PANELS = ("header", "curves", "pareto", "hypervolume", "trials", "params", "proposals")
_STATES = [s.value for s in TrialState]

#: Dark themes: the kernel cannot see the frontend's theme, so the charts (PNG images and
#: plotly's SVG, both drawn on white) are inverted in the browser wherever the page says it
#: is dark: JupyterLab, Notebook 7 and Voila mark ``body[data-jp-theme-light="false"]``,
#: VS Code ``body.vscode-dark``. Inverting lightness and turning hues back by 180 degrees
#: keeps each colour's hue (the front stays blue, infeasible points red). Also: images keep
#: their natural size (a flex box stretched them to the cell's width, labels with them) and
#: shrink in narrow cells.
THEME_CSS = """<style>
.hpo-dashboard img.widget-image {
  align-self: flex-start; flex: 0 1 auto; width: auto; min-width: 0; max-width: 100%;
  height: auto; object-fit: contain;
}
body[data-jp-theme-light="false"] .hpo-dashboard img,
body[data-jp-theme-light="false"] .hpo-dashboard .js-plotly-plot,
body.vscode-dark .hpo-dashboard img,
body.vscode-dark .hpo-dashboard .js-plotly-plot,
body.vscode-high-contrast .hpo-dashboard img,
body.vscode-high-contrast .hpo-dashboard .js-plotly-plot {
  filter: invert(0.9) hue-rotate(180deg);
}
</style>"""


def _figure_widget(W: Any, name: str, height: int) -> tuple[Any, Any]:
    """An empty interactive chart, and the box (CSS class ``name``) that holds it."""
    import plotly.graph_objects as go

    with _quiet():
        fig = go.FigureWidget()
    fig.layout.height = height
    box = W.VBox([fig], layout={"width": "100%"})  # a column: the chart takes its width
    box.add_class(name)
    return fig, box


def _fit_width(fig: Any) -> None:
    """Make plotly measure the chart's container again. A chart first drawn out of view (a
    tab not shown) is 700 px wide, and plotly resizes it only when the window changes size; a
    relayout that turns ``autosize`` on measures the container."""
    fig.layout.autosize = False
    fig.layout.autosize = True


def _style(W: Any) -> Any:
    return W.HTML(THEME_CSS, layout={"display": "none"})


class Dashboard:
    """A live view of a study with controls.

    Args:
        study: the study to show.
        refresh_s: least time between two redraws of a panel.
        autostart: start the render thread now (else call :meth:`refresh` yourself).

    Attributes:
        widget: the ipywidgets tree to display.
        renders: how many times each panel was redrawn (for tests and benchmarks).
        render_s: the last redraw time of each panel, in seconds.
    """

    def __init__(self, study: Study, refresh_s: float = 0.5, autostart: bool = True) -> None:
        import ipywidgets as W

        self.study = study
        self.refresh_s = refresh_s
        self.renders = dict.fromkeys(PANELS, 0)
        self.render_s = dict.fromkeys(PANELS, 0.0)
        self._dirty = set(PANELS)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._started = study.clock.time()
        self._pngs: dict[str, bytes] = {}
        #: how many times each interactive chart was sent new data (for tests and benchmarks)
        self.sent: dict[str, int] = {}
        #: per chart (by id): the traces and layout it shows, as JSON
        self._sent: dict[int, tuple[list[str], str]] = {}
        self._fit_at: list[float] = []  # when the shown charts measure their width
        self._pareto_key: Any = None
        self.last_error: str | None = None
        #: Set after every pass of the render thread (tests and benchmarks wait on it).
        self.rendered = threading.Event()

        self.header = W.HTML()
        self.errors = W.Output(layout={"max_height": "10em", "overflow": "auto"})
        self._build_controls(W)
        self._build_panels(W)
        self.widget = W.VBox(  # the style last: tests and users find the header first
            [self.header, self.controls, self.tabs, self.errors, _style(W)]
        )
        self.widget.add_class("hpo-dashboard")
        self._unsubscribe = study.subscribe(self._on_event)
        self._thread: threading.Thread | None = None
        _LIVE.add(self)
        if autostart:
            self.start()

    # ------------------------------------------------------------------ widgets

    def _build_controls(self, W: Any) -> None:
        def button(label: str, style: str, fn: Callable[[], None], tip: str) -> Any:
            b = W.Button(
                description=label, button_style=style, tooltip=tip, layout={"width": "auto"}
            )
            b.on_click(self._safe(lambda _: fn()))
            return b

        self.pause_button = button("Pause", "warning", self.study.pause, "start no new trials")
        self.resume_button = button("Resume", "success", self.study.resume, "go on")
        self.stop_button = button("Stop", "danger", self.study.stop, "stop the study")
        self.prune_button = button(
            "Prune selected", "", self._prune_selected, "stop the trial selected in the Trials tab"
        )
        self.add_count = W.BoundedIntText(value=10, min=1, max=100000, layout={"width": "6em"})
        self.add_button = button(
            "Add trials",
            "",
            lambda: self.study.add_trials(int(self.add_count.value)),
            "run this many more trials",
        )
        self.concurrency = W.BoundedIntText(value=2, min=1, max=10000, layout={"width": "5em"})
        self.concurrency_button = button(
            "Set concurrency",
            "",
            lambda: self.study.set_concurrency(int(self.concurrency.value)),
            "trials at once from now on",
        )
        self.status = W.HTML()
        #: why the controls are disabled (a study that another process runs), else empty
        self.watching = W.HTML()
        self._read_only: str | None = None
        self._tips = {
            b.description: b.tooltip
            for b in (self.pause_button, self.resume_button, self.stop_button,
                      self.prune_button, self.add_button, self.concurrency_button)
        }  # fmt: skip
        self.controls = W.HBox(
            [
                self.pause_button,
                self.resume_button,
                self.stop_button,
                self.prune_button,
                self.add_count,
                self.add_button,
                self.concurrency,
                self.concurrency_button,
                self.status,
                self.watching,
            ],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )

    def _image(self, W: Any) -> Any:
        return W.Image(format="png", layout={"max_width": "100%"})

    def _build_panels(self, W: Any) -> None:
        objs = self.study.objectives
        names = list(objs.names)
        self.metric = W.Dropdown(options=names, value=names[0], description="metric")
        self.log_y = W.Checkbox(value=False, description="log y", indent=False)
        self.curves_fig, curves_chart = _figure_widget(W, "hpo-curves", 400)
        self.metric.observe(lambda _: self._mark("curves"), "value")
        self.log_y.observe(lambda _: self._mark("curves"), "value")
        # is the early metric a good guide where the pruner decides? (rank correlations)
        self.signal = W.HTML()
        self.signal.add_class("hpo-signal")
        self._signal_key: int | None = None
        curves_box = W.VBox([W.HBox([self.metric, self.log_y]), curves_chart, self.signal])

        self.pareto_x = W.Dropdown(options=names, value=names[0], description="x")
        self.pareto_y = W.Dropdown(
            options=names, value=names[min(1, len(names) - 1)], description="y"
        )
        for w in (self.pareto_x, self.pareto_y):
            w.observe(lambda _: self._mark("pareto"), "value")
        #: the charts are interactive (plotly): hover a point or a curve for its trial, click
        #: it to select that trial (details, table, curves), zoom and pan; only data travels
        #: on updates, and only when it changed. One objective: the best value so far.
        self.pareto_fig, pareto_chart = _figure_widget(W, "hpo-pareto", 420)
        #: validation against held-out values on the front (studies with ``held_out=``)
        self.held_out = W.HTML()
        pareto_children = [pareto_chart, self.held_out]
        if len(names) >= 3:
            pareto_children.insert(0, W.HBox([self.pareto_x, self.pareto_y]))
        pareto_box = W.VBox(pareto_children)

        self.hv_fig, hv_chart = _figure_widget(W, "hpo-hypervolume", 380)

        # the trial table: a data grid (sort and filter from each column's menu, rows drawn
        # as they scroll into view, so thousands of trials stay fast); a row selects a trial
        with _quiet():
            from ipydatagrid import DataGrid

            self.trial_grid = DataGrid(
                trial_table([], objs.names, self.study.space.names),
                selection_mode="row",
                base_column_size=84,
                base_row_header_size=0,
                header_visibility="column",
                layout={"height": "340px", "width": "100%"},
            )
        self.trial_grid.add_class("hpo-trial-grid")
        self.trial_grid.on_cell_click(self._on_cell_click)
        self._grid_trials: list[int] = []  # the table's rows, as trial numbers
        #: the trial shown in the detail pane (selected in the table, or by select_trial)
        self.selected: int | None = None
        self._grid_key: tuple[Any, ...] | None = None
        self.trial_detail = W.HTML("<i>select a row of the table to see that trial</i>")
        self.trial_curve = self._image(W)
        self.trial_curve.layout.display = "none"  # no empty image before a selection
        trials_box = W.VBox(
            [self.trial_grid, W.HBox([self.trial_detail, self.trial_curve])],
            layout={"width": "100%"},
        )

        self.parallel_fig, parallel_chart = _figure_widget(W, "hpo-parallel", 440)
        self.importance_fig, importance_chart = _figure_widget(W, "hpo-importance", 300)
        params_box = W.VBox([parallel_chart, importance_chart], layout={"width": "100%"})
        self.proposals_image = self._image(W)

        self.tabs = W.Tab(
            children=[
                curves_box,
                pareto_box,
                hv_chart,
                trials_box,
                params_box,
                self.proposals_image,
            ]
        )
        titles = [
            "Curves",
            "Pareto" if len(names) > 1 else "Best",
            "Hypervolume",
            "Trials",
            "Parameters",
            "Proposals",
        ]
        for i, t in enumerate(titles):
            self.tabs.set_title(i, t)
        self._tab_charts = {
            0: [self.curves_fig],
            1: [self.pareto_fig],
            2: [self.hv_fig],
            4: [self.parallel_fig, self.importance_fig],
        }
        self.tabs.observe(self._on_tab, "selected_index")

    # ------------------------------------------------------------------ events

    def displayed(self) -> None:
        """Say that the widget is being shown (again): the charts of the tab shown measure
        their width 1 and 3 seconds from now, once the frontend has laid them out (a view
        drawn before it had a width stays 700 px wide, and the kernel is not told when a view
        is made)."""
        now = time.monotonic()
        with self._lock:
            self._fit_at = [now + 1.0, now + 3.0]
        self._wake.set()

    def _fit_shown(self) -> None:
        for fig in self._tab_charts.get(self.tabs.selected_index or 0, []):
            _fit_width(fig)

    def _on_tab(self, change: dict[str, Any]) -> None:
        for fig in self._tab_charts.get(change["new"], []):
            _fit_width(fig)
        self._wake.set()

    def _on_event(self, event: StudyEvent) -> None:
        # Runs on the driver thread: only mark what changed.
        if isinstance(event, ReportsAdded):
            self._mark("curves", "header")
        elif isinstance(event, TrialChanged):
            self._mark(*PANELS)
        else:
            self._mark("header")

    def _mark(self, *panels: str, detail_only: bool = False) -> None:
        with self._lock:
            self._dirty.update(panels)
            if detail_only:
                self._dirty.add("detail")
        self._wake.set()

    def _safe(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        def wrapped(arg: Any) -> None:
            try:
                fn(arg)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                with self.errors:
                    print(self.last_error)
            self._mark("header")

        return wrapped

    # ------------------------------------------------------------------ rendering

    def start(self) -> None:
        """Start the render thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="hpo-dashboard", daemon=True)
            self._thread.start()

    def close(self, join_s: float = 0.0) -> None:
        """Stop rendering and unsubscribe from the study (waiting up to ``join_s`` seconds for
        a redraw in progress)."""
        self._closed = True
        self._wake.set()
        self._unsubscribe()
        if join_s and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(join_s)

    def _loop(self) -> None:
        last: dict[str, float] = {}
        followed = 0.0
        while not self._closed:
            self._wake.wait(timeout=1.0)  # the header clock ticks once a second anyway
            self._wake.clear()
            now = time.monotonic()
            if now - followed >= FOLLOW_S:  # a study another process runs: its new writes
                followed = now
                try:
                    self.study.catch_up()  # publishes what changed, which marks the panels
                except Exception as exc:
                    with self.errors:
                        print(f"dashboard: cannot read the study file: {exc}")
                now = time.monotonic()
            with self._lock:
                fit = bool(self._fit_at) and now >= self._fit_at[0]
                if fit:
                    self._fit_at.pop(0)
            if fit:
                self._fit_shown()
            with self._lock:
                due = {p for p in self._dirty if now - last.get(p, 0.0) >= self.refresh_s}
                due.add("header")
                self._dirty -= due
            try:
                self.refresh(due)
            except Exception as exc:  # never let a plot error kill the view
                with self.errors:
                    print(f"dashboard: {type(exc).__name__}: {exc}")
            for p in due:
                last[p] = now
            self.rendered.set()
            with self._lock:
                if self._dirty:  # throttled ones: look again when they are due
                    self._wake.set()
            if self._dirty:
                time.sleep(min(self.refresh_s, 0.05))

    def refresh(self, panels: set[str] | None = None) -> None:
        """Redraw ``panels`` (all by default) now, in the calling thread."""
        panels = set(PANELS) if panels is None else set(panels)
        s = self.study
        trials = s.trials
        if "header" in panels:
            self._timed("header", lambda: self._draw_header(trials))
        draw = {
            "curves": lambda: self._draw_curves(trials),
            "pareto": lambda: self._draw_pareto(trials),
            "hypervolume": lambda: self._show(
                "hypervolume", self.hv_fig, I.hypervolume(self._hv_data(trials), by="both")
            ),
            "trials": lambda: self._draw_trials(trials),
            "params": lambda: self._draw_params(trials),
            "proposals": lambda: self._set(
                self.proposals_image, "proposals", P.proposal_times(D.proposal_times(trials))
            ),
        }
        for name, fn in draw.items():
            if name in panels:
                self._timed(name, fn)
        if "detail" in panels and "trials" not in panels:
            self._draw_detail(trials)

    def _timed(self, name: str, fn: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        fn()
        self.render_s[name] = time.perf_counter() - t0
        self.renders[name] += 1

    def _set(self, image: Any, key: str, fig: Any) -> None:
        png = P.to_png(fig)
        if self._pngs.get(key) != png:  # only send what changed
            self._pngs[key] = png
            image.value = png

    def _hv_data(self, trials: list[Any]) -> D.HypervolumeData:
        s = self.study
        history = s.hypervolume_history() if s.objectives.n > 1 else None
        return D.hypervolume_data(trials, s.objectives, history)

    def _curves_data(self, trials: list[Any]) -> D.CurvesData:
        s = self.study
        rungs = getattr(s.pruner, "rungs", ()) if s.pruner is not None else ()
        data = D.curves_from_history(trials, s.reports(), s.objectives, self.metric.value, rungs)
        options = list(dict.fromkeys([*s.objectives.names, *data.metrics]))
        if list(self.metric.options) != options:  # offer every reported metric
            self.metric.options = options
        if data.metric and self.metric.value != data.metric:
            self.metric.value = data.metric  # shows what is drawn
        return data

    # ------------------------------------------------------------------ panels

    def _draw_header(self, trials: list[Any]) -> None:
        s = self.study
        summary = summarize(s, trials, self._started)
        counts = ", ".join(f"{v} {k.lower()}" for k, v in summary.counts.items() if v)
        parts = [
            f"<b>{html.escape(summary.name)}</b>",
            counts or "no trials yet",
            f"elapsed {_clock(summary.elapsed_s)}",
        ]
        if summary.eta_s is not None:
            parts.append(f"ETA {_clock(summary.eta_s)}")
        if summary.score is not None:
            parts.append(f"{summary.score_label} {summary.score:.4g}")
        if "workers" in summary.extra:  # the cluster's workers now (they come and go)
            parts.append(f"{summary.extra['workers']} workers")
        if summary.utilization is not None:
            parts.append(f"workers busy {summary.utilization:.0%}")
        gains = summary.extra.get("baseline_gains")
        if gains:  # the best gain over the baseline on the front, per objective
            parts.append("vs baseline " + ", ".join(
                f"{html.escape(n)} {g:+.3g}" for n, g in gains.items()))  # fmt: skip
        if "reruns" in summary.extra:
            parts.append(html.escape(summary.extra["reruns"]))
        if "stop_rule" in summary.extra:
            parts.append(html.escape(summary.extra["stop_rule"]))
        for w in summary.extra.get("warnings", []):
            parts.append(f'<span style="color:#b35900">&#9888; {html.escape(w)}</span>')
        self._sync_controls()
        link = s.dask_dashboard
        if link:
            parts.append(f'<a href="{html.escape(link)}" target="_blank">Dask dashboard</a>')
        parts.append(f"<i>{html.escape(s.status)}</i>")
        self.header.value = " · ".join(parts)
        self.status.value = f"<i>{html.escape(s.status)}</i>"

    def _sync_controls(self) -> None:
        """A study that another process runs is read-only here: its controls are disabled and
        say why."""
        elsewhere = self.study.driven_elsewhere()
        reason = (
            None
            if elsewhere is None
            else f"read-only: this study is run by {elsewhere}; pause, stop and the other "
            "controls work in that process"
        )
        if reason == self._read_only:
            return
        self._read_only = reason
        for b in self._control_widgets():
            b.disabled = reason is not None
            if hasattr(b, "tooltip"):
                b.tooltip = reason or self._tips.get(b.description, "")
        self.watching.value = "" if reason is None else f"<i>{html.escape(reason)}</i>"

    def _control_widgets(self) -> list[Any]:
        buttons = [self.pause_button, self.resume_button, self.stop_button, self.prune_button]
        return [
            *buttons,
            self.add_count,
            self.add_button,
            self.concurrency,
            self.concurrency_button,
        ]

    def _show(self, name: str, fig: Any, new: Any) -> bool:
        """Show figure ``new`` in the chart ``fig`` if it differs from what it shows: traces
        updated in place when they are the same kinds (so plotly restyles, and zoom, pan and
        hover survive), replaced otherwise; the layout only when it changed. Returns whether
        anything was sent (counted in ``sent[name]``)."""
        import plotly.io as pio

        data = [pio.to_json(t, validate=False) for t in new.data]
        layout = pio.to_json(new.layout, validate=False)
        sent = self._sent.setdefault(id(fig), ([], ""))
        if (data, layout) == sent:
            return False
        self._sent[id(fig)] = (data, layout)
        height = fig.layout.height
        with fig.batch_update():
            if [t.type for t in fig.data] == [t.type for t in new.data]:
                for old, trace in zip(fig.data, new.data):
                    old.update(trace.to_plotly_json(), overwrite=True)
            else:
                fig.data = ()
                fig.add_traces(list(new.data))
            if layout != sent[1]:
                fig.update_layout(new.layout.to_plotly_json(), overwrite=True)
                fig.layout.height = new.layout.height or height
                fig.layout.autosize = True  # a new layout keeps the box's width (_fit_width)
        for trace in fig.data:
            if getattr(trace, "customdata", None) is not None:
                trace.on_click(self._on_point_click)
        self.sent[name] = self.sent.get(name, 0) + 1
        return True

    def _draw_curves(self, trials: list[Any]) -> None:
        data = self._curves_data(trials)
        self._show("curves", self.curves_fig, I.curves(data, self.selected, log_y=self.log_y.value))
        done = sum(t.state is TrialState.COMPLETE for t in trials)
        if done != self._signal_key:  # the figures change only when a trial completes
            self._signal_key = done
            self.signal.value = signal_html(self.study.rank_correlations()) if done >= 3 else ""

    def _draw_pareto(self, trials: list[Any]) -> None:
        s = self.study
        if s.objectives.n == 1:
            self._show("pareto", self.pareto_fig, I.hypervolume(self._hv_data(trials)))
        else:
            data = D.pareto_data(trials, s.objectives)
            names = list(s.objectives.names)
            i, j = names.index(self.pareto_x.value), names.index(self.pareto_y.value)
            if len(names) > 2 and i != j:
                data = _pair(data, i, j)
            self._update_pareto_fig(data, trials)
        self.held_out.value = held_out_html(s.held_out_gap()) if s.objectives.held_out else ""

    def _update_pareto_fig(self, data: D.ParetoData, trials: list[Any]) -> None:
        """Send the chart's data again only when it changed (not a whole image)."""
        reruns = None if data.rerun_mean is None else data.rerun_mean.tobytes()
        arrays = (data.numbers.tobytes(), data.values.tobytes(), data.front.tobytes(), reruns)
        key = (data.names, arrays, self.selected)
        if key == self._pareto_key:
            return
        self._pareto_key = key
        new = I.pareto(data, I.hover_texts(trials))
        if self.selected is not None and self.selected in data.numbers:
            k = int(np.flatnonzero(data.numbers == self.selected)[0])
            new.add_scatter(x=[data.values[k, 0]], y=[data.values[k, 1]], mode="markers",
                            name=f"trial {self.selected}", hoverinfo="skip",
                            marker={"size": 18, "color": "rgba(0,0,0,0)",
                                    "line": {"color": "#d62728", "width": 2}})  # fmt: skip
        self._show("pareto", self.pareto_fig, new)

    def _on_point_click(self, trace: Any, points: Any, _state: Any) -> None:
        """A point (or a curve's point) clicked in a chart: select its trial everywhere."""
        if not points.point_inds or trace.customdata is None:
            return
        number = trace.customdata[points.point_inds[0]]
        if number is not None and np.isfinite(float(number)):  # not a gap between curves
            self.select_trial(int(number))

    def _draw_trials(self, trials: list[Any]) -> None:
        # only what changed travels: the table is sent again when a trial changed state or
        # values (not on every report)
        key = tuple(id(t) for t in trials)  # a changed trial is a new snapshot object
        if key != self._grid_key:
            self._grid_key = key
            table = trial_table(trials, self.study.objectives.names, self.study.space.names)
            self._grid_trials = [int(n) for n in table["trial"]]
            with _quiet():
                self.trial_grid.data = table
        self._draw_detail(trials)

    def _on_cell_click(self, cell: dict[str, Any]) -> None:
        """A cell clicked in the table: show that row's trial. The grid says which row of
        the data it is (``primary_key_row``), whatever its sorting and filtering."""
        row = cell.get("primary_key_row")
        if (
            cell.get("region") == "body"
            and isinstance(row, int)
            and 0 <= row < len(self._grid_trials)
        ):
            self.select_trial(self._grid_trials[row])

    def select_trial(self, number: int | None) -> None:
        """Select trial ``number`` everywhere: the detail pane and its curve, a ring around it
        in the Pareto chart, and the one the Prune button stops."""
        self.selected = number
        self._mark("trials", "pareto", "curves", detail_only=True)

    def _draw_detail(self, trials: list[Any]) -> None:
        number = self.selected
        if number is None:
            self.trial_detail.value = "<i>select a row of the table to see that trial</i>"
            self.trial_curve.layout.display = "none"
            return
        t = next((t for t in trials if t.number == number), None)
        if t is None:
            return
        self.trial_detail.value = trial_html(t)
        self.trial_curve.layout.display = None
        self._set(
            self.trial_curve,
            "trial_curve",
            P.curves(self._curves_data(trials), highlight=number, log_y=self.log_y.value),
        )

    def _draw_params(self, trials: list[Any]) -> None:
        s = self.study
        self._show(
            "parallel",
            self.parallel_fig,
            I.parallel(D.parallel_data(trials, s.space, s.objectives)),
        )
        self._show(
            "importance",
            self.importance_fig,
            I.importance(D.importance_data(s.space, s.optimizer_state, trials, s.objectives)),
        )

    def _prune_selected(self) -> None:
        number = self.selected
        if number is None:
            raise ValueError("select a running trial in the Trials tab first")
        self.study.prune(int(number), reason="pruned from the dashboard")

    # ------------------------------------------------------------------ display

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        self.displayed()
        return self.widget._repr_mimebundle_(**kwargs)


# ---------------------------------------------------------------------- pure helpers


def summarize(study: Any, trials: list[Any], started: float) -> D.Summary:
    """Counts, elapsed time, ETA, hypervolume or best value, worker utilization."""
    counts = {s: 0 for s in _STATES}
    for t in trials:
        counts[t.state.value] += 1
    progress = study.progress()
    extra: dict[str, Any] = {}
    if progress is None:  # no run yet: time since the dashboard opened
        elapsed, eta, utilization = study.clock.time() - started, None, None
    else:
        elapsed, eta, utilization = progress.elapsed_s, progress.eta_s, progress.utilization
        if progress.workers is not None and utilization is not None:
            extra["workers"] = progress.workers
        if progress.rule is not None and progress.status != "idle":
            extra["stop_rule"] = progress.rule  # budget used and left, a projected end
    score_label, score = ("hypervolume", None) if study.objectives.n > 1 else ("best", None)
    try:
        if study.objectives.n > 1:
            score = study.hypervolume() if counts["COMPLETE"] else None
        elif counts["COMPLETE"]:
            name = study.objectives.names[0]
            score = float(study.best().values[name])
    except Exception:
        score = None
    if study.settings.baseline is not None:
        try:
            front = study.pareto()
        except Exception:
            front = None
        gains = {c[len("gain_"):]: float(front[c].max()) for c in front.columns
                 if c.startswith("gain_")} if front is not None and len(front) else {}  # fmt: skip
        if gains:
            extra["baseline_gains"] = gains
    if any(t.proposal.get("kind") == "rerun" for t in trials):
        robust = study.pareto(robust=True)
        if len(robust):
            extra["reruns"] = (
                f"re-runs: {len(robust)} configurations, {int(robust['n_seeds'].min())}+ seeds, "
                f"{int(robust['dominated_on_average'].sum())} dominated on average"
            )
    if study.warnings():
        extra["warnings"] = study.warnings()
    return D.Summary(study.name, counts, elapsed, eta, score_label, score, utilization, extra)


def held_out_html(gap: Any, rows: int = 8) -> str:
    """A small table of validation against held-out values on the front (pure: a frame
    from :meth:`Study.held_out_gap` in, HTML out)."""
    if gap is None or not len(gap):
        return "<i>held-out metrics: none reported on the front yet</i>"
    mean = float(gap["worse_by"].mean())
    head = (
        f"<b>Held out vs validation on the front</b>: held-out values are worse by "
        f"{mean:.4g} on average" if mean > 0 else
        f"<b>Held out vs validation on the front</b>: held-out values are better by "
        f"{-mean:.4g} on average"
    )  # fmt: skip
    cells = "".join(
        f"<tr><td>{int(r.number)}</td><td>{html.escape(str(r.objective))}</td>"
        f"<td>{r.validation:.4g}</td><td>{html.escape(str(r.held_out_metric))}</td>"
        f"<td>{r.held_out:.4g}</td><td>{r.worse_by:+.4g}</td></tr>"
        for r in gap.head(rows).itertuples()
    )
    return (
        f"{head}<table><tr><th>trial</th><th>objective</th><th>validation</th>"
        f"<th>held out</th><th>value</th><th>worse by</th></tr>{cells}</table>"
    )


@contextlib.contextmanager
def _quiet() -> Any:
    """ipydatagrid's and its dependencies' own deprecation notices (pandas, traitlets) are
    not the user's to act on: keep them out of the notebook."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def trial_table(
    trials: list[Any], objective_names: tuple[str, ...], param_names: Sequence[str] = ()
) -> Any:
    """The trial table's rows: number, state, objectives, parameters, duration, proposal
    (numbers to 5 significant digits: a table to scan and sort; the details pane has them all).
    ``param_names`` orders the parameter columns; a parameter a trial does not have (inactive
    in a conditional space) is an empty cell."""
    import pandas as pd

    def short(v: Any) -> Any:
        return float(f"{v:.5g}") if isinstance(v, float) else v

    params = list(dict.fromkeys([*param_names, *(k for t in trials for k in t.params)]))
    rows = []
    for t in trials:
        row: dict[str, Any] = {"trial": t.number, "state": t.state.value}
        for n in objective_names:
            v = (t.values or {}).get(n)
            row[n] = short(float(v)) if isinstance(v, (int, float)) else None
        for k in params:
            v = t.params.get(k)
            if k not in t.params:
                row[k] = None
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                row[k] = short(v)
            else:
                row[k] = str(v)
        row["duration_s"] = None if t.duration is None else round(float(t.duration), 3)
        row["proposal"] = t.proposal.get("kind")
        rows.append(row)
    columns = ["trial", "state", *objective_names, *params, "duration_s", "proposal"]
    return pd.DataFrame(rows, columns=columns)


def signal_html(frame: Any) -> str:
    """The rank correlations (``Study.rank_correlations()``) as one line; a gamble in red,
    with the warning's sentence as its tooltip."""
    from hpo_notebook.pruners.rank_correlation import GAMBLE_BELOW

    cells = []
    for r in frame.itertuples(index=False):
        if r.trials < 3 or r.spearman != r.spearman:
            continue
        text = f"step {r.step:g} {html.escape(str(r.metric))}: {r.spearman:.2f} ({r.trials})"
        if r.gamble:
            tip = (
                f"below {GAMBLE_BELOW}: the order at step {r.step:g} does not hold to the end; "
                "pruning there is a gamble"
            )
            text = f'<span style="color:#c0392b" title="{html.escape(tip)}">&#9888; {text}</span>'
        cells.append(text)
    if not cells:
        return ""
    return (
        "<small><b>Early vs final</b> (rank correlation, completed trials): "
        + " &middot; ".join(cells)
        + "</small>"
    )


def trial_html(t: Any) -> str:
    """A trial's params, values, proposal, lineage and traceback as HTML."""
    rows = [("state", t.state.value), ("attempt", t.attempt)]
    rows += [(f"param {k}", v) for k, v in t.params.items()]
    rows += [(f"value {k}", v) for k, v in (t.values or {}).items()]
    rows += [("proposal", t.proposal.get("kind")), ("seed", t.seed), ("worker", t.worker)]
    rows += [(k, v) for k, v in t.extra.items()]
    rows += [(f"lineage {k}", v) for k, v in t.lineage.items()]
    body = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    out = f"<b>Trial {t.number}</b><table>{body}</table>"
    if t.error:
        out += f"<p><b>error</b>: {html.escape(t.error)}</p>"
    if t.traceback:
        out += f"<pre style='max-height:14em;overflow:auto'>{html.escape(t.traceback)}</pre>"
    return out


def _pair(data: D.ParetoData, i: int, j: int) -> D.ParetoData:
    """The Pareto data restricted to two objectives (front recomputed on all of them)."""
    return D.ParetoData(
        (data.names[i], data.names[j]),
        (data.directions[i], data.directions[j]),
        data.numbers,
        data.values[:, [i, j]],
        data.feasible,
        data.front,
        None,
        data.baseline,
    )


def _clock(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return (
        f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )
