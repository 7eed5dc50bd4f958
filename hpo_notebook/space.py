"""The search space: typed parameters, validation and the unit-cube encoding.

A :class:`Space` is an ordered mapping from parameter names to :class:`Float`, :class:`Int` or
:class:`Choice` definitions. It is the one place that knows how parameter values map to the
unit cube ``[0, 1]^d`` that the optimizers work in:

- ``Float``: linear (or logarithmic with ``log=True``) position between ``low`` and ``high``;
- ``Int``: the same, and decoding rounds to the nearest integer in the parameter's own scale;
- ``Choice``: option ``i`` of ``k`` sits at ``i / (k - 1)``; the optimizers treat it as an
  unordered category, the position only names it.

Example:
    >>> import hpo_notebook as hn
    >>> space = hn.Space(lr=hn.Float(1e-4, 1e-1, log=True), layers=hn.Int(1, 4),
    ...                  act=hn.Choice(["relu", "tanh"]))
    >>> space.to_unit({"lr": 1e-4, "layers": 4, "act": "tanh"})
    [0.0, 1.0, 1.0]
    >>> space.from_unit([1.0, 0.0, 0.0])
    {'lr': 0.1, 'layers': 1, 'act': 'relu'}
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpo_notebook.exceptions import SpaceError

#: Int parameters with more values than this are treated as continuous by the optimizer and
#: rounded when decoded, instead of listing every allowed value.
MAX_LISTED_INT_VALUES = 1000

_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_real(x: object) -> bool:
    """A real number (numpy scalars included), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, _np_bool_types()))


def _finite(x: object) -> bool:
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except (OverflowError, TypeError, ValueError):
        return False


def _np_bool_types() -> tuple[type, ...]:
    import sys

    np = sys.modules.get("numpy")
    return (np.bool_,) if np is not None else ()


def _position(low: float, high: float, log: bool, value: Any) -> float:
    """Where ``value`` lies between ``low`` (0) and ``high`` (1), linearly or in log scale."""
    v = float(value)
    if log:
        return (math.log(v) - math.log(low)) / (math.log(high) - math.log(low))
    return (v - low) / (high - low)


def _clip01(u: float) -> float:
    return 0.0 if u < 0.0 else 1.0 if u > 1.0 else float(u)


