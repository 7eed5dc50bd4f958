"""qLogEHVI against the model's mean front, with pending points believed at their mean.

On a large study the model sees a subset of the observations, and qLogNEHVI's baseline is
a few dozen points spread along the front (``OptimizeSettings.subset_baseline``): each MC
sample decomposes its own front, so the cost grows with the baseline. A front of hundreds
of points is then known to the acquisition only through those few, and the gaps between
them look open: on DTLZ2 (2 objectives) the subset path stalled at 300 evaluations while
the exact GP went on improving.

:class:`BelieverLogEHVI` instead decomposes one front for all samples: the model's
posterior mean at many best-ranked observations (all of the front up to a thousand
points). Its cost grows with the boxes of that one front, not with samples x baseline.
Pending points (running trials and the batch's earlier points) would make BoTorch's
qLogEHVI evaluate every subset of candidates and pending points together
(inclusion-exclusion over 2^(q+p) terms: 18 s for a batch with a few pending points at
1,000 observations). Here a pending point joins the front at its posterior mean instead
(the "Kriging believer" of Ginsbourger et al., 2010) and the boxes are recomputed once per
point of a sequential batch: an approximation that ignores how uncertain the pending
outcome is, which matters least where the model has seen hundreds of nearby points.

Example::

    >>> import torch
    >>> from botorch.models import SingleTaskGP
    >>> from botorch.sampling import SobolQMCNormalSampler
    >>> X = torch.rand(20, 2, dtype=torch.float64)
    >>> model = SingleTaskGP(X, torch.stack([X.sum(-1), -X[:, 0]], -1))
    >>> acq = BelieverLogEHVI(
    ...     model, ref_point=torch.tensor([-1.0, -2.0], dtype=torch.float64), X_front=X,
    ...     sampler=SobolQMCNormalSampler(torch.Size([16]), seed=0))
    >>> boxes = acq.cell_lower_bounds.shape[0]
    >>> acq.set_X_pending(torch.rand(3, 2, dtype=torch.float64))
    >>> acq.X_pending is None  # believed: they are part of the front now
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from botorch.acquisition.multi_objective.logei import qLogExpectedHypervolumeImprovement
from torch import Tensor

from hpo_notebook.optimizers.botorch.boxes import ExactPartitioning, log_qehvi_one_point


class BelieverLogEHVI(qLogExpectedHypervolumeImprovement):
    """qLogEHVI whose front is the posterior mean at ``X_front`` and whose pending points
    join that front at their posterior mean (see the module docstring).

    Args:
        model: the fitted model (outcomes in the maximization frame).
        ref_point: the reference point of the objectives.
        X_front: points whose posterior mean makes the front (dominated and infeasible
            means are left out).
        sampler: the MC sampler of the candidates' outcomes.
        objective: picks the objectives from the model's outcomes (None: all of them).
        constraints: outcome constraints (``<= 0`` is feasible), as BoTorch takes them.
        X_pending: points already proposed or running.
    """

    def __init__(
        self,
        model: Any,
        ref_point: Tensor,
        X_front: Tensor,
        sampler: Any,
        objective: Any = None,
        constraints: Sequence[Callable[[Tensor], Tensor]] | None = None,
        X_pending: Tensor | None = None,
    ) -> None:
        self.__dict__["_believing"] = False  # BoTorch's __init__ calls set_X_pending(None)
        pick = objective if objective is not None else (lambda Y: Y)
        self.__dict__["_pick"] = pick
        self.__dict__["_cons"] = list(constraints or [])
        front = self._believed(model, X_front, pick, self.__dict__["_cons"], len(ref_point))
        super().__init__(
            model,
            ref_point=ref_point,
            partitioning=ExactPartitioning(ref_point=ref_point, Y=front),
            sampler=sampler,
            objective=objective,
            constraints=constraints,
        )
        self.__dict__["_front"] = front
        self.__dict__["_believing"] = True
        self.set_X_pending(X_pending)

    @staticmethod
    def _believed(
        model: Any, X: Tensor, pick: Callable[[Tensor], Tensor], cons: list[Any], m: int
    ) -> Tensor:
        """The objectives of the feasible posterior means at ``X`` (``k x m``)."""
        if not len(X):
            return torch.empty(0, m, dtype=X.dtype, device=X.device)
        with torch.no_grad():
            mean = model.posterior(X).mean
        feasible = torch.ones(len(mean), dtype=torch.bool, device=mean.device)
        for c in cons:
            feasible &= c(mean) <= 0
        return pick(mean)[feasible]

    def _compute_log_qehvi(self, samples: Tensor, X: Tensor | None = None) -> Any:
        one = log_qehvi_one_point(self, samples, X)
        return super()._compute_log_qehvi(samples, X) if one is None else one

    def set_X_pending(self, X_pending: Tensor | None = None) -> None:
        """Put the pending points' posterior means into the front and recompute its boxes
        (``X_pending`` stays None: the candidates are judged against the new front)."""
        super().set_X_pending(None)
        if not self._believing:
            return
        front = self._front
        if X_pending is not None and len(X_pending):
            m = len(self.ref_point)
            pend = self._believed(self.model, X_pending, self._pick, self._cons, m)
            front = torch.cat([front, pend])
        bounds = ExactPartitioning(ref_point=self.ref_point, Y=front).get_hypercell_bounds()
        self.cell_lower_bounds = bounds[0]
        self.cell_upper_bounds = bounds[1]
