"""Embargo, expiry and drafts on the local stack, with the real clock.

The session's stack runs at a fixed clock (so its site can be compared byte for byte with the
offline build), and at a fixed clock nothing ever falls due. These tests start a stack of their
own without `BROADSHEET_NOW`, for the module, and put the process's environment back afterwards
(a stack sets its endpoint and settings process-wide). Waiting is always for a condition, polled
briefly until a deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import pytest

from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet_dev.local.runtime import LocalStack
from broadsheet_dev.local.scheduler import SchedulePoller
from tests.support import Editor, real_clock_stack
from tests.waiting import wait_for

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

# A stack of its own on the real clock: it runs in a pytest process of its own (`-m isolated`),
# never beside the session stack, since a local stack owns its process's environment.
pytestmark = [pytest.mark.integration, pytest.mark.isolated]

# How far ahead embargoes and expiries are set: long enough for ingest to see them ahead.
AHEAD = timedelta(seconds=4)


@pytest.fixture(scope="module")
def live() -> Iterator[LocalStack]:
    """A stack of this module's own, on the real clock."""
    with real_clock_stack() as stack:
        yield stack


@pytest.fixture
def editor(live: LocalStack) -> Editor:
    return Editor(live)


def doc(title: str, **fields: object) -> dict[str, object]:
    return {
        "title": title,
        "teaser": f"The teaser of {title}.",
        "authors": ["Lifecycle Desk"],
        "published_at": "2026-01-15T09:00:00Z",
        "section": "lifecycle",
        "tags": ["Timing"],
        "body": f"The body of {title}.",
    } | fields


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def schedules(stack: LocalStack) -> dict[str, str]:
    """The schedules waiting in the stack's group: name to expression."""
    client: EventBridgeSchedulerClient = boto3.client("scheduler")
    group = stack.stack.environment["BROADSHEET_SCHEDULE_GROUP"]
    names = [s.get("Name", "") for s in client.list_schedules(GroupName=group).get("Schedules", [])]
    return {name: client.get_schedule(Name=name, GroupName=group)["ScheduleExpression"] for name in names}


def index(stack: LocalStack) -> DynamoIndex:
    return DynamoIndex(boto3.client("dynamodb"), stack.stack.refs["IndexTable"])


def site_files(editor: Editor) -> dict[str, bytes]:
    """The site bucket's objects, while the pipeline may still be deleting some of them."""
    found: dict[str, bytes] = {}
    for listed in editor.s3.get_paginator("list_objects_v2").paginate(Bucket=editor.site):
        for obj in listed.get("Contents", []):
            try:
                found[obj["Key"]] = editor.s3.get_object(Bucket=editor.site, Key=obj["Key"])["Body"].read()
            except editor.s3.exceptions.NoSuchKey:
                continue
    return found


def site_keys(editor: Editor) -> set[str]:
    """The keys of the site bucket's objects."""
    pages = editor.s3.get_paginator("list_objects_v2").paginate(Bucket=editor.site)
    return {obj["Key"] for listed in pages for obj in listed.get("Contents", [])}


def mentions(editor: Editor, title: str) -> list[str]:
    """Every site object that names the title: pages, listings, feeds, sitemaps."""
    return sorted(key for key, body in site_files(editor).items() if title.encode() in body)


def fired(stack: LocalStack) -> int:
    return sum(p.fired for p in stack.pollers if isinstance(p, SchedulePoller))


def test_a_draft_is_indexed_but_never_rendered_nor_scheduled(live: LocalStack, editor: Editor) -> None:
    ahead = datetime.now(UTC) + timedelta(hours=1)
    editor.put_json(
        "articles/draft-stays-home.json",
        doc("A draft stays home", status="draft", expires_at=stamp(ahead + timedelta(days=1))),
    )
    live.wait_drained()
    held = index(live).get_article("draft-stays-home")
    assert held is not None and held.article.status == "draft"
    assert not held.live and held.listings == ()
    assert mentions(editor, "A draft stays home") == []
    assert not any(name.startswith("draft-stays-home-") for name in schedules(live))


def test_an_embargoed_article_appears_by_itself_when_its_time_comes(live: LocalStack, editor: Editor) -> None:
    key, page = "articles/embargo-lifts.json", "articles/embargo-lifts/index.html"
    before = fired(live)
    moment = datetime.now(UTC) + AHEAD
    editor.put_json(key, doc("The embargo lifts", published_at=stamp(moment)))

    # Ingest sees the moment ahead: the article is indexed, listed nowhere, and one schedule waits.
    waiting = wait_for("the publish schedule", lambda: schedules(live).get("embargo-lifts-publish", ""), 10)
    assert waiting.startswith("at(")
    assert datetime.now(UTC) < moment, "ingest was too slow to see the embargo ahead"
    assert page not in site_keys(editor)
    held = index(live).get_article("embargo-lifts")
    assert held is not None and not held.live

    wait_for("the article page", lambda: page in site_keys(editor))
    assert datetime.now(UTC) >= moment
    wait_for(
        "the home page, section, tag, author and feed to list it",
        lambda: (
            {"index.html", "sections/lifecycle/index.html", "tags/timing/index.html", "feed.xml"}
            <= set(mentions(editor, "The embargo lifts"))
        ),
    )
    live.wait_drained()
    assert fired(live) > before
    assert "embargo-lifts-publish" not in schedules(live)


