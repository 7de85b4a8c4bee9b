"""The adapters a Lambda container uses, created once and on first use (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import boto3

from broadsheet.adapters.cloudfront import CloudFrontInvalidator, Invalidator, NoInvalidation
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.s3_content import S3ContentStore
from broadsheet.adapters.sqs import RenderRequests, SqsHints, SqsRenderQueue
from broadsheet.aliases import AliasStore, KeyValueStoreAliases, MemoryAliases
from broadsheet.schedule import EventBridgeScheduler, NoScheduler, Scheduler
from broadsheet.settings import Settings, settings
from broadsheet.site import S3SiteStore


@dataclass(frozen=True)
class Services:
    """Everything the stages talk to. Tests and the local stack build their own."""

    settings: Settings
    index: DynamoIndex
    content: S3ContentStore
    site: S3SiteStore
    render_queue: RenderRequests
    invalidator: Invalidator
    scheduler: Scheduler
    aliases: AliasStore
    hints: SqsHints


def build_services(config: Settings, session: boto3.Session | None = None) -> Services:
    """Adapters for `config`, with clients from `session` (endpoint from the environment)."""
    session = session or boto3.Session()
    dynamodb = session.client("dynamodb")
    sqs = session.client("sqs")
    s3 = session.client("s3")
    invalidator: Invalidator = NoInvalidation()
    if config.distribution_id:
        invalidator = CloudFrontInvalidator(
            session.client("cloudfront"),
            dynamodb,
            distribution_id=config.distribution_id,
            table=config.table_name,
            budget=config.invalidation_budget,
            threshold=config.invalidation_wildcard_threshold,
        )
    # Without an edge store configured, redirects live in this process's memory (one map per
    # container, since the services are created once), where whatever serves the site reads them.
    aliases: AliasStore = MemoryAliases()
    if config.alias_store_arn:
        aliases = KeyValueStoreAliases(session.client("cloudfront-keyvaluestore"), config.alias_store_arn)
    scheduler: Scheduler = NoScheduler()
    if config.schedule_group:
        scheduler = EventBridgeScheduler(
            session.client("scheduler"),
            group=config.schedule_group,
            role_arn=config.scheduler_role_arn,
            queue_arn=config.ingest_queue_arn,
        )
    return Services(
        aliases=aliases,
        settings=config,
        index=DynamoIndex(dynamodb, config.table_name),
        content=S3ContentStore(s3, config.content_bucket),
        site=S3SiteStore(s3, config.site_bucket),
        render_queue=SqsRenderQueue(sqs, config.render_queue_url),
        hints=SqsHints(sqs, config.ingest_queue_url, config.content_bucket),
        invalidator=invalidator,
        scheduler=scheduler,
    )


@lru_cache(maxsize=1)
def services() -> Services:
    """This container's services, created on first use."""
    return build_services(settings())
