"""The evaluation step as one function: predictions in, tables out.

`run` reads and checks every input (predictions, dataset, gene groups, compute records), computes
metrics.tsv, folds.tsv, comparison.tsv, ladder.tsv and interaction.tsv per stratum;
`bin/evaluate_models.py` parses options, calls it, has the report built from its result
(`seq2expr.report`) and writes both. Computation never imports presentation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

import seq2expr
from seq2expr.data.dataset import DEFAULT_SEED, read_dataset
from seq2expr.errors import InputError
from seq2expr.evaluation.comparison import comparison_table, hypotheses, primary_model
from seq2expr.evaluation.control import baseline_controls, control_table
from seq2expr.evaluation.interaction import interaction_table
from seq2expr.evaluation.ladder import ladder_table
from seq2expr.evaluation.metrics import baseline_models, folds_table, metrics_table
from seq2expr.evaluation.runs import (
    ModelRuns,
    check_against_dataset,
    check_complete,
    group_models,
    mean_prediction,
    model_splits,
)
from seq2expr.evaluation.strata import ALL, UNSEEN, GeneStrata, class_shares, gene_strata
from seq2expr.interpret.attribute import Attribution, empty_attribution, read_attribution
from seq2expr.io.compute import compute_summary, read_compute
from seq2expr.io.files import file_sha256
from seq2expr.io.genome import iter_fasta, to_acgtn
from seq2expr.io.predictions import read_control, read_predictions
from seq2expr.models.roster import BASELINES
from seq2expr.models.training.refit import FitRecord, read_fit

log = logging.getLogger(__name__)

SOFTWARE = ("numpy", "scipy", "pandas", "scikit-learn")
DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class EvaluationOptions:
    """What `bin/evaluate_models.py` passes (its options; defaults written once, here)."""

    predictions: tuple[Path, ...]
    dataset: Path | None = None
    groups: Path | None = None
    tss_index: int | None = None
    compute: tuple[Path, ...] = ()
    #: fit.json of gradient-trained runs: what their predicting weights were fitted on (a refit: val too)
    fits: tuple[Path, ...] = ()
    #: control.tsv of model runs (the composition control) and the shuffled windows they were predicted on
    controls: tuple[Path, ...] = ()
    shuffled: Path | None = None
    #: attribution tables of the attributed models (`seq2expr.interpret.attribute`)
    attribution: tuple[Path, ...] = ()
    #: the model of the primary family, fixed before the data (None: DNABERT-2 when given, else the first gLM)
    primary_model: str | None = None
    bootstrap: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED


@dataclass(frozen=True)
class MethodsInput:
    """What the methods text says about one input file."""

    name: str
    role: str
    sha256: str
    genes: int


@dataclass(frozen=True)
class Methods:
    """What the methods text says about the run: inputs, split, replicate runs, software, resampling."""

    inputs: Sequence[MethodsInput]
    split_counts: Mapping[str, int]
    runs: Mapping[str, int]
    versions: Mapping[str, str]
    seed: int
    resamples: int
    dataset_given: bool
    #: K of cross-fitting (0: a single split) and the number of fold draws
    folds: int = 0
    repeats: int = 1
    #: the primary model (None: no gLM, no primary family)
    primary: str | None = None
    #: test genes per promoter CpG class: stratum -> (n, share of the test genes)
    classes: Mapping[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationResult:
    """The step's outputs: tables by file name, and what the report needs beside them."""

    tables: dict[str, pd.DataFrame]
    #: the run-averaged predictions of each learned model
    predictions: dict[str, pd.DataFrame]
    #: the compute summary (may be empty)
    compute: pd.DataFrame
    methods: Methods
    #: the attribution tables of the attributed models (empty tables without --attribution)
    attribution: Attribution = field(default_factory=empty_attribution)


def versions() -> dict[str, str]:
    """The package's own version from the code that runs (a task runs the staged checkout, which is
    not an installed distribution), and its libraries'."""
    found = {"seq2expr": seq2expr.__version__}
    for name in SOFTWARE:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "unknown"
    return found


