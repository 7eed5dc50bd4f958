"""Argument checks for :class:`~hpo_notebook.study.Study`: each names the bad value and
what is allowed, before anything runs."""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from hpo_notebook._numbers import positive_int, positive_number
from hpo_notebook.exceptions import ConfigError, HpoWarning
from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers import Optimizer, make_optimizer
from hpo_notebook.pruners.base import Pruner


def check_fn(fn: Any) -> Callable[..., Any] | None:
    if fn is None:
        return None
    if not callable(fn):
        raise ConfigError(f"fn must be a function fn(params, trial), got {fn!r}")
    try:
        inspect.signature(fn).bind({}, None)
    except TypeError:
        raise ConfigError(
            f"fn must accept two arguments (params, trial); {getattr(fn, '__name__', fn)!r} "
            f"has signature {inspect.signature(fn)}"
        ) from None
    except ValueError:  # builtins without a signature: let them run
        pass
    return fn


#: a trial function that pickles to more than this many bytes gets a warning: it is sent to a
#: worker with every trial
LARGE_FUNCTION_BYTES = 10_000_000


def check_picklable(fn: Any) -> None:
    """Refuse a trial function that cannot travel to Dask workers (by cloudpickle, as Dask
    sends it), and warn when it pickles to more than :data:`LARGE_FUNCTION_BYTES`: it almost
    always captured a dataset, which would then travel with every trial."""
    import cloudpickle

    try:
        size = len(cloudpickle.dumps(fn))
    except Exception as exc:
        raise ConfigError(
            f"the trial function cannot be sent to Dask workers ({type(exc).__name__}: {exc}); "
            "make sure it does not capture open files, locks or clients"
        ) from None
    if size <= LARGE_FUNCTION_BYTES:
        return
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    warnings.warn(
        f"hpo_notebook: the trial function {name!r} pickles to {size / 1e6:.1f} MB and is sent "
        "to a worker with every trial: it captures data (a dataset in a global it uses or in "
        "a closure). Load the data inside the trial function, from a file or URL the workers "
        "can read, or send it to the workers once before the study: "
        "`client.publish_dataset(dataset=client.scatter(dataset, broadcast=True))`, and inside "
        "the trial `from distributed import get_client; "
        'dataset = get_client().get_dataset("dataset").result()`.',
        HpoWarning,
        stacklevel=1,
    )


def check_pruner(pruner: Any, objectives: Objectives) -> Pruner | None:
    """A copy of ``pruner`` bound to ``objectives`` (the caller's object is left as it was:
    one pruner object may serve several studies, each with its own objectives)."""
    if pruner is None:
        return None
    if not isinstance(pruner, Pruner):
        raise ConfigError(
            "pruner must be hn.ASHA(max_steps), hn.MultiObjectiveASHA(max_steps), hn.Median() "
            f"or None, got {pruner!r}"
        )
    pruner = copy.deepcopy(pruner)
    pruner.bind(objectives)
    return pruner


def pruner_json(pruner: Pruner | None) -> dict[str, Any] | None:
    to_json = getattr(pruner, "to_json", None)
    return None if to_json is None else to_json()


def check_share(x: Any) -> None:
    if not positive_number(x) or x > 1:
        raise ConfigError(f"max_failure_share must be in (0, 1], got {x!r}")


def check_n_trials(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"n_trials must be a non-negative integer, got {n!r}")
    return n


def check_timeout(name: str, x: Any) -> float | None:
    """A number of seconds > 0, or None (no limit)."""
    if x is None:
        return None
    if not positive_number(x) or x == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds or None, got {x!r}")
    return float(x)


def resolve_optimizer(optimizer: Any, n_initial: int | None) -> Optimizer:
    opt = make_optimizer(optimizer)
    if n_initial is not None:
        positive_int("n_initial", n_initial)
        if hasattr(opt, "n_initial"):
            opt = copy.copy(opt)  # the caller's optimizer object keeps its own setting
            opt.n_initial = n_initial
    return opt


def stderr_is_tty() -> bool:
    import sys

    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
