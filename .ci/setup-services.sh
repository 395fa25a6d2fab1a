#!/usr/bin/env bash
# The services the Nextflow checks use, set up one after the other (apt's lock admits one install at
# a time): Debian's chromium (.ci/setup-chromium.sh), a one-node SLURM (.ci/setup-slurm.sh), the
# Docker engine and the images (.ci/setup-docker.sh). `.ci/run` starts this in the background while
# the test suite runs: the installs, downloads and image builds wait on the network and the disk more
# than on the CPU, and on a cold machine they took about 6 minutes inside the Nextflow stage.
#   bash .ci/setup-services.sh DIR
# Writes DIR/<name>.log and then DIR/<name>.status (the setup's exit status) for chromium, slurm and
# docker; .ci/await-setup.sh NAME, which each setup script calls first, waits for that status when
# SEQ2EXPR_SETUP_DIR names DIR.
set -uo pipefail
if [[ $# -ne 1 ]]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$(dirname "$0")/.."
export SEQ2EXPR_SETUP_RUNNING=1 # the setup scripts run here, not wait for themselves
start=$SECONDS
for name in chromium slurm docker; do
    begin=$SECONDS
    bash ".ci/setup-$name.sh" >"$dir/$name.log" 2>&1
    status=$?
    echo "setup-services: $name exit $status in $((SECONDS - begin)) s" >>"$dir/$name.log"
    echo "$status" >"$dir/$name.status.tmp" && mv "$dir/$name.status.tmp" "$dir/$name.status"
done
echo "setup-services: chromium, slurm and docker in $((SECONDS - start)) s"
