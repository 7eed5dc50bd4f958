"""Per-trial checkpoints on disk, and the policy that keeps their size in check.

Layout: ``<dir>/<study uid>/trial-<number>/`` holds ``checkpoint-<attempt>-<ns>.pt`` (written
with ``torch.save`` to a temporary file, then renamed), ``meta.json`` (``{"step", "attempt",
"bytes", "time", "file", "reports"}``), which names the current checkpoint file, and
``.owner`` (the study's uid). The new meta is put in place after the new file and the old file
is deleted after that, so a worker or driver killed at any moment leaves a checkpoint and a
step that belong together (never half a checkpoint, and never the state of step 6 labelled as
step 5). The folder must be visible to every worker and to the driver: a local disk for a
LocalCluster, a shared file system, or an object store for a real cluster.

Any filesystem fsspec knows works: ``Checkpoints("s3://bucket/prefix", storage_options={...})``
(with ``pip install "hpo-notebook[cloud]"`` for S3, or the fsspec implementation of your
store). There a checkpoint is uploaded in one request under its final, unique name (an object
appears whole or not at all, so no rename is needed), then ``meta.json`` is replaced the same
way; the order, and so the guarantees above, are those of a local folder. The storage options
(credentials, endpoint) travel to the workers with each trial and are never written to the
study file: a study reopened without ``checkpoints=`` uses the stored URL with the
environment's credentials.

Checkpoints belong to their study: the study's folder is named by its unique id (never by its
name, which could steer the path), a checkpoint is loaded only from a trial folder marked with
that id, and cleanup deletes only trial folders so marked. A study file deleted and made again,
or two studies sharing ``checkpoints=``, never see each other's checkpoints. (A *copy* of a study
file is the same study, with the same id: give each copy its own ``checkpoints=`` folder if
both run.)

Inside a trial::

    state = trial.load_checkpoint()          # None on the first run
    start = 1 if state is None else trial.checkpoint_step + 1
    for epoch in range(start, 28):
        ...
        trial.report(epoch, val_loss=vl)
        trial.save_checkpoint({"model": model.state_dict(), "opt": opt.state_dict()})

Example:
    >>> import tempfile
    >>> policy = Checkpoints(tempfile.mkdtemp(), keep_best=2)
    >>> policy.keep_best
    2
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

from hpo_notebook._numbers import positive_int
from hpo_notebook.exceptions import ConfigError

_META = "meta.json"
_OWNER = ".owner"
_TEMP = re.compile(r"\.(checkpoint|meta)-(\d+)-.*\.tmp")


@dataclass(frozen=True)
class Checkpoints:
    """Where trial checkpoints live and which ones are kept.

    Args:
        dir: the folder (default: beside the study file, ``<file>.checkpoints``, or a temporary
            folder for an in-memory study), or a URL fsspec knows (``"s3://bucket/prefix"``,
            ``"gs://..."``, ``"memory://..."``). Each study writes into a subfolder named by
            its unique id, so studies can share one.
        keep_best: checkpoints of this many best completed trials are kept (for several
            objectives: the best-ranked by Pareto front and crowding distance); those of
            pruned, failed and other completed trials are deleted when they end.
        max_bytes: a bound on the folder's total size; past it, kept checkpoints of finished
            trials are deleted worst first (those of running trials never are).
        storage_options: passed to fsspec for a URL ``dir`` (credentials, ``endpoint_url``
            under ``client_kwargs`` for S3, ...). Not shown in the repr and never stored in the
            study file.

    Example (S3 through ``s3fs``, credentials from the environment unless given):
        >>> Checkpoints("s3://bucket/hpo", keep_best=1)  # doctest: +SKIP
    """

    dir: str | None = None
    keep_best: int = 3
    max_bytes: int | None = None
    storage_options: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.dir is not None and (not isinstance(self.dir, str) or not self.dir):
            raise ConfigError(
                f"Checkpoints: dir must be a folder path, a URL or None, got {self.dir!r}"
            )
        if self.storage_options is not None and not isinstance(self.storage_options, Mapping):
            raise ConfigError(
                "Checkpoints: storage_options must be a dict of fsspec options or None, got "
                f"{type(self.storage_options).__name__}"
            )
        if self.storage_options and (self.dir is None or not _is_url(self.dir)):
            raise ConfigError(
                "Checkpoints: storage_options are for a URL dir (such as 's3://bucket/prefix'), "
                f"got dir={self.dir!r}"
            )
        if self.dir is not None and _is_url(self.dir):
            _filesystem(self.dir, self.storage_options)  # an unknown store fails here, not later
        if (
            isinstance(self.keep_best, bool)
            or not isinstance(self.keep_best, int)
            or (self.keep_best < 0)
        ):
            raise ConfigError(
                f"Checkpoints: keep_best must be an integer >= 0, got {self.keep_best!r}"
            )
        if self.max_bytes is not None:
            positive_int("Checkpoints: max_bytes", self.max_bytes)

    def resolved(self, storage_path: str | None) -> Checkpoints:
        """This policy with ``dir`` filled in."""
        if self.dir is not None:
            return self
        if storage_path is None:
            d = tempfile.mkdtemp(prefix="hpo-checkpoints-")
        else:
            d = f"{storage_path}.checkpoints"
        return Checkpoints(d, self.keep_best, self.max_bytes)

    def study_root(self, uid: str) -> Root:
        """The folder of one study's checkpoints (``dir`` must be resolved): a path, a URL, or
        a URL with its storage options (what travels to the workers)."""
        if self.dir is None:
            raise ConfigError("Checkpoints.study_root: resolve the policy first")
        if not _is_url(self.dir):
            return str(Path(self.dir) / uid)
        url = f"{self.dir.rstrip('/')}/{uid}"
        return CheckpointRoot(url, dict(self.storage_options)) if self.storage_options else url

    def to_json(self) -> dict[str, Any]:
        """What the study file keeps (not the storage options: they may hold credentials)."""
        return {"dir": self.dir, "keep_best": self.keep_best, "max_bytes": self.max_bytes}


@dataclass(frozen=True)
class CheckpointRoot:
    """A study's checkpoint folder at a URL, with the fsspec options to reach it."""

    url: str
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __str__(self) -> str:
        return self.url


