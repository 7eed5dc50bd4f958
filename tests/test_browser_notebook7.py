"""Real browser, Notebook 7 (issue 16 item 6): the same notebook as ``test_browser.py``, opened
in Notebook 7's interface on the same server. The dashboard renders, its curves stream while
``await study.run_async(...)`` runs, Stop ends the study within 2 s, and on a two-objective
study hovering a point of the Pareto chart names the trial and a click selects it.

Needs Debian's ``chromium`` and the ``notebook`` package (the test extras)."""

from __future__ import annotations

import pytest

from tests.test_browser import (
    ARGS,
    CHROMIUM,
    OBSERVER_JS,
    SCREENSHOT_DIR,
    TOKEN,
    _changes,
    _run_cell,
    _wait_text,
    click_stop,
    hover_and_select,
    jupyter,  # noqa: F401 - the fixture: JupyterLab's server, which serves Notebook 7 too
    run_until,
)

pytestmark = pytest.mark.slow


def test_dashboard_in_notebook_7(jupyter):  # noqa: F811
    pytest.importorskip("notebook", reason="Notebook 7 is in the test extras")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{jupyter}/notebooks/dashboard.ipynb?token={TOKEN}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60000)
            page.wait_for_function(  # the kernel is up (Notebook 7's toolbar indicator)
                "() => document.querySelector('.jp-Notebook-ExecutionIndicator')"
                "?.dataset.status === 'idle'",
                timeout=90000,
            )
            page.evaluate(OBSERVER_JS)
            run_until(page, 0, "SETUP DONE")
            _run_cell(page, 1)  # await study.run_async(...)
            page.locator(".hpo-dashboard").first.wait_for(timeout=60000)
            page.wait_for_function(
                "() => window.__srcChanges.filter(c => c.dash === 0).length >= 3", timeout=60000
            )
            assert page.get_by_text("Loading widget...").count() == 0
            clicked_at = click_stop(page)
            _wait_text(page, "ASYNC DONE", 10)
            text = page.locator(".jp-OutputArea-output", has_text="ASYNC DONE").first.inner_text()
            assert "status=idle" in text
            assert float(text.split("at=")[1].split()[0]) - clicked_at < 2.0
            assert _changes(page, 0) >= 3

            _run_cell(page, 4)  # a two-objective study's dashboard
            hover_and_select(page, 1, "notebook7-pareto.png")
        except Exception:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT_DIR / "notebook7-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
