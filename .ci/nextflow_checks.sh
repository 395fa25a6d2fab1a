#!/usr/bin/env bash
# The pipeline under a real Nextflow (assembled by .ci/setup-nextflow.sh), each check for real:
#   hadolint; nextflow lint; nextflow config for every documented profile combination;
#   -profile test end to end (outputs where docs/output.md says), then -resume (every task
#   cached); -stub-run; bad parameters stopped before any task; nf-core pipelines lint;
#   -profile test,slurm on a real one-node SLURM with a scheduler-killed task retried
#   (.ci/slurm_checks.sh); -profile test,docker in real containers (.ci/docker_checks.sh).
# nf-test cannot be installed on these machines (its releases and the nft-utils plugin are not
# reachable): that is said plainly, not skipped silently.
# Ends with one line "nextflow checks: N passed, N failed".
#   SEQ2EXPR_CI_OUT: where runs are written (default: a temporary folder)
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
out="${SEQ2EXPR_CI_OUT:-$(mktemp -d)}"
mkdir -p "$out"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "nextflow_checks: ok: $*"; }
ko() { failed=$((failed + 1)); echo "nextflow_checks: FAILED: $*"; }
seconds() { local start=$1; echo $(($(date +%s) - start)); }

# --- hadolint ------------------------------------------------------------------------------
if hadolint containers/cpu/Dockerfile containers/gpu/Dockerfile; then
    ok "hadolint clean (containers/cpu, containers/gpu)"
else
    ko "hadolint"
fi

# --- Nextflow ------------------------------------------------------------------------------
if ! NXF="$(bash .ci/setup-nextflow.sh | tail -1)" || [[ ! -x "$NXF" ]]; then
    ko "setup-nextflow.sh did not give a Nextflow launcher"
    echo "nextflow checks: $passed passed, $failed failed"
    exit 1
fi
export PATH="$(dirname "$NXF"):$PATH"
export NXF_ANSI_LOG=false
echo "nextflow_checks: $("$NXF" -version 2>&1 | grep -o 'version [0-9.]*' | head -1)"

# --- lint ----------------------------------------------------------------------------------
# nf-lang 25.04.0 (the only one on Maven Central) reports `meta`/`task` inside the closures of a
# publishDir map in conf/modules.config as undefined; Nextflow resolves them at run time (every
# run below publishes through them) and nf-lang fixed the check upstream (commit 686ff60,
# "Fix variable checking in v2 config parser"). Only that message, in that file, is accepted.
"$NXF" lint -o json . > "$out/lint.json" 2> "$out/lint.log"
if python3 - "$out/lint.json" <<'EOF'
import json, re, sys
report = json.loads(re.search(r"\{.*\}", open(sys.argv[1]).read(), re.S).group(0))
known = [e for e in report["errors"] if e["filename"] == "conf/modules.config"
         and e["message"] in ("`meta` is not defined", "`task` is not defined")]
other = [e for e in report["errors"] if e not in known]
for e in other:
    print(f"  {e['filename']}:{e['startLine']}:{e['startColumn']}: {e['message']}")
print(f"nextflow_checks: lint: {report['summary']['filesWithoutErrors'] + report['summary']['filesWithErrors']} files, "
      f"{len(other)} errors ({len(known)} known false positives of nf-lang 25.04.0 in conf/modules.config)")
sys.exit(1 if other else 0)
EOF
then ok "nextflow lint"; else ko "nextflow lint"; fi

