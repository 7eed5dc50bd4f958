"""How hard the Bayesian optimizer works per proposal (no torch import here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OptimizeSettings:
    """Effort spent fitting the model and optimizing the acquisition function.

    The defaults were chosen with ``benchmarks/sample_efficiency.py`` and
    ``benchmarks/suggest_latency.py`` (docs/benchmarks.md): they match the hypervolume of
    BoTorch's tutorial settings (10 restarts, 512 raw samples) and of Ax at about a fifth of
    the time. :meth:`thorough` spends about 1.7x more time for a somewhat better front on
    BraninCurrin. Sampling starting points around the best observations
    (``sample_around_best``) matters most: without it ZDT1's front stalled half a decade
    short.

    Attributes:
        num_restarts: starting points the acquisition optimizer refines.
        raw_samples: random points evaluated to choose the starting points.
        maxiter: iterations of each acquisition-optimizer run.
        mc_samples: Monte-Carlo samples of the acquisition function.
        sample_around_best: also draw raw samples around the best observations.
        fit_maxiter: iterations of the GP hyperparameter fit.
        maxiter_alternating: rounds of the mixed optimizer (Int and Choice parameters).
        torch_threads: torch threads while proposing (None: leave torch's setting alone).
    """

    num_restarts: int = 2
    raw_samples: int = 128
    maxiter: int = 100
    mc_samples: int = 64
    sample_around_best: bool = True
    fit_maxiter: int = 30
    maxiter_alternating: int = 8
    #: torch threads while proposing. One is fastest when trials load the same cores (the
    #: usual case on a local cluster): oversubscribed OpenMP threads were 10x slower here.
    torch_threads: int | None = 1

    @classmethod
    def thorough(cls) -> OptimizeSettings:
        """More restarts, raw samples, MC samples and fit iterations."""
        return cls(num_restarts=4, raw_samples=256, mc_samples=128, fit_maxiter=75)
