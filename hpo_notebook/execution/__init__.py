"""Execution: where trial functions run. Only ``execution/dask.py`` knows Dask;
``execution/simulated.py`` runs trials in-process on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hpo_notebook.execution.base import Executor, ReportArrived, TrialEnded, TrialSpec

__all__ = ["Executor", "ReportArrived", "TrialEnded", "TrialSpec", "executor_for"]


def executor_for(
    cluster: Any,
    n_workers: int | None = None,
    resources: Mapping[str, float] | None = None,
    check_fn: Callable[[], None] | None = None,
) -> Executor:
    """The executor for what a user passed as ``cluster=``: an ``hn.SimulatedCluster`` runs
    trials in this process; anything else goes to Dask (None starts a LocalCluster of
    ``n_workers``). ``check_fn`` is called first for Dask (trial functions travel pickled).

    Raises:
        ConfigError: ``cluster`` or ``resources`` is not something an executor accepts.
    """
    from hpo_notebook.execution.simulated import SimulatedCluster, SimulatedExecutor

    if isinstance(cluster, SimulatedCluster):
        return SimulatedExecutor(cluster, resources)
    from hpo_notebook.execution.dask import DaskExecutor

    if check_fn is not None:
        check_fn()
    return DaskExecutor(cluster, n_workers, resources)
