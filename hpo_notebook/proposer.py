"""The proposer: where a study's next trials come from.

It asks the optimizer for proposals given what the ledger says the optimizer may know
(completed and pruned trials in the optimizer's frame, running trials as pending points),
keeps the optimizer's state and saves it with the study, computes model proposals on a
thread of its own so the driver never waits for them, and stands in with quasi-random points
when a model proposal is late. It loads the optimizer's libraries in the background when a
run starts.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from hpo_notebook.exceptions import HpoError
from hpo_notebook.ledger import TrialLedger
from hpo_notebook.optimizers import History, Optimizer, Proposal
from hpo_notebook.optimizers.random import known_params, sobol_proposals


class Proposer:
    """Proposals for one study (see the module docstring).

    Args:
        ledger: the study's trials (the optimizer's input is read from it, its state saved
            to it).
        optimizer: the study's optimizer.
        state: the optimizer state stored with the study (None before its first model).
        deadline_s: the study's ``suggest_timeout``, handed to the optimizer with each
            history (``History.deadline_s``).
        baseline: parameters proposed first, once (kind ``"baseline"``), when no trial of
            the study has them yet.
    """

    def __init__(
        self,
        ledger: TrialLedger,
        optimizer: Optimizer,
        state: dict[str, Any] | None,
        deadline_s: float | None = None,
        baseline: dict[str, Any] | None = None,
    ) -> None:
        self.ledger = ledger
        self.optimizer = optimizer
        self.deadline_s = deadline_s
        self.baseline = baseline
        self._baseline_served = False
        self._state = state
        self._pool: _ProposalThread | None = None

    @property
    def state(self) -> dict[str, Any] | None:
        """A copy of the optimizer's latest state."""
        return copy.deepcopy(self._state)

    def restore(self, state: dict[str, Any] | None) -> None:
        """Take the state stored with the study (another process may have moved it on)."""
        self._state = state

    def uses_model(self) -> bool:
        """Whether the next proposal needs real work (then it runs off the driver thread)."""
        uses_model = getattr(self.optimizer, "uses_model", None)
        if uses_model is None:
            return True
        return bool(uses_model(self.ledger.space, self.ledger.history()))

    def propose(self, n: int) -> list[Proposal]:
        """``n`` proposals from the optimizer, computed here and now."""
        return self._suggest(n, self.ledger.history())

    def propose_async(self, n: int, waiting: Sequence[Proposal] = ()) -> Future[list[Proposal]]:
        """Start computing ``n`` proposals from the current history in the background.
        ``waiting``: proposals made earlier that no trial runs yet, pending points as much
        as the running trials are (and counted as trials, for the quasi-random sequence)."""
        if self._pool is None:
            self._pool = _ProposalThread()
        history = self.ledger.history()
        if waiting:
            space = self.ledger.space
            extra = np.array([space.to_unit(p.params) for p in waiting], dtype=float)
            history = dataclasses.replace(
                history,
                X_pending=np.concatenate([history.X_pending, extra.reshape(len(waiting), -1)]),
                n_trials=history.n_trials + len(waiting),
            )
        fut = self._pool.submit(self._suggest, n, history)
        fut.n_trials = history.n_trials  # type: ignore[attr-defined]
        return fut

    def late(self, n: int, waited: float) -> list[Proposal]:
        """Quasi-random stand-ins for proposals the model did not deliver in ``waited`` s."""
        ledger = self.ledger
        h = ledger.history()
        note = f"the model was not ready within suggest_timeout={waited:g}s"
        avoid = known_params(ledger.space, h)
        return sobol_proposals(ledger.space, h.n_trials, n, ledger.seed, "sobol-late", note, avoid)

    def warm_up(self) -> None:
        """Let the optimizer load its libraries in the background while the first trials run."""
        warm_up = getattr(self.optimizer, "warm_up", None)
        if warm_up is not None:
            # Its own daemon thread, not the proposal pool: a first-use compile can take a
            # minute (or wait on another process's build lock), and neither proposals nor
            # the interpreter's exit should wait for it.
            threading.Thread(
                target=_quietly, args=(warm_up,), name="hpo-warm-up", daemon=True
            ).start()

    def close(self) -> None:
        """Drop proposals still being computed (the one running ends on its own)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _baseline_due(self) -> bool:
        if self.baseline is None or self._baseline_served:
            return False
        return not any(t.proposal.get("kind") == "baseline" for t in self.ledger.trials)

    def _suggest(self, n: int, history: History) -> list[Proposal]:
        """Call the optimizer and save the state it returns (the baseline comes first)."""
        if self._baseline_due():
            self._baseline_served = True
            head = [Proposal(dict(self.baseline or {}), "baseline", {"note": "baseline="})]
            if n == 1:
                return head
            point = np.array([self.ledger.space.to_unit(head[0].params)], dtype=float)
            history = dataclasses.replace(
                history,
                X_pending=np.concatenate([history.X_pending, point]),
                n_trials=history.n_trials + 1,
            )
            return head + self._suggest(n - 1, history)
        ledger = self.ledger
        if self.deadline_s is not None:
            history = dataclasses.replace(history, deadline_s=self.deadline_s)
        suggestion = self.optimizer.suggest(
            ledger.space, ledger.objectives, history, n, ledger.seed, self._state
        )
        if len(suggestion.proposals) != n:
            raise HpoError(
                f"optimizer {self.optimizer.name!r} returned {len(suggestion.proposals)} "
                f"proposals, {n} were asked for"
            )
        if suggestion.state != self._state:
            self._state = suggestion.state
            ledger.set_optimizer_state(suggestion.state)
        return suggestion.proposals


class _ProposalThread:
    """One daemon thread that computes proposals in order. Not a ``ThreadPoolExecutor``: the
    interpreter joins those at exit, so a script whose study stopped (a ``timeout``, a
    ``stop()``) waited for a proposal nobody would use, minutes at large n."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple] | None]
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="hpo-suggest", daemon=True).start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self._jobs.put((fut, fn, args))
        return fut

    def shutdown(self) -> None:
        """Cancel the proposals not started; the thread ends after the one it runs."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            fut, fn, args = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # a failed warm-up only means the first proposal pays for the imports
        logging.getLogger(__name__).debug("optimizer warm-up failed", exc_info=True)


class FixedProposals:
    """Proposals known in advance (seed re-runs), served in order through the part of the
    :class:`Proposer` interface the driver uses; no model, no quasi-random stand-ins."""

    def __init__(self, proposals: Sequence[Proposal]) -> None:
        self._left = list(proposals)

    def uses_model(self) -> bool:
        return False

    def propose(self, n: int) -> list[Proposal]:
        take, self._left = self._left[:n], self._left[n:]
        return take

    def late(self, n: int, waited: float) -> list[Proposal]:
        return self.propose(n)

    def warm_up(self) -> None:
        """Nothing to load."""
