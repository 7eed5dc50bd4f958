"""%hpo / %%hpo through IPython's InteractiveShell (the notebook 04_magics runs them in a
real kernel)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from hpo_notebook.magics import parse_constraints, parse_objectives, trial_source

CELL = """f0, f1 = branin_currin_values(x0, x1)
trial.report(1, f0=f0, f1=f1)"""

SETUP = """import hpo_notebook as hn
from hpo_notebook.testing.problems import UNIT_2D as space, branin_currin_values"""


@pytest.fixture()
def ip(dask_client, ipython_shell):
    shell = ipython_shell
    shell.reset()
    shell.run_line_magic("load_ext", "hpo_notebook")
    shell.run_cell(SETUP)
    shell.user_ns["client"] = dask_client
    yield shell
    shell.reset()


def run_ok(shell, code):
    result = shell.run_cell(code)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


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
def test_resume_after_a_restart_rebuilds_the_trial_function(ip, tmp_path):
    db = tmp_path / "r.db"
    run_ok(
        ip,
        f"%%hpo --space space --objectives f0:min,f1:min --trials 3 --no-run "
        f"--storage {db} --optimizer sobol --name exp\n{CELL}",
    )
    stored = ip.user_ns["exp"]
    stored.ask()  # a trial left RUNNING, as if the kernel died while it ran
    stored._store.set_target(stored._record.id, 3)
    stored.close()
    client = ip.user_ns["client"]
    ip.reset()  # the kernel restarts: the function and the study are gone
    ip.run_line_magic("load_ext", "hpo_notebook")
    run_ok(ip, SETUP)
    ip.user_ns["client"] = client
    run_ok(ip, f"%hpo resume {db} --cluster client")
    study = ip.user_ns["exp"]
    assert study.wait(timeout=120)
    counts = study.counts()
    assert counts["COMPLETE"] == 3 and counts["RUNNING"] == 0
    assert study.trial(0).attempt == 2  # the interrupted trial ran again, same params


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
