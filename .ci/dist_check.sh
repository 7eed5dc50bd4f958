#!/usr/bin/env bash
# CI check of the release artifacts (`make dist-check`, after `make dist` built and
# twine-checked them): installs the wheel into a fresh virtual environment (torch's CPU build
# first, as a user would) and runs a short demo study from it, outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
ls dist/*.whl >/dev/null 2>&1 || { echo "no wheel in dist/: run make dist first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$work/venv/bin/python" -m pip install --quiet "${TORCH:-torch==2.13.0}" || \
  "$work/venv/bin/python" -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
wheel=$(realpath dist/*.whl)
"$work/venv/bin/python" -m pip install --quiet "$wheel[demo]"
# from an empty folder: nothing may come from the checkout
cd "$work"
"$work/venv/bin/python" -c "import hpo_notebook, pathlib, sys; \
p = pathlib.Path(hpo_notebook.__file__); assert 'site-packages' in p.parts, p; \
assert (p.parent / 'py.typed').exists(); print('installed', hpo_notebook.__version__, 'at', p.parent)"
"$work/venv/bin/hpo-notebook" demo --trials 8 --epochs 5 --storage "$work/demo.db"
"$work/venv/bin/python" - "$work/demo.db" <<'PY'
import sys

import hpo_notebook as hn

study = hn.load_study(sys.argv[1])
counts = study.counts()
assert len(study.trials) == 8 and counts["FAILED"] == 0 and counts["RUNNING"] == 0, counts
assert counts["COMPLETE"] >= 1 and len(study.pareto()) >= 1, counts
print("dist: the demo's 8 trials are in its study file:", {k: v for k, v in counts.items() if v})
PY
echo "dist: the wheel installs into a fresh environment and runs the demo"
