"""MultiQC custom-content files: the one way every step hands a table or plot to the report.

Section titles, descriptions and order live in `assets/multiqc_config.yml`; a file carries only
its section id, plot type and plot settings, as YAML `#` comment lines above a TSV or as a YAML
document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml


@dataclass(frozen=True)
class ReportFile:
    """One custom-content file: its name in the output folder and its contents."""

    name: str
    content: bytes


def yaml_file(name: str, document: Mapping[str, object]) -> ReportFile:
    """A custom-content YAML document (line graphs, scatter plots, HTML sections)."""
    return ReportFile(name, yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True).encode("utf-8"))


def tsv_with_header(name: str, header: Mapping[str, object], table: pd.DataFrame) -> ReportFile:
    """A custom-content TSV: the YAML configuration as `#` comment lines, then the table."""
    comment = "".join(
        f"# {line}\n" for line in yaml.safe_dump(dict(header), sort_keys=False, allow_unicode=True).splitlines()
    )
    body = table.to_csv(sep="\t", index=False, lineterminator="\n", float_format="%.4g")
    return ReportFile(name, (comment + body).encode("utf-8"))


def write_report_files(files: Iterable[ReportFile], outdir: Path) -> None:
    """Write each file into the step's output folder."""
    for report_file in files:
        (outdir / report_file.name).write_bytes(report_file.content)


def ledger_counts(ledger: pd.DataFrame) -> dict[str, int]:
    """Genes per reason of a step's ledger, reasons in alphabetical order."""
    return {str(reason): int(count) for reason, count in ledger["reason"].value_counts().sort_index().items()}


def counts_table(name: str, section_id: str, row: str, counts: Mapping[str, int]) -> ReportFile:
    """A one-row table of gene counts (kept, and set aside per reason) for the report, so that
    no gene leaves a step without the report saying so. Rows from several files with the same
    section id (one per tissue) merge into one table."""
    header = {"id": section_id, "plot_type": "table", "pconfig": {"id": f"{section_id}_table", "col1_header": "set"}}
    table = pd.DataFrame([{"set": row, **{key: int(value) for key, value in counts.items()}}])
    return tsv_with_header(name, header, table)
