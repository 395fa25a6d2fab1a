"""Read a Nextflow module (`modules/local/<step>/main.nf`) and run its task the way Nextflow would.

The contract tests use this in place of Nextflow: the process's inputs, outputs and `script:` /
`stub:` blocks are parsed, the Groovy in them is evaluated with `nfgroovy` (task.cpus and
task.ext.* from the configuration with the chosen profile, `meta`, staged input names), inputs
are staged as symbolic links in a task folder, and the rendered command runs with the pipeline's
`process.shell` and `bin/` on PATH. What the task leaves behind is then compared with what the
module declares.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nfgroovy import (
    Accelerator,
    GroovySubsetError,
    NextflowConfig,
    PathList,
    StagedPath,
    evaluate,
    interpolate,
    parse_expression,
    parse_statements,
    process_directives,
    resolve,
    run_statements,
    tokenize,
)

SECTIONS = ("input", "output", "when", "script", "stub", "exec")


@dataclass(frozen=True)
class Declaration:
    """One input or output line: `tuple val(meta), path("x.tsv"), emit: x` → items and options."""

    qualifier: str  # tuple, path, val, env, eval
    items: list[tuple[str, Any, dict[str, Any]]]  # (kind, argument node, named options)
    options: dict[str, Any]  # emit, topic, optional, …

    @property
    def emit(self) -> str | None:
        return self.options.get("emit")


@dataclass
class Module:
    name: str
    path: Path
    directives: list[tuple[str, Any]]
    inputs: list[Declaration]
    outputs: list[Declaration]
    when: str
    script: str
    stub: str

    @property
    def labels(self) -> list[str]:
        return [evaluate(node, {}) for name, node in self.directives if name == "label"]

    def directive(self, name: str) -> list[Any]:
        return [node for key, node in self.directives if key == name]

    def input_names(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, variable, options) for every input item, in order."""
        names = []
        for declaration in self.inputs:
            for kind, node, options in declaration.items:
                if node[0] != "name":
                    raise GroovySubsetError(f"{self.path}: input {kind}(…) must name a variable")
                names.append((kind, node[1], options))
        return names

    def file_outputs(self) -> list[tuple[Declaration, Any, dict[str, Any]]]:
        """Every `path(...)` output item with its declaration."""
        return [(decl, node, opts) for decl in self.outputs for kind, node, opts in decl.items if kind == "path"]

    def version_commands(self) -> list[tuple[str, str]]:
        """(tool, command) of every `eval(...)` output sent to the versions topic."""
        found = []
        for decl in self.outputs:
            kinds = [kind for kind, _, _ in decl.items]
            if "eval" in kinds:
                tool = evaluate(decl.items[kinds.index("eval") - 1][1], {})
                command = evaluate(decl.items[kinds.index("eval")][1], {})
                found.append((tool, command))
        return found


def _split_sections(body: str) -> tuple[list[str], dict[str, str]]:
    directives: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in body.splitlines():
        match = re.fullmatch(r"\s*(\w+):\s*", line)
        if match and match.group(1) in SECTIONS:
            current = sections.setdefault(match.group(1), [])
        elif current is None:
            directives.append(line)
        else:
            current.append(line)
    return directives, {name: "\n".join(lines) for name, lines in sections.items()}


def _declaration(line: str) -> Declaration:
    tokens = [token for token in tokenize(line) if token.kind != "nl"]
    qualifier = tokens[0].text
    wrapped = line.strip()
    if not (len(tokens) > 2 and tokens[1].text == "(" and _closes_at_end(line)):
        wrapped = f"{qualifier}({wrapped[len(qualifier) :].strip()})"
    node = parse_expression(wrapped)
    if node[0] != "fcall":
        raise GroovySubsetError(f"cannot read the declaration {line.strip()!r}")
    items: list[tuple[str, Any, dict[str, Any]]] = []
    options: dict[str, Any] = {}
    arguments = node[2] if qualifier == "tuple" else [node]
    for argument in arguments:
        if argument[0] == "named":
            options[argument[1]] = _option_value(argument[2])
        elif argument[0] == "fcall":
            positional = [a for a in argument[2] if a[0] != "named"]
            named = {a[1]: _option_value(a[2]) for a in argument[2] if a[0] == "named"}
            if len(positional) != 1:
                raise GroovySubsetError(f"{argument[1]}(…) takes one value in {line.strip()!r}")
            items.append((argument[1], positional[0], named))
        else:
            raise GroovySubsetError(f"cannot read {line.strip()!r}")
    if qualifier != "tuple":
        options.update(items[0][2])
    return Declaration(qualifier, items, options)


