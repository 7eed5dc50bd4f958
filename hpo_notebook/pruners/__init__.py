"""Pruners: stop trials early from their intermediate reports.

``ASHA`` (one metric), ``MultiObjectiveASHA`` (every objective), ``Median``; ``pruner=None``
never stops a trial. All are pure (see ``pruners/base.py`` for the contract).
"""

from hpo_notebook.pruners.asha import ASHA
from hpo_notebook.pruners.base import Decision, Pruner, ReportHistory
from hpo_notebook.pruners.median import Median
from hpo_notebook.pruners.moasha import MultiObjectiveASHA

__all__ = ["ASHA", "Decision", "Median", "MultiObjectiveASHA", "Pruner", "ReportHistory"]
