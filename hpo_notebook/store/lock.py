"""One driver per study file: an operating-system lock on ``<file>.lock``.

Two processes driving one study file at once lose results (both number new trials from what
they saw, and each re-runs the other's running trials as "interrupted"). So whatever writes
trials (``run``/``start``, and ``ask`` until its trials are told) holds this lock, and a second
driver is refused with a message naming the holder.

The lock is ``flock`` (``msvcrt.locking`` on Windows) on a file beside the study file: the
kernel releases it when the holding process ends in any way, SIGKILL included, so a driver
that died never leaves a lock that needs a human. The holder writes who it is (host, pid,
since when, what) into the file, for the message. The lock file itself is left in place (a
lock file removed while another process waits on it would let two holders in).

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "s.db")
    >>> a, b = DriverLock(path), DriverLock(path)
    >>> a.acquire("run")
    >>> try:
    ...     b.acquire("run")
    ... except StudyLockedError as exc:
    ...     print("refused")
    refused
    >>> a.release(); b.acquire("run"); b.release()
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys
import threading
import time
from typing import IO, Any

from hpo_notebook.exceptions import StorageError, StudyLockedError

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(f: IO[str]) -> bool:
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(f: IO[str]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(f: IO[str]) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(f: IO[str]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class DriverLock:
    """The lock of one study file. Re-entrant within one object: ``acquire`` while held is a
    no-op, so nested users (a run that asks) need no bookkeeping.

    Args:
        path: the study file; the lock is ``<path>.lock``.
    """

    def __init__(self, path: str) -> None:
        self.path = f"{path}.lock"
        self._file: IO[str] | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._file is not None

    def acquire(self, what: str) -> None:
        """Take the lock for ``what`` (``"run"``, ``"ask"``); never waits.

        Raises:
            StudyLockedError: another driver holds it; the message names it.
            StorageError: the lock file cannot be made.
        """
        with self._guard:
            if self._file is not None:
                return
            try:
                f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
            except OSError as exc:
                raise StorageError(
                    f"cannot make the lock file {self.path} that keeps a second driver off this "
                    f"study file ({exc}); the study file's folder must be writable"
                ) from None
            if not _try_lock(f):
                f.seek(0)
                holder = f.read()
                f.close()
                raise StudyLockedError(_refusal(self.path[: -len(".lock")], holder))
            f.seek(0)
            f.truncate()
            f.write(json.dumps(_me(what)))
            f.flush()
            self._file = f

    def release(self) -> None:
        """Let the next driver in. Who held it is erased first, while still held (so never a
        next holder's record): watchers then see that nobody drives the file. A holder that
        was killed leaves its record; :meth:`elsewhere` checks that it is still alive."""
        with self._guard:
            f, self._file = self._file, None
            if f is None:
                return
            with contextlib.suppress(OSError):
                f.seek(0)
                f.truncate()
                f.flush()
            with contextlib.suppress(OSError):
                _unlock(f)
            f.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()

    def elsewhere(self) -> dict[str, Any] | None:
        """Who drives the study file from another process now, as far as one can tell without
        taking the lock (which would refuse a driver starting at that moment): the holder the
        lock file names, when that is another process still alive on this host, or a process
        on another host. None when this object holds it or nobody seems to."""
        if self._file is not None:
            return None
        try:
            with open(self.path, encoding="utf-8") as f:
                h = json.loads(f.read() or "null")
            pid, host = int(h["pid"]), str(h["host"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if host == socket.gethostname() and (pid == os.getpid() or not _alive(pid)):
            return None
        return dict(h)


def _me(what: str) -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": time.time(),
        "what": what,
        "argv": sys.argv[:3],
    }


def _refusal(study_path: str, holder_text: str) -> str:
    try:
        h = json.loads(holder_text)
        since = datetime.datetime.fromtimestamp(float(h["since"])).isoformat(" ", "seconds")
        who = f"process {h['pid']} on host {h['host']} ({h['what']}, since {since})"
        same = h["host"] == socket.gethostname()
        if same and int(h["pid"]) == os.getpid():
            who += ": another Study object in this process; finish or close() it first"
        elif same and not _alive(int(h["pid"])):
            who += (
                "; that process has ended, so a child process it started (a worker, a "
                "data loader) still holds the lock: end it"
            )
    except (ValueError, KeyError, TypeError):
        who = "another process"
    return (
        f"{study_path} is in use by {who}. One study file has one driver at a time: wait for "
        "it to finish or stop it, or open the file read-only with hn.load_study(path) to look"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
