"""The render function's runtime: a batch of render requests in, pages written or deleted out.

`render_batch` is the one call a batch makes. It renders each distinct page the batch names once
(or not at all, when the stored page was rendered after the newest request for it was sent),
publishes the pages side by side, brings the alias store in line for alias pages, and
invalidates what must change at once; it returns what happened to each page. The handler then
answers the records in order from that outcome, so a failed page is retried and nothing else.
"""

from __future__ import annotations

import contextvars
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet.adapters import clients
from broadsheet.adapters.cloudfront import Invalidator, invalidator_for
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.dynamo.asked import DynamoAskedPages
from broadsheet.adapters.kvs import alias_store_for
from broadsheet.adapters.s3_site import S3SiteStore
from broadsheet.adapters.secrets import with_preview_secret
from broadsheet.adapters.sqs import (
    Backlog,
    HeldRequests,
    NoBacklog,
    RenderRequests,
    SqsBacklog,
    SqsRenderQueue,
)
from broadsheet.aliases import AliasReader, AliasStore, sync_alias
from broadsheet.asked import AskedPages, NoAsks
from broadsheet.clock import now
from broadsheet.errors import TransientError
from broadsheet.index.ports import IndexReader
from broadsheet.observability import logger, metrics
from broadsheet.pages import (
    AliasPage,
    ArticlePage,
    BadPageId,
    ListingPage,
    Page,
    is_shared,
    parse_page,
)
from broadsheet.settings import Settings, settings
from broadsheet.site import (
    Change,
    PageResult,
    SiteStore,
    page_key,
    publish_page,
    stored_pages_beyond,
    wall_clock_ms,
)

# How many pages of a render batch are published at once. A page is a few index reads and one
# site read and write: it spends most of its time waiting on the network, not computing.
RENDER_WORKERS = 4


class RenderIndex(IndexReader, AliasReader, Protocol):
    """What the renderer reads: pages' content, and where old addresses lead."""


@dataclass(frozen=True)
class RenderServices:
    """What the renderer talks to."""

    settings: Settings
    index: RenderIndex
    site: SiteStore
    render_queue: RenderRequests
    invalidator: Invalidator
    aliases: AliasStore
    # Where a listing's render request waits out a burst, and the ingest queue that tells of one.
    held: HeldRequests | None = None
    backlog: Backlog = field(default_factory=NoBacklog)
    # The marks of shared pages asked for and not rendered since (`broadsheet.asked`).
    asked: AskedPages = field(default_factory=NoAsks)


@lru_cache(maxsize=1)
def services() -> RenderServices:
    """This container's render services, created on first use."""
    config = with_preview_secret(settings(), clients.secretsmanager)
    render_queue = SqsRenderQueue(clients.sqs(), config.render_queue_url)
    return RenderServices(
        settings=config,
        index=DynamoIndex(clients.dynamodb(), config.table_name),
        site=S3SiteStore(clients.s3(), config.site_bucket),
        render_queue=render_queue,
        invalidator=invalidator_for(config, clients.cloudfront, clients.dynamodb),
        aliases=alias_store_for(config, clients.keyvaluestore),
        held=render_queue,
        backlog=SqsBacklog(clients.sqs(), config.ingest_queue_url)
        if config.ingest_queue_url
        else NoBacklog(),
        asked=DynamoAskedPages(clients.dynamodb(), config.table_name),
    )


@dataclass(frozen=True)
class RenderRequest:
    """One render request: the page it names, the time it stands for (milliseconds since the
    epoch; None if the record does not say), its receipt handle, whether this is its first
    delivery (a first delivery is held during a burst) or its second (a request held once is
    held once more, to let the burst settle), and how many seconds the planner that asked was
    behind the index.

    The time is when SQS received the request or, if earlier, the end of the second in which
    the newest index change it stands for was made (the stream stamps changes in whole
    seconds): a page rendered after that has every change the request asks for. A planner
    running behind the index (a burst) sends requests long after their changes."""

    page_id: str
    sent_at: int | None = None
    receipt: str = ""
    first_delivery: bool = False
    behind: int = 0
    second_delivery: bool = False


