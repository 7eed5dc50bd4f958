"""Objectives and outcome constraints, and the checks on what a trial returns.

This module is the one place where "min" objectives are flipped to the maximization frame
that BoTorch, the Pareto and the hypervolume maths and the pruners' rankings use, and back:
:meth:`Objectives.to_max_frame` for one result, :meth:`Objectives.to_max` for one value,
:meth:`Objectives.to_max_array` and :meth:`Objectives.from_max_array` for points and
matrices, :meth:`Objectives.metrics_to_model_frame` for the model's columns (constrained
metrics included), :meth:`Objectives.thresholds_max_frame` and
:meth:`Objectives.constraint_floors` for bounds. Everything else reads and shows user units.

Example:
    >>> import hpo_notebook as hn
    >>> objs = Objectives.parse({"val_loss": "min", "acc": hn.Objective("max", threshold=0.8)},
    ...                         constraints={"latency_ms": ("<=", 50)})
    >>> objs.names, objs.metric_names
    (('val_loss', 'acc'), ('val_loss', 'acc', 'latency_ms'))
    >>> objs.to_max_frame({"val_loss": 0.25, "acc": 0.9, "latency_ms": 10.0})
    [-0.25, 0.9]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from hpo_notebook.exceptions import ConfigError, TrialResultError

Direction = Literal["min", "max"]
_DIRECTIONS = ("min", "max")
_ALIASES = {"minimize": "min", "maximize": "max", "min": "min", "max": "max"}
_OPS = ("<=", ">=")


@dataclass(frozen=True)
class Objective:
    """One objective: its direction and, when known, the worst value still worth having.

    The threshold becomes that objective's coordinate of the hypervolume reference point;
    without one it is inferred from the data.

    Args:
        direction: ``"min"`` or ``"max"`` (``"minimize"`` and ``"maximize"`` are accepted).
        threshold: the worst value still worth having, or None.

    Raises:
        ConfigError: an unknown direction or a non-finite threshold.

    Example:
        >>> Objective("min", threshold=0.3)
        Objective(direction='min', threshold=0.3)
    """

    direction: Direction = "min"
    threshold: float | None = None

    def __post_init__(self) -> None:
        d = _ALIASES.get(self.direction.lower()) if isinstance(self.direction, str) else None
        if d is None:
            raise ConfigError(
                f"Objective: direction must be 'min' or 'max', got {self.direction!r}"
            )
        object.__setattr__(self, "direction", d)
        if self.threshold is not None and (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, (int, float))
            or not math.isfinite(self.threshold)
        ):
            raise ConfigError(
                f"Objective: threshold must be a finite number or None, got {self.threshold!r}"
            )

    @property
    def sign(self) -> float:
        """+1 for "max", -1 for "min": multiply to get the maximization frame."""
        return 1.0 if self.direction == "max" else -1.0


@dataclass(frozen=True)
class Constraint:
    """An outcome constraint ``metric <= bound`` or ``metric >= bound``."""

    metric: str
    op: str
    bound: float

    def slack(self, value: float) -> float:
        """Negative or zero when satisfied (BoTorch's convention), positive when violated."""
        return value - self.bound if self.op == "<=" else self.bound - value

    def satisfied(self, value: float) -> bool:
        return self.slack(value) <= 0.0

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


@dataclass(frozen=True)
class Objectives:
    """The objectives and constraints of a study, validated. Built with :meth:`parse`."""

    objectives: tuple[tuple[str, Objective], ...]
    constraints: tuple[Constraint, ...] = ()
    #: held-out metrics: ``(metric, the objective it mirrors or None)``; stored and shown,
    #: never seen by the optimizer, the pruner or the ranking
    held_out: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(
        cls,
        objectives: Mapping[str, str | Objective] | str | None,
        constraints: Mapping[str, tuple[str, float]] | None = None,
        held_out: Mapping[str, str | None] | Iterable[str] | None = None,
    ) -> Objectives:
        """Validate user input (see the module docstring for the accepted forms).

        A single string such as ``"min"`` means one objective named ``"value"``.
        ``held_out`` maps each held-out metric (a test-set score, say) to the objective it
        mirrors (its validation counterpart), or lists them without one.

        Raises:
            ConfigError: naming the offending objective, constraint or held-out metric.

        Example:
            >>> Objectives.parse({"val_loss": "min"}, held_out={"test_loss": "val_loss"}).held_out
            (('test_loss', 'val_loss'),)
        """
        if objectives is None:
            raise ConfigError(
                "objectives are required, e.g. objectives={'val_loss': 'min', 'acc': 'max'}"
            )
        if isinstance(objectives, (str, Objective)):
            objectives = {"value": objectives}
        if not isinstance(objectives, Mapping) or not objectives:
            raise ConfigError(
                "objectives must be a non-empty mapping of metric names to 'min', 'max' or "
                f"hn.Objective(...), got {objectives!r}"
            )
        parsed: list[tuple[str, Objective]] = []
        for name, spec in objectives.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"objective names must be non-empty strings, got {name!r}")
            if isinstance(spec, Objective):
                parsed.append((name, spec))
            elif isinstance(spec, str) and spec.lower() in _ALIASES:
                parsed.append((name, Objective(_ALIASES[spec.lower()])))  # type: ignore[arg-type]
            else:
                raise ConfigError(
                    f"objective {name!r}: direction must be 'min', 'max' or hn.Objective(...), "
                    f"got {spec!r}"
                )
        cons: list[Constraint] = []
        if constraints is not None:
            if not isinstance(constraints, Mapping):
                raise ConfigError(
                    "constraints must be a mapping like {'latency_ms': ('<=', 50)}, "
                    f"got {constraints!r}"
                )
            for metric, spec in constraints.items():
                cons.append(_parse_constraint(metric, spec))
        return cls(tuple(parsed), tuple(cons), _parse_held_out(held_out, parsed, cons))

    @property
    def names(self) -> tuple[str, ...]:
        """Objective names, in order."""
        return tuple(n for n, _ in self.objectives)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Objective names then constrained metrics that are not objectives."""
        extra = [c.metric for c in self.constraints if c.metric not in self.names]
        return self.names + tuple(dict.fromkeys(extra))

    @property
    def n(self) -> int:
        return len(self.objectives)

    @property
    def signs(self) -> list[float]:
        return [o.sign for _, o in self.objectives]

    @property
    def metric_signs(self) -> list[float]:
        """Per column of :attr:`metric_names`, the factor between user units and the frame
        the model sees: objectives maximized, metrics that are only constrained as they are
        (multiplying by it goes either way)."""
        return self.signs + [1.0] * (len(self.metric_names) - self.n)

    def only(self, names: Iterable[str]) -> Objectives:
        """These objectives alone, in this order, without constraints (the frame of a pruner
        that ranks on some of them).

        Raises:
            ConfigError: a name is not an objective.

        Example:
            >>> Objectives.parse({"loss": "min", "acc": "max"}).only(["acc"]).names
            ('acc',)
        """
        own = dict(self.objectives)
        names = list(names)
        unknown = [n for n in names if n not in own]
        if unknown:
            raise ConfigError(
                f"{unknown} are not objectives of this study; choose from {list(own)}"
            )
        return Objectives(tuple((n, own[n]) for n in names))

    def thresholds_max_frame(self) -> list[float | None]:
        """Each objective's threshold in the maximization frame (None where unknown)."""
        return [None if o.threshold is None else o.sign * o.threshold for _, o in self.objectives]

    def constraint_floors(self) -> list[list[float]]:
        """Per objective, the values in the maximization frame that its outcome constraints
        keep it above (``loss <= 0.3`` on a "min" objective keeps ``-loss`` above ``-0.3``).

        Example:
            >>> Objectives.parse({"loss": "min"}, {"loss": ("<=", 0.3)}).constraint_floors()
            [[-0.3]]
        """
        floors: list[list[float]] = [[] for _ in self.objectives]
        index = {n: i for i, n in enumerate(self.names)}
        for c in self.constraints:
            i = index.get(c.metric)
            if i is not None and (c.op == ">=") == (self.signs[i] > 0):
                floors[i].append(self.signs[i] * c.bound)
        return floors

    def to_max(self, name: str, value: float) -> float:
        """One value of objective ``name`` in the maximization frame (and back: the map is
        its own inverse)."""
        return dict(self.objectives)[name].sign * float(value)

    def to_max_frame(self, metrics: Mapping[str, float]) -> list[float]:
        """Objective values with "min" objectives negated."""
        return [o.sign * float(metrics[n]) for n, o in self.objectives]

    def to_max_array(self, values: Any) -> np.ndarray:
        """Objective values in user units (a point, or one row per point; columns in
        objective order) in the maximization frame.

        Example:
            >>> objs = Objectives.parse({"loss": "min", "acc": "max"})
            >>> objs.to_max_array([[0.5, 0.9]]).tolist(), objs.from_max_array([-0.5, 0.9]).tolist()
            ([[-0.5, 0.9]], [0.5, 0.9])
        """
        arr = np.asarray(values, dtype=float)
        if arr.shape[-1:] != (self.n,):
            raise ValueError(f"expected {self.n} objective columns, got shape {arr.shape}")
        return arr * np.asarray(self.signs)

    def from_max_array(self, values: Any) -> np.ndarray:
        """The inverse of :meth:`to_max_array`: maximization frame back to user units."""
        return self.to_max_array(values)  # negating twice is the identity

    def metrics_to_model_frame(self, values: Any) -> np.ndarray:
        """Rows of every metric (columns in :attr:`metric_names` order) as the model sees
        them: objectives maximized, constrained-only metrics unchanged."""
        arr = np.asarray(values, dtype=float)
        return arr * np.asarray(self.metric_signs)

    def feasible(self, metrics: Mapping[str, float]) -> bool:
        return all(c.satisfied(float(metrics[c.metric])) for c in self.constraints)

    def check_result(self, result: Any) -> dict[str, float | Any]:
        """Turn what a trial function returned into a metrics dict, or raise.

        A bare number is accepted when there is exactly one objective. Extra metrics are kept
        (finite numbers as floats, anything else as-is if JSON can hold it).

        Raises:
            TrialResultError: naming the missing or non-finite metric.
        """
        if _is_number(result):
            if self.n != 1:
                raise TrialResultError(
                    f"the trial returned a single number ({result!r}) but the study has "
                    f"{self.n} objectives {list(self.names)}; return a dict with each of them"
                )
            result = {self.names[0]: result}
        if not isinstance(result, Mapping):
            raise TrialResultError(
                "the trial must return a dict of metrics such as "
                f"{ {n: 0.0 for n in self.metric_names} }, got {type(result).__name__} "
                f"{_short(result)}"
            )
        missing = [m for m in self.metric_names if m not in result]
        if missing:
            raise TrialResultError(
                f"the trial result lacks metric(s) {missing}; it returned keys "
                f"{sorted(map(str, result))}, and the study needs {list(self.metric_names)}"
            )
        out: dict[str, Any] = {}
        for key, value in result.items():
            if not isinstance(key, str):
                raise TrialResultError(f"metric names must be strings, got {key!r}")
            if key in self.metric_names:
                if not _is_number(value) or not math.isfinite(float(value)):
                    raise TrialResultError(
                        f"metric {key!r} must be a finite number, got {_short(value)}"
                    )
                out[key] = float(value)
            elif _is_number(value):
                v = float(value)
                out[key] = v if math.isfinite(v) else None  # JSON has no NaN
            else:
                try:
                    json.dumps(value, allow_nan=False)
                except (TypeError, ValueError):
                    raise TrialResultError(
                        f"metric {key!r} must be a number or a JSON value (str, bool, list, "
                        f"dict), got {type(value).__name__} {_short(value)}"
                    ) from None
                out[key] = value
        self.check_held_out(out)
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "objectives": {
                n: {"direction": o.direction, "threshold": o.threshold} for n, o in self.objectives
            },
            "constraints": {c.metric: [c.op, c.bound] for c in self.constraints},
        }
        if self.held_out:  # (files written before held-out metrics existed lack the key)
            out["held_out"] = dict(self.held_out)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Objectives:
        objs = {
            n: Objective(d["direction"], threshold=d.get("threshold"))
            for n, d in data["objectives"].items()
        }
        cons = {m: tuple(v) for m, v in data.get("constraints", {}).items()}
        return cls.parse(objs, cons or None, data.get("held_out") or None)

    def check_held_out(self, result: Mapping[str, Any]) -> None:
        """Raise if a held-out metric in ``result`` is not a number (or None)."""
        for name, _ in self.held_out:
            v = result.get(name)
            if v is not None and not _is_number(v):
                raise TrialResultError(
                    f"held-out metric {name!r} must be a number, got {_short(v)}"
                )


