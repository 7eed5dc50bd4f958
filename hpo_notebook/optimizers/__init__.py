"""Optimizers: pure functions of a study's history that propose new points.

``make_optimizer`` resolves what users pass as ``Study(optimizer=...)``.
"""

from __future__ import annotations

from hpo_notebook.exceptions import ConfigError
from hpo_notebook.optimizers.base import History, Optimizer, Proposal, Suggestion
from hpo_notebook.optimizers.random import SobolSearch

__all__ = ["History", "Optimizer", "Proposal", "SobolSearch", "Suggestion", "make_optimizer"]


def make_optimizer(spec: str | Optimizer | None) -> Optimizer:
    """An optimizer from a name (``"qLogNEHVI"``, ``"qLogEHVI"``, ``"sobol"``, ...) or an
    instance that has ``name`` and ``suggest``.

    Raises:
        ConfigError: unknown name or an object without ``suggest``.
    """
    if spec is None:
        spec = "qLogNEHVI"
    if isinstance(spec, str):
        if spec.lower() in ("sobol", "random", "quasi-random"):
            return SobolSearch()
        from hpo_notebook.optimizers.botorch.adapter import BoTorchOptimizer

        return BoTorchOptimizer(spec)
    if isinstance(spec, Optimizer):
        return spec
    raise ConfigError(
        f"optimizer must be a name such as 'qLogNEHVI', 'qLogEHVI' or 'sobol', or an object "
        f"with name and suggest(...), got {spec!r}"
    )
