"""BoTorch-based Bayesian optimization (torch and BoTorch load on first use)."""

from hpo_notebook.optimizers.botorch.adapter import BoTorchOptimizer
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings

__all__ = ["BoTorchOptimizer", "OptimizeSettings"]
