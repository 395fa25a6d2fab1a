"""MultiQC custom-content files: the one way every step hands a table, plot or text to the report.

Section titles, descriptions and order live in `assets/multiqc_config.yml`; a file carries only
its section id, plot type and plot settings, as YAML `#` comment lines above a TSV, as a YAML
document, as an HTML comment above a fragment, or (a PNG) in its file name. Every table of the
report is written by `table_section`, every interval cell by `interval_cells`, every PNG by
`png_file`, so the report's tables and figures share one shape.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from seq2expr.stats import format_interval

if TYPE_CHECKING:  # matplotlib is only needed by the steps that draw
    from matplotlib.figure import Figure

PNG_DPI = 100


@dataclass(frozen=True)
class ReportFile:
    """One custom-content file: its name in the output folder and its contents."""

    name: str
    content: bytes


def yaml_file(name: str, document: Mapping[str, object]) -> ReportFile:
    """A custom-content YAML document (line graphs, scatter plots)."""
    return ReportFile(name, yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True).encode("utf-8"))


def html_file(section_id: str, body: str) -> ReportFile:
    """A custom-content HTML fragment (`<section id>_mqc.html`) with its section id in the leading comment."""
    return ReportFile(f"{section_id}_mqc.html", f"<!--\nid: {section_id}\nplot_type: html\n-->\n{body}".encode())


def png_file(name: str, figure: Figure) -> ReportFile:
    """A PNG without the software/time metadata, so re-runs give the same bytes; MultiQC takes the
    section id from the file name (`<id>_mqc.png`)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return ReportFile(name, buffer.getvalue())


def tsv_with_header(name: str, header: Mapping[str, object], table: pd.DataFrame) -> ReportFile:
    """A custom-content TSV: the YAML configuration as `#` comment lines, then the table."""
    comment = "".join(
        f"# {line}\n" for line in yaml.safe_dump(dict(header), sort_keys=False, allow_unicode=True).splitlines()
    )
    body = table.to_csv(sep="\t", index=False, lineterminator="\n", float_format="%.4g")
    return ReportFile(name, (comment + body).encode("utf-8"))


def table_section(
    section_id: str,
    rows: pd.DataFrame,
    first_column: str,
    headers: Mapping[str, object] | None = None,
    *,
    sort_rows: bool = False,
    name: str | None = None,
) -> ReportFile:
    """A MultiQC table: `rows`' first column names the rows, `headers` configures the others.

    Rows keep the order they are given (the writer decides what comes first, e.g. test rows)
    unless `sort_rows`, MultiQC's default, which is then left unsaid. A column without any value
    is hidden (still under 'Configure columns'). Several files with the same
    section id (one per tissue) merge into one table; `name` tells them apart (default
    `<section_id>_mqc.tsv`).
    """
    pconfig: dict[str, object] = {"id": f"{section_id}_table", "col1_header": first_column}
    if not sort_rows:
        pconfig["sort_rows"] = False
    header: dict[str, object] = {"id": section_id, "plot_type": "table", "pconfig": pconfig}
    if headers:
        header["headers"] = {
            column: {**settings, "hidden": True} if _empty(rows[column]) and isinstance(settings, Mapping) else settings
            for column, settings in headers.items()
        }
    return tsv_with_header(name or f"{section_id}_mqc.tsv", header, rows)


def _empty(cells: pd.Series) -> bool:
    """Whether a column has no value to show (e.g. AUROC without a dataset): MultiQC would print it empty."""
    return bool(
        cells.map(lambda cell: cell == "" or cell == "n/a" or (isinstance(cell, float) and np.isnan(cell))).all()
    )


def number_cells(values: pd.Series) -> list[float | str]:
    """Numbers for a table column; MultiQC prints NaN as 'nan', an empty cell reads better."""
    return [float(value) if np.isfinite(value) else "" for value in values.to_numpy(dtype=float)]


def interval_cells(table: pd.DataFrame, low: str, high: str) -> list[str]:
    """Two bound columns as '[low, high]' text (the one interval formatter, `seq2expr.stats.format_interval`)."""
    return [format_interval(lo, hi) for lo, hi in zip(table[low].astype(float), table[high].astype(float), strict=True)]


def write_report_files(files: Iterable[ReportFile], outdir: Path) -> None:
    """Write each file into the step's output folder."""
    for report_file in files:
        (outdir / report_file.name).write_bytes(report_file.content)


def ledger_counts(ledger: pd.DataFrame) -> dict[str, int]:
    """Genes per reason of a step's ledger, reasons in alphabetical order."""
    return {str(reason): int(count) for reason, count in ledger["reason"].value_counts().sort_index().items()}


def counts_table(name: str, section_id: str, row: str, counts: Mapping[str, int], titled: bool = False) -> ReportFile:
    """A one-row table of gene counts (kept, and set aside per reason) for the report, so that
    no gene leaves a step without the report saying so. Rows from several files with the same
    section id (one per tissue) merge into one table. `titled`: each column's title is its key in
    words ('genes_in_groups' -> 'genes in groups'), which a narrow window can wrap."""
    table = pd.DataFrame([{"set": row, **{key: int(value) for key, value in counts.items()}}])
    headers = {key: {"title": key.replace("_", " ").replace("+", " + ")} for key in counts} if titled else None
    return table_section(section_id, table, "set", headers, sort_rows=True, name=name)
