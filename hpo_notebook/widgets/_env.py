"""Where are we running: a Jupyter kernel that can show widgets, or a plain process?"""

from __future__ import annotations

import sys


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook 7, VS Code, Voilà, Binder).

    Plain IPython in a terminal and scripts (also under nbconvert's ``--execute``, which runs
    a kernel but has no one looking) get False only in the terminal case; a kernel always
    counts, since its outputs may be opened later.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - IPython internals
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def display(obj: object) -> None:
    """``IPython.display.display`` (only called inside a kernel)."""
    from IPython.display import display as _display

    _display(obj)
