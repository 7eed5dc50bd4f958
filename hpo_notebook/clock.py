"""The study's clock: wall time on a real cluster, virtual time on a simulated one.

Every time a study records (trial start and end, report times, the run's ``timeout``, a
trial's ``trial_timeout``, ``suggest_timeout``, the dashboard's elapsed time) is read from
the :class:`Clock` of the executor the study runs on. The driver loop also waits for its
messages through the clock, which lets a simulated cluster advance virtual time while the
driver has nothing to do, and charge the real compute time of proposals to it.

Example:
    >>> clock = WALL
    >>> abs(clock.time() - __import__("time").time()) < 1.0
    True
"""

from __future__ import annotations

import queue
import time
from typing import Any, Protocol


class Work(Protocol):
    """Real work in flight (a proposal being computed) whose duration counts on its clock."""

    def done(self, messages: queue.Queue[Any], message: Any) -> None:
        """The work ended: put ``message`` on ``messages`` once its time has passed on the
        clock (at once on the wall clock)."""
        ...


class Clock(Protocol):
    """Where a study's time comes from (see the module docstring)."""

    def time(self) -> float:
        """Seconds since the UNIX epoch (virtual ones on a simulated cluster)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never go backwards (deadlines)."""
        ...

    def wait(self, messages: queue.Queue[Any], timeout: float | None) -> Any:
        """The next message, waiting at most ``timeout`` seconds of this clock.

        Raises:
            queue.Empty: nothing arrived in time.
        """
        ...

    def work(self) -> Work:
        """Real work starts now; see :class:`Work`."""
        ...


class _Done:
    def done(self, messages: queue.Queue[Any], message: Any) -> None:
        messages.put(message)


class WallClock:
    """The real clock (Dask clusters, ``ask``/``tell``)."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, messages: queue.Queue[Any], timeout: float | None) -> Any:
        return messages.get(timeout=timeout)

    def work(self) -> Work:
        return _Done()

    def __repr__(self) -> str:
        return "WallClock()"


#: The one wall clock.
WALL = WallClock()