def read_groups(path: Path, gene_ids: pd.Index, reference: Path | str) -> pd.Series:
    """gene id -> group from `gene_groups.tsv`, covering every evaluated gene (else one error naming both files)."""
    # imported here: seq2expr.data.similarity needs mappy, which an evaluation without groups must not
    from seq2expr.data.similarity import check_groups_cover, read_gene_groups

    groups = read_gene_groups(path)
    check_groups_cover(groups, gene_ids, path, Path(reference))
    return groups.set_index("gene_id")["group"].astype(str)


def _strata(
    models: list[ModelRuns], options: EvaluationOptions, dataset: pd.DataFrame | None
) -> tuple[GeneStrata, pd.Index]:
    """The genes' strata and the test genes every model must predict."""
    if dataset is not None and not models[0].cross_fitted:
        splits = dataset.set_index("gene_id")["split"].sort_index()
        reference: Path | str = options.dataset or "the dataset"
    elif dataset is not None:  # cross-fitted: every gene is a test gene once per repeat (pooled out-of-fold)
        splits = pd.Series("test", index=dataset["gene_id"]).sort_index()
        reference = options.dataset or "the dataset"
    else:
        splits = model_splits(models)
        reference = "all prediction files"
    test_genes = splits.index[(splits == "test").to_numpy()]
    check_complete(models, test_genes, str(reference))
    groups = None
    if options.groups is not None:
        groups = read_groups(options.groups, splits.index, options.predictions[0] if dataset is None else reference)
        log.info("resampling %d gene groups (cluster bootstrap, %s)", groups.nunique(), options.groups)
    elif not models[0].cross_fitted:  # cross-fitting resamples no gene: its folds already hold whole groups
        log.warning(
            "no --groups: every gene is its own group (gene-level bootstrap; similar genes are taken as independent)"
        )
    strata = gene_strata(splits, dataset, groups, options.tss_index, options.dataset)
    if UNSEEN in strata.strata and strata.members[UNSEEN].equals(strata.members[ALL]):
        log.info("every test gene is unseen (folds hold whole groups): the unseen stratum equals all and is left out")
        strata = GeneStrata(strata.members.drop(columns=UNSEEN), strata.groups, strata.expressed)
    return strata, test_genes


def fit_records(paths: tuple[Path, ...], models: list[ModelRuns]) -> dict[str, FitRecord]:
    """The fit.json records by model; each must name a model given, and a model's runs (seeds) must agree.

    A refit and an early-stopped run of one model cannot share a row of metrics.tsv: their val genes
    were used in two different ways.
    """
    names = {model.name for model in models}
    records: dict[str, FitRecord] = {}
    for path in paths:
        record = read_fit(path)
        if record.model not in names:
            raise InputError(f"fit.json of model {record.model!r}, which no predictions file has", path)
        if record.model in records and records[record.model].refit != record.refit:
            raise InputError(f"model {record.model}: one fit.json says refit, another not; evaluate them apart", path)
        records[record.model] = record
    return records


