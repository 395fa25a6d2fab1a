#!/usr/bin/env python3
"""Check a pipeline run's --outdir against docs/output.md.

Every file the document's tables name for a step that ran must exist where the document puts
it (`<tissue>` is replaced by each tissue id, `<date>` and `*` match anything); with --trace,
every task of the trace must have a given status (e.g. CACHED after -resume).

    python3 .ci/check_outputs.py OUTDIR --tissue Pituitary [--skip references] [--trace-status CACHED]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "output.md"


def documented_paths(text: str, skip: set[str]) -> list[str]:
    """Relative paths (globs) the document promises: `## <folder>/ (STEP)` sections and their tables."""
    paths: list[str] = []
    folder = None
    for line in text.splitlines():
        heading = re.match(r"^## (\S+)/ \(", line)
        if heading:
            folder = heading.group(1)
            continue
        if line.startswith("## "):
            folder = None
        if folder is None or folder in skip or not line.startswith("| `"):
            continue
        for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
            paths.append(f"{folder}/{name}")
    for line in text.splitlines():
        if line.startswith("`<tissue>/multiqc_report.html`"):
            paths.append("multiqc/<tissue>/multiqc_report.html")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--tissue", action="append", required=True)
    parser.add_argument("--skip", action="append", default=[], help="document section (folder) not expected")
    parser.add_argument("--trace-status", help="every task in the newest execution trace has this status")
    args = parser.parse_args()

    promised = documented_paths(DOCS.read_text(), set(args.skip))
    missing = []
    for pattern in promised:
        for tissue in args.tissue:
            glob = re.sub(r"<date>|<file name>", "*", pattern.replace("<tissue>", tissue)).rstrip("/")
            if not any(args.outdir.glob(glob)):
                missing.append(glob)
    if missing:
        listed = ", ".join(sorted(set(missing)))
        print(f"check_outputs: {len(missing)} documented output(s) missing under {args.outdir}: {listed}")
        return 1
    print(f"check_outputs: all {len(promised)} documented outputs present for {', '.join(args.tissue)}")

    if args.trace_status:
        traces = sorted((args.outdir / "pipeline_info").glob("execution_trace_*.txt"), key=lambda p: p.stat().st_mtime)
        with traces[-1].open() as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        other = [f"{row['name']}={row['status']}" for row in rows if row["status"] != args.trace_status]
        if not rows or other:
            print(f"check_outputs: expected every task {args.trace_status} in {traces[-1].name}: {other or 'no tasks'}")
            return 1
        print(f"check_outputs: all {len(rows)} tasks {args.trace_status} ({traces[-1].name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
