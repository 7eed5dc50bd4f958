"""IPython magics: ``%load_ext hpo_notebook``, then ``%%hpo`` and ``%hpo``.

A ``%%hpo`` cell becomes a study's trial function: each parameter of the space is a local
variable (None while it is inactive, in a conditional space), ``params`` and ``trial`` are
there too, and the objectives are read from the
variables of the same name when the cell ends (or from what it ``return``s)::

    %%hpo --space space --objectives val_loss:min,latency_ms:min --trials 40 --concurrency 4
    model = make_model(lr, layers)
    for epoch in range(1, 21):
        val_loss = train_one_epoch(model)
        trial.report(epoch, val_loss=val_loss)
    latency_ms = measure(model)

The study is bound to ``study`` (``--name`` to change) and stored in ``runs/<name>.db``, with
the cell's source, so that after a kernel restart ``%hpo resume runs/study.db`` rebuilds the
trial function (run your setup cells first), re-queues the trials that were running and goes
on with the dashboard.

A study file is data that others can send or edit, and resuming runs the code it holds. So the
stored cell is signed with a key of the user's (the ``_trust`` module), and
``%hpo resume`` runs it only when the signature is the user's own; any other stored code is
printed instead, and runs only with ``%hpo resume PATH [NAME] --trust`` once it has been read.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shlex
import textwrap
import warnings
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from hpo_notebook import _trust
from hpo_notebook.exceptions import HpoError, HpoWarning

COMMANDS = (
    "run",
    "start",
    "status",
    "pause",
    "resume",
    "stop",
    "pareto",
    "dashboard",
    "list",
    "load",
    "attach",
)
_FN_NAME = "_hpo_trial_fn"


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as a short UsageError instead of exiting."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(
            f"%%hpo: {message}. Example: %%hpo --space space --objectives loss:min --trials 20"
        )


def _cell_parser() -> _Parser:
    p = _Parser(prog="%%hpo", add_help=False)
    p.add_argument("--space", required=True, help="variable holding an hn.Space (or a dict)")
    p.add_argument("--objectives", required=True, help="e.g. val_loss:min,acc:max")
    p.add_argument("--constraints", default=None, help="e.g. latency_ms<=50,size>=1")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=None)
    p.add_argument("--name", default="study", help="variable to bind the study to")
    p.add_argument("--storage", default=None, help="study file (default runs/<name>.db; 'none')")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--optimizer", default="qLogNEHVI")
    p.add_argument("--pruner", default=None, help="asha:MAX_STEPS, moasha:MAX_STEPS or median")
    p.add_argument(
        "--cluster", default=None, help="variable holding a Client, a cluster or an address"
    )
    p.add_argument(
        "--no-improvement", default=None, help="stop rule: TRIALS or TRIALS:MIN_GAIN, e.g. 30:0.05"
    )
    p.add_argument("--budget", default=None, help="stop rule, e.g. gpu_hours=8,trials=100")
    p.add_argument("--start", action="store_true", help="run in the background")
    p.add_argument("--no-run", action="store_true", help="only define the study")
    return p


def parse_objectives(text: str) -> dict[str, str]:
    """``"a:min,b:max"`` -> ``{"a": "min", "b": "max"}`` (friendly errors)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, direction = part.partition(":")
        if direction not in ("min", "max") or not name:
            raise UsageError(
                f"%%hpo: objective {part!r} should look like name:min or name:max, "
                "e.g. --objectives val_loss:min,acc:max"
            )
        out[name] = direction
    if not out:
        raise UsageError("%%hpo: give at least one objective, e.g. --objectives loss:min")
    return out


def parse_constraints(text: str | None) -> dict[str, tuple[str, float]] | None:
    """``"lat<=50,size>=1"`` -> ``{"lat": ("<=", 50.0), "size": (">=", 1.0)}``."""
    if not text:
        return None
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"\s*([^<>=\s]+)\s*(<=|>=)\s*([-+0-9.eE]+)\s*", part)
        if m is None:
            raise UsageError(f"%%hpo: constraint {part!r} should look like latency_ms<=50")
        out[m.group(1)] = (m.group(2), float(m.group(3)))
    return out


