"""Command line: ``hpo-notebook demo`` runs a real two-objective study on a local Dask cluster.

``hpo-notebook dashboard PATH`` serves the live dashboard of a study file in the browser (on
127.0.0.1, through Voilà), following the study while another process runs it.

``hpo-notebook build-kernel`` compiles BoTorch's fused log-EHVI kernel up front (set-up scripts,
images), so that the first study does not run without it.

Example:
    $ hpo-notebook demo --trials 40 --concurrency 2
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Sequence
from typing import Any


def _demo(args: argparse.Namespace) -> int:
    import hpo_notebook as hn
    from hpo_notebook import demo

    storage = args.storage or time.strftime("runs/demo-%Y%m%d-%H%M%S.db")
    study = hn.Study(
        functools.partial(demo.train, epochs=args.epochs),
        demo.SPACE,
        objectives=demo.OBJECTIVES,
        storage=storage,
        name="digits-mlp",
        seed=args.seed,
    )
    print(
        f"hpo-notebook demo: {args.trials} trials of an MLP on scikit-learn's digits, "
        f"{args.epochs} epochs each, {args.concurrency} Dask workers on 127.0.0.1.\n"
        f"Objectives: validation error (min) and thousands of parameters (min).\n"
        f"Study file: {storage}\n",
        flush=True,
    )
    t0 = time.monotonic()
    study.run(n_trials=args.trials, concurrency=args.concurrency, progress=True)
    elapsed = time.monotonic() - t0
    front = study.pareto()
    cols = ["number", "val_error", "kparams", *[c for c in front if c.startswith("params_")]]
    print(f"\nPareto front ({len(front)} of {len(study.trials)} trials), {elapsed:.0f} s:")
    print(front[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    counts = {k: v for k, v in study.counts().items() if v}
    df = study.trials_frame()
    model = df[df["proposal"].str.startswith("q", na=False)]
    if len(model):
        print(
            f"\nHypervolume {study.hypervolume():.3f}; states {counts}; median proposal time "
            f"{(model['fit_s'] + model['acq_s']).median():.2f} s (GP fit + acquisition)."
        )
    print(f"Saved: {storage}  (reopen with hn.load_study({storage!r}))")
    return 0


_APP = """import hpo_notebook as hn

study = hn.load_study({path!r}, name={name!r})
study.dashboard()
"""


def _dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard of one study file: a one-cell notebook rendered by Voilà (the
    notebook's outputs only) on 127.0.0.1, on a free port, behind a token."""
    import json
    import os
    import secrets
    import shutil
    import signal
    import socket
    import subprocess
    import tempfile
    from pathlib import Path

    import hpo_notebook as hn

    path = str(Path(args.path).resolve())
    try:  # a clear error now, not a traceback in the browser
        hn.load_study(path, name=args.name).close()
    except hn.HpoError as exc:
        print(f"hpo-notebook dashboard: {exc}", file=sys.stderr)
        return 2
    try:
        import voila  # noqa: F401
    except ImportError:
        print(
            "hpo-notebook dashboard needs Voilà: pip install 'hpo-notebook[app]'", file=sys.stderr
        )
        return 2
    port = args.port
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    token = secrets.token_urlsafe(16)
    folder = Path(tempfile.mkdtemp(prefix="hpo-dashboard-"))
    cell = _APP.format(path=path, name=args.name)
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "app", "metadata": {},
                   "outputs": [], "source": cell}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (folder / "dashboard.ipynb").write_text(json.dumps(notebook))
    cmd = [
        sys.executable, "-m", "voila", str(folder / "dashboard.ipynb"), "--no-browser",
        f"--port={port}", "--Voila.ip=127.0.0.1", f"--token={token}",
        f"--theme={args.theme}", "--show_tracebacks=True",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def _stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # runs the clean-up below, which stops Voilà

    # SIGTERM (a job scheduler, `kill`, a test) and SIGHUP (a closed terminal) end this
    # process at once by default, which left Voilà and its kernel running on the port
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    proc = subprocess.Popen(cmd, cwd=folder, env=env)
    url = f"http://127.0.0.1:{port}/?token={token}"
    try:
        deadline = time.monotonic() + 60
        while True:  # ready when its page answers (another process: nothing to await)
            if proc.poll() is not None:
                print(f"hpo-notebook dashboard: Voilà exited ({proc.returncode})", file=sys.stderr)
                return 1
            try:  # listening: a page request would start a kernel, so do not make one
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    print("hpo-notebook dashboard: Voilà did not start in 60 s", file=sys.stderr)
                    return 1
                time.sleep(0.2)
        print(f"Dashboard of {path}: {url}\n(Ctrl-C to stop)", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        if proc.poll() is None:
            proc.terminate()  # Voilà shuts its kernels down, then exits
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _build_kernel(args: argparse.Namespace) -> int:
    import logging

    from hpo_notebook.optimizers.botorch._kernel import prebuild

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    print(f"BoTorch's fused log-EHVI kernel: {prebuild()}", flush=True)
    return 0  # never fails a set-up: without the kernel, studies use BoTorch's PyTorch path


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hpo-notebook`` command."""
    parser = argparse.ArgumentParser(prog="hpo-notebook", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the digits MLP demo study on a local Dask cluster")
    d.add_argument("--trials", type=_positive, default=40, help="number of trials (40)")
    d.add_argument("--concurrency", type=_positive, default=2, help="Dask workers (2)")
    d.add_argument("--epochs", type=_positive, default=20, help="epochs per trial (20)")
    d.add_argument("--seed", type=int, default=0, help="study seed (0)")
    d.add_argument("--storage", default=None, help="study file (runs/demo-<time>.db)")
    a = sub.add_parser(
        "dashboard",
        help="serve the live dashboard of a study file in the browser (127.0.0.1, Voilà)",
    )
    a.add_argument("path", help="the study file")
    a.add_argument("--name", default=None, help="which study, when the file holds several")
    a.add_argument("--port", type=_positive, default=None, help="port (default: a free one)")
    a.add_argument("--theme", choices=("light", "dark"), default="light")
    sub.add_parser(
        "build-kernel",
        help="compile BoTorch's fused log-EHVI kernel now (about a minute; never waits forever "
        "on a build lock left by a killed compile)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    if args.command == "dashboard":
        return _dashboard(args)
    if args.command == "build-kernel":
        return _build_kernel(args)
    return 2  # pragma: no cover - argparse rejects other commands


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
