"""Dashboard cost on a big study: 1,000 trials x 50 reports each.

Trials go through the same study code the driver uses (reports stored in batches of four,
as they arrive from four workers), with and without a live dashboard subscribed. Measured:
the driver's time per report, each panel's redraw time at 100 / 500 / 1,000 trials, the
incremental hypervolume update against a recomputation from scratch, and memory.

Run::

    python -m benchmarks.dashboard

Results go to ``docs/results/dashboard.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def _feed(study: Any, n_trials: int, n_reports: int, checkpoints: set[int], dash: Any) -> dict:
    """Run n_trials in waves of 4 with n_reports each; redraw the dashboard at checkpoints."""
    from hpo_notebook.reports import Report

    per_report: list[float] = []
    redraws: dict[str, list[float]] = {}
    hv_update: list[float] = []
    done = 0
    while done < n_trials:
        trials = study.ask(4)
        for step in range(1, n_reports + 1):
            batch = []
            for t in trials:
                x, y = t.params["x"], t.params["y"]
                loss = (x - 0.3) ** 2 + 0.5 * math.exp(-0.1 * step) + 0.01 * y
                batch.append(
                    Report(t.number, step, {"loss": loss, "size": 1 + 9 * y}, 1, time.time())
                )
            t0 = time.perf_counter()
            study._ledger.add_reports(batch)
            per_report.append((time.perf_counter() - t0) / len(batch))
        for t in trials:
            study.tell(t, {"loss": (t.params["x"] - 0.3) ** 2, "size": 1 + 9 * t.params["y"]})
        t0 = time.perf_counter()
        study._ledger.hypervolume_history()
        hv_update.append(time.perf_counter() - t0)
        done += 4
        if dash is not None and done in checkpoints:
            dash.refresh()
            for k, v in dash.render_s.items():
                redraws.setdefault(k, []).append(v)
    return {"per_report": per_report, "redraws": redraws, "hv_update": hv_update}


def _payload_kb(dash: Any, study: Any) -> dict[str, tuple[float, float]]:
    """Per chart: the size of its traces' data as sent (plotly's JSON, numpy arrays as base64),
    and of the PNG the same chart made with ``hn.plots``."""
    import plotly.io as pio

    from hpo_notebook.viz import data as D
    from hpo_notebook.viz import plots as P

    trials = study.trials
    pngs = {
        "curves": P.curves(dash._curves_data(trials)),
        "pareto": P.pareto(D.pareto_data(trials, study.objectives)),
        "hypervolume": P.hypervolume(dash._hv_data(trials), by="both"),
    }
    figs = {"curves": dash.curves_fig, "pareto": dash.pareto_fig, "hypervolume": dash.hv_fig}
    return {
        name: (
            sum(len(pio.to_json(t, validate=False)) for t in figs[name].data) / 1024,
            len(P.to_png(fig)) / 1024,
        )
        for name, fig in pngs.items()
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--reports", type=int, default=50)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import hpo_notebook as hn
    from hpo_notebook import results as R
    from hpo_notebook.widgets.dashboard import Dashboard

    space = hn.Space(x=hn.Float(0, 1), y=hn.Float(0, 1))
    objs = {"loss": "min", "size": "min"}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = hn.Study(
            None, space, objectives=objs, optimizer="sobol", seed=0, storage=f"{tmp}/base.db"
        )
        plain = _feed(base, args.trials, args.reports, set(), None)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        study = hn.Study(
            None, space, objectives=objs, optimizer="sobol", seed=0, storage=f"{tmp}/dash.db"
        )
        dash = Dashboard(study, autostart=False)
        marks = {100, 500, args.trials}
        live = _feed(study, args.trials, args.reports, marks, dash)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        R.hypervolume_history(study.trials, study.objectives)
        scratch = time.perf_counter() - t0
        payload = _payload_kb(dash, study)
    med = statistics.median
    out = {
        "meta": {
            "command": "python -m benchmarks.dashboard "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "date": time.strftime("%Y-%m-%d"),
            "trials": args.trials,
            "reports_per_trial": args.reports,
        },
        "per_report_us_without": 1e6 * med(plain["per_report"]),
        "per_report_us_with": 1e6 * med(live["per_report"]),
        "redraw_s": live["redraws"],
        "hv_update_ms_median": 1000 * med(live["hv_update"]),
        "hv_update_ms_last": 1000 * live["hv_update"][-1],
        "hv_from_scratch_ms": 1000 * scratch,
        "max_rss_mb_before": rss0 / 1024,
        "max_rss_mb_after": rss1 / 1024,
        "payload_kb": payload,
    }
    lines = [
        f"{args.trials} trials x {args.reports} reports (2 objectives), reports stored in "
        "batches of 4:",
        "",
        "| | value |",
        "|---|---|",
        f"| driver time per report, no dashboard | {out['per_report_us_without']:.0f} µs |",
        f"| driver time per report, dashboard subscribed | {out['per_report_us_with']:.0f} µs |",
        f"| hypervolume update per finished batch (median / at 1,000 trials) | "
        f"{out['hv_update_ms_median']:.2f} / {out['hv_update_ms_last']:.2f} ms |",
        f"| hypervolume history from scratch at {args.trials} trials | "
        f"{out['hv_from_scratch_ms']:.0f} ms |",
        f"| max RSS before / after the dashboard study | {out['max_rss_mb_before']:.0f} / "
        f"{out['max_rss_mb_after']:.0f} MB |",
        "",
        "Redraw time per panel (seconds) at 100 / 500 / 1,000 trials:",
        "",
        "| panel | 100 | 500 | 1,000 |",
        "|---|---|---|---|",
    ]
    for panel, times in live["redraws"].items():
        lines.append(f"| {panel} | " + " | ".join(f"{t:.3f}" for t in times) + " |")
    lines += [
        "",
        f"What one update of a chart sends at {args.trials} trials (KB; the chart's traces as "
        "plotly JSON with its arrays in base64, an upper bound: the widget sends them as binary, "
        "3/4 of that; against the PNG the chart was before):",
        "",
        "| chart | interactive | PNG |",
        "|---|---|---|",
    ]
    for chart, (kb, png) in payload.items():
        lines.append(f"| {chart} | {kb:.0f} | {png:.0f} |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(out, indent=1))
    (RESULTS / "dashboard.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
