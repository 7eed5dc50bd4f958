"""Stopping rules: when is a study done, and what may it spend.

A rule is given as ``stop_when=`` to :class:`~hpo_notebook.Study` (stored with the study, it
holds for every run, also after ``hn.load_study``) or to one ``run``/``start``/``run_async``.
Rules combine with ``|``: the study stops when any of them says so.

When a rule holds, **no new trial starts**; the trials running go on to their end (they are
the pending points: one of them may still improve the front, and then a
:class:`NoImprovement` rule lets the study go on). Once none runs and a rule still holds, the
run ends, and ``study.status`` says why (``"stopped: <reason>"``).

Example:
    >>> import hpo_notebook as hn
    >>> rule = hn.stop.NoImprovement() | hn.stop.Budget(gpu_hours=40)
    >>> rule
    NoImprovement(trials=30, min_gain=0.05) | Budget(gpu_hours=40)
    >>> hn.stop.from_json(rule.to_json()) == rule
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpo_notebook._numbers import positive_int, positive_number
from hpo_notebook.exceptions import ConfigError
from hpo_notebook.trial import Trial, TrialState, is_rerun

if TYPE_CHECKING:
    from hpo_notebook.objectives import Objectives

__all__ = ["AnyOf", "Budget", "NoImprovement", "StopRule", "StopState", "from_json", "parse"]


@dataclass(frozen=True)
class StopState:
    """What a rule looks at: a snapshot of the study, taken when a trial could start.

    Attributes:
        trials: every trial of the study.
        now: the study's clock (virtual on a simulated cluster).
        objectives: the study's objectives.
        progress: the hypervolume after each finished trial, in the order they finished,
            with today's reference point (several objectives), or None (one objective: the
            rule works from the trials).
        n_initial: trials of the initial design (the model proposes after them).
        run_started_at: when the current run started (for a projected end).
        gpus_per_trial: GPUs each trial of the current run asks for.
        live: the numbers of the trials that run now (None: every RUNNING trial). A trial
            the file says is RUNNING but that no worker runs (left by a process that died)
            has no known run time yet: only its earlier attempts count.
    """

    trials: Sequence[Trial]
    now: float
    objectives: Objectives
    progress: Sequence[float] | None = None
    n_initial: int = 0
    run_started_at: float | None = None
    gpus_per_trial: float = 0.0
    live: frozenset[int] | None = None

    def finished(self) -> list[Trial]:
        """Finished trials of the search (complete, pruned or failed; seed re-runs are not
        trials of the search), in the order they ended."""
        done = [t for t in self.trials if t.state.finished and not is_rerun(t)]
        return sorted(done, key=lambda t: (t.ended_at or 0.0, t.number))

    def running(self) -> list[Trial]:
        """Trials running now."""
        return [t for t in self.trials if self.is_live(t)]

    def is_live(self, t: Trial) -> bool:
        return t.state is TrialState.RUNNING and (self.live is None or t.number in self.live)

    def cost_s(self, t: Trial) -> float:
        """Seconds ``t`` has run so far (see :func:`trial_cost_s`); a trial marked RUNNING
        that no worker runs counts its earlier attempts only."""
        if t.state is TrialState.RUNNING and not self.is_live(t):
            return float(t.extra.get("earlier_attempts_s", 0.0) or 0.0)
        return trial_cost_s(t, self.now)


class StopRule:
    """A rule that says when a study should start no more trials (see the module docstring).

    Subclasses implement :meth:`check` (the reason to stop, or None) and :meth:`to_json`;
    a budget also :meth:`room`; :meth:`describe` gives the one line the dashboard shows.
    """

    def check(self, state: StopState) -> str | None:
        """Why no trial should start now (None: go on)."""
        raise NotImplementedError

    def room(self, state: StopState) -> float:
        """How many trials may start now, one after the other (``math.inf``: no limit; 0
        exactly when :meth:`check` gives a reason)."""
        return 0.0 if self.check(state) is not None else math.inf

    def describe(self, state: StopState) -> str | None:
        """Where the rule stands, in one line (budget used and left, a projected end)."""
        return None

    def validate(self, gpus_per_trial: float) -> None:
        """Refuse a rule that could never hold for a run whose trials ask for
        ``gpus_per_trial`` GPUs (called before the run starts)."""

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def rules(self) -> list[StopRule]:
        """The rules this one is made of (itself, for a single rule)."""
        return [self]

    def __or__(self, other: object) -> AnyOf:
        if not isinstance(other, StopRule):
            return NotImplemented
        return AnyOf((*self.rules(), *other.rules()))


def _fraction(name: str, value: Any) -> float:
    if not positive_number(value) or value >= 1:
        raise ConfigError(f"{name} must be a number in (0, 1), got {value!r}")
    return float(value)


@dataclass(frozen=True, repr=False)
class NoImprovement(StopRule):
    """Stop when the last ``trials`` finished trials raised the hypervolume (several
    objectives) or the best value (one objective) by less than ``min_gain``, a share of
    today's hypervolume.

    With one objective the hypervolume is the best value's distance from the worst value
    seen, so the gain is scale-free there too. The hypervolume uses the study's reference
    point as it is now (thresholds, or inferred from the trials), for old and new values
    alike. The rule waits for ``trials`` finished trials after the initial design, and never
    stops a study whose hypervolume is still 0 (nothing feasible beats the reference point).

    The defaults (30 trials, 5%) were chosen on ``benchmarks/stopping.py``: on three problems
    over 20 seeds they stop after 47% fewer trials than a 144-trial plan on average, keeping
    at least 0.97 of its hypervolume on every seed; replayed on the benchmark suite's runs of
    16 other problems, they keep >= 0.969 on average on each (``docs/benchmarks.md``). Shorter
    windows stop 3- and 4-objective studies, noisy ones and tight thresholds in a plateau
    before a jump.

    Args:
        trials: the window, in finished trials (pruned and failed ones count: they spent).
        min_gain: the relative gain in (0, 1) the window must bring.

    Example:
        >>> import hpo_notebook as hn
        >>> hn.stop.NoImprovement(trials=30, min_gain=0.005)
        NoImprovement(trials=30, min_gain=0.005)
    """

    trials: int = 30
    min_gain: float = 0.05

    def __post_init__(self) -> None:
        positive_int("NoImprovement: trials", self.trials)
        object.__setattr__(self, "min_gain", _fraction("NoImprovement: min_gain", self.min_gain))

    def __repr__(self) -> str:
        return f"NoImprovement(trials={self.trials}, min_gain={self.min_gain:g})"

    def gain(self, state: StopState) -> float | None:
        """The relative gain of the last ``trials`` finished trials (None: too early)."""
        series = _progress(state)
        n = len(series)
        if n < state.n_initial + self.trials or n <= self.trials:
            return None
        now, then = series[-1], series[-1 - self.trials]
        if not now > 0:
            return None
        return max(0.0, (now - then) / now)

    def check(self, state: StopState) -> str | None:
        gain = self.gain(state)
        if gain is None or gain >= self.min_gain:
            return None
        what = "hypervolume" if state.objectives.n > 1 else "best value"
        return (
            f"no improvement: the last {self.trials} finished trials raised the {what} by "
            f"{gain:.2%} (less than min_gain={self.min_gain:.2%})"
        )

    def describe(self, state: StopState) -> str | None:
        gain = self.gain(state)
        if gain is None:
            return f"stops after {self.trials} trials that gain < {self.min_gain:.1%}"
        return f"last {self.trials} trials gained {gain:.1%} (stops below {self.min_gain:.1%})"

    def to_json(self) -> dict[str, Any]:
        return {"rule": "NoImprovement", "trials": self.trials, "min_gain": self.min_gain}


def _progress(state: StopState) -> list[float]:
    """Hypervolume after each finished trial (one objective: best minus worst value seen)."""
    if state.progress is not None:
        return list(state.progress)
    from hpo_notebook.results import feasible

    name, obj = state.objectives.objectives[0]
    sign = 1.0 if obj.direction == "max" else -1.0
    best: list[float | None] = []
    top: float | None = None
    low = math.inf
    for t in state.finished():
        if t.state is TrialState.COMPLETE and feasible([t], state.objectives):
            y = sign * float((t.values or {})[name])
            if math.isfinite(y):
                top = y if top is None else max(top, y)
                low = min(low, y)
        best.append(top)
    return [0.0 if b is None else b - low for b in best]


#: seconds in an hour
_HOUR = 3600.0
#: budgets within this many seconds of their limit count as spent (rounding of hour sums)
_EPS_S = 1e-6


def trial_cost_s(t: Trial, now: float) -> float:
    """Seconds a trial has run so far, over all its attempts (a running one: until ``now``)."""
    earlier = float(t.extra.get("earlier_attempts_s", 0.0) or 0.0)
    if t.started_at is None:
        return earlier
    end = t.ended_at if t.ended_at is not None else now
    if t.state is TrialState.RUNNING:
        end = now
    return earlier + max(0.0, end - t.started_at)


def trial_gpus(t: Trial) -> float:
    """GPUs the trial asked for (``resources={"GPU": n}`` of the run that ran it)."""
    return float(t.extra.get("gpus", 0.0) or 0.0)


@dataclass(frozen=True, repr=False)
class Budget(StopRule):
    """Stop starting trials before the study spends more than its budget.

    - ``gpu_hours``: each trial's run time times the GPUs it asked for
      (``resources={"GPU": n}``);
    - ``hours``: worker-hours, each trial's run time (a trial of one hour counts one hour,
      however many run at once; for the study's wall-clock time use ``run(timeout=...)``);
    - ``trials``: trials started (finished or running; interrupted trials run again free).

    Every trial of the study counts, with the time of all its attempts. No new trial starts
    once what was spent plus the expected rest of the running trials (the mean run time of the
    finished trials, less what each has run) would pass the budget; the trials running then
    finish, so the overrun is at most what was running.

    Example:
        >>> import hpo_notebook as hn
        >>> hn.stop.Budget(gpu_hours=8, trials=100)
        Budget(gpu_hours=8, trials=100)
        >>> hn.stop.Budget(hours=-1)
        Traceback (most recent call last):
        ...
        hpo_notebook.exceptions.ConfigError: Budget: hours must be a positive number, got -1
    """

    gpu_hours: float | None = None
    hours: float | None = None
    trials: int | None = None

    def __post_init__(self) -> None:
        if self.gpu_hours is None and self.hours is None and self.trials is None:
            raise ConfigError("Budget: give at least one of gpu_hours=, hours=, trials=")
        for name in ("gpu_hours", "hours"):
            value = getattr(self, name)
            if value is not None and not positive_number(value):
                raise ConfigError(f"Budget: {name} must be a positive number, got {value!r}")
        if self.trials is not None:
            positive_int("Budget: trials", self.trials)

    def __repr__(self) -> str:
        parts = [
            f"{name}={getattr(self, name):g}"
            for name in ("gpu_hours", "hours", "trials")
            if getattr(self, name) is not None
        ]
        return f"Budget({', '.join(parts)})"

    def validate(self, gpus_per_trial: float) -> None:
        if self.gpu_hours is not None and gpus_per_trial <= 0:
            raise ConfigError(
                f"Budget(gpu_hours={self.gpu_hours:g}) counts the GPUs trials ask for, and "
                "this run's trials ask for none: pass resources={'GPU': 1} (GPUs per trial) "
                "to run/start, or use Budget(hours=...) for worker-hours"
            )

    @staticmethod
    def _mean_s(state: StopState) -> float:
        """The mean run time of the finished trials (0 before the first)."""
        durations = [
            state.cost_s(t) for t in state.trials if t.state.finished and t.started_at is not None
        ]
        return sum(durations) / len(durations) if durations else 0.0

    def spend(self, state: StopState) -> dict[str, tuple[float, float]]:
        """``{kind: (spent, expected rest of the running trials)}`` per budgeted kind, in
        the budget's unit: hours (GPU-hours, worker-hours) or trials."""
        out: dict[str, tuple[float, float]] = {}
        running = state.running()
        if self.trials is not None:
            started = sum(1 for t in state.trials if t.state.finished) + len(running)
            out["trials"] = (float(started), 0.0)
        if self.gpu_hours is None and self.hours is None:
            return out
        mean = self._mean_s(state)
        # sums in seconds (exact for whole seconds), divided once
        for name, weight in (("gpu_hours", trial_gpus), ("hours", lambda t: 1.0)):
            if getattr(self, name) is None:
                continue
            spent = sum(state.cost_s(t) * weight(t) for t in state.trials)
            rest = sum(max(0.0, mean - state.cost_s(t)) * weight(t) for t in running)
            out[name] = (spent / _HOUR, rest / _HOUR)
        return out

    def room(self, state: StopState) -> float:
        """Trials that may start now: each start adds its expected cost (the mean run time of
        the finished trials, times its GPUs) to what running trials will still spend, and a
        trial starts only while that total is below the budget."""
        out = math.inf
        mean_s = self._mean_s(state)
        for name, (spent, rest) in self.spend(state).items():
            if name == "trials":
                out = min(out, max(0.0, float(self.trials or 0) - spent))
                continue
            # in seconds: a budget of 0.25 h is 900 s exactly, and trials of 90 s fit 10 times
            left_s = float(getattr(self, name)) * _HOUR - (spent + rest) * _HOUR
            if left_s <= _EPS_S:
                return 0.0
            each = mean_s * (state.gpus_per_trial if name == "gpu_hours" else 1.0)
            if each > 0:
                out = min(out, float(math.ceil(left_s / each - _EPS_S)))
        return out

    def check(self, state: StopState) -> str | None:
        for name, (spent, rest) in self.spend(state).items():
            limit = float(getattr(self, name))
            scale = 1.0 if name == "trials" else _HOUR
            if (limit - spent - rest) * scale <= (0 if name == "trials" else _EPS_S):
                unit = _UNITS[name]
                tail = f" with {rest:.3g} more expected from running trials" if rest else ""
                return f"budget: {spent:.3g} of {limit:.3g} {unit} spent{tail}"
        return None

    def describe(self, state: StopState) -> str | None:
        parts = []
        for name, (spent, _rest) in self.spend(state).items():
            limit = float(getattr(self, name))
            text = f"{spent:.3g} of {limit:.3g} {_UNITS[name]} ({min(1.0, spent / limit):.0%})"
            end = self._projected_end_s(name, spent, limit, state)
            if end is not None:
                text += f", ends in ~{_duration(end)}"
            parts.append(text)
        return "budget " + "; ".join(parts) if parts else None

    def _projected_end_s(
        self, name: str, spent: float, limit: float, state: StopState
    ) -> float | None:
        """Seconds until the budget is spent at today's pace (None: no pace yet)."""
        if name == "trials":
            t0 = state.run_started_at
            done = [t for t in state.finished() if t0 is not None and (t.ended_at or 0) >= t0]
            if t0 is None or not done or state.now <= t0:
                return None
            return (limit - spent) / (len(done) / (state.now - t0))
        per_hour = sum(
            trial_gpus(t) if name == "gpu_hours" else 1.0 for t in state.running()
        )  # hours of budget spent per hour of wall time, now
        if per_hour <= 0:
            return None
        return max(0.0, limit - spent) / per_hour * _HOUR

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": "Budget",
            "gpu_hours": self.gpu_hours,
            "hours": self.hours,
            "trials": self.trials,
        }