#: a study's checkpoint folder: a local path or URL, or a URL with storage options
Root = str | CheckpointRoot


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _filesystem(url: str, options: Mapping[str, Any] | None) -> tuple[AbstractFileSystem, str]:
    import fsspec

    try:
        return fsspec.core.url_to_fs(url, **dict(options or {}))
    except ImportError as exc:  # the store's fsspec implementation is not installed
        raise ConfigError(
            f"Checkpoints: {url!r} needs a package that is not installed ({exc}); for S3: "
            'pip install "hpo-notebook[cloud]"'
        ) from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"Checkpoints: cannot open {url!r}: {exc}") from None


def _fs(root: Root) -> tuple[AbstractFileSystem | None, str]:
    """``(filesystem, path)`` of ``root``; no filesystem for a local folder."""
    if isinstance(root, CheckpointRoot):
        return _filesystem(root.url, root.storage_options)
    if _is_url(root):
        return _filesystem(root, None)
    return None, root.removeprefix("file://")


def _name(root: Root) -> str:
    """The study's uid: the last part of its folder."""
    return str(root).rstrip("/").rsplit("/", 1)[-1] if _fs(root)[0] else Path(root).name


def trial_dir(root: Root, number: int) -> Path | str:
    """The trial's folder: a Path for a local folder, else a URL."""
    fs, path = _fs(root)
    if fs is None:
        return Path(path) / f"trial-{number}"
    return fs.unstrip_protocol(f"{path.rstrip('/')}/trial-{number}")


def _trial_path(root: Root, number: int) -> tuple[AbstractFileSystem | None, str]:
    fs, path = _fs(root)
    return fs, (str(Path(path) / f"trial-{number}") if fs is None else f"{path}/trial-{number}")


