#!/usr/bin/env bash
# CI check of the Binder set-up: builds a fresh virtual environment from binder/ alone, the way
# Binder does (requirements.txt, then postBuild from the repository root), and executes the
# quickstart notebook in it with the small-budget switch.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
export PATH="$work/venv/bin:$PATH" PIP_RETRIES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install --quiet -r binder/requirements.txt
bash binder/postBuild >/dev/null
python -c "import torch; assert torch.__version__.endswith('+cpu') or not torch.version.cuda, torch.__version__"
cp notebooks/01_quickstart.ipynb "$work/"
HPO_NOTEBOOK_SMALL=1 python - "$work/01_quickstart.ipynb" <<'PY'
import sys

import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}}).execute()
shown = [o.get("data", {}).get("text/plain", "") for c in nb.cells for o in c.get("outputs", [])]
assert any("6 complete" in s for s in shown), shown
print("binder: the quickstart ran in a fresh environment built from binder/")
PY
