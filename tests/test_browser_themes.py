"""Real browser, both JupyterLab themes (issue 16 item 3): every tab of the dashboard of a
finished two-objective study, in the light and in the dark theme. Each tab shows its chart
(no broken or empty image), charts are never stretched past the size they were drawn at,
and a chart's background follows the theme (light in the light theme, dark in the dark one).
A screenshot of each tab in each theme goes to ``HPO_THEME_SHOTS`` (default
``test-artifacts/themes``); ``docs/screenshots`` holds a committed set, made with
``HPO_THEME_SHOTS=docs/screenshots pytest tests/test_browser_themes.py``.

Needs Debian's ``chromium`` and the test extras, like ``test_browser.py``.
"""

from __future__ import annotations

import io
import json
import os
import urllib.request
from pathlib import Path

import pytest

from tests.test_browser import (
    ARGS,
    CHROMIUM,
    SCREENSHOT_DIR,
    TOKEN,
    jupyter,  # noqa: F401 - the fixture: a JupyterLab server on 127.0.0.1
    run_until,
)

pytestmark = pytest.mark.slow

SHOTS = Path(os.environ.get("HPO_THEME_SHOTS", SCREENSHOT_DIR / "themes"))
TABS = ("Curves", "Pareto", "Hypervolume", "Trials", "Parameters", "Proposals")
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}

CELL = """import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D, branin_currin
study = hn.Study(None, UNIT_2D, {"f0": "min", "f1": "min"}, seed=0, name="themes")
while len(study.trials) < 20:
    for t in study.ask(4):
        study.tell(t, branin_currin(t.params, t))
print("STUDY READY")
study.dashboard()"""

#: the visible charts of the dashboard's open tab: images (their natural and shown widths)
#: and plotly charts; ``broken`` counts images shown with nothing in them
CHARTS_JS = """
() => {
  const board = document.querySelector('.hpo-dashboard');
  const visible = (e) => e.offsetParent !== null && e.getBoundingClientRect().width > 0;
  const imgs = [...board.querySelectorAll('img')].filter(visible);
  return {
    images: imgs.map(i => ({natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
                            complete: i.complete})),
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).length,
    plotly: [...board.querySelectorAll('.js-plotly-plot')].filter(visible).length,
    grids: [...board.querySelectorAll('.hpo-trial-grid canvas')].filter(visible).length,
  };
}
"""


#: every visible plotly chart fills the width of its box in the dashboard (the tab's width)
WIDE_JS = """
() => [...document.querySelector('.hpo-dashboard').querySelectorAll('.js-plotly-plot')]
  .filter(e => e.getBoundingClientRect().width > 0)
  .every(e => {
    const box = e.closest('.widget-vbox').getBoundingClientRect().width;
    const svg = e.querySelector('.main-svg').getBoundingClientRect().width;
    return svg >= 0.95 * box && box > 600;
  })
"""


def _api(url: str, path: str, method: str = "GET", body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}{path}", data=data, method=method)
    req.add_header("Authorization", f"token {TOKEN}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
    return json.loads(text) if text else None


def _notebook(url: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    content = json.loads(nbformat.writes(nb))
    _api(url, "/api/contents/themes.ipynb", "PUT", {"type": "notebook", "content": content})


def _theme(url: str, name: str) -> None:
    raw = json.dumps({"theme": name})
    _api(url, "/lab/api/settings/@jupyterlab/apputils-extension:themes", "PUT", {"raw": raw})


def _luminance(png: bytes) -> float:
    """Mean lightness (0-255) of the picture's border: a chart's background."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    w, h = img.size
    edge = [img.getpixel((x, y)) for x in range(0, w, 4) for y in (2, h - 3)]
    edge += [img.getpixel((x, y)) for y in range(0, h, 4) for x in (2, w - 3)]
    return sum(edge) / len(edge)


def _chart(board, tab: str):
    """The element whose background is the chart's own, in ``tab``."""
    if tab == "Trials":
        return board.locator(".hpo-trial-grid").first
    if tab == "Proposals":
        return board.locator("img:visible").first
    return board.locator(".js-plotly-plot:visible").first


def test_every_tab_in_light_and_dark_theme(jupyter):  # noqa: F811
    from playwright.sync_api import sync_playwright

    _notebook(jupyter)
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen: dict[str, dict[str, float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            for theme, name in THEMES.items():
                _theme(jupyter, name)
                page.goto(f"{jupyter}/lab/tree/themes.ipynb?token={TOKEN}")
                page.wait_for_function(
                    f"() => document.body.dataset.jpThemeName === {json.dumps(name)}",
                    timeout=90000,
                )
                page.wait_for_function(
                    "() => [...document.querySelectorAll('#jp-main-statusbar "
                    ".jp-StatusBar-TextItem')].some(e => /Idle/.test(e.textContent))",
                    timeout=90000,
                )
                run_until(page, 0, "STUDY READY", 60)
                board = page.locator(".hpo-dashboard").first
                board.wait_for(timeout=60000)
                seen[theme] = {}
                for tab in TABS:
                    board.get_by_role("tab", name=tab).click()
                    page.wait_for_function(  # the tab's chart is drawn
                        f"() => {{ const c = ({CHARTS_JS})(); return c.broken === 0 && "
                        "(c.images.length + c.plotly + c.grids) > 0; }",
                        timeout=30000,
                    )
                    charts = page.evaluate(CHARTS_JS)
                    for img in charts["images"]:  # drawn size or smaller, never stretched
                        assert img["shown"] <= img["natural"] + 1, (theme, tab, img)
                    if charts["plotly"]:  # as wide as the dashboard (within its padding)
                        page.wait_for_function(WIDE_JS, timeout=10000)
                    chart = _chart(board, tab)
                    seen[theme][tab] = _luminance(chart.screenshot())
                    board.screenshot(path=str(SHOTS / f"dashboard-{tab.lower()}-{theme}.png"))
        except Exception:
            page.screenshot(path=str(SHOTS / "themes-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
            _theme(jupyter, THEMES["light"])
    for tab in TABS:
        light, dark = seen["light"][tab], seen["dark"][tab]
        assert light > 170 and dark < 110, f"{tab}: background lightness {light:.0f} / {dark:.0f}"


def test_the_browser_app_in_its_dark_theme_darkens_the_charts(tmp_path):
    """``hpo-notebook dashboard PATH --theme dark`` (Voilà): the page says it is dark, and the
    dashboard's charts are drawn dark too."""
    import re
    import subprocess
    import sys

    from playwright.sync_api import sync_playwright

    import hpo_notebook as hn
    from hpo_notebook.testing.problems import UNIT_2D, branin_currin

    if not Path(CHROMIUM).exists():
        pytest.skip(reason=f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    path = str(tmp_path / "s.db")
    study = hn.Study(None, UNIT_2D, {"f0": "min", "f1": "min"}, storage=path, optimizer="sobol")
    for t in study.ask(8):
        study.tell(t, branin_currin(t.params, t))
    cli = str(Path(sys.executable).with_name("hpo-notebook"))
    app = subprocess.Popen(
        [cli, "dashboard", path, "--theme", "dark"], stdout=subprocess.PIPE, text=True
    )
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", app.stdout.readline())
        assert url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            try:
                page.goto(url.group(0))
                chart = page.locator(".hpo-dashboard .js-plotly-plot:visible").first
                chart.locator(".main-svg").first.wait_for(timeout=90000)
                assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
                assert _luminance(chart.screenshot()) < 110
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / "voila-dark.png"))
            finally:
                browser.close()
    finally:
        app.terminate()
        app.wait(15)