# --- config of every documented profile combination ----------------------------------------
for profile in test test_full test_gpu gpu docker singularity apptainer podman slurm awsbatch \
               test,slurm test,docker test_full,singularity,slurm gpu,slurm; do
    if "$NXF" config -profile "$profile" . > "$out/config_${profile//,/_}.txt" 2> "$out/config_${profile//,/_}.log"; then
        ok "nextflow config -profile $profile"
    else
        ko "nextflow config -profile $profile: $(tail -3 "$out/config_${profile//,/_}.log")"
    fi
done

# --- -profile test end to end, then -resume -------------------------------------------------
run() { # name, work dir, extra args...: a run launched from $out (its .nextflow history stays there), log in $out/<name>.log
    local name=$1 work=$2
    shift 2
    (cd "$out" && "$NXF" -log "$out/$name.nextflow.log" run "$repo" -work-dir "$work" "$@") > "$out/$name.log" 2>&1
}
start=$(date +%s)
if run host "$out/work" -profile test --outdir "$out/host"; then
    ok "-profile test succeeded in $(seconds "$start") s"
    if python3 .ci/check_outputs.py "$out/host" --tissue Pituitary --skip references; then
        ok "outputs of -profile test where docs/output.md says"
    else
        ko "outputs of -profile test"
    fi
    start=$(date +%s)
    if run host_resume "$out/work" -profile test --outdir "$out/host" -resume \
        && python3 .ci/check_outputs.py "$out/host" --tissue Pituitary --skip references --trace-status CACHED; then
        ok "-resume: every task cached ($(seconds "$start") s)"
    else
        ko "-resume: $(tail -5 "$out/host_resume.log")"
    fi
else
    ko "-profile test: $(tail -20 "$out/host.log")"
fi

# --- -stub-run -------------------------------------------------------------------------------
if run stub "$out/work" -profile test -stub-run --outdir "$out/stub"; then
    ok "-stub-run"
else
    ko "-stub-run: $(tail -10 "$out/stub.log")"
fi

# --- bad parameters: a non-zero exit with one clear message, before any task ------------------
bad_param() { # name, expected text, args...
    local name=$1 expected=$2
    shift 2
    local log="$out/bad_$name.log" work="$out/bad_$name/work"
    run "bad_$name" "$work" --outdir "$out/bad_$name/out" "$@"
    local status=$?
    local tasks
    tasks=$(find "$work" -name .command.sh 2>/dev/null | wc -l)
    if [[ $status -ne 0 && $tasks -eq 0 ]] && grep -q -- "$expected" "$log"; then
        ok "bad parameter ($name): exit $status, no task, says: $(grep -m1 -- "$expected" "$log" | sed 's/^ERROR ~ //')"
    else
        ko "bad parameter ($name): exit $status, $tasks task(s) started, expected '$expected' in: $(grep -v '^\s*$' "$log" | tail -5)"
    fi
}
bad_param unknown_tissue "Unknown tissue(s) Nope in --tissues" -profile test --tissues Nope
bad_param missing_genome "does not exist" -profile test --genome "$out/no_such_genome.fa.gz"
bad_param negative_window "* --upstream (-5)" -profile test --upstream -5
bad_param chromosome_split "--split chromosome needs --test_chromosomes" -profile test --split chromosome
bad_param reference_of_wrong_kind "* --genome_reference (gtex_v8_gene_median_tpm)" --genome_reference gtex_v8_gene_median_tpm \
    --annotation "$repo/assets/test_data/annotation.gtf.gz" --expression "$repo/assets/test_data/expression.gct.gz"
bad_param no_model "No model left to evaluate" -profile test --models dexter,dnabert2 --skip_dexter --skip_dnabert2

# --- nf-core pipelines lint ------------------------------------------------------------------
if bash .ci/nf-core-lint.sh "$NXF" "$out/nf-core-lint.log"; then
    ok "nf-core pipelines lint: $(grep -E '\[.\] +[0-9]+ Tests? ' "$out/nf-core-lint.log" | tr -s ' ' | tr '\n' ';')"
else
    ko "nf-core pipelines lint: $(grep -E 'Tests? Failed|✗' "$out/nf-core-lint.log" | head -5) (see $out/nf-core-lint.log)"
    python3 -c "import json,sys; [print('   ', t, m) for t, m in json.load(open(sys.argv[1]))['tests_failed']]" "$out/nf-core-lint.json" || true
fi

# --- the real SLURM and the real Docker engine -------------------------------------------------
# They install Debian packages and start daemons as root: in CI (CI=true), or when asked with
# SEQ2EXPR_SERVICES=1; a developer's `bash tests/run_all.sh` says they were left out.
if [[ "${CI:-}" == "true" || "${SEQ2EXPR_SERVICES:-}" == "1" ]]; then
    if bash .ci/slurm_checks.sh "$NXF" "$out/slurm"; then ok "SLURM runs (.ci/slurm_checks.sh)"; else ko "SLURM runs (.ci/slurm_checks.sh)"; fi
    if bash .ci/setup-docker.sh > "$out/setup-docker.log" 2>&1; then
        ok "Docker engine and images ($(tail -2 "$out/setup-docker.log" | tr '\n' ' '))"
        if bash .ci/docker_checks.sh "$NXF" "$out/host" "$out/docker"; then ok "Docker runs (.ci/docker_checks.sh)"; else ko "Docker runs (.ci/docker_checks.sh)"; fi
    else
        ko "setup-docker.sh: $(tail -5 "$out/setup-docker.log")"
    fi
else
    echo "nextflow_checks: SLURM and Docker runs left out (they start daemons as root): run with CI=true or SEQ2EXPR_SERVICES=1"
fi

echo "nextflow_checks: nf-test was not run: nf-test and its nft-utils plugin cannot be downloaded on these machines (the test files follow nf-test 0.9 and nft-utils 0.0.3)"
echo "nextflow checks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
