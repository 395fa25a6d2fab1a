#!/usr/bin/env bash
# The pipeline in its containers, for real:
#   1. `NXF run . -profile test,docker ARGS...` into OUTBASE/out (work dir OUTBASE/work), with a trace;
#   2. every task ran in Docker, in the image its module names (or that the test profile sets:
#      trace field `container`, and `docker run` in the task's .command.run);
#   3. the outputs equal the host run's (HOST_OUTDIR, made by `-profile test ARGS...` without
#      containers): DExTER's predictions of every fold byte for byte, every evaluation metric of DExTER,
#      the probes and the baselines to 1e-6; of the gradient-trained models (the CNN, DNABERT-2) the n,
#      r, Spearman and MSE to 1e-3: PyTorch's CPU kernels differ between the image's and the host's
#      builds and a few epochs carry that rounding into the weights (measured: 3e-5 on the CNN's r;
#      the calibration slope of its near-constant test-profile predictions moves by 7e-3);
#   4. `-resume` runs again with every task cached;
#   5. tests/python/test_containers.py with the engine required, the stale-code test among them.
# Prints one line per check with the wall times; exits non-zero on the first failure.
# The images must exist: bash .ci/setup-docker.sh builds them.
#
#   bash .ci/docker_checks.sh NXF HOST_OUTDIR OUTBASE [ARGS...]
# ARGS: the parameters the host run was made with beside -profile test (none: the test profile's own)
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 NXF HOST_OUTDIR OUTBASE [ARGS...]" >&2
    exit 2
fi
nxf=$1
host_outdir=$(cd "$2" && pwd)
mkdir -p "$3"
outbase=$(cd "$3" && pwd)
shift 3
args=("$@")
cd "$(dirname "$0")/.."
repo=$PWD

say() { echo "docker_checks: $*"; }
fail() { echo "docker_checks: FAILED: $*" >&2; exit 1; }

while read -r tag; do
    docker image inspect "$tag" >/dev/null 2>&1 || fail "image $tag not found (bash .ci/setup-docker.sh builds it)"
done < <(grep -rhoE '(oras://)?ghcr\.io/seq2expr/seq2expr-(cpu|gpu):[A-Za-z0-9._-]+' modules/ conf/ | grep -v '^oras://' | sort -u)

# The trace with the container of every task, outside the outdir, copied after each run. One
# config file for both runs: the parameter summary MultiQC reads lists the config files (and a
# --trace_report_suffix would show in it too), so any difference there would re-run MULTIQC.
fields='task_id,hash,name,process,status,exit,container,realtime,duration'
cat >"$outbase/trace.config" <<EOF
trace {
    enabled   = true
    overwrite = true
    fields    = '$fields'
    file      = '$outbase/trace.txt'
}
EOF

run_pipeline() {  # $1: label for the trace file, then extra arguments
    local label=$1
    shift
    local start=$SECONDS
    # -ansi-log false: plain lines in the log, the cached-task lines among them
    # launched from OUTBASE: its .nextflow/ history and cache stay out of the checkout
    (cd "$outbase" && "$nxf" -log "$outbase/nextflow-$label.log" run "$repo" -profile test,docker -ansi-log false \
        -c "$outbase/trace.config" \
        --outdir "$outbase/out" -work-dir "$outbase/work" ${args[@]+"${args[@]}"} "$@") >"$outbase/run-$label.out" 2>&1 \
        || { tail -40 "$outbase/run-$label.out" >&2; fail "nextflow run ($label) failed, see $outbase/run-$label.out"; }
    cp "$outbase/trace.txt" "$outbase/trace-$label.txt"
    echo $((SECONDS - start))
}

# --- 1. the real run ------------------------------------------------------------------------------
rm -rf "$outbase/out" "$outbase/work" "$outbase/.nextflow"
wall=$(run_pipeline first)
trace="$outbase/trace-first.txt"
[ -s "$trace" ] || fail "no trace at $trace"
say "nextflow run -profile test,docker: ok in ${wall} s ($(($(wc -l <"$trace") - 1)) tasks)"

# --- 2. each task in the container its module names -----------------------------------------------
# What each process should run in: its module's `container`, unless the resolved configuration
# (profiles test,docker) sets another for it (the test profile runs FINETUNE_DNABERT2 on the CPU image).
(cd "$outbase" && "$nxf" config "$repo" -profile test,docker -flat) >"$outbase/config-flat.txt" 2>"$outbase/config-flat.err" \
    || fail "nextflow config failed: $(tail -3 "$outbase/config-flat.err")"
python3 - "$trace" "$outbase/config-flat.txt" "$outbase/work" <<'PY'
import csv
import pathlib
import re
import sys

trace, flat, work = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
expected = {}
for module in sorted(pathlib.Path("modules").glob("**/main.nf")):
    text = module.read_text()
    process = re.search(r"^process\s+(\w+)", text, re.M)
    container = re.search(r"^\s*container\s+(.+)$", text, re.M)
    if not (process and container):
        continue
    # the Docker tags the line names (the engine ternary's other branch is the oras://...-sif of
    # Singularity/Apptainer); of a GPU-capable module's two, the CPU one: this run has no gpu profile
    tags = sorted(set(re.findall(r"(?<!oras://)\b(ghcr\.io/seq2expr/seq2expr-(?:cpu|gpu):[\w.-]+)", container.group(1))))
    cpu = [tag for tag in tags if "-cpu:" in tag]
    expected[process.group(1)] = cpu[0] if cpu else (tags[0] if tags else container.group(1).strip().strip("'\""))
