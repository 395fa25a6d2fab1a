"""Contract tests of the Nextflow layer, in place of running Nextflow (which cannot run here).

For every module: the `script:` block rendered with the test profile's values runs the real
`bin/` script on the bundled data and leaves exactly the files the module declares; every option
it passes is one the script's `--help` lists; the `stub:` block leaves the same entries. The
configuration and `nextflow_schema.json` agree with each other, and the chain of rendered
commands, in `main.nf`'s order, runs end to end on the bundled data within the time budget.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from nfgroovy import (
    Accelerator,
    Closure,
    GroovySubsetError,
    Opaque,
    evaluate,
    interpolate,
    parse_expression,
    read_config,
    resolve,
)
from nfmodule import (
    Module,
    Task,
    created_entries,
    matches,
    missing_outputs,
    output_patterns,
    prepare_task,
    read_module,
    run_task,
    task_context,
    undeclared,
)

import seq2expr

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
MODULES = REPO / "modules" / "local"
TEST_DATA = REPO / "assets" / "test_data"
SCHEMA = REPO / "nextflow_schema.json"
MAIN_NF = REPO / "main.nf"

#: Every step of the pipeline, in main.nf's order (FETCH_INPUTS runs only for named references).
STEPS = [
    "fetch_inputs",
    "extract_tss_windows",
    "build_dataset",
    "dexter",
    "finetune_dnabert2",
    "evaluate_models",
    "multiqc",
]
RESOURCE_LABELS = {
    "process_single",
    "process_low",
    "process_medium",
    "process_high",
    "process_long",
    "process_high_memory",
}
PROFILES = ["debug", "docker", "singularity", "apptainer", "test", "test_full", "test_gpu", "slurm", "awsbatch"]
#: What `-profile test` must finish within on 2 cores (issue 5).
CHAIN_BUDGET_S = 600
TISSUE = "Pituitary"


def pipeline_version() -> str:
    return seq2expr.__version__


def module_path(step: str) -> Path:
    return MODULES / step / "main.nf"


def tissue_meta(tissue: str, upstream: int) -> dict[str, Any]:
    """The meta map main.nf builds for a tissue (id safe for file names, exact name kept)."""
    return {"id": re.sub(r"[^A-Za-z0-9._-]+", "_", tissue), "tissue": tissue, "tss_index": upstream}


@functools.cache
def profile_test() -> Any:
    return read_config(REPO / "nextflow.config", ["test"])


@functools.cache
def script_options(command: str) -> set[str]:
    """The long options a command's --help lists."""
    executable = [str(BIN / command)] if (BIN / command).exists() else [command]
    result = subprocess.run([*executable, "--help"], capture_output=True, text=True, check=True, timeout=120)
    return set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", result.stdout))


def invoked_options(command: str) -> dict[str, set[str]]:
    """For each program the rendered command runs (bin/ scripts and multiqc), the options passed to it."""
    calls: dict[str, set[str]] = {}
    logical = re.sub(r"\\\n", " ", command)
    for line in logical.splitlines():
        words = shlex.split(line, comments=True)
        if not words or words[0] in ("export", "touch", "mkdir", "echo", "cd"):
            continue
        program = words[0]
        if not ((BIN / program).exists() or program == "multiqc"):
            raise AssertionError(f"the command runs {program!r}, neither a bin/ script nor multiqc")
        calls.setdefault(program, set()).update(word.split("=")[0] for word in words[1:] if word.startswith("--"))
    return calls


# ---------------------------------------------------------------------------------------------
# The substitute for Nextflow must itself read Groovy right
# ---------------------------------------------------------------------------------------------


