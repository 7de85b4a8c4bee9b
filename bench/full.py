"""Full builds side by side: Broadsheet, Hugo and Pelican on the same corpus.

Each generator builds the corpus from scratch into an empty folder with no cache from an earlier
build, timed from the outside (wall, CPU of the whole process tree, peak memory of the tree).
Broadsheet then builds again into the same folder with nothing changed, which must write no file
and, from the cache its first build kept beside the folder, render no page.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import corpus
from bench.measure import Run, files_under, run
from bench.tools import Tools
from broadsheet.site import BUILD_MARKER

GENERATORS = ("broadsheet", "hugo", "pelican")


@dataclass(frozen=True)
class Build:
    """One generator's full build of one corpus."""

    generator: str
    articles: int
    run: Run
    files: int
    html: int


@dataclass(frozen=True)
class Comparison:
    """The full builds of one corpus, and Broadsheet's unchanged rebuild."""

    articles: int
    builds: dict[str, Build]
    rebuild: Run
    rebuild_written: int


def sources(n: int, seed: int, work: Path, generators: tuple[str, ...]) -> dict[str, Path]:
    """The corpus as each generator's sources, written once per size and seed."""
    folder = work / f"corpus-{n}-{seed}"
    writers = {
        "broadsheet": corpus.write_broadsheet,
        "hugo": corpus.write_hugo,
        "pelican": corpus.write_pelican,
    }
    made = {name: folder / name for name in generators}
    missing = [name for name in generators if not (folder / f".{name}-done").is_file()]
    if missing:
        articles = corpus.articles(n, seed)
        for name in missing:
            shutil.rmtree(made[name], ignore_errors=True)
            writers[name](articles, made[name])
            (folder / f".{name}-done").touch()
    return made


def broadsheet_env() -> dict[str, str]:
    """The environment Broadsheet builds the corpus in: its clock and page size."""
    return os.environ | {"BROADSHEET_NOW": corpus.CLOCK, "BROADSHEET_PAGE_SIZE": str(corpus.PAGE_SIZE)}


def compare(n: int, seed: int, work: Path, tools: Tools | None) -> Comparison:
    """Build the corpus of `n` articles with each generator (Broadsheet alone without tools)."""
    generators = GENERATORS if tools else ("broadsheet",)
    made = sources(n, seed, work, generators)
    out = work / f"out-{n}"
    # The output folders and Broadsheet's cache beside its folder: every first build starts bare.
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    broadsheet = [str(Path(sys.executable).parent / "broadsheet"), "build"]
    commands = {"broadsheet": [*broadsheet, str(made["broadsheet"]), str(out / "broadsheet")]}
    if tools:
        commands["hugo"] = [str(tools.hugo), "--quiet", "--source", str(made["hugo"])]
        commands["hugo"] += ["--destination", str(out / "hugo")]
        commands["pelican"] = [str(tools.pelican), "--quiet", "-s", str(made["pelican"] / "pelicanconf.py")]
        commands["pelican"] += ["-o", str(out / "pelican"), str(made["pelican"] / "content")]
    builds = {}
    for name, command in commands.items():
        measured = run(command, cwd=work, env=broadsheet_env())
        builds[name] = Build(name, n, measured, files_under(out / name), _html(out / name))
    before = _stamps(out / "broadsheet")
    rebuild = run(commands["broadsheet"], cwd=work, env=broadsheet_env())
    after = _stamps(out / "broadsheet")
    rewritten = sum(1 for key, stamp in after.items() if before.get(key) != stamp)
    shutil.rmtree(out)
    return Comparison(n, builds, rebuild, rewritten)


def _html(folder: Path) -> int:
    return sum(1 for _, _, files in os.walk(folder) for name in files if name.endswith(".html"))


def _stamps(folder: Path) -> dict[str, int]:
    """Every file's modification time, to see which files a rebuild rewrote."""
    return {
        os.path.join(path, name): os.stat(os.path.join(path, name)).st_mtime_ns
        for path, _, files in os.walk(folder)
        for name in files
        if name != BUILD_MARKER
    }
