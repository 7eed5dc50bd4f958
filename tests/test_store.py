"""Tests of hpo_notebook/store/sqlite.py.

The contract tests run over every store implementation (the file-backed and the in-memory
SQLite store); the file-only behaviour (reopening, WAL, refusing foreign files) follows.
"""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from hpo_notebook.exceptions import HpoError, StorageError
from hpo_notebook.store import SCHEMA_VERSION, SQLiteStore, StudyRecord, open_store
from hpo_notebook.trial import Trial, TrialState

STORE_KINDS = ["file", "memory"]


def _make_store(kind: str, tmp_path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "sub" / "study.db") if kind == "file" else SQLiteStore(":memory:")


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    s = _make_store(request.param, tmp_path)
    yield s
    s.close()


@pytest.fixture
def file_store(tmp_path):
    s = SQLiteStore(tmp_path / "study.db")
    yield s
    s.close()


SETTINGS = {
    "space": {"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True}},
    "objectives": {"loss": {"direction": "min", "threshold": None}},
    "seed": 123,
    "note": "ünïcödé ✓ 学习率",
}
LINEAGE = {"git": None, "packages": {"torch": "2.13.0"}, "argv": ["a", "b c"]}


def _full_trial(number: int = 0) -> Trial:
    """A trial with every field set, unicode, None values and nested JSON params."""
    return Trial(
        number=number,
        state=TrialState.COMPLETE,
        params={
            "lr": 0.001234567890123,
            "layers": 3,
            "act": "relu ✓",
            "flag": True,
            "none": None,
            "nested": {"a": [1, 2.5, None, {"b": "ß"}], "empty": {}},
        },
        values={"loss": 0.125, "acc": 0.875, "note": "früh", "extra": None},
        seed=2**62 + 7,
        proposal={"kind": "qLogNEHVI", "fit_s": 0.25, "acq_s": 1.5, "total_s": 1.75},
        created_at=1_700_000_000.123456,
        started_at=1_700_000_001.5,
        ended_at=1_700_000_042.75,
        worker="tcp://127.0.0.1:40000 😀",
        attempt=2,
        error="ValueError: naïve 💥",
        traceback='Traceback (most recent call last):\n  File "<x>"\nValueError: naïve 💥\n',
        lineage={"host": "hôte", "pid": 4242, "torch": "2.13.0"},
    )


def _minimal_trial(number: int) -> Trial:
    return Trial(number=number, state=TrialState.RUNNING, params={"x": number / 10})


# ---------------------------------------------------------------------- contract: studies


def test_study_round_trip(store):
    rec = store.create_study("ünï study", SETTINGS, LINEAGE)
    assert isinstance(rec, StudyRecord)
    assert (rec.name, rec.settings, rec.lineage) == ("ünï study", SETTINGS, LINEAGE)
    assert rec.optimizer_state is None and rec.target is None
    assert store.get_study("ünï study") == rec
    assert store.get_study() == rec
    assert store.study_names() == ["ünï study"]

    state = {"rung": [1, 2], "model": {"ok": True, "lengthscale": 0.3}}
    store.set_optimizer_state(rec.id, state)
    store.set_target(rec.id, 40)
    got = store.get_study()
    assert got.optimizer_state == state
    assert got.target == 40
    assert got.created_at == rec.created_at
    store.set_optimizer_state(rec.id, None)
    store.set_target(rec.id, None)
    got = store.get_study()
    assert (got.optimizer_state, got.target) == (None, None)


def test_duplicate_study_name_raises(store):
    store.create_study("a", {}, {})
    with pytest.raises(StorageError, match=r"already holds a study named 'a'") as info:
        store.create_study("a", {"other": 1}, {})
    assert isinstance(info.value, HpoError)
    assert store.study_names() == ["a"]
    assert store.get_study("a").settings == {}


def test_get_study_errors(store):
    with pytest.raises(StorageError, match=r"holds no study yet"):
        store.get_study()
    store.create_study("first", {}, {})
    store.create_study("second", {}, {})
    with pytest.raises(StorageError, match=r"several studies \['first', 'second'\]; pass name="):
        store.get_study()
    with pytest.raises(
        StorageError, match=r"no study named 'third'; it holds \['first', 'second'\]"
    ):
        store.get_study("third")
    assert store.get_study("second").name == "second"


def test_memory_store_several_studies_message():
    s = SQLiteStore(":memory:")
    s.create_study("a", {}, {})
    s.create_study("b", {}, {})
    with pytest.raises(StorageError) as info:
        s.get_study()
    assert not str(info.value).startswith("None")


# ---------------------------------------------------------------------- contract: trials


def test_trial_round_trip_every_field(store):
    sid = store.create_study("s", {}, {}).id
    full = _full_trial(0)
    bare = Trial(number=1, state=TrialState.RUNNING, params={})
    store.add_trials(sid, [full, bare])
    got = store.trials(sid)
    assert got == [full, bare]
    assert got[0].state is TrialState.COMPLETE
    assert got[1].values is None and got[1].proposal == {} and got[1].lineage == {}
    assert got[0].duration == pytest.approx(41.25)


@pytest.mark.parametrize("state", list(TrialState))
def test_every_state_round_trips(store, state):
    sid = store.create_study("s", {}, {}).id
    store.add_trials(sid, [Trial(number=0, state=state, params={"x": 1})])
    assert store.trials(sid)[0].state is state


def test_update_trial_replaces_by_number_and_orders(store):
    sid = store.create_study("s", {}, {}).id
    store.add_trials(sid, [_minimal_trial(2)])
    store.add_trials(sid, [_minimal_trial(0), _minimal_trial(1)])
    done = Trial(number=1, state=TrialState.FAILED, params={"x": 9}, error="boom", attempt=3)
    store.update_trial(sid, done)
    got = store.trials(sid)
    assert [t.number for t in got] == [0, 1, 2]
    assert got[1] == done


def test_a_trial_number_is_never_overwritten(store):
    """Two writers adding trial 1: the second is refused and writes nothing (before, INSERT OR
    REPLACE overwrote a completed trial with a new running one)."""
    sid = store.create_study("s", {}, {}).id
    done = Trial(number=1, state=TrialState.COMPLETE, params={"x": 1}, values={"y": 2.0})
    store.add_trials(sid, [_minimal_trial(0), done])
    with pytest.raises(StorageError, match=r"trial number\(s\) \[1, 2\] already exist"):
        store.add_trials(sid, [_minimal_trial(1), _minimal_trial(2)])
    assert store.trials(sid) == [_minimal_trial(0), done]


def test_update_of_a_missing_trial_raises(store):
    sid = store.create_study("s", {}, {}).id
    with pytest.raises(StorageError, match="no trial 4 to update"):
        store.update_trial(sid, _minimal_trial(4))
    assert store.trials(sid) == []


def test_trials_are_per_study(store):
    a = store.create_study("a", {}, {}).id
    b = store.create_study("b", {}, {}).id
    store.add_trials(a, [_minimal_trial(0), _minimal_trial(1)])
    store.add_trials(b, [_full_trial(0)])
    assert [t.params for t in store.trials(a)] == [{"x": 0.0}, {"x": 0.1}]
    assert store.trials(b) == [_full_trial(0)]
    store.add_reports(a, [{"trial": 0, "step": 1, "metrics": {"m": 1.0}}])
    assert store.reports(b) == []


def test_unserializable_trial_writes_nothing(store):
    sid = store.create_study("s", {}, {}).id
    bad = Trial(number=1, state=TrialState.RUNNING, params={"x": object()})
    with pytest.raises(TypeError):
        store.add_trials(sid, [_minimal_trial(0), bad])
    assert store.trials(sid) == []
    store.add_trials(sid, [_minimal_trial(0)])  # the store is still usable
    assert len(store.trials(sid)) == 1


# ---------------------------------------------------------------------- contract: reports


def _report(trial, step, value, attempt=1, worker="w1"):
    return {
        "trial": trial,
        "step": step,
        "metrics": {"loss": value, "ü": [value]},
        "t": 1000.0 + step,
        "attempt": attempt,
        "worker": worker,
    }


def test_reports_round_trip_and_replace(store):
    sid = store.create_study("s", {}, {}).id
    store.add_reports(sid, [_report(0, 1, 0.9), _report(0, 2, 0.8), _report(1, 1, 0.7)])
    store.add_reports(sid, [_report(0, 2, 0.5, attempt=2, worker="w2")])  # same (trial, step)
    store.add_reports(sid, [])
    got = store.reports(sid)
    assert got == [
        _report(0, 1, 0.9),
        _report(0, 2, 0.5, attempt=2, worker="w2"),
        _report(1, 1, 0.7),
    ]
    assert type(got[0]["step"]) is int
    assert store.reports(sid, trial=1) == [_report(1, 1, 0.7)]
    assert store.reports(sid, trial=5) == []


def test_report_optional_fields_and_fractional_steps(store):
    sid = store.create_study("s", {}, {}).id
    store.add_reports(sid, [{"trial": 0, "step": 0.5, "metrics": {"a": 1}}])
    store.add_reports(sid, [{"trial": 0, "step": 2.0, "metrics": {"a": 2}}])
    got = store.reports(sid)
    assert got == [
        {"trial": 0, "step": 0.5, "metrics": {"a": 1}, "t": None, "attempt": None, "worker": None},
        {"trial": 0, "step": 2, "metrics": {"a": 2}, "t": None, "attempt": None, "worker": None},
    ]
    assert type(got[1]["step"]) is int


def test_delete_reports(store):
    sid = store.create_study("s", {}, {}).id
    store.add_reports(sid, [_report(t, s, float(s)) for t in (0, 1) for s in (1, 2, 2.5, 3, 4)])
    store.delete_reports(sid, 0, after_step=2.5)
    assert [r["step"] for r in store.reports(sid, 0)] == [1, 2, 2.5]
    store.delete_reports(sid, 0, after_step=0)
    assert store.reports(sid, 0) == []
    assert [r["step"] for r in store.reports(sid, 1)] == [1, 2, 2.5, 3, 4]
    store.delete_reports(sid, 1)
    assert store.reports(sid) == []


# ---------------------------------------------------------------------- contract: JSON only


def test_file_holds_only_text_numbers_and_null(store):
    sid = store.create_study("s", SETTINGS, LINEAGE).id
    store.set_optimizer_state(sid, {"a": [1, 2]})
    store.add_trials(sid, [_full_trial(0), _minimal_trial(1)])
    store.add_reports(sid, [_report(0, 1, 0.5)])
    conn = store._conn  # the memory store has no other handle
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert sorted(tables) == ["hpo_meta", "reports", "studies", "trials"]
    n_values = 0
    for table in tables:
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        for row in conn.execute(f"SELECT * FROM {table}"):
            for col, v in zip(cols, row):
                n_values += 1
                assert v is None or type(v) in (str, int, float), (table, col, v)
        for col in cols:
            kinds = {r[0] for r in conn.execute(f"SELECT DISTINCT typeof({col}) FROM {table}")}
            assert kinds <= {"text", "integer", "real", "null"}, (table, col, kinds)
    assert n_values > 40
    # the JSON columns parse as JSON
    for (params,) in conn.execute("SELECT params FROM trials"):
        assert isinstance(json.loads(params), dict)


# ---------------------------------------------------------------------- contract: threads


def test_two_threads_writing_trials_lose_nothing(store):
    sid = store.create_study("s", {}, {}).id
    n = 60
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(offset):
        try:
            barrier.wait(timeout=10)
            for i in range(n):
                store.add_trials(sid, [_minimal_trial(offset + i)])
                store.add_reports(sid, [_report(offset + i, 1, 0.5)])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k * n,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert [t.number for t in store.trials(sid)] == list(range(2 * n))
    assert len(store.reports(sid)) == 2 * n


def test_two_connections_to_one_file_lose_nothing(tmp_path):
    path = tmp_path / "shared.db"
    a = SQLiteStore(path)
    sid = a.create_study("s", {}, {}).id
    b = SQLiteStore(path)
    n = 40
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(s, offset):
        try:
            barrier.wait(timeout=10)
            for i in range(n):
                s.add_trials(sid, [_minimal_trial(offset + i)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, k * n)) for k, s in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert [t.number for t in a.trials(sid)] == list(range(2 * n))
    assert b.trials(sid) == a.trials(sid)
    a.close()
    b.close()


# ---------------------------------------------------------------------- file store


def test_reopen_sees_everything(tmp_path):
    path = tmp_path / "deep" / "er" / "study.db"
    s = SQLiteStore(path)
    assert path.is_file()
    rec = s.create_study("s", SETTINGS, LINEAGE)
    s.set_optimizer_state(rec.id, {"k": 1})
    s.set_target(rec.id, 12)
    s.add_trials(rec.id, [_full_trial(0), _minimal_trial(1)])
    s.add_reports(rec.id, [_report(0, 1, 0.5), _report(0, 2, 0.25)])
    s.close()

    again = SQLiteStore(str(path))
    assert again.path == str(path)
    got = again.get_study("s")
    assert got == StudyRecord(rec.id, "s", SETTINGS, LINEAGE, {"k": 1}, 12, rec.created_at)
    assert again.trials(rec.id) == [_full_trial(0), _minimal_trial(1)]
    assert again.reports(rec.id) == [_report(0, 1, 0.5), _report(0, 2, 0.25)]
    again.close()


def test_wal_journal_mode(file_store):
    assert file_store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with sqlite3.connect(file_store.path) as other:  # persistent: seen by another connection
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_memory_store_has_no_path():
    s = SQLiteStore(":memory:")
    assert s.path is None
    assert repr(s) == "SQLiteStore(':memory:')"
    s.close()


def test_not_an_sqlite_file(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 20)
    with pytest.raises(
        StorageError, match=r"notes\.db is not an hpo_notebook study file \(SQLite says: .*"
    ):
        SQLiteStore(path)
    assert path.read_text().startswith("these are my notes")


def test_sqlite_file_with_other_tables(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ann')")
    conn.close()
    with pytest.raises(
        StorageError,
        match=r"app\.db is an SQLite file but not an hpo_notebook study file "
        r"\(it has tables \['users'\]\); choose another storage path",
    ):
        SQLiteStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM users").fetchall() == [("ann",)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # left untouched
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"users"}
    conn.close()


def test_hpo_meta_of_another_format(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE hpo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO hpo_meta VALUES ('format', 'something-else')")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match=r"other\.db is not an hpo_notebook study file"):
        SQLiteStore(path)


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    meta = dict(conn.execute("SELECT key, value FROM hpo_meta"))
    assert meta["format"] == "hpo_notebook"
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    conn.execute(
        "UPDATE hpo_meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    with pytest.raises(
        StorageError,
        match=rf"new\.db uses schema version {SCHEMA_VERSION + 1}, newer than this hpo_notebook "
        rf"understands \({SCHEMA_VERSION}\); upgrade hpo-notebook",
    ):
        SQLiteStore(path)


def test_same_schema_version_reopens(tmp_path):
    path = tmp_path / "same.db"
    SQLiteStore(path).close()
    s = SQLiteStore(path)
    assert s.study_names() == []
    s.close()


def test_empty_file_becomes_a_study_file(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    s = SQLiteStore(path)
    assert s.create_study("s", {}, {}).name == "s"
    s.close()


# ---------------------------------------------------------------------- damaged files


def _tamper(path, sql, args=()):
    conn = sqlite3.connect(path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


@pytest.fixture
def stored(tmp_path):
    """A closed study file with one study, two trials and a report."""
    path = tmp_path / "t.db"
    s = SQLiteStore(path)
    sid = s.create_study("s", SETTINGS, LINEAGE).id
    s.add_trials(sid, [_full_trial(0), _minimal_trial(1)])
    s.add_reports(sid, [_report(0, 1, 0.5)])
    s.close()
    return path


def test_unparsable_schema_version_is_a_storage_error(stored):
    _tamper(stored, "UPDATE hpo_meta SET value='two' WHERE key='schema_version'")
    with pytest.raises(StorageError, match=r"t\.db is damaged: its schema version is 'two'"):
        SQLiteStore(stored)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE trials SET params='{oops' WHERE number=1",
            r"t\.db is damaged: study 1, trial 1, column 'params' is not valid JSON",
        ),
        (
            "UPDATE trials SET extra='[1]' WHERE number=0",
            r"t\.db is damaged: study 1, trial 0, column 'extra' should hold a JSON dict",
        ),
        (
            "UPDATE trials SET state='DONE' WHERE number=0",
            r"t\.db is damaged: study 1, trial 0 has state 'DONE'; a state is one of "
            r"\['RUNNING', 'COMPLETE'",
        ),
        (
            "UPDATE reports SET metrics='nan nan'",
            r"report of trial 0 at step 1.0, column 'metrics' is not valid JSON",
        ),
    ],
)
def test_damaged_rows_are_storage_errors_naming_where(stored, sql, message):
    _tamper(stored, sql)
    s = SQLiteStore(stored)
    with pytest.raises(StorageError, match=message):
        s.trials(1)
        s.reports(1)
    s.close()


def test_damaged_settings_are_a_storage_error(stored):
    _tamper(stored, "UPDATE studies SET settings='not json'")
    s = SQLiteStore(stored)
    with pytest.raises(StorageError, match=r"study 's', column 'settings' is not valid JSON"):
        s.get_study()
    s.close()


def test_a_read_only_file_in_a_read_only_folder_opens_for_analysis(stored, tmp_path, read_only):
    """Before: 'is not an hpo_notebook study file'."""
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "t.db"
    path.write_bytes(stored.read_bytes())
    with read_only(path, folder):
        s = SQLiteStore(path)
        rec = s.get_study()
        assert s.read_only is True
        assert len(s.trials(rec.id)) == 2 and len(s.reports(rec.id)) == 1
        with pytest.raises(StorageError, match=r"is read-only .* open for analysis only"):
            s.set_target(rec.id, 3)
        s.close()
        assert sorted(p.name for p in folder.iterdir()) == ["t.db"]  # nothing written beside it


# ---------------------------------------------------------------------- open_store


def test_open_store(tmp_path):
    mem = open_store(None)
    assert mem.path is None
    assert open_store(mem) is mem
    path = tmp_path / "x.db"
    for spec in (path, str(path), f"sqlite:///{path}"):
        s = open_store(spec)
        assert isinstance(s, SQLiteStore)
        assert s.path == str(path)
        s.close()
    mem.close()
    with pytest.raises(StorageError, match=r"storage must be a file path .* got 42"):
        open_store(42)