def test_an_expiring_article_leaves_every_listing_and_its_page_is_deleted(
    live: LocalStack, editor: Editor
) -> None:
    key, page = "articles/expiry-ends-it.json", "articles/expiry-ends-it/index.html"
    moment = datetime.now(UTC) + AHEAD
    editor.put_json(key, doc("The expiry ends it", expires_at=stamp(moment)))

    wait_for("the expire schedule", lambda: "expiry-ends-it-expire" in schedules(live), 10)
    assert datetime.now(UTC) < moment, "ingest was too slow to see the expiry ahead"
    wait_for("the article page", lambda: page in site_keys(editor))

    wait_for("every mention to go", lambda: not mentions(editor, "The expiry ends it"))
    assert datetime.now(UTC) >= moment
    live.wait_drained()
    assert page not in site_keys(editor)
    held = index(live).get_article("expiry-ends-it")
    assert held is not None and not held.live and held.listings == ()
    assert "expiry-ends-it-expire" not in schedules(live)


def test_deleting_an_embargoed_article_cancels_its_schedules(live: LocalStack, editor: Editor) -> None:
    key = "articles/embargo-withdrawn.json"
    moment = datetime.now(UTC) + timedelta(hours=1)
    editor.put_json(key, doc("The embargo is withdrawn", published_at=stamp(moment)))
    live.wait_drained()
    assert set(schedules(live)) >= {"embargo-withdrawn-publish"}

    editor.delete(key)
    live.wait_drained()
    assert not any(name.startswith("embargo-withdrawn-") for name in schedules(live))
    assert index(live).get_article("embargo-withdrawn") is None
    assert mentions(editor, "The embargo is withdrawn") == []


def test_moving_an_embargo_moves_its_schedule(live: LocalStack, editor: Editor) -> None:
    key = "articles/embargo-moved.json"
    first = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    editor.put_json(key, doc("The embargo moves", published_at=stamp(first)))
    live.wait_drained()
    later = first + timedelta(days=2)
    editor.put_json(key, doc("The embargo moves", published_at=stamp(later)))
    live.wait_drained()
    assert schedules(live)["embargo-moved-publish"] == f"at({later:%Y-%m-%dT%H:%M:%S})"
    # Publishing it at once (a time in the past) leaves nothing waiting.
    editor.put_json(key, doc("The embargo moves"))
    live.wait_drained()
    assert "embargo-moved-publish" not in schedules(live)
    assert "articles/embargo-moved/index.html" in site_keys(editor)


def front_of(editor: Editor, key: str) -> str:
    """The curated top of a front page (empty if it has none or the page is missing)."""
    body = site_files(editor).get(key, b"").decode()
    start = body.find('<section class="front"')
    return body[start : body.index("</section>", start)] if start >= 0 else ""


def test_a_pinned_story_leads_the_fronts_until_its_pin_lifts(live: LocalStack, editor: Editor) -> None:
    key, title = "articles/pinned-lead.json", "The pinned lead"
    moment = datetime.now(UTC) + AHEAD
    editor.put_json(key, doc(title, featured="lead", pinned_until=stamp(moment)))

    wait_for("the unpin schedule", lambda: "pinned-lead-unpin" in schedules(live), 10)
    assert datetime.now(UTC) < moment, "ingest was too slow to see the pin ahead"
    fronts = ("index.html", "sections/lifecycle/index.html")
    wait_for("the lead on both fronts", lambda: all(title in front_of(editor, f) for f in fronts))
    assert 'class="lead-story"' in front_of(editor, "index.html")
    article = site_files(editor)["articles/pinned-lead/index.html"]

    wait_for(
        "the pin to lift from both fronts", lambda: not any(title in front_of(editor, f) for f in fronts)
    )
    assert datetime.now(UTC) >= moment
    live.wait_drained()
    files = site_files(editor)
    # Still listed in the river below, and its own page was left as it was.
    assert title in files["index.html"].decode()
    assert files["articles/pinned-lead/index.html"] == article
    held = index(live).get_article("pinned-lead")
    assert held is not None and not any(x.startswith("pinned:") for x in held.listings)
    assert "pinned-lead-unpin" not in schedules(live)
