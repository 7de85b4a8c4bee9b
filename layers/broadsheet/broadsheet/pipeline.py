"""The three stages as record handlers for the batch processors: ingest, plan, render.

Each takes one record of its event source and the services; the thin Lambda handlers in
`functions/` and the local stack's pollers call them the same way.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet.aliases import sync_alias
from broadsheet.clock import now
from broadsheet.errors import SkippedKey
from broadsheet.ingest import Outcome, ingest_key
from broadsheet.observability import logger, metrics
from broadsheet.pages import AliasPage, ArticlePage, BadPageId, ListingPage, parse_page
from broadsheet.plan import article_state, plan_alias, plan_article, plan_profile
from broadsheet.queue import s3_notification
from broadsheet.reconcile import ReconcileReport, reconcile
from broadsheet.schedule import Schedules
from broadsheet.services import Services
from broadsheet.site import Change, PageResult, publish_page, stored_pages_beyond, wall_clock_ms
from broadsheet.stale import PAGES_PER_RUN

# The event name on the notification an embargo or expiry schedule sends when it is due.
SCHEDULED_EVENT = "Scheduled"
# How many pages of a render batch are published at once. A page is a few index reads and one
# site read and write: it spends most of its time waiting on the network, not computing.
RENDER_WORKERS = 4


def s3_keys(body: str) -> list[str]:
    """The object keys an S3 notification (as an SQS message body) names; none for a test event."""
    doc = json.loads(body)
    if doc.get("Event") == "s3:TestEvent":
        return []
    # Keys arrive URL-encoded (spaces as `+`); the object's real key is the decoded form.
    return [unquote_plus(record.s3.get_object.key) for record in S3Event(doc).records]


def ingest_record(record: SQSRecord, svc: Services) -> None:
    """Ingest every key an S3 notification names. Raises TransientError to be retried."""
    keys = s3_keys(record.body)
    if not keys:
        logger.info("skipped a notification without objects (s3:TestEvent)")
    bucket = svc.settings.content_bucket
    schedules = Schedules(svc.scheduler, lambda key: s3_notification(bucket, key, SCHEDULED_EVENT))
    for key in keys:
        try:
            result = ingest_key(key, svc.content, svc.index, now(svc.settings), schedules)
        except SkippedKey as skip:
            logger.info("skipped key", extra={"key": key, "reason": str(skip)})
            metrics.add_metric(name="KeysSkipped", unit=MetricUnit.Count, value=1)
            continue
        if result.rejection is not None:
            errors = [{"field": e.field, "message": e.message} for e in result.rejection.errors]
            logger.warning("rejected file", extra={"key": key, "errors": errors})
            metrics.add_metric(name="FilesRejected", unit=MetricUnit.Count, value=1)
        else:
            scheduled = {name: at.isoformat() for name, at in result.scheduled.items()}
            logger.info(
                "ingested", extra={"key": key, "outcome": result.outcome.value, "scheduled": scheduled}
            )
            if result.outcome in {Outcome.PUBLISHED, Outcome.UNPUBLISHED}:
                metrics.add_metric(
                    name=f"Files{result.outcome.value.title()}", unit=MetricUnit.Count, value=1
                )


@dataclass
class PlanBatch:
    """The pages one batch of stream records affects, sent once when the batch ends."""

    pages: set[str] = field(default_factory=set)
    causes: list[str] = field(default_factory=list)


def plan_record(record: DynamoDBRecord, svc: Services, batch: PlanBatch) -> None:
    """Add the pages one index change affects to the batch."""
    stream = record.dynamodb
    if stream is None:
        return
    keys = stream.keys or {}
    pk = str(keys.get("pk", ""))
    if pk.startswith("author#"):
        pages = plan_profile(pk.removeprefix("author#"))
    elif pk.startswith("alias#"):
        pages = plan_alias(pk.removeprefix("alias#"))
    elif pk.startswith("article#"):
        old, new = article_state(stream.old_image), article_state(stream.new_image)
        pages = plan_article(old, new, svc.index, svc.settings.page_size)
    else:
        return
    batch.pages.update(pages)
    batch.causes.append(str(stream.sequence_number))
    logger.debug("planned", extra={"item": pk, "pages": pages})


def _reader_first(page_id: str) -> tuple[int, str]:
    """Render order: what readers look at first (the article, first pages), then the rest."""
    if page_id.startswith("article:"):
        return (0, page_id)
    if page_id.endswith(":0") and not page_id.startswith(("feed:", "sitemap:")):
        return (1, page_id)
    return (2, page_id)


@contextmanager
def plan_batch(svc: Services) -> Iterator[PlanBatch]:
    """A plan batch; on leaving it, each affected page is enqueued once (coalesced)."""
    batch = PlanBatch()
    yield batch
    if batch.pages:
        cause = hashlib.sha256("|".join(batch.causes).encode()).hexdigest()
        svc.render_queue.send(sorted(batch.pages, key=_reader_first), cause=cause)
        logger.info("planned", extra={"changes": len(batch.causes), "pages": len(batch.pages)})
        metrics.add_metric(name="PagesPlanned", unit=MetricUnit.Count, value=len(batch.pages))


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


def newest_requests(requests: Iterable[RenderRequest]) -> dict[str, int | None]:
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
class RenderBatch:
    """What one batch of render requests did: each page's newest request time, pages published
    (or how publishing failed), pages done, and paths to invalidate."""

    at: datetime
    requested: dict[str, int | None] = field(default_factory=dict)
    published: dict[str, PageResult | BaseException] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    invalidate: list[str] = field(default_factory=list)


def render_record(record: SQSRecord, svc: Services, batch: RenderBatch) -> None:
    """Render one requested page; a page already rendered in this batch, or rendered since the
    batch's newest request for it was sent, is not redone."""
    page_id = requested_page(record.body)
    if page_id in batch.done:
        return
    try:
        page = parse_page(page_id)
    except BadPageId:
        logger.error("dropped a render request for an unknown page", extra={"page": page_id})
        return
    if isinstance(page, AliasPage):
        target = sync_alias(page, svc.index, svc.aliases)
        batch.done.add(page_id)
        logger.info("alias", extra={"path": page.path, "target": target})
        return
    outcome = batch.published.pop(page_id, None)
    if isinstance(outcome, BaseException):
        raise outcome
    result = outcome or publish_page(page, svc.index, svc.site, svc.settings, batch.requested.get(page_id))
    batch.done.add(page_id)
    metrics.add_metric(name=f"Pages{result.change.value.title()}", unit=MetricUnit.Count, value=1)
    if result.existed and result.change in {Change.WRITTEN, Change.DELETED} and isinstance(page, ArticlePage):
        batch.invalidate.append(f"{page.path}*")
    if result.change in {Change.WRITTEN, Change.DELETED}:
        logger.info("page", extra={"page": page_id, "key": result.key, "change": result.change.value})
    if isinstance(page, ListingPage) and result.change is Change.DELETED:
        _request_pages_beyond(page, svc)