def test_groovy_reader_follows_groovy_semantics() -> None:
    env = {"params": {"a": None, "b": "x", "n": 0}, "meta": {"id": "Pit"}, "task": {"cpus": 2}}
    assert evaluate(parse_expression("params.a ?: 'd'"), env) == "d"
    assert evaluate(parse_expression("params.n ? 'yes' : 'no'"), env) == "no"  # Groovy truth: 0 is false
    assert evaluate(parse_expression("[\"--x ${params.b}\", params.a ? '--y' : ''].join(' ').trim()"), env) == "--x x"
    assert interpolate(r"run \\\n  --id ${meta.id} \$PWD $task.cpus", env) == "run \\\n  --id Pit $PWD 2"
    assert str(evaluate(parse_expression("3e-5"), env)) == "0.00003"  # BigDecimal printing, not 3e-05
    assert evaluate(parse_expression("'SEQ2EXPR:DEXTER'.tokenize(':')[-1].toLowerCase()"), env) == "dexter"
    closure = evaluate(parse_expression("{ 2 * task.attempt }"), env)
    assert isinstance(closure, Closure) and resolve(closure, {"task": {"attempt": 2}}) == 4
    with pytest.raises(GroovySubsetError):
        evaluate(parse_expression("params.b.reverse()"), env)  # outside the subset: refused, not guessed
    with pytest.raises(GroovySubsetError):
        interpolate("${System.getenv('HOME')}", {"System": Opaque("System")})


# ---------------------------------------------------------------------------------------------
# Module layout (nf-core conventions)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS)
def test_module_follows_nf_core_layout(step: str) -> None:
    path = module_path(step)
    assert path.exists(), f"{path.relative_to(REPO)} is missing"
    module = read_module(path)
    assert module.name == step.upper()
    assert [evaluate(node, {"meta": {"id": "ID"}}) for node in module.directive("tag")] == ["ID"]
    resource = [label for label in module.labels if label in RESOURCE_LABELS]
    assert len(resource) == 1, f"{module.name}: exactly one resource label, found {module.labels}"
    assert set(module.labels) - RESOURCE_LABELS <= ({"process_gpu"} if step == "finetune_dnabert2" else set())
    containers = module.directive("container")
    assert len(containers) == 1 and containers[0][0] in ("str", "gstr"), "one container line"
    if step != "multiqc":
        image = evaluate(containers[0], {})
        assert re.fullmatch(r"ghcr\.io/seq2expr/seq2expr-(cpu|gpu):[\w.-]+", image), image
        assert image.endswith(":" + pipeline_version()), f"{image}: tag must be the pipeline version"
    assert module.when == "task.ext.when == null || task.ext.when"
    assert "task.ext.args ?: ''" in module.script
    assert module.stub.strip(), "a stub: block"
    for declaration in module.outputs:
        assert declaration.emit, f"{module.name}: every output has an emit name"
    topics = [d for d in module.outputs if d.options.get("topic") == "versions"]
    if step == "multiqc":
        assert not topics, "MULTIQC consumes the versions topic, so it must not emit into it"
    else:
        assert topics, f"{module.name}: versions go to the versions topic"
    if step == "finetune_dnabert2":
        assert "task.accelerator" in module.script
        assert not module.directive("accelerator"), "the GPU module reads task.accelerator, never sets it"


@pytest.mark.parametrize("step", STEPS)
def test_module_meta_yml_matches_main_nf(step: str) -> None:
    meta_path = MODULES / step / "meta.yml"
    assert meta_path.exists(), f"{meta_path.relative_to(REPO)} is missing"
    meta = yaml.safe_load(meta_path.read_text())
    module = read_module(module_path(step))
    assert meta["name"] == step
    assert set(meta["output"]) == {d.emit for d in module.outputs}, "meta.yml outputs = main.nf emit names"
    declared_inputs = [
        next(iter(item))
        for group in meta["input"]
        for item in (group if isinstance(group, list) else [group])  # tuples are nested lists
    ]
    assert declared_inputs == [name for _, name, _ in module.input_names()]