_UNITS = {"gpu_hours": "GPU-hours", "hours": "worker-hours", "trials": "trials"}


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, repr=False)
class AnyOf(StopRule):
    """Several rules: the study stops when any of them holds (``rule_a | rule_b``)."""

    parts: tuple[StopRule, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.parts or not all(isinstance(r, StopRule) for r in self.parts):
            raise ConfigError(f"AnyOf needs stopping rules, got {self.parts!r}")

    def __repr__(self) -> str:
        return " | ".join(repr(r) for r in self.parts)

    def rules(self) -> list[StopRule]:
        return list(self.parts)

    def check(self, state: StopState) -> str | None:
        for r in self.parts:
            reason = r.check(state)
            if reason is not None:
                return reason
        return None

    def room(self, state: StopState) -> float:
        return min(r.room(state) for r in self.parts)

    def describe(self, state: StopState) -> str | None:
        lines = [d for d in (r.describe(state) for r in self.parts) if d]
        return "; ".join(lines) or None

    def validate(self, gpus_per_trial: float) -> None:
        for r in self.parts:
            r.validate(gpus_per_trial)

    def to_json(self) -> dict[str, Any]:
        return {"rule": "AnyOf", "parts": [r.to_json() for r in self.parts]}


def from_json(data: Any) -> StopRule | None:
    """The rule :meth:`StopRule.to_json` stored (None for None). A stored rule that this
    version does not know is an error that names it."""
    if data is None:
        return None
    kind = data.get("rule") if isinstance(data, dict) else None
    try:
        if kind == "NoImprovement":
            return NoImprovement(int(data["trials"]), float(data["min_gain"]))
        if kind == "Budget":
            return Budget(data.get("gpu_hours"), data.get("hours"), data.get("trials"))
        if kind == "AnyOf":
            parts = [from_json(p) for p in data["parts"]]
            return AnyOf(tuple(p for p in parts if p is not None))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"a stored stopping rule is damaged: {data!r} ({exc})") from None
    raise ConfigError(
        f"unknown stopping rule {data!r}; this version knows NoImprovement, Budget and AnyOf"
    )


def parse(value: Any, what: str = "stop_when") -> StopRule | None:
    """Check a ``stop_when=`` argument: a rule, several combined with ``|``, or None."""
    if value is None or isinstance(value, StopRule):
        return value
    raise ConfigError(
        f"{what} must be a stopping rule such as hn.stop.NoImprovement() or "
        f"hn.stop.Budget(gpu_hours=10) (combine them with |), got {value!r}"
    )


def combine(*rules: StopRule | None) -> StopRule | None:
    """The rules given (None ignored) as one rule, or None."""
    given = [r for r in rules if r is not None]
    if not given:
        return None
    out = given[0]
    for r in given[1:]:
        out = out | r
    return out
