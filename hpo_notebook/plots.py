"""``hn.plots``: static matplotlib figures of a study (see ``hpo_notebook.viz.plots``)."""

from hpo_notebook.viz.plots import (
    anytime,
    curves,
    hypervolume,
    importance,
    parallel,
    pareto,
    proposal_times,
    to_png,
)

__all__ = [
    "anytime",
    "curves",
    "hypervolume",
    "importance",
    "parallel",
    "pareto",
    "proposal_times",
    "to_png",
]
