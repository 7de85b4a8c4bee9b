"""Measuring a command: wall time, CPU time and the peak memory of its whole process tree.

The peak is sampled from /proc every 20 milliseconds while the command runs: the resident set
(RSS) of the command and every process below it, summed, and the proportional set (PSS), which
counts a page shared by several processes (a forked worker's inherited memory) once in all.
Linux only, like the machines this runs on.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Often enough to catch a peak, seldom enough not to slow a two-core machine down.
_SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class Run:
    """What one command took."""

    wall: float
    cpu: float
    peak_rss: int
    peak_pss: int
    status: int


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Run:
    """Run `command` to the end with its output discarded; raise if it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = tree_memory(process.pid)
            peaks[0], peaks[1] = max(peaks[0], rss), max(peaks[1], pss)
            done.wait(_SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{errors.decode()[-2000:]}")
    # wait4 reports the child's own time and that of every descendant it waited for.
    return Run(wall, usage.ru_utime + usage.ru_stime, peaks[0], peaks[1], process.returncode)


def tree_memory(pid: int) -> tuple[int, int]:
    """RSS and PSS in bytes of `pid` and all its descendants (0 for processes already gone)."""
    rss = pss = 0
    for member in _tree(pid):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
    return rss, pss


def _tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
            for task in tasks:
                queue += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def files_under(folder: Path) -> int:
    """How many files a folder holds, at any depth."""
    return sum(len(files) for _, _, files in os.walk(folder))


def own_peak_rss() -> int:
    """This process's peak RSS in bytes, as the kernel counts it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def megabytes(size: int, digits: int = 0) -> str:
    """A byte count as readers scan it: `412 MB` (`14.6 MB` with one digit)."""
    return f"{size / 1e6:,.{digits}f} MB"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
