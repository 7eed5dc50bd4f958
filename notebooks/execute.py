"""Run the demo notebooks top to bottom in a fresh kernel and save executed copies.

The notebooks are committed without outputs; this regenerates them with real results::

    python notebooks/execute.py                      # every notebook, full budgets
    python notebooks/execute.py --small 01_quickstart # the CI budget (HPO_NOTEBOOK_SMALL=1)

Executed copies go to ``build/notebooks/`` (``--out``), where the studies' files land too
(``build/notebooks/runs/``); the committed notebooks are never written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    import nbformat
    from nbclient import NotebookClient

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebook names (default: all), e.g. 02_pruning")
    ap.add_argument("--small", action="store_true", help="tiny budgets (HPO_NOTEBOOK_SMALL=1)")
    ap.add_argument("--out", default=str(HERE.parent / "build" / "notebooks"))
    args = ap.parse_args(argv)
    paths = sorted(HERE.glob("[0-9]*.ipynb"))
    if args.names:
        known = {p.stem: p for p in paths}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            ap.error(f"no notebook {unknown}; choose from {sorted(known)}")
        paths = [known[n] for n in args.names]
    os.environ["HPO_NOTEBOOK_SMALL"] = "1" if args.small else "0"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        started = time.time()
        client = NotebookClient(
            nb,
            timeout=3600,
            kernel_name="python3",
            store_widget_state=True,
            resources={"metadata": {"path": str(out)}},
        )
        try:
            client.execute()
        finally:
            nbformat.write(nb, out / path.name)
        print(f"{path.name}: {time.time() - started:.0f} s -> {out / path.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
