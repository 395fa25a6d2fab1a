#!/usr/bin/env bash
# Docker for the container checks, on a machine where no registry is reachable but Debian's and
# PyPI's packages are:
#   1. installs docker.io and debootstrap if missing, starts dockerd (idempotent; overlay2, else vfs);
#   2. makes the local base image seq2expr-base:bookworm (debootstrap --variant=minbase bookworm,
#      then docker import), reused when present;
#   3. builds the targets cpu and gpu of containers/Dockerfile with --build-arg
#      BASE_IMAGE=seq2expr-base:bookworm, tagged exactly as modules/ names them; the second build
#      takes the environment both share from BuildKit's cache (one pip install for both). An image
#      is rebuilt only when its inputs changed: its label io.seq2expr.inputs holds the sha256 of the
#      Dockerfile, requirements.txt, the target and the base image id. pip inside the build gets the
#      host's CA bundle (and proxy variables, if any) as a BuildKit secret / predefined build args,
#      which no layer keeps.
# Prints the image tags last, one per line.
# Environment: SEQ2EXPR_IMAGES="cpu gpu" (which images), SEQ2EXPR_BASE_IMAGE (use this base instead).
set -euo pipefail
bash "$(dirname "$0")/await-setup.sh" docker
cd "$(dirname "$0")/.."

log() { echo "setup-docker: $*" >&2; }

BASE_TAG=${SEQ2EXPR_BASE_IMAGE:-seq2expr-base:bookworm}
IMAGES=${SEQ2EXPR_IMAGES:-cpu gpu}
LOG_DIR=${TMPDIR:-/tmp}/seq2expr-docker
mkdir -p "$LOG_DIR"

# --- 1. engine ----------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1 || [ ! -x /usr/bin/docker ]; then
    log "installing docker.io and debootstrap (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io debootstrap >"$LOG_DIR/apt.log" 2>&1 \
        || { tail -20 "$LOG_DIR/apt.log" >&2; exit 1; }
fi
# Debian's client has BuildKit built in; a newer client elsewhere on PATH may need the buildx
# plugin for it, so the builds use Debian's.
DOCKER=/usr/bin/docker

start_dockerd() {  # $1: storage driver
    log "starting dockerd (storage driver $1), log in $LOG_DIR/dockerd.log"
    nohup dockerd --storage-driver "$1" >"$LOG_DIR/dockerd.log" 2>&1 &
    local pid=$!
    for _ in $(seq 60); do
        if "$DOCKER" info >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 1
    done
    log "dockerd with $1 did not start:"
    tail -5 "$LOG_DIR/dockerd.log" >&2
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
}
if ! "$DOCKER" info >/dev/null 2>&1; then
    start_dockerd overlay2 || start_dockerd vfs || { log "no Docker engine could start"; exit 1; }
fi
log "engine: $("$DOCKER" info --format 'Docker {{.ServerVersion}}, storage {{.Driver}}')"

# --- 2. base image --------------------------------------------------------------------------------
if ! "$DOCKER" image inspect "$BASE_TAG" >/dev/null 2>&1; then
    [ "$BASE_TAG" = seq2expr-base:bookworm ] || { log "base image $BASE_TAG not found"; exit 1; }
    start=$SECONDS
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/seq2expr-rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap --variant=minbase bookworm (log in $LOG_DIR/debootstrap.log)"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$LOG_DIR/debootstrap.log" 2>&1 \
        || { tail -20 "$LOG_DIR/debootstrap.log" >&2; exit 1; }
    # The same package sources as debian:bookworm-slim (updates and security too), no apt caches
    cat >"$rootfs/etc/apt/sources.list" <<'SOURCES'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import --change 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    log "base image $BASE_TAG made in $((SECONDS - start)) s"
fi
base_id=$("$DOCKER" image inspect --format '{{.Id}}' "$BASE_TAG")

# --- 3. the images --------------------------------------------------------------------------------
# The CA bundle pip uses here (pip config, then the usual variables, then Debian's bundle)
ca_file=$(pip config get global.cert 2>/dev/null || true)
for candidate in "$ca_file" "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [ -n "$candidate" ] && [ -s "$candidate" ]; then ca_file=$candidate; break; fi
    ca_file=
done
build_args=()
for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    # predefined proxy build args: used by RUN, kept out of the image's history
    if [ -n "${!var:-}" ]; then build_args+=(--build-arg "$var"); fi
done
if [ -n "$ca_file" ]; then build_args+=(--secret "id=pip_cert,src=$ca_file"); fi

tags=()
for image in $IMAGES; do
    # the Docker tag; the Singularity/Apptainer route names the same tag with -sif (oras://)
    tag=$(grep -rhoE "ghcr\.io/seq2expr/seq2expr-${image}:[A-Za-z0-9._-]+" modules/ | grep -v -- '-sif$' | sort -u)
    if [ "$(printf '%s\n' "$tag" | grep -c .)" -ne 1 ]; then
        log "modules/ must name exactly one seq2expr-${image} image, found: ${tag:-none}"
        exit 1
    fi
    inputs=$( { sha256sum containers/Dockerfile containers/requirements.txt; echo "$image $base_id"; } \
        | sha256sum | cut -d' ' -f1)
    have=$("$DOCKER" image inspect --format '{{index .Config.Labels "io.seq2expr.inputs"}}' "$tag" 2>/dev/null || true)
    if [ "$have" = "$inputs" ]; then
        log "$tag is up to date (inputs ${inputs:0:12})"
    else
        start=$SECONDS
        log "building $tag (log in $LOG_DIR/build-$image.log)"
        DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain \
            --build-arg "BASE_IMAGE=$BASE_TAG" "${build_args[@]}" \
            --label "io.seq2expr.inputs=$inputs" --target "$image" \
            -t "$tag" -f containers/Dockerfile containers >"$LOG_DIR/build-$image.log" 2>&1 \
            || { tail -30 "$LOG_DIR/build-$image.log" >&2; log "build of $tag failed"; exit 1; }
        log "built $tag in $((SECONDS - start)) s, $("$DOCKER" image inspect --format '{{.Size}}' "$tag" | numfmt --to=iec) "
    fi
    tags+=("$tag")
done
printf '%s\n' "${tags[@]}"
