"""The Bayesian optimizer: turns a study history into tensors, calls the candidate functions,
and turns candidates back into parameters.

This is the one place where "min" objectives are negated for BoTorch, and where a failing
model falls back to quasi-random points (recorded as ``kind="sobol-fallback"`` with the reason
in ``info["note"]``) instead of stopping the study.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from hpo_notebook._numbers import positive_int
from hpo_notebook.exceptions import ConfigError, HpoWarning
from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers.base import History, Proposal, Suggestion
from hpo_notebook.optimizers.botorch import _kernel
from hpo_notebook.optimizers.botorch.settings import OptimizeSettings
from hpo_notebook.optimizers.random import known_params, sobol_proposals
from hpo_notebook.space import Choice, Float, Int, Space

#: Accepted acquisition names and what they build. The non-log names are aliases: the Log
#: variants optimize the same quantity without vanishing gradients (Ament et al., 2023).
ACQUISITION_ALIASES = {
    "qLogNEHVI": "qLogNEHVI",
    "qNEHVI": "qLogNEHVI",
    "qLogEHVI": "qLogEHVI",
    "qEHVI": "qLogEHVI",
    "qLogNParEGO": "qLogNParEGO",
    "qNParEGO": "qLogNParEGO",
}

#: The largest default initial design. ``2 * (d + 1)`` alone spent 62 of 100 evaluations of a
#: 30-input problem on quasi-random points (and all 100 with 60 inputs); capped at 20, ZDT1
#: with 30 inputs went from a log10 gap of 1.46 to -0.36 at 48 evaluations (benchmark suite).
MAX_INITIAL = 20

#: The fewest observations a proposal that missed its deadline shrinks the model to.
MIN_MODEL_POINTS = 32

#: Below this many finished observations, every proposal with a warm start also fits the GP
#: from the prior's starting point and keeps the more likely fit (a warm start alone can keep a
#: young study in the first optimum it found). From here on, the fresh fit is repeated only
#: once the observations have grown by :data:`FRESH_FIT_GROWTH` since the last one: the warm
#: fit alone in between, half the fitting time of a long study.
FRESH_FIT_BELOW = 64
FRESH_FIT_GROWTH = 1.25

#: A Choice with more options than this is optimized by sampling a subset of its options at
#: each step of BoTorch's mixed optimizer, so proposals explore it slowly.
MANY_OPTIONS = 20

#: BoTorch's modules import each other in cycles, so two threads importing them at once can
#: meet a half-initialized module (an ImportError: the first model proposal of a simulated
#: run fell back to quasi-random points while the warm-up thread was still importing). The
#: warm-up and a proposal's first import take turns.
_IMPORTS = threading.Lock()


def _load_libraries() -> None:
    """Import BoTorch and the modules built on it, once, one thread at a time."""
    with _IMPORTS:
        from hpo_notebook.optimizers.botorch import candidates, outcomes  # noqa: F401


def call_seed(seed: int, n_trials: int) -> int:
    """The seed of one ``suggest`` call, derived from the study seed and the trial count."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, n_trials]).generate_state(1)[0])


