"""The ingest function's runtime: S3 notifications (through SQS) in, index writes or reports out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet.adapters import clients
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.s3_content import ContentStore, S3ContentStore
from broadsheet.adapters.scheduler import scheduler_for
from broadsheet.adapters.sqs import s3_keys, s3_notification
from broadsheet.clock import now
from broadsheet.errors import SkippedKey
from broadsheet.index.ports import IndexWriter
from broadsheet.ingest import Outcome, Upload, ingest_key
from broadsheet.observability import logger, metrics
from broadsheet.schedule import Scheduler, Schedules
from broadsheet.settings import Settings, settings

# The event name on the notification an embargo or expiry schedule sends when it is due.
SCHEDULED_EVENT = "Scheduled"


@dataclass(frozen=True)
class IngestServices:
    """What ingest talks to: the content bucket, the index, the scheduler."""

    settings: Settings
    content: ContentStore
    index: IndexWriter
    scheduler: Scheduler


@lru_cache(maxsize=1)
def services() -> IngestServices:
    """This container's ingest services, created on first use."""
    config = settings()
    return IngestServices(
        settings=config,
        content=S3ContentStore(clients.s3(), config.content_bucket),
        index=DynamoIndex(clients.dynamodb(), config.table_name),
        scheduler=scheduler_for(config, clients.scheduler),
    )


def uploaders(body: str) -> dict[str, Upload]:
    """Who made each change an S3 notification reports (`userIdentity.principalId`), and the
    version it made (`s3.object.versionId`, in a versioned bucket), by key.

    The notification is only a hint: ingest reads the key's current version, which a later
    upload may already have replaced; the principal is kept only with the version it made."""
    doc = json.loads(body)
    if doc.get("Event") == "s3:TestEvent":
        return {}
    found: dict[str, Upload] = {}
    for event in S3Event(doc).records:
        principal = (event.get("userIdentity") or {}).get("principalId")
        if principal:
            version = event.s3.get_object.get("versionId")
            found[unquote_plus(event.s3.get_object.key)] = Upload(
                str(principal), str(version) if version else None
            )
    return found


def ingest_record(record: SQSRecord, svc: IngestServices) -> None:
    """Ingest every key an S3 notification names. Raises TransientError to be retried."""
    keys = s3_keys(record.body)
    by = uploaders(record.body)
    if not keys:
        logger.info("skipped a notification without objects (s3:TestEvent)")
    bucket = svc.settings.content_bucket
    schedules = Schedules(svc.scheduler, lambda key: s3_notification(bucket, key, SCHEDULED_EVENT))
    for key in keys:
        try:
            result = ingest_key(key, svc.content, svc.index, now(svc.settings), schedules, by.get(key))
        except SkippedKey as skip:
            logger.info("skipped key", extra={"key": key, "reason": str(skip)})
            metrics.add_metric(name="KeysSkipped", unit=MetricUnit.Count, value=1)
            continue
        if result.rejection is not None:
            errors = [{"field": e.field, "message": e.message} for e in result.rejection.errors]
            uploaded_by = by[key].principal if key in by else None
            logger.warning("rejected file", extra={"key": key, "errors": errors, "uploaded_by": uploaded_by})
            metrics.add_metric(name="FilesRejected", unit=MetricUnit.Count, value=1)
        else:
            scheduled = {name: at.isoformat() for name, at in result.scheduled.items()}
            logger.info(
                "ingested",
                extra={
                    "key": key,
                    "outcome": result.outcome.value,
                    "scheduled": scheduled,
                    "uploaded_by": by[key].principal if key in by else None,
                },
            )
            if result.outcome in {Outcome.PUBLISHED, Outcome.UNPUBLISHED}:
                metrics.add_metric(
                    name=f"Files{result.outcome.value.title()}", unit=MetricUnit.Count, value=1
                )
