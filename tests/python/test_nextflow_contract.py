"""The Nextflow layer: what the files must hold (module layout, meta.yml, nf-tests, the schema as
JSON schema) is read from the files; what the configuration gives a task (parameters and their
defaults per profile, the GPU opt-in, the options passed to each script) comes from the real
Nextflow: `nextflow config -o json` and a probe pipeline that includes nextflow.config and reports
what a task of each resource label gets. Nothing here re-implements Groovy. Runs of the pipeline
itself are in `.ci/nextflow_checks.sh`.

The real Nextflow is the one `.ci/setup-nextflow.sh` assembles (it needs Java and Maven): without
Java the tests that need it skip on a developer's machine and fail in CI (CI=true).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import nextflow_launcher

import seq2expr

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
MODULES = REPO / "modules" / "local"
SCHEMA = REPO / "nextflow_schema.json"

#: Every module of the pipeline (one folder per step under modules/local).
STEPS = sorted(path.name for path in MODULES.iterdir() if (path / "main.nf").is_file())
#: The steps that can use a GPU (label process_gpu; CUDA image only under a gpu profile).
GPU_STEPS = {"finetune_dnabert2", "train_cnn", "probe_dnabert2", "probe_glm", "attribute"}
RESOURCE_LABELS = {
    "process_single",
    "process_low",
    "process_medium",
    "process_high",
    "process_long",
    "process_high_memory",
}
#: Profiles whose configuration changes what a step is given (the container and site profiles
#: only switch engines and executors, which .ci/nextflow_checks.sh resolves one by one).
PARAM_PROFILES = [None, "test", "test_full", "test_gpu"]
#: The tests that read `config()` and `script_options()` (cached per process) run on one pytest-xdist
#: worker (--dist loadgroup), so each `nextflow config` and each `--help` runs once, not once per worker.
CACHED = pytest.mark.xdist_group("nextflow_config")


# ---------------------------------------------------------------------------------------------
# The real Nextflow
# ---------------------------------------------------------------------------------------------


def nextflow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NXF_ANSI_LOG": "false", "NXF_OFFLINE": "true"}
    return subprocess.run(
        [nextflow_launcher(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )


@functools.cache
def scratch() -> Path:
    """A folder for Nextflow's own files (.nextflow.log) of the config calls, out of the checkout."""
    return Path(tempfile.mkdtemp(prefix="seq2expr-nextflow-config-"))


@functools.cache
def config(profile: str | None) -> dict[str, Any]:
    """`nextflow config -o json` of the pipeline under a profile (None: no profile)."""
    result = nextflow("config", "-o", "json", *(["-profile", profile] if profile else []), str(REPO), cwd=scratch())
    assert result.returncode == 0, f"nextflow config -profile {profile}: {result.stderr[-2000:]}"
    parsed: dict[str, Any] = json.loads(result.stdout[result.stdout.index("{") :])
    return parsed


#: A pipeline with one exec: task per label set, run with the pipeline's nextflow.config: what
#: Nextflow resolves for a process_gpu task and a plain one under a profile (no container is
#: started: exec: tasks run in Nextflow itself, whatever the engine; executors are set local).
PROBE = """
def report(kind, task) {
    [ kind: kind, accelerator: task.accelerator?.request, use_gpu: task.ext.use_gpu ?: false,
      containerOptions: task.containerOptions, clusterOptions: task.clusterOptions,
      queue: task.queue, maxForks: task.maxForks ]
}
process GPU_STEP {
    label 'process_gpu'
    output: val(result)
    exec:
    result = report('gpu', task)
}
process CPU_STEP {
    label 'process_single'
    output: val(result)
    exec:
    result = report('cpu', task)
}
workflow {
    GPU_STEP().mix(CPU_STEP()).collect().subscribe { rows ->
        file(params.probe_out).text = groovy.json.JsonOutput.toJson(rows.collectEntries { row -> [ row.kind, row ] })
    }
}
"""


