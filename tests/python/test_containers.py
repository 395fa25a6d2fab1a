"""The images install every runtime dependency of the package, each pinned to one version."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_images_pin_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = {requirement_name(requirement) for requirement in project["dependencies"]}
    lines = [
        line.strip()
        for line in (REPO / "containers" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.+-]+", line) for line in lines), lines
    pinned = {requirement_name(line) for line in lines}
    for image in ("cpu", "gpu"):
        dockerfile = (REPO / "containers" / image / "Dockerfile").read_text()
        assert "-r /tmp/requirements.txt" in dockerfile
        assert re.search(r"torch==2\.\d+\.\d+", dockerfile), f"{image} image pins torch"
    assert needed - {"torch"} == pinned
