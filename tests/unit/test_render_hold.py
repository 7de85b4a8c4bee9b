"""Listings' render requests wait out a burst of uploads; an editor's lone change never waits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from broadsheet.adapters.folder import DirSiteStore
from broadsheet.errors import TransientError
from broadsheet.runtime.render import RenderRequest, hold_seconds, render_batch, render_request
from broadsheet.settings import Settings
from broadsheet.site import Change, Stored
from tests.unit.test_render_batch import render_services

CONFIG = Settings()


@dataclass
class Queue:
    """The render queue's holds, as a list; the ingest queue's depth, as a number."""

    depth_now: int = 0
    held: list[tuple[list[str], int]] = field(default_factory=list)
    asked: int = 0
    refuse: bool = False

    def hold(self, receipts: list[str], seconds: int) -> None:
        if self.refuse:
            raise TransientError("refused")
        self.held.append((receipts, seconds))

    def depth(self) -> int:
        self.asked += 1
        return self.depth_now


def first(page_id: str, receipt: str, behind: int = 0) -> RenderRequest:
    return RenderRequest(page_id, 1_000, receipt=receipt, first_delivery=True, behind=behind)


def test_no_backlog_and_no_lag_is_no_burst() -> None:
    assert hold_seconds(0, 0, CONFIG) is None
    assert hold_seconds(CONFIG.hold_backlog - 1, CONFIG.hold_behind_seconds - 1, CONFIG) is None


def test_a_hold_grows_with_the_backlog_within_bounds() -> None:
    assert hold_seconds(CONFIG.hold_backlog, 0, CONFIG) == CONFIG.hold_min_seconds
    assert hold_seconds(300, 0, CONFIG) == 60
    assert hold_seconds(100_000, 0, CONFIG) == CONFIG.hold_max_seconds
    assert hold_seconds(0, 30, CONFIG) == 30


def test_listings_are_held_during_a_burst_and_article_pages_are_not(tmp_path: Path) -> None:
    queue = Queue(depth_now=500)
    svc = replace(render_services(DirSiteStore(tmp_path)), held=queue, backlog=queue)
    requests = [
        first("home:0", "r1"),
        first("home:0", "r2"),
        first("feed:home:atom", "r3"),
        first("404", "r4"),
        first("sitemap-index", "r5"),
        first("article:some-story", "r6"),
    ]
    outcome = render_batch(requests, svc)
    assert outcome.held == {"home:0": 100, "feed:home:atom": 100, "sitemap-index": 100}
    assert queue.held == [(["r1", "r2", "r3", "r5"], 100)]
    assert queue.asked == 1
    # The fixed page and the article's own page were rendered (published) now.
    assert "404" in outcome.published
    assert "article:some-story" in outcome.published


def test_a_lone_change_is_rendered_at_once_and_asks_the_queue_once(tmp_path: Path) -> None:
    queue = Queue(depth_now=1)
    svc = replace(render_services(DirSiteStore(tmp_path)), held=queue, backlog=queue)
    outcome = render_batch([first("home:0", "r1"), first("feed:home:atom", "r2")], svc)
    assert outcome.held == {}
    assert queue.held == []
    assert queue.asked == 1
    assert set(outcome.published) == {"home:0", "feed:home:atom"}


def test_a_request_delivered_a_third_time_is_always_rendered(tmp_path: Path) -> None:
    queue = Queue(depth_now=10_000)
    svc = replace(render_services(DirSiteStore(tmp_path)), held=queue, backlog=queue)
    third = RenderRequest("home:0", 1_000, receipt="r1")
    outcome = render_batch([third, first("home:0", "r2")], svc)
    assert outcome.held == {}
    assert queue.asked == 0
    assert "home:0" in outcome.published


def test_a_request_back_from_its_hold_settles_once_more_even_when_the_burst_is_over(tmp_path: Path) -> None:
    # The burst's last files may have been ingested a moment ago: the page's one render must come
    # after their index changes, so the request waits the shortest hold once more.
    queue = Queue(depth_now=0)
    svc = replace(render_services(DirSiteStore(tmp_path)), held=queue, backlog=queue)
    back = RenderRequest("home:0", 1_000, receipt="r1", second_delivery=True)
    outcome = render_batch([back, first("home:0", "r2"), first("article:a", "r3")], svc)
    assert outcome.held == {"home:0": CONFIG.hold_min_seconds}
    assert queue.held == [(["r1", "r2"], CONFIG.hold_min_seconds)]
    # While files are still queued, it settles for about as long as they should take.
    queue = Queue(depth_now=250)
    svc = replace(svc, held=queue, backlog=queue)
    assert render_batch([back], svc).held == {"home:0": 100}


def test_a_refused_hold_renders_instead(tmp_path: Path) -> None:
    queue = Queue(depth_now=10_000, refuse=True)
    svc = replace(render_services(DirSiteStore(tmp_path)), held=queue, backlog=queue)
    outcome = render_batch([first("home:0", "r1")], svc)
    assert outcome.held == {}
    assert "home:0" in outcome.published


def test_held_records_are_reported_not_done_and_the_rest_answered(tmp_path: Path) -> None:
    queue = Queue(depth_now=500)
    svc = replace(render_services(DirSiteStore(tmp_path)), held=queue, backlog=queue)
    records = [
        {"messageId": "a", "receiptHandle": "r1", "body": '{"page":"home:0"}',
         "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1000"}},
        {"messageId": "b", "receiptHandle": "r2", "body": '{"page":"404"}',
         "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1000"}},
    ]  # fmt: skip
    outcome = render_batch([render_request(r) for r in records], svc)
    answered: list[list[str]] = []

    def answer(event: dict[str, object]) -> dict[str, list[dict[str, str]]]:
        answered.append([r["messageId"] for r in event["Records"]])  # type: ignore[attr-defined]
        return {"batchItemFailures": []}

    response = outcome.respond({"Records": records}, answer)  # type: ignore[arg-type]
    assert answered == [["b"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": "a"}]}


def test_a_request_stands_for_the_time_of_its_change_when_the_planner_ran_behind() -> None:
    record = {
        "messageId": "a",
        "receiptHandle": "r",
        "body": '{"page":"home:0","changed":1000}',
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1030000"},
    }
    request = render_request(record)
    assert request.sent_at == 1_001_000
    assert request.behind == 30
    assert request.first_delivery and not request.second_delivery
    back = render_request(
        record | {"attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1030000"}}
    )
    assert back.second_delivery and not back.first_delivery


class CountingStore(DirSiteStore):
    """A folder store that counts how often a stored page is looked at, and says each was
    rendered at 10 s past the epoch (as S3's metadata would; a folder keeps no render times)."""

    looked = 0

    def stored(self, key: str) -> Stored | None:
        self.looked += 1
        found = super().stored(key)
        return None if found is None else replace(found, rendered_at=10_000)


def test_during_a_burst_a_page_already_answering_is_acknowledged_after_one_look(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    queue = Queue(depth_now=500)
    svc = replace(render_services(store), held=queue, backlog=queue)
    # Rendered after the requests were sent (at 1,000 ms): the stored page answers them.
    rendered = render_batch([RenderRequest("home:0", None)], svc)
    assert rendered.published["home:0"].change is Change.WRITTEN
    store.looked = 0
    outcome = render_batch([first("home:0", "r1"), first("home:0", "r2")], svc)
    assert outcome.published["home:0"].change is Change.COALESCED
    assert outcome.held == {} and queue.held == []
    assert store.looked == 1
