#!/usr/bin/env bash
# The pipeline under a real Nextflow (assembled by .ci/setup-nextflow.sh), each check for real:
#   hadolint; nextflow lint; nextflow config for every documented profile combination;
#   -profile test end to end (outputs where docs/output.md says; every task's %cpu, peak_rss and
#   peak_vmem in the execution trace; every option a task passed is one its script's --help
#   lists), then -resume with two tissues and --replicates 2 (the first run's tasks all cached;
#   each tissue reaches its evaluation and report, both seeds' metrics);
#   the edit-and-resume checks of .ci/resume_checks.sh (in the background, beside the runs above); -stub-run; --help; bad parameters
#   stopped before any task and good ones accepted (validation only: -preview); nf-core pipelines lint;
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
# Checks that only start a Nextflow JVM (configuration, parameter validation) run two at a time, the
# machine's cores, and are judged once all are done (a background job cannot count for the shell).
two_at_a_time() { while (( $(jobs -rp | wc -l) >= 2 )); do wait -n || true; done; }

# --- hadolint ------------------------------------------------------------------------------
if hadolint containers/Dockerfile; then
    ok "hadolint clean (containers/Dockerfile: the cpu and gpu targets)"
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
# the test profile's seed and folds (one JVM for both): what the runs below are checked against
"$NXF" config -flat -profile test . > "$out/config_test_flat.txt" 2>/dev/null
seed=$(sed -n "s/^params.seed = //p" "$out/config_test_flat.txt")
folds=$(sed -n "s/^params.folds = //p" "$out/config_test_flat.txt")
echo "nextflow_checks: $("$NXF" -version 2>&1 | grep -o 'version [0-9.]*' | head -1)"

# --- lint ----------------------------------------------------------------------------------
# nf-lang 25.04.0 (the only one on Maven Central) reports `meta`/`task` (and the process input `model_name` of PROBE_GLM) inside the closures of a
# publishDir map in conf/modules.config as undefined; Nextflow resolves them at run time (every
# run below publishes through them) and nf-lang fixed the check upstream (commit 686ff60,
# "Fix variable checking in v2 config parser"). Only that message, in that file, is accepted.
"$NXF" lint -o json . > "$out/lint.json" 2> "$out/lint.log"
if python3 - "$out/lint.json" <<'EOF'
import json, re, sys
report = json.loads(re.search(r"\{.*\}", open(sys.argv[1]).read(), re.S).group(0))
known = [e for e in report["errors"] if e["filename"] == "conf/modules.config"
         and e["message"] in ("`meta` is not defined", "`task` is not defined", "`model_name` is not defined")]
other = [e for e in report["errors"] if e not in known]
for e in other:
    print(f"  {e['filename']}:{e['startLine']}:{e['startColumn']}: {e['message']}")
print(f"nextflow_checks: lint: {report['summary']['filesWithoutErrors'] + report['summary']['filesWithErrors']} files, "
      f"{len(other)} errors ({len(known)} known false positives of nf-lang 25.04.0 in conf/modules.config)")
sys.exit(1 if other else 0)
EOF
then ok "nextflow lint"; else ko "nextflow lint"; fi

# --- config of every documented profile combination ----------------------------------------
# The container routes (conda, mamba, wave, arm64) and test_full,gpu,singularity,slurm are resolved
# here only: conda channels and Wave cannot be reached from CI.
profiles=(test test_full test_gpu gpu docker singularity apptainer podman slurm seq2expr_awsbatch
          conda mamba wave wave,singularity arm64
          test,slurm test,docker test_full,singularity,slurm test_full,gpu,singularity,slurm gpu,slurm)
start=$(date +%s)
for profile in "${profiles[@]}"; do
    two_at_a_time
    ("$NXF" config -profile "$profile" . > "$out/config_${profile//,/_}.txt" 2> "$out/config_${profile//,/_}.log"
     echo $? > "$out/config_${profile//,/_}.status") &