def requested_page(body: str) -> str:
    """The page id a render request (an SQS message body) names."""
    return str(json.loads(body).get("page", ""))


def render_request(record: dict[str, Any]) -> RenderRequest:
    """The request an SQS record (as the event delivers it) carries."""
    attributes = record.get("attributes", {})
    raw = str(attributes.get("SentTimestamp", ""))
    sent = int(raw) if raw.isdigit() else None
    changed = json.loads(record["body"]).get("changed")
    stands_for, behind = sent, 0
    if sent is not None and isinstance(changed, int):
        stands_for = min(sent, (changed + 1) * 1000)
        behind = max(0, sent // 1000 - changed)
    return RenderRequest(
        requested_page(record["body"]),
        stands_for,
        receipt=str(record.get("receiptHandle", "")),
        first_delivery=str(attributes.get("ApproximateReceiveCount", "")) == "1",
        behind=behind,
        second_delivery=str(attributes.get("ApproximateReceiveCount", "")) == "2",
    )


def newest_requests(requests: Sequence[RenderRequest]) -> dict[str, int | None]:
    """Each page's newest request time in a batch: one render answers them all, so it must answer
    the newest (None, never coalesced, if any request of the page lacks its time)."""
    newest: dict[str, int | None] = {}
    for request in requests:
        if request.page_id not in newest:
            newest[request.page_id] = request.sent_at
        else:
            prior = newest[request.page_id]
            newest[request.page_id] = (
                None if prior is None or request.sent_at is None else max(prior, request.sent_at)
            )
    return newest


@dataclass
class RenderOutcome:
    """What one batch did to each page it named: the result, or what publishing it raised."""

    published: dict[str, PageResult] = field(default_factory=dict)
    aliases: dict[str, str | None] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)
    # Pages held through a burst: how many seconds their requests wait before coming back.
    held: dict[str, int] = field(default_factory=dict)
    invalidated: int = 0

    def answer(self, record: SQSRecord) -> None:
        """Answer one record of the batch: raise what its page raised, so it is retried."""
        failure = self.failed.get(requested_page(record.body))
        if failure is not None:
            raise failure

    def respond(
        self, event: dict[str, Any], answer: Callable[[dict[str, Any]], PartialItemFailureResponse]
    ) -> PartialItemFailureResponse:
        """The batch's response: `answer` (the batch processor) answers the records of pages not
        held; every record of a held page is reported as not done, so it stays on the queue (its
        message group, the page, waiting behind it) until its hold ends."""
        held = [r for r in event["Records"] if requested_page(r["body"]) in self.held]
        rest = [r for r in event["Records"] if requested_page(r["body"]) not in self.held]
        response = answer({**event, "Records": rest}) if rest else {"batchItemFailures": []}
        failures: list[PartialItemFailures] = [{"itemIdentifier": r["messageId"]} for r in held]
        return {"batchItemFailures": [*response["batchItemFailures"], *failures]}


def render_batch(requests: Sequence[RenderRequest], svc: RenderServices) -> RenderOutcome:
    """Render every distinct page `requests` name, once each, and invalidate what must change."""
    at = now(svc.settings)
    outcome = RenderOutcome()
    pages: dict[str, Page] = {}
    newest = newest_requests(requests)
    for page_id in newest:
        try:
            page = parse_page(page_id)
        except BadPageId:
            logger.error("dropped a render request for an unknown page", extra={"page": page_id})
            continue
        if isinstance(page, AliasPage):
            _sync_alias(page, svc, outcome)
        else:
            pages[page_id] = page
    # A page marked as asked may have changes behind it that no stored copy shows: it is rendered.
    marked = svc.asked.asked(page_id for page_id, page in pages.items() if is_shared(page))
    outcome.held, answered = _hold_through_burst(pages, requests, newest, svc, marked)
    for page_id in outcome.held:
        del pages[page_id]
    results: dict[str, PageResult | BaseException] = {
        page_id: PageResult(page_id, page_key(pages.pop(page_id)), Change.COALESCED, existed=True)
        for page_id in sorted(answered)
    }
    results |= _take_marks(marked & pages.keys(), newest, svc)
    rendering = {page_id: page for page_id, page in pages.items() if page_id not in results}
    invalidate: list[str] = []
    for page_id, result in (results | _publish_side_by_side(rendering, newest, svc)).items():
        if isinstance(result, BaseException):
            outcome.failed[page_id] = result
            continue
        outcome.published[page_id] = result
        metrics.add_metric(name=f"Pages{result.change.value.title()}", unit=MetricUnit.Count, value=1)
        if result.change is Change.COALESCED:
            continue
        page = pages[page_id]
        if result.change in {Change.WRITTEN, Change.DELETED}:
            logger.info("page", extra={"page": page_id, "key": result.key, "change": result.change.value})
            if result.existed and isinstance(page, ArticlePage):
                invalidate.append(f"{page.path}*")
        if isinstance(page, ListingPage) and result.change is Change.DELETED:
            _request_pages_beyond(page, svc)
    outcome.invalidated = svc.invalidator.invalidate(invalidate, at)
    if outcome.invalidated:
        metrics.add_metric(name="InvalidationPaths", unit=MetricUnit.Count, value=outcome.invalidated)
    return outcome


