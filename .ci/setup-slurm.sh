#!/usr/bin/env bash
# A one-node SLURM for CI: munge, slurmctld and slurmd from Debian's packages, on this machine.
#   bash .ci/setup-slurm.sh      # prints `slurm ready` last, once `sinfo` shows the node idle
# Idempotent: installs the packages only when missing, rewrites the configs only when they
# differ (then restarts the daemons), starts only what is not running; seconds when already up.
# Needs root (CI and the sessions run as root). The partition `ci` is the default one, so
# Nextflow's slurm profile works with params.slurm_queue unset. Memory limits are enforced
# by the kernel (task/cgroup, ConstrainRAMSpace): a job over its --mem is OOM-killed.
set -euo pipefail
bash "$(dirname "$0")/await-setup.sh" slurm
here="$(cd "$(dirname "$0")" && pwd)"
state=/var/spool/slurm-ci
log() { echo "setup-slurm: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    log "must run as root"
    exit 1
fi

# --- packages --------------------------------------------------------------------------------
pkgs=(munge slurmctld slurmd slurm-client)
missing=()
for bin in munged slurmctld slurmd sbatch; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if ((${#missing[@]})); then
    log "installing ${pkgs[*]} (missing: ${missing[*]})"
    apt_install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=600 "${pkgs[@]}" >"$state.apt.log" 2>&1
    }
    mkdir -p "$(dirname "$state")"
    # The packages' scripts must not start the daemons (no config yet, maybe no init system):
    # this script starts them below. Machines built from container images already deny it.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    if ! apt_install; then
        log "apt-get install failed; apt-get update and retry"
        DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600 >>"$state.apt.log" 2>&1
        apt_install || { tail -20 "$state.apt.log" >&2; exit 1; }
    fi
fi

# --- configs ---------------------------------------------------------------------------------
mkdir -p "$state/slurmctld" "$state/slurmd" /etc/slurm
host="$(hostname -s)"
# What slurmd itself detects, so the node never drains for a hardware mismatch:
# "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
detected="$(slurmd -C | head -1)"
hw="$(tr ' ' '\n' <<<"$detected" | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')"
total_mb="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$detected")"
# Leave 2 GiB (or a tenth, on small machines) to the system and the Nextflow head job.
reserve_mb=2048
((total_mb / 10 < reserve_mb)) && reserve_mb=$((total_mb / 10))
mem_mb=$((total_mb - reserve_mb))
case "$(stat -fc %T /sys/fs/cgroup)" in
    cgroup2fs) cgroup_plugin=cgroup/v2 ;;
    *) cgroup_plugin=cgroup/v1 ;;
esac

render() {
    sed -e "s|@HOST@|$host|g" -e "s|@STATE@|$state|g" -e "s|@HW@|${hw% }|g" \
        -e "s|@MEM@|$mem_mb|g" -e "s|@CGROUP_PLUGIN@|$cgroup_plugin|g" "$1"
}
changed=0
for conf in slurm.conf cgroup.conf; do
    new="$(render "$here/slurm/$conf.in")"
    if [[ ! -f /etc/slurm/$conf ]] || [[ "$(cat /etc/slurm/$conf)" != "$new" ]]; then
        printf '%s\n' "$new" >/etc/slurm/$conf
        changed=1
    fi
done

# --- daemons ---------------------------------------------------------------------------------
# alive PIDFILE NAME: the pid file names a running NAME (not a stale pid reused by another program)
alive() { [[ -f $1 && "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" == "$2" ]]; }
stop() {  # stop one daemon of ours by its pid file
    local pidfile=$1 pid i
    alive "$pidfile" "$2" || return 0
    pid="$(cat "$pidfile")"
    kill "$pid"
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
}

# munge: one key, the daemon as the munge user (Debian's init script does the same).
if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
    for ((i = 0; i < 50; i++)); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.2
    done
    munge -n | unmunge >/dev/null
fi

if ((changed)); then
    log "configuration written to /etc/slurm (node $host: ${hw% } RealMemory=$mem_mb, $cgroup_plugin)"
    stop "$state/slurmd.pid" slurmd
    stop "$state/slurmctld.pid" slurmctld
fi
fresh_ctld=0
if ! alive "$state/slurmctld.pid" slurmctld; then
    log "starting slurmctld"
    slurmctld
    fresh_ctld=1
fi
if ! alive "$state/slurmd.pid" slurmd; then
    log "starting slurmd"
    slurmd
fi

# --- wait for the node -------------------------------------------------------------------------
node_state() { sinfo -h -n "$host" -o '%T' 2>/dev/null | head -1; }
deadline=$((SECONDS + 90))
while :; do
    st="$(node_state)"
    case "$st" in
        idle | mixed | allocated | completing) break ;;
        down* | drain* | drained*)
            # e.g. left down by an earlier run whose slurmd went away
            scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    if ((SECONDS > deadline)); then
        log "node $host not ready (state '${st:-none}'); last lines of the logs:"
        tail -5 "$state/slurmctld.log" "$state/slurmd.log" >&2 || true
        exit 1
    fi
    sleep 1
done
# Jobs still queued from before slurmctld (re)started belong to runs that ended with their
# session or machine: cancel them so they do not take the node from the next run.
if ((fresh_ctld)) && [[ -n "$(squeue -h -o %i)" ]]; then
    log "cancelling jobs left from an earlier start: $(squeue -h -o %i | tr '\n' ' ')"
    scancel --full $(squeue -h -o %i) || true
fi
sinfo
echo "slurm ready"
