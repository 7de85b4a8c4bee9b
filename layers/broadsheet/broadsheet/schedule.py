"""Embargo and expiry: one-time schedules that send an article's key back to ingest when it is due.

Ingest decides an article's liveness with the clock it reads, so a `published_at` or an
`expires_at` still ahead needs ingest to run again at that moment. Each such moment gets one
EventBridge Scheduler schedule, named after the slug and the moment, which puts the same
notification an upload would on the ingest queue and then deletes itself. Ingest keeps the set
in line with the article as it reads it, every time: the schedules the current version needs
are created or moved, the others cancelled. A schedule left over from a version that was
replaced meanwhile only causes one more ingest, which changes nothing and tidies up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from broadsheet.contract.models import Article

if TYPE_CHECKING:
    pass

# EventBridge Scheduler's limit on a schedule's name ([0-9a-zA-Z-_.]+).
MAX_NAME = 64
_DIGEST_CHARS = 16
_AT_FORMAT = "%Y-%m-%dT%H:%M:%S"
_ATTEMPTS = 3


class Moment(StrEnum):
    """A time at which an article's liveness or its place on the fronts changes by itself."""

    PUBLISH = "publish"
    EXPIRE = "expire"
    # A pin to the fronts lifts (`pinned_until`): the fronts are rendered again without it.
    UNPIN = "unpin"


def schedule_name(slug: str, moment: Moment) -> str:
    """The schedule's name: `<slug>-<moment>`, or a shortened slug and its hash when too long."""
    name = f"{slug}-{moment}"
    if len(name) <= MAX_NAME:
        return name
    # Slugs may be 120 characters; the name may be 64. Keep a readable prefix, stay unique.
    digest = hashlib.sha256(slug.encode()).hexdigest()[:_DIGEST_CHARS]
    keep = MAX_NAME - len(moment) - _DIGEST_CHARS - 2
    return f"{slug[:keep].rstrip('-')}-{digest}-{moment}"


def at_expression(when: datetime) -> str:
    """The one-time schedule expression for `when`, in UTC, rounded up to a whole second.

    Rounding up matters: a schedule must never fire before the moment, or ingest would find the
    article still embargoed.
    """
    utc = when.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({utc.strftime(_AT_FORMAT)})"


def parse_at(expression: str) -> datetime | None:
    """The time an `at(...)` expression names (UTC), or None for rate and cron expressions."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    try:
        return datetime.strptime(expression[3:-1], _AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def moments_ahead(article: Article | None, now: datetime) -> dict[Moment, datetime]:
    """The moments after `now` at which the article's liveness changes by itself.

    Nothing for a missing article or a draft: a draft is never rendered, so nothing is due for it.
    """
    if article is None or article.status != "published":
        return {}
    ahead: dict[Moment, datetime] = {}
    if article.published_at > now:
        ahead[Moment.PUBLISH] = article.published_at
    if article.expires_at is not None and article.expires_at > now:
        ahead[Moment.EXPIRE] = article.expires_at
    if article.featured is not None and article.pinned_until is not None and article.pinned_until > now:
        ahead[Moment.UNPIN] = article.pinned_until
    return ahead


class Scheduler(Protocol):
    """One-time schedules that put a message on the ingest queue."""

    def ensure(self, name: str, at: datetime, message: str) -> None:
        """Make schedule `name` send `message` at `at`, creating it or moving it."""

    def cancel(self, name: str) -> None:
        """Delete schedule `name`; one that does not exist (fired, never made) is no error."""


class NoScheduler:
    """For the offline build and tools without a queue: nothing is ever scheduled."""

    def ensure(self, name: str, at: datetime, message: str) -> None:
        """Do nothing."""

    def cancel(self, name: str) -> None:
        """Do nothing."""


@dataclass(frozen=True)
class Schedules:
    """What ingest needs to keep an article's schedules in line: the scheduler, and the message
    that makes ingest read a key again (an S3 notification naming it)."""

    scheduler: Scheduler
    message: Callable[[str], str]

    def sync(self, key: str, slug: str, article: Article | None, now: datetime) -> dict[str, datetime]:
        """Ensure the schedules `article` needs at `now` and cancel the others; return those kept."""
        ahead = moments_ahead(article, now)
        kept: dict[str, datetime] = {}
        for moment in Moment:
            name = schedule_name(slug, moment)
            if moment in ahead:
                self.scheduler.ensure(name, ahead[moment], self.message(key))
                kept[name] = ahead[moment]
            else:
                self.scheduler.cancel(name)
        return kept