@dataclass(frozen=True)
class Float:
    """A real-valued parameter in ``[low, high]``, optionally searched on a log scale.

    Args:
        low: the smallest value (> 0 with ``log=True``).
        high: the largest value (> ``low``).
        log: search on a log scale (for learning rates, regularization strengths, ...).

    Example:
        >>> Float(1e-5, 1e-1, log=True)
        Float(low=1e-05, high=0.1, log=True)
    """

    low: float
    high: float
    log: bool = False

    kind = "float"

    def _check_definition(self, name: str) -> None:
        _check_bounds("Float", name, self.low, self.high, self.log, integral=False)

    def to_unit(self, value: Any) -> float:
        """Position of ``value`` in ``[0, 1]``."""
        return _position(self.low, self.high, self.log, value)

    def from_unit(self, u: float) -> float:
        """The value at position ``u`` (clipped to ``[0, 1]``)."""
        u = _clip01(u)
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(v, float(self.low)), float(self.high))

    def from_uniform(self, u: float) -> float:
        """The value a uniform draw ``u`` in ``[0, 1)`` stands for (used by quasi-random search)."""
        return self.from_unit(u)

    def check_value(self, name: str, value: Any) -> float:
        """Return ``value`` as a float, or raise :class:`SpaceError` if it is not allowed."""
        if not _is_real(value) or not _finite(value):
            raise SpaceError(f"Float {name!r}: value must be a finite number, got {value!r}")
        if not self.low <= value <= self.high:
            raise SpaceError(
                f"Float {name!r}: value must lie in [{self.low}, {self.high}], got {value!r}"
            )
        return float(value)

    def to_json(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]`` (both included), optionally on a log scale.

    Args:
        low: the smallest value (> 0 with ``log=True``).
        high: the largest value (> ``low``).
        log: search on a log scale (for widths, batch sizes, ...).

    Example:
        >>> Int(16, 512, log=True)
        Int(low=16, high=512, log=True)
    """

    low: int
    high: int
    log: bool = False

    kind = "int"

    def _check_definition(self, name: str) -> None:
        _check_bounds("Int", name, self.low, self.high, self.log, integral=True)

    @property
    def n_values(self) -> int:
        """How many integers the parameter can take."""
        return int(self.high) - int(self.low) + 1

    def to_unit(self, value: Any) -> float:
        """Position of ``value`` in ``[0, 1]`` (``low`` at 0, ``high`` at 1)."""
        return _position(self.low, self.high, self.log, value)

    def from_unit(self, u: float) -> int:
        """The integer nearest to position ``u``, measured in the parameter's own scale."""
        u = _clip01(u)
        if self.log:
            x = math.log(self.low) + u * (math.log(self.high) - math.log(self.low))
            lo = max(int(self.low), math.floor(math.exp(x)))
            hi = min(int(self.high), lo + 1)
            return lo if abs(math.log(lo) - x) <= abs(math.log(hi) - x) else hi
        return min(int(self.high), max(int(self.low), round(self.low + u * (self.high - self.low))))

    def from_uniform(self, u: float) -> int:
        """Each integer gets an equal share of ``[0, 1)`` (an equal share of the log range with
        ``log=True``), so quasi-random search does not under-sample the two ends."""
        u = _clip01(u)
        if self.log:
            span = math.log(self.high + 1) - math.log(self.low)
            v = math.floor(math.exp(math.log(self.low) + u * span))
            return min(int(self.high), max(int(self.low), v))  # exp(log(x)) may be x - 1e-15
        return min(int(self.high), int(self.low) + math.floor(u * self.n_values))

    def unit_values(self) -> list[float] | None:
        """Unit positions of every allowed integer, or None when there are too many to list."""
        if self.n_values > MAX_LISTED_INT_VALUES:
            return None
        return [self.to_unit(v) for v in range(int(self.low), int(self.high) + 1)]

    def check_value(self, name: str, value: Any) -> int:
        """Return ``value`` as an int, or raise :class:`SpaceError` if it is not allowed."""
        integral_float = _is_real(value) and _finite(value) and float(value).is_integer()
        if integral_float and not isinstance(value, numbers.Integral):
            value = int(value)
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise SpaceError(f"Int {name!r}: value must be an integer, got {value!r}")
        if not self.low <= value <= self.high:
            raise SpaceError(
                f"Int {name!r}: value must lie in [{self.low}, {self.high}], got {value!r}"
            )
        return int(value)

    def to_json(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True, eq=False)