def _parse_held_out(
    held_out: Mapping[str, str | None] | Iterable[str] | None,
    objectives: list[tuple[str, Objective]],
    constraints: list[Constraint],
) -> tuple[tuple[str, str | None], ...]:
    if held_out is None:
        return ()
    if isinstance(held_out, str) or not isinstance(held_out, (Mapping, Iterable)):
        raise ConfigError(
            "held_out must map held-out metrics to the objective each mirrors, e.g. "
            f"{{'test_loss': 'val_loss'}}, or list them; got {held_out!r}"
        )
    pairs = held_out.items() if isinstance(held_out, Mapping) else ((m, None) for m in held_out)
    names = [n for n, _ in objectives]
    used = set(names) | {c.metric for c in constraints}
    out: list[tuple[str, str | None]] = []
    for metric, mirrors in pairs:
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"held-out metric names must be non-empty strings, got {metric!r}")
        if metric in used:
            raise ConfigError(
                f"held-out metric {metric!r} is an objective or a constrained metric of this "
                "study; a held-out metric must never reach the optimizer: report it under "
                "another name"
            )
        if mirrors is not None and mirrors not in names:
            raise ConfigError(
                f"held-out metric {metric!r} mirrors {mirrors!r}, which is not an objective; "
                f"choose from {names} (or None)"
            )
        if metric in dict(out):
            raise ConfigError(f"held-out metric {metric!r} is given twice")
        out.append((metric, mirrors))
    return tuple(out)


def _parse_constraint(metric: Any, spec: Any) -> Constraint:
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"constraint names must be non-empty metric names, got {metric!r}")
    ok = (
        isinstance(spec, (tuple, list))
        and len(spec) == 2
        and spec[0] in _OPS
        and _is_number(spec[1])
        and math.isfinite(float(spec[1]))
    )
    if not ok:
        raise ConfigError(
            f"constraint {metric!r}: expected ('<=', bound) or ('>=', bound) with a finite "
            f"number, got {spec!r}"
        )
    return Constraint(metric, spec[0], float(spec[1]))


def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, float)):
        return True
    # numpy and torch scalars (but not their bools)
    if not (hasattr(x, "item") and getattr(x, "ndim", 1) == 0):
        return False
    item = x.item()
    return isinstance(item, (int, float)) and not isinstance(item, bool)


def _short(x: Any, limit: int = 80) -> str:
    r = repr(x)
    return r if len(r) <= limit else r[: limit - 3] + "..."
