#!/usr/bin/env bash
# -resume reruns a step when, and only when, the code it runs changes. In a fresh copy of the
# checkout (its files as git sees them) under OUT/checkout, launched from OUT:
#   1. `-profile test --models dexter,dnabert2,cnn --folds 2` with one epoch of each training, ISM of
#      2 genes by 10 bp each side, and one of the test profile's two tiny gLMs for PROBE_GLM (what the
#      check needs: every kind of step, each more than once; two folds show that an edit reruns every
#      fit of a model, one gLM that it reruns the probes; more would only cost time, and every edit
#      below reruns the ATTRIBUTE tasks): every task runs, and each task's staged
#      `code/seq2expr` holds exactly the package files its bin/ script imports (files, not folders:
#      `seq2expr.step_code.step_files`, the list the workflow stages);
#   2. a line added to src/seq2expr/models/dexter/model.py, then -resume: exactly DEXTER (both
#      folds), ATTRIBUTE, EVALUATE_MODELS and MULTIQC run again, the others are cached;
#   3. a line added to the fine-tuning code (src/seq2expr/models/dnabert2/finetune.py), then -resume:
#      exactly FINETUNE_DNABERT2, ATTRIBUTE, EVALUATE_MODELS and MULTIQC run again, DEXTER and
#      TRAIN_CNN stay cached (the CNN shares the training core, not DNABERT-2's code);
#   4. a line added to the CNN (src/seq2expr/models/cnn/model.py), then -resume: exactly TRAIN_CNN,
#      ATTRIBUTE, EVALUATE_MODELS and MULTIQC run again;
#   5. a line added to the roster (src/seq2expr/models/roster.py), then -resume: every model but the
#      gLM probe (probe_glm.py does not read the roster) and what follows runs again, the data steps
#      stay cached;
#   6. a line added to the training core (src/seq2expr/models/training/core.py), then -resume: the
#      gradient-trained models and the gLM probe (their batching) and what follows, DEXTER and the
#      data steps cached;
#   7. a line added to code no step imports (src/seq2expr/data/synthetic.py, the test-data generator's),
#      then -resume: every task cached.
# ATTRIBUTE runs once per attributed model (dexter, dnabert2, cnn: the first fit of each), and
# ATTRIBUTE_PROBE once for the gLM's probe (probe_glm); bin/attribute.py imports the prediction code of
# every model kind (seq2expr.interpret.predictors), so each of them stages the same code: an edit of
# one model's code reruns all four (the expected lists say ATTRIBUTE:<kind> and ATTRIBUTE_PROBE:<kind>,
# the kind read from the task's --model-kind).
# Which tasks ran is read from the trace file of each run, as `PROCESS xN` per process. Prints one
# `resume_checks: ok: ...` or `resume_checks: FAILED: ...` line per check and last
# `resume checks: N passed, N failed`; exits 0 only if every check passed.
#
#   bash .ci/resume_checks.sh NXF OUT
set -uo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 NXF OUT" >&2
    exit 2
