"""An article scheduled twenty seconds ahead, saved into `broadsheet local`'s folder, appears on the
home page by itself when its time comes — and not before. The command runs on the real clock."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import pytest

from broadsheet_dev.local.stack import SCHEDULE_GROUP
from tests.e2e.local_command import Running, local_command
from tests.waiting import wait_for

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

pytestmark = [pytest.mark.e2e]

# How often the site is looked at again while waiting.
POLL = 0.5
# How long after its moment the article may take to reach the home page.
SETTLE = 30.0


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    # The real clock: another tier's fixed clock must not leak into the command.
    with local_command(tmp_path_factory.mktemp("scheduled"), real_clock=True) as started:
        yield started


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


def test_an_article_scheduled_ahead_appears_on_the_home_page_by_itself(running: Running) -> None:
    title = "Scheduled twenty seconds ahead"
    # The file states its time to the second: that second is when it may go live.
    # Far enough ahead for ingest to find it embargoed; near enough not to keep a worker waiting.
    moment = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)
    doc = {
        "title": title,
        "teaser": "Saved now, published twenty seconds later, by nobody.",
        "authors": ["Gevorg Mirzayan"],
        "published_at": moment.isoformat(timespec="seconds"),
        "body": "Written ahead of time.",
    }
    (running.watch / "articles" / "scheduled-ahead.json").write_text(json.dumps(doc))

    # Ingest sees the embargo: one schedule waits, and readers see nothing yet.
    wait_for("the schedule", lambda: "scheduled-ahead-publish" in waiting_schedules(running), 10)
    assert fetch(running.site + "/articles/scheduled-ahead/")[0] == 404

    # Nobody touches anything again; the home page shows it once its minute has passed.
    def on_home_page() -> bool:
        status, home = fetch(running.site + "/")
        assert status == 200
        return title.encode() in home

    settled = moment + timedelta(seconds=SETTLE)
    wait_for("the home page", on_home_page, (settled - datetime.now(UTC)).total_seconds(), poll=POLL)
    # Checked after the page was read: it can only have been published at or after its moment.
    assert datetime.now(UTC) >= moment, "published before its time"
    status, page = fetch(running.site + "/articles/scheduled-ahead/")
    assert status == 200 and title.encode() in page
    assert "scheduled-ahead-publish" not in waiting_schedules(running)