def probe(profile: str, params: dict[str, str], folder: Path) -> dict[str, dict[str, Any]]:
    """What the GPU-capable task and a CPU task get under a profile, from the real Nextflow."""
    folder.mkdir(parents=True)
    (folder / "main.nf").write_text(PROBE)
    # conf/slurm.config polls every 30 s, and local tasks are polled at that interval too: the probe
    # runs its two tasks locally, so it polls at once (what the profile resolves is unchanged)
    (folder / "nextflow.config").write_text(
        f"includeConfig '{REPO / 'nextflow.config'}'\nexecutor.pollInterval = '200ms'\n"
    )
    (folder / "params.json").write_text(json.dumps({"probe_out": str(folder / "out.json"), **params}))
    result = nextflow(
        "run", "main.nf", "-profile", profile, "-params-file", "params.json", "-process.executor=local", cwd=folder
    )
    assert result.returncode == 0, f"probe under -profile {profile}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    rows: dict[str, dict[str, Any]] = json.loads((folder / "out.json").read_text())
    return rows


@pytest.mark.parametrize(
    ("profile", "params", "gpu"),
    [
        ("standard", {}, None),
        ("test,slurm", {}, None),
        ("gpu,docker", {"gpu_container_options": "--gpus device=1"}, "--gpus device=1"),
        ("apptainer,test_gpu", {}, "--nv"),
        (
            "test_full,gpu,singularity,slurm",
            {"slurm_cluster_options": "--account=lab", "slurm_gpu_queue": "gpu"},
            "--nv",
        ),
    ],
)
def test_gpu_only_under_a_gpu_profile(profile: str, params: dict[str, str], gpu: str | None, tmp_path: Path) -> None:
    tasks = probe(profile, params, tmp_path / "probe")
    cpu, gpu_task = tasks["cpu"], tasks["gpu"]
    assert cpu["accelerator"] is None and not cpu["use_gpu"], f"{profile}: a CPU step never asks for a GPU"
    if gpu is None:
        assert gpu_task["accelerator"] is None and not gpu_task["use_gpu"], f"{profile}: GPUs are opt-in"
        assert not gpu_task["containerOptions"]
        return
    assert gpu_task["accelerator"] == 1 and gpu_task["use_gpu"] is True, f"{profile}: the GPU step asks for one GPU"
    assert gpu_task["containerOptions"] == gpu, f"{profile}: the engine's GPU option"
    if "slurm" in profile:
        assert gpu_task["clusterOptions"] == "--account=lab --gres=gpu:1", "the site's options kept, the GPU added"
        assert gpu_task["queue"] == "gpu"
    else:
        assert gpu_task["maxForks"] == 1, f"{profile}: one GPU task of a step at a time on one machine"


# ---------------------------------------------------------------------------------------------
# nextflow_schema.json against the configuration Nextflow resolves
# ---------------------------------------------------------------------------------------------


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


def schema_properties() -> dict[str, Any]:
    return {name: prop for group in schema()["$defs"].values() for name, prop in group["properties"].items()}


def test_schema_is_valid_json_schema_2020_12() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())
    groups = schema()["$defs"]
    assert [ref["$ref"] for ref in schema()["allOf"]] == [f"#/$defs/{name}" for name in groups]


#: Defaults computed when Nextflow starts (the report time stamp), not written in the schema.
RUNTIME_DEFAULTS = {"trace_report_suffix"}


@CACHED
def test_schema_and_config_declare_the_same_params_with_the_same_defaults() -> None:
    params = config(None)["params"]
    properties = schema_properties()
    assert set(params) == set(properties), (
        f"only in nextflow.config: {sorted(set(params) - set(properties))}; "
        f"only in the schema: {sorted(set(properties) - set(params))}"
    )
    for name, prop in properties.items():
        assert prop.get("type") and prop.get("description"), f"{name}: type and description"
        value = params[name]
        if value is None or name in RUNTIME_DEFAULTS:
            assert "default" not in prop, f"{name}: no default in the schema when the config has none"
            continue
        expected = pytest.approx(value) if isinstance(value, float) else value
        assert prop.get("default") == expected, f"{name}: schema default {prop.get('default')!r} != config {value!r}"