def parse_pruner(text: str | None) -> Any:
    """``asha:27``, ``moasha:27`` or ``median`` (None: no pruning)."""
    import hpo_notebook as hn

    if not text or text == "none":
        return None
    kind, _, steps = text.partition(":")
    if kind == "median":
        return hn.Median()
    if kind in ("asha", "moasha") and steps.isdigit():
        return (hn.ASHA if kind == "asha" else hn.MultiObjectiveASHA)(max_steps=int(steps))
    raise UsageError(
        f"%%hpo: unknown pruner {text!r}; write asha:MAX_STEPS, moasha:MAX_STEPS or median"
    )


def parse_stop(no_improvement: str | None, budget: str | None) -> Any:
    """``--no-improvement 30:0.05`` and ``--budget gpu_hours=8,hours=2,trials=100`` as one
    stopping rule (None: neither given)."""
    import hpo_notebook as hn

    rules = []
    if no_improvement:
        trials, _, gain = no_improvement.partition(":")
        try:
            kw: dict[str, Any] = {"trials": int(trials)}
            if gain:
                kw["min_gain"] = float(gain)
        except ValueError:
            raise UsageError(
                f"%hpo: --no-improvement {no_improvement!r} should look like TRIALS or "
                "TRIALS:MIN_GAIN, e.g. --no-improvement 30:0.05"
            ) from None
        rules.append(hn.stop.NoImprovement(**kw))
    if budget:
        kinds: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in budget.split(","))):
            key, _, value = part.partition("=")
            if key not in ("gpu_hours", "hours", "trials") or not value:
                raise UsageError(
                    f"%hpo: --budget part {part!r} should be gpu_hours=H, hours=H or trials=N, "
                    "e.g. --budget gpu_hours=8,trials=100"
                )
            try:
                kinds[key] = int(value) if key == "trials" else float(value)
            except ValueError:
                raise UsageError(f"%hpo: --budget {key} must be a number, got {value!r}") from None
        rules.append(hn.stop.Budget(**kinds))
    return hn.stop.combine(*rules)


def trial_source(cell: str, space: Any, metrics: list[str]) -> str:
    """The source of the trial function a ``%%hpo`` cell stands for."""
    # Whatever from the study file shapes this source must be in _trust.cell_payload too, or
    # an edited file could change the code that %hpo resume runs without breaking its signature.
    conditional = getattr(space, "conditions", {})
    unpack = [
        # a parameter of a conditional space that is inactive for this trial is None
        f"    {n} = params.get({n!r})" if n in conditional else f"    {n} = params[{n!r}]"
        for n in space.names
        if n.isidentifier() and not keyword.iskeyword(n)
    ]
    return "\n".join(
        [
            f"def {_FN_NAME}(params, trial):",
            *unpack,
            textwrap.indent(cell.rstrip() or "pass", "    "),
            "    _hpo_locals = locals()",
            f"    return {{n: _hpo_locals[n] for n in {metrics!r} if n in _hpo_locals}}",
        ]
    )