done
wait
for profile in "${profiles[@]}"; do
    if [[ "$(cat "$out/config_${profile//,/_}.status")" == 0 ]]; then
        ok "nextflow config -profile $profile"
    else
        ko "nextflow config -profile $profile: $(tail -3 "$out/config_${profile//,/_}.log")"
    fi
done
echo "nextflow_checks: ${#profiles[@]} configurations resolved in $(seconds "$start") s"

# --- -resume after a code change (.ci/resume_checks.sh), beside the runs below -------------------
# Its runs are its own (a fresh copy of the checkout, its own launch folder and work dir): it runs in
# the background while the host run and its -resume checks run here, so that the two keep both cores
# busy (each run alone leaves them idle while a JVM starts or one task ends a stage). Judged below.
bash .ci/resume_checks.sh "$NXF" "$out/resume" > "$out/resume_checks.log" 2>&1 &
resume_pid=$!

# --- -profile test end to end, then -resume -------------------------------------------------
run() { # name, work dir, extra args...: a run launched from $out (its .nextflow history stays there), log in $out/<name>.log
    local name=$1 work=$2
    shift 2
    (cd "$out" && "$NXF" -log "$out/$name.nextflow.log" run "$repo" -work-dir "$work" "$@") > "$out/$name.log" 2>&1
}
start=$(date +%s)
if run host "$out/work" -profile test --outdir "$out/host"; then
    ok "-profile test succeeded in $(seconds "$start") s"
    if summary=$(python3 .ci/check_outputs.py "$out/host" --tissue Pituitary --skip references --folds "$folds" \
        --attribution dexter,dnabert2,cnn,dnabert2_probe,probe_glm/esm_6mer,probe_glm/bert_char); then
        ok "outputs of -profile test where docs/output.md says (${summary#check_outputs: })"
    else
        ko "outputs of -profile test: $summary"
    fi
    # the report as a reader meets it: headless Chromium at 1,280 px (.ci/report_check.py); Debian's
    # chromium is installed as root in CI (or with SEQ2EXPR_SERVICES=1), else used when present
    if [[ "${CI:-}" != "true" && "${SEQ2EXPR_SERVICES:-}" != "1" ]] && ! command -v chromium > /dev/null; then
        echo "nextflow_checks: report check left out (no chromium): run with CI=true or SEQ2EXPR_SERVICES=1"
    elif CHROMIUM="$(bash .ci/setup-chromium.sh | tail -1)" \
        && CHROMIUM="$CHROMIUM" python3 .ci/report_check.py "$out/host/multiqc/Pituitary/multiqc_report.html" \
            --screenshot "$out/report_first_screen.png" \
            --verdict-starts "The primary model, DNABERT-2, has random weights" \
            --section composition_control --section attribution_ \
            --contains "Synthetic test data — these numbers check the pipeline, not biology." > "$out/report_check.log" 2>&1; then
        ok "report at 1280 px: $(tail -1 "$out/report_check.log")"
    else
        ko "report at 1280 px: $(grep FAILED "$out/report_check.log" | head -5)"
    fi
else
    ko "-profile test: $(tail -20 "$out/host.log")"
fi

# --- every task's resource usage in the execution trace ---------------------------------------
# Each task writes its usage to .command.trace, which Nextflow reads into the trace. Nextflow
# 25.04.0-25.04.2 write it with `>`, which bash's noclobber (-C, in the nf-core template's
# process.shell) refuses: every .command.log then ends in "cannot overwrite existing file" and
# %cpu, peak_rss, peak_vmem are '-' (nextflow-io/nextflow#6090; see process.shell in nextflow.config).
if summary=$(python3 - "$out/host" "$out/work" <<'EOF'
import csv, sys
from pathlib import Path
outdir, work = Path(sys.argv[1]), Path(sys.argv[2])
traces = sorted((outdir / "pipeline_info").glob("execution_trace_*.txt"), key=lambda path: path.stat().st_mtime)
if not traces:
    sys.exit(f"no execution_trace_*.txt in {outdir / 'pipeline_info'}")
rows = list(csv.DictReader(traces[-1].open(), delimiter="\t"))
columns = ("%cpu", "peak_rss", "peak_vmem")
problems = [] if rows else ["no task in the trace"]
for row in rows:
    empty = [column for column in columns if row.get(column, "-") in ("-", "")]
    if empty:
        problems.append(f"{row['name']}: {', '.join(empty)} '-'")
refused = sorted(f"{log.parent.parent.name}/{log.parent.name}" for log in work.glob("*/*/.command.log")
                 if "cannot overwrite existing file" in log.read_text(errors="replace"))
if refused:
    problems.append(f"'cannot overwrite existing file' in the .command.log of {', '.join(refused)}")
if problems:
    sys.exit("; ".join(problems))
print(f"{len(rows)} tasks, each with {', '.join(columns)}; no .command.log refused a write")
EOF
); then
    ok "execution trace of -profile test complete ($summary)"
else
    ko "execution trace of -profile test: $summary"
fi

# --- every option a task passed is one its script's --help lists ----------------------------
options_passed() { # work dir: the .command.sh of every task that ran a bin/ script or multiqc
    python3 - "$1" "$repo/bin" <<'EOF'
import re, shlex, subprocess, sys
from pathlib import Path
work, bin_dir = Path(sys.argv[1]), Path(sys.argv[2])
helps, problems, checked = {}, [], 0
for script in sorted(work.glob("*/*/.command.sh")):
    text = re.sub(r"\\\n", " ", script.read_text())
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if not words or not ((bin_dir / words[0]).exists() or words[0] == "multiqc"):
            continue
        program = words[0]
        if program not in helps:
            command = [sys.executable, str(bin_dir / program)] if program != "multiqc" else ["multiqc"]
            result = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True)
            helps[program] = set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", result.stdout))
        passed = {word.split("=")[0] for word in words[1:] if word.startswith("--")}
        checked += 1
        if passed - helps[program]:
            problems.append(f"{script.parent.name}: {program} {sorted(passed - helps[program])}")
if not checked or problems:
    sys.exit(f"no bin/ command in {work}" if not checked else "options not in --help: " + "; ".join(problems))
print(f"{checked} commands of {len(helps)} programs")
EOF
}
if summary=$(options_passed "$out/work" 2>&1); then
    ok "every option a task passed is in its script's --help ($summary)"
else
    ko "options passed: $summary"
fi

# --- --primary_model naming no model evaluated: EVALUATE_MODELS' one-line error --------------------
# Which names are evaluated is known once the models have run (predictions.tsv's model column), so
# the evaluation says it: resumed from the host run (every model cached), EVALUATE_MODELS alone runs,
# fails with its one line, and the run's last line repeats it.
start=$(date +%s)
host_session=$(sed -n 's/.*Session UUID: *//p' "$out/host.nextflow.log" | head -1)
run primary "$out/work" -profile test --primary_model Nope --outdir "$out/primary" -resume "$host_session"
status=$?
expected="--primary-model 'Nope' is not among the models evaluated: "
ran=$(python3 - "$out/primary" <<'EOF'
import csv, sys
from pathlib import Path
traces = sorted((Path(sys.argv[1]) / "pipeline_info").glob("execution_trace_*.txt"), key=lambda path: path.stat().st_mtime)
rows = list(csv.DictReader(traces[-1].open(), delimiter="\t")) if traces else []
print(",".join(sorted({row["name"].split(":")[-1].split(" ")[0] for row in rows if row["status"] != "CACHED"})) or "nothing")
EOF
)
if [[ $status -ne 0 && $ran == EVALUATE_MODELS ]] && grep -q -F "Pipeline failed: Error: $expected" "$out/primary.log"; then
    ok "--primary_model Nope: the models cached, EVALUATE_MODELS alone ran and stopped, the run ends with: $(grep -m1 -o -F "Error: $expected" "$out/primary.log")... ($(seconds "$start") s)"
else
    ko "--primary_model Nope: exit $status, tasks not cached: $ran, expected 'Pipeline failed: Error: $expected' in: $(grep -v '^\s*$' "$out/primary.log" | tail -5)"
fi

# --- -resume, two tissues, two replicates -----------------------------------------------------
# In the host run's work dir with -resume: every task of the host run up to the evaluation
# (Pituitary, the first seed) of the models this run keeps is reused from the cache, and what is new
# runs (Liver, the second seed, and each tissue's evaluation and report, whose inputs now hold both
# seeds and the new parameter summary); every run reaches its evaluation and its report, with every
# documented output of both tissues (each fold's seed_<s>/ folders). The folds stay the test
# profile's: fewer would be another dataset, and nothing of the host run could be reused. The frozen
# probes (dnabert2_probe, the two tiny gLMs) are left out: they have no seed, so they add nothing to
# what this run checks (one more tissue, a second seed, an exact -resume), only 9 tasks on Liver.
start=$(date +%s)
if run tissues "$out/work" -profile test --tissues 'Pituitary,Liver' --replicates 2 --models dexter,dnabert2,cnn -c "$repo/.ci/no_probes.config" \
    --outdir "$out/tissues" -resume \
    && python3 .ci/check_outputs.py "$out/tissues" --tissue Pituitary --tissue Liver --skip references \
        --skip '<tissue>/dnabert2_probe' --skip '<tissue>/probe_glm/*' --folds "$folds" --seeds "$seed,$((seed + 1))" > "$out/tissues_outputs.log" \
    && python3 - "$out/tissues" "$seed" "$out/host" Pituitary Liver <<'EOF'
import csv, sys
from pathlib import Path
outdir, seed, host, tissues = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
problems = []
def trace(folder):
    newest = max((folder / "pipeline_info").glob("execution_trace_*.txt"), key=lambda path: path.stat().st_mtime)
    return {row["hash"]: row for row in csv.DictReader(newest.open(), delimiter="\t")}
resumed = trace(outdir)
simple = lambda row: row["name"].split(":")[-1].split(" ")[0]
kept = {simple(row) for row in resumed.values()}
first = {task: row for task, row in trace(host).items() if simple(row) not in ("EVALUATE_MODELS", "MULTIQC") and simple(row) in kept}
rerun = [f"{row['name']}={resumed.get(task, {}).get('status', 'absent')}" for task, row in first.items()
         if resumed.get(task, {}).get("status") != "CACHED"]
if rerun:
    problems.append(f"tasks of the host run not taken from the cache: {rerun}")
for tissue in tissues:
    if not (outdir / "multiqc" / tissue / "multiqc_report.html").is_file():
        problems.append(f"multiqc/{tissue}/multiqc_report.html missing")
    for model in ("dnabert2", "cnn"):
        for replicate in (seed, seed + 1):
            if not list((outdir / tissue / model).glob(f"fold_*/seed_{replicate}/predictions.tsv")):
                problems.append(f"{tissue}/{model}/fold_*/seed_{replicate}/predictions.tsv missing")
    metrics = outdir / tissue / "evaluation" / "metrics.tsv"
    rows = list(csv.DictReader(metrics.open(), delimiter="\t")) if metrics.is_file() else []
    replicated = {row["model"] for row in rows if row.get("n_runs") == "2"}
    if len(replicated) < 2:
        problems.append(f"{tissue}/evaluation/metrics.tsv: models with the metrics of both seeds: {sorted(replicated) or 'none'}")
if problems:
    sys.exit("tissues: " + "; ".join(problems))
print(f"{len(resumed)} tasks, the host run's {len(first)} before the evaluation cached; {', '.join(tissues)}: reports, both seeds' predictions in every fold, metrics over 2 runs")
EOF
then
    ok "-resume with --tissues Pituitary,Liver --replicates 2: the host run's tasks up to the evaluation cached, both tissues evaluated and reported, both seeds in the metrics, $(sed 's/^check_outputs: //' "$out/tissues_outputs.log" | head -1 | cut -d';' -f1) ($(seconds "$start") s)"
else
    ko "--tissues Pituitary,Liver --replicates 2: $(tail -5 "$out/tissues.log"; cat "$out/tissues_outputs.log" 2>/dev/null)"
fi

# --- --target specificity: the tissue-specific question end to end --------------------------------
# In the host run's work dir (the windows are cached): the dataset's target is the tissue's level
# minus the mean level over the table's tissues, computed here from the bundled table, and the
# evaluation and report are made on it. A new target is a new dataset, so every model runs again:
# the two cheapest (DExTER and a 2-epoch CNN, no probe) on two folds are enough to show the target
# reaches the evaluation and the report; with --attribution false, the run also shows the switch
# off (no ATTRIBUTE task, no attribution folder, the report made without it).
start=$(date +%s)
if run specificity "$out/work" -profile test --target specificity --models dexter,cnn -c "$repo/.ci/no_probes.config" \
    --cnn_epochs 2 --folds 2 --attribution false --outdir "$out/specificity" -resume \
    && python3 - "$out/specificity" "$repo/assets/test_data/expression.gct.gz" <<'EOF'
import sys
from pathlib import Path
import numpy as np
import pandas as pd
outdir, table = Path(sys.argv[1]), sys.argv[2]
expression = pd.read_csv(table, sep="\t", skiprows=2).drop(columns="Description")
expression["Name"] = expression["Name"].str.replace(r"\.\d+$", "", regex=True)
levels = np.log10(np.maximum(expression.set_index("Name").astype(float), 0.001))
by_hand = levels["Pituitary"] - levels.mean(axis=1)
dataset = pd.read_csv(outdir / "Pituitary" / "dataset" / "dataset.tsv.gz", sep="\t")
genes = dataset["gene_id"].str.replace(r"\.\d+$", "", regex=True)
gap = float(np.max(np.abs(dataset["target"].to_numpy() - by_hand.loc[genes].to_numpy())))
metrics = pd.read_csv(outdir / "Pituitary" / "evaluation" / "metrics.tsv", sep="\t")
report = outdir / "multiqc" / "Pituitary" / "multiqc_report.html"
attribution = (outdir / "Pituitary" / "attribution").exists()
if gap > 1e-6 or not report.is_file() or not {"DExTER", "CNN"} <= set(metrics["model"]) or attribution:
    sys.exit(f"specificity: largest gap to the hand computation {gap:g}; report {report.is_file()}; models {sorted(set(metrics['model']))}; "
             f"attribution folder with --attribution false: {attribution}")
print(f"{len(dataset)} genes, target = level - mean level over the table's tissues (largest gap {gap:.1e}); DExTER and CNN evaluated on 2 folds and reported, no attribution")
EOF
then
    ok "--target specificity: dataset, evaluation and report ($(seconds "$start") s)"
else
    ko "--target specificity: $(tail -5 "$out/specificity.log")"
fi

# --- -resume after a code change: the background run of .ci/resume_checks.sh ------------------------
# Its contract: `resume_checks: ok|FAILED` lines, last line `resume checks: N passed, N failed`.
if [[ -f .ci/resume_checks.sh ]]; then
    wait "$resume_pid"
    status=$?
    grep -E '^resume_checks: (ok|FAILED)' "$out/resume_checks.log"
    counts=$(tail -1 "$out/resume_checks.log")
    if [[ "$counts" =~ ^resume\ checks:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
        if [[ $status -ne 0 && ${BASH_REMATCH[2]} -eq 0 ]]; then ko "resume_checks.sh exited $status with no failed check"; fi
    else
        ko "resume_checks.sh (exit $status) did not end with its counts: $(tail -3 "$out/resume_checks.log")"
    fi
fi

# --- -stub-run -------------------------------------------------------------------------------
if run stub "$out/work" -profile test -stub-run --outdir "$out/stub"; then
    ok "-stub-run"
else
    ko "-stub-run: $(tail -10 "$out/stub.log")"
fi

# --- --help: the parameters, exit 0, nothing written -----------------------------------------------
if run help "$out/help/work" --help && grep -q -- "--tissues" "$out/help.log" && [[ ! -e "$out/null" ]]; then
    ok "--help lists the parameters and writes no ./null/pipeline_info"
else
    ko "--help: $(tail -5 "$out/help.log"; ls -d "$out/null" 2>/dev/null)"
fi

# --- bad parameters: a non-zero exit with one clear message, before any task ------------------
# The caller gives each run's --outdir (one check runs without it); no run may write ./null. Each
# run is launched from a folder of its own (so runs side by side share no .nextflow history) and
# judged by `judge_params` once all have ended.
param_checks=()
launch_param() { # kind (bad|good), name, args...: the run in the background, its exit status in <folder>/status
    local kind=$1 name=$2
    shift 2
    mkdir -p "$out/${kind}_$name"
    two_at_a_time
    ((cd "$out/${kind}_$name" && "$NXF" -log "$out/${kind}_$name.nextflow.log" run "$repo" -work-dir "$out/${kind}_$name/work" "$@") \
        > "$out/${kind}_$name.log" 2>&1; echo $? > "$out/${kind}_$name/status") &
}
bad_param() { # name, expected text, args...
    local name=$1 expected=$2
    shift 2
    param_checks+=("bad|$name|$expected")
    launch_param bad "$name" "$@"
}
# A parameter that must be accepted: validation and every check before the first task, no task
# (-preview runs the script without its processes).
good_param() { # name, args...
    local name=$1
    shift
    param_checks+=("good|$name|$*")
    launch_param good "$name" --outdir "$out/good_$name/out" -preview "$@"
}
judge_params() {
    wait
    local entry kind name expected folder log status tasks
    for entry in "${param_checks[@]}"; do
        IFS='|' read -r kind name expected <<< "$entry"
        folder="$out/${kind}_$name" log="$out/${kind}_$name.log"
        status=$(cat "$folder/status")
        if [[ $kind == good ]]; then
            if [[ $status -eq 0 ]] && ! grep -q "ERROR" "$log"; then
                ok "accepted ($name): $expected"
            else
                ko "not accepted ($name): exit $status: $(grep -v '^\s*$' "$log" | tail -5)"
            fi
            continue
        fi
        tasks=$(find "$folder/work" -name .command.sh 2>/dev/null | wc -l)
        if [[ $status -ne 0 && $tasks -eq 0 && ! -e "$folder/null" ]] && grep -q -F -- "$expected" "$log"; then
            ok "bad parameter ($name): exit $status, no task, says: $(grep -m1 -F -- "$expected" "$log" | sed 's/^ERROR ~ //')"
        else
            ko "bad parameter ($name): exit $status, $tasks task(s) started$([[ -e "$folder/null" ]] && echo ', ./null written'), expected '$expected' in: $(grep -v '^\s*$' "$log" | tail -5)"
        fi
    done
}
start_params=$(date +%s)
bad_out=out # relative: each run is launched from its own folder
bad_param no_outdir "* Missing required parameter(s): outdir" -profile test
# A parameter spelt like one of ours is named with the right one; any other is nf-schema's
bad_param mistyped_parameter "--tissue is not a parameter of seq2expr; did you mean --tissues?" -profile test --tissue Liver --outdir "$bad_out"
bad_param hyphenated_parameter "--max-n-fraction is not a parameter of seq2expr; did you mean --max_n_fraction?" -profile test --max-n-fraction 0.2 --outdir "$bad_out"
bad_param unknown_parameter "* --no_such_option: 1" -profile test --no_such_option 1 --outdir "$bad_out"
bad_param core_option_with_two_hyphens "You used a core Nextflow option with two hyphens: '--resume'" -profile test --resume --outdir "$bad_out"
bad_param unknown_tissue "Unknown tissue(s) Nope in --tissues" -profile test --tissues Nope --outdir "$bad_out"
bad_param missing_genome "does not exist" -profile test --genome "$out/no_such_genome.fa.gz" --outdir "$bad_out"
# An input of the wrong kind, or an unknown model: what it looks like and what is expected
bad_param gtf_as_genome "--genome: annotation.gtf.gz looks like a GTF annotation; --genome takes a FASTA genome" -profile test \
    --genome "$repo/assets/test_data/annotation.gtf.gz" --outdir "$bad_out"
bad_param fasta_as_annotation "--annotation: genome.fa.gz looks like a FASTA genome; --annotation takes a GTF annotation" -profile test \
    --annotation "$repo/assets/test_data/genome.fa.gz" --outdir "$bad_out"
bad_param mistyped_model "--models: 'cnnn' is not a model; choose from dexter, dnabert2, cnn, dnabert2_probe" -profile test \
    --models dexter,cnnn --outdir "$bad_out"
bad_param negative_window "* --upstream (-5)" -profile test --upstream -5 --outdir "$bad_out"
bad_param chromosome_split "--split chromosome needs --test_chromosomes" -profile test --split chromosome --outdir "$bad_out"
bad_param reference_of_wrong_kind "* --genome_reference (gtex_v8_gene_median_tpm)" --genome_reference gtex_v8_gene_median_tpm \
    --annotation "$repo/assets/test_data/annotation.gtf.gz" --expression "$repo/assets/test_data/expression.gct.gz" --outdir "$bad_out"
bad_param no_model "No model left to evaluate" -profile test --models dexter,dnabert2 --skip_dexter --skip_dnabert2 --outdir "$bad_out"
bad_param cpu_finetune "Add the gpu profile" -profile test --dnabert2_model zhihan1996/DNABERT-2-117M --outdir "$bad_out"
# The study's profile fine-tunes DNABERT-2-117M: it needs gpu (or the explicit opt-out)
bad_param test_full_without_gpu "Add the gpu profile" -profile test_full,singularity,slurm --outdir "$bad_out"
good_param test_full_gpu -profile test_full,gpu,singularity,slurm
# One run for three things that must pass: an integer chromosome name, CPU fine-tuning asked for,
# and a gzipped table named .tsv (the table is recognised by its bytes, not its name)
cp "$repo/assets/test_data/expression.gct.gz" "$out/expression_gzip.tsv"
good_param integer_chromosome_cpu_finetune_gzip_tsv -profile test --split chromosome --test_chromosomes 8 --val_chromosomes 9 \
    --dnabert2_model zhihan1996/DNABERT-2-117M --allow_cpu_finetune --expression "$out/expression_gzip.tsv" --tissues 'Liver,Brain - Cortex'
# Folds are the grouped split's protocol: --split dexter --folds 3 is accepted, and the log says
# the folds are not used (one train/val/test split, fitBlocks); judged below for that warning
good_param split_dexter_folds -profile test --split dexter --folds 3
gzip -dc "$repo/assets/test_data/expression.gct.gz" | bzip2 > "$out/expression.gct.bz2"
bad_param unknown_tissue_bzip2 "Unknown tissue(s) Nope in --tissues: expression.gct.bz2 has" -profile test \
    --expression "$out/expression.gct.bz2" --tissues Nope --outdir "$bad_out"
judge_params
unused="--folds 3 / --cv_repeats 1 apply to --split grouped only: --split dexter is one train/val/test split"
if grep -q -F -- "$unused" "$out/good_split_dexter_folds.log"; then
    ok "--split dexter --folds 3: the log says $(grep -m1 -o -F -- "$unused" "$out/good_split_dexter_folds.log")"
else
    ko "--split dexter --folds 3: no warning '$unused' in: $(grep -v '^\s*$' "$out/good_split_dexter_folds.log" | tail -5)"
fi
echo "nextflow_checks: ${#param_checks[@]} parameter checks in $(seconds "$start_params") s"

# --- a step that keeps nothing stops itself, with the ledger's reasons -------------------------------
# The extraction keeps no gene (no miRNA in the bundled annotation): EXTRACT_TSS_WINDOWS fails with
# its own line and counts, the pipeline's last line repeats it, and no later step starts.
start=$(date +%s)
run keeps_nothing "$out/keeps_nothing/work" -profile test --biotype miRNA --outdir "$out/keeps_nothing/out"
status=$?
later=$(find "$out/keeps_nothing/work" -name .command.sh -exec grep -l -E 'build_dataset.py|dexter.py|train_cnn.py|evaluate_models.py' {} + 2>/dev/null | wc -l)
expected="no gene kept from annotation.gtf.gz: 497 biotype_not_selected"
if [[ $status -ne 0 && $later -eq 0 ]] && grep -q -F "Pipeline failed: Error: $expected" "$out/keeps_nothing.log"; then
    ok "a step that keeps nothing: EXTRACT_TSS_WINDOWS stops, no later step starts, the run ends with: $(grep -m1 -o -F "Error: $expected" "$out/keeps_nothing.log") ($(seconds "$start") s)"
else
    ko "a step that keeps nothing: exit $status, $later later step(s) started, expected 'Pipeline failed: Error: $expected' in: $(grep -v '^\s*$' "$out/keeps_nothing.log" | tail -5)"
fi

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
    start=$(date +%s)
    if bash .ci/slurm_checks.sh "$NXF" "$out/slurm"; then
        ok "SLURM runs (.ci/slurm_checks.sh, $(seconds "$start") s)"
    else
        ko "SLURM runs (.ci/slurm_checks.sh, $(seconds "$start") s)"
    fi
    if bash .ci/setup-docker.sh > "$out/setup-docker.log" 2>&1; then
        ok "Docker engine and images ($(tail -2 "$out/setup-docker.log" | tr '\n' ' '))"
        # In the containers, the run of .ci/resume_checks.sh (its outdir holds the same outputs after
        # every resumed run: the edits are comments): every step kind, two folds, one epoch of each
        # training, one gLM. The same results as on the host is what is checked, and this run costs
        # about half of -profile test's (three folds, 6 and 40 epochs, two gLMs, the DNABERT-2 probe).
        start=$(date +%s)
        if bash .ci/docker_checks.sh "$NXF" "$out/resume/results" "$out/docker" --models dexter,dnabert2,cnn \
            --dnabert2_epochs 1 --cnn_epochs 1 --folds 2 --attribution_genes 2 --attribution_flank 10 \
            --probe_models "$repo/assets/test_data/tiny_glms/esm_6mer"; then
            ok "Docker runs (.ci/docker_checks.sh, $(seconds "$start") s)"
        else
            ko "Docker runs (.ci/docker_checks.sh, $(seconds "$start") s)"
        fi
    else
        ko "setup-docker.sh: $(tail -5 "$out/setup-docker.log")"
    fi
else
    echo "nextflow_checks: SLURM and Docker runs left out (they start daemons as root): run with CI=true or SEQ2EXPR_SERVICES=1"
fi

echo "nextflow_checks: nf-test was not run: nf-test and its nft-utils plugin cannot be downloaded on these machines (the test files follow nf-test 0.9 and nft-utils 0.0.3)"
echo "nextflow checks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
