"""``study.report(path)``: one self-contained HTML file, checked as text and opened in
headless Chromium with the network off (its charts render, hover names the trial, the trial
table sorts and filters, and the page asks for nothing from outside the file)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import hpo_notebook as hn

SPACE = hn.Space(x=hn.Float(0.0, 1.0), y=hn.Float(0.0, 1.0), kind=hn.Choice(["a", "b"]))


def fn(params, trial):
    x, y = params["x"], params["y"]
    for step in (1, 2, 3):
        trial.report(step, f0=x + 1.0 / step, f1=1 - x + y)
    return {"f0": x + 0.1 * np.random.normal(), "f1": 1 - x + y}


def make_study(tmp_path: Path) -> hn.Study:
    study = hn.Study(fn, SPACE, {"f0": "min", "f1": "min"}, optimizer="sobol", seed=2,
                     storage=str(tmp_path / "s.db"), name="a <b> & 'c'",
                     baseline={"x": 0.5, "y": 0.5, "kind": "a"})  # fmt: skip
    study.run(16, cluster=hn.SimulatedCluster(2), progress=False, show=False)
    study.rerun(top=2, seeds=2, cluster=hn.SimulatedCluster(2), progress=False, show=False)
    return study


@pytest.mark.slow
def test_the_report_holds_every_section_and_needs_nothing_from_outside(tmp_path):
    study = make_study(tmp_path)
    path = study.report(tmp_path / "out" / "study.html")
    text = Path(path).read_text()
    for section in ("Pareto front", "Seed re-runs", "Learning curves", "Hypervolume",
                    "Parameters", "Trials (20)", "Lineage"):  # fmt: skip
        assert f"<h2>{section}</h2>" in text, section
    assert "a &lt;b&gt; &amp; &#x27;c&#x27;" in text and "a <b>" not in text  # escaped
    assert text.count("plotly.js v") >= 1  # the library, inline
    assert not re.search(r"<script[^>]+src=", text)  # nothing loaded from elsewhere
    assert not re.search(r"<link[^>]+href=\"?https?:", text)
    assert text.count('class="js-plotly-plot"') == 0  # made by plotly.js when opened
    assert len(re.findall(r'id="fig-(\w+)"', text)) == 5


def test_a_report_path_must_be_html(tmp_path):
    study = hn.Study(None, SPACE, "min")
    with pytest.raises(hn.ConfigError, match=r"should end in \.html, got '.*study.pdf'"):
        study.report(tmp_path / "study.pdf")


def test_one_objective_reports_its_best_trials(tmp_path):
    study = hn.Study(None, SPACE, "min", seed=0)
    for t in study.ask(5):
        study.tell(t, t.params["x"])
    text = Path(study.report(tmp_path / "one.html")).read_text()
    assert "<h2>Best trials</h2>" in text and "<h2>Best value</h2>" in text


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.slow
def test_the_report_works_in_a_browser_with_the_network_off(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    from tests.test_browser import ARGS

    study = make_study(tmp_path)
    path = Path(study.report(tmp_path / "study.html")).resolve()
    asked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
        context.on("request", lambda r: asked.append(r.url))
        page = context.new_page()
        try:
            page.goto(path.as_uri())
            page.wait_for_function(
                "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5",
                timeout=30000,
            )
            # hover a point of the front: the trial's number, parameters and metrics show
            point = page.locator("#fig-pareto .scatterlayer .trace").nth(2).locator(".point")
            box = point.first.bounding_box()  # under plotly's drag layer: move the mouse
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_function(
                "() => document.querySelector('#fig-pareto .hoverlayer .hovertext')", timeout=5000
            )
            hover = page.evaluate(
                "() => document.querySelector('#fig-pareto .hoverlayer').textContent"
            )
            assert re.search(r"trial \d+", hover) and "x = " in hover and "f0 = " in hover
            # the trial table sorts by a click on a column, and filters
            numbers = "#trials tbody tr td:first-child"
            page.locator("#trials th", has_text="number").click()
            page.locator("#trials th", has_text="number").click()  # descending
            assert page.locator(numbers).first.inner_text() == "19"
            page.fill("input.filter", "rerun")
            shown = page.locator("#trials tbody tr:visible").count()
            assert shown == 4  # 2 configurations x 2 seeds
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert asked == [path.as_uri()]  # one request: the file itself


def test_hover_texts_escape_what_the_user_named():
    from hpo_notebook.viz.interactive import hover_texts

    space = hn.Space(act=hn.Choice(["<b>relu</b>", "tanh & co"]))
    study = hn.Study(None, space, {"<loss>": "min"}, seed=0)
    t = study.ask()
    study.tell(t, 1.0)
    text = hover_texts(study.trials)[0]
    assert "&lt;loss&gt;" in text and "<loss>" not in text
    assert "<b>relu</b>" not in text.replace("<b>trial 0</b>", "")


@pytest.mark.slow
def test_a_study_without_results_still_gets_a_report(tmp_path):
    for objectives in ({"a": "min", "b": "min"}, "min"):
        study = hn.Study(None, SPACE, objectives, seed=0)
        assert "<h2>Trials (0)</h2>" in Path(study.report(tmp_path / "empty.html")).read_text()
        study.tell(study.ask(), ValueError("diverged"))  # one trial, failed: no metric at all
        text = Path(study.report(tmp_path / "failed.html")).read_text()
        assert "<h2>Trials (1)</h2>" in text and "FAILED" in text
