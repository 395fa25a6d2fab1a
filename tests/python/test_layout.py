"""The package's layout is its architecture: io -> data -> models -> evaluation -> report.

Read from the code's own import statements (Python's `ast`), so a new import that breaks the
flow fails here: no import cycle, computation never imports presentation, every model named once
(the roster), and the workflow's list of each step's code current.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from seq2expr import step_code
from seq2expr.models import roster

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "seq2expr"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the seq2expr modules it imports (anywhere in the file: functions, TYPE_CHECKING)."""
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for imported in step_code.imported_modules(path):
            # `from a.b import c`: the module a.b.c when c is one, else a.b
            while imported and imported not in files:
                imported = imported.rpartition(".")[0]
            if imported and imported not in (name, "seq2expr"):
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path of modules, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_a_planted_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize("layer", ["io", "data", "models", "interpret", "evaluation"])
def test_computation_never_imports_the_report(layer: str) -> None:
    graph = import_graph()
    offending = {
        module: sorted(target for target in targets if target.startswith("seq2expr.report"))
        for module, targets in graph.items()
        if module.startswith(f"seq2expr.{layer}")
    }
    assert not {module: targets for module, targets in offending.items() if targets}


@pytest.mark.parametrize(
    ("layer", "above"),
    [("io", ("data", "models", "evaluation", "report")), ("data", ("models", "evaluation", "report"))],
)
def test_lower_layers_import_nothing_above_them(layer: str, above: tuple[str, ...]) -> None:
    graph = import_graph()
    wrong = {
        module: sorted(t for t in targets if any(t.startswith(f"seq2expr.{name}") for name in above))
        for module, targets in graph.items()
        if module.startswith(f"seq2expr.{layer}")
    }
    assert not {module: targets for module, targets in wrong.items() if targets}


def string_constants(path: Path) -> set[str]:
    """The string literals of a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def test_each_model_name_is_defined_once_in_the_roster() -> None:
    names = {model.name for model in roster.MODELS} | set(roster.BASELINES)
    spelled = {
        str(path.relative_to(PACKAGE)): sorted(string_constants(path) & names)
        for path in PACKAGE.rglob("*.py")
        if path.name != "roster.py"
    }
    assert not {path: found for path, found in spelled.items() if found}


def test_the_workflow_reads_the_roster() -> None:
    """The workflow's model keys and per-seed rule come from roster.json, each step is a process of it."""
    nextflow = {path: path.read_text() for path in REPO.glob("**/*.nf") if path.relative_to(REPO).parts[0] != "work"}
    reader = [path for path, text in nextflow.items() if "models/roster.json" in text]
    assert reader, "no .nf file reads src/seq2expr/models/roster.json"
    keys = [model.key for model in roster.MODELS]
    hard_coded = re.compile(r"\[\s*" + r"\s*,\s*".join(f"'{key}'" for key in keys) + r"\s*\]")
    assert not [path for path, text in nextflow.items() if hard_coded.search(text)]
    train = (REPO / "subworkflows" / "local" / "train_models" / "main.nf").read_text()
    for model in roster.MODELS:
        assert f"('{model.key}' in models)" in train
        assert re.search(rf"^\s+{model.step} \(", train, re.M), model.step
    config = (REPO / "nextflow.config").read_text()
    default = re.search(r"^\s*models\s*=\s*'([^']*)'", config, re.M)
    assert default and default.group(1).split(",") == keys


def test_step_code_manifest_is_current() -> None:
    """assets/step_code.json is what `python3 -m seq2expr.step_code` writes today."""
    written = step_code.MANIFEST.read_text()
    assert written == step_code.manifest_text((REPO / "bin").glob("*.py")), (
        "assets/step_code.json is stale: run `python3 -m seq2expr.step_code`"
    )


def test_step_code_follows_imports_data_files_and_packages(tmp_path: Path) -> None:
    """A script's files: its imports, theirs in turn, the packages on the way and the roster's JSON."""
    script = tmp_path / "step.py"
    script.write_text("def main():\n    from seq2expr.models.roster import CNN\n")
    files = step_code.step_files(script)
    assert {"__init__.py", "models/__init__.py", "models/roster.py", "models/roster.json"} <= set(files)
    assert not [name for name in files if name.startswith(("report/", "evaluation/"))]
    steps = json.loads(step_code.MANIFEST.read_text())["steps"]
    assert not [name for name in steps["dexter.py"] if name.startswith(("models/dnabert2/", "models/cnn/"))]
    pipeline_steps = {name for script, files in steps.items() if not script.startswith("make_") for name in files}
    assert "data/synthetic.py" not in pipeline_steps  # the test-data generator's code: no step of a run imports it