def _closes_at_end(line: str) -> bool:
    depth = 0
    stripped = line.strip()
    for index, char in enumerate(stripped):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index == len(stripped) - 1
    return False


def _option_value(node: Any) -> Any:
    if node[0] == "name":  # emit: fasta, topic: versions
        return node[1]
    return evaluate(node, {})


def _declarations(text: str) -> list[Declaration]:
    declarations = []
    for raw in text.splitlines():
        line = _strip_comment(raw).strip()
        if line:
            declarations.append(_declaration(line))
    return declarations


def _strip_comment(line: str) -> str:
    """The line without a trailing `// comment` (quotes respected)."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            if char == quote and line[index - 1] != "\\":
                quote = None
        elif char in "\"'":
            quote = char
        elif line.startswith("//", index):
            return line[:index]
    return line


def read_module(path: Path) -> Module:
    """Parse one module file holding exactly one process."""
    text = path.read_text()
    found = re.findall(r"^process\s+([A-Z][A-Z0-9_]*)\s*\{", text, flags=re.MULTILINE)
    if len(found) != 1:
        raise GroovySubsetError(f"{path}: expected exactly one process, found {found}")
    start = text.index("{", text.index(f"process {found[0]}")) + 1
    end = text.rstrip().rfind("}")
    directive_lines, sections = _split_sections(text[start:end])
    directives = []
    for line in directive_lines:
        stripped = _strip_comment(line).strip()
        if not stripped:
            continue
        name, _, rest = stripped.partition(" ")
        directives.append((name, parse_expression(rest)))
    return Module(
        name=found[0],
        path=path,
        directives=directives,
        inputs=_declarations(sections.get("input", "")),
        outputs=_declarations(sections.get("output", "")),
        when=sections.get("when", "").strip(),
        script=sections.get("script", ""),
        stub=sections.get("stub", ""),
    )


# ---------------------------------------------------------------------------------------------
# Rendering and running a task
# ---------------------------------------------------------------------------------------------


@dataclass
class Task:
    """One rendered task: its folder, staged inputs and the command Nextflow would run."""

    module: Module
    workdir: Path
    env: dict[str, Any]
    staged: set[str] = field(default_factory=set)
    command: str = ""


def workflow_context(config: NextflowConfig) -> dict[str, Any]:
    """`workflow.*` a config closure may read: the run's profiles (host run, no container engine)."""
    return {"profile": ",".join(config.active_profiles) or "standard", "containerEngine": None}


def task_context(module: Module, config: NextflowConfig, workflow: str = "SEQ2EXPR") -> dict[str, Any]:
    """`task.*` as Nextflow would resolve it for this process under the configuration."""
    process = f"{workflow}:{module.name}"
    directives = process_directives(config, process, module.labels)
    attempt_env = {"task": {"attempt": 1}, "params": config.params, "workflow": workflow_context(config)}
    cpus = resolve(directives.get("cpus", 1), attempt_env)
    limits = directives.get("resourceLimits") or {}
    if "cpus" in limits:
        cpus = min(cpus, limits["cpus"])
    accelerator = directives.get("accelerator")
    accelerator = resolve(accelerator, attempt_env)
    ext = {key[4:]: value for key, value in directives.items() if key.startswith("ext.")}
    return {
        "process": process,
        "attempt": 1,
        "cpus": cpus,
        "accelerator": Accelerator(int(accelerator)) if accelerator else None,
        "ext_raw": ext,
        "shell": directives.get("shell") or ["bash", "-ue"],
        "directives": directives,
    }