@magics_class
class HpoMagics(Magics):
    """The ``%hpo`` / ``%%hpo`` magics (see the module docstring)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.current: Any = None
        self.cluster: Any = None  # the --cluster given with the current study

    @line_cell_magic
    def hpo(self, line: str, cell: str | None = None) -> Any:
        """Hyperparameter studies from a notebook.

        Cell magic: the cell is the trial function (parameters are local variables; ``params``
        and ``trial`` too; set variables named like the objectives)::

            %%hpo --space SPACE --objectives a:min,b:max [--trials 20] [--concurrency K]
                  [--constraints c<=5] [--name study] [--storage runs/study.db|none]
                  [--seed S] [--optimizer qLogNEHVI] [--pruner asha:27|moasha:27|median]
                  [--cluster VAR] [--no-improvement 30:0.05] [--budget gpu_hours=8]
                  [--start | --no-run]

        ``--cluster VAR`` names a variable holding a ``distributed.Client``, a cluster object
        or a scheduler address (default: a local Dask cluster for the run).
        ``--no-improvement TRIALS[:MIN_GAIN]`` and ``--budget gpu_hours=H,hours=H,trials=N``
        are the study's stopping rules (``hn.stop``); the study stops when either holds.

        Line magics, on the current study (the last one defined or loaded)::

            %hpo run [N]        run N more trials (default: to the planned number), blocking
            %hpo start [N]      the same in the background (buttons stay live)
                                (both take --cluster VAR, default: the cell's --cluster,
                                and --no-improvement / --budget for this run)
            %hpo status         counts and state
            %hpo pause | resume | stop
            %hpo pareto         the Pareto front (a DataFrame)
            %hpo dashboard      the live dashboard
            %hpo list [PATH]    studies in a file (default: the current study's)
            %hpo load PATH [NAME]
                                open a stored study (to look at it)
            %hpo attach PATH [NAME]
                                the live dashboard of a study that another process
                                (a script, a batch job, another kernel) runs: it
                                follows the file as that process writes, read-only
            %hpo resume PATH [NAME] [--cluster VAR] [--trust]
                                after a kernel restart: rebuild a %%hpo study's trial
                                function, re-run interrupted trials, go on. The stored
                                code runs only if you stored it (it is signed with your
                                key); other code is shown, and runs with --trust once
                                you have read it
        """
        try:
            if cell is not None:
                return self._define(line, cell)
            return self._command(line)
        except HpoError as exc:
            raise UsageError(f"%hpo: {exc}") from None

    # ------------------------------------------------------------------ %%hpo

    def _define(self, line: str, cell: str) -> Any:
        import hpo_notebook as hn

        args = _cell_parser().parse_args(shlex.split(line))
        ns = self.shell.user_ns
        if args.space not in ns:
            raise UsageError(
                f"%%hpo: no variable {args.space!r} for --space; define it first, e.g. "
                f"{args.space} = hn.Space(lr=hn.Float(1e-4, 1e-1, log=True))"
            )
        if not args.name.isidentifier():
            raise UsageError(f"%%hpo: --name must be a Python name, got {args.name!r}")
        space = ns[args.space] if isinstance(ns[args.space], hn.Space) else hn.Space(ns[args.space])
        objectives = parse_objectives(args.objectives)
        constraints = parse_constraints(args.constraints)
        metrics = list(dict.fromkeys([*objectives, *(constraints or {})]))
        fn = self._compile(cell, space, metrics)
        storage = None if args.storage == "none" else (args.storage or f"runs/{args.name}.db")
        if storage is not None and Path(storage).is_file():
            self._refuse_existing(storage, args.name)
        magic: dict[str, Any] = {"cell": cell, "line": line, "metrics": metrics}
        if storage is not None:  # an in-memory study cannot be resumed: nothing to sign
            magic["signature"] = self._signature(cell, metrics, space)
        study = hn.Study(
            fn,
            space,
            objectives=objectives,
            constraints=constraints,
            storage=storage,
            name=args.name,
            seed=args.seed,
            optimizer=args.optimizer,
            pruner=parse_pruner(args.pruner),
            lineage={"magic": magic},
            stop_when=parse_stop(args.no_improvement, args.budget),
        )
        cluster = self._cluster(args.cluster)
        self._bind(args.name, study, cluster)
        if args.no_run:
            return None
        if args.start:
            study.start(args.trials, args.concurrency, cluster)
        else:
            study.run(args.trials, args.concurrency, cluster)
        return None

    @staticmethod
    def _refuse_existing(path: str, name: str) -> None:
        from hpo_notebook.store import SQLiteStore

        store = SQLiteStore(path)
        try:
            exists = name in store.study_names()
        finally:
            store.close()
        if exists:
            raise UsageError(
                f"%%hpo: {path} already holds a study named {name!r}. To go on with it, write "
                f"%hpo resume {path} {name}; for a new study, add --name NEW or --storage NEW.db"
            )

    @staticmethod
    def _signature(cell: str, metrics: list[str], space: Any) -> str | None:
        """The user's signature of the cell, or None (with a warning) when the key is unusable.

        A key problem does not stop the study from being defined and run: it only means that
        resuming it will ask for --trust, and the warning says how to fix the key.
        """
        try:
            return _trust.sign(_trust.cell_payload(cell, metrics, space.names))
        except _trust.SigningKeyError as exc:
            warnings.warn(
                f"%%hpo: the cell is stored unsigned, so %hpo resume will ask for --trust: {exc}",
                HpoWarning,
                stacklevel=2,
            )
            return None

    def _compile(self, cell: str, space: Any, metrics: list[str]) -> Any:
        src = trial_source(cell, space, metrics)
        try:
            code = compile(src, "<%%hpo cell>", "exec")
        except SyntaxError as exc:
            raise UsageError(f"%%hpo: the cell does not compile: {exc}") from None
        ns = self.shell.user_ns
        exec(code, ns)  # the trial function lives with the user's variables
        return ns.pop(_FN_NAME)

    def _cluster(self, name: str | None) -> Any:
        if name is None:
            return None
        if name not in self.shell.user_ns:
            raise UsageError(f"%hpo: no variable {name!r} for --cluster")
        return self.shell.user_ns[name]

    def _bind(self, name: str, study: Any, cluster: Any = None) -> None:
        self.current = study
        self.cluster = cluster
        self.shell.user_ns[name] = study

    # ------------------------------------------------------------------ %hpo

    def _command(self, line: str) -> Any:
        words = shlex.split(line)
        if not words:
            raise UsageError("%hpo: write a command, e.g. %hpo status (see %hpo?)")
        # the command as written, for the message that tells how to run it again with --trust
        again = shlex.join(["%hpo", *(w for w in words if w != "--trust"), "--trust"])
        # flags are taken out first, so that "--cluster --trust" reads as a missing VAR
        trust = "--trust" in words
        words = [w for w in words if w != "--trust"]
        cluster = None
        if "--cluster" in words:
            i = words.index("--cluster")
            if i + 1 >= len(words):
                raise UsageError("%hpo: --cluster needs a variable name, e.g. --cluster client")
            cluster = self._cluster(words[i + 1])
            del words[i : i + 2]
        flags: dict[str, str | None] = {"--no-improvement": None, "--budget": None}
        for flag in flags:
            if flag in words:
                i = words.index(flag)
                if i + 1 >= len(words):
                    example = "30:0.05" if flag == "--no-improvement" else "trials=50"
                    raise UsageError(f"%hpo: {flag} needs a value, e.g. {flag} {example}")
                flags[flag] = words[i + 1]
                del words[i : i + 2]
        if not words:
            raise UsageError("%hpo: write a command, e.g. %hpo status (see %hpo?)")
        cmd, rest = words[0], words[1:]
        rule = parse_stop(flags["--no-improvement"], flags["--budget"])
        if rule is not None and cmd not in ("run", "start"):
            raise UsageError("%hpo: --no-improvement and --budget go with %hpo run or %hpo start")
        if cmd not in COMMANDS:
            raise UsageError(f"%hpo: unknown command {cmd!r}; write one of: {', '.join(COMMANDS)}")
        if trust and not (cmd == "resume" and rest):
            raise UsageError(
                "%hpo: --trust goes with %hpo resume PATH [NAME]: it runs the code a study "
                "file holds even though you did not sign it"
            )
        if cmd == "load":
            return self._load(rest, resume=False, cluster=cluster)
        if cmd == "attach":
            self._load(rest, resume=False, cluster=cluster)
            return self._require_study().dashboard()
        if cmd == "resume" and rest:
            return self._load(rest, resume=True, cluster=cluster, trust=trust, again=again)
        if cmd == "list":
            return self._list(rest)
        study = self._require_study()
        if cmd in ("run", "start"):
            getattr(study, cmd)(
                self._count(rest, cmd), cluster=cluster or self.cluster, stop_when=rule
            )
            return None
        if cmd in ("pause", "resume", "stop"):
            getattr(study, cmd)()
            return None
        if cmd == "status":
            print(repr(study))
            return None
        if cmd == "pareto":
            return study.pareto()
        return study.dashboard()

    def _require_study(self) -> Any:
        if self.current is None:
            raise UsageError(
                "%hpo: no study yet: define one with a %%hpo cell or open one with "
                "%hpo load runs/study.db"
            )
        return self.current

    @staticmethod
    def _count(rest: list[str], cmd: str) -> int | None:
        if not rest:
            return None
        if not rest[0].isdigit():
            raise UsageError(f"%hpo {cmd}: expected a number of trials, e.g. %hpo {cmd} 10")
        return int(rest[0])

    def _list(self, rest: list[str]) -> None:
        from hpo_notebook.store import SQLiteStore

        path = rest[0] if rest else getattr(self.current, "storage_path", None)
        if not path:
            raise UsageError("%hpo list: give a study file, e.g. %hpo list runs/study.db")
        if not Path(path).is_file():
            raise UsageError(f"%hpo list: no file {path!r}")
        store = SQLiteStore(path)
        try:
            for name in store.study_names():
                rec = store.get_study(name)
                states = [t.state.value for t in store.trials(rec.id)]
                counts = {s: states.count(s) for s in dict.fromkeys(states)}
                print(f"{name}: {len(states)} trials {counts}")
        finally:
            store.close()

    def _load(
        self,
        rest: list[str],
        resume: bool,
        cluster: Any = None,
        trust: bool = False,
        again: str = "",
    ) -> Any:
        import hpo_notebook as hn

        if not rest:
            raise UsageError("%hpo load: give a study file, e.g. %hpo load runs/study.db")
        path, name = rest[0], (rest[1] if len(rest) > 1 else None)
        if not Path(path).is_file():
            raise UsageError(f"%hpo: no study file {path!r}")
        study = hn.load_study(path, name=name)
        if resume:
            try:
                study.fn = self._rebuild(study, path, trust, again)
            except BaseException:
                study.close()  # a refused resume leaves no open study file behind
                raise
        self._bind(study.name if study.name.isidentifier() else "study", study, cluster)
        if resume:
            # re-runs the interrupted trials first, then finishes the plan
            study.start(cluster=cluster)
        return None

    def _rebuild(self, study: Any, path: str, trust: bool, again: str) -> Any:
        """The trial function stored with ``study``, compiled only if the user signed it or
        ``trust`` says they read it."""
        user = study.lineage.get("user")
        magic = user.get("magic") if isinstance(user, dict) else None
        if not isinstance(magic, dict) or not magic:
            raise UsageError(
                f"%hpo resume: {path} was not made by a %%hpo cell; reopen it in Python "
                "with hn.load_study(path, fn).run()"
            )
        cell, metrics = magic.get("cell"), magic.get("metrics")
        if not isinstance(cell, str) or not (
            isinstance(metrics, list) and all(isinstance(m, str) for m in metrics)
        ):
            raise UsageError(f"%hpo resume: the %%hpo cell stored in {path} is damaged")
        if not trust:
            # Checked on exactly the values compiled below, read once from the file.
            payload = _trust.cell_payload(cell, metrics, study.space.names)
            try:
                signed = _trust.verify(payload, magic.get("signature"))
                why = (
                    "it is not signed"
                    if magic.get("signature") is None
                    else "it was changed since, or signed with another user's key"
                )
            except _trust.SigningKeyError as exc:
                signed, why = False, f"cannot check: {exc}"
            if not signed:
                self._show_unsigned(study.name, path, trial_source(cell, study.space, metrics))
                raise UsageError(
                    f"%hpo resume: {path} holds code you did not sign ({why}); it is printed "
                    f"above: read it, then run it with: {again}"
                )
        return self._compile(cell, study.space, metrics)

    @staticmethod
    def _show_unsigned(name: str, path: str, source: str) -> None:
        """Print the code a resume would run, exactly as it would run, for the user to read."""
        shown = _trust.printable(source)
        rule = "-" * 72
        note = (
            "\n(control or invisible characters in it are shown escaped, as \\r or \\u202e)"
            if shown != source
            else ""
        )
        print(
            f"%hpo resume: study {name!r} in {path} holds this code, not signed by you; "
            f"--trust would run it on the workers:\n{rule}\n{shown}\n{rule}{note}"
        )
