"""Which site pages differ from what the index implies: missing, stale, extra or stray.

How a stale page is known. A page is a pure function of the index and the clock (the offline
build proves it: the pipeline's site is byte-identical to it), so the truth for a stored page is
its bytes rendered now from the index, with the same `render_page` the render function runs. Each
is compared with the ETag of the site bucket's listing: pages are single-part PUTs under SSE-S3,
so an ETag is the MD5 of the bytes, and one listing request covers 1,000 pages without a read of
their own. A page whose bytes differ — a render lost to the DLQ, a plan the stream expired, a hand
edit — goes back through the render queue; one that should not exist is rendered as absent.

Why not a digest of the render's inputs in each object's metadata: recomputing it takes the same
index reads as rendering (about half of rendering's measured cost, below), a page written before the digest
existed or by hand would need a HEAD each, and a page whose bytes follow the clock (the news
sitemap's two-day window) would need the clock folded in. Rendering is also right for embargo
and expiry: whether an article is live is held in the index (set by ingest when its schedule
fires), and the only pages that read the clock are re-rendered at the same clock here.

Cost (`python -m bench.reconcile_probe 1000`, a clean seeded site of 1,000 articles, 20 per
page, on the local stack, 2 cores): 1,942 pages compared, all drift zero, 2.6 ms of CPU per page
(rendering and parsing responses) and 25 ms of wall per page, the rest waiting on moto's answers;
about 0.75 index requests per page (909 GetItem, mostly a tag page's label; 432 Query, each
listing read whole once; 112 BatchGetItem, articles by the hundred; 48 Scan pages). On DynamoDB
(a few ms a request) that is about 5 ms a page, so one run compares `PAGES_PER_RUN` = 60,000
pages in about 5 minutes of the function's 15: every page daily up to about 30,000 articles (1.94
pages per article), and at 100,000 articles (about 194,000 pages) four segments, each page
compared at least every four days. Listings are read whole once each (a numbered page read
alone costs a query from the nearer end of its listing, so paging a listing by itself would
read it about n²/2·size times), and articles in batches of 100. Missing, extra and stray pages
are found from the listing every run (a missing one rendered to confirm it should exist); the
render-and-compare of pages that exist is cut
into segments when the site is larger than `PAGES_PER_RUN`: each run compares the segment named
by the day (`day % segments`), a whole listing or one article per unit, and the clock's pages
in every segment.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from broadsheet.contract.media import MediaItem
from broadsheet.contract.models import AuthorProfile
from broadsheet.index.entries import Entry
from broadsheet.index.ports import Catalog, IndexedArticle, IndexReader, ListingSlice
from broadsheet.pages import (
    ASSETS_PREFIX,
    NEWS_SITEMAP,
    SITEMAP_INDEX,
    ArticlePage,
    FeedPage,
    ListingPage,
    Page,
    PreviewPage,
    SitemapPage,
    all_pages,
    page_for_key,
)
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from broadsheet.site import page_key

# Pages whose bytes depend on the clock (the news sitemap's window): compared on every run.
CLOCK_PAGES = (NEWS_SITEMAP, SITEMAP_INDEX)
# How many pages one run renders and compares, at most (about 5 ms each on DynamoDB, measured
# above; the function's timeout is 900 s). Above it the comparison is cut into daily segments.
PAGES_PER_RUN = 60_000
_ARTICLE_BATCH = 100
# Listings kept whole in memory at once: pages are compared listing by listing.
_LISTINGS_KEPT = 2


@dataclass(frozen=True)
class Segment:
    """Which share of the page space a run compares byte for byte: number `index` of `count`."""

    index: int = 0
    count: int = 1

    @staticmethod
    def of_day(day: int, pages: int, per_run: int = PAGES_PER_RUN) -> Segment:
        """The segment to compare on day number `day` of a site with `pages` pages."""
        count = max(1, math.ceil(pages / per_run))
        return Segment(day % count, count)

    def holds(self, page: Page) -> bool:
        """Whether this segment compares `page`."""
        if self.count == 1 or page in CLOCK_PAGES:
            return True
        return zlib.crc32(_unit(page).encode()) % self.count == self.index


def _unit(page: Page) -> str:
    """What a segment keeps together: a listing's pages and feeds, a month's shard, an article."""
    if isinstance(page, (ListingPage, FeedPage)):
        return page.listing.id
    if isinstance(page, SitemapPage):
        return f"month:{page.month}"
    return page.id


@dataclass
class PageDrift:
    """Pages that differ from what the index implies, by kind (page ids; stray object keys)."""

    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    # Draft previews, of every draft and every stored one: reconcile cannot sign their addresses
    # (it holds no secret), so each is rendered again by the render function, which writes the
    # missing and removes the expired and the stale. Drafts are few.
    previews: list[str] = field(default_factory=list)
    compared: int = 0
    segment: Segment = field(default_factory=Segment)

    def to_render(self) -> list[str]:
        """Every page the render queue must see again (an extra page renders as absent)."""
        return sorted({*self.missing, *self.stale, *self.extra, *self.previews})


class ListingSnapshot:
    """The index as `render_page` reads it, each listing read whole once and articles in batches.

    Answers exactly as `DynamoIndex` does (totals from the listing counters, which reconcile has
    just checked), so the bytes rendered here are the bytes the render function would write."""

    def __init__(self, index: IndexReader) -> None:
        self._index = index
        self._listings: OrderedDict[str, tuple[Entry, ...]] = OrderedDict()
        self._counts: dict[str, int] = {}
        self._articles: dict[str, IndexedArticle | None] = {}
        self._profiles: dict[str, AuthorProfile | None] = {}
        self._months: list[tuple[str, int]] | None = None

    def prefetch(self, slugs: list[str]) -> None:
        """Read these articles in one batch, forgetting those read before."""
        found: dict[str, IndexedArticle | None] = dict.fromkeys(slugs)
        self._articles = found | dict(self._index.get_articles(slugs)) if slugs else {}

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article (prefetched, or read now: a tag page's label)."""
        if slug in self._articles:
            return self._articles[slug]
        return self._index.get_article(slug)

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """An author's profile, read once."""
        if author_slug not in self._profiles:
            self._profiles[author_slug] = self._index.get_profile(author_slug)
        return self._profiles[author_slug]

    def get_articles(self, slugs: list[str]) -> dict[str, IndexedArticle]:
        """The indexed articles among `slugs` (a feed's newest), read in a batch."""
        return self._index.get_articles(slugs)

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """The published images among `names`, read through."""
        return self._index.get_media(names)

    def months(self) -> list[tuple[str, int]]:
        """Every archive month with live articles, read once."""
        if self._months is None:
            self._months = self._index.months()
        return self._months

    def count(self, listing: str) -> int:
        """A listing's counter, read once."""
        if listing not in self._counts:
            self._counts[listing] = self._index.count(listing)
        return self._counts[listing]

    def position(self, listing: str, sort_key: str) -> int:
        """How many entries sort before `sort_key` (not used by rendering; asked of the index)."""
        return self._index.position(listing, sort_key)

    def neighbours(self, listing: str, sort_key: str, limit: int, *, older: bool) -> tuple[Entry, ...]:
        """The entries nearest `sort_key` on one side (an article's related list), asked of the index."""
        return self._index.neighbours(listing, sort_key, limit, older=older)

    def _entries(self, listing: str) -> tuple[Entry, ...]:
        """Every entry of a listing, newest first, read once while the listing is in use."""
        if listing in self._listings:
            self._listings.move_to_end(listing)
            return self._listings[listing]
        total = self.count(listing)
        entries = self._index.span(listing, 0, total).entries if total else ()
        self._listings[listing] = entries
        while len(self._listings) > _LISTINGS_KEPT:
            self._listings.popitem(last=False)
        return entries

    def newest(self, listing: str, limit: int) -> ListingSlice:
        """The newest `limit` entries, totalled as `DynamoIndex.newest` totals them."""
        items = self._entries(listing)[:limit]
        return ListingSlice(items, len(items) if len(items) < limit else self.count(listing))

    def span(self, listing: str, start: int, stop: int) -> ListingSlice:
        """Entries at positions [start, stop) from the oldest, newest first."""
        entries, total = self._entries(listing), self.count(listing)
        stop = min(stop, total, len(entries))
        if start >= stop:
            return ListingSlice((), total)
        held = len(entries)
        return ListingSlice(entries[held - stop : held - start], total)


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _comparison_order(pages: Iterable[Page]) -> list[Page]:
    """Articles first (prefetched in batches), then each listing's pages together."""
    return sorted(pages, key=lambda p: (not isinstance(p, ArticlePage), _unit(p), p.id))