@pytest.mark.parametrize("step", STEPS)
def test_module_has_real_and_stub_nf_tests(step: str) -> None:
    test_path = MODULES / step / "tests" / "main.nf.test"
    assert test_path.exists(), f"{test_path.relative_to(REPO)} is missing"
    text = test_path.read_text()
    assert f'process "{step.upper()}"' in text
    tests = re.findall(r'test\("([^"]+)"\)', text)
    stub_tests = [name for name in tests if "stub" in name]
    assert stub_tests and len(tests) > len(stub_tests), f"{test_path.name}: a real test and a stub test"
    assert 'options "-stub"' in text
    if step == "finetune_dnabert2":
        gpu = MODULES / step / "tests" / "main.gpu.nf.test"
        assert gpu.exists(), "the GPU test lives in its own file"
        assert re.search(r'tag\s+"gpu"', gpu.read_text())
        assert not re.search(r'tag\s+"gpu"', text), "CPU tests must not carry the gpu tag"


# ---------------------------------------------------------------------------------------------
# Options passed = options the scripts have
# ---------------------------------------------------------------------------------------------

#: Parameter sets that switch on optional ext.args branches.
PARAM_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "chromosome split": {"split": "chromosome", "test_chromosomes": "chr1", "val_chromosomes": "chr2"},
    "titled report": {"multiqc_title": "My run"},
}


def dummy_inputs(module: Module, workdir: Path) -> list[Any]:
    """A placeholder file (or list of two) for every path input, a meta map or string for vals."""
    values: list[Any] = []
    for kind, name, _ in module.input_names():
        if kind == "val":
            values.append(tissue_meta("Brain - Cortex", 500) if name == "meta" else "org/model")
        else:
            placeholder = workdir.parent / f"{name}.txt"
            placeholder.touch()
            values.append([placeholder] if module.name in ("EVALUATE_MODELS", "MULTIQC") else placeholder)
    return values


@pytest.mark.parametrize("profile", ["test", "test_full", "test_gpu", None])
@pytest.mark.parametrize("variant", list(PARAM_VARIANTS))
@pytest.mark.parametrize("step", STEPS)
def test_every_option_passed_exists_in_the_script_help(
    step: str, variant: str, profile: str | None, tmp_path: Path
) -> None:
    config = read_config(REPO / "nextflow.config", [profile] if profile else [])
    config.params.update(PARAM_VARIANTS[variant])
    module = read_module(module_path(step))
    for stub in (False, True):
        task = prepare_task(module, config, dummy_inputs(module, tmp_path / "w"), tmp_path / f"w{stub}", stub=stub)
        for program, options in invoked_options(task.command).items():
            unknown = options - script_options(program)
            assert not unknown, f"{module.name} passes {sorted(unknown)} that `{program} --help` does not list"


# ---------------------------------------------------------------------------------------------
# Running the rendered commands: the chain of the test profile
# ---------------------------------------------------------------------------------------------


@dataclass
class StepRun:
    real: Task
    result: subprocess.CompletedProcess[str]
    seconds: float


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StepRun]:
    """Run every step's rendered command in main.nf's order on the bundled data (test profile).

    A step whose module is not written yet ends the chain there; its tests then fail, naming it.
    """
    config = profile_test()
    root = tmp_path_factory.mktemp("chain")
    meta = tissue_meta(TISSUE, config.params["upstream"])
    runs: dict[str, StepRun] = {}

    def run(step: str, values: list[Any]) -> Task:
        task = prepare_task(read_module(module_path(step)), config, values, root / step)
        start = time.perf_counter()
        result = run_task(task, BIN)
        runs[step] = StepRun(task, result, time.perf_counter() - start)
        assert result.returncode == 0, f"{step} failed ({result.returncode}):\n{result.stderr[-3000:]}"
        return task

    windows = run(
        "extract_tss_windows", [{"id": "genome"}, Path(config.params["genome"]), Path(config.params["annotation"])]
    )
    dataset = (
        run(
            "build_dataset",
            [
                meta,
                windows.workdir / "tss_windows.fa",
                windows.workdir / "tss_windows.tsv",
                Path(config.params["expression"]),
            ],
        ).workdir
        / "dataset.tsv.gz"
    )
    dexter = run("dexter", [meta, dataset])
    dnabert2 = run("finetune_dnabert2", [meta, dataset, Path(config.params["dnabert2_model"]), ""])
    if not module_path("evaluate_models").exists():
        return runs
    predictions = [dexter.workdir / "predictions.tsv", dnabert2.workdir / "predictions.tsv"]
    evaluation = run("evaluate_models", evaluate_inputs(meta, predictions, dataset))
    if not module_path("multiqc").exists():
        return runs
    report_files = [
        windows.workdir / "tss_windows_summary_mqc.tsv",
        dataset.parent / "dataset_summary_mqc.tsv",
        *sorted(evaluation.workdir.glob("*_mqc.*")),
        dexter.workdir / "dexter_variables_mqc.tsv",
        dnabert2.workdir / "training_curves_mqc.yaml",
    ]
    run("multiqc", multiqc_inputs(report_files, versions_yaml(root, runs)))
    return runs