class Choice:
    """An unordered categorical parameter taking one of ``options``.

    Options must be distinct JSON scalars (str, int, float, bool or None) so that a study
    file can store them without pickling.

    Given a dict instead of a list, each option may carry its own :class:`Space` of
    parameters that exist only when the choice takes that option (``None``: no parameters
    of its own). Sub-spaces nest to any depth; every parameter name must be unique in the
    whole tree, so the trial function's ``params`` stay a flat dict of the parameters that
    are active.

    Args:
        options: the values, a list or tuple (their order does not matter to the optimizer),
            or a dict of the values to their sub-spaces.

    Example:
        >>> Choice(["adam", "sgd"])
        Choice(options=('adam', 'sgd'))
        >>> opt = Choice({"sgd": Space(momentum=Float(0, 0.99)), "adam": None})
        >>> opt.options, opt.branch("sgd").names
        (('sgd', 'adam'), ('momentum',))
    """

    options: tuple[Any, ...] = field()
    branches: tuple[Space | None, ...] = field(default=())

    kind = "choice"

    def __init__(self, options: Sequence[Any] | Mapping[Any, Space | None]) -> None:
        branches: tuple[Space | None, ...] = ()
        if isinstance(options, Mapping):
            subs = []
            for opt, sub in options.items():
                if isinstance(sub, Mapping) and not isinstance(sub, Space):
                    sub = Space(sub)
                if sub is not None and not isinstance(sub, Space):
                    raise SpaceError(
                        f"Choice: option {opt!r} must map to an hn.Space of the parameters it "
                        f"brings, or None for none, got {type(sub).__name__} {sub!r}"
                    )
                subs.append(sub)
            if any(sub is not None for sub in subs):
                branches = tuple(subs)
            options = list(options.keys())
        elif isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
            raise SpaceError(
                f"Choice: options must be a list or tuple of values (or a dict of values to "
                f"sub-spaces), got {options!r}"
            )
        object.__setattr__(self, "options", tuple(options))
        object.__setattr__(self, "branches", branches)

    def __repr__(self) -> str:
        if not self.branches:
            return f"Choice(options={self.options!r})"
        inner = ", ".join(f"{o!r}: {b!r}" for o, b in zip(self.options, self.branches))
        return f"Choice({{{inner}}})"

    def branch(self, option: Any) -> Space | None:
        """The sub-space that ``option`` brings (None if it brings no parameters)."""
        i = self.index(option)
        return self.branches[i] if self.branches else None

    def _check_definition(self, name: str) -> None:
        if not self.options:
            raise SpaceError(f"Choice {name!r}: options must not be empty")
        for opt in self.options:
            if not isinstance(opt, _JSON_SCALARS) or (
                isinstance(opt, float) and not math.isfinite(opt)
            ):
                raise SpaceError(
                    f"Choice {name!r}: options must be str, int, float, bool or None "
                    f"(stored as JSON), got {opt!r} of type {type(opt).__name__}"
                )
        keys = [_option_key(o) for o in self.options]
        if len(set(keys)) != len(keys):
            dupes = sorted({repr(o) for o, k in zip(self.options, keys) if keys.count(k) > 1})
            raise SpaceError(
                f"Choice {name!r}: options must be unique, got duplicates {', '.join(dupes)}"
            )

    def __eq__(self, other: object) -> bool:
        # 1 == True in Python, but they are different options here.
        return (
            isinstance(other, Choice)
            and [_option_key(o) for o in self.options] == [_option_key(o) for o in other.options]
            and self.branches == other.branches
        )

    def __hash__(self) -> int:
        return hash(tuple(_option_key(o) for o in self.options))

    @property
    def n_values(self) -> int:
        return len(self.options)

    def index(self, value: Any) -> int:
        key = _option_key(value)
        for i, opt in enumerate(self.options):
            if _option_key(opt) == key:
                return i
        raise ValueError(value)

    def to_unit(self, value: Any) -> float:
        i = self.index(value)
        return 0.0 if len(self.options) == 1 else i / (len(self.options) - 1)

    def from_unit(self, u: float) -> Any:
        if len(self.options) == 1:
            return self.options[0]
        return self.options[round(_clip01(u) * (len(self.options) - 1))]

    def from_uniform(self, u: float) -> Any:
        return self.options[min(len(self.options) - 1, math.floor(_clip01(u) * len(self.options)))]

    def unit_values(self) -> list[float]:
        return [self.to_unit(o) for o in self.options]

    def check_value(self, name: str, value: Any) -> Any:
        try:
            return self.options[self.index(value)]
        except ValueError:
            raise SpaceError(
                f"Choice {name!r}: value must be one of {list(self.options)!r}, got {value!r}"
            ) from None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "choice", "options": list(self.options)}
        if self.branches:
            # JSON object keys are strings; options are not, so branches line up with options
            out["branches"] = [None if b is None else b.to_json() for b in self.branches]
        return out


def _option_key(value: Any) -> tuple[str, Any]:
    # True == 1 in Python; keep them apart so Choice([1, True]) is two options.
    return (type(value).__name__ if isinstance(value, bool) else "value", value)


Param = Float | Int | Choice
_PARAM_TYPES = (Float, Int, Choice)


def _check_bounds(kind: str, name: str, low: Any, high: Any, log: Any, integral: bool) -> None:
    for label, v in (("low", low), ("high", high)):
        if not _is_real(v) or not _finite(v):
            raise SpaceError(f"{kind} {name!r}: {label} must be a finite number, got {label}={v!r}")
        if integral and not float(v).is_integer():
            raise SpaceError(f"{kind} {name!r}: {label} must be an integer, got {label}={v!r}")
    if not isinstance(log, bool):
        raise SpaceError(f"{kind} {name!r}: log must be True or False, got log={log!r}")
    if not low < high:
        raise SpaceError(f"{kind} {name!r}: low must be < high, got low={low!r}, high={high!r}")
    if not math.isfinite(float(high) - float(low)):
        raise SpaceError(
            f"{kind} {name!r}: high - low must be a finite float, got low={low!r}, high={high!r}"
        )
    if log and low <= 0:
        raise SpaceError(f"{kind} {name!r}: log=True needs low > 0, got low={low!r}")


