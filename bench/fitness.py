"""Lambda fitness: each handler's import time in a fresh Python 3.13 process, and the layer's size.

The layer is installed as `sam build` would lay it out (its pinned requirements and the
broadsheet package, for this machine's architecture) into bench/.work/layer-<python>, once.
boto3 and botocore, which the Lambda runtime provides, are installed beside it and not counted.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "broadsheet"
# The Lambda runtime's interpreter, where pyenv has it; else whatever python3.13 is on PATH.
PYTHONS = (Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python", Path("python3.13"))
RUNTIME_PACKAGES = "boto3==1.44.5"
# What the Lambda Python runtime already has: a layer may leave these out.
IN_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "python_dateutil", "six")
_PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
importlib.import_module("app")
print(json.dumps(time.perf_counter() - started))
"""


@dataclass(frozen=True)
class Fitness:
    """Import times by function (median of fresh processes) and the layer's unzipped size, as
    installed and without what the runtime already has."""

    python: str
    imports: dict[str, float]
    layer_bytes: int
    without_runtime: int
    largest: list[tuple[str, int]]


def python313() -> str | None:
    """A Python 3.13 interpreter, if this machine has one."""
    for candidate in PYTHONS:
        found = shutil.which(str(candidate))
        if found:
            return found
    return None


def measure(work: Path, runs: int = 5) -> Fitness | None:
    """Install the layer for Python 3.13 (once) and time each handler's import."""
    python = python313()
    if python is None:
        return None
    layer, runtime = work / "layer-py313" / "python", work / "layer-py313" / "runtime"
    stamp = work / "layer-py313" / ".installed"
    wanted = (LAYER / "requirements.txt").read_text() + RUNTIME_PACKAGES
    if not stamp.is_file() or stamp.read_text() != wanted:
        shutil.rmtree(work / "layer-py313", ignore_errors=True)
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"]
        subprocess.run([*pip, str(layer), "-r", str(LAYER / "requirements.txt")], check=True)
        subprocess.run([*pip, str(layer), "--no-deps", str(LAYER)], check=True)
        subprocess.run([*pip, str(runtime), RUNTIME_PACKAGES], check=True)
        stamp.write_text(wanted)
    imports = {}
    for function in sorted(p.parent for p in (ROOT / "functions").glob("*/app.py")):
        path = os.pathsep.join([str(function), str(layer), str(runtime)])
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "AWS_DEFAULT_REGION": "us-east-1"}
        times = [
            json.loads(
                subprocess.run([python, "-c", _PROBE], env=env, capture_output=True, check=True).stdout
            )
            for _ in range(runs)
        ]
        imports[function.name] = statistics.median(times)
    sizes = {entry.name: _size(entry) for entry in layer.iterdir()}
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:6]
    lean = sum(size for name, size in sizes.items() if not name.startswith(IN_RUNTIME))
    return Fitness(python, imports, sum(sizes.values()), lean, largest)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