@CACHED
@pytest.mark.parametrize("profile", ["test", "test_full", "test_gpu", "slurm", "seq2expr_awsbatch"])
def test_profiles_only_set_declared_params(profile: str) -> None:
    assert set(config(profile)["params"]) == set(schema_properties()), f"-profile {profile} sets undeclared params"


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def given(params: dict[str, Any]) -> dict[str, Any]:
    """Params as nf-schema validates them: values of Groovy falsehood (None, False, "") left out, numbers kept."""
    return {name: value for name, value in params.items() if not (value is None or value is False or value == "")}


@CACHED
@pytest.mark.parametrize("profile", ["test", "test_full", "test_gpu"])
def test_schema_accepts_the_test_profiles(profile: str) -> None:
    params = given({**config(profile)["params"], "outdir": "results"})
    errors = [error.message for error in validator().iter_errors(params)]
    assert not errors, errors


@CACHED
@pytest.mark.parametrize(
    "change",
    [
        {"test_chromosomes": 8, "split": "chromosome"},  # Nextflow reads `--test_chromosomes 8` as an integer
        {"val_chromosomes": 9},
        {"test_chromosomes": "chr8,chrX"},
        {"genome": "genome.fa.bz2"},  # the readers take bzip2 and xz (docs/usage.md)
        {"annotation": "genes.gtf.xz"},
        {"expression": "tpm.gct.bz2"},
        {"split": "grouped"},
    ],
)
def test_schema_accepts_what_the_docs_promise(change: dict[str, Any]) -> None:
    params = given({**config("test")["params"], "outdir": "results", **change})
    errors = [error.message for error in validator().iter_errors(params)]
    assert not errors, errors


@CACHED
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
        ({"genome": "genome.fa.zst"}, "zstd is refused by the readers"),
        ({"genome_reference": "hg19"}, "reference not in the registry"),
        ({"tissues": "Pituitary,,Liver"}, "empty tissue in the list"),
        ({"tissues": 8}, "a number is not a tissue name"),
        ({"test_chromosomes": 8.5}, "not a chromosome name"),
        ({"dnabert2_learning_rate": 0}, "learning rate must be positive"),
        ({"allow_cpu_finetune": "yes"}, "a switch"),
        ({"publish_dir_mode": "hardlink"}, "not a publishDir mode"),
        ({"outdir": None}, "outdir is required"),
    ],
)
def test_schema_rejects_bad_params(change: dict[str, Any], why: str) -> None:
    params = given({**config("test")["params"], "outdir": "results", **change})
    assert list(validator().iter_errors(params)), f"the schema accepted: {why}"


@CACHED
def test_fetch_inputs_registry_names_are_the_schema_choices() -> None:
    registry = json.loads((REPO / "assets" / "references.json").read_text())["references"]
    properties = schema_properties()
    for kind in ("genome", "annotation", "expression"):
        # each --<kind>_reference takes exactly the registry's references of that kind
        names = {name for name, entry in registry.items() if entry["kind"] == kind}
        assert names and set(properties[f"{kind}_reference"]["enum"]) == names
    full = config("test_full")["params"]
    for kind in ("genome", "annotation", "expression"):
        assert registry[full[f"{kind}_reference"]]["kind"] == kind
    assert full["dnabert2_model"] == "zhihan1996/DNABERT-2-117M"


@CACHED
def test_validation_refuses_unknown_params_and_keeps_types_strict() -> None:
    validation = config(None)["validation"]
    assert validation["logging"]["unrecognisedParams"] == "error", "a mistyped parameter must stop the run"
    assert validation.get("lenientMode") is False