#: The unit coordinate an inactive parameter (one whose Choice took another option) is
#: encoded at. The optimizers do not read meaning into it: they see which branch a point is in.
INACTIVE_UNIT = 0.5


class Space(Mapping[str, Param]):
    """An ordered set of named parameters, flat or a tree.

    A :class:`Choice` given a dict of options to sub-spaces makes the space conditional: a
    sub-space's parameters are active only while the choice takes that option. The space
    then maps every name of the tree to its parameter (a choice's sub-parameters right after
    it), ``dim`` counts them all, and an assignment (a trial's ``params``) holds the active
    ones only.

    Args:
        params: a mapping of names to parameters (for names that are not identifiers).
        **kwargs: parameters by name.

    Raises:
        SpaceError: a definition breaks a rule; the message names the parameter.

    Example:
        >>> space = Space(lr=Float(1e-4, 1e-1, log=True), layers=Int(1, 4))
        >>> len(space), space.names
        (2, ('lr', 'layers'))
        >>> tree = Space(opt=Choice({"sgd": Space(momentum=Float(0, 0.99)), "adam": None}))
        >>> tree.names, tree.conditions
        (('opt', 'momentum'), {'momentum': ('opt', ('sgd',))})
        >>> tree.from_unit([1.0, 0.3])
        {'opt': 'adam'}
    """

    def __init__(self, params: Mapping[str, Param] | None = None, **kwargs: Param) -> None:
        merged: dict[str, Param] = {}
        if params is not None:
            if not isinstance(params, Mapping):
                raise SpaceError(f"Space: params must be a mapping of names, got {params!r}")
            merged.update(params.top_level() if isinstance(params, Space) else params)
        for name in kwargs:
            if name in merged:
                raise SpaceError(f"Space: parameter {name!r} is defined twice")
        merged.update(kwargs)
        if not merged:
            raise SpaceError("Space: define at least one parameter, e.g. Space(x=Float(0, 1))")
        flat: dict[str, Param] = {}
        conditions: dict[str, tuple[str, tuple[Any, ...]]] = {}
        for name, p in merged.items():
            if not isinstance(name, str) or not name:
                raise SpaceError(f"Space: parameter names must be non-empty strings, got {name!r}")
            if not isinstance(p, _PARAM_TYPES):
                raise SpaceError(
                    f"Space: parameter {name!r} must be Float, Int or Choice, "
                    f"got {type(p).__name__} {p!r}"
                )
            p._check_definition(name)
            _add(flat, conditions, name, p, None)
            if isinstance(p, Choice):
                for option, sub in zip(p.options, p.branches):
                    if sub is None:
                        continue
                    for sname, sp in sub.items():
                        _add(
                            flat,
                            conditions,
                            sname,
                            sp,
                            sub._conditions.get(sname, (name, (option,))),
                        )
        self._top = merged
        self._params = flat
        self._conditions = conditions

    # Mapping protocol
    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._top.items())
        return f"Space({inner})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and list(self._top.items()) == list(other._top.items())

    def __hash__(self) -> int:
        return hash(tuple(self._params.items()))

    def top_level(self) -> dict[str, Param]:
        """The parameters defined at the top (a conditional choice holds its sub-spaces)."""
        return dict(self._top)

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in order (every name of a conditional tree)."""
        return tuple(self._params)

    @property
    def dim(self) -> int:
        """Number of unit-cube coordinates (one per parameter)."""
        return len(self._params)

    @property
    def max_active(self) -> int:
        """The most parameters one assignment has active (``dim`` for a flat space).

        Example:
            >>> Space(opt=Choice({"a": Space(x=Float(0, 1), y=Float(0, 1)), "b": None})).max_active
            3
        """
        total = 0
        for p in self._top.values():
            total += 1
            if isinstance(p, Choice) and p.branches:
                total += max(0 if b is None else b.max_active for b in p.branches)
        return total

    @property
    def conditions(self) -> dict[str, tuple[str, tuple[Any, ...]]]:
        """For each conditional parameter: the choice it hangs on and the options that make it
        active (it is active when that choice is active and takes one of them)."""
        return dict(self._conditions)

    @property
    def is_conditional(self) -> bool:
        """Whether some parameter exists only for some options of a choice."""
        return bool(self._conditions)

    def _is_active(self, name: str, values: Mapping[str, Any]) -> bool:
        cond = self._conditions.get(name)
        if cond is None:
            return True
        parent, options = cond
        if parent not in values:  # the parent is inactive itself (checked before its children)
            return False
        key = _option_key(values[parent])
        return any(_option_key(o) == key for o in options)

    def active_names(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The parameters that are active given the choices in ``params``.

        Example:
            >>> tree = Space(opt=Choice({"sgd": Space(momentum=Float(0, 0.99)), "adam": None}))
            >>> tree.active_names({"opt": "sgd"}), tree.active_names({"opt": "adam"})
            (('opt', 'momentum'), ('opt',))
        """
        seen: dict[str, Any] = {}
        for name in self._params:
            if self._is_active(name, seen):
                seen[name] = params.get(name)
        return tuple(seen)

    def _where(self, name: str) -> str:
        cond = self._conditions.get(name)
        if cond is None:
            return ""
        parent, options = cond
        shown = options[0] if len(options) == 1 else list(options)
        word = "=" if len(options) == 1 else " in "
        return f"{parent}{word}{shown!r}"

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check a full parameter assignment and return it in canonical types and order.

        In a conditional space the assignment holds the active parameters; an inactive one may
        be left out or given as None or NaN (as ``trials_frame()`` shows it).

        Raises:
            SpaceError: a name is missing or unknown, a value is out of its range, or an
                inactive parameter has a value.
        """
        if not isinstance(params, Mapping):
            raise SpaceError(f"params must be a mapping of parameter names, got {params!r}")
        unknown = [n for n in params if n not in self._params]
        out: dict[str, Any] = {}
        missing: list[str] = []
        for name, p in self._params.items():
            if not self._is_active(name, out):
                if name in params and not _is_absent(params[name]):
                    raise SpaceError(
                        f"parameter {name!r} is inactive here: it exists only when "
                        f"{self._where(name)}; leave it out (got {name}={params[name]!r})"
                    )
                continue
            if name not in params or (name in self._conditions and _is_absent(params[name])):
                missing.append(name)
                continue
            out[name] = p.check_value(name, params[name])
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if unknown:
                parts.append(f"unknown {unknown}")
            expected = list(self.active_names(out)) if self._conditions else list(self._params)
            raise SpaceError(
                f"params do not match the space ({'; '.join(parts)}); expected exactly {expected}"
            )
        return out

    def check_widening(self, wider: Space) -> None:
        """Check that ``wider`` holds every value of this space: the same parameters in the
        same order and of the same kinds (and scales), each range or set of options the same
        or larger (what a study may continue with, its past trials kept).

        Raises:
            SpaceError: naming the first parameter that ``wider`` narrows or changes.

        Example:
            >>> Space(x=Float(0, 1)).check_widening(Space(x=Float(-1, 2)))
        """
        if self.names != wider.names:
            raise SpaceError(
                f"a widened space must have the same parameters in the same order: "
                f"{list(self.names)}, got {list(wider.names)}"
            )
        for name in self.names:
            old, new = self[name], wider[name]
            if type(old) is not type(new) or getattr(old, "log", None) != getattr(new, "log", None):
                raise SpaceError(f"parameter {name!r}: {old!r} cannot become {new!r}")
            if isinstance(old, Choice):
                lost = [o for o in old.options if o not in new.options]
                if lost:
                    raise SpaceError(f"parameter {name!r}: the wider space drops options {lost}")
            elif new.low > old.low or new.high < old.high:  # type: ignore[union-attr]
                raise SpaceError(f"parameter {name!r}: {new!r} does not contain the range {old!r}")
            if self._where(name) != wider._where(name):
                raise SpaceError(
                    f"parameter {name!r}: a widened space must keep when it is active "
                    f"({self._where(name) or 'always'}), got {wider._where(name) or 'always'}"
                )

    def to_unit(self, params: Mapping[str, Any]) -> list[float]:
        """Encode a parameter assignment as a point of the unit cube (an inactive parameter
        at :data:`INACTIVE_UNIT`)."""
        checked = self.validate(params)
        return [
            p.to_unit(checked[n]) if n in checked else INACTIVE_UNIT
            for n, p in self._params.items()
        ]

    def from_unit(self, u: Sequence[float]) -> dict[str, Any]:
        """Decode a point of the unit cube (values are clipped and rounded as needed); the
        coordinates of inactive parameters are ignored."""
        return self._decode(u, "from_unit")

    def from_uniform(self, u: Sequence[float]) -> dict[str, Any]:
        """Decode a uniform draw so that every integer and option is equally likely."""
        return self._decode(u, "from_uniform")

    def _decode(self, u: Sequence[float], how: str) -> dict[str, Any]:
        if len(u) != self.dim:
            raise SpaceError(f"expected a point with {self.dim} coordinates, got {len(u)}")
        out: dict[str, Any] = {}
        for (n, p), x in zip(self._params.items(), u):
            if self._is_active(n, out):
                out[n] = getattr(p, how)(float(x))
        return out

    def sobol(self, n: int, seed: int, skip: int = 0) -> list[dict[str, Any]]:
        """``n`` points of a scrambled Sobol sequence, starting at index ``skip``.

        The same ``seed`` and index always give the same point, so a study that resumes draws
        the points it would have drawn.
        """
        import warnings

        lock, engine = _sobol_engine(self.dim, seed)
        with lock, warnings.catch_warnings():
            # Points are drawn a few at a time by design; balance over powers of 2 is moot.
            warnings.filterwarnings("ignore", message=".*balance properties of Sobol")
            if engine.num_generated != skip:
                engine.reset()
                if skip:
                    engine.fast_forward(skip)
            rows = engine.random(n)
        return [self.from_uniform(row) for row in rows]

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable description (see :meth:`from_json`)."""
        return {n: p.to_json() for n, p in self._top.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Space:
        """Rebuild a space from :meth:`to_json` output (a dict or its JSON text)."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, Mapping):
            raise SpaceError(f"a stored space must be a JSON object, got {data!r}")
        params: dict[str, Param] = {}
        for name, d in data.items():
            t = d.get("type") if isinstance(d, Mapping) else None
            if t == "float":
                params[name] = Float(d["low"], d["high"], log=d.get("log", False))
            elif t == "int":
                params[name] = Int(d["low"], d["high"], log=d.get("log", False))
            elif t == "choice":
                branches = d.get("branches")
                if branches is None:
                    params[name] = Choice(d["options"])
                elif not isinstance(branches, list) or len(branches) != len(d["options"]):
                    raise SpaceError(
                        f"parameter {name!r}: stored branches must be a list with one entry "
                        f"per option ({len(d['options'])}), got {branches!r}"
                    )
                else:
                    params[name] = Choice(
                        {
                            o: None if b is None else cls.from_json(b)
                            for o, b in zip(d["options"], branches)
                        }
                    )
            else:
                raise SpaceError(f"parameter {name!r}: unknown type {t!r} in stored space")
        return cls(params)


def _is_absent(value: Any) -> bool:
    """None or NaN: how an inactive parameter may be given (a DataFrame's missing value)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _add(
    flat: dict[str, Param],
    conditions: dict[str, tuple[str, tuple[Any, ...]]],
    name: str,
    p: Param,
    cond: tuple[str, tuple[Any, ...]] | None,
) -> None:
    """Add one parameter of the tree; the same definition under several options of one
    choice is one parameter, active for each of them."""
    if name not in flat:
        flat[name] = p
        if cond is not None:
            conditions[name] = cond
        return
    old = conditions.get(name)
    if cond is not None and old is not None and old[0] == cond[0] and flat[name] == p:
        if old != cond:
            conditions[name] = (old[0], old[1] + tuple(o for o in cond[1] if o not in old[1]))
        return

    def where(c: tuple[str, tuple[Any, ...]] | None) -> str:
        return "at the top level" if c is None else f"under {c[0]}={c[1][0]!r}"

    raise SpaceError(
        f"Space: parameter {name!r} is defined twice ({where(old)} and {where(cond)}); names "
        "must be unique in the whole tree: give each its own name (e.g. 'sgd_lr'), or define "
        "it once at the top level if every option uses it"
    )


@functools.lru_cache(maxsize=16)
def _sobol_engine(dim: int, seed: int) -> tuple[threading.Lock, Any]:
    """One scrambled Sobol engine per dimension and seed (making one costs about a
    millisecond; a study draws a few points at a time, usually where the last draw ended)."""
    from scipy.stats import qmc

    return threading.Lock(), qmc.Sobol(d=dim, scramble=True, seed=seed)
