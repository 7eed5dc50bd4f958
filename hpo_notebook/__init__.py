"""hpo_notebook: live multi-objective Bayesian hyperparameter optimization for Jupyter.

Example:
    >>> import hpo_notebook as hn
    >>> space = hn.Space(lr=hn.Float(1e-4, 1e-1, log=True), layers=hn.Int(1, 4))
    >>> study = hn.Study(None, space, objectives={"loss": "min", "latency_ms": "min"})
    >>> study.name
    'study'

Importing this package stays light: torch, BoTorch, Dask and matplotlib load on first use.
"""

from __future__ import annotations

from hpo_notebook import events, stop
from hpo_notebook.checkpoints import Checkpoints
from hpo_notebook.exceptions import (
    ClusterLostError,
    ConfigError,
    HpoError,
    HpoWarning,
    Pruned,
    PruningGambleWarning,
    SpaceError,
    StorageError,
    StudyFailedError,
    StudyLockedError,
    TrialInterrupted,
    TrialResultError,
)
from hpo_notebook.execution.gpu import local_gpu_cluster
from hpo_notebook.execution.simulated import Preemptions, SimulatedCluster
from hpo_notebook.lineage import fingerprint
from hpo_notebook.objectives import Objective
from hpo_notebook.optimizers.botorch import BoTorchOptimizer, OptimizeSettings
from hpo_notebook.pruners import ASHA, Median, MultiObjectiveASHA
from hpo_notebook.space import Choice, Float, Int, Space
from hpo_notebook.study import Study, load_study
from hpo_notebook.trial import Trial, TrialContext, TrialState

__version__ = "0.1.0"

__all__ = [
    "ASHA",
    "BoTorchOptimizer",
    "Checkpoints",
    "Choice",
    "ClusterLostError",
    "ConfigError",
    "Float",
    "HpoError",
    "HpoWarning",
    "Int",
    "Median",
    "MultiObjectiveASHA",
    "Objective",
    "OptimizeSettings",
    "Preemptions",
    "Pruned",
    "PruningGambleWarning",
    "SimulatedCluster",
    "Space",
    "SpaceError",
    "StorageError",
    "Study",
    "StudyFailedError",
    "StudyLockedError",
    "Trial",
    "TrialContext",
    "TrialInterrupted",
    "TrialResultError",
    "TrialState",
    "__version__",
    "events",
    "fingerprint",
    "load_study",
    "local_gpu_cluster",
    "stop",
]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext hpo_notebook``: registers the ``%hpo`` / ``%%hpo`` magics."""
    from hpo_notebook.magics import HpoMagics

    ipython.register_magics(HpoMagics)  # type: ignore[attr-defined]


def __getattr__(name: str) -> object:
    # hn.plots loads matplotlib on first use only
    if name == "plots":
        import importlib

        return importlib.import_module("hpo_notebook.plots")
    raise AttributeError(f"module 'hpo_notebook' has no attribute {name!r}")
