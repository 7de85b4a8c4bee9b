"""The reconcile function's runtime: on a schedule, find drift between content, index and site."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aws_lambda_powertools.metrics import MetricUnit

from broadsheet.adapters import clients
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.s3_content import S3ContentStore
from broadsheet.adapters.s3_site import S3SiteStore
from broadsheet.adapters.sqs import RenderRequests, SqsHints, SqsRenderQueue
from broadsheet.clock import now
from broadsheet.observability import logger, metrics
from broadsheet.reconcile import ContentVersions, Hints, IndexedSources, ReconcileReport, SiteKeys, reconcile
from broadsheet.settings import Settings, settings


@dataclass(frozen=True)
class ReconcileServices:
    """What reconcile compares and where it sends repairs."""

    settings: Settings
    content: ContentVersions
    index: IndexedSources
    site: SiteKeys
    hints: Hints
    render_queue: RenderRequests


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
        hints=SqsHints(clients.sqs(), config.ingest_queue_url, config.content_bucket),
        render_queue=SqsRenderQueue(clients.sqs(), config.render_queue_url),
    )


def run_reconcile(svc: ReconcileServices) -> ReconcileReport:
    """Run reconcile for this deployment (the scheduled function and `broadsheet reconcile`)."""
    config = svc.settings
    cause = f"reconcile-{now(config).isoformat()}"
    report = reconcile(svc.content, svc.index, svc.site, svc.hints, svc.render_queue, config.page_size, cause)
    logger.info(
        "reconciled",
        extra={
            "hinted": report.hinted,
            "recounted": report.recounted,
            "rendered": len(report.rendered),
            "deleted": report.deleted,
        },
    )
    metrics.add_metric(name="DriftListingsRecounted", unit=MetricUnit.Count, value=len(report.recounted))
    metrics.add_metric(name="DriftKeysHinted", unit=MetricUnit.Count, value=len(report.hinted))
    metrics.add_metric(name="DriftPagesRendered", unit=MetricUnit.Count, value=len(report.rendered))
    return report
