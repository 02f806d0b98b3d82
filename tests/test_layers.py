"""The layers contract of pyproject.toml (STYLE.md §7) holds, and would catch the imports it
exists to forbid: it is what `lint-imports` checks on every `./dev test`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def layers() -> list[set[str]]:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["type"] == "layers"]
    return [{name.strip() for name in layer.split("|")} for layer in contract["layers"]]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("ixidir")


def test_the_code_keeps_the_layers(graph: grimp.ImportGraph) -> None:
    assert graph.find_illegal_dependencies_for_layers(layers=layers()) == set()


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("ixidir.storage.entries", "ixidir.server.protocol"),  # an adapter reaching sideways
        ("ixidir.storage.entries", "ixidir.admin.runtime"),  # an adapter reaching up
        ("ixidir.routing.index", "ixidir.directory.state"),  # the core upside down
        ("ixidir.directory.state", "ixidir.server.protocol"),  # the core reaching out
        ("ixidir.schema.schema", "ixidir.limits.policy"),
    ],
)
def test_an_import_against_the_layers_is_caught(importer: str, imported: str) -> None:
    broken = grimp.build_graph("ixidir")
    broken.add_import(importer=importer, imported=imported)
    found = broken.find_illegal_dependencies_for_layers(layers=layers())
    assert {(dep.importer, dep.imported) for dep in found}
