"""An article scheduled one minute ahead, saved into `broadsheet local`'s folder, appears on the
home page by itself when its time comes — and not before. The command runs on the real clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty, Queue
from typing import TYPE_CHECKING

import boto3
import pytest

from broadsheet_dev.local.stack import SCHEDULE_GROUP, free_port
from tests.support import ROOT

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

pytestmark = [pytest.mark.e2e]

READY = "The site is at "
# How often the site is looked at again while waiting.
POLL = 0.5
# How long after its moment the article may take to reach the home page.
SETTLE = 30.0


@dataclass
class Running:
    """A `broadsheet local` process: its site, its moto endpoint and the folder it watches."""

    process: subprocess.Popen[str]
    site: str
    endpoint: str
    watch: Path


def _read_lines(process: subprocess.Popen[str], into: Queue[str]) -> None:
    for line in process.stdout or ():
        into.put(line)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("scheduled")
    watch, state = folder / "content", folder / "stack.json"
    command = [
        str(Path(sys.executable).with_name("broadsheet")), "local",
        "--port", str(free_port()), "--aws-port", str(free_port()),
        "--watch", str(watch), "--state", str(state),
    ]  # fmt: skip
    # The real clock: another tier's fixed clock must not leak into the command.
    env = {k: v for k, v in os.environ.items() if k != "BROADSHEET_NOW"} | {"PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines: Queue[str] = Queue()
    threading.Thread(target=_read_lines, args=(process, lines), daemon=True).start()
    site, deadline = "", time.monotonic() + 240
    while not site:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            process.kill()
            pytest.fail("`broadsheet local` did not report its site in time")
        if line.startswith(READY):
            site = line[len(READY) :].strip().rstrip("/")
    endpoint = str(json.loads(state.read_text())["endpoint"])
    try:
        yield Running(process, site, endpoint, watch)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def waiting_schedules(running: Running) -> list[str]:
    client: EventBridgeSchedulerClient = boto3.client(
        "scheduler",
        endpoint_url=running.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return [s.get("Name", "") for s in client.list_schedules(GroupName=SCHEDULE_GROUP).get("Schedules", [])]


def test_an_article_scheduled_a_minute_ahead_appears_on_the_home_page_by_itself(running: Running) -> None:
    title = "Scheduled one minute ahead"
    # The file states its time to the second: that second is when it may go live.
    moment = (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0)
    doc = {
        "title": title,
        "teaser": "Saved now, published in a minute, by nobody.",
        "authors": ["Gevorg Mirzayan"],
        "published_at": moment.isoformat(timespec="seconds"),
        "body": "Written ahead of time.",
    }
    (running.watch / "articles" / "scheduled-one-minute-ahead.json").write_text(json.dumps(doc))

    # Ingest sees the embargo: one schedule waits, and readers see nothing yet.
    deadline = time.monotonic() + 20
    while "scheduled-one-minute-ahead-publish" not in waiting_schedules(running):
        assert time.monotonic() < deadline, "no schedule was made for the embargoed article"
        time.sleep(POLL)
    assert fetch(running.site + "/articles/scheduled-one-minute-ahead/")[0] == 404

    # Nobody touches anything again; the home page shows it once its minute has passed.
    settled = moment + timedelta(seconds=SETTLE)
    while True:
        status, home = fetch(running.site + "/")
        seen = title.encode() in home
        if seen:
            break
        assert status == 200
        assert datetime.now(UTC) < settled, f"not on the home page {SETTLE}s after its time"
        time.sleep(POLL)
    # Checked after the page was read: it can only have been published at or after its moment.
    assert datetime.now(UTC) >= moment, "published before its time"
    status, page = fetch(running.site + "/articles/scheduled-one-minute-ahead/")
    assert status == 200 and title.encode() in page
    assert "scheduled-one-minute-ahead-publish" not in waiting_schedules(running)
