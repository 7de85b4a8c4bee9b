"""A shared page already asked for, and not rendered since, is not asked for again; a page found
marked is always rendered, never answered by its stored copy."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import pytest

from broadsheet.errors import TransientError
from broadsheet.index.memory import MemoryIndex
from broadsheet.runtime.plan import PlanServices, plan_batch
from broadsheet.runtime.render import RenderRequest, render_batch
from broadsheet.settings import Settings
from broadsheet.site import Change
from tests.unit.fakes import MemoryAsks
from tests.unit.test_render_batch import render_services
from tests.unit.test_render_hold import CountingStore, Queue, first

SHARED = {"home:0", "feed:home:atom", "sitemap-index"}
OWN = {"article:a-new-story"}


@dataclass
class Requests:
    """The render queue: what each send carried, and whether sending fails."""

    sends: list[tuple[list[str], str]] = field(default_factory=list)
    fail: bool = False

    def send(self, page_ids: list[str], cause: str, changed: int | None = None) -> None:
        if self.fail:
            raise TransientError("render queue send failed")
        self.sends.append((page_ids, cause))

    @property
    def pages(self) -> list[str]:
        return [page for pages, _ in self.sends for page in pages]


def plan(svc: PlanServices, pages: set[str], cause: str, *, changes: int = 2) -> None:
    """One plan batch of `changes` changes (two, a burst's, unless told), named after `cause`,
    affecting `pages`."""
    with plan_batch(svc) as batch:
        batch.pages |= pages
        batch.causes += [f"{cause}.{n}" for n in range(changes)]


@pytest.fixture
def asks() -> MemoryAsks:
    return MemoryAsks()


@pytest.fixture
def queue() -> Requests:
    return Requests()


@pytest.fixture
def svc(settings: Settings, now: datetime, asks: MemoryAsks, queue: Requests) -> PlanServices:
    return PlanServices(settings=settings, index=MemoryIndex(now), render_queue=queue, asked=asks)


def test_a_shared_page_asked_for_is_not_asked_again_until_it_is_rendered(
    svc: PlanServices, asks: MemoryAsks, queue: Requests
) -> None:
    plan(svc, SHARED | OWN, "1")
    assert set(queue.pages) == SHARED | OWN
    assert set(asks.marks) == SHARED
    queue.sends.clear()
    plan(svc, SHARED | {"article:another"}, "2")
    # Its own article page always; the shared pages' queued requests stand for this change too.
    assert queue.pages == ["article:another"]
    asks.take(["home:0"])
    plan(svc, SHARED, "3")
    assert queue.pages == ["article:another", "home:0"]


def test_a_lone_change_sends_its_requests_unmarked(
    svc: PlanServices, asks: MemoryAsks, queue: Requests
) -> None:
    plan(svc, SHARED | OWN, "1", changes=1)
    assert set(queue.pages) == SHARED | OWN
    assert asks.marks == {}
    # A burst's batch finds no mark from it, so it asks again, and marks.
    plan(svc, SHARED, "2")
    assert set(asks.marks) == SHARED


def test_a_lone_change_planned_behind_the_index_is_part_of_a_burst(
    svc: PlanServices, asks: MemoryAsks
) -> None:
    with plan_batch(svc) as batch:
        batch.pages |= SHARED
        batch.causes.append("1")
        batch.newest_change = int(time.time()) - svc.settings.hold_behind_seconds
    assert set(asks.marks) == SHARED


def test_a_retried_plan_sends_its_marked_pages_again_under_a_new_deduplication_id(
    svc: PlanServices, queue: Requests
) -> None:
    plan(svc, SHARED, "1")
    plan(svc, SHARED, "1")
    first_send, retry = queue.sends
    assert set(first_send[0]) == set(retry[0]) == SHARED
    # Had the first requests been rendered (their marks taken) and the retry's been deduplicated
    # against them, its new marks would stand for requests that never reach the queue.
    assert first_send[1] != retry[1]


def test_a_stale_mark_counts_as_gone(svc: PlanServices, asks: MemoryAsks, queue: Requests) -> None:
    plan(svc, {"home:0"}, "1")
    by, at = asks.marks["home:0"]
    asks.marks["home:0"] = (by, at - svc.settings.ask_stale_seconds - 1)
    plan(svc, {"home:0"}, "2")
    assert queue.pages == ["home:0", "home:0"]


def test_marks_are_taken_back_when_their_requests_cannot_be_sent(
    svc: PlanServices, asks: MemoryAsks, queue: Requests
) -> None:
    asks.ask(["home:0"], by="0", at=2**40, stale_before=0)
    queue.fail = True
    with pytest.raises(TransientError):
        plan(svc, SHARED, "1")
    # Its own marks are gone, another plan's stays.
    assert set(asks.marks) == {"home:0"}
    queue.fail = False
    plan(svc, SHARED, "2")
    assert set(queue.pages) == SHARED - {"home:0"}


def test_a_marked_page_is_rendered_though_its_stored_copy_answers_and_its_mark_taken(
    tmp_path: Path,
) -> None:
    store, asks = CountingStore(tmp_path), MemoryAsks()
    svc = replace(render_services(store), asked=asks)
    assert render_batch([RenderRequest("home:0", None)], svc).published["home:0"].change is Change.WRITTEN
    # Rendered (10 s) after the request was sent (1 s): unmarked, the stored copy answers it.
    assert render_batch([RenderRequest("home:0", 1_000)], svc).published["home:0"].change is Change.COALESCED
    asks.ask(["home:0"], by="plan", at=1, stale_before=0)
    outcome = render_batch([RenderRequest("home:0", 1_000)], svc)
    assert outcome.published["home:0"].change is Change.UNCHANGED
    assert asks.marks == {}


def test_a_page_held_through_a_burst_keeps_its_mark_and_is_not_answered_by_its_copy(
    tmp_path: Path,
) -> None:
    store, asks, queue = CountingStore(tmp_path), MemoryAsks(), Queue(depth_now=500)
    svc = replace(render_services(store), held=queue, backlog=queue, asked=asks)
    render_batch([RenderRequest("home:0", None)], svc)
    asks.ask(["home:0"], by="plan", at=1, stale_before=0)
    outcome = render_batch([first("home:0", "r1")], svc)
    assert "home:0" in outcome.held
    assert set(asks.marks) == {"home:0"}


def test_a_mark_that_cannot_be_taken_fails_its_page_unrendered(tmp_path: Path) -> None:
    class Untakable(MemoryAsks):
        def take(self, page_ids: object) -> None:
            raise TransientError("index unavailable")

    asks = Untakable()
    asks.ask(["home:0"], by="plan", at=1, stale_before=0)
    svc = replace(render_services(CountingStore(tmp_path)), asked=asks)
    outcome = render_batch([RenderRequest("home:0", None), RenderRequest("404", None)], svc)
    assert set(outcome.failed) == {"home:0"}
    assert outcome.published["404"].change is Change.WRITTEN
    assert "index.html" not in CountingStore(tmp_path).list_keys()
