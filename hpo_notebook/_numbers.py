"""Checks of numeric arguments, shared by every module that takes them (a leaf module: it
imports only the exceptions, so pruners, optimizers and executors can use it)."""

from __future__ import annotations

from typing import Any

from hpo_notebook.exceptions import ConfigError


def positive_int(name: str, value: Any) -> int:
    """``value`` if it is an integer >= 1 (not a bool), else a ConfigError naming ``name``.

    Example:
        >>> positive_int("n_workers", 4)
        4
        >>> positive_int("n_workers", True)
        Traceback (most recent call last):
        ...
        hpo_notebook.exceptions.ConfigError: n_workers must be a positive integer, got True
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def positive_number(x: Any) -> bool:
    """Whether ``x`` is a real number > 0 (not a bool, not NaN)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 and x == x