def find_page_drift(
    index: Catalog, stored: Mapping[str, str], settings: Settings, day: int, per_run: int = PAGES_PER_RUN
) -> PageDrift:
    """Compare the site's listing (`stored`: key to ETag) with every page the index implies:
    missing and extra pages everywhere, stale bytes in the day's segment."""
    pages = all_pages(index, settings.page_size)
    expected = {page_key(page): page for page in pages if not isinstance(page, PreviewPage)}
    drift = PageDrift(segment=Segment.of_day(day, len(expected), per_run))
    drift.previews = [page.id for page in pages if isinstance(page, PreviewPage)]
    snapshot = ListingSnapshot(index)
    # A missing page is rendered too, whatever the segment: some pages may rightly be absent
    # (the news sitemap with nothing in its window).
    drift.missing = sorted(
        page.id
        for key, page in expected.items()
        if key not in stored and render_page(page, snapshot, settings) is not None
    )
    for key in sorted(stored.keys() - expected.keys()):
        if key.startswith(ASSETS_PREFIX):
            continue  # earlier stylesheets stay: cached pages may still name them
        orphan = page_for_key(key)
        if isinstance(orphan, PreviewPage):
            drift.previews.append(orphan.id)
        elif orphan is None:
            drift.stray.append(key)  # no page writes this key: it was put there by hand
        else:
            drift.extra.append(orphan.id)
    compared = _comparison_order(
        page for key, page in expected.items() if key in stored and drift.segment.holds(page)
    )
    articles = [p.slug for p in compared if isinstance(p, ArticlePage)]
    for at, page in enumerate(compared):
        if at < len(articles) and at % _ARTICLE_BATCH == 0:
            snapshot.prefetch(articles[at : at + _ARTICLE_BATCH])
        elif at == len(articles):
            snapshot.prefetch([])
        output = render_page(page, snapshot, settings)
        if output is None:
            drift.extra.append(page.id)
        elif _md5(output.body) != stored[page_key(page)]:
            drift.stale.append(page.id)
    drift.compared = len(compared)
    drift.extra.sort()
    drift.stale.sort()
    drift.previews = sorted(set(drift.previews))
    return drift
