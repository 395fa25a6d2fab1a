"""Which package files each pipeline step runs: the manifest behind an exact `-resume`.

A Nextflow task stages only the files of `src/seq2expr` that its `bin/` script imports,
transitively (imports inside functions and under `TYPE_CHECKING` included, with the `__init__.py`
of every package on the way and the data files a module opens beside itself, such as the
roster's JSON), in a folder named by their SHA-256. So a task reruns when, and only when, one of
those files changes; a step that imports a file it was not given stops with an ImportError
instead of running stale code. The workflow reads the list from `assets/step_code.json`, written
by `python3 -m seq2expr.step_code` (standard library only) and kept current by a test.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPOSITORY = PACKAGE.parent.parent
MANIFEST = REPOSITORY / "assets" / "step_code.json"


def module_file(dotted: str) -> Path | None:
    """The file of a `seq2expr...` module or package; None for a name that is not one (a class, a function)."""
    parts = dotted.split(".")
    if parts[0] != "seq2expr":
        return None
    place = PACKAGE.joinpath(*parts[1:])
    if (place / "__init__.py").is_file():
        return place / "__init__.py"
    module = place.with_suffix(".py")
    return module if module.is_file() else None


def imported_modules(source: Path) -> set[str]:
    """Every `seq2expr` module one file names in an import statement, wherever the statement stands."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.split(".")[0] == "seq2expr")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "seq2expr":
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def data_files(source: Path) -> set[Path]:
    """Files a module opens beside itself, named as `Path(__file__).with_name("...")`."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "with_name"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(source.with_name(node.args[0].value))
    return found


def packages_above(path: Path) -> set[Path]:
    """The `__init__.py` of every package from the file's folder up to `seq2expr` itself."""
    found = set()
    folder = path.parent
    while folder == PACKAGE or PACKAGE in folder.parents:
        found.add(folder / "__init__.py")
        folder = folder.parent
    return found


def step_files(script: Path) -> list[str]:
    """The package files one script runs, relative to `src/seq2expr`, sorted."""
    files: set[Path] = {PACKAGE / "__init__.py"}
    pending: list[Path] = [script]
    while pending:
        source = pending.pop()
        for name in imported_modules(source):
            found = module_file(name)
            if found is None:
                continue
            for new in ({found} | packages_above(found)) - files:
                files.add(new)
                pending.append(new)
        files |= data_files(source)
    return sorted(str(path.relative_to(PACKAGE)) for path in files)


def manifest(scripts: Iterable[Path]) -> dict[str, list[str]]:
    """Script name -> the package files it runs, for every script that imports seq2expr."""
    return {script.name: step_files(script) for script in sorted(scripts) if imported_modules(script)}


def manifest_text(scripts: Iterable[Path]) -> str:
    """The manifest as the workflow reads it (stable JSON: a rerun of the generator changes no byte)."""
    body = {
        "comment": "Written by `python3 -m seq2expr.step_code`; tests/python/test_layout.py checks it is current. "
        "Each bin/ script's package files (relative to src/seq2expr): the code its Nextflow task stages.",
        "steps": manifest(scripts),
    }
    return json.dumps(body, indent=2) + "\n"


def main() -> int:
    MANIFEST.write_text(manifest_text((REPOSITORY / "bin").glob("*.py")), encoding="utf-8")
    print(f"wrote {MANIFEST.relative_to(REPOSITORY)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
