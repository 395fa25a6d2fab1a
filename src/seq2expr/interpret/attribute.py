"""The attribution step: ISM of one saved model on a seeded sample of its own test genes, and its tables.

`run` reads the fold's view of the dataset (under cross-fitting each fold's model explains its own
test genes), loads the model (or a probe's read-out on its frozen checkpoint) as a prediction
function (`seq2expr.interpret.predictors`), mutates
the TSS ± flank of the sampled genes (`seq2expr.interpret.ism`) and writes the meta-profile, the
per-gene tracks, the known-element table and the most attributed k-mers; for DExTER also its
selected regions, which the report marks on the meta-profile. The one-hot windows and hypothetical
contributions go into two .npz files in the layout TF-MoDISco-lite reads (`modisco motifs -s
attribution_onehot.npz -a attribution_hypothetical.npz`), for motif discovery beyond the known elements.
`read_attribution` gathers the tables of several models for the report.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seq2expr.data.dataset import read_fold
from seq2expr.errors import InputError, NothingKept
from seq2expr.interpret.ism import IsmResult, IsmSpec, ism, peak_offsets
from seq2expr.interpret.motifs import motif_table, top_kmers
from seq2expr.interpret.predictors import PredictorOptions, load_predictor
from seq2expr.io.files import read_text
from seq2expr.io.tables import read_tsv, write_tsv

log = logging.getLogger(__name__)

PROFILE_FILE = "attribution_profile.tsv"
TRACKS_FILE = "attribution_tracks.tsv.gz"
MOTIFS_FILE = "attribution_motifs.tsv"
KMERS_FILE = "attribution_kmers.tsv"
REGIONS_FILE = "attribution_regions.tsv"
ONEHOT_FILE = "attribution_onehot.npz"
HYPOTHETICAL_FILE = "attribution_hypothetical.npz"
REGION_COLUMNS = ["model", "kmer", "start", "end", "coefficient"]


@dataclass(frozen=True)
class AttributionResult:
    """The ISM result and its tables, by file name."""

    ism: IsmResult
    tables: dict[str, pd.DataFrame]
    peaks: list[int]


def run(
    model_key: str,
    model_path: Path,
    model_name: str,
    dataset: Path,
    spec: IsmSpec,
    outdir: Path,
    fold: int = 0,
    repeat: int = 0,
    options: PredictorOptions | None = None,
) -> AttributionResult:
    """Attribute the model on a sample of the fold's test genes and write the four tables into `outdir`."""
    table = read_fold(dataset, fold, repeat)
    tested = table[table["split"] == "test"]
    if tested.empty:
        raise NothingKept(f"no test gene in fold {fold} of {dataset}", table["split"].tolist())
    predict = load_predictor(model_key, model_path, options)
    log.info(
        "ISM of %s on %d of %d test genes, TSS %+d..%+d bp (%d predictions per gene)",
        model_name, min(spec.genes, len(tested)), len(tested), -spec.flank, spec.flank, 3 * (2 * spec.flank + 1),
    )  # fmt: skip
    result = ism(tested["gene_id"].tolist(), tested["sequence"].tolist(), predict, spec)
    profile = result.meta_profile().assign(model=model_name)
    tables = {
        PROFILE_FILE: profile,
        TRACKS_FILE: result.tracks().assign(model=model_name),
        MOTIFS_FILE: motif_table(result, model_name),
        KMERS_FILE: top_kmers(result, model_name),
    }
    if model_key == "dexter":
        tables[REGIONS_FILE] = dexter_regions(model_path, model_name)
    outdir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_tsv(frame, outdir / name)
    one_hot, hypothetical = result.modisco_inputs()
    write_npz(one_hot, outdir / ONEHOT_FILE)
    write_npz(hypothetical, outdir / HYPOTHETICAL_FILE)
    peaks = peak_offsets(profile)
    log.info("meta-profile peaks of %s at %s bp from the TSS", model_name, ", ".join(f"{peak:+d}" for peak in peaks))
    return AttributionResult(result, tables, peaks)


def write_npz(array: np.ndarray, path: Path) -> None:
    """`array` as the member `arr_0` of an .npz archive (what `np.load(path)["arr_0"]` and modisco-lite read),
    written as `np.savez_compressed` does but with a fixed time stamp, so that re-runs give the same bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    member = zipfile.ZipInfo("arr_0.npy", date_time=(1980, 1, 1, 0, 0, 0))
    member.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, buffer.getvalue())


def dexter_regions(path: Path, model_name: str) -> pd.DataFrame:
    """DExTER's variables with a non-zero LASSO coefficient: k-mer, TSS-relative region, coefficient."""
    from seq2expr.models.dexter.model import FittedModel

    model = FittedModel.from_json(read_text(path), str(path))
    rows = [
        {"model": model_name, "kmer": region.kmer, "start": region.start, "end": region.end, "coefficient": coefficient}
        for region, coefficient in zip(model.regions, model.coefficients, strict=True)
        if coefficient != 0
    ]
    return pd.DataFrame(rows, columns=REGION_COLUMNS)


@dataclass(frozen=True)
class Attribution:
    """The attribution tables of every attributed model, concatenated (empty when none ran)."""

    profiles: pd.DataFrame
    motifs: pd.DataFrame
    kmers: pd.DataFrame
    regions: pd.DataFrame


def read_attribution(paths: tuple[Path, ...]) -> Attribution:
    """Gather attribution files by their names (profile, motifs, k-mers, regions of each model)."""
    found: dict[str, list[pd.DataFrame]] = {PROFILE_FILE: [], MOTIFS_FILE: [], KMERS_FILE: [], REGIONS_FILE: []}
    for path in paths:
        if path.name not in found:
            raise InputError(f"not an attribution table; expected one of {', '.join(found)}", path)
        found[path.name].append(read_tsv(path))

    def joined(name: str) -> pd.DataFrame:
        return pd.concat(found[name], ignore_index=True) if found[name] else pd.DataFrame()

    return Attribution(joined(PROFILE_FILE), joined(MOTIFS_FILE), joined(KMERS_FILE), joined(REGIONS_FILE))


def empty_attribution() -> Attribution:
    """No attributed model: four empty tables."""
    return read_attribution(())
