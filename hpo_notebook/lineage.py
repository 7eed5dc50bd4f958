"""Lineage: what is needed to know how a result was produced.

Per study: Python and package versions, host, platform, the git commit of the caller's
repository (and whether it had uncommitted changes), a fingerprint of the trial function's
source and the seed. Per trial: its seed, and the host, process and versions where it ran.

Example:
    >>> fingerprint(b"some bytes") == fingerprint(b"some bytes") != fingerprint(b"other")
    True
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "hpo-notebook",
    "torch",
    "botorch",
    "gpytorch",
    "dask",
    "distributed",
    "numpy",
    "pandas",
    "scipy",
)


def package_versions(names: tuple[str, ...] = _PACKAGES) -> dict[str, str | None]:
    """Installed versions (None where a package is missing), read without importing."""
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def git_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Commit, branch and dirty flag of the git repository containing ``path`` (or None)."""
    cwd = Path(path) if path is not None else Path.cwd()
    if cwd.is_file():
        cwd = cwd.parent

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status),
        "root": git("rev-parse", "--show-toplevel"),
    }


def fingerprint(obj: Any) -> str:
    """A ``sha256:...`` digest of a file (a ``str`` or ``Path`` is a file path), of bytes, of
    an array's or tensor's contents, or of a tuple or list of those (e.g. ``(X, y)``).

    Use it to record which data a study ran on: ``Study(..., lineage={"data":
    hn.fingerprint("train.csv")})``. Hash text by passing ``text.encode()``.

    Raises:
        FileNotFoundError: the path is not a file (a typo must not pass for a fingerprint).
        TypeError: anything else.
    """
    h = hashlib.sha256()
    if isinstance(obj, (tuple, list)):
        h.update(f"sequence of {len(obj)}".encode())  # a tuple and a list hash alike
        for part in obj:
            h.update(fingerprint(part).encode())
        return "sha256:" + h.hexdigest()
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    if torch is not None and isinstance(obj, torch.Tensor):  # on any device, Parameters too
        obj = obj.detach().cpu().contiguous().numpy()
    if isinstance(obj, (str, os.PathLike)):
        if not Path(obj).is_file():
            raise FileNotFoundError(f"fingerprint: no file at {str(obj)!r}")
        with open(obj, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        h.update(bytes(obj))
    elif hasattr(obj, "tobytes"):
        h.update(str(getattr(obj, "dtype", "")).encode() + str(getattr(obj, "shape", "")).encode())
        h.update(obj.tobytes())
    else:
        raise TypeError(
            "fingerprint: expected a file path, bytes, an array or tensor, or a tuple/list of "
            f"those, got {type(obj).__name__}"
        )
    return "sha256:" + h.hexdigest()


def code_fingerprint(fn: Callable[..., Any] | None) -> dict[str, Any] | None:
    """Name, source file and source digest of the trial function (None if unavailable)."""
    if fn is None:
        return None
    if isinstance(fn, functools.partial):  # record the function and its bound arguments
        inner = code_fingerprint(fn.func) or {}
        bound = {"args": [repr(a) for a in fn.args]} if fn.args else {}
        keywords = {k: repr(v) for k, v in fn.keywords.items()}
        return {**inner, "partial": {**bound, **({"keywords": keywords} if keywords else {})}}
    out: dict[str, Any] = {
        "name": getattr(fn, "__qualname__", repr(fn)),
        "module": getattr(fn, "__module__", None),
    }
    try:
        out["file"] = inspect.getsourcefile(fn)
        out["source_sha256"] = fingerprint(inspect.getsource(fn).encode())
    except (OSError, TypeError):
        pass
    return out


def study_lineage(fn: Callable[..., Any] | None, seed: int, extra: dict[str, Any] | None) -> dict:
    """Lineage recorded once per study."""
    code = code_fingerprint(fn)
    where = code.get("file") if code else None
    return {
        "created_at": time.time(),
        "seed": seed,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "packages": package_versions(),
        "git": git_info(where if where and Path(where).exists() else None),
        "code": code,
        "argv": list(sys.argv),
        **({"user": extra} if extra else {}),
    }


@functools.lru_cache(maxsize=1)
def process_lineage() -> dict[str, Any]:
    """Lineage of the process a trial runs in (cached: it does not change)."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "torch": package_versions(("torch",))["torch"],
    }
