"""The modules' conda environments: the pinned set of containers/requirements.txt, nothing else.

`-profile conda`, `mamba`, `wave` and `arm64` build each step's software from its module's
`environment.yml` instead of pulling the project's images, so those files must name the packages
and versions the images install: one list of pins (containers/requirements.txt), held here to
every environment.yml. Conda channels cannot be reached from CI, so nothing here solves or builds
an environment; these tests read the files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO

MODULES = sorted(path.parent for path in (REPO / "modules" / "local").glob("*/main.nf"))
REQUIREMENTS = REPO / "containers" / "requirements.txt"
#: PyPI name -> conda-forge name, where they differ (torch is conda-forge's `pytorch`; matplotlib's
#: `-base` package is matplotlib without a GUI toolkit)
CONDA_NAMES = {"torch": "pytorch", "typing-extensions": "typing_extensions", "matplotlib": "matplotlib-base"}
#: packages bioconda holds rather than conda-forge
BIOCONDA = {"multiqc", "mappy"}
#: what an environment has beyond the pip pins: the interpreter of the images, and `ps` for Nextflow's trace
EXTRAS = {"python": "3.11", "procps-ng": "4.0.4"}


def normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def pins() -> dict[str, str]:
    lines = [
        line.strip() for line in REQUIREMENTS.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    return {normalise(name): version for name, version in (line.split("==") for line in lines)}


def environment(module: Path) -> dict[str, object]:
    loaded = yaml.safe_load((module / "environment.yml").read_text())
    assert isinstance(loaded, dict), f"{module.name}/environment.yml is not a mapping"
    return loaded


def test_every_module_has_an_environment() -> None:
    assert len(MODULES) >= 9, MODULES
    missing = [module.name for module in MODULES if not (module / "environment.yml").is_file()]
    assert not missing, f"no environment.yml: {missing}"


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.name)
def test_module_uses_its_environment(module: Path) -> None:
    text = (module / "main.nf").read_text()
    assert re.search(r'^\s*conda\s+"\$\{moduleDir\}/environment\.yml"\s*$', text, re.M), (
        f'{module.name}/main.nf: no `conda "${{moduleDir}}/environment.yml"`'
    )


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.name)
def test_environment_pins_the_images_requirements(module: Path) -> None:
    env = environment(module)
    assert env.get("channels") == ["conda-forge", "bioconda"], f"{module.name}: channels {env.get('channels')}"
    found: dict[str, str] = {}
    dependencies = env.get("dependencies")
    assert isinstance(dependencies, list), f"{module.name}: no dependencies list"
    for dependency in dependencies:
        match = re.fullmatch(r"(conda-forge|bioconda)::([A-Za-z0-9_.-]+)=([\w.+-]+)", str(dependency))
        assert match, f"{module.name}: {dependency!r} is not channel::name=version"
        channel, name, version = match.groups()
        assert (channel == "bioconda") == (name in BIOCONDA), f"{module.name}: {name} from {channel}"
        assert name not in found, f"{module.name}: {name} twice"
        found[name] = version
    wanted = {normalise(CONDA_NAMES.get(name, name)): version for name, version in pins().items()}
    wanted |= EXTRAS
    got = {normalise(name): version for name, version in found.items()}
    assert got == wanted, (
        f"{module.name}/environment.yml and containers/requirements.txt differ: "
        f"only in the environment {sorted(set(got.items()) - set(wanted.items()))}, "
        f"only in the requirements {sorted(set(wanted.items()) - set(got.items()))}"
    )


def test_one_environment_for_the_whole_pipeline() -> None:
    """Byte-identical files: Nextflow keys a conda environment by its file's content, so every
    step shares one environment, solved and downloaded once."""
    texts = {module.name: (module / "environment.yml").read_text() for module in MODULES}
    assert len(set(texts.values())) == 1, f"environment.yml files differ: {sorted(texts)}"
