"""The images: one pinned requirements file, dependencies only, never the pipeline's own code.

The static tests read containers/ and modules/. The others need a real Docker engine and the
images built by `.ci/setup-docker.sh`, and are skipped, with the reason, where there is none; with
SEQ2EXPR_REQUIRE_DOCKER=1 (as .ci/docker_checks.sh sets) a missing engine, image or Nextflow fails
them instead. The stale-code test also needs a Nextflow launcher: SEQ2EXPR_NXF, else the one
.ci/setup-nextflow.sh assembles (never a bare `nextflow` from PATH, which may be the pip launcher).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest
from conftest import REPO, nextflow_launcher

IMAGES = ("cpu", "gpu")
#: one Dockerfile, a target per image (`docker build --target cpu|gpu`)
DOCKERFILE = REPO / "containers" / "Dockerfile"
REQUIREMENTS = REPO / "containers" / "requirements.txt"
REQUIRE_DOCKER = os.environ.get("SEQ2EXPR_REQUIRE_DOCKER") == "1"


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def pinned_lines() -> list[str]:
    return [line.strip() for line in REQUIREMENTS.read_text().splitlines() if line.strip() and not line.startswith("#")]


def stages() -> dict[str, list[str]]:
    """stage name -> its instructions (the FROM first, continuation lines joined, no comments)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    for instruction in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines():
        if not instruction.strip():
            continue
        start = re.match(r"FROM\s+\S+\s+AS\s+([\w.-]+)\s*$", instruction, re.I)
        if start:
            current = found.setdefault(start.group(1), [])
        elif instruction.split()[0].upper() == "FROM":
            raise AssertionError(f"every stage is named: {instruction}")
        if current is not None:
            current.append(instruction)
    return found


def parent(stage: list[str]) -> str:
    return stage[0].split()[1]


def built_from(target: str) -> list[str]:
    """The stages `--target TARGET` builds: the target, the stages it starts FROM and copies --from,
    and theirs."""
    all_stages, order, todo = stages(), [], [target]
    while todo:
        name = todo.pop()
        if name in order or name not in all_stages:
            continue
        order.append(name)
        todo.append(parent(all_stages[name]))
        todo += re.findall(r"--from=([\w.-]+)", "\n".join(all_stages[name]))
    return order


def target_text(target: str) -> str:
    """The instructions of every stage the target builds."""
    all_stages = stages()
    return "\n".join(line for name in built_from(target) for line in all_stages[name])


#: a Docker tag of ours (not preceded by oras://, which names the Singularity image of a release)
DOCKER_TAG = re.compile(r"(?<!oras://)ghcr\.io/seq2expr/seq2expr-(cpu|gpu):[\w.-]+")


def module_images() -> dict[str, str]:
    """image kind (cpu/gpu) -> the one Docker tag modules/ name for it."""
    tags = {
        match.group(0)
        for module in (REPO / "modules").glob("**/main.nf")
        for match in DOCKER_TAG.finditer(module.read_text())
    }
    kinds: dict[str, list[str]] = {}
    for tag in sorted(tags):
        kinds.setdefault(tag.split("seq2expr-")[1].split(":")[0], []).append(tag)
    assert all(len(found) == 1 for found in kinds.values()), f"one tag per image in modules/: {kinds}"
    return {kind: found[0] for kind, found in kinds.items()}


# --- static --------------------------------------------------------------------------------------


def test_images_pin_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = {requirement_name(requirement) for requirement in project["dependencies"]}
    lines = pinned_lines()
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.+-]+", line) for line in lines), lines
    pinned = {requirement_name(line) for line in lines}
    assert needed <= pinned, f"not pinned: {needed - pinned}"
    assert "torch==2.13.0" in lines, "torch stays the PyPI (CUDA) build 2.13.0"
    assert len(pinned) == len(lines), "each package pinned once"
    for image in IMAGES:
        text = target_text(image)
        assert "-r /tmp/requirements.txt" in text, f"{image}: installs the one requirements file"
        assert "--no-cache-dir" in text


