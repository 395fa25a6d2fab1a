#!/usr/bin/env bash
# The pipeline on a real one-node SLURM (.ci/setup-slurm.sh):
#   bash .ci/slurm_checks.sh NXF OUTBASE
#   1. `-profile test,slurm --folds 2 --models dexter,cnn`, no probes, no attribution (the data steps, the
#      shuffle, a CPU and a GPU-capable model, the evaluation and the report; the other models are jobs
#      of the same kinds, and one job at a time on this 2-CPU node makes each cost its whole run time):
#      the run succeeds and every task is a SLURM job (its trace native_id
#      is a job id that SLURM's job log shows COMPLETED);
#   2. the retry demonstration (.ci/slurm/retry.config), resumed from run 1: SLURM OOM-kills
#      attempt 1 of DEXTER (exit 137/140/143, job state OUT_OF_MEMORY/TIMEOUT/FAILED), Nextflow
#      retries it once with more memory, attempt 2 completes, and the run exits 0;
#   3. only with SLURM_CHECKS_TIME=1 (4 more minutes): the same with SLURM's time limit
#      (.ci/slurm/retry_time.config: FINETUNE_DNABERT2 gets 1 minute on attempt 1, exit 140).
# NXF: a nextflow launcher; OUTBASE: a folder for the outdirs, work dir, logs and traces.
# All runs use .ci/slurm/ci.config (polling every 2 s instead of conf/slurm.config's 30 s).
# Prints one line per check and the wall times; exits non-zero on the first failure.
set -euo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: $0 NXF OUTBASE" >&2
    exit 2
fi
NXF=$1
mkdir -p "$2"
OUTBASE="$(cd "$2" && pwd)"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
say() { echo "slurm_checks: $*"; }
fail() { echo "slurm_checks: FAILED: $*" >&2; exit 1; }

ready="$(bash .ci/setup-slurm.sh | tail -1)"
[[ $ready == "slurm ready" ]] || fail "setup-slurm.sh did not print 'slurm ready'"
jobcomp="$(scontrol show config | sed -n 's/^JobCompLoc *= *//p')"
say "SLURM up: $(sinfo -h -o '%P %D node(s) %c cpus %m MB %T')"

work="$OUTBASE/work"

# run NAME LOG ARGS...: one nextflow run of the pipeline; prints its wall time. Launched from
# OUTBASE, so its .nextflow history and cache are its own (not shared with other runs in the
# repository), which -resume relies on.
run() {
    local name=$1 log=$2 t0 rc=0
    shift 2
    t0=$SECONDS
    (cd "$OUTBASE" && "$NXF" -log "$OUTBASE/$name.nextflow.log" run "$repo" -ansi-log false "$@") >"$log" 2>&1 || rc=$?
    say "$name: nextflow exit $rc in $((SECONDS - t0)) s (log: $log)"
    if ((rc != 0)); then
        tail -30 "$log" >&2
        fail "$name: nextflow exited $rc"
    fi
}

