"""Configuration, read once from the environment into a frozen model."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a Broadsheet function or tool needs to know about its deployment."""

    model_config = SettingsConfigDict(env_prefix="BROADSHEET_", frozen=True, extra="ignore")

    table_name: str = "broadsheet-index"
    content_bucket: str = "broadsheet-content"
    site_bucket: str = "broadsheet-site"
    render_queue_url: str = ""
    ingest_queue_url: str = ""
    # Where reconcile sends images back to the media function (lost, changed, missing renditions).
    media_queue_url: str = ""
    distribution_id: str = ""
    # Embargo and expiry: the EventBridge Scheduler group, the role its schedules send with and
    # the queue they send to. No group means nothing is scheduled (the offline build).
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    ingest_queue_arn: str = ""
    # The CloudFront KeyValueStore holding alias redirects; empty keeps them in memory (local).
    alias_store_arn: str = ""

    # Draft previews: the secret their addresses are signed with, given directly (the offline
    # build) or as a Secrets Manager ARN read once by the function that renders them. Neither
    # set means drafts get no preview.
    preview_secret: SecretStr = SecretStr("")
    preview_secret_arn: str = ""

    site_name: str = "Broadsheet"
    site_url: str = "http://127.0.0.1:3000"
    site_description: str = "Analysis and news, published with Broadsheet."
    language: str = "en"
    # Whether an article body may show images from other sites (`![alt](https://…)`), as it
    # always could; False leaves them out of pages and feeds. Images under media/ are always shown.
    remote_images: bool = True
    timezone: str = "UTC"
    page_size: int = Field(default=10, ge=1, le=100)

    # Invalidation on a budget: paths per month the operator accepts, the window over
    # which requests are coalesced, and the count above which paths become one wildcard.
    invalidation_budget: int = Field(default=1000, ge=0)
    invalidation_wildcard_threshold: int = Field(default=15, ge=1)

    # Bursts: while the ingest queue holds at least `hold_backlog` messages, or the planner runs
    # `hold_behind_seconds` behind the index (a bulk upload, not an editor's change), a listing
    # page's first render request waits `hold_seconds_per_message` seconds per queued message plus
    # the planner's lag (within the bounds), so that one render answers the whole burst. Article
    # pages are never held. See docs/architecture.md, "Coalescing".
    hold_backlog: int = Field(default=20, ge=1)
    hold_behind_seconds: int = Field(default=5, ge=1)
    hold_seconds_per_message: float = Field(default=0.2, ge=0)
    hold_min_seconds: int = Field(default=5, ge=0, le=900)
    hold_max_seconds: int = Field(default=120, ge=0, le=900)
    # A shared page asked for is not asked for again until a render takes its mark
    # (`broadsheet.asked`); a mark older than this counts as gone, in case its request was lost
    # (a planner that died between marking and sending). Longer than any wait a request has on
    # the queue: two holds at most (4 minutes at the longest) and the retries of a failed render.
    ask_stale_seconds: int = Field(default=900, ge=60)

    # The newsletter: the subscribers table, the secret its links and stored addresses are keyed
    # with (a Secrets Manager ARN on AWS; locally the stack creates one), the sender address.
    subscribers_table: str = ""
    newsletter_secret_arn: str = ""
    newsletter_from: str = "newsletter@example.com"
    # The SES configuration set every newsletter mail goes out under (it reports bounces and
    # complaints), and the secret CloudFront sends to the newsletter API as its origin header.
    mail_configuration_set: str = ""
    origin_secret_arn: str = ""

    # X-Ray subsegments from the X-Ray SDK (Powertools' Tracer) for each handler and AWS call.
    # Off by default: loading the SDK costs every cold start about a quarter of a second, and
    # Lambda's active tracing records the invocations without it.
    tracing: bool = False

    # A fixed clock (RFC 3339) for reproducible builds and tests; empty means the real time.
    now: str = ""


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