class BoTorchOptimizer:
    """Batch multi-objective Bayesian optimization with BoTorch.

    Quasi-random (Sobol) points for the first ``n_initial`` trials, then a GP model and a Log
    acquisition function: ``qLogNEHVI`` (default) or ``qLogEHVI`` for two or three objectives,
    ``qLogNEI`` for one, ``qLogNParEGO`` for four or more. Running trials are ``X_pending``.
    While outcome constraints or objective thresholds exist and no observation satisfies
    them all, the probability of satisfying them is maximized instead (``qLogPoF``).

    Args:
        acquisition: ``"qLogNEHVI"``, ``"qLogEHVI"`` or ``"qLogNParEGO"`` (``"qNEHVI"``,
            ``"qEHVI"`` and ``"qNParEGO"`` are accepted and mean their Log variants).
        n_initial: quasi-random trials before the model is used; default ``min(2 * (d + 1), 20)``
            (:data:`MAX_INITIAL`).
        settings: acquisition-optimization effort (see ``OptimizeSettings``).
        warm_start: also fit from the previous fit's hyperparameters, and keep the better
            of that fit and a fresh one (higher marginal likelihood); past
            :data:`FRESH_FIT_BELOW` observations, the fresh fit only each time the
            observations have grown by a quarter, the warm fit alone in between.

    Example:
        >>> opt = BoTorchOptimizer("qLogEHVI", n_initial=8)
        >>> opt.name
        'qLogEHVI'
    """

    def __init__(
        self,
        acquisition: str = "qLogNEHVI",
        n_initial: int | None = None,
        settings: Any = None,
        warm_start: bool = True,
    ) -> None:
        if acquisition not in ACQUISITION_ALIASES:
            raise ConfigError(
                f"optimizer: unknown acquisition {acquisition!r}; choose one of "
                f"{sorted(ACQUISITION_ALIASES)} or 'sobol'"
            )
        if n_initial is not None:
            positive_int("optimizer: n_initial", n_initial)
        self.name = ACQUISITION_ALIASES[acquisition]
        self.n_initial = n_initial
        self.settings = settings if settings is not None else OptimizeSettings()
        self.warm_start = warm_start
        if str(getattr(self.settings, "device", "auto")).startswith("cuda"):
            _load_libraries()  # a GPU torch does not see is an error now, not a fallback later
            from hpo_notebook.optimizers.botorch.candidates import resolve_device

            try:
                resolve_device(self.settings.device)
            except ValueError as exc:
                raise ConfigError(f"optimizer: {exc}") from None
        self._warned_spaces: set[Space] = set()

    def __repr__(self) -> str:
        return f"BoTorchOptimizer({self.name!r}, n_initial={self.n_initial})"

    def initial_design_size(self, space: Space) -> int:
        if self.n_initial is not None:
            return self.n_initial
        # a point of a conditional space has max_active inputs at most: counting every
        # parameter of the tree spent twice the quasi-random points a branch needs
        return min(2 * (space.max_active + 1), MAX_INITIAL)

    def warm_up(self) -> None:
        """Import BoTorch (seconds, once per process) and start loading its compiled kernel in
        the background, so the first model-based proposal does not pay for either while
        workers wait. Returns without waiting for a compile or a build lock (see ``_kernel``).
        """
        _load_libraries()
        _kernel.start_loading()

    def uses_model(self, space: Space, history: History) -> bool:
        """Whether the next call fits a model (False during the quasi-random initial design)."""
        n_obs = int(np.isfinite(history.Y).all(axis=1).sum()) if len(history.Y) else 0
        if history.has_curves and history.X_stopped is not None:
            n_obs += len(history.X_stopped)  # a curve model predicts where they would end
        return history.n_trials >= self.initial_design_size(space) and n_obs >= 2

    def suggest(
        self,
        space: Space,
        objectives: Objectives,
        history: History,
        n: int,
        seed: int,
        state: dict[str, Any] | None = None,
    ) -> Suggestion:
        """Propose ``n`` points; see :class:`~hpo_notebook.optimizers.base.Optimizer`."""
        self._warn_about_space(space)
        finite = np.isfinite(history.Y).all(axis=1) if len(history.Y) else np.zeros(0, bool)
        if not self.uses_model(space, history):
            avoid = known_params(space, history)
            return Suggestion(sobol_proposals(space, history.n_trials, n, seed, avoid=avoid), state)
        try:
            _load_libraries()
            return self._bayesian(space, objectives, history, finite, n, seed, state)
        except Exception as exc:  # a model failure must never stop the study
            note = f"model failed ({type(exc).__name__}: {exc}); used quasi-random points"
            warnings.warn(f"hpo_notebook: {note}", HpoWarning, stacklevel=2)
            avoid = known_params(space, history)
            return Suggestion(
                sobol_proposals(space, history.n_trials, n, seed, "sobol-fallback", note, avoid),
                None,  # drop the warm start: it may be what broke the fit
            )

    # ------------------------------------------------------------------ internals

    def _bayesian(
        self,
        space: Space,
        objectives: Objectives,
        history: History,
        finite: np.ndarray,
        n: int,
        seed: int,
        state: dict[str, Any] | None,
    ) -> Suggestion:
        import torch

        from hpo_notebook.optimizers.botorch import candidates as C
        from hpo_notebook.optimizers.botorch.conditional import InactiveFill
        from hpo_notebook.optimizers.botorch.outcomes import winsorize_bad_tail
        from hpo_notebook.pareto import reference_point

        t0 = time.perf_counter()
        s = call_seed(seed, history.n_trials)
        m = objectives.n

        def max_frame(values: np.ndarray) -> Any:
            return torch.as_tensor(objectives.metrics_to_model_frame(values), dtype=C.DTYPE)

        X = torch.as_tensor(history.X[finite], dtype=C.DTYPE)
        Y = max_frame(history.Y[finite])
        cons = _model_constraints(objectives)
        dims = dim_spec(space)
        warm = (state or {}).get("hyperparameters") if self.warm_start else None
        warm_by_prior = (state or {}).get("hyperparameters_by_prior") or {}
        pending = torch.as_tensor(history.X_pending, dtype=C.DTYPE)
        rng = np.random.default_rng(s)
        # the reference point and the acquisition's choice come from all finished trials
        # (from the curves while none finished), before the model's subset is chosen
        Y_seen = Y if len(Y) else max_frame(_finite_rows(history.Y_partial))
        name, acq_cons, ref = self._choose(objectives, Y_seen, cons, reference_point)
        n_model = self._model_points(len(X), state)
        subset = n_model < len(X)
        X_base = X
        if subset:
            from hpo_notebook.optimizers.botorch.subset import model_subset

            feasible = torch.ones(len(Y), dtype=torch.bool)
            for c in cons:
                feasible &= c.callable()(Y) <= 0
            idx, front = model_subset(
                X.numpy(),
                Y[:, :m].numpy(),
                feasible.numpy(),
                n_model,
                s,
                self.settings.subset_baseline,
            )
            X, Y, X_base = X[idx], Y[idx], X[front]
        X_fit, Y_all = X, Y
        if history.has_curves:
            # learning curves: how far along each point is becomes one more input, and the
            # acquisition is optimized (and the baseline judged) at the end, fidelity 1
            ok = np.flatnonzero(np.isfinite(history.Y_partial).all(axis=1))
            stopped = np.arange(len(history.X_stopped))
            if subset:  # as many curve points and pruned trials as finished ones at most
                ok = _some(ok, n_model, rng)
                stopped = _some(stopped, n_model // 2, rng)
            X_part = torch.as_tensor(history.X_partial[ok], dtype=C.DTYPE)
            F = torch.as_tensor(history.fidelity[ok], dtype=C.DTYPE).unsqueeze(-1)
            X_stop = torch.as_tensor(history.X_stopped[stopped], dtype=C.DTYPE)
            X_fit = torch.cat([_at_end(X), torch.cat([X_part, F], dim=-1)])
            Y_all = torch.cat([Y, max_frame(history.Y_partial[ok])])
            X_base = _at_end(torch.cat([X_base, X_stop])) if len(X_stop) else _at_end(X_base)
            pending = _at_end(pending)
            dims = dataclasses.replace(dims, d=dims.d + 1, fixed={**dims.fixed, dims.d: 1.0})
        Y_fit = (
            winsorize_bad_tail(Y_all, m, ref, objectives.constraint_floors())
            if self.settings.winsorize
            else Y_all
        )
        n_obs = len(history.X[finite])
        fresh_at = (state or {}).get("fresh_fit_at")
        fresh = fresh_at is None or n_obs < FRESH_FIT_BELOW or n_obs >= FRESH_FIT_GROWTH * fresh_at
        fit_s = 0.0
        picks: list[Any] = []
        used: list[str] = []
        hps: dict[str, Any] = {}
        # everything above ran on the CPU (NumPy subsets, the reference point); from here on
        # the tensors live on the device, and tensors made inside follow it
        device = C.resolve_device(self.settings.device)
        X_fit, Y_fit, X_base, Y, pending = (
            t.to(device) for t in (X_fit, Y_fit, X_base, Y, pending)
        )
        on_gpu = device.type == "cuda"
        with (
            torch.random.fork_rng(devices=[device.index or 0] if on_gpu else []),
            C.torch_threads(self.settings.torch_threads),
            # on the CPU, no device mode: it would intercept every torch call
            device if on_gpu else contextlib.nullcontext(),
        ):
            shares = _prior_shares(
                self.settings.gp_prior,
                n,
                history.n_trials,
                space.max_active,  # (inactive inputs are constant within a branch)
                m,
                n_obs,
                self.settings.hedge_max_observations,
            )
            for prior, k in shares:
                torch.manual_seed(s)
                t_fit = time.perf_counter()
                start = warm_by_prior.get(prior, warm) if self.warm_start else None
                model, hps[prior] = _fit(
                    X_fit,
                    Y_fit,
                    list(dims.cat_dims),
                    start,
                    self.settings.fit_maxiter,
                    prior,
                    fresh=fresh,
                    input_transform=InactiveFill.for_space(space, self.settings.inactive_fill),
                    warm_maxiter=self.settings.fit_maxiter_warm,
                )
                fit_s += time.perf_counter() - t_fit
                pend = torch.cat([pending, *picks]) if picks else pending
                picks.append(
                    self._propose(name, model, X_base, Y, m, ref, acq_cons, pend, dims, k, s)
                )
                used += [prior] * k
            full, reproposed = self._repropose_repeats(
                space, history, torch.cat(picks), pending,
                lambda pend, k, r: self._propose(
                    name, model, X_base, Y, m, ref, acq_cons, pend, dims, k, s + r
                ),
                self.settings.repeat_rounds,
            )  # fmt: skip
        cand = full[:, : space.dim].cpu()
        t2 = time.perf_counter()

        info = {
            "fit_s": round(fit_s, 4),
            "acq_s": round(t2 - t0 - fit_s, 4),
            "total_s": round(t2 - t0, 4),
            "n_obs": n_obs,
            "fresh_fit": fresh,
            "n_model": len(X),
            "n_pending": len(pending),
            "ref_point": ref,
            "gp_priors": used,
            "device": str(device),
        }
        if reproposed:
            info["n_reproposed"] = reproposed
        if history.has_curves:
            info["n_curve_points"] = len(X_fit) - len(history.X[finite])
        kind = f"{name}-subset" if subset else name
        proposals = self._decode(space, cand, history, kind, info, seed)
        # the hedge fits one prior per batch: the other's last fit stays its warm start
        by_prior = {**warm_by_prior, **hps}
        new_state = {
            "hyperparameters": hps.get("dim_scaled", next(iter(hps.values()))),
            "hyperparameters_by_prior": by_prior,
            "settings": asdict(self.settings),
            "fresh_fit_at": n_obs if fresh else fresh_at,
        }
        cap = self._next_cap(len(X), t2 - t0, history, (state or {}).get("model_points"))
        if cap is not None:
            new_state["model_points"] = cap
        return Suggestion(proposals, new_state)

    @staticmethod
    def _repropose_repeats(
        space: Space,
        history: History,
        full: Any,
        pending: Any,
        propose: Callable[[Any, int, int], Any],
        rounds: int,
    ) -> tuple[Any, int]:
        """Candidates that repeat a known point (or an earlier candidate) proposed again,
        with every candidate so far, repeats included, as pending points.

        On the subset path, a known point in the model's subset but not in qLogNEHVI's
        baseline is a peak of the acquisition (its improvement over the baseline's front is
        certain), and the optimizer lands on it (2-input BraninCurrin: every repeat within
        5e-7 of a known point on the edge x1 = 1). Pending at the repeated point, a
        candidate there adds no hypervolume, so the acquisition's next-best point wins.
        Returns the candidates (repeats that survive ``rounds`` become quasi-random in
        :meth:`_decode`) and how many were proposed again.
        """
        import torch

        if rounds == 0:  # the default: no second table of the known points
            return full, 0
        table = _known_table(space, history)
        done = 0
        for r in range(1, rounds + 1):
            rows = full[:, : space.dim].cpu().tolist()
            again = _repeated_rows(space, rows, table)
            if not again:
                break
            new = propose(torch.cat([pending, full]), len(again), r)
            full = full.clone()
            full[again] = new.to(full)
            done += len(again)
        return full, done

    def _model_points(self, n_obs: int, state: dict[str, Any] | None) -> int:
        """How many of ``n_obs`` finished observations the model is fitted on: all of them
        up to ``subset_size``, and fewer while proposals miss their deadline (the cap
        ``_next_cap`` keeps in the state)."""
        size = self.settings.subset_size
        if size is None:
            return n_obs
        cap = (state or {}).get("model_points")
        return min(n_obs, size, int(cap) if cap else size)

    def _next_cap(self, n_model: int, seconds: float, history: History, cap: Any) -> int | None:
        """The model-size cap for the next proposal: 30% smaller after a proposal that took
        longer than ``history.deadline_s``, 25% larger again (until it is lifted) after one
        that took less than a third of it."""
        deadline, size = history.deadline_s, self.settings.subset_size
        if deadline is None or size is None:
            return None
        if seconds > deadline:
            return max(MIN_MODEL_POINTS, int(n_model * 0.7))
        if cap and seconds < deadline / 3:
            grown = int(int(cap) * 1.25) + 1
            return None if grown >= size else grown
        return int(cap) if cap else None

    def _propose(
        self,
        name: str,
        model: Any,
        X: Any,
        Y: Any,
        m: int,
        ref: list[float] | None,
        cons: list[Any],
        pending: Any,
        dims: Any,
        n: int,
        s: int,
    ) -> Any:
        """``n`` candidates from ``model``'s acquisition, given ``pending`` points."""
        from hpo_notebook.optimizers.botorch import candidates as C

        if name == "qLogNParEGO":
            return self._parego(model, X, Y, m, cons, pending, dims, n, s)
        acq = C.build_acquisition(
            name,
            model,
            X,
            Y,
            m,
            ref,
            cons,
            pending if len(pending) else None,
            self.settings.mc_samples_many if m >= 3 else self.settings.mc_samples,
            s,
            alpha=self.settings.hv_alpha if m >= 3 else 0.0,
        )
        return C.optimize_candidates(acq, dims, n, self.settings)

    def _choose(
        self, objectives: Objectives, Y: Any, cons: list[Any], reference_point: Any
    ) -> tuple[str, list[Any], list[float] | None]:
        """Pick the acquisition, its constraints and reference point for this history."""
        import torch

        from hpo_notebook.optimizers.botorch.candidates import OutcomeConstraint

        m = objectives.n
        name = "qLogNEI" if m == 1 else "qLogNParEGO" if m >= 4 else self.name
        feasible = torch.ones(len(Y), dtype=torch.bool)
        for c in cons:
            feasible &= c.callable()(Y) <= 0
        thresholds = objectives.thresholds_max_frame()
        threshold_cons = [
            OutcomeConstraint(i, 1.0, ">=", t) for i, t in enumerate(thresholds) if t is not None
        ]
        good = feasible.clone()
        for c in threshold_cons:
            good &= c.callable()(Y) < 0
        if (cons or threshold_cons) and not bool(good.any()):
            return "qLogPoF", cons + threshold_cons, None
        ref = None
        if name in ("qLogNEHVI", "qLogEHVI"):
            obs = Y[feasible][:, :m] if bool(feasible.any()) else Y[:, :m]
            ref = reference_point(obs.numpy(), thresholds)
        return name, cons, ref

    def _parego(
        self,
        model: Any,
        X: Any,
        Y: Any,
        m: int,
        cons: list[Any],
        pending: Any,
        dims: Any,
        n: int,
        s: int,
    ) -> Any:
        import torch

        from hpo_notebook.optimizers.botorch import candidates as C

        gen = torch.Generator().manual_seed(s)
        picks: list[Any] = []
        for i in range(n):
            X_pend = torch.cat([pending, *picks]) if (len(pending) or picks) else None
            acq = C.build_acquisition(
                "qLogNParEGO",
                model,
                X,
                Y,
                m,
                None,
                cons,
                X_pend,
                self.settings.mc_samples,
                s + i,
                scalarization_weights=C.sample_weights(m, gen).to(X),
            )
            picks.append(C.optimize_candidates(acq, dims, 1, self.settings))
        return torch.cat(picks)

    def _decode(
        self,
        space: Space,
        cand: Any,
        history: History,
        name: str,
        info: dict[str, Any],
        seed: int,
    ) -> list[Proposal]:
        """Candidates -> params; a candidate that repeats a known point becomes quasi-random."""
        table = _known_table(space, history)
        out: list[Proposal] = []
        priors = info.pop("gp_priors", None)
        for i, row in enumerate(cand.tolist()):
            params = space.from_unit(row)
            u = space.to_unit(params)
            if _repeats(np.asarray(u, dtype=float), table):
                note = "the model proposed an already evaluated or running point"
                avoid = [space.from_unit(k) for k in table.tolist()]
                p = sobol_proposals(
                    space, history.n_trials + i, 1, seed, "sobol-duplicate", note, avoid
                )
                out.append(p[0])
                table = np.vstack([table, np.asarray(space.to_unit(p[0].params), dtype=float)])
                continue
            table = np.vstack([table, u])
            extra = {"gp_prior": priors[i]} if priors else {}
            out.append(Proposal(params, name, {**info, **extra}))
        return out

    def _warn_about_space(self, space: Space) -> None:
        if space in self._warned_spaces:
            return
        self._warned_spaces.add(space)
        for name, p in space.items():
            if isinstance(p, Choice) and p.n_values > MANY_OPTIONS:
                warnings.warn(
                    f"hpo_notebook: Choice {name!r} has {p.n_values} options; the acquisition "
                    f"optimizer tries a random subset of {MANY_OPTIONS} of them per step, so "
                    "it explores this parameter slowly. Group rare options or use an Int if "
                    "they are ordered.",
                    HpoWarning,
                    stacklevel=3,
                )


def _finite_rows(Y: np.ndarray | None) -> np.ndarray:
    if Y is None:
        return np.zeros((0, 0))
    return Y[np.isfinite(Y).all(axis=1)]


def _some(idx: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``k`` of ``idx``, drawn at random, in their order."""
    if len(idx) <= k:
        return idx
    return np.sort(rng.choice(idx, size=k, replace=False))


def _at_end(X: Any) -> Any:
    """``X`` with one more column, the fidelity, at 1 (the end of training)."""
    import torch

    return torch.cat([X, torch.ones(*X.shape[:-1], 1, dtype=X.dtype, device=X.device)], dim=-1)


def dim_spec(space: Space) -> Any:
    """How each unit-cube dimension of ``space`` may vary (see ``DimSpec``)."""
    from hpo_notebook.optimizers.botorch.candidates import DimSpec

    discrete: dict[int, list[float]] = {}
    cat: dict[int, list[float]] = {}
    fixed: dict[int, float] = {}
    for i, p in enumerate(space.values()):
        if isinstance(p, Choice):
            if p.n_values == 1:
                fixed[i] = 0.0
            else:
                cat[i] = p.unit_values()
        elif isinstance(p, Int):
            values = p.unit_values()
            if values is not None:  # otherwise continuous, rounded when decoded
                discrete[i] = values
    return DimSpec(space.dim, discrete, cat, fixed)


def _model_constraints(objectives: Objectives) -> list[Any]:
    """Outcome constraints on model columns (objective columns are in the max frame)."""
    from hpo_notebook.optimizers.botorch.candidates import OutcomeConstraint

    metric_cols = {name: i for i, name in enumerate(objectives.metric_names)}
    signs = objectives.metric_signs  # model columns back to user units, where bounds are
    out = []
    for c in objectives.constraints:
        col = metric_cols[c.metric]
        out.append(OutcomeConstraint(col, signs[col], c.op, c.bound))
    return out


#: ``gp_prior="auto"`` hedges up to this many parameters (and objectives), and uses the
#: dimension-scaled prior alone above
HEDGE_MAX_INPUTS = 10
HEDGE_MAX_OBJECTIVES = 2


def _prior_shares(
    prior: str,
    n: int,
    n_trials: int,
    n_inputs: int,
    n_objectives: int = 2,
    n_obs: int = 0,
    hedge_max_observations: int | None = None,
) -> list[tuple[str, int]]:
    """Which GP priors propose how many of ``n`` points.

    ``"hedge"`` takes whole batches from the dimension-scaled and the Gamma priors in turn
    (which one: the number of trials so far divided by ``n``, even or odd; one point at a
    time, it alternates). Splitting each batch in two halves instead cost ZDT3-10 0.6
    decades of hypervolume gap at 100 evaluations: each model proposed 2 points per batch,
    and the study found the front's region 20-40 evaluations later or not at all (4 seeds;
    the dimension-scaled prior alone in batches of 2 missed it too, in 2 of 4 seeds by 64),
    while whole batches matched the other hedged problems within 0.08.

    ``"auto"`` is ``"hedge"`` up to :data:`HEDGE_MAX_INPUTS` inputs,
    :data:`HEDGE_MAX_OBJECTIVES` objectives and below ``hedge_max_observations`` finished
    observations (``n_obs``), and ``"dim_scaled"`` otherwise: above 10 inputs the Gamma
    priors' short lengthscales leave every point too far from every other to learn from, and
    with 3 or 4 objectives the hedge gained nothing on the suite while a batch took 1.3-1.8x
    as long (when it fitted both priors for every batch).
    """
    if prior == "auto":
        small = n_inputs <= HEDGE_MAX_INPUTS and n_objectives <= HEDGE_MAX_OBJECTIVES
        small &= hedge_max_observations is None or n_obs < hedge_max_observations
        prior = "hedge" if small else "dim_scaled"
    if prior != "hedge":
        return [(prior, n)]
    # whole batches from each prior in turn (one point at a time: alternating points), so
    # each model proposes all n points of its batch jointly
    return [(("dim_scaled", "gamma")[(n_trials // n) % 2], n)]


def _fit(
    X: Any,
    Y: Any,
    cat_dims: list[int],
    warm: Any,
    maxiter: int,
    prior: str = "dim_scaled",
    fresh: bool = True,
    input_transform: Any = None,
    warm_maxiter: int | None = None,
) -> tuple[Any, Any]:
    """Fit from the prior's starting point and, given a warm start, from the previous fit's
    hyperparameters too; keep the fit with the higher marginal likelihood. ``fresh=False``
    fits from the warm start alone when it fits (between the fresh fits of a long study,
    :data:`FRESH_FIT_BELOW`, where the previous fit saw nearly the same data), from the
    prior when it does not.

    A warm start alone can keep a study in the optimum it found on its first few points (on
    DTLZ2 with 6 inputs: every distance input judged irrelevant, proposals in the corners for
    80 evaluations, 1.2 decades of hypervolume gap lost at 100). Keeping the warm fit when it
    is the more likely one preserves what it knows when the fresh start misses it.

    ``warm_maxiter`` caps the L-BFGS iterations from the warm start (None: ``maxiter``).
    """
    from hpo_notebook.optimizers.botorch.candidates import fit_model, log_marginal_likelihood

    fits, error = [], None
    starts = ((None, warm) if fresh else (warm, None)) if warm else (None,)
    for start in starts:
        if start is None and fits and not fresh:
            break  # the warm fit worked, and it is all that was asked for
        try:
            iters = maxiter if start is None or warm_maxiter is None else warm_maxiter
            fits.append(fit_model(X, Y, cat_dims, start, iters, prior, input_transform))
        except Exception as exc:  # a stale warm start can break the fit; so can bad data
            error = exc
    if not fits:
        assert error is not None
        raise error
    return max(fits, key=lambda fit: log_marginal_likelihood(fit[0]))


def _known_table(space: Space, history: History) -> np.ndarray:
    """The unit rows of every evaluated, running and stopped point, one array."""
    rows = history.X_pending.tolist() + history.X.tolist()
    if history.X_stopped is not None:
        rows += history.X_stopped.tolist()
    # the studies' rows are to_unit(params) already; a hand-made History may hold other
    # values of Int and Choice dimensions, so those round-trip (0.6 s at 5,000 rows)
    if all(isinstance(p, Float) for p in space.values()):
        known = rows
    else:
        known = [space.to_unit(space.from_unit(x)) for x in rows]
    # one array compare per candidate: np.allclose per known point took 1.5 s for a
    # batch of 32 at 1,000 observations
    return np.asarray(known, dtype=float).reshape(len(known), len(space))


def _repeated_rows(space: Space, rows: list[list[float]], table: np.ndarray) -> list[int]:
    """Indexes of ``rows`` (unit candidates) whose params repeat a row of ``table`` or an
    earlier row of ``rows``."""
    out = []
    for i, row in enumerate(rows):
        u = np.asarray(space.to_unit(space.from_unit(row)), dtype=float)
        if _repeats(u, table):
            out.append(i)
        else:
            table = np.vstack([table, u])
    return out


def _repeats(u: np.ndarray, known: np.ndarray) -> bool:
    """Whether ``u`` is one of the rows of ``known`` (``np.allclose(u, row, atol=1e-9)``)."""
    if not len(known):
        return False
    return bool(np.all(np.abs(u - known) <= 1e-9 + 1e-5 * np.abs(known), axis=1).any())