fi
nxf=$1
mkdir -p "$2"
out=$(cd "$2" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
ok() { echo "resume_checks: ok: $*"; passed=$((passed + 1)); }
ko() { echo "resume_checks: FAILED: $*"; failed=$((failed + 1)); }
finish() {
    echo "resume checks: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# --- a fresh copy of the checkout ----------------------------------------------------------------
rm -rf "$out/checkout" "$out/work" "$out/.nextflow" "$out/results" "$out"/trace*.txt
mkdir -p "$out/checkout"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) \
    | (cd "$repo" && xargs -0 -I{} sh -c '[ -f "$1" ] && cp --parents -p "$1" "$0"' "$out/checkout" {}) \
    || { ko "could not copy the checkout into $out/checkout"; finish; }
checkout=$out/checkout

# One config file for every run: the parameter summary MultiQC reads lists the config files, so a
# different one would rerun MULTIQC by itself.
cat >"$out/trace.config" <<EOF
trace {
    enabled   = true
    overwrite = true
    fields    = 'task_id,hash,name,process,status,exit'
    file      = '$out/trace.txt'
}
EOF

run_pipeline() {  # $1: label, then extra arguments; the trace is copied to trace-<label>.txt
    local label=$1
    shift
    local start=$SECONDS
    if (cd "$out" && "$nxf" -log "$out/nextflow-$label.log" run "$checkout" -profile test -ansi-log false \
        -c "$out/trace.config" --models dexter,dnabert2,cnn --dnabert2_epochs 1 --cnn_epochs 1 --folds 2 \
        --attribution_genes 2 --attribution_flank 10 \
        --probe_models "$checkout/assets/test_data/tiny_glms/esm_6mer" --outdir "$out/results" -work-dir "$out/work" "$@") >"$out/run-$label.out" 2>&1; then
        cp "$out/trace.txt" "$out/trace-$label.txt"
        wall=$((SECONDS - start))
        return 0
    fi
    tail -30 "$out/run-$label.out" >&2
    return 1
}

# the processes (simple names) of a trace with a given status, sorted, as `NAME xN`, comma separated;
# ATTRIBUTE and ATTRIBUTE_PROBE as <process>:<model kind> (its --model-kind in the task's .command.sh)
processes() {  # $1: trace, $2: status
    python3 - "$1" "$2" "$out/work" <<'PY'
import collections, csv, re, sys
from pathlib import Path
trace, status, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
names = collections.Counter()
for row in csv.DictReader(open(trace), delimiter="\t"):
    if row["status"] != status:
        continue
    name = row["process"].split(":")[-1]
    if name in ("ATTRIBUTE", "ATTRIBUTE_PROBE"):
        folders = list(work.glob(f"{row['hash']}*"))
        kind = re.search(r"--model-kind (\w+)", (folders[0] / ".command.sh").read_text()) if folders else None
        name += f":{kind.group(1) if kind else '?'}"
    names[name] += 1
print(",".join(f"{name} x{count}" for name, count in sorted(names.items())))
PY
}

# $1: label, $2: file of the checkout to change, $3: the processes that must run again
after_edit() {
    local label=$1 file=$2 want=$3
    echo "# resume_checks: $label" >>"$checkout/$file"
    if ! run_pipeline "$label" -resume; then
        ko "$label: nextflow run -resume failed, see $out/run-$label.out"
        return
    fi
    local ran cached
    ran=$(processes "$out/trace-$label.txt" COMPLETED)
    cached=$(processes "$out/trace-$label.txt" CACHED)
    if [ "$ran" == "$want" ]; then
        ok "$label: $file changed, -resume ran ${ran:-nothing} again; cached: ${cached:-nothing} (${wall} s)"
    else
        ko "$label: $file changed, -resume ran '${ran}' again, expected '${want}' (cached: ${cached})"
    fi
}

# --- 1. the first run, and what each task staged ---------------------------------------------------
if ! run_pipeline first; then
    ko "first run: nextflow run failed, see $out/run-first.out"
    finish
fi
tasks=$(($(wc -l <"$out/trace-first.txt") - 1))
not_done=$(awk -F'\t' 'NR > 1 && $5 != "COMPLETED"' "$out/trace-first.txt")
if [ -z "$not_done" ]; then
    ok "first run: -profile test --models dexter,dnabert2,cnn --folds 2, one gLM, $tasks tasks completed (${wall} s)"
else
    ko "first run: tasks not completed: $not_done"
fi

if staged=$(PYTHONPATH="$checkout/src" python3 - "$out/trace-first.txt" "$out/work" "$checkout" 2>&1 <<'PY'
import csv
import pathlib
import re
import sys

from seq2expr import step_code

trace, work, checkout = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
problems, seen = [], []
for row in csv.DictReader(open(trace), delimiter="\t"):
    folders = list(work.glob(f"{row['hash']}*"))
    command = (folders[0] / ".command.sh").read_text() if folders else ""
    script = re.search(r"^\s*(\w+\.py)\b", command, re.M)
    staged = folders[0] / "code" / "seq2expr" if folders else None
    if not script:
        continue  # MULTIQC: no package code
    if staged is None or not staged.exists():
        problems.append(f"{row['name']}: no code/seq2expr staged")
        continue
    have = {str(f.relative_to(staged.resolve())) for f in staged.resolve().rglob("*") if f.is_file()}
    want = set(step_code.step_files(checkout / "bin" / script.group(1)))
    if have != want:
        problems.append(f"{row['name']}: staged {sorted(have ^ want)} more or less than {script.group(1)} imports")
    seen.append(f"{row['process'].split(':')[-1]} {len(have)}")
if problems or not seen:
    sys.exit("; ".join(problems) or "no task staged code")
print(", ".join(seen))
PY
); then
    ok "staged code: each task holds exactly the package files its bin/ script imports (files: $staged)"
else
    ko "staged code: $staged"
fi

# --- 2-4. edits, then -resume ----------------------------------------------------------------------
after_edit dexter src/seq2expr/models/dexter/model.py "ATTRIBUTE:cnn x1,ATTRIBUTE:dexter x1,ATTRIBUTE:dnabert2 x1,ATTRIBUTE_PROBE:probe_glm x1,DEXTER x2,EVALUATE_MODELS x1,MULTIQC x1"
after_edit finetune src/seq2expr/models/dnabert2/finetune.py "ATTRIBUTE:cnn x1,ATTRIBUTE:dexter x1,ATTRIBUTE:dnabert2 x1,ATTRIBUTE_PROBE:probe_glm x1,EVALUATE_MODELS x1,FINETUNE_DNABERT2 x2,MULTIQC x1"
after_edit cnn src/seq2expr/models/cnn/model.py "ATTRIBUTE:cnn x1,ATTRIBUTE:dexter x1,ATTRIBUTE:dnabert2 x1,ATTRIBUTE_PROBE:probe_glm x1,EVALUATE_MODELS x1,MULTIQC x1,TRAIN_CNN x2"
after_edit roster src/seq2expr/models/roster.py "ATTRIBUTE:cnn x1,ATTRIBUTE:dexter x1,ATTRIBUTE:dnabert2 x1,ATTRIBUTE_PROBE:probe_glm x1,DEXTER x2,EVALUATE_MODELS x1,FINETUNE_DNABERT2 x2,MULTIQC x1,TRAIN_CNN x2"
after_edit training_core src/seq2expr/models/training/core.py "ATTRIBUTE:cnn x1,ATTRIBUTE:dexter x1,ATTRIBUTE:dnabert2 x1,ATTRIBUTE_PROBE:probe_glm x1,EVALUATE_MODELS x1,FINETUNE_DNABERT2 x2,MULTIQC x1,PROBE_GLM x2,TRAIN_CNN x2"
after_edit unrelated src/seq2expr/data/synthetic.py ""
finish
