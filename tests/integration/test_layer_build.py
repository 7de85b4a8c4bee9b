"""The shared layer, built by its own Makefile as `sam build` builds it, ships exactly what Lambda
runs: the `broadsheet` package and its pinned dependencies, never the development package, the
emulator or test code.

The layer is built for this machine (the Makefile's PLATFORM emptied, this interpreter), which
installs the same pinned list; the files it copies are what decides what ships.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Packages that must never reach Lambda: the development package, the emulator and what only
# the local stack and the tests use.
NEVER = {"broadsheet_dev", "moto", "tests", "watchdog", "pytest", "hypothesis", "playwright", "rich"}

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared layer's folder, as the Makefile builds it."""
    artifacts = tmp_path_factory.mktemp("layer")
    subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT / "layers" / "broadsheet"), "build-BroadsheetLayer",
         f"ARTIFACTS_DIR={artifacts}", f"PYTHON={sys.executable}", "PLATFORM="],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return artifacts / "python"


def imported(source: str) -> set[str]:
    """The top-level packages a module imports (at any depth of the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_layer_holds_the_package_and_its_pins_and_nothing_of_development(layer: Path) -> None:
    shipped = {p.name for p in layer.iterdir()}
    assert "broadsheet" in shipped
    assert not {name for name in shipped if name.split("-")[0].split(".")[0] in NEVER}, shipped
    assert not (layer / "broadsheet" / "local").exists()
    modules = sorted((layer / "broadsheet").rglob("*.py"))
    assert len(modules) > 40
    for module in modules:
        leaked = imported(module.read_text()) & NEVER
        assert not leaked, f"{module.relative_to(layer)} imports {leaked}"


def test_the_layer_ships_the_templates_schemas_and_bytecode(layer: Path) -> None:
    package = layer / "broadsheet"
    assert (package / "render" / "templates" / "article.html").is_file()
    assert (package / "render" / "static" / "site.css").is_file()
    assert (package / "contract" / "schema" / "article.schema.json").is_file()
    assert list(package.rglob("*.pyc")), "Lambda's layers are read-only: bytecode must ship"
