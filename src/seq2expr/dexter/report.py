"""The MultiQC custom-content table of DExTER's strongest variables."""

from __future__ import annotations

import pandas as pd

from seq2expr.dexter.model import variable_name
from seq2expr.tables import table_bytes

SECTION_ID = "dexter_variables"
DEFAULT_TOP = 25


def variables_mqc(variables: pd.DataFrame, top: int = DEFAULT_TOP) -> str:
    """`dexter_variables_mqc.tsv`: the `top` variables with a non-zero coefficient, largest |coef| first.

    Ties in |coef| keep the variables table's order, so the text is reproducible.
    """
    kept = variables[variables["coefficient"] != 0].copy()
    kept["abs"] = kept["coefficient"].abs()
    kept = kept.sort_values("abs", ascending=False, kind="stable").head(top)
    table = pd.DataFrame(
        {
            "variable": [
                variable_name(k, s, e) for k, s, e in zip(kept["kmer"], kept["start"], kept["end"], strict=True)
            ],
            "kmer": kept["kmer"],
            "start": kept["start"],
            "end": kept["end"],
            "correlation": kept["correlation"],
            "coefficient": kept["coefficient"],
        }
    )
    header = (
        f"# id: '{SECTION_ID}'\n"
        "# section_name: 'DExTER variables'\n"
        f"# description: 'The {len(table)} DExTER variables (k-mer in a region around the TSS, bounds relative "
        f"to the TSS, inclusive) with the largest absolute LASSO coefficients out of {len(variables)} selected; "
        "correlation = |Spearman rho| with expression on training genes, coefficient on the standardised scale.'\n"
        "# plot_type: 'table'\n"
        "# pconfig:\n"
        f"#     id: '{SECTION_ID}_table'\n"
        "#     title: 'DExTER: top variables'\n"
    )
    return header + table_bytes(table).decode("utf-8")
