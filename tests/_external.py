"""Dask schedulers and workers as separate processes (``dask scheduler``, ``dask worker``),
each in a folder of its own, as on a real cluster whose machines share nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ExternalCluster:
    """Start schedulers and workers under ``base``; :meth:`close` kills what is left.

    Each process has its own session (a process group: a worker's nanny and worker process
    die together), working directory ``base/<name>/cwd`` and, for workers, local directory
    ``base/<name>/local``. No ``AWS_*`` variable reaches them.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.procs: dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        home = self.base / name
        (home / "cwd").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with (home / "log").open("w") as log:
            proc = subprocess.Popen(
                args, cwd=home / "cwd", env=env, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        self.procs[name] = proc
        return proc

    def scheduler(self, name: str = "scheduler") -> str:
        """Start a scheduler on a free loopback port; returns its address."""
        port = free_port()
        self._spawn(name, [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                           "--no-dashboard"])  # fmt: skip
        return f"tcp://127.0.0.1:{port}"

    def worker(self, address: str, name: str) -> None:
        local = str(self.base / name / "local")
        args = [DASK, "worker", address, "--name", name, "--nthreads", "1", "--host"]
        self._spawn(name, [*args, "127.0.0.1", "--no-dashboard", "--local-directory", local])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the process group of ``name``; wait for it to end unless the
        signal only pauses it (SIGSTOP: a frozen machine, or one cut off the network)."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        if sig != signal.SIGSTOP:
            proc.wait(timeout=30)

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name)
