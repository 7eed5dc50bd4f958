"""Command line: ``hpo-notebook demo`` runs a real two-objective study on a local Dask cluster.

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
    sub.add_parser(
        "build-kernel",
        help="compile BoTorch's fused log-EHVI kernel now (about a minute; never waits forever "
        "on a build lock left by a killed compile)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
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
