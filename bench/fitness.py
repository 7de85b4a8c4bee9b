"""Lambda fitness: each handler's import time in a fresh Python 3.13 process, and the unzipped
size of the layers each function carries.

Which function carries which layers comes from template.yaml. Each layer is installed as
`sam build` lays it out (the shared layer by its Makefile, the others from their pinned
requirements) twice, once per input: for the functions' platform, arm64, whose size is what
Lambda unzips; and for this machine, to import the handlers. boto3 and botocore, which the
runtime provides, are installed beside them at the runtime's version and not counted.

Lambda unpacks layers read-only, so Python cannot cache the bytecode of what it compiles: the
imports run with PYTHONDONTWRITEBYTECODE, and each function's count of modules compiled from
source at import (those a layer ships without bytecode) is reported beside its time.

Each import is set against a bare `import boto3` timed in the same fresh-process setup just
before (the median of twice as many runs); the goal is at most 1.3× it. On a shared machine, run
it when the load is steady: both figures move with it.
A handler's import is its whole cold path before the first event: importing `app` builds
everything the handler needs (Powertools, the stage, the models, the SDK), as Lambda's init does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from broadsheet_dev.local.template import load_template, serverless_functions

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
# The Lambda runtime's interpreter, where pyenv has it; else whatever python3.13 is on PATH.
PYTHONS = (Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python", Path("python3.13"))
# The SDK of the python3.13 runtime (boto3 1.40), which the handlers import from the runtime.
RUNTIME_PACKAGES = ("boto3==1.40.4", "botocore==1.40.4")
# What the Lambda Python runtime already has: no layer should carry these.
IN_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "python_dateutil", "six")
# template.yaml's functions run python3.13 on arm64; Amazon Linux 2023 has glibc 2.34. The same
# flags as the PLATFORM default of layers/broadsheet/Makefile.
LAMBDA_PLATFORM = (
    "--implementation", "cp", "--python-version", "3.13", "--only-binary=:all:",
    "--platform", "manylinux_2_34_aarch64", "--platform", "manylinux_2_28_aarch64",
    "--platform", "manylinux2014_aarch64",
)  # fmt: skip
# A handler's import may take at most this multiple of a bare `import boto3`.
IMPORT_GOAL = 1.3
# Each layer unzipped, on its own; and Lambda's own limit for a function and all its layers.
LAYER_GOAL = 25_000_000
LAMBDA_LIMIT = 250 * 2**20
_BOTO3_PROBE = """
import json, time
started = time.perf_counter()
import boto3
print(json.dumps(time.perf_counter() - started))
"""
_PROBE = """
import importlib, json, os, sys, time
started = time.perf_counter()
importlib.import_module("app")
seconds = time.perf_counter() - started
layers = tuple(sys.argv[1:])
compiled = [
    name for name, module in list(sys.modules.items())
    if (getattr(module, "__file__", None) or "").startswith(layers)
    and module.__file__.endswith(".py")
    and not os.path.exists(getattr(module, "__cached__", None) or "")
]
print(json.dumps([seconds, len(compiled)]))
"""


@dataclass(frozen=True)
class Layer:
    """A layer of template.yaml: its logical id, source folder and build method."""

    name: str
    folder: Path
    build_method: str


@dataclass(frozen=True)
class Fitness:
    """Import times by function (median of fresh processes), modules each compiles from source at
    import, each layer's unzipped size for the functions' platform, the layers each function
    carries, and the largest packages."""

    python: str
    imports: dict[str, float]
    compiled: dict[str, int]
    boto3: float
    layers: dict[str, int]
    carried: dict[str, list[str]]
    largest: list[tuple[str, int]]
    runtime_in_layers: list[str]

    def ratios(self) -> dict[str, float]:
        """Each handler's import time as a multiple of a bare `import boto3`."""
        return {name: seconds / self.boto3 for name, seconds in self.imports.items()}

    def function_bytes(self) -> dict[str, int]:
        """Each function's unzipped size: the sum of its layers (its own code is a few KB)."""
        return {name: sum(self.layers[layer] for layer in layers) for name, layers in self.carried.items()}


def python313() -> str | None:
    """A Python 3.13 interpreter, if this machine has one."""
    for candidate in PYTHONS:
        found = shutil.which(str(candidate))
        if found:
            return found
    return None


