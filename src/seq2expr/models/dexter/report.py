"""The MultiQC custom-content table of DExTER's strongest variables (section `dexter_variables`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2expr.io.multiqc import ReportFile, table_section
from seq2expr.models.dexter.model import variable_name

SECTION_ID = "dexter_variables"
DEFAULT_TOP = 25


def variables_mqc(variables: pd.DataFrame, top: int = DEFAULT_TOP) -> ReportFile:
    """The `top` variables with a non-zero LASSO coefficient, largest |coefficient| first.

    Ties in |coefficient| keep the variables table's order, so the file is reproducible. The
    section's title and description live in the MultiQC configuration.
    """
    kept = variables[variables["coefficient"] != 0]
    kept = kept.iloc[np.argsort(-kept["coefficient"].abs().to_numpy(), kind="stable")[:top]]
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
    # Keep the table's order (largest |coefficient| first) rather than MultiQC's alphabetical one.
    # MultiQC shows every number with one decimal unless told: bounds are bases, weights need three.
    headers = {
        "kmer": {"title": "k-mer"},
        "start": {
            "title": "start",
            "description": "Region start relative to the TSS (bp)",
            "format": "{:,.0f}",
            "scale": False,
        },
        "end": {"description": "Region end (bp, inclusive)", "format": "{:,.0f}", "scale": False},
        "correlation": {"description": "|Spearman rho| with expression on the training genes", "format": "{:,.3f}"},
        "coefficient": {"description": "LASSO coefficient (standardised features)", "format": "{:,.3f}"},
    }
    return table_section(SECTION_ID, table, "variable", headers)
