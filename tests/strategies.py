"""Hypothesis strategies for search spaces and parameter assignments, in one module.

Bounds are kept to magnitudes a real search space uses (|x| <= 1e6, log ranges within
[1e-8, 1e8]); the float-overflow corner (``Float(-1e308, 1e308)``) is tested on its own in
``test_space.py``.

Example:
    >>> from hypothesis import given, strategies as st
    >>> @given(st.data())
    ... def test_roundtrip(data):
    ...     space = data.draw(spaces())
    ...     params = data.draw(params_for(space))
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from hpo_notebook.space import Choice, Float, Int, Space

LINEAR_BOUND = 1e6
LOG_LOW, LOG_HIGH = 1e-8, 1e8
INT_BOUND = 1000
INT_LOG_HIGH = 10**6


def option_key(value: Any) -> tuple[str, Any]:
    """Identity of a Choice option: ``1`` and ``1.0`` are the same option, ``True`` is not."""
    return ("bool", value) if isinstance(value, bool) else ("value", value)


def _sorted_distinct(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, Any]]:
    return (
        st.tuples(elements, elements)
        .filter(lambda ab: ab[0] != ab[1])
        .map(lambda ab: (min(ab), max(ab)))
    )


def _finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


@st.composite
def floats(draw: st.DrawFn, log: bool | None = None) -> Float:
    """A valid ``Float``; bounds are floats or ints; ``log`` drawn unless given."""
    if log is None:
        log = draw(st.booleans())
    if log:
        elems = _finite(LOG_LOW, LOG_HIGH) | st.integers(1, int(LOG_HIGH))
    else:
        elems = _finite(-LINEAR_BOUND, LINEAR_BOUND) | st.integers(-INT_BOUND, INT_BOUND)
    low, high = draw(_sorted_distinct(elems))
    return Float(low, high, log=log)


@st.composite
def ints(draw: st.DrawFn, log: bool | None = None) -> Int:
    """A valid ``Int``; bounds are ints, or occasionally integral floats such as ``3.0``."""
    if log is None:
        log = draw(st.booleans())
    elems = st.integers(1, INT_LOG_HIGH) if log else st.integers(-INT_BOUND, INT_BOUND)
    low, high = draw(_sorted_distinct(elems))
    if draw(st.integers(0, 9)) == 0:
        low, high = float(low), float(high)
    return Int(low, high, log=log)


#: Every kind of value a Choice may hold.
option_values: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=8),
    st.integers(-100, 100),
    _finite(-1e12, 1e12),
    st.booleans(),
    st.none(),
)


def choices(min_size: int = 1, max_size: int = 6) -> st.SearchStrategy[Choice]:
    """A valid ``Choice`` (one option allowed) with options of mixed types."""
    return st.lists(option_values, min_size=min_size, max_size=max_size, unique_by=option_key).map(
        Choice
    )


def params() -> st.SearchStrategy[Float | Int | Choice]:
    """Any valid parameter definition."""
    return st.one_of(floats(), ints(), choices())


def spaces(max_size: int = 5) -> st.SearchStrategy[Space]:
    """A valid ``Space`` of 1 to ``max_size`` parameters (names need not be identifiers)."""
    return st.dictionaries(
        st.text(min_size=1, max_size=10), params(), min_size=1, max_size=max_size
    ).map(Space)


def value_for(param: Float | Int | Choice) -> st.SearchStrategy[Any]:
    """A value the parameter allows."""
    if isinstance(param, Float):
        return _finite(param.low, param.high)
    if isinstance(param, Int):
        return st.integers(int(param.low), int(param.high))
    return st.sampled_from(param.options)


def params_for(space: Space) -> st.SearchStrategy[dict[str, Any]]:
    """A full valid assignment for ``space``: use it as ``data.draw(params_for(space))``."""
    return st.fixed_dictionaries({name: value_for(p) for name, p in space.items()})


@st.composite
def spaces_and_params(draw: st.DrawFn, max_size: int = 5) -> tuple[Space, dict[str, Any]]:
    """A space and a valid assignment for it."""
    space = draw(spaces(max_size))
    return space, draw(params_for(space))
