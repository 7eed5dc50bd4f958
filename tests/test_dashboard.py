"""The dashboard's widget models, headless: events in, widget values out."""

from __future__ import annotations

import numpy as np
import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D, branin_currin_values
from hpo_notebook.widgets.dashboard import PANELS, Dashboard, trial_table


def make_study(n=8, **kw):
    s = hn.Study(
        None, UNIT_2D, objectives={"f0": "min", "f1": "min"}, optimizer="sobol", seed=0, **kw
    )
    for t in s.ask(n):
        f0, f1 = branin_currin_values(t.params["x0"], t.params["x1"])
        t.report(1, f0=2 * f0, f1=f1)
        s.tell(t, {"f0": f0, "f1": f1})
    return s


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # reading ipydatagrid's .data
def test_refresh_fills_every_panel():
    s = make_study()
    dash = Dashboard(s, autostart=False)
    dash.refresh()
    assert "8 complete" in dash.header.value and "hypervolume" in dash.header.value
    assert [t.name for t in dash.pareto_fig.data][:2] == ["trials", "staircase"]
    assert {t.name for t in dash.curves_fig.data} == {"complete"}
    assert len(dash.curves_fig.data[0].x) == 8 * 2  # one report per trial, and a gap each
    assert [len(t.x) for t in dash.hv_fig.data] == [8, 8]  # by trials and by time
    assert dash.parallel_fig.data[0].type == "parcoords"
    assert list(dash.importance_fig.data[0].y) == ["x0", "x1"] or list(
        dash.importance_fig.data[0].y
    ) == ["x1", "x0"]
    assert dash.proposals_image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(dash.trial_grid.data) == 8
    assert all(dash.renders[p] == 1 for p in PANELS)


@pytest.mark.slow
def test_charts_send_only_what_changed_and_keep_their_traces():
    s = make_study()
    dash = Dashboard(s, autostart=False)
    dash.refresh()
    assert dash.sent["hypervolume"] == 1 and dash.sent["curves"] == 1
    traces = list(dash.hv_fig.data)
    msgs = []  # what goes to the browser
    to_js = ["_py2js_update", "_py2js_restyle", "_py2js_addTraces", "_py2js_deleteTraces"]
    dash.hv_fig.observe(lambda c: c["new"] is not None and msgs.append(c["name"]), to_js)
    dash.refresh({"hypervolume", "curves"})  # same data: nothing sent
    assert dash.sent["hypervolume"] == 1 and dash.sent["curves"] == 1 and msgs == []
    t = s.ask()
    s.tell(t, {"f0": 0.01, "f1": 0.01})  # dominates everything
    dash.refresh({"hypervolume"})
    assert dash.sent["hypervolume"] == 2
    # the same traces, restyled with the new data (the user's zoom and hover survive)
    assert list(dash.hv_fig.data) == traces and len(dash.hv_fig.data[0].x) == 9
    assert msgs and set(msgs) <= {"_py2js_update", "_py2js_restyle"}, msgs  # no new traces


def test_clicking_a_learning_curve_selects_its_trial():
    from plotly.callbacks import Points

    s = make_study(4)
    dash = Dashboard(s, autostart=False)
    dash.refresh({"curves"})
    trace = dash.curves_fig.data[0]
    gap = int(np.flatnonzero(np.isnan(np.asarray(trace.customdata, float)))[0])
    trace._dispatch_on_click(Points([gap], [None], [None], trace.name, 0), None)
    assert dash.selected is None  # the gap between two curves is no trial
    trace._dispatch_on_click(Points([gap + 1], [None], [None], trace.name, 0), None)
    number = int(trace.customdata[gap + 1])
    assert dash.selected == number
    dash.refresh({"curves"})
    assert dash.curves_fig.data[-1].name == f"trial {number}"  # drawn on top


@pytest.mark.slow
def test_the_pareto_chart_sends_data_only_when_it_changed_and_a_click_selects_a_trial():
    from plotly.callbacks import Points

    s = make_study()
    dash = Dashboard(s, autostart=False)
    dash.refresh({"pareto"})
    fig = dash.pareto_fig
    assert dash.sent["pareto"] == 1
    dash.refresh({"pareto"})  # nothing changed: nothing sent
    assert dash.sent["pareto"] == 1
    front = next(t for t in fig.data if t.name == "Pareto front")
    number = int(front.customdata[0])
    assert f"trial {number}</b>" in front.text[0] and "x0 = " in front.text[0]
    # a click on the point, as the browser reports it: the trial is selected everywhere
    index = list(fig.data).index(front)
    front._dispatch_on_click(Points([0], [front.x[0]], [front.y[0]], front.name, index), None)
    assert dash.selected == number
    dash.refresh({"pareto", "detail"})
    assert f"<b>Trial {number}</b>" in dash.trial_detail.value
    ring = fig.data[-1]
    assert ring.name == f"trial {number}" and (ring.x[0], ring.y[0]) == (front.x[0], front.y[0])
    t = s.ask()
    s.tell(t, {"f0": 0.01, "f1": 0.01})
    dash.refresh({"pareto"})
    assert dash.sent["pareto"] == 3


@pytest.mark.slow
def test_events_mark_the_right_panels_dirty():
    s = make_study(2)
    dash = Dashboard(s, autostart=False)
    dash.refresh()
    dash._dirty.clear()
    t = s.ask()
    dash._dirty.clear()
    t.report(1, f0=1.0, f1=1.0)
    assert dash._dirty == {"curves", "header"}
    s.tell(t, {"f0": 1.0, "f1": 1.0})
    assert dash._dirty >= {"pareto", "hypervolume", "trials"}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # reading ipydatagrid's .data