@pytest.mark.parametrize("image", IMAGES)
def test_images_hold_dependencies_only(image: str) -> None:
    """No seq2expr code in an image: the tasks stage the launching checkout's package instead."""
    text = target_text(image)
    instructions = text.splitlines()
    copies = [line for line in instructions if line.split()[:1] == ["COPY"]]
    assert all("requirements.txt" in line or "--from=" in line for line in copies), copies
    assert not re.search(r"pip install[^\n]*\s(\.|/opt/seq2expr|src)(\s|$)", text)
    assert re.search(r"^ARG BASE_IMAGE=", DOCKERFILE.read_text(), re.M), "the base image is a build argument"
    assert {parent(stages()[name]) for name in built_from(image)} - set(stages()) == {"${BASE_IMAGE}"}
    assert "procps" in text, "ps for Nextflow's task trace"


def test_both_images_share_one_environment_and_the_cpu_one_has_no_triton() -> None:
    """The environment is installed once, in a stage both targets build (so the second build takes
    it from the cache). The GPU image is that stage as installed (pip check, a CUDA build of torch);
    the CPU image starts again from the stage below it and copies the environment from a stage that
    removed triton, so that no layer of the CPU image holds triton. Neither image has a build step
    of its own."""
    all_stages = stages()
    installs = [name for name, stage in all_stages.items() if any("-r /tmp/requirements.txt" in line for line in stage)]
    assert len(installs) == 1, f"the requirements are installed in one stage: {installs}"
    (shared,) = installs
    assert all(shared in built_from(image) for image in IMAGES), {image: built_from(image) for image in IMAGES}
    install = "\n".join(all_stages[shared])
    assert "pip check" in install and "torch.version.cuda" in install, "the GPU image's checks"
    runtime = parent(all_stages[shared])
    assert parent(all_stages[runtime]) == "${BASE_IMAGE}" and "procps" in "\n".join(all_stages[runtime])
    cpu, gpu = all_stages["cpu"], all_stages["gpu"]
    for image, stage in (("cpu", cpu), ("gpu", gpu)):
        assert not [line for line in stage if line.split()[0] in ("RUN", "ADD")], f"{image}: no build step of its own"
    assert parent(gpu) == shared and not [line for line in gpu if line.split()[0] == "COPY"], (
        "gpu: the environment as installed"
    )
    assert parent(cpu) == runtime, "cpu: no layer of the shared stage (triton is in them)"
    copies = [line for line in cpu if line.split()[0] == "COPY"]
    assert len(copies) == 1 and re.fullmatch(r"COPY --from=[\w.-]+ /opt/venv /opt/venv", copies[0].strip()), copies
    cpu_env = re.findall(r"--from=([\w.-]+)", copies[0])[0]
    assert parent(all_stages[cpu_env]) == shared, f"{cpu_env}: the shared environment less triton"
    assert any("pip uninstall -y triton" in line for line in all_stages[cpu_env]), cpu_env
    assert any("NVIDIA_VISIBLE_DEVICES=all" in line for line in gpu)
    assert not any("NVIDIA_VISIBLE_DEVICES" in line for line in cpu + all_stages[runtime] + all_stages[shared])


def test_modules_name_both_images() -> None:
    images = module_images()
    assert set(images) == set(IMAGES), images
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert all(tag.endswith(f":{version}") for tag in images.values()), (images, version)


@pytest.mark.parametrize("module", sorted((REPO / "modules" / "local").glob("*/main.nf")), ids=lambda p: p.parent.name)
def test_singularity_pulls_the_released_sif_of_each_docker_image(module: Path) -> None:
    """The nf-core engine ternary: Singularity/Apptainer get the release's oras://...-sif of the very
    image Docker gets, unless ext.singularity_pull_docker_container asks for the Docker one."""
    text = module.read_text()
    line = next(line for line in text.splitlines() if line.strip().startswith("container "))
    assert "workflow.containerEngine in ['singularity', 'apptainer']" in line, line
    assert "!task.ext.singularity_pull_docker_container" in line, line
    docker = sorted({match.group(0) for match in DOCKER_TAG.finditer(line)})
    sifs = sorted(set(re.findall(r"oras://(ghcr\.io/seq2expr/seq2expr-(?:cpu|gpu):[\w.-]+)-sif", line)))
    assert docker and sifs == docker, f"{module.parent.name}: Docker {docker}, SIF {sifs}"


def test_release_publishes_each_image_once_and_public() -> None:
    """One trigger (a published release), and each package made public: GHCR makes a new package
    private, and a private image cannot be pulled without a login."""
    text = (REPO / ".github" / "workflows" / "release.yml").read_text()
    trigger = text.split("\non:", 1)[1].split("\npermissions:", 1)[0]
    assert "release:" in trigger and "push:" not in trigger, trigger
    assert "visibility" in text and "public" in text, "the packages are made public"
    assert "-sif" in text and "oras://" in text, "the Singularity images the modules name are pushed"


