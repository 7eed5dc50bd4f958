"""Saving a benchmark's results: ``docs/results/<name>.json`` and ``.md``, printed too."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def publish(
    name: str,
    res: dict[str, Any],
    render: Callable[[dict[str, Any]], str],
    out: Path,
    argv: list[str] | None,
) -> dict[str, Any]:
    """Stamp ``res`` with the command and the date, write it as JSON and as ``render``'s
    Markdown under ``out``, print the Markdown; returns ``res``."""
    args = argv if argv is not None else sys.argv[1:]
    res["command"] = f"python -m benchmarks.{name} " + " ".join(args)
    res["when"] = time.strftime("%Y-%m-%d")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
    text = render(res)
    (out / f"{name}.md").write_text(text)
    print(text)
    return res
