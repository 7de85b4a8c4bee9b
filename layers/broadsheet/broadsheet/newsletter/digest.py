"""The digest: each confirmed subscriber gets the articles published since their last one.

Exactly once per subscriber and article, and resumable, by claiming before sending. For each
subscriber, one DynamoDB transaction moves their `since` on and writes a `sent#` item for every
article of the mail, each conditioned on not existing; only then is the mail sent. So:

- a run that dies before a subscriber's claim leaves that subscriber to the next run (resumed);
- a run that dies after a claim never sends those articles again (the claim items stay), so a
  subscriber never gets an article twice — the one mail being sent at the instant of a crash
  is the only one that can be lost, the price of never sending twice;
- a mail SES refuses releases its claim, so the next run tries again;
- two runs at once cannot both claim a subscriber's articles (the transaction's conditions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from broadsheet.errors import TransientError
from broadsheet.index.ports import IndexReader
from broadsheet.newsletter.keys import NewsletterKeys
from broadsheet.newsletter.mail import DigestItem, Mailer, MailRefused, digest_mail
from broadsheet.newsletter.signup import link
from broadsheet.newsletter.store import SubscriberStore
from broadsheet.observability import logger
from broadsheet.render.templating import display_time
from broadsheet.settings import Settings

# The newest home entries a run considers (a day's publishing and then some).
CANDIDATES = 300
# Articles per mail: a transaction holds at most 100 writes, and a longer mail is not read.
MAX_ARTICLES = 40
# `since` trails the run by this much, so an article indexed moments after its publication
# time (an embargo lifting just before a run) is still due next time; claims prevent repeats.
GRACE = timedelta(hours=6)


class DigestIncomplete(Exception):
    """The run stopped before every subscriber was done; running it again carries on."""


@dataclass(frozen=True)
class Candidate:
    """A live article a digest may carry, with its publication time."""

    published: datetime
    item: DigestItem


@dataclass
class DigestReport:
    """What a run did."""

    subscribers: int = 0
    mailed: int = 0
    articles: int = 0
    refused: int = 0
    contended: int = 0
    sent: dict[str, list[str]] = field(default_factory=dict)


def candidates(index: IndexReader, settings: Settings, now: datetime) -> list[Candidate]:
    """The newest live articles, newest first: never a draft, an embargoed or an expired one."""
    entries = index.newest("home", CANDIDATES).entries
    indexed = index.get_articles([entry.slug for entry in entries])
    site_url = settings.site_url.rstrip("/")
    found: list[Candidate] = []
    for entry in entries:
        article = indexed.get(entry.slug)
        # The listing is updated by ingest when an article's state changes; the article's own
        # rules decide here, so an expiry or a draft not yet re-ingested is still left out.
        if article is None or not article.article.is_live(now):
            continue
        published = article.article.published_at
        item = DigestItem(
            slug=entry.slug,
            title=entry.title,
            teaser=entry.teaser,
            authors=", ".join(byline.name for byline in entry.authors),
            published=display_time(published),
            url=f"{site_url}/articles/{entry.slug}/",
        )
        found.append(Candidate(published, item))
    return found


def run_digest(
    settings: Settings,
    index: IndexReader,
    store: SubscriberStore,
    keys: NewsletterKeys,
    mailer: Mailer,
    now: datetime,
    out_of_time: Callable[[], bool] = lambda: False,
) -> DigestReport:
    """Mail every confirmed subscriber the articles due to them; `DigestIncomplete` if time ran out."""
    due_everywhere = candidates(index, settings, now)
    report = DigestReport()
    for subscriber in store.confirmed():
        if out_of_time():
            raise DigestIncomplete(f"stopped after {report.subscribers} subscribers")
        report.subscribers += 1
        since = subscriber.since or subscriber.created
        due = [c for c in due_everywhere if c.published >= since]
        if due:
            sent = store.already_sent(subscriber.id, [c.item.slug for c in due], now)
            due = [c for c in due if c.item.slug not in sent]
        if not due:
            continue
        chosen, more = due[:MAX_ARTICLES], max(0, len(due) - MAX_ARTICLES)
        slugs = [c.item.slug for c in chosen]
        moved = max(since, now - GRACE)
        if not store.claim_digest(subscriber, slugs, moved, now):
            report.contended += 1
            continue
        address = keys.unseal(subscriber.sealed, subscriber.id)
        unsubscribe = link(settings, keys, "unsubscribe", subscriber.id, now)
        message = digest_mail(settings, address, [c.item for c in chosen], more, unsubscribe)
        try:
            mailer.send(message, subscriber=subscriber.id)
        except (MailRefused, TransientError) as error:
            store.release_digest(subscriber, slugs, moved)
            report.refused += 1
            logger.warning("digest not sent", extra={"subscriber": subscriber.id[:12], "error": str(error)})
            continue
        report.mailed += 1
        report.articles += len(slugs)
        report.sent[subscriber.id] = slugs
    logger.info(
        "digest done",
        extra={"subscribers": report.subscribers, "mailed": report.mailed, "articles": report.articles},
    )
    return report