@CACHED
def test_config_has_strict_shell_manifest_plugin_and_reports() -> None:
    resolved = config(None)
    assert resolved["process"]["shell"] == ["bash", "-e", "-u", "-o", "pipefail"]
    assert resolved["manifest"]["nextflowVersion"].startswith("!>=")
    assert resolved["manifest"]["version"] == seq2expr.__version__
    assert any(plugin.startswith("nf-schema@") for plugin in resolved["plugins"])
    for report in ("timeline", "report", "trace", "dag"):
        # no --outdir (as for --help): no report, so nothing is written to ./null
        assert resolved[report]["enabled"] is False
        assert resolved[report]["file"].startswith("null/pipeline_info/")


# ---------------------------------------------------------------------------------------------
# Options passed = options the scripts have
# ---------------------------------------------------------------------------------------------

OPTION = re.compile(r"(?<![\w$-])--[a-z0-9][a-z0-9-]*")


@functools.cache
def script_options(program: str) -> frozenset[str]:
    """The long options a command's --help lists."""
    command = ["python3", str(BIN / program)] if program != "multiqc" else ["multiqc"]
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True, timeout=120)
    return frozenset(OPTION.findall(result.stdout))


def name_selectors(resolved: dict[str, Any], process: str) -> list[dict[str, Any]]:
    """The `withName:` blocks of a resolved config that apply to `process`: Nextflow matches the selector as a
    regular expression on the whole name (`ATTRIBUTE|ATTRIBUTE_PROBE` serves a module and its alias)."""
    return [
        block
        for key, block in resolved["process"].items()
        if key.startswith("withName:") and re.fullmatch(key.removeprefix("withName:"), process)
    ]


@CACHED
@pytest.mark.parametrize("step", STEPS)
def test_every_option_passed_exists_in_the_script_help(step: str) -> None:
    """Every `--option` the module's script block writes, and every one its ext.args can give
    under any test profile (all branches: read from the closure's text as Nextflow resolves it),
    is one its program lists. The real run's .command.sh are checked the same way in CI."""
    module = read_module(step)
    script = module.section("script")
    programs = set(re.findall(r"^\s*([a-z0-9_]+\.py|multiqc)\b", script, flags=re.MULTILINE))
    assert len(programs) == 1, f"{module.name}: one program per module, found {programs}"
    program = programs.pop()
    passed = set(OPTION.findall(script))
    for profile in PARAM_PROFILES:
        for selector in name_selectors(config(profile), module.name):
            passed |= set(OPTION.findall(str(selector.get("ext", {}).get("args", ""))))
    unknown = passed - script_options(program)
    assert not unknown, f"{module.name} passes {sorted(unknown)} that `{program} --help` does not list"


# ---------------------------------------------------------------------------------------------
# Module layout (nf-core conventions): what the files hold, which Nextflow does not check
# ---------------------------------------------------------------------------------------------


class ModuleText:
    """A module's main.nf as text, cut into its sections (input:, output:, when:, script:, stub:).
    Structure only: values are what Nextflow resolves (see above)."""

    SECTIONS = ("input", "output", "when", "script", "stub")

    def __init__(self, text: str) -> None:
        self.text = text
        header = re.search(r"^process\s+(\w+)\s*\{", text, flags=re.MULTILINE)
        assert header, "a process definition"
        self.name = header.group(1)
        marks = list(re.finditer(rf"^\s*({'|'.join(self.SECTIONS)}):\s*$", text, flags=re.MULTILINE))
        self.directives = text[header.end() : marks[0].start()] if marks else ""
        self.sections = {
            mark.group(1): text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
            for i, mark in enumerate(marks)
        }

    def section(self, name: str) -> str:
        return self.sections.get(name, "")

    def directive_lines(self, name: str) -> list[str]:
        """The directive's value on each of its lines, without a trailing `// comment`."""
        lines = re.findall(rf"^\s*{name}\s+(.+)$", self.directives, flags=re.MULTILINE)
        return [re.sub(r"\s+//\s.*$", "", line).strip() for line in lines]

    @property
    def labels(self) -> list[str]:
        return [re.sub(r"['\"]", "", label) for label in self.directive_lines("label")]

    def output_lines(self) -> list[str]:
        return [
            line for line in self.section("output").splitlines() if line.strip() and not line.strip().startswith("//")
        ]

    def input_names(self) -> list[str]:
        names = []
        for line in self.section("input").splitlines():
            code = line.split("//")[0]
            names += re.findall(r"\b(?:val|path)\(\s*(\w+)", code)
        return names


