"""The reconcile function's runtime: on a schedule, find drift between content, index, site and
alias store, and repair it through the normal pipeline."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

from aws_lambda_powertools.metrics import MetricUnit

from broadsheet.adapters import clients
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.kvs import alias_store_for
from broadsheet.adapters.s3_content import S3ContentStore
from broadsheet.adapters.s3_media import S3RenditionStore
from broadsheet.adapters.s3_site import S3SiteStore
from broadsheet.adapters.sqs import RenderRequests, SqsHints, SqsRenderQueue
from broadsheet.clock import now
from broadsheet.observability import logger, metrics
from broadsheet.reconcile import (
    AliasMap,
    ContentVersions,
    Hints,
    IndexedSources,
    ReconcileReport,
    RetiredRenditions,
    SiteListing,
    reconcile,
)
from broadsheet.settings import Settings, settings
from broadsheet.stale import PAGES_PER_RUN


@dataclass(frozen=True)
class ReconcileServices:
    """What reconcile compares and where it sends repairs."""

    settings: Settings
    content: ContentVersions
    index: IndexedSources
    site: SiteListing
    aliases: AliasMap
    hints: Hints
    render_queue: RenderRequests
    media_hints: Hints | None = None
    renditions: RetiredRenditions | None = None


@lru_cache(maxsize=1)
def services() -> ReconcileServices:
    """This container's reconcile services, created on first use."""
    return build_services(settings())


def build_services(config: Settings) -> ReconcileServices:
    """Reconcile's services for the deployment `config` describes."""
    return ReconcileServices(
        settings=config,
        content=S3ContentStore(clients.s3(), config.content_bucket),
        index=DynamoIndex(clients.dynamodb(), config.table_name),
        site=S3SiteStore(clients.s3(), config.site_bucket),
        aliases=alias_store_for(config, clients.keyvaluestore),
        hints=SqsHints(clients.sqs(), config.ingest_queue_url, config.content_bucket),
        render_queue=SqsRenderQueue(clients.sqs(), config.render_queue_url),
        media_hints=(
            SqsHints(clients.sqs(), config.media_queue_url, config.content_bucket)
            if config.media_queue_url
            else None
        ),
        renditions=S3RenditionStore(clients.s3(), config.site_bucket),
    )


def run_reconcile(svc: ReconcileServices, *, every_page: bool = False) -> ReconcileReport:
    """Run reconcile for this deployment (the scheduled function and `broadsheet reconcile`); log
    and count the drift it found, by kind. `every_page` compares every page, not the day's
    segment (a redrive of stream failures, whose pages may lie anywhere)."""
    config = svc.settings
    at = now(config)
    report = reconcile(
        svc.content, svc.index, svc.site, svc.aliases, svc.hints, svc.render_queue, config,
        day=at.date().toordinal(), cause=f"reconcile-{at.isoformat()}",
        per_run=sys.maxsize if every_page else PAGES_PER_RUN, media_hints=svc.media_hints,
        renditions=svc.renditions,
    )  # fmt: skip
    drift = report.drift()
    logger.info(
        "reconciled",
        extra={
            "drift": drift,
            "hinted": report.hinted,
            "media_hinted": report.media_hinted,
            "retired": report.retired,
            "recounted": report.recounted,
            "missing": report.pages.missing,
            "stale": report.pages.stale,
            "extra": report.pages.extra,
            "deleted": report.deleted,
            "aliases": report.aliases,
            "rendered": len(report.rendered),
            "previews": report.pages.previews,
            "compared": report.pages.compared,
            "segment": f"{report.pages.segment.index + 1}/{report.pages.segment.count}",
        },
    )
    for name, value in (
        ("DriftListingsRecounted", drift["listings_recounted"]),
        ("DriftKeysHinted", drift["keys_hinted"]),
        ("DriftMediaHinted", drift["media_hinted"]),
        ("DriftPagesRendered", len(report.rendered)),
        ("DriftPagesMissing", drift["pages_missing"]),
        ("DriftPagesStale", drift["pages_stale"]),
        ("DriftPagesExtra", drift["pages_extra"]),
        ("DriftObjectsDeleted", drift["objects_deleted"]),
        ("DriftAliases", drift["aliases"]),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return report
