"""A render batch publishes its distinct pages side by side; what one page raises is its own."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet.clock import now
from broadsheet.errors import TransientError
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import STATIC_PAGES, STYLESHEET
from broadsheet.pipeline import (
    RenderBatch,
    RenderRequest,
    newest_requests,
    publish_side_by_side,
    render_record,
    render_request,
)
from broadsheet.render.templating import HTML, HTML_CACHE, Output
from broadsheet.settings import Settings
from broadsheet.site import Change, DirSiteStore, PageResult


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


def test_a_batch_publishes_its_pages_on_threads_and_a_failure_stays_with_its_page(tmp_path: Path) -> None:
    store = FailingStore(tmp_path, failing="404.html")
    svc: Any = SimpleNamespace(index=MemoryIndex(now(Settings())), site=store, settings=Settings())
    ids = [page.id for page in STATIC_PAGES]
    outcomes = publish_side_by_side(newest_requests(RenderRequest(i) for i in [*ids, ids[0]]), svc)
    assert sorted(outcomes) == sorted(ids)
    failed = {page_id for page_id, outcome in outcomes.items() if isinstance(outcome, BaseException)}
    assert failed == {STATIC_PAGES[0].id}
    assert all(
        isinstance(outcome, PageResult) for page_id, outcome in outcomes.items() if page_id not in failed
    )
    stylesheet = outcomes[STYLESHEET.id]
    assert isinstance(stylesheet, PageResult) and stylesheet.change is Change.WRITTEN
    assert "404.html" not in store.list_keys()
    assert threading.current_thread().name not in store.threads


def test_a_single_page_is_left_to_the_record_handler(tmp_path: Path) -> None:
    svc: Any = SimpleNamespace(
        index=MemoryIndex(now(Settings())), site=DirSiteStore(tmp_path), settings=Settings()
    )
    assert publish_side_by_side({STATIC_PAGES[0].id: None, "no-such-kind:x": None}, svc) == {}


def test_one_render_of_a_page_must_answer_the_newest_of_its_requests() -> None:
    requests = [
        RenderRequest("home:0", 1_000),
        RenderRequest("home:0", 3_000),
        RenderRequest("home:0", 2_000),
    ]
    requests += [RenderRequest("404", 5_000), RenderRequest("404", None), RenderRequest("404", 7_000)]
    assert newest_requests(requests) == {"home:0": 3_000, "404": None}


def test_a_request_carries_the_time_sqs_received_it() -> None:
    record = {"body": '{"page":"home:0"}', "attributes": {"SentTimestamp": "1764504000123"}}
    assert render_request(record) == RenderRequest("home:0", 1764504000123)
    assert render_request({"body": '{"page":"home:0"}', "attributes": {}}) == RenderRequest("home:0", None)


@dataclass
class Requests:
    """The render queue, as a list of what was sent."""

    sent: list[str] = field(default_factory=list)

    def send(self, page_ids: list[str], cause: str) -> None:
        self.sent += page_ids


def test_a_listing_page_that_empties_asks_for_the_stored_pages_past_it(tmp_path: Path) -> None:
    store = DirSiteStore(tmp_path)
    # Pages 2 to 4 of the home listing were published when the site had more articles; all of
    # them left at once, and the planner asked only for page 2 (the page past the new end).
    for number in (2, 3, 4):
        store.put(Output(f"page/{number}/index.html", b"<p>old</p>", HTML, HTML_CACHE))
    queue = Requests()
    svc: Any = SimpleNamespace(
        index=MemoryIndex(now(Settings())), site=store, settings=Settings(), render_queue=queue
    )
    record = SQSRecord({"messageId": "1", "body": '{"page":"home:2"}', "attributes": {}})
    render_record(record, svc, RenderBatch(at=now(svc.settings)))
    assert "page/2/index.html" not in store.list_keys()
    assert queue.sent == ["home:3", "home:4"]
    # Rendered in turn, each is deleted and asks for nothing more.
    for page_id in queue.sent[:]:
        body = json.dumps({"page": page_id})
        render_record(
            SQSRecord({"messageId": page_id, "body": body, "attributes": {}}),
            svc,
            RenderBatch(at=now(svc.settings)),
        )
    assert store.list_keys("page/") == []
    assert queue.sent == ["home:3", "home:4", "home:4"]
