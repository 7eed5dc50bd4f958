"""BoTorch-based Bayesian optimization (torch and BoTorch load on first use)."""

from hpo_notebook.optimizers.botorch.adapter import BoTorchOptimizer

__all__ = ["BoTorchOptimizer"]
