#!/usr/bin/env bash
# Every check of the project: lint, formatting, types, the pytest suite (unit, CLI, contract and
# end-to-end tests), then the pipeline under a real Nextflow (.ci/nextflow_checks.sh). Each stage
# prints its wall time, and the last lines sum them up, so CI's time can be watched stage by stage.
set -euo pipefail
cd "$(dirname "$0")/.."
timings=()
stage() { # name, command...: run one stage, record its wall time (a failure stops the run, under set -e)
    local name=$1 start=$SECONDS
    shift
    echo "== $name"
    "$@"
    timings+=("$name $((SECONDS - start)) s")
    echo "== $name: $((SECONDS - start)) s"
}
stage "ruff" ruff check .
stage "ruff format" ruff format --check .
stage "mypy" mypy
stage "pytest" python -m pytest "$@"
stage "nextflow" bash .ci/nextflow_checks.sh
echo "== time per stage: ${timings[*]/%/;}"