def _take_marks(
    marked: set[str], newest: dict[str, int | None], svc: RenderServices
) -> dict[str, PageResult | BaseException]:
    """Take the marks of the marked pages about to be rendered, before their index reads, and
    have them rendered whatever their stored copy answers (`newest` set to None). If the marks
    cannot be taken the pages are not rendered: their requests fail and come back."""
    if not marked:
        return {}
    try:
        svc.asked.take(marked)
    except TransientError as exc:
        return dict.fromkeys(sorted(marked), exc)
    newest.update(dict.fromkeys(marked))
    return {}


def hold_seconds(backlog: int, behind: int, config: Settings) -> int | None:
    """How long a listing's render request waits while `backlog` messages are on the ingest
    queue and its planner was `behind` seconds behind the index, or None if that is no burst
    (an editor's change or two goes live at once): about the time the work upstream of the
    renderer will take to drain, within bounds."""
    if backlog < config.hold_backlog and behind < config.hold_behind_seconds:
        return None
    return _within_bounds(max(math.ceil(backlog * config.hold_seconds_per_message), behind), config)


def settle_seconds(backlog: int, config: Settings) -> int:
    """How long a request already held through a burst waits once more: until the backlog left
    should be gone with room to spare (twice the time a burst's hold allows a message), and at
    least the shortest hold, so that the page's one render comes after the burst's last index
    changes (a render answers only changes made a second or more before it began, and the stream
    stamps changes in whole seconds)."""
    return _within_bounds(math.ceil(2 * backlog * config.hold_seconds_per_message), config)


def _within_bounds(seconds: int, config: Settings) -> int:
    """A hold of `seconds`, kept between the shortest and the longest hold."""
    return max(config.hold_min_seconds, min(config.hold_max_seconds, seconds))


def holdable(page: Page, requests: Sequence[RenderRequest]) -> bool:
    """Whether a page's requests in a batch may wait out a burst: a shared page, every request on
    its first or second delivery (so a request is held at most twice, and rendered from its third
    receive on, leaving three of the queue's five before the DLQ)."""
    mine = [r for r in requests if r.page_id == page.id]
    return is_shared(page) and all((r.first_delivery or r.second_delivery) and r.receipt for r in mine)


def held_before(page: Page, requests: Sequence[RenderRequest]) -> bool:
    """Whether one of a page's requests in a batch comes back from a hold."""
    return any(r.second_delivery for r in requests if r.page_id == page.id)


