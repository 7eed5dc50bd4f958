"""Pruners: stop trials early from their intermediate reports.

``ASHA`` (one metric), ``MultiObjectiveASHA`` (every objective), ``Median``; ``pruner=None``
never stops a trial. All are pure (see ``pruners/base.py`` for the contract).
"""

from typing import Any

from hpo_notebook.pruners.asha import ASHA
from hpo_notebook.pruners.base import Decision, Pruner, ReportHistory
from hpo_notebook.pruners.median import Median
from hpo_notebook.pruners.moasha import MultiObjectiveASHA

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
    """Rebuild a built-in pruner from its ``to_json()`` (None stays None)."""
    if data is None:
        return None
    kwargs = dict(data)
    cls = _TYPES.get(kwargs.pop("type", None))
    return None if cls is None else cls(**kwargs)