def stage_inputs(module: Module, values: list[Any], workdir: Path) -> tuple[dict[str, Any], set[str]]:
    """Link input files into the task folder; return the Groovy variables and staged names."""
    names = module.input_names()
    if len(names) != len(values):
        raise ValueError(f"{module.name} takes {len(names)} input values, {len(values)} given")
    variables: dict[str, Any] = {}
    staged: set[str] = set()
    for (kind, variable, options), value in zip(names, values, strict=True):
        if kind == "val":
            variables[variable] = value
            continue
        if kind != "path":
            raise GroovySubsetError(f"{module.path}: input qualifier {kind} is not supported")
        files = value if isinstance(value, list) else [value]
        pattern = options.get("stageAs")
        links = PathList()
        for index, source in enumerate(files, start=1):
            name = Path(source).name
            if pattern:
                name = pattern.replace("*", name).replace("?", str(index))
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(Path(source).resolve())
            links.append(StagedPath(name))
            staged.add(name.split("/")[0])
        variables[variable] = links if isinstance(value, list) else links[0]
    return variables, staged


def render_block(block: str, env: dict[str, Any]) -> str:
    """Run a script/stub block's Groovy statements and return its command string."""
    statements = parse_statements(block)
    if not statements or statements[-1][0] != "expr" or statements[-1][1][0] not in ("gstr", "str"):
        raise GroovySubsetError("a script block must end with its command string")
    scope = dict(env)
    run_statements(statements[:-1], scope)
    last = statements[-1][1]
    command = interpolate(last[1], scope) if last[0] == "gstr" else last[1]
    return textwrap.dedent(command).strip() + "\n"


def prepare_task(module: Module, config: NextflowConfig, values: list[Any], workdir: Path, stub: bool = False) -> Task:
    """Stage inputs and render the command (real or stub) for these input values."""
    workdir.mkdir(parents=True, exist_ok=True)
    variables, staged = stage_inputs(module, values, workdir)
    context = task_context(module, config)
    task_env: dict[str, Any] = {key: context[key] for key in ("process", "attempt", "cpus", "accelerator")}
    scope = {"params": config.params, "workflow": workflow_context(config), **variables}
    task_env["ext"] = {key: resolve(value, {**scope, "task": task_env}) for key, value in context["ext_raw"].items()}
    scope["task"] = task_env
    when_ok = module.when == "task.ext.when == null || task.ext.when"
    if not when_ok:
        raise GroovySubsetError(f"{module.path}: the when: line is not the standard one")
    task = Task(module, workdir, scope, staged)
    task.command = render_block(module.stub if stub else module.script, scope)
    (workdir / ".command.sh").write_text(task.command)
    task.env["__shell__"] = context["shell"]
    return task


def run_task(task: Task, bin_dir: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run `.command.sh` with the configured shell, `bin/` first on PATH (as Nextflow does)."""
    environment = dict(os.environ)
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}"
    shell = [str(part) for part in task.env["__shell__"]]
    return subprocess.run(
        [*shell, ".command.sh"],
        cwd=task.workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def created_entries(task: Task) -> set[str]:
    """Top-level names the task created (hidden files and staged inputs excluded, like Nextflow's globs)."""
    return {p.name for p in task.workdir.iterdir() if not p.name.startswith(".") and p.name not in task.staged}


def output_patterns(task: Task) -> list[tuple[str, bool, str | None]]:
    """(glob, optional, emit) of each declared file output, evaluated in the task's context."""
    patterns = []
    for declaration, node, options in task.module.file_outputs():
        pattern = evaluate(node, task.env)
        optional = bool(options.get("optional") or declaration.options.get("optional"))
        patterns.append((str(pattern), optional, declaration.emit))
    return patterns


def matches(task: Task, pattern: str) -> list[str]:
    """Files/folders of the task folder matched by a Nextflow output glob (no hidden files, no inputs)."""
    found = []
    for path in sorted(task.workdir.rglob("*")):
        relative = path.relative_to(task.workdir).as_posix()
        if any(part.startswith(".") for part in relative.split("/")) or relative.split("/")[0] in task.staged:
            continue
        if fnmatch.fnmatchcase(relative, pattern) and (pattern.count("/") == relative.count("/") or "**" in pattern):
            found.append(relative)
    return found


def undeclared(task: Task) -> set[str]:
    """Created top-level entries that no declared output glob covers."""
    covered: set[str] = set()
    for pattern, _, _ in output_patterns(task):
        covered.update(match.split("/")[0] for match in matches(task, pattern))
    return created_entries(task) - covered


def missing_outputs(task: Task) -> list[str]:
    """Declared, non-optional outputs the task did not create."""
    return [pattern for pattern, optional, _ in output_patterns(task) if not optional and not matches(task, pattern)]
