"""SQLite store: one file (WAL journal), standard-library ``sqlite3``, JSON columns.

``SQLiteStore(":memory:")`` is the in-memory store: a single implementation of the contract
means the in-memory and file-backed studies cannot drift apart.

Example:
    >>> store = SQLiteStore(":memory:")
    >>> rec = store.create_study("demo", settings={"seed": 1}, lineage={})
    >>> store.study_names()
    ['demo']
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hpo_notebook.exceptions import StorageError
from hpo_notebook.store.base import SCHEMA_VERSION, StudyRecord
from hpo_notebook.trial import Trial, TrialState

_FORMAT = "hpo_notebook"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hpo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    settings TEXT NOT NULL,
    lineage TEXT NOT NULL,
    optimizer_state TEXT,
    target INTEGER
);
CREATE TABLE IF NOT EXISTS trials (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    metric_values TEXT,
    seed INTEGER,
    proposal TEXT NOT NULL,
    created_at REAL,
    started_at REAL,
    ended_at REAL,
    worker TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    traceback TEXT,
    lineage TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (study_id, number)
);
CREATE TABLE IF NOT EXISTS reports (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    trial INTEGER NOT NULL,
    step REAL NOT NULL,
    metrics TEXT NOT NULL,
    t REAL,
    attempt INTEGER,
    worker TEXT,
    PRIMARY KEY (study_id, trial, step)
);
"""

_TRIAL_COLUMNS = (
    "number, state, params, metric_values, seed, proposal, created_at, started_at, ended_at, "
    "worker, attempt, error, traceback, lineage, extra"
)


