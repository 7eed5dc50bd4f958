"""Execution: where trial functions run. Only ``execution/dask.py`` knows Dask."""

from hpo_notebook.execution.base import Executor, ReportArrived, TrialEnded, TrialSpec

__all__ = ["Executor", "ReportArrived", "TrialEnded", "TrialSpec"]