def test_trial_table_holds_every_trial_and_a_selected_row_shows_its_details():
    s = make_study(4)
    bad = s.ask()
    s.tell(bad, ValueError("diverged"))
    dash = Dashboard(s, autostart=False)
    dash.refresh({"trials"})
    table = dash.trial_grid.data
    assert list(table["trial"]) == [0, 1, 2, 3, 4]
    assert list(table.columns[:4]) == ["trial", "state", "f0", "f1"]
    assert table.loc[4, "state"] == "FAILED" and table["f0"].isna().tolist()[-1]
    assert dash.trial_curve.layout.display == "none" and "select a row" in dash.trial_detail.value
    # a cell clicked in the grid (the message its frontend sends, here after a sort that put
    # the failed trial on top): the data row it names is shown
    click = {"event_type": "cell-click", "region": "body", "column": "state", "column_index": 1,
             "row": 0, "primary_key_row": 4, "cell_value": "FAILED"}  # fmt: skip
    dash.trial_grid._DataGrid__handle_custom_msg(None, click, None)  # as from the browser
    assert dash.selected == bad.number
    dash.refresh({"detail"})
    assert "ValueError: diverged" in dash.trial_detail.value and "<pre" in dash.trial_detail.value
    assert dash.trial_curve.layout.display is None
    # the table is sent again only when a trial changed
    before = dash.trial_grid.data
    dash.refresh({"trials"})
    assert dash.trial_grid.data is before or dash.trial_grid.data.equals(before)
    assert list(trial_table(s.trials, ("f0", "f1"))["trial"]) == [0, 1, 2, 3, 4]


def test_button_errors_are_shown_not_raised():
    s = make_study(2)
    dash = Dashboard(s, autostart=False)
    dash.add_button.click()  # the study is not running
    assert "not running" in dash.last_error
    dash.prune_button.click()  # nothing selected
    assert "select a running trial" in dash.last_error


@pytest.mark.slow
def test_render_thread_redraws_after_events():
    s = make_study(3)
    dash = Dashboard(s, refresh_s=0.05)
    try:
        assert dash.rendered.wait(10)
        first = dash.renders["pareto"]
        dash.rendered.clear()
        t = s.ask()
        s.tell(t, {"f0": 0.001, "f1": 0.001})
        for _ in range(50):  # a pass that has seen the new trial
            assert dash.rendered.wait(10)
            dash.rendered.clear()
            if dash.renders["pareto"] > first:
                break
        assert dash.renders["pareto"] > first and "4 complete" in dash.header.value
    finally:
        dash.close()


@pytest.mark.slow
def test_study_display_outside_jupyter_has_image_fallback():
    s = make_study(4)
    bundle = s._repr_mimebundle_()
    assert bundle["text/plain"].startswith("<Study 'study'")
    assert bundle["image/png"][:4] == b"\x89PNG"
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    widget = s.dashboard()
    assert widget is s.dashboard()  # one live view per study


@pytest.mark.slow
def test_buttons_control_a_running_study(dask_client):
    from hpo_notebook.testing.problems import sleepy

    space = hn.Space(x=hn.Float(0, 1), seconds=hn.Choice([0.3]))
    s = hn.Study(sleepy, space, objectives={"y": "min"}, optimizer="sobol", seed=1)
    s.start(n_trials=50, concurrency=2, cluster=dask_client, show=False)
    dash = Dashboard(s, autostart=False)
    dash.pause_button.click()
    assert s.status == "paused"
    dash.resume_button.click()
    assert s.status == "running"
    dash.stop_button.click()
    assert s.wait(timeout=30) and s.status == "idle"
    counts = s.counts()  # stopped: trials completed or were interrupted, the rest never began
    assert counts["COMPLETE"] + counts["INTERRUPTED"] == len(s.trials) < 50


@pytest.mark.slow
def test_curves_offer_every_reported_metric():
    s = hn.Study(None, UNIT_2D, objectives={"f0": "min"}, optimizer="sobol", seed=3)
    t = s.ask()
    t.report(1, elapsed=0.5)  # not an objective: still drawn
    t.report(2, elapsed=1.0)
    dash = Dashboard(s, autostart=False)
    dash.refresh({"curves"})
    assert dash.metric.value == "elapsed" and set(dash.metric.options) == {"f0", "elapsed"}
    assert list(dash.curves_fig.data[0].y[:2]) == [0.5, 1.0]


def test_a_thousand_long_curves_are_thinned_to_a_bounded_payload():
    from hpo_notebook.viz import data as D
    from hpo_notebook.viz import interactive as I

    steps = tuple(float(s) for s in range(1, 51))
    curves = tuple(
        D.Curve(trial=i, state="COMPLETE", steps=steps, values=tuple(1.0 / s for s in steps))
        for i in range(1000)
    )
    fig = I.curves(D.CurvesData("loss", "min", curves), highlight=7)
    thinned, chosen = fig.data
    points = int(np.isfinite(np.asarray(thinned.x, float)).sum())
    assert 5_000 <= points <= I.CURVE_POINTS + 1000  # every 5th report and each last one
    x = np.asarray(thinned.x, float)
    assert np.asarray(thinned.x).dtype == np.float32  # half the bytes of float64
    ends = np.flatnonzero(np.isnan(x)) - 1
    assert (x[ends] == 50.0).all()  # every curve keeps its last report
    assert len(chosen.x) == 50  # the selected trial in full
    small = I.curves(D.CurvesData("loss", "min", curves[:10]))
    assert int(np.isfinite(np.asarray(small.data[0].x, float)).sum()) == 500  # untouched
