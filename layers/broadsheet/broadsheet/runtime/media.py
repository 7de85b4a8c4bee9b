"""The media function's runtime: S3 notifications for media/ (through SQS) in, renditions in the
site bucket, the image's index item (or a report) out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet.adapters import clients
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.s3_content import S3ContentStore
from broadsheet.adapters.s3_media import S3RenditionStore
from broadsheet.adapters.sqs import s3_keys
from broadsheet.errors import SkippedKey
from broadsheet.media.stage import MediaOutcome, ingest_media
from broadsheet.observability import logger, metrics
from broadsheet.settings import Settings, settings


@dataclass(frozen=True)
class MediaServices:
    """What the media stage talks to: the content bucket, the index, the site bucket."""

    settings: Settings
    content: S3ContentStore
    index: DynamoIndex
    renditions: S3RenditionStore


@lru_cache(maxsize=1)
def services() -> MediaServices:
    """This container's media services, created on first use."""
    config = settings()
    return MediaServices(
        settings=config,
        content=S3ContentStore(clients.s3(), config.content_bucket),
        index=DynamoIndex(clients.dynamodb(), config.table_name),
        renditions=S3RenditionStore(clients.s3(), config.site_bucket),
    )


def media_record(record: SQSRecord, svc: MediaServices) -> None:
    """Publish every media key an S3 notification names. Raises TransientError to be retried."""
    keys = s3_keys(record.body)
    if not keys:
        logger.info("skipped a notification without objects (s3:TestEvent)")

    def article_media(slug: str) -> tuple[str, ...] | None:
        indexed = svc.index.get_article(slug)
        return indexed.article.media_names if indexed else None

    for key in keys:
        try:
            result = ingest_media(key, svc.content, svc.index, svc.renditions, article_media)
        except SkippedKey as skip:
            logger.info("skipped key", extra={"key": key, "reason": str(skip)})
            continue
        if result.rejection is not None:
            errors = [{"field": e.field, "message": e.message} for e in result.rejection.errors]
            logger.warning("rejected image", extra={"key": key, "errors": errors})
            metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
            continue
        logger.info(
            "media",
            extra={"key": key, "outcome": result.outcome.value, "renditions": result.renditions_written},
        )
        if result.outcome in {MediaOutcome.PUBLISHED, MediaOutcome.UNPUBLISHED}:
            metrics.add_metric(name=f"Images{result.outcome.value.title()}", unit=MetricUnit.Count, value=1)
