"""Scale: studies of thousands of trials on ``hn.SimulatedCluster`` (virtual time).

a. **Driver cost.** 10,000 trials on 64 simulated workers, up to 10 reports each (learning
   curves of 10 epochs of 30-90 virtual seconds), ``hn.ASHA(10)``, quasi-random proposals,
   stored in a SQLite file. The trial functions do no work, so the real time of the run is
   what the study costs: the driver (store included) and the simulation's hand-overs.
   Reported: real seconds per trial (all threads) and the driver thread's CPU per trial, the
   process's peak memory growth, the study file's size, and whether every trial and every
   report was accounted for (the trial function counts its own reports). A second pass under
   ``cProfile`` (on the driver thread only) says where the driver's time goes.
b. **Utilization with a model.** 1,000 trials of 60 virtual seconds (six reports) on 16
   workers with the default qLogNEHVI on BraninCurrin. Proposal compute is charged to the
   virtual clock, so a worker that waits for a proposal is idle in virtual time. Reported:
   busy slot-time over available slot-time (overall, and until the last trial started),
   virtual makespan against the ideal ``trials / workers * 60 s``, and real time.
c. **Speedup.** Virtual time to finish N trials (no pruner; trials of 30-90 virtual seconds,
   drawn from each trial's seed) with 1, 4, 16, 64, 256 and 512 workers, against the linear
   ideal (the 1-worker time divided by the workers), with quasi-random proposals and with
   qLogNEHVI.
d. **A big cluster.** 2,000 trials of 60 virtual seconds on 64 workers, each trial one
   evaluation of DTLZ2 (6 inputs, 2 objectives), with the default qLogNEHVI and with
   quasi-random search (Sobol), the real proposal time charged to the virtual clock as in b.
   Reported: utilization as in b, the proposals by kind, and the log10 hypervolume gap at the
   end (lower is better) of each.

Run::

    python -m benchmarks.scale                 # parts a, b and c at the issue's sizes
    python -m benchmarks.scale --parts d       # the big cluster (about an hour here)
    python -m benchmarks.scale --parts a c --speedup-optimizers sobol

Results go to ``docs/results/scale.json`` (one entry per part, merged with earlier runs) and
``docs/results/scale.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
T0 = 1_700_000_000.0  # where the virtual clocks start


class Counter:
    """Reports made by the trial functions (they run in this process on a simulated cluster)."""

    def __init__(self) -> None:
        self.reports = 0


def curve_trial(counter: Counter) -> Any:
    """10 epochs of 30-90 virtual seconds each (drawn from the trial's seed); a loss curve
    that falls to a bowl in (x, y), with noise."""

    def fn(params: dict[str, Any], trial: Any) -> dict[str, float]:
        rng = random.Random(trial.seed)
        final = (params["x"] - 0.3) ** 2 + (params["y"] - 0.6) ** 2
        loss = final
        for epoch in range(1, 11):
            trial.sleep(rng.uniform(30.0, 90.0))
            loss = final + 1.0 / epoch + rng.gauss(0.0, 0.02)
            counter.reports += 1
            trial.report(epoch, loss=loss)
        return {"loss": loss}

    return fn


def two_objective_trial(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """BraninCurrin; 60 virtual seconds, reporting every 10."""
    from hpo_notebook.testing.problems import branin_currin_values

    f0, f1 = branin_currin_values(params["x0"], params["x1"])
    for step in range(1, 7):
        trial.sleep(10.0)
        trial.report(step, f0=f0 * (1 + 1 / step), f1=f1 * (1 + 1 / step))
    return {"f0": f0, "f1": f1}


def seeded_length_trial(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """One report after 30-90 virtual seconds (drawn from the trial's seed)."""
    from hpo_notebook.testing.problems import branin_currin_values

    trial.sleep(random.Random(trial.seed).uniform(30.0, 90.0))
    f0, f1 = branin_currin_values(params["x0"], params["x1"])
    trial.report(1, f0=f0, f1=f1)
    return {"f0": f0, "f1": f1}


def dtlz2_trial(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """DTLZ2 (6 inputs ``x0..x5``, 2 objectives, minimized); 60 virtual seconds."""
    import torch

    from benchmarks._problems import PROBLEMS

    x = torch.tensor([[params[f"x{i}"] for i in range(6)]], dtype=torch.float64)
    f = -PROBLEMS["DTLZ2"]()(x)[0]  # the problem is built negated (maximized)
    trial.sleep(60.0)
    return {"f0": float(f[0]), "f1": float(f[1])}


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _driver_cpu(study: Any) -> dict[str, float]:
    """The driver thread's CPU time from its first event to its last (events are published on
    the driver thread)."""
    marks: dict[str, float] = {}

    def on(event: dict[str, Any]) -> None:
        now = time.thread_time()
        marks.setdefault("first", now)
        marks["last"] = now

    study.subscribe(on)
    return marks


def _profiled(study: Any) -> cProfile.Profile:
    """A profiler that runs on the driver thread only, from its first event to the end."""
    prof = cProfile.Profile()
    state = {"on": False}

    def on(event: dict[str, Any]) -> None:
        if not state["on"]:
            state["on"] = True
            prof.enable()
        elif event["type"] == "status" and event["status"] == "idle":
            prof.disable()

    study.subscribe(on)
    return prof


def _breakdown(prof: cProfile.Profile, top: int = 14) -> list[dict[str, Any]]:
    """The functions of this package where the driver spends its time (cumulative)."""
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = max(1e-9, sum(v[2] for v in stats.stats.values()))  # type: ignore[attr-defined]
    rows = []
    for (file, line, name), (_, ncalls, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "hpo_notebook" not in file and "sqlite3" not in name:
            continue
        where = file.split("hpo_notebook/")[-1] if "hpo_notebook" in file else file
        rows.append(
            {
                "function": f"{where}:{line}:{name}",
                "calls": ncalls,
                "own_share": round(tt / total, 3),
                "cumulative_share": round(ct / total, 3),
            }
        )
    rows.sort(key=lambda r: -r["cumulative_share"])
    return rows[:top]


def driver_cost(n: int, workers: int, profile: bool = False) -> dict[str, Any]:
    import hpo_notebook as hn

    if n > 100:  # load what a first run loads (SciPy's Sobol engine, pandas) before measuring
        driver_cost(100, workers)

    space = {"x": hn.Float(0.0, 1.0), "y": hn.Float(0.0, 1.0)}
    counter = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/scale.db"
        study = hn.Study(
            curve_trial(counter),
            space,
            {"loss": "min"},
            storage=path,
            optimizer="sobol",
            pruner=hn.ASHA(10, grace=1, eta=3),
            seed=0,
        )
        cpu = _driver_cpu(study)
        prof = _profiled(study) if profile else None
        rss0 = _peak_rss_mb()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pruning-gamble warnings on this toy curve
            study.run(n, cluster=hn.SimulatedCluster(workers, start=T0), progress=False, show=False)
        real = time.perf_counter() - t0
        counts = study.counts()
        stored_reports = len(study.curves())
        size = sum(p.stat().st_size for p in Path(tmp).glob("scale.db*"))
        virtual = study.clock.time() - T0
        out = {
            "trials": n,
            "workers": workers,
            "real_s": round(real, 2),
            "real_ms_per_trial": round(1000 * real / n, 3),
            "driver_cpu_ms_per_trial": round(1000 * (cpu["last"] - cpu["first"]) / n, 3),
            "peak_rss_growth_mb": round(_peak_rss_mb() - rss0, 1),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "file_mb": round(size / 2**20, 2),
            "counts": counts,
            "reports_made": counter.reports,
            "reports_stored": stored_reports,
            "all_accounted": (
                len(study.trials) == n
                and counts["RUNNING"] == 0
                and counts["COMPLETE"] + counts["PRUNED"] + counts["FAILED"] == n
                and stored_reports == counter.reports
            ),
            "virtual_hours": round(virtual / 3600, 2),
        }
        study.close()
    if prof is not None:
        out["profile"] = _breakdown(prof)
    return out


def _busy(trials: list[Any]) -> list[tuple[float, float]]:
    return [(t.started_at, t.ended_at) for t in trials if t.started_at and t.ended_at]


def _windows(trials: list[Any], workers: int, size: int) -> list[dict[str, Any]]:
    """Utilization by windows of ``size`` trials in start order: from the first start of the
    window to the first start of the next (the last: to the last end), busy slot time of all
    trials in it over the slots available; and the real compute time of the model proposals
    the window's trials came from (each trial counts its batch's time)."""
    ran = sorted((t for t in trials if t.started_at and t.ended_at), key=lambda t: t.started_at)
    spans = _busy(ran)
    end = max(e for _, e in spans)
    rows = []
    for k in range(0, len(ran), size):
        group = ran[k : k + size]
        w0 = group[0].started_at
        w1 = ran[k + size].started_at if k + size < len(ran) else end
        if w1 <= w0:
            continue
        busy = sum(max(0.0, min(e, w1) - max(s, w0)) for s, e in spans)
        model = [t.proposal["total_s"] for t in group if "total_s" in t.proposal]
        rows.append(
            {
                "trials": f"{k + 1}-{k + len(group)}",
                "virtual_s": round(w1 - w0, 1),
                "utilization": round(busy / (workers * (w1 - w0)), 3),
                "proposal_s_mean": round(sum(model) / len(model), 2) if model else None,
            }
        )
    return rows


def utilization(
    n: int,
    workers: int,
    optimizer: str = "qLogNEHVI",
    seed: int = 0,
    real_budget_s: float | None = None,
    window: int = 100,
) -> dict:
    """Part b; with ``real_budget_s`` the study is stopped after that much real time and the
    figures cover the trials that ran by then."""
    import hpo_notebook as hn

    space = {"x0": hn.Float(0.0, 1.0), "x1": hn.Float(0.0, 1.0)}
    study = hn.Study(
        two_objective_trial, space, {"f0": "min", "f1": "min"}, optimizer=optimizer, seed=seed
    )
    out = _utilization_run(study, optimizer, n, workers, real_budget_s, window)
    out["log10_gap"] = _log10_gap(study, "BraninCurrin")
    return out


def _log10_gap(study: Any, problem: str) -> float:
    """The log10 hypervolume gap of every completed trial of a study minimizing the test
    problem's ``f0`` and ``f1`` (BoTorch's problems maximize: the values change sign)."""
    import torch

    import hpo_notebook as hn
    from benchmarks._problems import PROBLEMS, log_hv_gap

    done = [t for t in study.trials if t.state == hn.TrialState.COMPLETE and t.values]
    Y = torch.tensor([[-t.values["f0"], -t.values["f1"]] for t in done], dtype=torch.float64)
    return round(log_hv_gap(PROBLEMS[problem](), Y.reshape(-1, 2)), 3)


def big_cluster(
    n: int,
    workers: int,
    optimizer: str,
    seed: int = 0,
    real_budget_s: float | None = None,
    window: int = 250,
) -> dict[str, Any]:
    """Part d, one optimizer: part b's figures on DTLZ2, and the log10 hypervolume gap of
    everything evaluated."""

    import hpo_notebook as hn

    space = {f"x{i}": hn.Float(0.0, 1.0) for i in range(6)}
    study = hn.Study(dtlz2_trial, space, {"f0": "min", "f1": "min"}, optimizer=optimizer, seed=seed)
    out = _utilization_run(study, optimizer, n, workers, real_budget_s, window)
    out["log10_gap"] = _log10_gap(study, "DTLZ2")
    return out


def _utilization_run(
    study: Any, optimizer: str, n: int, workers: int, real_budget_s: float | None, window: int
) -> dict[str, Any]:
    import hpo_notebook as hn

    timer = None if real_budget_s is None else threading.Timer(real_budget_s, study.stop)
    t0 = time.perf_counter()
    if timer is not None:
        timer.daemon = True
        timer.start()
    study.run(n, cluster=hn.SimulatedCluster(workers, start=T0), progress=False, show=False)
    real = time.perf_counter() - t0
    if timer is not None:
        timer.cancel()
    spans = _busy(study.trials)
    if not spans:  # stopped before a trial ran
        return {"trials": n, "workers": workers, "optimizer": optimizer, "complete": 0,
                "real_s": round(real, 1), "real_budget_s": real_budget_s,
                "stopped_by_budget": True}  # fmt: skip
    end = max(e for _, e in spans)
    last_start = max(s for s, _ in spans)
    busy = sum(e - s for s, e in spans)
    steady = sum(min(e, last_start) - s for s, e in spans if s < last_start)
    kinds: dict[str, int] = {}
    for t in study.trials:
        kinds[t.proposal.get("kind", "?")] = kinds.get(t.proposal.get("kind", "?"), 0) + 1
    return {
        "trials": n,
        "workers": workers,
        "optimizer": optimizer,
        "virtual_makespan_s": round(end - T0, 1),
        "ideal_makespan_s": round(n / workers * 60.0, 1),
        "utilization": round(busy / (workers * (end - T0)), 3),
        "utilization_steady": round(steady / (workers * (last_start - T0)), 3),
        "proposal_kinds": kinds,
        "complete": study.counts()["COMPLETE"],
        "real_s": round(real, 1),
        "real_budget_s": real_budget_s,
        "stopped_by_budget": study.counts()["COMPLETE"] < n,
        "windows": _windows(study.trials, workers, window),
    }


def speedup(
    n: int,
    workers: list[int],
    optimizer: str,
    seed: int = 0,
    real_budget_s: float | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    earlier: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Part c: virtual time to finish ``n`` trials on each number of ``workers``.

    Each row also has its ``busy_share``: the trials' summed durations over ``workers`` x
    the virtual time, which needs no 1-worker run. ``real_budget_s`` stops a run after that
    many real seconds (its row says how many trials completed); ``on_row`` sees the result
    after each row (to save it); ``earlier`` rows of other worker counts are kept."""
    import hpo_notebook as hn

    space = {"x0": hn.Float(0.0, 1.0), "x1": hn.Float(0.0, 1.0)}
    rows = {r["workers"]: r for r in earlier or [] if r["workers"] not in workers}
    result: dict[str, Any] = {"trials": n, "optimizer": optimizer, "rows": []}
    for w in workers:
        study = hn.Study(
            seeded_length_trial, space, {"f0": "min", "f1": "min"}, optimizer=optimizer, seed=seed
        )
        timer = None if real_budget_s is None else threading.Timer(real_budget_s, study.stop)
        if timer is not None:
            timer.daemon = True
            timer.start()
        t0 = time.perf_counter()
        study.run(n, cluster=hn.SimulatedCluster(w, start=T0), progress=False, show=False)
        if timer is not None:
            timer.cancel()
        virtual = study.clock.time() - T0
        work = sum(e - s for s, e in _busy(study.trials))
        rows[w] = {
            "workers": w,
            "virtual_s": round(virtual, 1),
            "complete": study.counts()["COMPLETE"],
            "real_s": round(time.perf_counter() - t0, 1),
            "busy_share": round(work / (w * virtual), 3) if virtual > 0 else None,
        }
        print(f"  speedup {optimizer} {w} workers: {rows[w]}", flush=True)
        result["rows"] = _speedups([rows[k] for k in sorted(rows)], n)
        if on_row is not None:
            on_row(result)
    return result


def _speedups(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Speedup and efficiency against the 1-worker row, where it finished all ``n`` trials."""
    one = next((r for r in rows if r["workers"] == 1 and r["complete"] == n), None)
    for r in rows:
        for key in ("speedup", "ideal", "efficiency"):
            r.pop(key, None)
        if one is not None and r["complete"] == n:
            r["speedup"] = round(one["virtual_s"] / r["virtual_s"], 2)
            r["ideal"] = r["workers"]
            r["efficiency"] = round(one["virtual_s"] / r["virtual_s"] / r["workers"], 3)
    return rows


# ---------------------------------------------------------------------- output


def _load(out: Path) -> dict[str, Any]:
    """Earlier results in ``out`` (a run of some parts keeps the others)."""
    path = out / "scale.json"
    return json.loads(path.read_text()) if path.exists() else {}


def render(results: dict[str, Any]) -> str:
    lines = ["# Scale (simulated cluster)", ""]
    meta = results.get("meta", {})
    if meta:
        lines += [f"Machine: {meta.get('machine', '?')}; last run {meta.get('when', '?')}.", ""]
    a = results.get("driver_cost")
    if a:
        lines += [
            f"## a. Driver cost: {a['trials']:,} trials, {a['workers']} workers, ASHA, Sobol",
            "",
            f"`{a.get('command', '')}`",
            "",
            "| measure | value |",
            "|---|---|",
            f"| real time | {a['real_s']} s ({a['real_ms_per_trial']} ms per trial, all threads) |",
            f"| driver thread CPU | {a['driver_cpu_ms_per_trial']} ms per trial |",
            f"| virtual time simulated | {a['virtual_hours']} h |",
            f"| peak memory | {a['peak_rss_mb']} MB "
            f"({a['peak_rss_growth_mb']} MB growth in the run) |",
            f"| study file | {a['file_mb']} MB |",
            f"| states | {a['counts']} |",
            f"| reports made / stored | {a['reports_made']:,} / {a['reports_stored']:,} |",
            f"| every trial and report accounted for | {a['all_accounted']} |",
            "",
        ]
        if a.get("profile"):
            lines += [
                "Where the driver thread's time goes (cProfile on that thread, a separate pass;"
                " shares of its profiled time, cumulative includes callees):",
                "",
                "| function | calls | own | cumulative |",
                "|---|---|---|---|",
            ]
            for r in a["profile"]:
                lines.append(
                    f"| `{r['function']}` | {r['calls']:,} | {r['own_share']:.1%} | "
                    f"{r['cumulative_share']:.1%} |"
                )
            lines.append("")
    b = results.get("utilization")
    if b and "utilization" in b:  # (a run stopped before any trial ran has no figures)
        lines += [
            f"## b. Utilization: {b['trials']:,} trials of 60 s, {b['workers']} workers, "
            f"{b['optimizer']}",
            "",
            f"`{b.get('command', '')}`",
            "",
            "| measure | value |",
            "|---|---|",
            f"| utilization (virtual time, proposals charged) | {b['utilization']:.1%} |",
            f"| until the last trial started | {b['utilization_steady']:.1%} |",
            f"| virtual makespan / ideal | {b['virtual_makespan_s']:,} s / "
            f"{b['ideal_makespan_s']:,} s |",
            f"| proposals by kind | {b['proposal_kinds']} |",
            *(
                [f"| BraninCurrin log10 hypervolume gap at the end | {b['log10_gap']} |"]
                if "log10_gap" in b
                else []
            ),
            f"| real time | {b['real_s']} s |",
            "",
        ]
        if b.get("stopped_by_budget"):
            lines += [
                f"Stopped after its real-time budget of {b['real_budget_s']:,.0f} s, with "
                f"{b['complete']:,} of {b['trials']:,} trials complete: the figures above and "
                "below cover the trials that ran.",
                "",
            ]
        if b.get("windows"):
            lines += [
                "By windows of trials in start order (proposal time: the real compute of the "
                "model batch each trial came from, mean over the window's model-proposed "
                "trials):",
                "",
            ]
            lines += _windows_table(b["windows"])
    d = results.get("big_cluster")
    if d:
        lines += _render_big_cluster(d)
    runs = results.get("speedup", {}).values()
    for c in sorted(runs, key=lambda c: (c["optimizer"] != "sobol", -c["trials"])):
        lines += [
            f"## c. Speedup: {c['trials']:,} trials, {c['optimizer']}",
            "",
            f"`{c.get('command', '')}`",
            "",
            "| workers | virtual time (s) | speedup | linear ideal | efficiency | busy share "
            "| real time (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        short = []
        # without a 1-worker row of its own: the quasi-random run of the same trials (the
        # same seeded durations, no proposal time) gives the 1-worker time
        own = any(r["workers"] == 1 and r.get("complete") == c["trials"] for r in c["rows"])
        sobol = next((r for r in results.get("speedup", {}).get(f"sobol, {c['trials']} trials",
                      {}).get("rows", []) if r["workers"] == 1), None)  # fmt: skip
        one = None if own or sobol is None else sobol["virtual_s"]
        for r in c["rows"]:
            done = r.get("complete", c["trials"])
            if done < c["trials"]:
                short.append(f"{r['workers']} workers: {done:,} of {c['trials']:,}")
            speedup, ideal, eff = r.get("speedup", ""), r.get("ideal", ""), r.get("efficiency", "")
            if one is not None and done == c["trials"]:
                speedup = f"{one / r['virtual_s']:.2f} \\*\\*"
                ideal, eff = r["workers"], round(one / r["virtual_s"] / r["workers"], 3)
            lines.append(
                f"| {r['workers']} | {r['virtual_s']:,}{'' if done == c['trials'] else ' *'} | "
                f"{speedup} | {ideal} | {eff} | {r.get('busy_share', '')} | {r['real_s']} |"
            )
        lines.append("")
        if one is not None:
            lines += [
                f"\\*\\* Against the 1-worker time of the quasi-random run of the same "
                f"{c['trials']:,} trials ({one:,} s: the same seeded durations, no proposal "
                "time), which is the linear ideal's reference.",
                "",
            ]
        if short:
            lines += [
                "\\* Stopped by its real-time budget before every trial completed ("
                + "; ".join(short)
                + " trials): its virtual time covers what ran, and it has no speedup.",
                "",
            ]
        lines += [
            "Busy share: the trials' summed durations over workers x virtual time (proposal "
            "time is charged to the virtual clock, so a slow model shows here).",
            "",
        ]
    return "\n".join(lines)


def _render_big_cluster(d: dict[str, Any]) -> list[str]:
    runs = [r for r in d["runs"].values() if "utilization" in r]
    if not runs:
        return []
    first = runs[0]
    lines = [
        f"## d. A big cluster: {first['trials']:,} DTLZ2 trials of 60 s, "
        f"{first['workers']} workers",
        "",
        f"`{d.get('command', '')}`",
        "",
        "| measure | " + " | ".join(r["optimizer"] for r in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    rows = [
        ("trials complete", lambda r: f"{r['complete']:,}"),
        ("utilization (virtual time, proposals charged)", lambda r: f"{r['utilization']:.1%}"),
        ("until the last trial started", lambda r: f"{r['utilization_steady']:.1%}"),
        ("virtual makespan / ideal (s)",
         lambda r: f"{r['virtual_makespan_s']:,} / {r['ideal_makespan_s']:,}"),
        ("log10 hypervolume gap at the end", lambda r: f"{r['log10_gap']}"),
        ("proposals by kind", lambda r: f"{r['proposal_kinds']}"),
        ("real time (s)", lambda r: f"{r['real_s']:,}"),
    ]  # fmt: skip
    for name, cell in rows:
        lines.append(f"| {name} | " + " | ".join(cell(r) for r in runs) + " |")
    lines.append("")
    for r in runs:
        if r.get("stopped_by_budget"):
            lines += [
                f"{r['optimizer']} stopped after its real-time budget of "
                f"{r['real_budget_s']:,.0f} s; its figures cover the trials that ran.",
                "",
            ]
    model = next((r for r in runs if r["optimizer"] != "sobol"), None)
    if model and model.get("windows"):
        lines += [
            f"{model['optimizer']} by windows of trials in start order (as in b):",
            "",
        ]
        lines += _windows_table(model["windows"])
    return lines


def _windows_table(windows: list[dict[str, Any]]) -> list[str]:
    lines = ["| trials | virtual time (s) | utilization | proposal time (s) |", "|---|---|---|---|"]
    for w in windows:
        prop = "" if w["proposal_s_mean"] is None else w["proposal_s_mean"]
        lines.append(f"| {w['trials']} | {w['virtual_s']:,} | {w['utilization']:.1%} | {prop} |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c", "d"])
    ap.add_argument("--trials-a", type=int, default=10_000)
    ap.add_argument("--workers-a", type=int, default=64)
    ap.add_argument("--no-profile", action="store_true", help="skip part a's profiled pass")
    ap.add_argument("--trials-b", type=int, default=1_000)
    ap.add_argument("--workers-b", type=int, default=16)
    ap.add_argument(
        "--real-budget-b", type=float, default=None, help="stop part b after this many real s"
    )
    ap.add_argument("--window-b", type=int, default=100, help="trials per utilization window")
    ap.add_argument("--trials-c", type=int, default=2_000)
    ap.add_argument("--workers-c", type=int, nargs="+", default=[1, 4, 16, 64, 256, 512])
    ap.add_argument("--speedup-optimizers", nargs="+", default=["sobol", "qLogNEHVI"])
    ap.add_argument(
        "--real-budget-c",
        type=float,
        default=None,
        help="stop each part c run after this many real s",
    )
    ap.add_argument("--trials-d", type=int, default=2_000)
    ap.add_argument("--workers-d", type=int, default=64)
    ap.add_argument("--optimizers-d", nargs="+", default=["qLogNEHVI", "sobol"])
    ap.add_argument(
        "--real-budget-d",
        type=float,
        default=None,
        help="stop each part d run after this many real s",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--render-only", action="store_true", help="rewrite scale.md from scale.json")
    args = ap.parse_args(argv)
    results = _load(args.out)
    command = "python -m benchmarks.scale " + " ".join(argv or sys.argv[1:])
    results["meta"] = {
        "machine": "2 cores, no GPU (the team's shared box)",
        "when": time.strftime("%Y-%m-%d"),
    }
    if args.render_only:
        (args.out / "scale.md").write_text(render(results) + "\n")
        return results
    if "a" in args.parts:
        a = {**driver_cost(args.trials_a, args.workers_a), "command": command}
        if not args.no_profile:
            a["profile"] = driver_cost(args.trials_a, args.workers_a, profile=True)["profile"]
        results["driver_cost"] = a
        print("a:", json.dumps({k: v for k, v in a.items() if k != "profile"}), flush=True)
    if "b" in args.parts:
        b = utilization(
            args.trials_b,
            args.workers_b,
            real_budget_s=args.real_budget_b,
            window=args.window_b,
        )
        results["utilization"] = {**b, "command": command}
        print("b:", json.dumps(results["utilization"]), flush=True)
    if "c" in args.parts:
        runs = results.setdefault("speedup", {})
        for opt in args.speedup_optimizers:
            key = f"{opt}, {args.trials_c} trials"
            earlier = runs.get(key, {})

            def save(c: dict[str, Any], key: str = key) -> None:
                # rows kept from earlier runs keep the command that made them
                for r in c["rows"]:
                    if r["workers"] in args.workers_c:
                        r["command"] = command
                made = dict.fromkeys(r.get("command", "") for r in c["rows"])
                runs[key] = {**c, "command": " and ".join(m for m in made if m)}
                _save(args.out, results)

            speedup(
                args.trials_c,
                args.workers_c,
                opt,
                real_budget_s=args.real_budget_c,
                on_row=save,
                earlier=earlier.get("rows"),
            )
    if "d" in args.parts:
        d = {"command": command, "runs": {}}
        for opt in args.optimizers_d:
            d["runs"][opt] = big_cluster(
                args.trials_d, args.workers_d, opt, real_budget_s=args.real_budget_d
            )
            print("d:", json.dumps({k: v for k, v in d["runs"][opt].items() if k != "windows"}),
                  flush=True)  # fmt: skip
        results["big_cluster"] = d
    _save(args.out, results)
    print(render(results))
    return results


def _save(out: Path, results: dict[str, Any]) -> None:
    """Write ``results`` over what ``out`` holds now (another run may have saved other parts
    or other speedup runs since this one started)."""
    now = _load(out)
    results = {
        **now,
        **results,
        "speedup": {**now.get("speedup", {}), **results.get("speedup", {})},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "scale.md").write_text(render(results) + "\n")


if __name__ == "__main__":
    threading.current_thread().name = "hpo-scale"
    main()
