#!/usr/bin/env bash
# CI only: `nf-core pipelines lint` on this pipeline, offline. The linter clones and fetches
# github.com/nf-core/modules before linting (for nf-core modules a pipeline installs; seq2expr
# installs none, its modules are local). GitHub cannot be reached from CI, so a local, empty
# stand-in of that repository (one commit: its .nf-core.yml, empty modules/ and subworkflows/)
# is made as the clone's origin, in a private config folder (XDG_CONFIG_HOME) that leaves a
# user's own nf-core cache alone. The pipeline's own lint tests are the real ones.
#   bash .ci/nf-core-lint.sh NXF LOG
set -euo pipefail
nxf=$1
log=$2
repo="$(cd "$(dirname "$0")/.." && pwd)"
home="$(dirname "$log")/nf-core-home"
export XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache" HIDE_PROGRESS=1
export PATH="$(dirname "$nxf"):$PATH"
clone="$XDG_CONFIG_HOME/nfcore/nf-core/modules"
if [[ ! -d "$clone/.git" ]]; then
    origin="$home/modules-origin"
    rm -rf "$origin" "$clone"
    mkdir -p "$origin/modules/nf-core" "$origin/subworkflows/nf-core"
    touch "$origin/modules/nf-core/.gitkeep" "$origin/subworkflows/nf-core/.gitkeep"
    printf 'repository_type: modules\norg_path: nf-core\n' > "$origin/.nf-core.yml"
    git -C "$origin" init -q -b master
    git -C "$origin" -c user.name=ci -c user.email=ci@localhost add -A
    git -C "$origin" -c user.name=ci -c user.email=ci@localhost commit -qm "offline stand-in of nf-core/modules (empty)"
    git clone -q "$origin" "$clone"
fi
cd "$repo"
# Run nf-core by the interpreter's own path, not through a version manager's shim: pyenv's shim puts
# its Python's bin/ first on PATH, where the pip `nextflow` launcher lives, and the linter's
# `nextflow config` would then try to download the newest Nextflow instead of running $nxf.
python=$(python3 -c 'import sys; print(sys.executable)')
[[ "$(command -v nextflow)" == "$(dirname "$nxf")/nextflow" ]] || { echo "nf-core-lint: nextflow is not $nxf" >&2; exit 1; }
"$python" -m nf_core pipelines lint --dir . --plain-text --json "${log%.log}.json" > "$log" 2>&1