def _hold_through_burst(
    pages: dict[str, Page],
    requests: Sequence[RenderRequest],
    newest: dict[str, int | None],
    svc: RenderServices,
    marked: set[str],
) -> tuple[dict[str, int], set[str]]:
    """Hold the batch's shared pages while a bulk upload is being ingested; the pages held, and
    those whose stored page already answers every request for them (answered now, unrendered;
    never a page `marked` as asked, whose stored copy may predate the changes that found it).

    A held request comes back when its hold ends and is then rendered, answering every request
    for its page sent before: one render for the burst instead of one per article. The ingest
    queue is asked once per batch, and only when the batch has a page to hold."""
    candidates = [page for page in pages.values() if holdable(page, requests)]
    if svc.held is None or not candidates:
        return {}, set()
    try:
        backlog = svc.backlog.depth()
    except TransientError as exc:
        logger.warning("no hold: the ingest backlog is unknown", extra={"error": str(exc)})
        return {}, set()
    behind = max((r.behind for r in requests), default=0)
    burst = hold_seconds(backlog, behind, svc.settings)
    settle = settle_seconds(backlog, svc.settings)
    # A burst holds every candidate; after one, a page coming back from its hold settles.
    wanted = {
        page.id: settle if held_before(page, requests) else burst
        for page in candidates
        if burst is not None or held_before(page, requests)
    }
    answered = {
        page_id
        for page_id in wanted
        if page_id not in marked and _answered(pages[page_id], newest[page_id], svc.site)
    }
    held: dict[str, int] = {}
    for seconds in sorted({s for page_id, s in wanted.items() if s is not None and page_id not in answered}):
        chosen = [page_id for page_id, s in wanted.items() if s == seconds and page_id not in answered]
        receipts = [r.receipt for r in requests if r.page_id in chosen]
        try:
            svc.held.hold(receipts, seconds)
        except TransientError as exc:
            logger.warning("no hold: the render queue refused it", extra={"error": str(exc)})
            continue
        held |= dict.fromkeys(chosen, seconds)
    if held:
        metrics.add_metric(name="PagesHeld", unit=MetricUnit.Count, value=len(held))
        logger.info(
            "held during a burst",
            extra={"pages": sorted(held), "seconds": sorted(set(held.values())), "backlog": backlog,
                   "behind": behind},
        )  # fmt: skip
    return held, answered


def _answered(page: Page, requested_at: int | None, site: SiteStore) -> bool:
    stored = site.stored(page_key(page))
    return stored is not None and stored.answers(requested_at)


def _sync_alias(page: AliasPage, svc: RenderServices, outcome: RenderOutcome) -> None:
    try:
        target = sync_alias(page, svc.index, svc.aliases)
    except Exception as exc:  # noqa: BLE001 - what one page raises is that page's outcome
        outcome.failed[page.id] = exc
        return
    outcome.aliases[page.id] = target
    logger.info("alias", extra={"path": page.path, "target": target})


def _publish_side_by_side(
    pages: dict[str, Page], newest: dict[str, int | None], svc: RenderServices
) -> dict[str, PageResult | BaseException]:
    """Publish each page on up to `RENDER_WORKERS` threads; each page's result, or what it raised.

    Each thread runs in a copy of the caller's context, as code the invocation runs itself."""

    def publish(page: Page) -> PageResult:
        return publish_page(page, svc.index, svc.site, svc.settings, newest[page.id])

    outcomes: dict[str, PageResult | BaseException] = {}
    if len(pages) < 2:
        for page_id, page in pages.items():
            try:
                outcomes[page_id] = publish(page)
            except Exception as exc:  # noqa: BLE001 - what one page raises is that page's outcome
                outcomes[page_id] = exc
        return outcomes
    with ThreadPoolExecutor(min(RENDER_WORKERS, len(pages))) as pool:
        futures = {
            page_id: pool.submit(contextvars.copy_context().run, publish, page)
            for page_id, page in pages.items()
        }
    for page_id, future in futures.items():
        failure = future.exception()
        outcomes[page_id] = failure if failure is not None else future.result()
    return outcomes


def _request_pages_beyond(page: ListingPage, svc: RenderServices) -> None:
    """A listing page that just emptied: ask for any stored page past it to be rendered too.

    The planner asks for the page past a listing's new end, counting the listing as it finds
    it; when several entries leave at once (or leave while earlier removals are still being
    planned), more than one page may have emptied. Each is rendered in its own message group,
    where it is deleted unless the listing has grown back meanwhile."""
    beyond = [p.id for p in stored_pages_beyond(page, svc.site)]
    if beyond:
        svc.render_queue.send(beyond, cause=f"beyond-{page.id}-{wall_clock_ms()}")
        logger.info("pages beyond an emptied listing page", extra={"page": page.id, "beyond": beyond})
