"""Embargo and expiry schedules: their names, their times, which ones an article needs at a given
clock, how ingest keeps them in line, and what the EventBridge Scheduler adapter asks of the API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from broadsheet.adapters.scheduler import EventBridgeScheduler, scheduler_for
from broadsheet.errors import TransientError
from broadsheet.ingest import Outcome, ingest_key
from broadsheet.schedule import (
    MAX_NAME,
    Moment,
    NoScheduler,
    Schedules,
    at_expression,
    moments_ahead,
    parse_at,
    schedule_name,
)
from broadsheet.settings import Settings
from broadsheet_dev.local.scheduler import Schedule, due

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

from tests.unit.fakes import FakeContentStore, FakeIndex, article_bytes, make_article

KEY_A = "articles/kerry-putin.json"
NAME_RE = re.compile(r"[0-9a-zA-Z\-_.]+")
GROUP = "articles"
ROLE = "arn:aws:iam::123456789012:role/scheduler"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:ingest"


@dataclass
class FakeScheduler:
    """The schedules that exist, by name, as EventBridge Scheduler would hold them."""

    held: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def ensure(self, name: str, at: datetime, message: str) -> None:
        self.calls.append(("ensure", name))
        self.held[name] = (at, message)

    def cancel(self, name: str) -> None:
        self.calls.append(("cancel", name))
        self.held.pop(name, None)


@pytest.fixture
def scheduler() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def schedules(scheduler: FakeScheduler) -> Schedules:
    return Schedules(scheduler, lambda key: f"notify {key}")


def ingest(
    content: FakeContentStore, index: FakeIndex, now: datetime, schedules: Schedules, **changes: object
) -> Outcome:
    content.upload(KEY_A, article_bytes("kerry-putin", **changes))
    return ingest_key(KEY_A, content, index, now, schedules).outcome


# ---------------------------------------------------------------- names and times


def test_a_slug_names_its_schedules_plainly() -> None:
    assert schedule_name("kerry-putin", Moment.PUBLISH) == "kerry-putin-publish"
    assert schedule_name("kerry-putin", Moment.EXPIRE) == "kerry-putin-expire"


def test_a_long_slug_is_shortened_with_its_hash_within_the_limit() -> None:
    slug = "-".join(["word"] * 24)  # 119 characters, within the 120 a slug may have
    other = slug[:-4] + "wore"
    names = {schedule_name(s, m) for s in (slug, other) for m in Moment}
    assert len(names) == 2 * len(Moment)
    for name in names:
        assert len(name) <= MAX_NAME and NAME_RE.fullmatch(name)
        assert name.startswith("word-word-") and "--" not in name
    assert schedule_name(slug, Moment.PUBLISH).endswith("-publish")
    assert schedule_name(slug, Moment.PUBLISH) == schedule_name(slug, Moment.PUBLISH)
    longest_plain = "a" * (MAX_NAME - len("-publish"))
    assert schedule_name(longest_plain, Moment.PUBLISH) == f"{longest_plain}-publish"


def test_at_expressions_are_in_utc_and_never_early() -> None:
    moscow = timezone(timedelta(hours=3))
    assert at_expression(datetime(2026, 12, 1, 9, 30, tzinfo=moscow)) == "at(2026-12-01T06:30:00)"
    # A fraction of a second rounds up: firing before the moment would find the article embargoed.
    assert at_expression(datetime(2026, 12, 31, 23, 59, 59, 1, tzinfo=UTC)) == "at(2027-01-01T00:00:00)"


def test_an_at_expression_reads_back_as_its_time() -> None:
    when = datetime(2026, 12, 1, 6, 30, 15, tzinfo=UTC)
    assert parse_at(at_expression(when)) == when
    assert parse_at("rate(5 minutes)") is None
    assert parse_at("cron(0 12 * * ? *)") is None
    assert parse_at("at(tomorrow)") is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {}),
        ({"published_at": "2026-01-01T00:00:00Z"}, {}),
        ({"published_at": "2026-01-01T00:00:01Z"}, {Moment.PUBLISH: "2026-01-01T00:00:01+00:00"}),
        (
            {"published_at": "2026-01-02T03:00:00+03:00", "expires_at": "2026-02-01T00:00:00Z"},
            {Moment.PUBLISH: "2026-01-02T00:00:00+00:00", Moment.EXPIRE: "2026-02-01T00:00:00+00:00"},
        ),
        ({"expires_at": "2026-02-01T00:00:00Z"}, {Moment.EXPIRE: "2026-02-01T00:00:00+00:00"}),
        ({"expires_at": "2026-01-01T00:00:00Z"}, {}),
        ({"published_at": "2026-01-02T00:00:00Z", "status": "draft"}, {}),
        ({"expires_at": "2026-02-01T00:00:00Z", "status": "draft"}, {}),
    ],
    ids=[
        "live",
        "published-now",
        "embargoed",
        "embargoed-then-expiring",
        "live-then-expiring",
        "expired-now",
        "embargoed-draft",
        "expiring-draft",
    ],
)
def test_an_article_needs_a_schedule_for_each_change_still_ahead(
    now: datetime, changes: dict[str, str], expected: dict[Moment, str]
) -> None:
    article = make_article("kerry-putin", **changes)
    assert {m: at.astimezone(UTC).isoformat() for m, at in moments_ahead(article, now).items()} == expected


def test_a_missing_article_needs_no_schedule(now: datetime) -> None:
    assert moments_ahead(None, now) == {}


# ---------------------------------------------------------------- ingest keeps them in line


def test_an_embargoed_article_is_scheduled_to_be_ingested_again_when_due(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    embargo = now + timedelta(hours=1)
    assert ingest(content, index, now, schedules, published_at=embargo.isoformat()) is Outcome.PUBLISHED
    assert scheduler.held == {"kerry-putin-publish": (embargo, f"notify {KEY_A}")}
    # The schedule fires: the same key, read at its time, is live and needs nothing more.
    result = ingest_key(KEY_A, content, index, embargo, schedules)
    assert result.outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    assert held is not None and held.live
    assert scheduler.held == {} and result.scheduled == {}


def test_an_expiring_article_keeps_its_expiry_after_it_goes_live(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    embargo, expiry = now + timedelta(hours=1), now + timedelta(days=7)
    ingest(content, index, now, schedules, published_at=embargo.isoformat(), expires_at=expiry.isoformat())
    assert set(scheduler.held) == {"kerry-putin-publish", "kerry-putin-expire"}
    result = ingest_key(KEY_A, content, index, embargo, schedules)
    assert scheduler.held == {"kerry-putin-expire": (expiry, f"notify {KEY_A}")}
    assert result.scheduled == {"kerry-putin-expire": expiry}
    assert ingest_key(KEY_A, content, index, expiry, schedules).outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    assert held is not None and not held.live and index.count("home") == 0
    assert scheduler.held == {}


def test_moving_the_embargo_moves_the_schedule(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    ingest(content, index, now, schedules, published_at=(now + timedelta(hours=1)).isoformat())
    later = now + timedelta(hours=5)
    ingest(content, index, now, schedules, published_at=later.isoformat())
    assert scheduler.held == {"kerry-putin-publish": (later, f"notify {KEY_A}")}
    ingest(content, index, now, schedules, published_at=(now - timedelta(hours=1)).isoformat())
    assert scheduler.held == {}


def test_deleting_an_embargoed_article_cancels_its_schedules(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    ingest(
        content,
        index,
        now,
        schedules,
        published_at=(now + timedelta(hours=1)).isoformat(),
        expires_at=(now + timedelta(days=1)).isoformat(),
    )
    content.remove(KEY_A)
    assert ingest_key(KEY_A, content, index, now, schedules).outcome is Outcome.UNPUBLISHED
    assert scheduler.held == {}
    # A late duplicate of the delete finds nothing and still leaves nothing behind.
    assert ingest_key(KEY_A, content, index, now, schedules).outcome is Outcome.ABSENT
    assert scheduler.held == {}


def test_a_draft_is_never_scheduled(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    ingest(content, index, now, schedules, published_at=(now + timedelta(hours=1)).isoformat())
    ingest(
        content, index, now, schedules, published_at=(now + timedelta(hours=1)).isoformat(), status="draft"
    )
    assert scheduler.held == {}


def test_a_rejected_upload_leaves_the_good_versions_schedules(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    ingest(content, index, now, schedules, published_at=(now + timedelta(hours=1)).isoformat())
    before = dict(scheduler.held)
    scheduler.calls.clear()
    content.upload(KEY_A, b'{"title": "no closing brace"')
    assert ingest_key(KEY_A, content, index, now, schedules).outcome is Outcome.REJECTED
    assert scheduler.held == before and scheduler.calls == []


def test_author_profiles_have_no_schedules(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    content.upload("authors/anna-writer.json", b'{"name": "Anna Writer", "bio": "Writes."}')
    assert ingest_key("authors/anna-writer.json", content, index, now, schedules).outcome is Outcome.PUBLISHED
    assert scheduler.calls == []


def test_an_upload_landing_during_ingest_leaves_the_schedules_of_the_newer_version(
    content: FakeContentStore, index: FakeIndex, now: datetime, scheduler: FakeScheduler, schedules: Schedules
) -> None:
    content.upload(KEY_A, article_bytes("kerry-putin"))

    def editor_embargoes_it(key: str) -> None:
        content.after_get = None
        content.upload(key, article_bytes("kerry-putin", published_at=(now + timedelta(hours=1)).isoformat()))

    # The first round reads the live version and cancels; the newer, embargoed one wins the second.
    content.after_get = editor_embargoes_it
    assert ingest_key(KEY_A, content, index, now, schedules).outcome is Outcome.PUBLISHED
    assert set(scheduler.held) == {"kerry-putin-publish"}
    assert scheduler.calls[-3:] == [
        ("ensure", "kerry-putin-publish"),
        ("cancel", "kerry-putin-expire"),
        ("cancel", "kerry-putin-unpin"),
    ]


def test_the_offline_build_schedules_nothing_but_knows_what_would_be(now: datetime) -> None:
    embargoed = make_article("kerry-putin", published_at="2027-01-01T00:00:00Z")
    kept = Schedules(NoScheduler(), str).sync(KEY_A, "kerry-putin", embargoed, now)
    assert kept == {"kerry-putin-publish": datetime(2027, 1, 1, tzinfo=UTC)}


# ---------------------------------------------------------------- the EventBridge Scheduler adapter


@pytest.fixture
def stubbed() -> Iterator[tuple[EventBridgeScheduler, Stubber]]:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    client = session.client("scheduler")
    with Stubber(client) as stubber:
        yield EventBridgeScheduler(client, group=GROUP, role_arn=ROLE, queue_arn=QUEUE), stubber
        stubber.assert_no_pending_responses()


WHEN = datetime(2026, 12, 1, 9, 30, 0, 250000, tzinfo=timezone(timedelta(hours=3)))
REQUEST: dict[str, Any] = {
    "Name": "kerry-putin-publish",
    "GroupName": GROUP,
    "ScheduleExpression": "at(2026-12-01T06:30:01)",
    "ScheduleExpressionTimezone": "UTC",
    "FlexibleTimeWindow": {"Mode": "OFF"},
    "Target": {"Arn": QUEUE, "RoleArn": ROLE, "Input": '{"Records": []}'},
    "ActionAfterCompletion": "DELETE",
    "State": "ENABLED",
    "Description": "Ingest again at 2026-12-01T06:30:00.250000+00:00",
}
NAME = "kerry-putin-publish"
ARN = {"ScheduleArn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/kerry-putin-publish"}


def test_ensure_creates_a_one_time_schedule_that_sends_to_the_ingest_queue_and_deletes_itself(
    stubbed: tuple[EventBridgeScheduler, Stubber],
) -> None:
    adapter, stubber = stubbed
    stubber.add_response("create_schedule", ARN, REQUEST)
    adapter.ensure("kerry-putin-publish", WHEN, '{"Records": []}')


def test_ensure_updates_a_schedule_that_exists(stubbed: tuple[EventBridgeScheduler, Stubber]) -> None:
    adapter, stubber = stubbed
    stubber.add_client_error("create_schedule", "ConflictException", expected_params=REQUEST)
    stubber.add_response("update_schedule", ARN, REQUEST)
    adapter.ensure("kerry-putin-publish", WHEN, '{"Records": []}')


def test_ensure_creates_again_when_the_schedule_ran_meanwhile(
    stubbed: tuple[EventBridgeScheduler, Stubber],
) -> None:
    adapter, stubber = stubbed
    stubber.add_client_error("create_schedule", "ConflictException", expected_params=REQUEST)
    stubber.add_client_error("update_schedule", "ResourceNotFoundException", http_status_code=404)
    stubber.add_response("create_schedule", ARN, REQUEST)
    adapter.ensure("kerry-putin-publish", WHEN, '{"Records": []}')


def test_cancel_deletes_and_a_schedule_already_gone_is_fine(
    stubbed: tuple[EventBridgeScheduler, Stubber],
) -> None:
    adapter, stubber = stubbed
    expected = {"Name": "kerry-putin-expire", "GroupName": GROUP}
    stubber.add_response("delete_schedule", {}, expected)
    stubber.add_client_error("delete_schedule", "ResourceNotFoundException", http_status_code=404)
    adapter.cancel("kerry-putin-expire")
    adapter.cancel("kerry-putin-expire")


def ensure(adapter: EventBridgeScheduler) -> None:
    adapter.ensure(NAME, WHEN, '{"Records": []}')


def cancel(adapter: EventBridgeScheduler) -> None:
    adapter.cancel(NAME)


@pytest.mark.parametrize(
    ("operation", "code", "call"),
    [
        ("create_schedule", "ThrottlingException", ensure),
        # A moment that passed while it was being scheduled: the retry will find the article live.
        ("create_schedule", "ValidationException", ensure),
        ("update_schedule", "InternalServerException", ensure),
        ("delete_schedule", "InternalServerException", cancel),
    ],
)
def test_other_failures_are_transient(
    stubbed: tuple[EventBridgeScheduler, Stubber],
    operation: str,
    code: str,
    call: Callable[[EventBridgeScheduler], None],
) -> None:
    adapter, stubber = stubbed
    if operation == "update_schedule":
        stubber.add_client_error("create_schedule", "ConflictException")
    stubber.add_client_error(operation, code, http_status_code=400)
    with pytest.raises(TransientError):
        call(adapter)


def test_services_schedule_only_where_a_group_is_configured() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    created: list[str] = []

    def client() -> EventBridgeSchedulerClient:
        created.append("scheduler")
        return session.client("scheduler")

    # Explicit values: a local stack in the same process sets BROADSHEET_* variables.
    assert isinstance(scheduler_for(Settings(schedule_group=""), client), NoScheduler)
    assert created == []  # no client is made for a deployment without schedules
    configured = Settings(schedule_group=GROUP, scheduler_role_arn=ROLE, ingest_queue_arn=QUEUE)
    assert isinstance(scheduler_for(configured, client), EventBridgeScheduler)
    with pytest.raises(ValueError, match="role ARN"):
        scheduler_for(Settings(schedule_group=GROUP, scheduler_role_arn=""), client)


# ---------------------------------------------------------------- the local stack's scheduler


def local(name: str, expression: str, *, enabled: bool = True) -> Schedule:
    modified = datetime(2026, 1, 1, tzinfo=UTC)
    return Schedule(name, modified, parse_at(expression), QUEUE, "{}", delete_after=True, enabled=enabled)


def test_the_local_scheduler_runs_what_is_due_and_waits_for_the_next(now: datetime) -> None:
    schedules = [
        local("later", "at(2026-01-01T00:00:30)"),
        local("soon", "at(2026-01-01T00:00:05)"),
        local("past", "at(2025-12-31T23:00:00)"),
        local("now", "at(2026-01-01T00:00:00)"),
        local("off", "at(2025-12-31T00:00:00)", enabled=False),
        local("recurring", "rate(5 minutes)"),
    ]
    ready, upcoming = due(schedules, now)
    assert [s.name for s in ready] == ["past", "now"]
    assert upcoming == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    assert due([local("later", "at(2026-01-01T00:00:30)")], now)[0] == []
    assert due([], now) == ([], None)