def chain_step(chain: dict[str, StepRun], step: str) -> StepRun:
    assert step in chain, f"{module_path(step).relative_to(REPO)} is not written yet: the chain stops before it"
    return chain[step]


def evaluate_inputs(meta: dict[str, Any], predictions: list[Path], dataset: Path) -> list[Any]:
    """EVALUATE_MODELS's inputs, in the order its input: block declares them."""
    module = read_module(module_path("evaluate_models"))
    values = {"meta": meta, "predictions": predictions, "dataset": dataset}
    return [values[name] for _, name, _ in module.input_names()]


def multiqc_inputs(files: list[Path], versions: Path) -> list[Any]:
    """MULTIQC's inputs: the report files, the pipeline's MultiQC config, the collected versions."""
    module = read_module(module_path("multiqc"))
    values = {
        "meta": {"id": "seq2expr"},
        "multiqc_files": files,
        "multiqc_config": REPO / "assets" / "multiqc_config.yml",
        "software_versions": versions,
    }
    return [values.get(name, []) for _, name, _ in module.input_names()]


def versions_yaml(root: Path, runs: dict[str, StepRun]) -> Path:
    """What main.nf collects from the versions topic: process -> tool -> version, as MultiQC reads it."""
    collected: dict[str, dict[str, str]] = {}
    for run in runs.values():
        for tool, command in run.real.module.version_commands():
            version = subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout.strip()
            collected.setdefault(run.real.module.name, {})[tool] = version
    path = root / "seq2expr_software_mqc_versions.yml"
    path.write_text(yaml.safe_dump(collected, sort_keys=True))
    return path


CHAIN_STEPS = [step for step in STEPS if step != "fetch_inputs"]


@pytest.mark.parametrize("step", CHAIN_STEPS)
def test_rendered_script_writes_exactly_the_declared_outputs(step: str, chain: dict[str, StepRun]) -> None:
    task = chain_step(chain, step).real
    assert not missing_outputs(task), f"{task.module.name} declares outputs it did not write: {missing_outputs(task)}"
    assert not undeclared(task), f"{task.module.name} wrote files no output declares: {sorted(undeclared(task))}"


