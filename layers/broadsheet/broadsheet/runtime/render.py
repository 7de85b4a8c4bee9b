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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet.adapters import clients
from broadsheet.adapters.cloudfront import Invalidator, invalidator_for
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.kvs import alias_store_for
from broadsheet.adapters.s3_site import S3SiteStore
from broadsheet.adapters.secrets import with_preview_secret
from broadsheet.adapters.sqs import RenderRequests, SqsRenderQueue
from broadsheet.aliases import AliasReader, AliasStore, sync_alias
from broadsheet.clock import now
from broadsheet.index.ports import IndexReader
from broadsheet.observability import logger, metrics
from broadsheet.pages import AliasPage, ArticlePage, BadPageId, ListingPage, Page, parse_page
from broadsheet.settings import Settings, settings
from broadsheet.site import Change, PageResult, SiteStore, publish_page, stored_pages_beyond, wall_clock_ms

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


@lru_cache(maxsize=1)
def services() -> RenderServices:
    """This container's render services, created on first use."""
    config = with_preview_secret(settings(), clients.secretsmanager)
    return RenderServices(
        settings=config,
        index=DynamoIndex(clients.dynamodb(), config.table_name),
        site=S3SiteStore(clients.s3(), config.site_bucket),
        render_queue=SqsRenderQueue(clients.sqs(), config.render_queue_url),
        invalidator=invalidator_for(config, clients.cloudfront, clients.dynamodb),
        aliases=alias_store_for(config, clients.keyvaluestore),
    )


@dataclass(frozen=True)
class RenderRequest:
    """One render request: the page it names, and when SQS received it (milliseconds since the
    epoch; None if the record does not say)."""

    page_id: str
    sent_at: int | None = None


def requested_page(body: str) -> str:
    """The page id a render request (an SQS message body) names."""
    return str(json.loads(body).get("page", ""))


def render_request(record: dict[str, Any]) -> RenderRequest:
    """The request an SQS record (as the event delivers it) carries."""
    sent = str(record.get("attributes", {}).get("SentTimestamp", ""))
    return RenderRequest(requested_page(record["body"]), int(sent) if sent.isdigit() else None)


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
    invalidated: int = 0

    def answer(self, record: SQSRecord) -> None:
        """Answer one record of the batch: raise what its page raised, so it is retried."""
        failure = self.failed.get(requested_page(record.body))
        if failure is not None:
            raise failure


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
    invalidate: list[str] = []
    for page_id, result in _publish_side_by_side(pages, newest, svc).items():
        if isinstance(result, BaseException):
            outcome.failed[page_id] = result
            continue
        outcome.published[page_id] = result
        page = pages[page_id]
        metrics.add_metric(name=f"Pages{result.change.value.title()}", unit=MetricUnit.Count, value=1)
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
