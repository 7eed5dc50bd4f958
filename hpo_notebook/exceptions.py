"""The few exception types hpo_notebook raises.

Every user-facing error derives from :class:`HpoError`, and the ones about bad input
(:class:`SpaceError`, :class:`ConfigError`, :class:`TrialResultError`) also derive from the
builtin :class:`ValueError`, so ``except ValueError`` keeps working for code that does not
know this package.
"""

from __future__ import annotations


class HpoError(Exception):
    """Base class of every error raised by hpo_notebook."""


class SpaceError(HpoError, ValueError):
    """A search-space definition or a parameter value breaks a rule.

    The message names the parameter, the rule and the value received.
    """


class ConfigError(HpoError, ValueError):
    """A study setting (objectives, constraints, options, cluster) is not valid."""


class TrialResultError(HpoError, ValueError):
    """What a trial function returned is not a usable result (missing or non-finite metric)."""


class StorageError(HpoError):
    """A storage file cannot be used as a study store (not a study, newer schema, missing)."""


class StudyLockedError(StorageError):
    """Another driver (a ``run``, ``start`` or ``ask``) holds the study file; the message names
    it (host, pid, since when)."""


class StudyFailedError(HpoError):
    """The study stopped because too many of its trials failed."""


class ClusterLostError(HpoError):
    """The Dask scheduler stopped answering while the study ran. Running trials were marked
    INTERRUPTED and completed ones are kept: ``study.run(cluster=<a new scheduler>)`` finishes
    the plan (interrupted trials go on from their checkpoints)."""


class Pruned(HpoError):
    """Raised by ``trial.report`` inside a trial that should stop early.

    A trial function may let it propagate (the trial ends PRUNED, its curve kept) or catch it
    to clean up and re-raise.
    """


class TrialInterrupted(HpoError):
    """Raised by ``trial.report`` when the study is stopping; the trial is re-run on resume."""


class SigningKeyError(HpoError):
    """The key that signs ``%%hpo`` cells cannot be made or is not safe to use (the message
    says why and how to fix it)."""


class HpoWarning(UserWarning):
    """Something worth knowing that does not stop the study (a model fell back, a slow space)."""


class PruningGambleWarning(HpoWarning):
    """The early metric ranks trials unlike their final values at a step where the pruner
    decides (see :meth:`hpo_notebook.Study.rank_correlations`): pruning there is a gamble."""
