"""%hpo / %%hpo through IPython's InteractiveShell (the notebook 04_magics runs them in a
real kernel)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from contextlib import closing

import pytest
from IPython.core.error import UsageError

from hpo_notebook import _trust
from hpo_notebook.exceptions import HpoWarning
from hpo_notebook.magics import HpoMagics, parse_constraints, parse_objectives, trial_source

CELL = """f0, f1 = branin_currin_values(x0, x1)
trial.report(1, f0=f0, f1=f1)"""

SETUP = """import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D as space, branin_currin_values"""


@pytest.fixture(autouse=True)
def key_dir(tmp_path_factory, monkeypatch):
    """Every test signs with a key of its own (kernels it starts inherit it), never the key of
    the user running the tests."""
    folder = tmp_path_factory.mktemp("key")
    monkeypatch.setenv(_trust.SECRET_DIR_ENV, str(folder))
    return folder


@pytest.fixture()
def ip(dask_client, ipython_shell):
    shell = ipython_shell
    shell.reset()
    shell.run_line_magic("load_ext", "hpo_notebook")
    shell.run_cell(SETUP)
    shell.user_ns["client"] = dask_client
    yield shell
    shell.reset()


@pytest.fixture()
def shell(ipython_shell):
    """The magics without a cluster, for tests that run no trial."""
    ipython_shell.reset()
    ipython_shell.run_line_magic("load_ext", "hpo_notebook")
    ipython_shell.magics_manager.registry["HpoMagics"].current = None
    run_ok(ipython_shell, SETUP)
    yield ipython_shell
    ipython_shell.reset()


def run_ok(shell, code):
    result = shell.run_cell(code)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def define(shell, db, cell=CELL, trials=2):
    """Define (not run) a %%hpo study named exp in ``db``, with a planned number of trials."""
    run_ok(
        shell,
        f"%%hpo --space space --objectives f0:min,f1:min --no-run --storage {db} "
        f"--optimizer sobol --name exp\n{cell}",
    )
    study = shell.user_ns["exp"]
    study._ledger.set_target(trials)  # as --trials does when a study runs
    study.close()


def stored_magic(db):
    with closing(sqlite3.connect(db)) as con:
        (lineage,) = con.execute("SELECT lineage FROM studies").fetchone()
    return json.loads(lineage)["user"]["magic"]


def edit_stored_cell(db, cell):
    """Change the cell in the study file, as someone who sends you the file could."""
    with closing(sqlite3.connect(db)) as con, con:
        (lineage,) = con.execute("SELECT lineage FROM studies").fetchone()
        data = json.loads(lineage)
        data["user"]["magic"]["cell"] = cell
        con.execute("UPDATE studies SET lineage = ?", (json.dumps(data),))


class _Trial:
    """Enough of a Trial to call a rebuilt trial function in the test process."""

    def report(self, step, **values):
        pass


@pytest.fixture()
def no_trials_run(monkeypatch):
    """Study.start records its study instead of running trials."""
    import hpo_notebook as hn

    started = []
    monkeypatch.setattr(hn.Study, "start", lambda self, *a, **k: started.append(self))
    return started


def forbid_compiling(monkeypatch):
    """From now on, fail the test if any stored code is compiled."""

    def compile_(*args):
        raise AssertionError("stored code was compiled")

    monkeypatch.setattr(HpoMagics, "_compile", compile_)


@pytest.mark.slow
def test_cell_magic_runs_a_study_and_line_magics_use_it(ip, tmp_path, capsys):
    db = tmp_path / "m.db"
    run_ok(
        ip,
        f"%%hpo --space space --objectives f0:min,f1:min --trials 4 --concurrency 2 "
        f"--cluster client --storage {db} --seed 0 --optimizer sobol\n{CELL}",
    )
    study = ip.user_ns["study"]
    assert study.counts()["COMPLETE"] == 4 and len(study.curves()) == 4
    run_ok(ip, "%hpo status")
    assert "4 complete" in capsys.readouterr().out
    front = ip.run_line_magic("hpo", "pareto")
    assert len(front) >= 1 and set(front.columns) >= {"f0", "f1"}
    run_ok(ip, f"%hpo list {db}")
    assert "study: 4 trials" in capsys.readouterr().out
    run_ok(ip, "%hpo run 2")
    assert study.counts()["COMPLETE"] == 6


@pytest.mark.slow
def test_resume_after_a_restart_rebuilds_the_trial_function(ip, tmp_path, capsys):
    db = tmp_path / "r.db"
    run_ok(
        ip,
        f"%%hpo --space space --objectives f0:min,f1:min --trials 3 --no-run "
        f"--storage {db} --optimizer sobol --name exp\n{CELL}",
    )
    stored = ip.user_ns["exp"]
    stored.ask()  # a trial left RUNNING, as if the kernel died while it ran
    stored._ledger.set_target(3)
    stored.close()
    client = ip.user_ns["client"]
    ip.reset()  # the kernel restarts: the function and the study are gone
    ip.run_line_magic("load_ext", "hpo_notebook")
    run_ok(ip, SETUP)
    ip.user_ns["client"] = client
    run_ok(ip, f"%hpo resume {db} --cluster client")
    assert "not signed by you" not in capsys.readouterr().out  # the cell is the user's own
    study = ip.user_ns["exp"]
    assert study.wait(timeout=120)
    counts = study.counts()
    assert counts["COMPLETE"] == 3 and counts["RUNNING"] == 0
    assert study.trial(0).attempt == 2  # the interrupted trial ran again, same params
    assert len(stored_magic(db)["signature"]) == 64


@pytest.mark.slow
def test_rerunning_a_cell_on_a_stored_study_says_how_to_go_on(ip, tmp_path, capsys):
    db = tmp_path / "again.db"
    cell = f"%%hpo --space space --objectives f0:min,f1:min --no-run --storage {db} --name e\n"
    run_ok(ip, cell + CELL)
    ip.user_ns["e"].close()
    result = ip.run_cell(cell + CELL)
    assert isinstance(result.error_in_exec, UsageError)
    msg = str(result.error_in_exec)
    assert "already holds a study named 'e'" in msg and f"%hpo resume {db} e" in msg
    assert "--name NEW" in msg and "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("%hpo frobnicate", "unknown command 'frobnicate'; write one of: run, start"),
        ("%hpo", "write a command, e.g. %hpo status"),
        ("%hpo run", "no study yet: define one with a %%hpo cell"),
        ("%hpo load nowhere.db", "no study file 'nowhere.db'"),
        ("%hpo status --trust", "--trust goes with %hpo resume PATH [NAME]"),
        ("%hpo load nowhere.db --trust", "--trust goes with %hpo resume PATH [NAME]"),
        ("%hpo resume nowhere.db --cluster --trust", "--cluster needs a variable name"),
        ("%%hpo --objectives a:up --space space\npass", "objective 'a:up' should look like"),
        ("%%hpo --objectives a:min --space nope\npass", "no variable 'nope' for --space"),
        ("%%hpo --objectives a:min\npass", "the following arguments are required: --space"),
        ("%%hpo --space space --objectives a:min --pruner hyper\npass", "unknown pruner"),
        ("%%hpo --space space --objectives a:min --no-run --storage none\nx = (", "does not"),
    ],
)
def test_mistakes_get_a_short_message_not_a_traceback(code, message, capsys, ipython_shell):
    shell = ipython_shell
    shell.reset()
    shell.run_line_magic("load_ext", "hpo_notebook")
    shell.magics_manager.registry["HpoMagics"].current = None
    shell.run_cell(SETUP)
    result = shell.run_cell(code)
    out = capsys.readouterr()
    assert isinstance(result.error_in_exec, UsageError)
    assert message in str(result.error_in_exec)
    assert "Traceback" not in out.out + out.err


def test_parsers_and_generated_source():
    assert parse_objectives("a:min, b:max") == {"a": "min", "b": "max"}
    assert parse_constraints("lat<=50,size >= 1e-3") == {"lat": ("<=", 50.0), "size": (">=", 0.001)}
    import hpo_notebook as hn

    src = trial_source(
        "y = lr * 2", hn.Space({"lr": hn.Float(0, 1), "not valid": hn.Int(1, 2)}), ["y"]
    )
    ns: dict = {}
    exec(src, ns)
    fn = ns["_hpo_trial_fn"]
    assert fn({"lr": 0.25, "not valid": 1}, None) == {"y": 0.5}


# ---------------------------------------------------------------- signed cells (issue 9)


def _marker_cell(marker) -> str:
    """A cell that leaves ``marker`` behind when it runs, and then computes the objectives."""
    return f"open({str(marker)!r}, 'w').write('ran')\n{CELL}"


def test_resume_rebuilds_a_cell_the_user_signed(shell, tmp_path, capsys, no_trials_run):
    db = tmp_path / "mine.db"
    define(shell, db)
    magic = stored_magic(db)
    assert len(magic["signature"]) == 64 and magic["cell"].rstrip() == CELL
    shell.reset()  # a kernel restart
    shell.run_line_magic("load_ext", "hpo_notebook")
    run_ok(shell, SETUP)
    run_ok(shell, f"%hpo resume {db}")
    assert "not signed by you" not in capsys.readouterr().out
    (study,) = no_trials_run
    assert shell.user_ns["exp"] is study
    values = study.fn({"x0": 0.25, "x1": 0.75}, _Trial())
    assert set(values) == {"f0", "f1"}
    study.close()


def test_resume_shows_a_changed_cell_and_runs_nothing(shell, tmp_path, capsys, monkeypatch):
    db, marker = tmp_path / "sent.db", tmp_path / "marker"
    define(shell, db)
    del shell.user_ns["exp"]
    forbid_compiling(monkeypatch)
    # \r is a line break to Python, but a notebook would show only what follows it
    edit_stored_cell(db, _marker_cell(marker).replace("\n", "\r# a harmless comment\n", 1))
    result = shell.run_cell(f"%hpo resume {db}")
    out = capsys.readouterr()
    assert isinstance(result.error_in_exec, UsageError)
    msg = str(result.error_in_exec)
    assert "\n" not in msg and "it was changed since" in msg
    assert msg.endswith(f"run it with: %hpo resume {db} --trust")
    assert "holds this code, not signed by you" in out.out
    assert f"open({str(marker)!r}, 'w').write('ran')\\r    # a harmless comment" in out.out
    assert "shown escaped" in out.out and "Traceback" not in out.out + out.err
    assert not marker.exists() and "_hpo_trial_fn" not in shell.user_ns
    assert "exp" not in shell.user_ns  # no study was bound either


@pytest.mark.slow
def test_resume_with_trust_runs_the_code_it_showed(shell, tmp_path, capsys, no_trials_run):
    db, marker = tmp_path / "sent.db", tmp_path / "marker"
    define(shell, db)
    edit_stored_cell(db, _marker_cell(marker))
    assert not shell.run_cell(f"%hpo resume {db} exp").success
    run_ok(shell, f"%hpo resume --trust {db} exp")  # --trust anywhere on the line
    (study,) = no_trials_run
    assert set(study.fn({"x0": 0.25, "x1": 0.75}, _Trial())) == {"f0", "f1"}
    assert marker.read_text() == "ran"
    assert stored_magic(db)["cell"] == _marker_cell(marker)  # --trust does not sign the file
    study.close()


@pytest.mark.slow
def test_resume_with_trust_runs_the_changed_cell_on_the_cluster(ip, tmp_path):
    db, marker = tmp_path / "sent.db", tmp_path / "marker"
    define(ip, db, trials=2)
    edit_stored_cell(db, _marker_cell(marker))
    run_ok(ip, f"%hpo resume {db} --trust --cluster client")
    study = ip.user_ns["exp"]
    assert study.wait(timeout=120) and study.counts()["COMPLETE"] == 2
    assert marker.read_text() == "ran"  # written by a worker process


@pytest.mark.parametrize("their_key", [False, True])
def test_a_file_signed_by_another_user_is_refused(shell, tmp_path, monkeypatch, capsys, their_key):
    db = tmp_path / "theirs.db"
    define(shell, db)  # signed with the key of the autouse key_dir fixture: another user's
    forbid_compiling(monkeypatch)
    mine = tmp_path / "my-key"
    monkeypatch.setenv(_trust.SECRET_DIR_ENV, str(mine))
    if their_key:
        _trust.load_key()
    result = shell.run_cell(f"%hpo resume {db}")
    assert isinstance(result.error_in_exec, UsageError)
    assert "signed with another user's key" in str(result.error_in_exec)
    assert CELL.splitlines()[0] in capsys.readouterr().out
    assert (mine / _trust.KEY_FILE).exists() is their_key  # checking makes no key


def test_an_unsigned_cell_is_refused(shell, tmp_path, monkeypatch):
    db = tmp_path / "old.db"
    define(shell, db)
    forbid_compiling(monkeypatch)
    with closing(sqlite3.connect(db)) as con, con:  # as written before cells were signed
        (lineage,) = con.execute("SELECT lineage FROM studies").fetchone()
        data = json.loads(lineage)
        del data["user"]["magic"]["signature"]
        con.execute("UPDATE studies SET lineage = ?", (json.dumps(data),))
    result = shell.run_cell(f"%hpo resume {db} exp --cluster nope")
    assert isinstance(result.error_in_exec, UsageError)  # --cluster is checked first
    result = shell.run_cell(f"%hpo resume {db} exp")
    assert "(it is not signed)" in str(result.error_in_exec)
    assert str(result.error_in_exec).endswith(f"%hpo resume {db} exp --trust")


def test_the_signature_covers_metrics_and_parameter_names():
    base = _trust.cell_payload(CELL, ["f0", "f1"], ["x0", "x1"])
    key = bytes(range(32))
    assert _trust.sign(base, key) == _trust.sign(base, key)
    for other in (
        _trust.cell_payload(CELL + " ", ["f0", "f1"], ["x0", "x1"]),
        _trust.cell_payload(CELL, ["f0"], ["x0", "x1"]),
        _trust.cell_payload(CELL, ["f0", "f1"], ["x0", "x2"]),
    ):
        assert _trust.sign(other, key) != _trust.sign(base, key)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_key_is_made_once_private_and_refused_when_not(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "hpo"
    monkeypatch.setenv(_trust.SECRET_DIR_ENV, str(folder))
    assert _trust.load_key(create=False) is None and not folder.exists()
    key = _trust.load_key()
    path = folder / _trust.KEY_FILE
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _trust.load_key() == key and os.listdir(folder) == [_trust.KEY_FILE]
    path.chmod(0o640)
    with pytest.raises(_trust.SigningKeyError, match="chmod 600"):
        _trust.load_key()
    for content in (b"", b"short"):
        path.unlink()
        path.write_bytes(content)
        path.chmod(0o600)
        with pytest.raises(_trust.SigningKeyError, match=f"holds {len(content)} bytes"):
            _trust.load_key()


def test_a_key_made_by_another_process_first_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(_trust.SECRET_DIR_ENV, str(tmp_path))
    theirs = bytes(range(32))
    (tmp_path / _trust.KEY_FILE).write_bytes(theirs)
    (tmp_path / _trust.KEY_FILE).chmod(0o600)
    _trust._create_key(tmp_path / _trust.KEY_FILE)  # lost the race: the file appeared first
    assert _trust.load_key() == theirs and os.listdir(tmp_path) == [_trust.KEY_FILE]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_bad_key_stores_the_cell_unsigned_with_a_warning(shell, tmp_path, key_dir, monkeypatch):
    (key_dir / _trust.KEY_FILE).write_bytes(bytes(32))
    (key_dir / _trust.KEY_FILE).chmod(0o644)
    db = tmp_path / "w.db"
    with pytest.warns(HpoWarning, match="stored unsigned.*chmod 600"):
        define(shell, db)
    assert stored_magic(db)["signature"] is None
    forbid_compiling(monkeypatch)
    result = shell.run_cell(f"%hpo resume {db}")
    assert "cannot check: the signing key" in str(result.error_in_exec)


def test_shown_code_escapes_what_would_hide_code():
    assert _trust.printable("a\tb\nc") == "a\tb\nc"
    assert _trust.printable("x\ry\x1b[2K\u202ez") == "x\\ry\\x1b[2K\\u202ez"
    assert "[--trust]" in HpoMagics.hpo.__doc__


RESTART_SETUP = """import threading
import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D as space, branin_currin_values
%load_ext hpo_notebook"""

SLOW_CELL = """import time
for step in range(1, 9):
    time.sleep(0.25)
    f0, f1 = branin_currin_values(x0, x1)
    trial.report(step, f0=f0, f1=f1)"""


def _run_in(kc, code: str, timeout: float = 180) -> str:
    """Execute ``code`` in a real kernel; its stdout, or AssertionError with the error."""
    out: list[str] = []
    errors: list[str] = []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            out.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    assert reply["content"]["status"] == "ok" and not errors, errors
    return "".join(out)


@pytest.mark.slow
def test_hpo_resume_after_a_real_kernel_restart(tmp_path):
    """A %%hpo study runs in the background; the kernel is killed and restarted mid-study;
    %hpo resume PATH rebuilds the trial function from the stored cell and finishes it."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        _run_in(kc, RESTART_SETUP)
        _run_in(
            kc,
            "%%hpo --space space --objectives f0:min,f1:min --trials 6 --concurrency 2 "
            f"--storage s.db --optimizer sobol --seed 0 --start\n{SLOW_CELL}",
        )
        _run_in(  # wait (for an event, not a time) until one trial is done, others running
            kc,
            "done = threading.Event()\n"
            "study.subscribe(lambda e: e['type'] == 'trial' and e['trial'].state.value == "
            "'COMPLETE' and done.set())\n"
            "assert done.wait(120) and study.counts()['RUNNING'] > 0, study.counts()",
        )
        km.restart_kernel(now=True)  # the kernel dies with the study running
        kc.wait_for_ready(timeout=120)
        assert _run_in(kc, "print('study' in dir())").strip() == "False"
        _run_in(kc, RESTART_SETUP)
        out = _run_in(
            kc,
            "%hpo resume s.db\n"
            "study.wait()\n"
            "print(study.counts()['COMPLETE'], sorted(t.attempt for t in study.trials))",
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    complete, attempts = out.strip().split(" ", 1)
    assert complete == "6"
    assert "2" in attempts  # the trials that were running ran again
