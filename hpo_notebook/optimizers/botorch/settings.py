"""How hard the Bayesian optimizer works per proposal (no torch import here)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: what ``OptimizeSettings.gp_prior`` accepts
GP_PRIORS = ("auto", "dim_scaled", "gamma", "hedge")

#: what ``OptimizeSettings.device`` accepts: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class OptimizeSettings:
    """Effort spent fitting the model and optimizing the acquisition function.

    The defaults were chosen on the benchmark suite (``benchmarks/suite.py``; the page
    "Search defaults and why" in the docs has the numbers) and timed with
    ``benchmarks/suggest_latency.py`` and ``benchmarks/three_objectives.py``. Sampling
    starting points around the best observations (``sample_around_best``) matters most among
    the effort settings: without it ZDT1's front stalled half a decade short.
    :meth:`thorough` spends about 2x more time per proposal.

    Attributes:
        num_restarts: starting points the acquisition optimizer refines.
        raw_samples: random points evaluated to choose the starting points.
        maxiter: iterations of each acquisition-optimizer run.
        mc_samples: Monte-Carlo samples of the acquisition function.
        sample_around_best: also draw raw samples around the best observations.
        fit_maxiter: iterations of the GP hyperparameter fit.
        maxiter_alternating: rounds of the mixed optimizer (Int and Choice parameters).
        torch_threads: torch threads while proposing (None: leave torch's setting alone).
        hv_alpha: approximation level of the hypervolume box decompositions with three or
            more objectives (0: exact, with ``boxes.ExactPartitioning``). 0.01 cost
            VehicleSafety 0.35 decades of hypervolume gap (0.52-0.56 against 0.17), and
            since the exact decompositions run in NumPy it is also the slower choice.
        mc_samples_many: Monte-Carlo samples of qLogNEHVI and qLogEHVI with three or more
            objectives (ParEGO, for four or more, uses ``mc_samples``), where each
            sample of qLogNEHVI has a box decomposition of its own: 64 samples took 1.1-1.5x
            the time of 32, with no difference in hypervolume on the suite's two noiseless
            3-objective problems (VehicleSafety, DTLZ2-6x3).
        winsorize: clip each objective's outliers on the bad side before fitting the model
            (see ``hpo_notebook.optimizers.botorch.outcomes``).
        gp_prior: the GP's hyperparameter priors: ``"dim_scaled"`` (BoTorch's default: an RBF kernel
            whose lengthscale prior grows with the number of inputs), ``"gamma"`` (BoTorch's before
            0.12: Matern-5/2, lengthscales near 0.5 of the unit cube whatever the dimension),
            ``"hedge"`` (whole batches from a model with each prior in turn; one point at a
            time, alternating), or ``"auto"``: ``"hedge"`` up to 10 parameters and 2 objectives,
            ``"dim_scaled"`` otherwise. Neither prior wins everywhere: on DTLZ2 with 6 inputs the
            dimension-scaled one proposed corners (gap after 48 evaluations -0.62 against -1.03 with
            Gamma priors), on ZDT1-4, VehicleSafety and ZDT3-10 the Gamma priors lost 0.2-0.8, and
            from 20 inputs on they were Sobol's level. The hedge kept most of both (-1.12 on
            DTLZ2-6, -0.62 against -0.54 at 48 and -1.01 against -0.62 at 100 on DTLZ2-6-noisy) for
            0.0-0.4 where the Gamma priors lost; at 20 inputs it still lost 1.4 and is not used
            there, nor with 3+ objectives (no gain on the suite, 1.3-1.8x the time per batch
            while each batch was split between both). Splitting each batch cost ZDT3-10 0.6
            decades at 100 evaluations against whole batches in turn (4 seeds), which matched
            it within 0.08 on six other hedged problems and fit one model per batch.
        subset_size: past this many finished observations, the model is fitted on this many
            of them (see ``hpo_notebook.optimizers.botorch.subset``: the best-ranked half,
            the latest quarter and a space-filling rest), and the proposals' kind gets
            ``-subset`` appended (e.g. ``"qLogNEHVI-subset"`` in
            ``trials_frame()["proposal"]``). A proposal that took longer than the study's
            ``suggest_timeout`` makes the next one use 30% fewer (down to 32), and fast
            ones grow that back. None: always the exact GP on every observation, whose cost
            grows as n^3 (a batch of 4 at 500 observations near the front took 53 s,
            against 2.5 s on a subset of 128). The subset costs hypervolume where the exact
            GP is still affordable (DTLZ2, 300 evaluations: 0.3 decades of gap with a subset
            of 128 and a baseline of 64), so the default switches only at 256.
        subset_baseline: on the subset, qLogNEHVI's baseline: this many of the best-ranked
            observations of all, spread along the front. Its cost per evaluation grows with
            them; fewer leave gaps in the front that look open (a baseline of 32 cost 0.4
            decades on DTLZ2 at 300 evaluations, 128 cost 0.15).
        lazy_screening_from_q: in batches of at least this many points (of one model, on
            continuous spaces), only the first point's starting points are screened from fresh
            raw samples; later points re-screen the same ones lazily
            (:class:`~hpo_notebook.optimizers.botorch.candidates.LazyStarts`). None: every
            point screens afresh, as BoTorch does. On DTLZ2-6 (2 objectives, 128 evaluations,
            3 seeds) it lost nothing from 4 points per model on (q=8: -2.03 against -2.02,
            q=32: -1.91 against -1.89); with 3 objectives and 4 points (DTLZ2-6x3,
            VehicleSafety, 48 evaluations, 4 seeds) it was 0.03-0.04 behind, within the
            seeds' spread but on both problems, so small batches keep BoTorch's screening.
        hedge_max_observations: from this many finished observations on, ``gp_prior="auto"``
            stops hedging and fits the dimension-scaled prior alone (faster: at 200
            observations the Gamma prior's warm fit is 0.85 s of a 2.2 s proposal). None: it
            hedges throughout. Off by default: stopping at 100 lost 0.13 decades at 160
            evaluations on DTLZ2-6-noisy (every seed; one stalled), while the six noiseless
            problems changed by -0.03 to +0.3 (``docs/results/suite_experiments``).
        device: where the GP fit and the acquisition run: ``"auto"`` (the first CUDA GPU
            when torch in the driver's process sees one, else the CPU), ``"cpu"``,
            ``"cuda"`` or ``"cuda:N"``. Trials run on the workers' GPUs either way; on a
            machine whose GPUs also run trials, a proposal shares the GPU with one of them
            (it needs little memory: tens of MB at a few thousand observations).
        inactive_fill: in a conditional space, the unit value the GP sees for a parameter
            that is inactive (its choice took another option), on every point it is fitted
            to or asked about (see ``optimizers/botorch/conditional.py``).
        repeat_rounds: times a batch's candidates that repeat a known point are proposed
            again, with the repeats pending, before they become quasi-random
            (``sobol-duplicate``). Off by default: on BraninCurrin with 16 workers and 1,000
            trials (``benchmarks/scale.py`` part b) 1 and 2 rounds left 415 and 346 repeats against
            385 without (runs differ) and ended at a log10 hypervolume gap of -0.91 and -0.93
            against -0.95, in 1.7x and 2.2x the real time; in 200 trials in batches of 8 with
            a subset of 64, 2 rounds cut them from 14 and 26 to 0 and 5 (two seeds).
        screening_mc_samples: the Monte-Carlo samples qLogNEHVI uses while screening the
            raw points for L-BFGS's starting points (the first this many of ``mc_samples``;
            on continuous spaces). None: all of them, as BoTorch does. Ranking
            raw points needs less precision than L-BFGS: 16 cut the screening's
            hypervolume work 4x (a warm batch of 4 at 200 observations, 2 objectives: 2.82
            to 2.43 s) and moved the suite's log10 gap at 100 evaluations by -0.07 to +0.06
            on seven 2-objective problems (3 seeds each) and by +0.01 on DTLZ2-6x3 (6 seeds;
            ``docs/results/suite_experiments/screen16.jsonl``, ``fast3obj_split.jsonl``).
        fit_maxiter_warm: L-BFGS iterations of a GP fit that starts from the previous
            proposal's hyperparameters (None: ``fit_maxiter``). Such a fit converges in
            10-20 iterations unless an input is irrelevant to an output: then that
            lengthscale drifts towards infinity along a flat ridge of the likelihood
            (DTLZ2 with 3 objectives at 200 observations: 8, 28 and 82 after 10, 100 and
            300 iterations, log marginal likelihood 4.253, 4.284 and 4.292), and the fit
            runs to ``fit_maxiter`` (4.1 s of an 8 s proposal there, 1.0 s capped at 20).
            Off by default: on DTLZ2-6x3 (6 seeds) a cap of 20 and of 40 ended 0.03 and
            0.02 decades of log10 hypervolume gap behind at 100 evaluations, worse on 4 of
            6 seeds each time; with 2 objectives 20 was level (seven problems, 3 seeds).
    """

    num_restarts: int = 2
    raw_samples: int = 128
    maxiter: int = 100
    mc_samples: int = 64
    sample_around_best: bool = True
    fit_maxiter: int = 100
    maxiter_alternating: int = 8
    #: torch threads while proposing. One is fastest when trials load the same cores (the
    #: usual case on a local cluster): oversubscribed OpenMP threads were 10x slower here.
    torch_threads: int | None = 1
    hv_alpha: float = 0.0
    mc_samples_many: int = 32
    winsorize: bool = True
    gp_prior: str = "auto"
    subset_size: int | None = 256
    subset_baseline: int = 64
    hedge_max_observations: int | None = None
    device: str = "auto"
    lazy_screening_from_q: int | None = 8
    inactive_fill: float = 0.5
    repeat_rounds: int = 0
    screening_mc_samples: int | None = 16
    fit_maxiter_warm: int | None = None

    def __post_init__(self) -> None:
        if self.gp_prior not in GP_PRIORS:
            raise ValueError(f"gp_prior={self.gp_prior!r}; expected one of {GP_PRIORS}")
        if not isinstance(self.device, str) or not _DEVICE.fullmatch(self.device):
            raise ValueError(
                f"device={self.device!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N' (N: the "
                "index of a GPU torch sees; BoTorch computes in float64, which Apple's 'mps' "
                "does not support)"
            )
        lazy = self.lazy_screening_from_q
        if lazy is not None and (isinstance(lazy, bool) or not isinstance(lazy, int) or lazy < 2):
            raise ValueError(f"lazy_screening_from_q={lazy!r}; expected None or an integer >= 2")
        for name in ("screening_mc_samples", "fit_maxiter_warm"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name}={value!r}; expected None or an integer >= 1")
        rounds = self.repeat_rounds
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
            raise ValueError(f"repeat_rounds={rounds!r}; expected an integer >= 0")
        fill = self.inactive_fill
        if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not math.isfinite(fill):
            raise ValueError(f"inactive_fill={fill!r}; expected a finite number")
        for name in ("subset_size", "subset_baseline", "hedge_max_observations"):
            value = getattr(self, name)
            if value is None and name != "subset_baseline":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 4:
                raise ValueError(f"{name}={value!r}; expected an integer >= 4")

    @classmethod
    def thorough(cls) -> OptimizeSettings:
        """More restarts, raw samples, MC samples and fit iterations."""
        return cls(
            num_restarts=4, raw_samples=256, mc_samples=128, mc_samples_many=64, fit_maxiter=200
        )
