"""The plan function's runtime: the index's stream in, render requests for the affected pages out."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from broadsheet.adapters import clients
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.dynamo.asked import DynamoAskedPages
from broadsheet.adapters.sqs import RenderRequests, SqsRenderQueue
from broadsheet.asked import AskedPages, NoAsks
from broadsheet.index.ports import IndexReader, MediaIndex
from broadsheet.observability import logger, metrics
from broadsheet.pages import BadPageId, is_shared, parse_page
from broadsheet.plan import (
    Shifts,
    article_state,
    plan_alias,
    plan_article_change,
    plan_media,
    plan_profile,
)
from broadsheet.settings import Settings, settings


class PlanIndex(IndexReader, MediaIndex, Protocol):
    """The index as the planner reads it."""


@dataclass(frozen=True)
class PlanServices:
    """What the planner talks to: the index (for listing positions, and what shows an image),
    the render queue, and the marks of shared pages already asked for."""

    settings: Settings
    index: PlanIndex
    render_queue: RenderRequests
    asked: AskedPages = field(default_factory=NoAsks)


@lru_cache(maxsize=1)
def services() -> PlanServices:
    """This container's plan services, created on first use."""
    config = settings()
    return PlanServices(
        settings=config,
        index=DynamoIndex(clients.dynamodb(), config.table_name),
        render_queue=SqsRenderQueue(clients.sqs(), config.render_queue_url),
        asked=DynamoAskedPages(clients.dynamodb(), config.table_name),
    )


@dataclass
class PlanBatch:
    """The pages one batch of stream records affects, sent once when the batch ends: those its
    changes name, and the listing pages their entries shift (found once for the whole batch)."""

    pages: set[str] = field(default_factory=set)
    shifts: Shifts = field(default_factory=Shifts)
    causes: list[str] = field(default_factory=list)
    # When the newest index change of the batch was made (seconds since the epoch), if known.
    newest_change: int | None = None


# The index items whose changes plan pages, by key prefix: articles, author profiles, alias claims
# and images. The template's stream filter (the plan function's FilterCriteria) passes only these,
# so listing entries, counters and asked marks never invoke the planner on AWS.
PLANNED_ITEMS = ("article#", "author#", "alias#", "media#")


def plan_record(record: DynamoDBRecord, svc: PlanServices, batch: PlanBatch) -> None:
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
    elif pk.startswith("media#"):
        name = pk.removeprefix("media#")
        pages = plan_media(svc.index.media_users(name), svc.index, svc.settings.page_size)
    elif pk.startswith("article#"):
        old, new = article_state(stream.old_image), article_state(stream.new_image)
        pages = sorted(plan_article_change(old, new, svc.index, svc.settings.page_size, batch.shifts))
    else:
        return
    batch.pages.update(pages)
    batch.causes.append(str(stream.sequence_number))
    created = stream.approximate_creation_date_time
    if created is not None:
        batch.newest_change = max(created, batch.newest_change or created)
    logger.debug("planned", extra={"item": pk, "pages": pages})


def _reader_first(page_id: str) -> tuple[int, str]:
    """Render order: what readers look at first (the article, first pages), then the rest."""
    if page_id.startswith("article:"):
        return (0, page_id)
    if page_id.endswith(":0") and not page_id.startswith(("feed:", "sitemap:")):
        return (1, page_id)
    return (2, page_id)


def _shared(page_id: str) -> bool:
    try:
        return is_shared(parse_page(page_id))
    except BadPageId:
        return False


@contextmanager
def plan_batch(svc: PlanServices) -> Iterator[PlanBatch]:
    """A plan batch; on leaving it, each affected page is enqueued once (coalesced), but for the
    shared pages already asked for and not rendered since (`broadsheet.asked`)."""
    batch = PlanBatch()
    yield batch
    batch.pages |= batch.shifts.pages(svc.index, svc.settings.page_size)
    if not batch.pages:
        return
    cause = hashlib.sha256("|".join(batch.causes).encode()).hexdigest()
    at = int(time.time())
    shared = {page_id for page_id in batch.pages if _shared(page_id)} if _in_burst(batch, at, svc) else set()
    marked = svc.asked.ask(shared, by=cause, at=at, stale_before=at - svc.settings.ask_stale_seconds)
    own = sorted(batch.pages - shared, key=_reader_first)
    try:
        if own:
            svc.render_queue.send(own, cause=cause, changed=batch.newest_change)
        if marked:
            # A request for a marked page must reach the queue even when this plan is a retry
            # whose first requests were rendered already (their marks taken): its deduplication
            # id is its own, not the plan's.
            svc.render_queue.send(
                sorted(marked, key=_reader_first),
                cause=f"{cause}/{time.time_ns()}",
                changed=batch.newest_change,
            )
    except BaseException:
        _release(svc, marked, cause)
        raise
    sent, skipped = len(own) + len(marked), len(shared) - len(marked)
    logger.info("planned", extra={"changes": len(batch.causes), "pages": sent, "already_asked": skipped})
    metrics.add_metric(name="PagesPlanned", unit=MetricUnit.Count, value=sent)
    if skipped:
        metrics.add_metric(name="PagesAlreadyAsked", unit=MetricUnit.Count, value=skipped)


def _in_burst(batch: PlanBatch, at: int, svc: PlanServices) -> bool:
    """Whether a batch is part of a burst, where asking for shared pages once pays: more than one
    change at once, or the planner running behind the index. An editor's lone change sends its
    requests unmarked (always safe), sparing its time to live the marks' reads and writes."""
    behind = at - batch.newest_change if batch.newest_change is not None else 0
    return len(batch.causes) > 1 or behind >= svc.settings.hold_behind_seconds


def _release(svc: PlanServices, marked: set[str], cause: str) -> None:
    """Take back the marks of requests that were not sent, so that later changes ask again."""
    try:
        svc.asked.release(marked, by=cause)
    except Exception as exc:  # noqa: BLE001 - the send's failure is the one to raise
        # The marks stay; a retry of this plan finds them as its own, and they go stale anyway.
        logger.warning("marks not taken back", extra={"pages": sorted(marked), "error": str(exc)})
