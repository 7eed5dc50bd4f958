"""Toy trial functions with known answers, importable on Dask workers.

Each takes ``(params, trial)`` like any trial function. They are deliberately cheap so that
tests measure the machinery, not the model.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from hpo_notebook.space import Float, Space

#: The space of :func:`branin_currin`.
UNIT_2D = Space(x0=Float(0.0, 1.0), x1=Float(0.0, 1.0))


def branin_currin_values(x0: float, x1: float) -> tuple[float, float]:
    """BoTorch's BraninCurrin pair (both minimized) at a point of the unit square."""
    u, v = 15.0 * x0 - 5.0, 15.0 * x1
    branin = (v - 5.1 / (4 * math.pi**2) * u**2 + 5 / math.pi * u - 6) ** 2
    branin += 10 * (1 - 1 / (8 * math.pi)) * math.cos(u) + 10
    x1s = max(x1, 1e-12)
    factor = 1 - math.exp(-1 / (2 * x1s))
    num = 2300 * x0**3 + 1900 * x0**2 + 2092 * x0 + 60
    den = 100 * x0**3 + 500 * x0**2 + 4 * x0 + 20
    return branin, factor * num / den


def branin_currin(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """Two objectives (``f0``, ``f1``, both "min"), with two reports on the way."""
    f0, f1 = branin_currin_values(params["x0"], params["x1"])
    trial.report(1, f0=f0 * 2, f1=f1 * 2)
    trial.report(2, f0=f0, f1=f1)
    return {"f0": f0, "f1": f1}


def sleepy(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """Sleeps ``params["seconds"]`` (reporting every 50 ms); returns the pid it ran in."""
    seconds = float(params.get("seconds", 0.1))
    end = time.monotonic() + seconds
    step = 0
    while time.monotonic() < end:
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
        step += 1
        trial.report(step, elapsed=step * 0.05)
    return {"y": float(params.get("x", 0.0)), "pid": float(os.getpid())}


def noop(params: dict[str, Any], trial: Any) -> float:
    """Returns ``x`` at once: measures dispatch overhead."""
    return float(params["x"])


def checkpointed(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """``params["steps"]`` steps of ``params["step_s"]`` seconds each, resuming from the
    trial's checkpoint; reports ``loss`` and the ``pid`` that computed each step."""
    state = trial.load_checkpoint()
    start = 1 if state is None else int(state["step"]) + 1
    loss = 1.0 if state is None else float(state["loss"])
    for step in range(start, int(params.get("steps", 10)) + 1):
        time.sleep(float(params.get("step_s", 0.05)))
        loss *= 0.5 + 0.5 * params["x"]
        trial.report(step, loss=loss, pid=float(os.getpid()))
        trial.save_checkpoint({"step": step, "loss": loss})
    return {"loss": loss}


def learning_curve(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """A curve that decays to ``x`` (lower is better) over ``params["steps"]`` steps of
    ``params["step_s"]`` seconds, reporting ``loss`` and ``size = 1 - x`` (two objectives
    that conflict, for multi-objective pruning)."""
    steps = int(params.get("steps", 9))
    loss = 1.0
    for step in range(1, steps + 1):
        time.sleep(float(params.get("step_s", 0.02)))
        loss = params["x"] + (1.0 - params["x"]) * 0.5**step
        trial.report(step, loss=loss, size=1.0 - params["x"])
    return {"loss": loss, "size": 1.0 - params["x"]}
