"""Per-trial checkpoints on disk, and the policy that keeps their size in check.

Layout: ``<dir>/<study uid>/trial-<number>/`` holds ``checkpoint-<attempt>-<ns>.pt`` (written
with ``torch.save`` to a temporary file, then renamed), ``meta.json`` (``{"step", "attempt",
"bytes", "time", "file", "reports"}``), which names the current checkpoint file, and
``.owner`` (the study's uid). The new meta is put in place after the new file and the old file
is deleted after that, so a worker or driver killed at any moment leaves a checkpoint and a
step that belong together (never half a checkpoint, and never the state of step 6 labelled as
step 5). The folder must be visible to every worker and to the driver (a local disk for a
LocalCluster, a shared file system for a real cluster).

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

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
            folder for an in-memory study). Each study writes into a subfolder named by its
            unique id, so studies can share one.
        keep_best: checkpoints of this many best completed trials are kept (for several
            objectives: the best-ranked by Pareto front and crowding distance); those of
            pruned, failed and other completed trials are deleted when they end.
        max_bytes: a bound on the folder's total size; past it, kept checkpoints of finished
            trials are deleted worst first (those of running trials never are).
    """

    dir: str | None = None
    keep_best: int = 3
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.dir is not None and (not isinstance(self.dir, str) or not self.dir):
            raise ConfigError(f"Checkpoints: dir must be a folder path or None, got {self.dir!r}")
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

    def study_root(self, uid: str) -> str:
        """The folder of one study's checkpoints (``dir`` must be resolved)."""
        if self.dir is None:
            raise ConfigError("Checkpoints.study_root: resolve the policy first")
        return str(Path(self.dir) / uid)


def trial_dir(root: str, number: int) -> Path:
    return Path(root) / f"trial-{number}"


def make_trial_dir(root: str, number: int) -> Path:
    """The trial's folder, created and marked as the study's (the root's name is its uid)."""
    d = trial_dir(root, number)
    d.mkdir(parents=True, exist_ok=True)
    owner = d / _OWNER
    if not owner.is_file():
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".owner-", suffix=".part")
        with os.fdopen(fd, "w") as f:
            f.write(Path(root).name)
        os.replace(tmp, owner)
    return d


def owned(root: str, number: int) -> bool:
    """Whether the trial folder was made by the study whose folder is ``root``."""
    try:
        return (trial_dir(root, number) / _OWNER).read_text().strip() == Path(root).name
    except OSError:
        return False


def save(
    root: str,
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

    d = make_trial_dir(root, number)
    name = f"checkpoint-{attempt}-{time.time_ns()}.pt"
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".checkpoint-{attempt}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        size = os.path.getsize(tmp)
        os.replace(tmp, d / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    meta = {
        "step": step,
        "attempt": attempt,
        "bytes": size,
        "time": time.time(),
        "file": name,
        "reports": reports or [],
    }
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".meta-{attempt}-", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(meta, f)
    os.replace(tmp, d / _META)  # from here on the new checkpoint is the one
    for old in d.glob("checkpoint*.pt"):
        if old.name != name:
            old.unlink(missing_ok=True)
    remove_temporaries(root, number, before_attempt=attempt)
    return size


def remove_temporaries(root: str, number: int, before_attempt: int | None = None) -> None:
    """Delete half-written files a killed save left in the trial's folder: those of attempts
    before ``before_attempt`` (a running attempt may be writing its own), or all of them."""
    d = trial_dir(root, number)
    if not d.is_dir():
        return
    for p in d.iterdir():
        m = _TEMP.fullmatch(p.name)
        if m and (before_attempt is None or int(m.group(2)) < before_attempt):
            p.unlink(missing_ok=True)


def load(root: str, number: int, weights_only: bool = True) -> tuple[Any, float | None] | None:
    """``(obj, step)`` of the trial's checkpoint, or None if it has none."""
    import torch

    d = trial_dir(root, number)
    if not owned(root, number):  # not this study's: never load it
        return None
    meta = _meta(root, number)
    name = meta.get("file")
    if not isinstance(name, str) or not _is_plain_name(name) or not (d / name).is_file():
        return None
    obj = torch.load(d / name, weights_only=weights_only)
    return obj, meta.get("step")


def checkpoint_step(root: str, number: int) -> float | None:
    """The step recorded with the trial's checkpoint (None without a checkpoint)."""
    step = _meta(root, number).get("step") if owned(root, number) else None
    return step if isinstance(step, (int, float)) and not isinstance(step, bool) else None


def checkpoint_reports(root: str, number: int) -> list[dict[str, Any]]:
    """The reports saved with the trial's checkpoint (its latest ones up to its step)."""
    reports = _meta(root, number).get("reports") if owned(root, number) else None
    return [r for r in reports if isinstance(r, dict)] if isinstance(reports, list) else []


def _is_plain_name(name: str) -> bool:
    return name not in ("", ".", "..") and Path(name).name == name and "\\" not in name


def _meta(root: str, number: int) -> dict[str, Any]:
    try:
        meta = json.loads((trial_dir(root, number) / _META).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def size(root: str, number: int) -> int:
    d = trial_dir(root, number)
    return sum(p.stat().st_size for p in d.glob("*") if p.is_file()) if d.is_dir() else 0


def delete(root: str, number: int) -> None:
    """Delete the trial's folder, if this study made it (see :func:`owned`)."""
    if owned(root, number):
        shutil.rmtree(trial_dir(root, number), ignore_errors=True)


def stored(root: str) -> list[int]:
    """Trial numbers that have a checkpoint folder made by this study."""
    p = Path(root)
    if not p.is_dir():
        return []
    out = []
    for d in p.glob("trial-*"):
        number = d.name[len("trial-") :]
        if number.isdigit() and str(int(number)) == number and owned(root, int(number)):
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
