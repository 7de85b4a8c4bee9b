"""`broadsheet local` as a user starts it: a process on free ports, watching a folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue

import pytest

from broadsheet_dev.local.stack import free_port
from tests.support import ROOT

READY = "The site is at "
# A cold start installs nothing but creates every resource and publishes the samples.
STARTUP = 240.0


@dataclass
class Running:
    """A `broadsheet local` process and what it said about itself."""

    process: subprocess.Popen[str]
    site: str
    state: dict[str, object]
    state_file: Path
    watch: Path
    lines: Queue[str]

    @property
    def endpoint(self) -> str:
        """The moto server the stack runs on."""
        return str(self.state["endpoint"])


def _read_lines(process: subprocess.Popen[str], into: Queue[str]) -> None:
    for line in process.stdout or ():
        into.put(line)


@contextmanager
def local_command(folder: Path, *, real_clock: bool = False) -> Iterator[Running]:
    """Start `broadsheet local` watching `folder/content`, wait until it serves its site, and stop
    it (Ctrl-C, as a user would; killed if it does not stop) when the block ends. With
    `real_clock`, a fixed clock another tier set in this process's environment is left out."""
    watch, state = folder / "content", folder / "stack.json"
    command = [
        str(Path(sys.executable).with_name("broadsheet")), "local",
        "--port", str(free_port()), "--aws-port", str(free_port()),
        "--watch", str(watch), "--state", str(state),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not (real_clock and k == "BROADSHEET_NOW")}
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env | {"PYTHONUNBUFFERED": "1"},
    )
    lines: Queue[str] = Queue()
    threading.Thread(target=_read_lines, args=(process, lines), daemon=True).start()
    try:
        site = ""
        while not site:
            try:
                line = lines.get(timeout=STARTUP)
            except Empty:
                pytest.fail("`broadsheet local` did not report its site in time")
            if line.startswith(READY):
                site = line[len(READY) :].strip().rstrip("/")
        yield Running(process, site, json.loads(state.read_text()), state, watch, lines)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
