"""``study.report(path)``: one self-contained HTML file to send to a colleague.

Summary, warnings, the Pareto front (chart and table), seed re-runs, learning curves,
hypervolume, parameters (parallel coordinates, importance), every trial in a sortable and
filterable table, and the lineage. The charts are interactive (plotly: hover a point for the
trial's parameters and metrics, zoom, pan) and plotly's JavaScript is embedded once, so the file
opens with no network at all.
"""

from __future__ import annotations

import datetime
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo_notebook import results as R
from hpo_notebook.viz import data as D
from hpo_notebook.viz import interactive as I

if TYPE_CHECKING:
    import pandas as pd

    from hpo_notebook.study import Study

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1150px; color: #1b1b1b; background: #fff; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 12.5px; }
td, th { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { background: #f5f5f5; position: sticky; top: 0; cursor: pointer; }
td:first-child, th:first-child { text-align: left; }
.summary td { text-align: left; } .warn { color: #b35900; }
.scroll { max-height: 560px; overflow: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 10px; overflow: auto; max-height: 420px; font-size: 12px; }
input.filter { margin: 6px 0; padding: 4px 8px; width: 320px; }
@media (prefers-color-scheme: dark) {
  body { background: #111; color: #ddd; } th { background: #222; } td { border-color: #333; }
  pre { background: #1c1c1c; } h2 { border-color: #333; } }
"""

_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var asc = th.dataset.order !== "asc"; th.dataset.order = asc ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.querySelectorAll("input.filter").forEach(function (input) {
  input.addEventListener("input", function () {
    var q = input.value.toLowerCase();
    var rows = document.getElementById(input.dataset.table).tBodies[0].rows;
    Array.from(rows).forEach(function (r) {
      r.style.display = r.textContent.toLowerCase().includes(q) ? "" : "none";
    });
  });
});
"""


def _table(df: pd.DataFrame, table_id: str, limit: int | None = None) -> str:
    if df is None or len(df) == 0:
        return "<p><i>none</i></p>"
    if limit is not None:
        df = df.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for v in r.tolist():
            if isinstance(v, float):
                text = "" if v != v else f"{v:.5g}"
            else:
                text = "" if v is None else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _summary(study: Study) -> str:
    c = study.counts()
    objs = ", ".join(
        f"{n} ({o.direction}{'' if o.threshold is None else f', threshold {o.threshold:g}'})"
        for n, o in study.objectives.objectives
    )
    done = [t for t in study.trials if t.ended_at is not None]
    first = min((t.started_at or t.ended_at for t in done), default=None)
    last = max((t.ended_at for t in done), default=None)
    rows = [
        ("study", study.name),
        ("file", study.storage_path or "(in memory)"),
        ("status", study.status),
        ("trials", ", ".join(f"{v} {k.lower()}" for k, v in c.items() if v) or "none"),
        ("objectives", objs),
        ("seed", str(study.seed)),
        ("optimizer", study.settings.optimizer),
    ]
    if study.objectives.n > 1 and c["COMPLETE"]:
        rows.append(("hypervolume", f"{study.hypervolume():.6g}"))
    elif c["COMPLETE"]:
        best = study.best()
        rows.append(("best", f"{best.values} (trial {best.number})"))  # type: ignore[arg-type]
    if first is not None and last is not None:
        rows.append(("time span", f"{(last - first) / 60:.1f} min of trials"))
    body = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f'<table class="summary">{body}</table>'


def render(study: Study) -> str:
    """The report of ``study`` as one HTML document (a string)."""
    from hpo_notebook import __version__

    trials = study.trials
    objectives = study.objectives
    hover = I.hover_texts(trials)
    figures: list[tuple[str, Any]] = []
    pareto = D.pareto_data(trials, objectives)
    if objectives.n > 1:
        figures.append(("pareto", I.pareto(pareto, hover)))
    figures.append(
        (
            "curves",
            I.curves(
                D.curves_from_history(
                    trials,
                    study.reports(),
                    objectives,
                    None,
                    getattr(study.pruner, "rungs", ()) or (),
                )
            ),
        )
    )
    history = study.hypervolume_history() if objectives.n > 1 else None
    figures.append(("hypervolume", I.hypervolume(D.hypervolume_data(trials, objectives, history))))
    figures.append(("parallel", I.parallel(D.parallel_data(trials, study.space, objectives, None))))
    figures.append(("importance", I.importance(
        D.importance_data(study.space, study.optimizer_state, trials, objectives))))  # fmt: skip
    divs: dict[str, str] = {}
    for i, (name, fig) in enumerate(figures):
        divs[name] = fig.to_html(
            full_html=False,
            include_plotlyjs=i == 0,  # plotly.js inline, once: no network needed
            div_id=f"fig-{name}",
            config={"displaylogo": False, "responsive": True},
            default_width="100%",
        )
    front = study.pareto()
    metrics = [R.metric_column(m) for m in objectives.metric_names]
    extra = [c for c in front.columns if c.startswith(("params_", "gain_"))]
    if len(front):
        front = front[["number", *[c for c in metrics if c in front.columns], *extra]]
    frame = study.trials_frame()
    drop = [c for c in ("fit_s", "acq_s", "worker", "error") if c in frame.columns]
    frame = frame.drop(columns=drop)
    robust = study.pareto(robust=True)
    warnings = study.warnings()
    lineage = json.dumps(study.lineage, indent=1, default=str)
    now = datetime.datetime.now().isoformat(" ", "seconds")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(study.name)}: hpo_notebook report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Study {html.escape(study.name)}</h1>",
        _summary(study),
    ]
    if warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(
            f'<li class="warn">{html.escape(w)}</li>' for w in warnings) + "</ul>")  # fmt: skip
    if objectives.n > 1:
        parts += ["<h2>Pareto front</h2>", divs["pareto"], _table(front, "front")]
    else:
        first = R.metric_column(objectives.names[0])
        ascending = objectives.objectives[0][1].direction == "min"
        best = (
            frame.dropna(subset=[first]).sort_values(first, ascending=ascending).head(10)
            if first in frame.columns
            else frame.iloc[0:0]
        )
        parts += ["<h2>Best trials</h2>", _table(best, "best")]
    if len(robust):
        parts += ["<h2>Seed re-runs</h2>", _table(robust, "robust")]
    parts += [
        "<h2>Learning curves</h2>", divs["curves"],
        "<h2>Hypervolume</h2>" if objectives.n > 1 else "<h2>Best value</h2>", divs["hypervolume"],
        "<h2>Parameters</h2>", divs["parallel"], divs["importance"],
        f"<h2>Trials ({len(frame)})</h2>",
        '<input class="filter" data-table="trials" placeholder="filter rows (any text)">',
        _table(frame, "trials"),
        "<h2>Lineage</h2>", f"<pre>{html.escape(lineage)}</pre>",
        f"<p><small>Written by hpo_notebook {__version__} on {now}.</small></p>",
        f"<script>{_JS}</script></body></html>",
    ]  # fmt: skip
    return "\n".join(parts)


def write(study: Study, path: str | Path) -> Path:
    """Write ``study``'s report to ``path`` (an ``.html`` file; folders are made)."""
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        from hpo_notebook.exceptions import ConfigError

        raise ConfigError(f"report: the file should end in .html, got {str(path)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(study), encoding="utf-8")
    return out