def _dumps(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"))


class SQLiteStore:
    """A study store in one SQLite file, created on first use.

    Args:
        path: file path (parent folders are created) or ``":memory:"``.

    Raises:
        StorageError: the file exists but is not an hpo_notebook study file, or was written
            by a newer version.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: str | None = None if str(path) == ":memory:" else str(Path(path))
        self._lock = threading.RLock()
        #: True when the file could only be opened for reading (a read-only file or folder):
        #: every read works, every write raises StorageError.
        self.read_only = False
        try:
            if self.path is None:
                self._conn = _connect(":memory:")
            elif Path(self.path).is_file() and not _writable(Path(self.path)):
                self._conn = _connect_read_only(Path(self.path))
                self.read_only = True
            else:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._conn = _connect(self.path)
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            raise StorageError(
                f"{path} is not an hpo_notebook study file (SQLite says: {exc})"
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot open {path} as a study file: {exc}") from None

    # ------------------------------------------------------------------ setup

    def _init_schema(self) -> None:
        c = self._conn
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "hpo_meta" not in tables:
            raise StorageError(
                f"{self.path} is an SQLite file but not an hpo_notebook study file "
                f"(it has tables {sorted(tables)}); choose another storage path"
            )
        if self.path is not None and not self.read_only:
            c.execute("PRAGMA journal_mode=WAL")
            # Durable across process crashes (SIGKILL); only a power cut can lose the last
            # commits in WAL mode with NORMAL.
            c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA foreign_keys=ON")
        if tables:
            meta = dict(c.execute("SELECT key, value FROM hpo_meta"))
            if meta.get("format") != _FORMAT:
                raise StorageError(f"{self.path} is not an hpo_notebook study file")
            try:
                version = int(meta.get("schema_version", "0"))
            except (TypeError, ValueError):
                raise StorageError(
                    f"{self.path} is damaged: its schema version is "
                    f"{meta.get('schema_version')!r}, not a number (table hpo_meta)"
                ) from None
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path} uses schema version {version}, newer than this hpo_notebook "
                    f"understands ({SCHEMA_VERSION}); upgrade hpo-notebook to open it"
                )
            return
        if self.read_only:
            raise StorageError(f"{self.path} is read-only and empty: not a study file")
        with self._tx() as cur:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    cur.execute(stmt)
            cur.executemany(
                "INSERT INTO hpo_meta (key, value) VALUES (?, ?)",
                [
                    ("format", _FORMAT),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created_at", repr(time.time())),
                ],
            )

    class _Tx:
        def __init__(self, store: SQLiteStore) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Cursor:
            if self.store.read_only:
                raise StorageError(
                    f"{self.store.path} is read-only (the file or its folder cannot be "
                    "written): it is open for analysis only; copy it to a writable folder to "
                    "go on with the study"
                )
            self.store._lock.acquire()
            self.cur = self.store._conn.cursor()
            self.cur.execute("BEGIN IMMEDIATE")
            return self.cur

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            try:
                self.cur.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def _tx(self) -> SQLiteStore._Tx:
        return SQLiteStore._Tx(self)

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ studies

    def create_study(
        self, name: str, settings: dict[str, Any], lineage: dict[str, Any]
    ) -> StudyRecord:
        now = time.time()
        try:
            with self._tx() as cur:
                cur.execute(
                    "INSERT INTO studies (name, created_at, settings, lineage) VALUES (?,?,?,?)",
                    (name, now, _dumps(settings), _dumps(lineage)),
                )
                sid = int(cur.lastrowid or 0)
        except sqlite3.IntegrityError:
            raise StorageError(
                f"{self.path or 'the store'} already holds a study named {name!r}"
            ) from None
        return StudyRecord(sid, name, settings, lineage, None, None, now)

    def get_study(self, name: str | None = None) -> StudyRecord:
        rows = self._query(
            "SELECT id, name, settings, lineage, optimizer_state, target, created_at "
            "FROM studies ORDER BY id"
        )
        if name is not None:
            rows = [r for r in rows if r[1] == name]
        if not rows:
            names = self.study_names()
            where = self.path or "the in-memory store"
            if name is None:
                raise StorageError(f"{where} holds no study yet")
            raise StorageError(f"{where} holds no study named {name!r}; it holds {names}")
        if len(rows) > 1:
            raise StorageError(
                f"{self.path or 'the in-memory store'} holds several studies "
                f"{[r[1] for r in rows]}; pass name=..."
            )
        return self._record(rows[0])

    def _record(self, row: tuple[Any, ...]) -> StudyRecord:
        sid, nm, settings, lineage, ostate, target, created = row
        where = f"study {nm!r}"
        return StudyRecord(
            int(sid),
            nm,
            self._json(settings, where, "settings", dict),
            self._json(lineage, where, "lineage", dict),
            self._json(ostate, where, "optimizer_state", dict) if ostate else None,
            target,
            float(created),
        )

    def _json(self, text: Any, where: str, column: str, kind: type | None = None) -> Any:
        """Decode a JSON column, or say which row and column of which file is damaged."""
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"{self.path or 'the in-memory store'} is damaged: {where}, column {column!r} "
                f"is not valid JSON ({exc}): {_short(text)}"
            ) from None
        if kind is not None and not isinstance(value, kind):
            raise StorageError(
                f"{self.path or 'the in-memory store'} is damaged: {where}, column {column!r} "
                f"should hold a JSON {kind.__name__}, got {_short(text)}"
            )
        return value

    def study_names(self) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM studies ORDER BY id")]

    def data_version(self) -> int:
        """A number that changes whenever another connection (another process, another
        ``SQLiteStore``) commits to the file; cheap, for watching a study run elsewhere."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def set_optimizer_state(self, study_id: int, state: dict[str, Any] | None) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE studies SET optimizer_state=? WHERE id=?",
                (None if state is None else _dumps(state), study_id),
            )

    def set_target(self, study_id: int, target: int | None) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE studies SET target=? WHERE id=?", (target, study_id))

    def set_settings(self, study_id: int, settings: dict[str, Any]) -> None:
        """Replace a study's settings (a widened space)."""
        with self._tx() as cur:
            cur.execute("UPDATE studies SET settings=? WHERE id=?", (_dumps(settings), study_id))

    # ------------------------------------------------------------------ trials

    def add_trials(self, study_id: int, trials: Iterable[Trial]) -> None:
        """Insert new trials in one transaction; a number already taken raises (nothing is
        written), so two writers can never overwrite each other's trials."""
        rows = [_trial_row(study_id, t) for t in trials]
        try:
            with self._tx() as cur:
                cur.executemany(
                    f"INSERT INTO trials (study_id, {_TRIAL_COLUMNS}) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
        except sqlite3.IntegrityError:
            numbers = [r[1] for r in rows]
            raise StorageError(
                f"{self.path or 'the store'}: trial number(s) {numbers} already exist in this "
                "study; another process or Study object is adding trials to it"
            ) from None

    def update_trial(self, study_id: int, trial: Trial) -> None:
        """Save a new snapshot of a trial that :meth:`add_trials` created."""
        row = _trial_row(study_id, trial)
        sets = ", ".join(f"{c.strip()}=?" for c in _TRIAL_COLUMNS.split(",")[1:])
        with self._tx() as cur:
            cur.execute(
                f"UPDATE trials SET {sets} WHERE study_id=? AND number=?",
                (*row[2:], study_id, trial.number),
            )
            if cur.rowcount != 1:
                raise StorageError(f"{self.path or 'the store'}: no trial {trial.number} to update")

    def trials(self, study_id: int) -> list[Trial]:
        rows = self._query(
            f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE study_id=? ORDER BY number", (study_id,)
        )
        return [self._trial(study_id, r) for r in rows]

    def _trial(self, study_id: int, r: tuple[Any, ...]) -> Trial:
        where = f"study {study_id}, trial {r[0]!r}"
        try:
            state = TrialState(r[1])
        except ValueError:
            raise StorageError(
                f"{self.path or 'the in-memory store'} is damaged: {where} has state {r[1]!r}; "
                f"a state is one of {[s.value for s in TrialState]}"
            ) from None
        try:
            return Trial(
                number=int(r[0]),
                state=state,
                params=self._json(r[2], where, "params", dict),
                values=None if r[3] is None else self._json(r[3], where, "metric_values", dict),
                seed=r[4],
                proposal=self._json(r[5], where, "proposal", dict),
                created_at=r[6],
                started_at=r[7],
                ended_at=r[8],
                worker=r[9],
                attempt=int(r[10]),
                error=r[11],
                traceback=r[12],
                lineage=self._json(r[13], where, "lineage", dict),
                extra=self._json(r[14], where, "extra", dict),
            )
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"{self.path or 'the in-memory store'} is damaged: {where}: {exc}"
            ) from None

    # ------------------------------------------------------------------ reports

    def add_reports(self, study_id: int, reports: Iterable[dict[str, Any]]) -> None:
        rows = [
            (
                study_id,
                int(r["trial"]),
                float(r["step"]),
                _dumps(r["metrics"]),
                r.get("t"),
                r.get("attempt"),
                r.get("worker"),
            )
            for r in reports
        ]
        if not rows:
            return
        with self._tx() as cur:
            cur.executemany(
                "INSERT OR REPLACE INTO reports (study_id, trial, step, metrics, t, attempt, "
                "worker) VALUES (?,?,?,?,?,?,?)",
                rows,
            )

    def reports_version(self, study_id: int) -> tuple[int, int]:
        """The study's report count and latest row id: changes with every report written
        (a replaced report gets a new row id)."""
        n, last = self._query(
            "SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM reports WHERE study_id=?", (study_id,)
        )[0]
        return int(n), int(last)

    def reports(self, study_id: int, trial: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT trial, step, metrics, t, attempt, worker FROM reports WHERE study_id=?"
        args: tuple[Any, ...] = (study_id,)
        if trial is not None:
            sql += " AND trial=?"
            args += (trial,)
        rows = self._query(sql + " ORDER BY trial, step", args)
        return [
            {
                "trial": r[0],
                "step": _step(r[1]),
                "metrics": self._json(
                    r[2], f"report of trial {r[0]} at step {r[1]}", "metrics", dict
                ),
                "t": r[3],
                "attempt": r[4],
                "worker": r[5],
            }
            for r in rows
        ]

    def delete_reports(self, study_id: int, trial: int, after_step: float | None = None) -> None:
        with self._tx() as cur:
            if after_step is None:
                cur.execute("DELETE FROM reports WHERE study_id=? AND trial=?", (study_id, trial))
            else:
                cur.execute(
                    "DELETE FROM reports WHERE study_id=? AND trial=? AND step>?",
                    (study_id, trial, float(after_step)),
                )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path or ':memory:'!r})"


