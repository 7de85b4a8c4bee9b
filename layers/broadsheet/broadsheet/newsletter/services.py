"""The newsletter's adapters, created once per container and on first use (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import boto3

from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.newsletter.keys import NewsletterKeys
from broadsheet.newsletter.mail import Mailer, SesMailer
from broadsheet.newsletter.origin import OriginGuard
from broadsheet.newsletter.signup import Newsletter
from broadsheet.newsletter.store import DynamoSubscribers
from broadsheet.settings import Settings, settings


@dataclass(frozen=True)
class NewsletterServices:
    """Everything the API and the digest talk to."""

    settings: Settings
    index: DynamoIndex
    store: DynamoSubscribers
    keys: NewsletterKeys
    mailer: Mailer
    flow: Newsletter


def build_newsletter(config: Settings, session: boto3.Session | None = None) -> NewsletterServices:
    """Adapters for `config`, with clients from `session` (endpoint from the environment)."""
    session = session or boto3.Session()
    if not config.newsletter_secret_arn or not config.subscribers_table:
        raise RuntimeError(
            "the newsletter needs BROADSHEET_SUBSCRIBERS_TABLE and BROADSHEET_NEWSLETTER_SECRET_ARN"
        )
    secret = session.client("secretsmanager").get_secret_value(SecretId=config.newsletter_secret_arn)
    keys = NewsletterKeys(secret["SecretString"].encode("utf-8"))
    dynamodb = session.client("dynamodb")
    store = DynamoSubscribers(dynamodb, config.subscribers_table)
    mailer = SesMailer(session.client("sesv2"), config.mail_configuration_set)
    return NewsletterServices(
        settings=config,
        index=DynamoIndex(dynamodb, config.table_name),
        store=store,
        keys=keys,
        mailer=mailer,
        flow=Newsletter(config, store, keys, mailer),
    )


@lru_cache(maxsize=1)
def newsletter() -> NewsletterServices:
    """This container's newsletter services, created on first use."""
    return build_newsletter(settings())


@lru_cache(maxsize=1)
def origin_guard() -> OriginGuard:
    """This container's check of the origin header, its secret read once on first use."""
    config = settings()
    if not config.origin_secret_arn:
        raise RuntimeError("the newsletter API needs BROADSHEET_ORIGIN_SECRET_ARN")
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=config.origin_secret_arn)
    return OriginGuard(secret["SecretString"])
