#!/usr/bin/env bash
# Headless Chromium for .ci/report_check.py, from Debian's packages (no browser download from the
# internet, which CI cannot reach): installs the `chromium` package only when no Chromium is on PATH,
# so that a second run costs one `command -v`. Prints the browser's path last.
set -euo pipefail
bash "$(dirname "$0")/await-setup.sh" chromium

for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if found=$(command -v "$name" 2>/dev/null); then
        echo "setup-chromium: $found already installed" >&2
        echo "$found"
        exit 0
    fi
done
echo "setup-chromium: installing Debian's chromium" >&2
log=${TMPDIR:-/tmp}/seq2expr-chromium-apt.log
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
command -v chromium
