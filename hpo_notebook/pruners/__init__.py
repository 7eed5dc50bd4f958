"""Pruners: stop trials early from their intermediate reports.

``ASHA`` (one metric), ``MultiObjectiveASHA`` (every objective), ``Median``; ``pruner=None``
never stops a trial. All are pure (see ``pruners/base.py`` for the contract).
"""

from typing import Any

from hpo_notebook.exceptions import StorageError
from hpo_notebook.pruners.asha import ASHA
from hpo_notebook.pruners.base import Decision, Pruner
from hpo_notebook.pruners.median import Median
from hpo_notebook.pruners.moasha import MultiObjectiveASHA
from hpo_notebook.reports import ReportHistory

__all__ = [
    "ASHA",
    "Decision",
    "Median",
    "MultiObjectiveASHA",
    "Pruner",
    "ReportHistory",
    "pruner_from_json",
]

_TYPES = {"ASHA": ASHA, "MultiObjectiveASHA": MultiObjectiveASHA, "Median": Median}


def pruner_from_json(data: dict[str, Any] | None) -> Pruner | None:
    """Rebuild a built-in pruner from its ``to_json()`` (None stays None).

    Raises:
        StorageError: an unknown pruner type or settings it does not take (a file written by
            another version, or edited): dropping it would run the study without pruning.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        raise StorageError(f"the stored pruner must be a JSON object, got {data!r}")
    kwargs = dict(data)
    kind = kwargs.pop("type", None)
    if kind == "MultiObjectiveASHA":
        # written before keep_front existed (and became the default): it pruned without it
        kwargs.setdefault("keep_front", False)
    cls = _TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise StorageError(
            f"the stored pruner type {kind!r} is not one this version knows "
            f"({', '.join(_TYPES)}); pass pruner=... to load_study to choose one"
        )
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"the stored pruner {data!r} cannot be rebuilt: {exc}") from None