# check_trace MODE TRACE LABEL: assert the trace against SLURM's job log (JobCompLoc).
# MODE all: every task ran as a SLURM job and COMPLETED; MODE retry: the same, except exactly
# one task whose attempt 1 SLURM killed (exit 137/140/143) and whose attempt 2 COMPLETED.
check_trace() {
    python3 - "$1" "$2" "$3" "$jobcomp" <<'PY'
import csv
import re
import sys

mode, trace, label, jobcomp = sys.argv[1:]
states = {}
with open(jobcomp) as fh:
    for line in fh:
        m = re.match(r"JobId=(\d+) .*?JobState=(\S+)", line)
        if m:
            states[m.group(1)] = m.group(2)
rows = list(csv.DictReader(open(trace), delimiter="\t"))
errors = []
if not rows:
    errors.append(f"{trace}: no tasks")
killed = []
for r in rows:
    name, jid, status, exit_, attempt = r["name"], r["native_id"], r["status"], r["exit"], r["attempt"]
    if status == "CACHED" and mode == "retry":  # from run 1, checked there
        continue
    if not jid.isdigit():
        errors.append(f"{name}: native_id {jid!r} is not a SLURM job id")
        continue
    state = states.get(jid, "not in SLURM's job log")
    if status == "COMPLETED" and exit_ == "0" and state == "COMPLETED":
        continue
    if (mode == "retry" and status == "FAILED" and attempt == "1" and exit_ in ("137", "140", "143")
            and state in ("OUT_OF_MEMORY", "TIMEOUT", "FAILED", "CANCELLED")):
        killed.append((r, state))
        continue
    errors.append(f"{name} attempt {attempt}: status {status}, exit {exit_}, SLURM job {jid} {state}")

ran = [r for r in rows if r["status"] != "CACHED"]
print(f"slurm_checks: {label}: {len(ran)} task(s) ran as SLURM jobs "
      f"({', '.join(sorted({r['process'].split(':')[-1] for r in ran}))})"
      + (f", {len(rows) - len(ran)} cached" if len(ran) < len(rows) else ""))
if mode == "retry":
    if len(killed) != 1:
        errors.append(f"expected exactly one task killed by SLURM on attempt 1, found {len(killed)}")
    for r, state in killed:
        again = [a for a in rows if a["name"] == r["name"] and a["attempt"] == "2" and a["status"] == "COMPLETED"]
        print(f"slurm_checks: {label}: {r['name']} attempt 1 ({r['memory']}, {r['time']}): "
              f"SLURM job {r['native_id']} {state}, exit {r['exit']}")
        if not again:
            errors.append(f"{r['name']}: no completed attempt 2")
        for a in again:
            print(f"slurm_checks: {label}: {a['name']} attempt 2 ({a['memory']}, {a['time']}): "
                  f"SLURM job {a['native_id']} {states.get(a['native_id'])}, exit {a['exit']}")
for e in errors:
    print(f"slurm_checks: FAILED: {label}: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}

one_trace() {
    local f
    f=$(ls "$1"/pipeline_info/execution_trace_*.txt 2>/dev/null | head -1)
    [[ -n $f ]] || fail "no trace in $1/pipeline_info"
    echo "$f"
}

# 1. -profile test,slurm
out1="$OUTBASE/test_slurm"
out2="$OUTBASE/retry"
# outputs and logs of an earlier call, whose traces and session id would be read instead
rm -rf "$out1" "$out2" "$OUTBASE"/*.nextflow.log*
smaller=(--folds 2 --models dexter,cnn -c "$repo/.ci/no_probes.config" --attribution false)
run test_slurm "$OUTBASE/test_slurm.log" -profile test,slurm -c "$repo/.ci/slurm/ci.config" "${smaller[@]}" \
    --outdir "$out1" -work-dir "$work"
check_trace all "$(one_trace "$out1")" test_slurm || fail "test_slurm: trace checks"
say "test_slurm: every task was a SLURM job and COMPLETED"

# 2. retry demonstration, resumed from run 1 (named by its session id)
session="$(sed -n 's/.*Session UUID: *//p' "$OUTBASE/test_slurm.nextflow.log" | head -1)"
[[ -n $session ]] || fail "no session id in $OUTBASE/test_slurm.nextflow.log"
run retry "$OUTBASE/retry.log" -resume "$session" -profile test,slurm -c "$repo/.ci/slurm/retry.config" "${smaller[@]}" \
    --outdir "$out2" -work-dir "$work"
check_trace retry "$(one_trace "$out2")" retry || fail "retry: trace checks"
say "retry: the task SLURM killed was retried once with more memory and the run succeeded"

# 3. optional (SLURM_CHECKS_TIME=1): the same with SLURM's time limit (.ci/slurm/retry_time.config)
if [[ ${SLURM_CHECKS_TIME:-0} == 1 ]]; then
    out3="$OUTBASE/retry_time"
    rm -rf "$out3"
    run retry_time "$OUTBASE/retry_time.log" -resume "$session" -profile test,slurm \
        -c "$repo/.ci/slurm/retry_time.config" "${smaller[@]}" --outdir "$out3" -work-dir "$work"
    check_trace retry "$(one_trace "$out3")" retry_time || fail "retry_time: trace checks"
    say "retry_time: the task SLURM stopped at its time limit was retried once with more time and the run succeeded"
fi
