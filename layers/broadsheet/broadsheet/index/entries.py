"""What the index holds about an article, derived from the article alone.

Both index adapters (DynamoDB and in-memory) and the offline build use these functions,
so a listing entry is computed in exactly one place.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from broadsheet.contract.fields import slugify
from broadsheet.contract.models import Article
from broadsheet.pages import FRONT_KINDS, Listing, pinned_list


@dataclass(frozen=True)
class Byline:
    """An author as listings show them: display name and page slug."""

    name: str
    slug: str


@dataclass(frozen=True)
class Entry:
    """An article as one listing shows it. Ordered by `sort_key` (publication time, then slug)."""

    listing: str
    sort_key: str
    slug: str
    title: str
    teaser: str
    authors: tuple[Byline, ...]
    published: str
    modified: str
    # The lead image's media name, shown as a thumbnail beside the entry; empty if none.
    image: str = ""
    # Live coverage under way: listings label the entry "Live".
    live_coverage: bool = False
    # In a pinned list (`broadsheet.pages.pinned_list`): "lead" or "top"; elsewhere empty.
    featured: str = ""


def sort_key(article: Article) -> str:
    """The listing order key: UTC publication time at fixed width, then the slug for ties."""
    utc = article.published_at.astimezone(UTC).replace(tzinfo=None)
    return f"{utc.isoformat(timespec='microseconds')}Z#{article.slug}"


def month_of(article: Article) -> str:
    """The archive month of an article (`2015-12`), in its own offset, as readers see its date."""
    published = article.published_at
    return f"{published.year:04d}-{published.month:02d}"


def listings_of(article: Article) -> list[Listing]:
    """Every listing a live article appears in: home, each author, section, each tag, month."""
    found = [Listing("home")]
    found += [Listing("author", slug) for slug in article.author_slugs]
    if article.section:
        found.append(Listing("section", article.section))
    found += [Listing("tag", slug) for slug in article.tag_slugs]
    found.append(Listing("month", month_of(article)))
    return found


def entries_of(article: Article, now: datetime) -> list[Entry]:
    """The listing entries of an article at `now`: none unless the article is live."""
    if not article.is_live(now):
        return []
    key = sort_key(article)
    bylines = tuple(Byline(name, slugify(name)) for name in article.authors)
    published = article.published_at.isoformat()
    modified = (article.updated_at or article.published_at).isoformat()
    listings = [(listing.id, "") for listing in listings_of(article)]
    pinned = article.pinned(now)
    if pinned is not None:
        fronts = [x for x in listings_of(article) if x.kind in FRONT_KINDS]
        listings += [(pinned_list(front), pinned) for front in fronts]
    return [
        Entry(
            listing=listing,
            sort_key=key,
            slug=article.slug,
            title=article.title,
            teaser=article.teaser,
            authors=bylines,
            published=published,
            modified=modified,
            image=article.image.name if article.image else "",
            live_coverage=article.live,
            featured=featured,
        )
        for listing, featured in listings
    ]


def page_digest(article: Article) -> str:
    """A fingerprint of everything but the pin (`featured`, `pinned_until`): the article's own
    page shows nothing of the pin, so a change of the pin alone leaves that page as it was."""
    shown = article.model_dump(mode="json", exclude={"featured", "pinned_until"})
    text = json.dumps(shown, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def listed_digest(article: Article) -> str:
    """A fingerprint of what listings, feeds' order and sitemaps show of an article (its entry's
    fields, its thumbnail included): a change that leaves it alone (body, corrections, live
    updates) re-renders no listing."""
    shown = [
        article.title,
        article.teaser,
        list(article.authors),
        article.published_at.isoformat(),
        (article.updated_at or article.published_at).isoformat(),
        article.live,
        article.image.name if article.image else "",
    ]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