def _request_pages_beyond(page: ListingPage, svc: Services) -> None:
    """A listing page that just emptied: ask for any stored page past it to be rendered too.

    The planner asks for the page past a listing's new end, counting the listing as it finds
    it; when several entries leave at once (or leave while earlier removals are still being
    planned), more than one page may have emptied. Each is rendered in its own message group,
    where it is deleted unless the listing has grown back meanwhile."""
    beyond = [p.id for p in stored_pages_beyond(page, svc.site)]
    if beyond:
        svc.render_queue.send(beyond, cause=f"beyond-{page.id}-{wall_clock_ms()}")
        logger.info("pages beyond an emptied listing page", extra={"page": page.id, "beyond": beyond})


def publish_side_by_side(
    requested: dict[str, int | None], svc: Services
) -> dict[str, PageResult | BaseException]:
    """Publish each distinct page of `requested` (page id to its newest request time; aliases and
    unknown ids aside) on `RENDER_WORKERS` threads; each page's result, or what it raised, which
    `render_record` then reports in record order.

    Each thread runs in a copy of the caller's context, as code the invocation runs itself."""
    pages = {}
    for page_id in requested:
        try:
            page = parse_page(page_id)
        except BadPageId:
            continue
        if not isinstance(page, AliasPage):
            pages[page_id] = page
    if len(pages) < 2:
        return {}
    outcomes: dict[str, PageResult | BaseException] = {}
    with ThreadPoolExecutor(min(RENDER_WORKERS, len(pages))) as pool:
        futures = {
            page_id: pool.submit(
                contextvars.copy_context().run,
                publish_page,
                page,
                svc.index,
                svc.site,
                svc.settings,
                requested[page_id],
            )
            for page_id, page in pages.items()
        }
    for page_id, future in futures.items():
        failure = future.exception()
        outcomes[page_id] = failure if failure is not None else future.result()
    return outcomes


@contextmanager
def render_batch(svc: Services, requests: Iterable[RenderRequest] = ()) -> Iterator[RenderBatch]:
    """A render batch, its requested pages published side by side first; on leaving it, the
    paths that must change at once are invalidated."""
    requested = newest_requests(requests)
    batch = RenderBatch(
        at=now(svc.settings), requested=requested, published=publish_side_by_side(requested, svc)
    )
    yield batch
    charged = svc.invalidator.invalidate(batch.invalidate, batch.at)
    if charged:
        metrics.add_metric(name="InvalidationPaths", unit=MetricUnit.Count, value=charged)


def run_reconcile(svc: Services, *, every_page: bool = False) -> ReconcileReport:
    """Run reconcile for this deployment (the scheduled function and `broadsheet reconcile`); log
    and count the drift it found, by kind. `every_page` compares every page, not the day's
    segment (a redrive of stream failures, whose pages may lie anywhere)."""
    config = svc.settings
    at = now(config)
    report = reconcile(
        svc.content, svc.index, svc.site, svc.aliases, svc.hints, svc.render_queue, config,
        day=at.date().toordinal(), cause=f"reconcile-{at.isoformat()}",
        per_run=sys.maxsize if every_page else PAGES_PER_RUN,
    )  # fmt: skip
    drift = report.drift()
    logger.info(
        "reconciled",
        extra={
            "drift": drift,
            "hinted": report.hinted,
            "recounted": report.recounted,
            "missing": report.pages.missing,
            "stale": report.pages.stale,
            "extra": report.pages.extra,
            "deleted": report.deleted,
            "aliases": report.aliases,
            "rendered": len(report.rendered),
            "compared": report.pages.compared,
            "segment": f"{report.pages.segment.index + 1}/{report.pages.segment.count}",
        },
    )
    for name, value in (
        ("DriftListingsRecounted", drift["listings_recounted"]),
        ("DriftKeysHinted", drift["keys_hinted"]),
        ("DriftPagesRendered", len(report.rendered)),
        ("DriftPagesMissing", drift["pages_missing"]),
        ("DriftPagesStale", drift["pages_stale"]),
        ("DriftPagesExtra", drift["pages_extra"]),
        ("DriftObjectsDeleted", drift["objects_deleted"]),
        ("DriftAliases", drift["aliases"]),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return report
