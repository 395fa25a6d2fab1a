#!/usr/bin/env python3
"""Check a pipeline run's --outdir against docs/output.md.

Every file the document's tables name for a step that ran must exist where the document puts
it (`<tissue>` is replaced by each tissue id, `<date>` and `*` match anything); with --trace,
every task of the trace must have a given status (e.g. CACHED after -resume).

Under cross-fitting (--folds K, K >= 2) a model's files are per fit, as the document says below its
model tables: in `fold_<k>/` for k = 1..K (and `seed_<s>/` inside it with --seeds), exactly those
folders and no file of the table left at the model folder's top. The attribution folder
`<model>` is each model ISM can load that ran (--attribution), `attribution_regions.tsv` DExTER's
only. Beyond presence, what the new tables must hold is read: each fit's predictions.tsv has its
fold's genes as test (fold column = k) and its control.tsv covers exactly those test genes, on
windows that shuffled_windows.fa holds with the same names and lengths as tss_windows.fa;
evaluation/folds.tsv has K folds per model, control.tsv a row per model and the GC/CpG
baseline, interaction.tsv rows.

    python3 .ci/check_outputs.py OUTDIR --tissue Pituitary [--skip references] [--folds 3]
        [--seeds 42,43] [--attribution dexter,dnabert2,cnn] [--trace-status CACHED]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "output.md"
FITTED = {"DEXTER", "FINETUNE_DNABERT2", "TRAIN_CNN", "PROBE_DNABERT2", "PROBE_GLM"}
"""The steps with one task per fit (fold_<k>/ under cross-fitting, docs/output.md)."""
PER_SEED = {"FINETUNE_DNABERT2", "TRAIN_CNN"}
"""The steps that run once per seed (seed_<s>/ with --replicates > 1)."""


def documented_paths(text: str, skip: set[str]) -> list[tuple[str, str, str, str]]:
    """(folder, step, file glob, content) the document promises: `## <folder>/ (STEP)` sections and their tables."""
    paths: list[tuple[str, str, str, str]] = []
    folder = step = None
    for line in text.splitlines():
        heading = re.match(r"^## (\S+)/ \((\w+)\)", line)
        if heading:
            folder, step = heading.groups()
            continue
        if line.startswith("## "):
            folder = step = None
        if folder is None or step is None or folder in skip or not line.startswith("| `"):
            continue
        cells = line.split("|")
        for name in re.findall(r"`([^`]+)`", cells[1]):
            paths.append((folder, step, name, cells[2].strip() if len(cells) > 2 else ""))
    for line in text.splitlines():
        if line.startswith("`<tissue>/multiqc_report.html`"):
            paths.append(("multiqc/<tissue>", "MULTIQC", "multiqc_report.html", ""))
    return paths


def rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def fasta(path: Path) -> dict[str, int]:
    """Sequence name -> length."""
    lengths: dict[str, int] = {}
    name = None
    with path.open() as handle:
        for line in handle:
            if line.startswith(">"):
                name = line[1:].split()[0]
                lengths[name] = 0
            elif name is not None:
                lengths[name] += len(line.strip())
    return lengths


def contents(outdir: Path, tissue: str, folds: int, seeds: list[str]) -> list[str]:
    """What the cross-fitting, composition-control and evaluation tables must hold."""
    problems: list[str] = []
    windows, shuffled = outdir / "tss_windows" / "tss_windows.fa", outdir / "tss_windows" / "shuffled_windows.fa"
    if windows.is_file() and shuffled.is_file() and fasta(windows) != fasta(shuffled):
        problems.append("tss_windows/shuffled_windows.fa: not the same names and lengths as tss_windows.fa")
    dataset = rows(outdir / tissue / "dataset" / "dataset.tsv.gz")
    fold_of = {row["gene_id"]: row.get("fold", "") for row in dataset}
    fits = 0
    for predictions in sorted((outdir / tissue).glob("**/predictions.tsv")):
        fit = predictions.parent
        table = rows(predictions)
        test = {row["gene_id"] for row in table if row["split"] == "test"}
        where = str(fit.relative_to(outdir))
        if folds >= 2:
            k = re.search(r"fold_(\d+)", where)
            expected = {gene for gene, fold in fold_of.items() if k and fold == k.group(1)}
            if not k or test != expected or {row.get("fold") for row in table} != {k.group(1)}:
                problems.append(f"{where}/predictions.tsv: test genes or fold column not those of its fold")
        control = fit / "control.tsv"
        if control.is_file():
            covered = {row["gene_id"] for row in rows(control)}
            if covered != test:
                problems.append(f"{where}/control.tsv: {len(covered)} genes, its fit has {len(test)} test genes")
        fits += 1
    if not fits:
        problems.append(f"{tissue}: no predictions.tsv")
    evaluation = outdir / tissue / "evaluation"
    models = {row["model"] for row in rows(evaluation / "metrics.tsv") if row.get("split") == "test"}
    if (evaluation / "folds.tsv").is_file():
        per_model: dict[str, set[str]] = {}
        for row in rows(evaluation / "folds.tsv"):
            per_model.setdefault(row["model"], set()).add(row["fold"])
        want = {str(k) for k in range(1, folds + 1)} if folds >= 2 else {"0"}
        wrong = sorted(model for model, found in per_model.items() if found != want)
        if not per_model or wrong:
            problems.append(f"{tissue}/evaluation/folds.tsv: folds other than {sorted(want)} for {wrong or 'no model'}")
    if (evaluation / "control.tsv").is_file():
        controlled = {row["model"] for row in rows(evaluation / "control.tsv")}
        fitted = {m for m in models if not m.lower().startswith(("mean", "train", "gc"))}
        if not fitted <= controlled or not any("gc" in m.lower() for m in controlled):
            problems.append(f"{tissue}/evaluation/control.tsv: models {sorted(controlled)}, evaluated {sorted(models)}")
    if (evaluation / "interaction.tsv").is_file() and not rows(evaluation / "interaction.tsv"):
        problems.append(f"{tissue}/evaluation/interaction.tsv: no row")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--tissue", action="append", required=True)
    parser.add_argument("--skip", action="append", default=[], help="document section (folder) not expected")
    parser.add_argument("--folds", type=int, default=1, help="folds of the run's cross-fitting (1: a single split)")
    parser.add_argument("--seeds", default="", help="seeds of a --replicates > 1 run, comma separated")
    parser.add_argument("--attribution", default="dexter,dnabert2,cnn", help="attributed models ('' for none)")
    parser.add_argument("--trace-status", help="every task in the newest execution trace has this status")
    args = parser.parse_args()

    seeds = [seed for seed in args.seeds.split(",") if seed]
    attributed = [model for model in args.attribution.split(",") if model]
    promised = documented_paths(DOCS.read_text(), set(args.skip))
    missing, stray, counted = [], [], 0
    for folder, step, name, content in promised:
        models = attributed if "<model>" in folder else [""]
        if "<model>" in folder and content.startswith("DExTER only"):
            models = [model for model in models if model == "dexter"]
        fits = [""]
        if step in FITTED and args.folds >= 2:
            fits = [f"/fold_{k}" for k in range(1, args.folds + 1)]
        if step in PER_SEED and seeds:
            fits = [f"{fit}/seed_{seed}" for fit in fits for seed in seeds]
        for tissue in args.tissue:
            for model in models:
                base = folder.replace("<tissue>", tissue).replace("<model>", model)
                for fit in fits:
                    glob = re.sub(r"<date>|<file name>", "*", f"{base}{fit}/{name}").rstrip("/")
                    counted += 1
                    if not any(args.outdir.glob(glob)):
                        missing.append(glob)
                if fits != [""] and any(args.outdir.glob(f"{base}/{name.rstrip('/')}")):
                    stray.append(f"{base}/{name}")
    for tissue in args.tissue:
        for folder in args.outdir.glob(f"{tissue}/**/fold_*"):
            k = int(folder.name.split("_")[1])
            if not 1 <= k <= args.folds:
                stray.append(str(folder.relative_to(args.outdir)))
    if missing or stray:
        if missing:
            print(
                f"check_outputs: {len(missing)} documented output(s) missing under {args.outdir}: "
                + ", ".join(sorted(set(missing)))
            )
        if stray:
            print(f"check_outputs: outside the fits' folders under {args.outdir}: {', '.join(sorted(set(stray)))}")
        return 1
    problems = [problem for tissue in args.tissue for problem in contents(args.outdir, tissue, args.folds, seeds)]
    if problems:
        print("check_outputs: " + "; ".join(problems))
        return 1
    layout = f"{args.folds} folds" if args.folds >= 2 else "a single split"
    print(
        f"check_outputs: all {counted} documented outputs present for {', '.join(args.tissue)} ({layout}"
        f"{', seeds ' + ', '.join(seeds) if seeds else ''}; attribution of {', '.join(attributed) or 'none'}); "
        "each fit's test genes are its fold's, its control.tsv covers them, the shuffled windows match the windows, "
        "folds.tsv, control.tsv and interaction.tsv filled"
    )

    if args.trace_status:
        traces = sorted((args.outdir / "pipeline_info").glob("execution_trace_*.txt"), key=lambda p: p.stat().st_mtime)
        with traces[-1].open() as handle:
            trace = list(csv.DictReader(handle, delimiter="\t"))
        other = [f"{row['name']}={row['status']}" for row in trace if row["status"] != args.trace_status]
        if not trace or other:
            print(f"check_outputs: expected every task {args.trace_status} in {traces[-1].name}: {other or 'no tasks'}")
            return 1
        print(f"check_outputs: all {len(trace)} tasks {args.trace_status} ({traces[-1].name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