def layers_by_function(template: dict[str, Any] | None = None) -> dict[str, list[Layer]]:
    """The layers each function carries, in order, by function folder (`render`, `subscribe`)."""
    template = template or load_template(TEMPLATE)
    resources = template["Resources"]
    carried = {}
    for function in serverless_functions(template).values():
        layers = []
        for ref in function.get("Layers", []):
            resource = resources[ref["Ref"]]
            folder = ROOT / resource["Properties"]["ContentUri"]
            layers.append(Layer(ref["Ref"], folder, resource["Metadata"]["BuildMethod"]))
        carried[Path(function["CodeUri"]).name] = layers
    return carried


def install(python: str, layer: Layer, target: Path, *, platform: Sequence[str]) -> None:
    """Lay `layer` out in `target` (its `python/` folder inside) as `sam build` would."""
    if layer.build_method == "makefile":
        subprocess.run(
            ["make", "--quiet", "-C", str(layer.folder), f"build-{layer.name}", f"ARTIFACTS_DIR={target}",
             f"PYTHON={python}", f"PLATFORM={' '.join(platform)}"],
            check=True,
        )  # fmt: skip
        return
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile", *platform,
         "--target", str(target / "python"), "-r", str(layer.folder / "requirements.txt")],
        check=True,
    )  # fmt: skip


def measure(work: Path, runs: int = 5) -> Fitness | None:
    """Install every layer (when its sources changed) and time each handler's import."""
    python = python313()
    if python is None:
        return None
    carried = layers_by_function()
    layers = {layer.name: layer for function in carried.values() for layer in function}
    base = work / "layers-py313"
    for layer in layers.values():
        for platform, flags in (("lambda", LAMBDA_PLATFORM), ("host", ())):
            _ensure(
                base / platform / layer.name,
                _digest(layer.folder),
                partial(install, python, layer, platform=flags),
            )
    runtime = base / "runtime"
    _ensure(runtime, " ".join(RUNTIME_PACKAGES), partial(_pip_target, python, requirements=RUNTIME_PACKAGES))

    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(runtime), "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }  # fmt: skip
    bare = [subprocess.run([python, "-c", _BOTO3_PROBE], env=env, capture_output=True, check=True)
            for _ in range(runs * 2)]  # fmt: skip
    boto3 = statistics.median(json.loads(done.stdout) for done in bare)
    imports, compiled = {}, {}
    for function, its_layers in sorted(carried.items()):
        installed = [base / "host" / layer.name / "python" for layer in its_layers]
        folders = [ROOT / "functions" / function, *installed]
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(str(folder) for folder in [*folders, runtime]),
            "AWS_DEFAULT_REGION": "us-east-1",
            # As on Lambda, where the layers are read-only: no bytecode cached between runs.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        probes = [
            json.loads(
                subprocess.run(
                    [python, "-c", _PROBE, *(f"{folder}{os.sep}" for folder in installed)],
                    env=env, capture_output=True, check=True,
                ).stdout
            )
            for _ in range(runs)
        ]  # fmt: skip
        imports[function] = statistics.median(seconds for seconds, _ in probes)
        compiled[function] = max(count for _, count in probes)

    packages: dict[str, int] = {}
    for name in layers:
        for entry in (base / "lambda" / name / "python").iterdir():
            packages[f"{entry.name} ({name})"] = _size(entry)
    in_runtime = sorted(entry for entry in packages if entry.startswith(IN_RUNTIME))
    return Fitness(
        python,
        imports,
        compiled,
        boto3,
        {name: _size(base / "lambda" / name) for name in layers},
        {function: [layer.name for layer in its_layers] for function, its_layers in sorted(carried.items())},
        sorted(packages.items(), key=lambda item: -item[1])[:6],
        in_runtime,
    )


def _ensure(folder: Path, wanted: str, make: Callable[[Path], None]) -> None:
    """Run `make(folder)` into an empty `folder` unless it was made from the same `wanted`."""
    stamp = folder.with_name(folder.name + ".installed")
    if stamp.is_file() and stamp.read_text() == wanted and folder.is_dir():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    make(folder)
    stamp.write_text(wanted)


def _pip_target(python: str, folder: Path, *, requirements: Sequence[str]) -> None:
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(folder),
         *requirements],
        check=True,
    )  # fmt: skip


def _digest(folder: Path) -> str:
    """A digest of a layer's sources (build leftovers and caches aside)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or {"__pycache__", "build"} & set(relative.parts):
            continue
        if any(part.endswith(".egg-info") for part in relative.parts):
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