def read_module(step: str) -> ModuleText:
    return ModuleText((MODULES / step / "main.nf").read_text())


@pytest.mark.parametrize("step", STEPS)
def test_module_follows_nf_core_layout(step: str) -> None:
    module = read_module(step)
    assert module.name == step.upper()
    assert module.directive_lines("tag") == ['"${meta.id}"']
    resource = [label for label in module.labels if label in RESOURCE_LABELS]
    assert len(resource) == 1, f"{module.name}: exactly one resource label, found {module.labels}"
    assert set(module.labels) - RESOURCE_LABELS == ({"process_gpu"} if step in GPU_STEPS else set())
    assert len(module.directive_lines("container")) == 1, "one container line"
    assert module.section("when").strip() == "task.ext.when == null || task.ext.when"
    assert "task.ext.args ?: ''" in module.section("script")
    assert module.section("stub").strip(), "a stub: block"
    outputs = module.output_lines()
    assert outputs and all(re.search(r"emit:\s*\w+", line) for line in outputs), "every output has an emit name"
    topics = [line for line in outputs if re.search(r"topic:\s*versions", line)]
    if step == "multiqc":
        assert not topics, "MULTIQC consumes the versions topic, so it must not emit into it"
    else:
        assert topics, f"{module.name}: versions go to the versions topic"
    if step in GPU_STEPS:
        assert "task.accelerator" in module.section("script")
        assert not module.directive_lines("accelerator"), "the GPU module reads task.accelerator, never sets it"
    if step != "multiqc":
        # the task runs the launching checkout's package, staged into its work folder
        assert "path(code, stageAs: 'code/seq2expr')" in module.section("input")
        for block in (module.section("script"), module.section("stub")):
            assert 'export PYTHONPATH="\\$PWD/code' in block, "the package goes first on PYTHONPATH"


@pytest.mark.parametrize("step", STEPS)
def test_module_meta_yml_matches_main_nf(step: str) -> None:
    meta_path = MODULES / step / "meta.yml"
    assert meta_path.exists(), f"{meta_path.relative_to(REPO)} is missing"
    meta = yaml.safe_load(meta_path.read_text())
    module = read_module(step)
    assert meta["name"] == step
    emits = {re.search(r"emit:\s*(\w+)", line).group(1) for line in module.output_lines()}  # type: ignore[union-attr]
    assert set(meta["output"]) == emits, "meta.yml outputs = main.nf emit names"
    declared_inputs = [
        next(iter(item))
        for group in meta["input"]
        for item in (group if isinstance(group, list) else [group])  # tuples are nested lists
    ]
    assert declared_inputs == module.input_names()


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


def test_workflow_includes_every_module() -> None:
    """Every module is included by the workflow or one of its stage subworkflows, from its own folder."""
    stages = [REPO / "workflows" / "seq2expr.nf", *sorted((REPO / "subworkflows" / "local").glob("*/main.nf"))]
    text = "\n".join(path.read_text() for path in stages)
    for step in STEPS:
        included = re.search(rf"include\s*{{\s*{step.upper()}\s*}}\s*from\s*'(\.\./)+modules/local/{step}/main'", text)
        assert included, f"modules/local/{step} is in no workflow: no stage subworkflow includes {step.upper()}"
    assert "channel.topic('versions')" in text
    utils = (REPO / "subworkflows" / "local" / "utils_nfcore_seq2expr_pipeline" / "main.nf").read_text()
    assert "include { validateParameters" in utils and "paramsSummaryLog" in utils
    assert "include { SEQ2EXPR " in (REPO / "main.nf").read_text()