@pytest.mark.parametrize("step", CHAIN_STEPS)
def test_stub_touches_exactly_the_declared_outputs(step: str, chain: dict[str, StepRun], tmp_path: Path) -> None:
    real = chain_step(chain, step).real
    inputs = [
        real.env[name] if kind == "val" else _staged_sources(real, name) for kind, name, _ in real.module.input_names()
    ]
    stub = prepare_task(real.module, profile_test(), inputs, tmp_path / "stub", stub=True)
    result = run_task(stub, BIN, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not missing_outputs(stub), f"the stub misses {missing_outputs(stub)}"
    assert created_entries(stub) == created_entries(real), "stub and real run leave different entries"


def _staged_sources(task: Task, name: str) -> Any:
    """The original files behind a staged input variable (to stage them again for the stub)."""
    value = task.env[name]
    if isinstance(value, list):
        return [(task.workdir / str(item)).resolve() for item in value]
    return (task.workdir / str(value)).resolve()


@pytest.mark.parametrize("step", CHAIN_STEPS)
def test_versions_commands_print_a_version(step: str, chain: dict[str, StepRun]) -> None:
    task = chain_step(chain, step).real
    for tool, command in task.module.version_commands():
        result = subprocess.run(command, shell=True, cwd=task.workdir, capture_output=True, text=True, check=False)
        assert result.returncode == 0 and re.match(r"^\d+\.\d+", result.stdout.strip()), f"{tool}: {result}"


def test_outputs_carry_the_promised_content(chain: dict[str, StepRun]) -> None:
    """Beyond existing: the chain's key files hold what the next step and the user need."""
    dataset = chain["build_dataset"].real.workdir / "dataset.tsv.gz"
    columns = subprocess.run(f"zcat {dataset} | head -1", shell=True, capture_output=True, text=True).stdout.split()
    assert columns == ["gene_id", "chrom", "split", "tpm", "target", "sequence"]
    for step in ("dexter", "finetune_dnabert2"):
        header = (chain[step].real.workdir / "predictions.tsv").read_text().splitlines()[0].split("\t")
        assert header == ["gene_id", "split", "observed", "predicted", "model"]
    report = chain_step(chain, "multiqc").real
    html = [
        path for pattern, _, _ in output_patterns(report) for path in matches(report, pattern) if path.endswith(".html")
    ]
    assert html, "MultiQC wrote no HTML report"


def test_end_to_end_chain_follows_main_nf_and_fits_the_budget(chain: dict[str, StepRun]) -> None:
    calls = process_calls(MAIN_NF.read_text())
    assert [call.lower() for call in calls if call != "FETCH_INPUTS"] == CHAIN_STEPS
    total = sum(run.seconds for run in chain.values())
    lines = [f"  {step:<22} {run.seconds:7.1f} s" for step, run in chain.items()]
    print("\n-profile test chain on the bundled data:\n" + "\n".join(lines) + f"\n  {'total':<22} {total:7.1f} s")
    assert list(chain) == CHAIN_STEPS, f"the chain stopped after {list(chain)[-1]}: later modules are missing"
    assert total <= CHAIN_BUDGET_S, f"the test profile took {total:.0f} s (> {CHAIN_BUDGET_S} s)"


def process_calls(main_nf: str) -> list[str]:
    """Process calls of the SEQ2EXPR workflow, in order of appearance."""
    body = main_nf[main_nf.index("workflow SEQ2EXPR") :]
    body = body[: body.index("\nworkflow {")] if "\nworkflow {" in body else body
    return re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*\(", body, flags=re.MULTILINE)


def test_main_nf_includes_every_module() -> None:
    text = MAIN_NF.read_text()
    for step in STEPS:
        assert re.search(rf"include\s*{{\s*{step.upper()}\s*}}\s*from\s*'\./modules/local/{step}/main'", text), step
    assert "include { validateParameters" in text and "paramsSummaryLog" in text
    assert "channel.topic('versions')" in text


# ---------------------------------------------------------------------------------------------
# FETCH_INPUTS: a real download over loopback HTTP
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def served_file(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The bundled expression table on a loopback HTTP server."""
    folder = tmp_path / "served"
    folder.mkdir()
    source = folder / "expression.gct.gz"
    source.write_bytes((TEST_DATA / "expression.gct.gz").read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/expression.gct.gz", source
    finally:
        server.shutdown()


def test_fetch_inputs_downloads_a_named_reference(served_file: tuple[str, Path], tmp_path: Path) -> None:
    url, source = served_file
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    registry = tmp_path / "references.json"
    entry = {"description": "test table", "url": url, "filename": "expression.gct.gz",
             "checksum": {"algorithm": "sha256", "value": digest}}  # fmt: skip
    registry.write_text(json.dumps({"references": {"test_expression": entry}}))
    module = read_module(module_path("fetch_inputs"))
    meta = {"id": "test_expression", "filename": "expression.gct.gz"}
    task = prepare_task(module, profile_test(), [meta, registry], tmp_path / "task")
    result = run_task(task, BIN, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not missing_outputs(task) and not undeclared(task)
    assert (task.workdir / "expression.gct.gz").read_bytes() == source.read_bytes()
    stub = prepare_task(module, profile_test(), [meta, registry], tmp_path / "stub", stub=True)
    assert run_task(stub, BIN, timeout=60).returncode == 0
    assert created_entries(stub) == created_entries(task)


def test_fetch_inputs_registry_names_are_the_schema_choices() -> None:
    registry = json.loads((REPO / "assets" / "references.json").read_text())["references"]
    properties = schema_properties()
    for kind in ("genome", "annotation", "expression"):
        assert set(properties[f"{kind}_reference"]["enum"]) == set(registry)
    full = read_config(REPO / "nextflow.config", ["test_full"]).params
    assert full["genome_reference"] in registry and full["annotation_reference"] in registry
    assert full["expression_reference"] in registry and full["dnabert2_model"] == "zhihan1996/DNABERT-2-117M"


# ---------------------------------------------------------------------------------------------
# nextflow_schema.json against nextflow.config
# ---------------------------------------------------------------------------------------------


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())


def schema_properties() -> dict[str, Any]:
    return {name: prop for group in schema()["$defs"].values() for name, prop in group["properties"].items()}


def test_schema_is_valid_json_schema_2020_12() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())
    groups = schema()["$defs"]
    assert [ref["$ref"] for ref in schema()["allOf"]] == [f"#/$defs/{name}" for name in groups]


def test_schema_and_config_declare_the_same_params_with_the_same_defaults() -> None:
    params = read_config(REPO / "nextflow.config").params
    properties = schema_properties()
    assert set(params) == set(properties), (
        f"only in nextflow.config: {sorted(set(params) - set(properties))}; "
        f"only in the schema: {sorted(set(properties) - set(params))}"
    )
    for name, prop in properties.items():
        assert prop.get("type") and prop.get("description"), f"{name}: type and description"
        value = params[name]
        if value is None or isinstance(value, Opaque):
            assert "default" not in prop, f"{name}: no default in the schema when the config has none"
        elif isinstance(value, Decimal):  # Groovy decimal literal
            assert prop.get("default") == pytest.approx(float(value)), f"{name}: {prop.get('default')} != {value}"
        else:
            assert prop.get("default") == value, f"{name}: schema default {prop.get('default')!r} != config {value!r}"


def test_profiles_only_set_declared_params() -> None:
    declared = set(read_config(REPO / "nextflow.config").params)
    for profile in PROFILES:
        config = read_config(REPO / "nextflow.config", [profile])
        assert set(config.params) == declared, f"-profile {profile} sets undeclared params"


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as nf-schema validates them: null and runtime-only values left out, numbers as JSON numbers."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or isinstance(value, Opaque):
            continue
        out[name] = float(value) if isinstance(value, Decimal) else value
    return out


@pytest.mark.parametrize("profile", ["test", "test_full", "test_gpu"])
def test_schema_accepts_the_test_profiles(profile: str) -> None:
    params = json_params(read_config(REPO / "nextflow.config", [profile]).params)
    params["outdir"] = "results"
    errors = [error.message for error in validator().iter_errors(params)]
    assert not errors, errors


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"upstream": -100}, "negative window"),
        ({"downstream": -1}, "negative window"),
        ({"upstream": 10.5}, "window must be whole bases"),
        ({"split": "random"}, "unknown split"),
        ({"val_fraction": 1.0}, "no training genes left"),
        ({"max_n_fraction": 1.5}, "a fraction"),
        ({"genome": "genome.txt"}, "not a FASTA name"),
        ({"genome_reference": "hg19"}, "reference not in the registry"),
        ({"tissues": "Pituitary,,Liver"}, "empty tissue in the list"),
        ({"dnabert2_learning_rate": 0}, "learning rate must be positive"),
        ({"publish_dir_mode": "hardlink"}, "not a publishDir mode"),
        ({"outdir": None}, "outdir is required"),
    ],
)
def test_schema_rejects_bad_params(change: dict[str, Any], why: str) -> None:
    params = json_params(read_config(REPO / "nextflow.config", ["test"]).params)
    params["outdir"] = "results"
    params.update(change)
    params = {name: value for name, value in params.items() if value is not None}
    assert list(validator().iter_errors(params)), f"the schema accepted: {why}"


# ---------------------------------------------------------------------------------------------
# Configuration: profiles, GPU, reports
# ---------------------------------------------------------------------------------------------


def test_required_profiles_exist_and_parse() -> None:
    config = read_config(REPO / "nextflow.config")
    assert set(PROFILES) <= set(config.profiles)
    for profile in PROFILES:
        read_config(REPO / "nextflow.config", [profile])  # every profile's file reads in the subset


def test_gpu_request_follows_the_profile_and_the_container_engine() -> None:
    finetune = read_module(module_path("finetune_dnabert2"))
    cpu = task_context(finetune, profile_test())
    assert cpu["accelerator"] is None and cpu["cpus"] <= 2, "-profile test fine-tunes on CPU, within 2 cores"
    for profile in (None, "test_gpu", "slurm"):
        config = read_config(REPO / "nextflow.config", [profile] if profile else [])
        context = task_context(finetune, config)
        assert context["accelerator"] == Accelerator(1)
        options = context["directives"]["containerOptions"]
        for engine, expected in (("docker", "--gpus all"), ("singularity", "--nv"), ("apptainer", "--nv")):
            assert resolve(options, {"workflow": {"containerEngine": engine}, "params": config.params}) == expected
        config.params["gpu_container_options"] = "--gpus device=1"
        assert (
            resolve(options, {"workflow": {"containerEngine": "docker"}, "params": config.params}) == "--gpus device=1"
        )
    slurm = task_context(finetune, read_config(REPO / "nextflow.config", ["slurm"]))
    assert resolve(slurm["directives"]["clusterOptions"], {"task": {"accelerator": Accelerator(1)}}) == "--gres=gpu:1"
    for step in STEPS:
        if step != "finetune_dnabert2":
            context = task_context(read_module(module_path(step)), read_config(REPO / "nextflow.config"))
            assert context["accelerator"] is None, f"{step} must not ask for a GPU"


def test_config_has_strict_shell_manifest_plugin_and_reports() -> None:
    config = read_config(REPO / "nextflow.config")
    shell = [s for s in config.process if s.key == "shell"][-1].value
    assert shell == ["bash", "-C", "-e", "-u", "-o", "pipefail"]
    assert config.settings["manifest.nextflowVersion"].value().startswith("!>=")
    assert config.settings["manifest.version"].value() == pipeline_version()
    assert any(plugin.startswith("nf-schema@") for plugin in config.plugins)
    for report in ("timeline", "report", "trace", "dag"):
        path = config.settings[f"{report}.file"].value(params={"outdir": "OUT", "trace_report_suffix": "S"})
        assert path.startswith("OUT/pipeline_info/")
    retry = [s for s in config.process if s.key == "errorStrategy" and s.selector is None][-1].value
    assert resolve(retry, {"task": {"exitStatus": 137}}) == "retry"
    assert resolve(retry, {"task": {"exitStatus": 1}}) == "finish", "bad input must not be retried"


# ---------------------------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["cpu", "gpu"])
def test_dockerfile_is_pinned_and_installs_the_package(image: str) -> None:
    text = (REPO / "containers" / image / "Dockerfile").read_text()
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, flags=re.MULTILINE)
    assert base and re.search(r":\d+\.\d+[\w.-]*$", base.group(1)), "ARG BASE_IMAGE with a pinned version tag"
    assert re.search(r"^FROM \$\{BASE_IMAGE\}", text, flags=re.MULTILINE)
    assert re.search(r"pip install --no-cache-dir --no-deps /opt/seq2expr", text), "installs the package"
    assert "COPY bin /usr/local/bin" in text, "the step scripts are on the image's PATH"
    for requirement in re.findall(r"\b([A-Za-z][\w-]*)(==|>=|<=|~=)", text):
        assert requirement[1] == "==", f"{requirement[0]} must be pinned with =="