# --- with a Docker engine ------------------------------------------------------------------------


def docker_or_skip() -> str:
    docker = shutil.which("docker")
    reason = ""
    if docker is None:
        reason = "no docker client"
    else:
        info = subprocess.run([docker, "info"], capture_output=True, text=True, check=False)
        if info.returncode != 0:
            reason = f"no Docker engine answers ({info.stderr.strip().splitlines()[-1:]}); bash .ci/setup-docker.sh starts one"
    if reason:
        if REQUIRE_DOCKER:
            pytest.fail(reason)
        pytest.skip(reason)
    assert docker is not None
    return docker


def image_or_skip(kind: str) -> tuple[str, str]:
    docker = docker_or_skip()
    tag = module_images()[kind]
    if subprocess.run([docker, "image", "inspect", tag], capture_output=True, check=False).returncode != 0:
        reason = f"image {tag} not built (bash .ci/setup-docker.sh)"
        if REQUIRE_DOCKER:
            pytest.fail(reason)
        pytest.skip(reason)
    return docker, tag


def in_image(docker: str, tag: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker, "run", "--rm", "--network", "none", tag, "bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("kind", IMAGES)
def test_image_cannot_import_seq2expr(kind: str) -> None:
    docker, tag = image_or_skip(kind)
    result = in_image(docker, tag, 'python3 -c "import seq2expr"')
    assert result.returncode != 0, f"{tag} holds a seq2expr package: {result.stdout}{result.stderr}"
    assert "No module named 'seq2expr'" in result.stderr
    found = in_image(docker, tag, "find / -xdev -path /proc -prune -o -name 'seq2expr*' -print")
    assert found.stdout.strip() == "", f"{tag} holds seq2expr files:\n{found.stdout}"


@pytest.mark.parametrize("kind", IMAGES)
def test_image_has_the_pinned_dependencies_and_nextflow_tools(kind: str) -> None:
    docker, tag = image_or_skip(kind)
    script = (
        "set -e; for tool in bash ps date sed grep awk; do command -v $tool >/dev/null; done; "
        "for tool in gcc cc make; do if command -v $tool; then echo build tool $tool >&2; exit 1; fi; done; "
        "python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version'; "
        "pip freeze --all"
    )
    result = in_image(docker, tag, script)
    assert result.returncode == 0, result.stderr
    installed = {requirement_name(line): line.split("==")[-1] for line in result.stdout.split() if "==" in line}
    for line in pinned_lines():
        name, version = requirement_name(line), line.split("==")[1]
        assert installed.get(name) == version, f"{tag}: {name} {installed.get(name)} instead of {version}"
    assert "cython" not in installed, "no build tools"
    if kind == "cpu":
        assert "triton" not in installed, "the CPU image goes without triton"


def test_cpu_image_runs_torch_on_cpu() -> None:
    docker, tag = image_or_skip("cpu")
    script = (
        'python3 -c "import torch; x = torch.ones(2) @ torch.ones(2); assert x.item() == 2; '
        'print(torch.__version__, torch.cuda.is_available())"'
    )
    result = in_image(docker, tag, script)
    assert result.returncode == 0, result.stderr
    version, cuda = result.stdout.split()
    assert version.startswith("2.13.0") and cuda == "False", result.stdout


# --- the stale-code test ---------------------------------------------------------------------------

STALE_WORKFLOW = """
include { EXTRACT_TSS_WINDOWS } from './modules/local/extract_tss_windows/main'

workflow {
    def inputs = channel.of([
        [ id:'genome' ],
        file("${projectDir}/assets/test_data/genome.fa.gz", checkIfExists: true),
        file("${projectDir}/assets/test_data/annotation.gtf.gz", checkIfExists: true),
    ])
    EXTRACT_TSS_WINDOWS(inputs__CODE__)
    EXTRACT_TSS_WINDOWS.out.versions_seq2expr.view { process, tool, version -> "STALE_CHECK_VERSION ${version}" }
}
"""


def stale_workflow(module: str) -> str:
    """The one-module workflow; the package goes in as the module's `code` input when it has one."""
    code = ', file("${projectDir}/src/seq2expr", checkIfExists: true)' if re.search(r"path\(\s*code\b", module) else ""
    return STALE_WORKFLOW.replace("__CODE__", code)


def nextflow_or_skip() -> str:
    """The project's Nextflow (`conftest.nextflow_launcher`), never whichever `nextflow` PATH finds first."""
    return nextflow_launcher()


def copy_checkout(dest: Path) -> None:
    """The checkout's files as git sees them (tracked and untracked, not ignored); outside a git
    work tree, the folder less Nextflow's and Python's own output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        ignore = shutil.ignore_patterns(".git", ".nextflow*", "work", "results", "__pycache__", ".*_cache")
        shutil.copytree(REPO, dest, ignore=ignore)
        return
    for name in filter(None, listed.stdout.split(b"\0")):
        source = REPO / name.decode()
        if source.is_file():
            (dest / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name.decode())


@pytest.mark.slow
def test_a_task_runs_the_launching_checkouts_code_not_the_images(tmp_path: Path) -> None:
    """Change the package in a copy of the checkout, run one module with -profile docker: the task
    must run the changed code (a new __version__ and a marker the package prints on import)."""
    image_or_skip("cpu")
    nxf = nextflow_or_skip()
    checkout = tmp_path / "checkout"
    copy_checkout(checkout)
    token = uuid.uuid4().hex[:12]
    init = checkout / "src" / "seq2expr" / "__init__.py"
    text = init.read_text()
    assert re.search(r'^__version__ = "[^"]+"', text, re.M), "seq2expr.__version__ is a plain string"
    text = re.sub(r'^__version__ = "[^"]+"', f'__version__ = "0.0.0+stale.{token}"', text, flags=re.M)
    text += f'\nimport sys as _sys\n_sys.stderr.write("STALE_CHECK_MARKER {token} " + __file__ + "\\n")\n'
    init.write_text(text)
    module = (checkout / "modules" / "local" / "extract_tss_windows" / "main.nf").read_text()
    (checkout / "stale_check.nf").write_text(stale_workflow(module))

    work = tmp_path / "work"
    result = subprocess.run(
        [
            nxf,
            "run",
            "stale_check.nf",
            "-profile",
            "docker",
            "-ansi-log",
            "false",
            "--outdir",
            str(tmp_path / "out"),
            "-work-dir",
            str(work),
        ],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"STALE_CHECK_VERSION 0.0.0+stale.{token}" in result.stdout, result.stdout[-3000:]
    runs = list(work.glob("*/*/.command.run"))
    assert len(runs) == 1 and "docker run" in runs[0].read_text(), "the task ran in docker"
    errors = (runs[0].parent / ".command.err").read_text()
    assert f"STALE_CHECK_MARKER {token}" in errors, f"the step did not import the changed package:\n{errors[-2000:]}"


# --- the code each step stages ---------------------------------------------------------------------


def module_scripts() -> dict[str, str]:
    """process name -> the bin/ script its module runs, for every module that stages the package."""
    scripts = {}
    for module in sorted((REPO / "modules" / "local").glob("*/main.nf")):
        text = module.read_text()
        if not re.search(r"path\(\s*code\b", text):
            continue
        process = re.search(r"^process\s+(\w+)", text, re.M)
        script = re.search(r'^\s*script:\s*$.*?^\s*"""\s*$.*?^\s*(\w+\.py)\b', text, re.M | re.S)
        assert process and script, f"{module}: no process name or bin/ script"
        scripts[process.group(1)] = script.group(1)
    return scripts


def test_each_step_gets_the_code_of_the_script_it_runs() -> None:
    """-resume follows the code a step runs only if the workflow hands each module the folder
    computed from that module's own script: stepCode('<its script>') in its call (the workflow and
    its stage subworkflows call the modules)."""
    sources = [REPO / "workflows" / "seq2expr.nf", *sorted((REPO / "subworkflows" / "local").glob("*/main.nf"))]
    calls: dict[str, list[str]] = {}
    for source in sources:
        for name, body in re.findall(r"^\s*(\w+) \(\n(.*?)^\s*\)\s*$", source.read_text(), re.M | re.S):
            calls.setdefault(name, []).extend(re.findall(r"stepCode\('([\w.]+)'\)", body))
    for process, script in module_scripts().items():
        if process not in calls:
            continue  # a module the workflow does not call
        assert calls[process] and set(calls[process]) == {script}, (
            f"{process} runs {script} but gets stepCode({calls[process]})"
        )
        assert (REPO / "bin" / script).is_file(), script
    assert {"DEXTER", "FINETUNE_DNABERT2", "EVALUATE_MODELS"} <= set(calls), sorted(calls)