def run(options: EvaluationOptions) -> EvaluationResult:
    """Metrics with cluster-bootstrap intervals per stratum, paired comparisons and the ladder (the report is built
    from the result by `seq2expr.report.build.report_files`)."""
    if not options.predictions:
        raise InputError("no predictions given; pass --predictions FILE [FILE...]")
    paths = options.predictions
    models = group_models([(str(path), read_predictions(path)) for path in paths])
    log.info("%d model(s) from %d file(s): %s", len(models), len(paths), ", ".join(m.name for m in models))
    # the primary model is fixed by parameter and by the order of --predictions, never by a result
    by_source = {source: model.name for model in models for source in model.sources}
    names = list(dict.fromkeys(by_source[str(path)] for path in paths))
    primary = primary_model(names, options.primary_model)
    learned = {model.name: mean_prediction(model) for model in models}
    inputs = [
        MethodsInput(path.name, f"predictions of {model.name}", file_sha256(path), len(model.genes))
        for model in models
        for path in paths
        if str(path) in model.sources
    ]
    dataset = None
    if options.dataset is not None:
        dataset = read_dataset(options.dataset)
        check_against_dataset(models, dataset, str(options.dataset))
        models += baseline_models(dataset, str(options.dataset))
        inputs.append(
            MethodsInput(options.dataset.name, "dataset (baselines)", file_sha256(options.dataset), len(dataset))
        )
    strata, test_genes = _strata(models, options, dataset)
    if primary is not None:
        log.info("primary model (fixed before the data): %s", primary)

    metrics = metrics_table(models, options.bootstrap, options.seed, strata, fit_records(options.fits, models))
    pairs = hypotheses(models, options.bootstrap, options.seed, strata, primary)
    comparison = comparison_table(models, options.bootstrap, options.seed, strata, primary, pairs)
    ladder = ladder_table(models, primary, options.bootstrap, options.seed, strata, pairs)
    interaction = interaction_table(models, primary, strata, options.bootstrap, options.seed)
    compute = compute_summary([read_compute(path) for path in options.compute])
    splits = pd.concat([model.genes["split"] for model in models if model.name not in BASELINES])
    split_counts = splits[~splits.index.duplicated()].value_counts().to_dict()

    controls = read_controls(options, models, dataset, strata)
    tables = {
        "metrics.tsv": metrics,
        "folds.tsv": folds_table(models),
        "comparison.tsv": comparison,
        "ladder.tsv": ladder,
        "interaction.tsv": interaction,
    }
    if options.compute:
        tables["compute.tsv"] = compute
    if controls:
        tables["control.tsv"] = control_table(controls, strata.groups, options.bootstrap, options.seed)
    methods = Methods(
        inputs=inputs,
        split_counts=split_counts,
        runs={model.name: model.n_runs for model in models if model.name not in BASELINES},
        versions=versions(),
        seed=options.seed,
        resamples=0 if models[0].cross_fitted else options.bootstrap,
        dataset_given=dataset is not None,
        folds=models[0].folds,
        repeats=models[0].n_repeats,
        primary=primary,
        classes=class_counts(class_shares(strata, test_genes)),
    )
    return EvaluationResult(tables, learned, compute, methods, read_attribution(options.attribution))


def class_counts(shares: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """`class_shares`' table as stratum -> (test genes, share), for the methods text."""
    counts = shares["n"].to_numpy(dtype=int).tolist()
    fractions = shares["share"].to_numpy(dtype=float).tolist()
    return dict(zip(shares["stratum"].astype(str), zip(counts, fractions, strict=True), strict=True))


def read_controls(
    options: EvaluationOptions, models: list[ModelRuns], dataset: pd.DataFrame | None, strata: GeneStrata
) -> list[pd.DataFrame]:
    """The composition-control runs: the models' control.tsv files (each of a model evaluated here) and, with the
    dataset and the shuffled windows, the GC/CpG baseline's own."""
    names = {model.name for model in models}
    controls = []
    for path in options.controls:
        table = read_control(path)
        if str(table["model"].iloc[0]) not in names:
            raise InputError(f"control of model {table['model'].iloc[0]!r}, which no predictions file has", path)
        controls.append(table)
    if options.shuffled is not None:
        if dataset is None:
            raise InputError("--shuffled needs --dataset (the GC/CpG baseline is fitted on it)", options.shuffled)
        shuffled = {record.name: to_acgtn(record.sequence).decode("ascii") for record in iter_fasta(options.shuffled)}
        controls += baseline_controls(dataset, shuffled)
    if controls:
        log.info("composition control: %d run(s) of %d model(s)", len(controls),
                 len({str(table["model"].iloc[0]) for table in controls}))  # fmt: skip
    return controls