# a module included under another name (`include { ATTRIBUTE as ATTRIBUTE_PROBE }`) runs in its module's image
for workflow in sorted([*pathlib.Path("workflows").glob("*.nf"), *pathlib.Path("subworkflows").glob("**/*.nf")]):
    for module, alias in re.findall(r"include\s*\{\s*(\w+)\s+as\s+(\w+)\s*\}", workflow.read_text()):
        if module in expected:
            expected[alias] = expected[module]
for line in flat.read_text().splitlines():
    override = re.match(r"""process\.'?withName:\s*'?(\w+)'?'?\.container\s*=\s*'([^']+)'""", line)
    if override:
        expected[override.group(1)] = override.group(2)
problems = []
rows = list(csv.DictReader(open(trace), delimiter="\t"))
for row in rows:
    simple = row["process"].split(":")[-1]
    want = expected.get(simple)
    if want is None:
        problems.append(f"{row['name']}: no module names a container for {simple}")
    elif row["container"] != want:
        problems.append(f"{row['name']}: ran in {row['container'] or 'no container'!r}, its module names {want!r}")
    runs = list(work.glob(f"{row['hash']}*/.command.run"))
    if not runs or "docker run" not in runs[0].read_text():
        problems.append(f"{row['name']}: its .command.run has no `docker run`")
    if row["status"] != "COMPLETED":
        problems.append(f"{row['name']}: status {row['status']}")
if problems:
    sys.exit("docker_checks: FAILED: containers:\n  " + "\n  ".join(problems))
print(f"docker_checks: containers: {len(rows)} tasks ran in docker, each in its module's image: "
      + ", ".join(sorted({f"{r['process'].split(':')[-1]}={r['container'].split('/')[-1]}" for r in rows})))
PY

# --- 3. same results as on the host ---------------------------------------------------------------
python3 - "$host_outdir" "$outbase/out" <<'PY'
import csv
import math
import pathlib
import sys

host, docker = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
problems = []
predictions = sorted(p.relative_to(host) for p in host.glob("*/dexter/**/predictions.tsv"))
metrics = sorted(p.relative_to(host) for p in host.glob("*/evaluation/metrics.tsv"))
if not predictions or not metrics:
    sys.exit(f"docker_checks: FAILED: the host outdir {host} has no */dexter/**/predictions.tsv or */evaluation/metrics.tsv")
for rel in predictions:
    if not (docker / rel).is_file():
        problems.append(f"{rel}: missing from the docker run")
    elif (docker / rel).read_bytes() != (host / rel).read_bytes():
        problems.append(f"{rel}: differs from the host run's")


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


from seq2expr.models.roster import EARLY_STOPPED  # the gradient-trained models

worst = 0.0
for rel in metrics:
    if not (docker / rel).is_file():
        problems.append(f"{rel}: missing from the docker run")
        continue
    a = list(csv.reader(open(host / rel), delimiter="\t"))
    b = list(csv.reader(open(docker / rel), delimiter="\t"))
    if len(a) != len(b) or a[:1] != b[:1]:
        problems.append(f"{rel}: other rows or columns than the host run's")
        continue
    for i, (row_a, row_b) in enumerate(zip(a, b, strict=True)):
        trained = row_a[0] in EARLY_STOPPED
        tolerance = 1e-3 if trained else 1e-6
        for column, x, y in zip(a[0], row_a, row_b, strict=True):
            if trained and column not in ("model", "split", "stratum", "n", "pearson", "spearman", "mse"):
                continue
            fx, fy = number(x), number(y)
            if fx is None or fy is None or math.isnan(fx) or math.isnan(fy):
                if x != y:
                    problems.append(f"{rel} line {i + 1} {column}: {x!r} vs {y!r}")
                continue
            worst = max(worst, abs(fx - fy))
            if abs(fx - fy) > tolerance:
                problems.append(f"{rel} line {i + 1} {column}: {x} (host) vs {y} (docker)")
if problems:
    sys.exit("docker_checks: FAILED: outputs:\n  " + "\n  ".join(problems[:20]))
print(f"docker_checks: outputs: {len(predictions)} DExTER predictions identical, {len(metrics)} metrics tables "
      f"within 1e-6 of the host run, the CNN's and DNABERT-2's r, Spearman and MSE within 1e-3 "
      f"(largest difference {worst:.1e})")
PY

# --- 4. -resume: every task cached -----------------------------------------------------------------
wall=$(run_pipeline resume -resume)
trace="$outbase/trace-resume.txt"
[ -s "$trace" ] || fail "no trace at $trace"
not_cached=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") s = i; next } $s != "CACHED" { print $3 " (" $s ")" }' "$trace")
[ -z "$not_cached" ] || fail "-resume ran again: $not_cached"
say "-resume: all $(($(wc -l <"$trace") - 1)) tasks cached, in ${wall} s"

# --- 5. the images' own tests, the stale-code test among them (a changed package in a copy of the
# checkout must be what a task runs); here a missing engine, image or launcher fails them
start=$SECONDS
SEQ2EXPR_NXF="$nxf" SEQ2EXPR_REQUIRE_DOCKER=1 python3 -m pytest -q -p no:cacheprovider \
    tests/python/test_containers.py >"$outbase/pytest-containers.out" 2>&1 \
    || { tail -40 "$outbase/pytest-containers.out" >&2; fail "tests/python/test_containers.py"; }
say "image tests and stale-code test: $(tail -1 "$outbase/pytest-containers.out" | tr -d '=') ($((SECONDS - start)) s)"
say "all checks passed"