def _trial_row(study_id: int, t: Trial) -> tuple[Any, ...]:
    return (
        study_id,
        t.number,
        t.state.value,
        _dumps(t.params),
        None if t.values is None else _dumps(t.values),
        t.seed,
        _dumps(t.proposal),
        t.created_at,
        t.started_at,
        t.ended_at,
        t.worker,
        t.attempt,
        t.error,
        t.traceback,
        _dumps(t.lineage),
        _dumps(t.extra),
    )


def _connect(target: str) -> sqlite3.Connection:
    return sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=30)


def _writable(path: Path) -> bool:
    """Whether SQLite can write ``path``: the file, and its folder (WAL mode keeps ``-wal`` and
    ``-shm`` files beside it)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection. ``mode=ro`` still needs the WAL index (``-shm``) beside the file;
    where that cannot be made (a read-only folder), ``immutable=1`` reads the file as it is."""
    base = "file:" + urllib.parse.quote(str(path.resolve()))
    conn = sqlite3.connect(
        base + "?mode=ro", uri=True, check_same_thread=False, isolation_level=None
    )
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    return sqlite3.connect(
        base + "?immutable=1", uri=True, check_same_thread=False, isolation_level=None
    )


def _short(x: Any, limit: int = 80) -> str:
    r = repr(x)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _step(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def open_store(storage: str | os.PathLike[str] | SQLiteStore | None) -> SQLiteStore:
    """The store for ``Study(storage=...)``: None keeps the study in memory."""
    if storage is None:
        return SQLiteStore(":memory:")
    if isinstance(storage, SQLiteStore):
        return storage
    if isinstance(storage, (str, os.PathLike)):
        s = str(storage)
        if s.startswith("sqlite:///"):
            s = s[len("sqlite:///") :]
        return SQLiteStore(s)
    raise StorageError(
        f"storage must be a file path such as 'runs/study.db' or None (in memory), got {storage!r}"
    )
