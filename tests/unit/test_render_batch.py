"""A render batch publishes its distinct pages side by side; what one page raises is its own."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet.adapters.cloudfront import NoInvalidation
from broadsheet.adapters.folder import DirSiteStore
from broadsheet.clock import now
from broadsheet.errors import TransientError
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import STATIC_PAGES, STYLESHEET
from broadsheet.render.templating import HTML, HTML_CACHE, Output
from broadsheet.runtime.render import (
    RenderRequest,
    RenderServices,
    newest_requests,
    render_batch,
    render_request,
)
from broadsheet.settings import Settings
from broadsheet.site import Change, SiteStore
from tests.unit.fakes import MemoryAliases


class FailingStore(DirSiteStore):
    """A site folder whose writes of one key fail, and which records the threads that wrote."""

    def __init__(self, root: Path, failing: str) -> None:
        super().__init__(root)
        self.failing = failing
        self.threads: set[str] = set()

    def put(self, output: Output, rendered_at: int | None = None) -> None:
        self.threads.add(threading.current_thread().name)
        if output.key == self.failing:
            raise TransientError(f"site write failed for {output.key}")
        super().put(output, rendered_at)


@dataclass
class Requests:
    """The render queue, as a list of what was sent."""

    sent: list[str] = field(default_factory=list)

    def send(self, page_ids: list[str], cause: str, changed: int | None = None) -> None:
        self.sent += page_ids


def render_services(site: SiteStore, queue: Requests | None = None) -> RenderServices:
    """Render services over an empty in-memory index and a site folder."""
    config = Settings()
    return RenderServices(
        settings=config,
        index=MemoryIndex(now(config)),
        site=site,
        render_queue=queue or Requests(),
        invalidator=NoInvalidation(),
        aliases=MemoryAliases(),
    )


def record(page_id: str, message_id: str = "1") -> SQSRecord:
    """An SQS record asking for one page."""
    return SQSRecord({"messageId": message_id, "body": f'{{"page":"{page_id}"}}', "attributes": {}})


def test_a_batch_publishes_its_pages_on_threads_and_a_failure_stays_with_its_page(tmp_path: Path) -> None:
    store = FailingStore(tmp_path, failing="404.html")
    ids = [page.id for page in STATIC_PAGES]
    outcome = render_batch([RenderRequest(i) for i in [*ids, ids[0]]], render_services(store))
    assert set(outcome.failed) == {STATIC_PAGES[0].id}
    assert sorted(outcome.published) == sorted(ids[1:])
    assert outcome.published[STYLESHEET.id].change is Change.WRITTEN
    assert "404.html" not in store.list_keys()
    assert threading.current_thread().name not in store.threads


def test_each_record_is_answered_by_its_own_page(tmp_path: Path) -> None:
    store = FailingStore(tmp_path, failing="404.html")
    ids = [page.id for page in STATIC_PAGES]
    outcome = render_batch([RenderRequest(i) for i in ids], render_services(store))
    outcome.answer(record(STYLESHEET.id))
    failure = None
    try:
        outcome.answer(record(STATIC_PAGES[0].id))
    except TransientError as exc:
        failure = exc
    assert failure is outcome.failed[STATIC_PAGES[0].id]


def test_an_unknown_page_is_dropped_and_a_single_page_rendered_in_the_caller(tmp_path: Path) -> None:
    store = FailingStore(tmp_path, failing="")
    outcome = render_batch(
        [RenderRequest(STYLESHEET.id), RenderRequest("no-such-kind:x")], render_services(store)
    )
    assert list(outcome.published) == [STYLESHEET.id]
    assert outcome.failed == {}
    assert store.threads == {threading.current_thread().name}
    outcome.answer(record("no-such-kind:x"))


def test_one_render_of_a_page_must_answer_the_newest_of_its_requests() -> None:
    requests = [
        RenderRequest("home:0", 1_000),
        RenderRequest("home:0", 3_000),
        RenderRequest("home:0", 2_000),
    ]
    requests += [RenderRequest("404", 5_000), RenderRequest("404", None), RenderRequest("404", 7_000)]
    assert newest_requests(requests) == {"home:0": 3_000, "404": None}


def test_a_request_carries_the_time_sqs_received_it() -> None:
    message = {"body": '{"page":"home:0"}', "attributes": {"SentTimestamp": "1764504000123"}}
    assert render_request(message) == RenderRequest("home:0", 1764504000123)
    assert render_request({"body": '{"page":"home:0"}', "attributes": {}}) == RenderRequest("home:0", None)


def test_a_listing_page_that_empties_asks_for_the_stored_pages_past_it(tmp_path: Path) -> None:
    store = DirSiteStore(tmp_path)
    # Pages 2 to 4 of the home listing were published when the site had more articles; all of
    # them left at once, and the planner asked only for page 2 (the page past the new end).
    for number in (2, 3, 4):
        store.put(Output(f"page/{number}/index.html", b"<p>old</p>", HTML, HTML_CACHE))
    queue = Requests()
    svc = render_services(store, queue)
    render_batch([RenderRequest("home:2")], svc)
    assert "page/2/index.html" not in store.list_keys()
    assert queue.sent == ["home:3", "home:4"]
    # Rendered in turn, each is deleted and asks for nothing more.
    for page_id in queue.sent[:]:
        render_batch([RenderRequest(page_id)], svc)
    assert store.list_keys("page/") == []
    assert queue.sent == ["home:3", "home:4", "home:4"]