def _put(fs: AbstractFileSystem | None, folder: str, name: str, data: Any, prefix: str) -> int:
    """Put ``data`` (bytes, or a callable writing to a binary file) at ``folder/name`` whole
    or not at all; returns its size. Locally: a temporary file renamed into place; in an
    object store: one upload of the complete object."""
    if fs is not None:
        if callable(data):
            buf = io.BytesIO()
            data(buf)
            data = buf.getvalue()
        fs.pipe_file(f"{folder}/{name}", data)
        return len(data)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            data(f) if callable(data) else f.write(data)
        size = os.path.getsize(tmp)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def _read(fs: AbstractFileSystem | None, path: str) -> bytes:
    if fs is None:
        return Path(path).read_bytes()
    return fs.cat_file(path)


def _listing(fs: AbstractFileSystem | None, folder: str) -> list[tuple[str, int, bool]]:
    """``(name, size, is_file)`` of what ``folder`` holds (nothing if it is missing)."""
    if fs is None:
        try:
            return [(p.name, p.stat().st_size if p.is_file() else 0, p.is_file())
                    for p in Path(folder).iterdir()]  # fmt: skip
        except OSError:
            return []
    fs.invalidate_cache(folder)  # another process (a worker) may have written since
    try:
        found = fs.ls(folder, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [(e["name"].rstrip("/").rsplit("/", 1)[-1], int(e.get("size") or 0),
             e.get("type") == "file") for e in found]  # fmt: skip


def _remove(fs: AbstractFileSystem | None, path: str, folder: bool = False) -> None:
    try:
        if fs is None:
            if folder:
                import shutil

                shutil.rmtree(path, ignore_errors=True)
            else:
                Path(path).unlink(missing_ok=True)
        else:
            fs.rm(path, recursive=folder)
    except FileNotFoundError:
        pass


def make_trial_dir(root: Root, number: int) -> Path | str:
    """The trial's folder, created and marked as the study's (the root's name is its uid)."""
    fs, d = _trial_path(root, number)
    if fs is None:
        Path(d).mkdir(parents=True, exist_ok=True)
    if not _is_file(fs, f"{d}/{_OWNER}"):
        _put(fs, d, _OWNER, _name(root).encode(), ".owner-")
    return trial_dir(root, number)


def _is_file(fs: AbstractFileSystem | None, path: str) -> bool:
    if fs is None:
        return Path(path).is_file()
    fs.invalidate_cache(path.rsplit("/", 1)[0])
    return bool(fs.isfile(path))


def owned(root: Root, number: int) -> bool:
    """Whether the trial folder was made by the study whose folder is ``root``."""
    fs, d = _trial_path(root, number)
    try:
        return _read(fs, f"{d}/{_OWNER}").decode().strip() == _name(root)
    except (OSError, UnicodeDecodeError):
        return False


def save(
    root: Root,
    number: int,
    attempt: int,
    obj: Any,
    step: float | None,
    reports: list[dict[str, Any]] | None = None,
) -> int:
    """Write ``obj`` atomically; returns its size in bytes.

    ``reports`` (the trial's latest reports up to ``step``) are kept beside it: a report is
    sent to the driver without waiting, so a driver killed just after the trial saved its
    checkpoint may never have stored the last ones, and the re-run starts after them.
    """
    import torch

    make_trial_dir(root, number)
    fs, d = _trial_path(root, number)
    # unique per save: an object store has no rename, so each checkpoint gets its own name
    name = f"checkpoint-{attempt}-{time.time_ns()}-{uuid.uuid4().hex[:8]}.pt"
    size = _put(fs, d, name, lambda f: torch.save(obj, f), f".checkpoint-{attempt}-")
    meta = {
        "step": step,
        "attempt": attempt,
        "bytes": size,
        "time": time.time(),
        "file": name,
        "reports": reports or [],
    }
    # from here on the new checkpoint is the one
    _put(fs, d, _META, json.dumps(meta).encode(), f".meta-{attempt}-")
    for old, _, is_file in _listing(fs, d):
        if is_file and old.startswith("checkpoint") and old.endswith(".pt") and old != name:
            _remove(fs, f"{d}/{old}")
    if fs is None:  # (an object store has no temporaries)
        remove_temporaries(root, number, before_attempt=attempt)
    return size


def remove_temporaries(root: Root, number: int, before_attempt: int | None = None) -> None:
    """Delete half-written files a killed save left in the trial's folder: those of attempts
    before ``before_attempt`` (a running attempt may be writing its own), or all of them.
    (An object store has none: an upload cut short leaves no object.)"""
    fs, d = _trial_path(root, number)
    for name, _, _ in _listing(fs, d):
        m = _TEMP.fullmatch(name)
        if m and (before_attempt is None or int(m.group(2)) < before_attempt):
            _remove(fs, f"{d}/{name}")


def load(root: Root, number: int, weights_only: bool = True) -> tuple[Any, float | None] | None:
    """``(obj, step)`` of the trial's checkpoint, or None if it has none."""
    import torch

    if not owned(root, number):  # not this study's: never load it
        return None
    fs, d = _trial_path(root, number)
    meta = _meta(root, number)
    name = meta.get("file")
    if not isinstance(name, str) or not _is_plain_name(name):
        return None
    try:
        source = Path(d) / name if fs is None else io.BytesIO(fs.cat_file(f"{d}/{name}"))
        if fs is None and not source.is_file():
            return None
    except FileNotFoundError:
        return None
    return torch.load(source, weights_only=weights_only), meta.get("step")


def checkpoint_step(root: Root, number: int) -> float | None:
    """The step recorded with the trial's checkpoint (None without a checkpoint)."""
    step = _meta(root, number).get("step") if owned(root, number) else None
    return step if isinstance(step, (int, float)) and not isinstance(step, bool) else None


def checkpoint_reports(root: Root, number: int) -> list[dict[str, Any]]:
    """The reports saved with the trial's checkpoint (its latest ones up to its step)."""
    reports = _meta(root, number).get("reports") if owned(root, number) else None
    return [r for r in reports if isinstance(r, dict)] if isinstance(reports, list) else []


def _is_plain_name(name: str) -> bool:
    return name not in ("", ".", "..") and Path(name).name == name and "\\" not in name


def _meta(root: Root, number: int) -> dict[str, Any]:
    fs, d = _trial_path(root, number)
    try:
        meta = json.loads(_read(fs, f"{d}/{_META}"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def size(root: Root, number: int) -> int:
    fs, d = _trial_path(root, number)
    return sum(n for _, n, is_file in _listing(fs, d) if is_file)


def delete(root: Root, number: int) -> None:
    """Delete the trial's folder, if this study made it (see :func:`owned`)."""
    if owned(root, number):
        fs, d = _trial_path(root, number)
        _remove(fs, d, folder=True)


def stored(root: Root) -> list[int]:
    """Trial numbers that have a checkpoint folder made by this study."""
    fs, path = _fs(root)
    out = []
    for name, _, is_file in _listing(fs, path):
        number = name[len("trial-") :]
        if (
            not is_file
            and name.startswith("trial-")
            and number.isdigit()
            and str(int(number)) == number
            and owned(root, int(number))
        ):
            out.append(int(number))
    return sorted(out)


def to_delete(
    policy: Checkpoints,
    present: Sequence[int],
    running: Sequence[int],
    ranked_complete: Sequence[int],
    sizes: dict[int, int],
) -> list[int]:
    """Which checkpoints to delete (pure): everything of finished trials outside the best
    ``keep_best`` of ``ranked_complete`` (best first), then, while the total exceeds
    ``max_bytes``, kept ones worst first. Running trials' checkpoints are never deleted."""
    running_set = set(running)
    keep = [n for n in ranked_complete[: policy.keep_best] if n in present]
    doomed = [n for n in present if n not in running_set and n not in keep]
    if policy.max_bytes is not None:
        total = sum(sizes.get(n, 0) for n in present if n not in doomed)
        for n in reversed(keep):
            if total <= policy.max_bytes:
                break
            doomed.append(n)
            total -= sizes.get(n, 0)
    return doomed
