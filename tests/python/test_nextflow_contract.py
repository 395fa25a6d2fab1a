"""Static checks of the Nextflow layer that need no Nextflow: module layout, meta.yml, nf-tests,
every option a module passes is one its script's `--help` lists (for every profile and parameter
variant, which real runs cannot all cover), the GPU opt-in, and `nextflow_schema.json` against
the configuration. Real Nextflow runs of the pipeline are in `.ci/nextflow_checks.sh`.
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
    missing_outputs,
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
    "train_cnn",
    "probe_dnabert2",
    "evaluate_models",
    "multiqc",
]
#: The steps that can use a GPU (label process_gpu; CUDA image only under a gpu profile).
GPU_STEPS = {"finetune_dnabert2", "train_cnn", "probe_dnabert2"}
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
    return {"id": re.sub(r"[^A-Za-z0-9._-]+", "_", tissue), "tissue": tissue, "tss_index": upstream, "seed": 686185200}


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
    assert set(module.labels) - RESOURCE_LABELS <= ({"process_gpu"} if step in GPU_STEPS else set())
    containers = module.directive("container")
    assert len(containers) == 1 and containers[0][0] in ("str", "gstr"), "one container line"
    if step != "multiqc":
        # GPU-capable modules run in the CUDA image only when a gpu profile sets ext.use_gpu
        images = {evaluate(containers[0], {"task": {"ext": {"use_gpu": use_gpu}}}) for use_gpu in (False, True)}
        expected = {"cpu", "gpu"} if "process_gpu" in module.labels else {"cpu"}
        assert images == {f"ghcr.io/seq2expr/seq2expr-{kind}:{pipeline_version()}" for kind in expected}, images
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
    if step in GPU_STEPS:
        assert "task.accelerator" in module.script
        assert not module.directive("accelerator"), "the GPU module reads task.accelerator, never sets it"
    if step != "multiqc":
        # the task runs the launching checkout's package, staged into its work folder
        assert "path(code, stageAs: 'code/seq2expr')" in path.read_text()
        for block in (module.script, module.stub):
            assert '"""\n    export PYTHONPATH="\\$PWD/code' in block, "the package goes first on PYTHONPATH"


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


def process_calls(main_nf: str) -> list[str]:
    """Process calls of the SEQ2EXPR workflow, in order of appearance."""
    body = main_nf[main_nf.index("workflow SEQ2EXPR") :]
    body = body[: body.index("\nworkflow {")] if "\nworkflow {" in body else body
    return re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*\(", body, flags=re.MULTILINE)


def test_workflow_includes_every_module() -> None:
    text = (REPO / "workflows" / "seq2expr.nf").read_text()
    for step in STEPS:
        assert re.search(rf"include\s*{{\s*{step.upper()}\s*}}\s*from\s*'\.\./modules/local/{step}/main'", text), step
    assert "channel.topic('versions')" in text
    utils = (REPO / "subworkflows" / "local" / "utils_nfcore_seq2expr_pipeline" / "main.nf").read_text()
    assert "include { validateParameters" in utils and "paramsSummaryLog" in utils
    assert "include { SEQ2EXPR " in MAIN_NF.read_text()


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
    code = REPO / "src" / "seq2expr"
    task = prepare_task(module, profile_test(), [meta, registry, code], tmp_path / "task")
    result = run_task(task, BIN, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not missing_outputs(task) and not undeclared(task)
    assert (task.workdir / "expression.gct.gz").read_bytes() == source.read_bytes()
    stub = prepare_task(module, profile_test(), [meta, registry, code], tmp_path / "stub", stub=True)
    assert run_task(stub, BIN, timeout=60).returncode == 0
    assert created_entries(stub) == created_entries(task)


def test_fetch_inputs_registry_names_are_the_schema_choices() -> None:
    registry = json.loads((REPO / "assets" / "references.json").read_text())["references"]
    properties = schema_properties()
    for kind in ("genome", "annotation", "expression"):
        # each --<kind>_reference takes exactly the registry's references of that kind
        names = {name for name, entry in registry.items() if entry["kind"] == kind}
        assert names and set(properties[f"{kind}_reference"]["enum"]) == names
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
    for profile in (None, "test", "slurm", "test,slurm"):
        config = read_config(REPO / "nextflow.config", profile.split(",") if profile else [])
        assert task_context(finetune, config)["accelerator"] is None, f"{profile}: GPUs are opt-in"
    for profile in ("gpu", "test_gpu", "gpu,slurm"):
        config = read_config(REPO / "nextflow.config", profile.split(","))
        context = task_context(finetune, config)
        assert context["accelerator"] == Accelerator(1), profile
        options = context["directives"]["containerOptions"]
        workflow = {"profile": profile}
        for engine, expected in (("docker", "--gpus all"), ("singularity", "--nv"), ("apptainer", "--nv")):
            scope = {"workflow": {**workflow, "containerEngine": engine}, "params": config.params}
            assert resolve(options, scope) == expected
        config.params["gpu_container_options"] = "--gpus device=1"
        scope = {"workflow": {**workflow, "containerEngine": "docker"}, "params": config.params}
        assert resolve(options, scope) == "--gpus device=1"
    slurm = read_config(REPO / "nextflow.config", ["gpu", "slurm"])
    options = task_context(finetune, slurm)["directives"]["clusterOptions"]
    slurm.params["slurm_cluster_options"] = "--account=lab"
    scope = {"task": {"accelerator": Accelerator(1)}, "params": slurm.params}
    assert resolve(options, scope) == "--account=lab --gres=gpu:1", "the site's options are kept"
    for step in STEPS:
        if step not in GPU_STEPS:
            context = task_context(read_module(module_path(step)), read_config(REPO / "nextflow.config", ["gpu"]))
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
