"""Signing the code a study file holds, so that ``%hpo resume`` runs only the user's own.

A ``%%hpo`` cell is stored in its study file, and ``%hpo resume`` turns it back into code that
runs in the kernel's namespace and on the workers. A study file is data: it is mailed,
downloaded, shared, edited. So when a cell defines a study, what will be executed is signed with
HMAC-SHA256 under a key that only this user can read, as Jupyter signs the notebooks it trusts.
A stored cell whose signature verifies was stored by this user (with this key); any other is
shown and runs only after an explicit ``--trust``.

The key is 32 random bytes in ``signing_key``, in ``$HPO_NOTEBOOK_SECRET_DIR`` if that is set,
else in ``$XDG_DATA_HOME/hpo_notebook/`` (``~/.local/share/hpo_notebook/`` without it;
``%APPDATA%\\hpo_notebook\\`` on Windows). It is made on first use, with mode 0600. On POSIX a
key that another account owns, or that group or others may read or write, is refused rather
than used (Jupyter only warns): whoever can read it can sign a file that then runs in your
kernel without a question, and whoever can write it can choose it.

Example:
    >>> payload = cell_payload("y = lr * 2", metrics=["y"], param_names=["lr"])
    >>> sign(payload, key=bytes(32)) == sign(payload, key=bytes(32))
    True
    >>> sign(payload, key=bytes(32)) == sign(payload.replace("2", "3"), key=bytes(32))
    False
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from hpo_notebook.exceptions import SigningKeyError

SECRET_DIR_ENV = "HPO_NOTEBOOK_SECRET_DIR"
KEY_FILE = "signing_key"
KEY_BYTES = 32
# Part of every payload, so that a signature made for something else with the same key (or for
# a later format of the payload) never verifies as a %%hpo cell.
_SCHEME = "hpo_notebook %%hpo cell v1"


def key_dir() -> Path:
    """The folder of the signing key (see the module docstring); not created here."""
    if os.environ.get(SECRET_DIR_ENV):
        return Path(os.environ[SECRET_DIR_ENV]).expanduser()
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "hpo_notebook"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # the XDG spec says a relative path there is invalid and is to be ignored
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "hpo_notebook"


def key_path() -> Path:
    """The signing key file."""
    return key_dir() / KEY_FILE


def load_key(create: bool = True) -> bytes | None:
    """The user's signing key, made on first use when ``create``.

    Args:
        create: make the key if there is none yet; without it, a missing key gives None.

    Returns:
        The key's bytes, or None when there is none and ``create`` is False.

    Raises:
        SigningKeyError: the key cannot be made, or the file is not a usable key (wrong size,
            another account's, or readable or writable by group or others on POSIX).
    """
    path = key_path()
    if create and not path.exists():
        _create_key(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        if create:  # made a moment ago and deleted since: nothing sensible to sign with
            raise SigningKeyError(f"the signing key {path} vanished as it was made") from None
        return None
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc}") from None
    with os.fdopen(fd, "rb") as f:
        # checked on the open file, not the path, so that what is checked is what is read
        st = os.fstat(f.fileno())
        _check_safe(path, st)
        key = f.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise SigningKeyError(
            f"the signing key {path} holds {st.st_size} bytes, not {KEY_BYTES}: delete it to "
            "make a new one (the studies you signed with it will then ask for --trust)"
        )
    return key


def _check_safe(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise SigningKeyError(f"the signing key {path} is not a regular file")
    if os.name != "posix":
        # Windows keeps a user's profile folders private by default; its ACLs are not modes
        return
    if st.st_uid != os.geteuid():
        raise SigningKeyError(
            f"the signing key {path} belongs to another account (uid {st.st_uid}): delete it "
            "(or set HPO_NOTEBOOK_SECRET_DIR) to make a key of your own"
        )
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"the signing key {path} can be read or written by others (mode "
            f"{stat.S_IMODE(st.st_mode):o}): run chmod 600 {path}, or delete it to make a new one"
        )


def _create_key(path: Path) -> None:
    """Write a new key to a private temporary file and link it into place.

    A link never replaces an existing file, and the key is complete before it has its name: of
    two processes making the key at once, one wins and the other reads the winner's whole key
    (never a half-written one, never a key that was replaced after it signed something).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        _write_new(tmp, secrets.token_bytes(KEY_BYTES))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: its key is the key
        except OSError:
            # no hard links on this file system: create in place; exclusive creation still
            # keeps the first key, only a reader racing the first write could see it short
            with contextlib.suppress(FileExistsError):
                _write_new(path, tmp.read_bytes())
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise SigningKeyError(
            f"cannot make the signing key {path}: {exc} (set {SECRET_DIR_ENV} to a private "
            "folder you can write)"
        ) from None


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) readable and writable by its owner only."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def cell_payload(cell: str, metrics: Sequence[str], param_names: Sequence[str]) -> str:
    """The canonical text signed for a ``%%hpo`` cell.

    It holds everything from the study file that shapes the trial function's source (see
    ``magics.trial_source``): the cell, the metric names it returns and the parameter names it
    unpacks. The generated source itself is not signed, so that a signature outlives a new
    version of this package that writes the wrapper differently; the wrapper is this package's
    code, not the file's.

    Args:
        cell: the cell's body.
        metrics: the objective and constraint names, in the order stored.
        param_names: the space's parameter names, in order.
    """
    data = {
        "scheme": _SCHEME,
        "cell": cell,
        "metrics": list(metrics),
        "params": list(param_names),
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sign(payload: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``payload`` (hex).

    Args:
        payload: what to sign, usually from :func:`cell_payload`.
        key: the key; default the user's (:func:`load_key`, made on first use).

    Raises:
        SigningKeyError: the user's key cannot be made or used.
    """
    key = load_key() if key is None else key
    assert key is not None  # load_key(create=True) returns a key or raises
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(payload: str, signature: object) -> bool:
    """Whether ``signature`` is the user's signature of ``payload``.

    A missing key means this user never signed anything, so nothing verifies (and no key is
    made just to check). A signature that is not a string (an edited file) does not verify.

    Raises:
        SigningKeyError: the key exists but is not safe to use.
    """
    # the key first: a broken key is worth hearing about even when this file is unsigned
    key = load_key(create=False)
    if key is None or not isinstance(signature, str):
        return False
    expected = sign(payload, key).encode("ascii")
    # constant time, so that the time taken says nothing about how much of a forgery matched
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def printable(source: str) -> str:
    """``source`` with control and invisible characters escaped (``\\r`` -> ``\\\\r``).

    Code shown to be read before it is trusted must look like what runs: a carriage return, an
    ANSI escape or a bidirectional override (Trojan Source) can hide or reorder what a notebook
    displays, while Python still compiles it.
    """
    return "".join(
        ch if ch in "\n\t" or ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in source
    )


__all__ = [
    "KEY_BYTES",
    "SECRET_DIR_ENV",
    "SigningKeyError",
    "cell_payload",
    "key_path",
    "load_key",
    "printable",
    "sign",
    "verify",
]
