#!/usr/bin/env bash
# Every check of the project: lint, formatting, types, the pytest suite (unit, CLI, contract and
# end-to-end tests), then the pipeline under a real Nextflow (.ci/nextflow_checks.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# One command per line: under `set -e`, a failure inside an `a && b` list would not stop the run.
echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy
echo "== pytest"
python -m pytest "$@"
echo "== nextflow"
bash .ci/nextflow_checks.sh
