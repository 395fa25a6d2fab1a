#!/usr/bin/env bash
# Called first by .ci/setup-<NAME>.sh: when .ci/setup-services.sh sets the services up in the background
# (SEQ2EXPR_SETUP_DIR names its folder), wait until it has done NAME, so that two apt-get or two dockerd
# never run at once; the setup script then runs as usual and finds everything in place (seconds).
# Exits non-zero, with the background setup's last lines, when it failed.
#   bash .ci/await-setup.sh NAME
set -euo pipefail
name=$1
dir=${SEQ2EXPR_SETUP_DIR:-}
if [[ -z "$dir" || -n "${SEQ2EXPR_SETUP_RUNNING:-}" ]]; then
    exit 0
fi
waited=0
until [[ -f "$dir/$name.status" ]]; do
    if ((waited >= 1800)); then
        echo "await-setup: $name not set up after $waited s (see $dir/$name.log)" >&2
        exit 1
    fi
    sleep 2
    waited=$((waited + 2))
done
if [[ "$(cat "$dir/$name.status")" != 0 ]]; then
    echo "await-setup: the background setup of $name failed:" >&2
    tail -5 "$dir/$name.log" >&2
    exit 1
fi
((waited == 0)) || echo "await-setup: waited $waited s for the background setup of $name" >&2
