"""A text progress bar for scripts and terminals: a study listener, nothing more.

Example:
    >>> import io, hpo_notebook as hn
    >>> study = hn.Study(None, hn.Space(x=hn.Float(0, 1)), objectives={"y": "min"}, seed=0)
    >>> out = io.StringIO()
    >>> bar = TextProgress(study, total=1, stream=out).attach()
    >>> t = study.ask(); study.tell(t, 0.5)
    >>> "1/1" in out.getvalue()
    True
"""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING, Any

from hpo_notebook.events import StatusChanged, StudyEvent, TrialChanged

if TYPE_CHECKING:
    from hpo_notebook.study import Study


class TextProgress:
    """Prints ``[#####.....] 12/40 complete 10 failed 1 running 2 | best ... | 0:41``.

    Redraws only when a trial changes state, on one line (``\\r``) when the stream is a
    terminal, else one line per finished trial.
    """

    def __init__(self, study: Study, total: int, stream: IO[str] | None = None) -> None:
        self.study = study
        self.total = max(1, total)
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()
        self._finished_at_start = sum(t.state.finished for t in study.trials)
        self._unsubscribe: Any = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def attach(self) -> TextProgress:
        self._unsubscribe = self.study.subscribe(self._on_event)
        return self

    def _on_event(self, event: StudyEvent) -> None:
        if isinstance(event, TrialChanged) and event.trial.state.finished:
            self._draw()
        elif isinstance(event, StatusChanged) and event.status == "idle":
            if self._tty:
                self.stream.write("\n")
                self.stream.flush()
            if self._unsubscribe is not None:
                self._unsubscribe()

    def line(self) -> str:
        c = self.study.counts()
        done = sum(c[s] for s in ("COMPLETE", "FAILED", "PRUNED")) - self._finished_at_start
        width = 24
        filled = min(width, round(width * done / self.total))
        progress = self.study.progress()
        elapsed = int(progress.elapsed_s if progress is not None else time.monotonic() - self.t0)
        parts = [
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}",
            f"complete {c['COMPLETE']} failed {c['FAILED']} running {c['RUNNING']}",
            f"{elapsed // 60}:{elapsed % 60:02d}",
        ]
        return " | ".join(parts)

    def _draw(self) -> None:
        text = self.line()
        self.stream.write(("\r" + text) if self._tty else text + "\n")
        self.stream.flush()
