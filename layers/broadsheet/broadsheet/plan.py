"""Plan: from one changed index item, the exact pages it affects.

Listings are numbered from the oldest end, so an entry added or removed at position p
shifts only the pages from p's page to the end; appending the newest article touches the
last numbered page and the first page, never older ones.

Many changes planned together (a stream batch during a bulk upload) share that work: the
entries added to or removed from a listing are gathered in `Shifts`, and the listing's pages are
found once, from the oldest of them, when the batch ends. A batch of a hundred new articles thus
reads each listing's length and one position once, not once an article.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broadsheet.index.entries import listed_digest, page_digest
from broadsheet.index.ports import IndexedArticle, IndexReader
from broadsheet.index.related import affected_by
from broadsheet.pages import (
    ARCHIVE,
    FEED_SIZE,
    NEWS_SITEMAP,
    SITEMAP_INDEX,
    AliasPage,
    ArticlePage,
    Listing,
    PreviewPage,
    SitemapPage,
    feeds_of,
    front_of,
    is_pinned_list,
    page_count,
    page_of,
)


@dataclass(frozen=True)
class ArticleState:
    """What the planner needs of one side (old or new) of an article item's change."""

    slug: str
    sort_key: str
    listings: frozenset[str]
    draft: bool = False
    # Fingerprint of what listings show of it (`listed_digest`); None when unknown.
    listed: str | None = None
    # Fingerprint of what its own page shows (`page_digest`, all but the pin); None when unknown.
    page: str | None = None
    # How it is pinned to the fronts its pinned lists name ("lead", "top"), if it is.
    featured: str | None = None

    @property
    def pinned(self) -> frozenset[str]:
        """The pinned lists it is in (`broadsheet.pages.pinned_list`)."""
        return frozenset(x for x in self.listings if is_pinned_list(x))

    @property
    def listed_in(self) -> frozenset[str]:
        """The listings it is in, pinned lists aside."""
        return self.listings - self.pinned


def article_state(image: dict[str, Any] | None) -> ArticleState | None:
    """The planner's view of an article item image (deserialised), or None if absent."""
    if not image or image.get("sk") != "article":
        return None
    return ArticleState(
        slug=str(image["slug"]),
        sort_key=str(image["sort_key"]),
        listings=frozenset(str(x) for x in image.get("listings", [])),
        draft=bool(image.get("draft", False)),
        listed=str(image["listed"]) if image.get("listed") else None,
        page=str(image["page"]) if image.get("page") else None,
        featured=str(image["featured"]) if image.get("featured") else None,
    )


def indexed_state(indexed: IndexedArticle) -> ArticleState:
    """The planner's view of an indexed article, as its index item's image gives it."""
    article, listings = indexed.article, frozenset(indexed.listings)
    return ArticleState(
        slug=article.slug,
        sort_key=indexed.sort_key,
        listings=listings,
        draft=article.status == "draft",
        listed=listed_digest(article),
        page=page_digest(article),
        featured=article.featured if any(is_pinned_list(x) for x in listings) else None,
    )


@dataclass
class Shifts:
    """Entries added to or removed from listings by the changes of one plan: for each listing,
    the oldest sort key that entered or left it, and whether any entry left it."""

    oldest: dict[str, str] = field(default_factory=dict)
    emptied: set[str] = field(default_factory=set)

    def add(self, listing_id: str, sort_key: str, *, removed: bool) -> None:
        """Record an entry at `sort_key` added to (or removed from) a listing."""
        held = self.oldest.get(listing_id)
        self.oldest[listing_id] = sort_key if held is None else min(held, sort_key)
        if removed:
            self.emptied.add(listing_id)

    def pages(self, index: IndexReader, size: int) -> set[str]:
        """The pages the recorded entries shift: in each listing, its first page and every page
        from the oldest entry's page to the end. The page before may have been the last one,
        whose "newer" link changes when a page opens after it; where an entry left, the page
        after the end may have just emptied and must go. Read from the index as it is now,
        each listing's length once and one position."""
        pages: set[str] = set()
        for listing_id, sort_key in sorted(self.oldest.items()):
            listing = Listing.parse(listing_id)
            last = page_count(index.count(listing_id), size)
            first = page_of(index.position(listing_id, sort_key), size)
            numbers = set(range(min(first, last) - 1, last + 1))
            if listing_id in self.emptied:
                numbers.add(last + 1)
            pages.add(listing.page(0).id)
            pages |= {listing.page(n).id for n in numbers if n >= 1}
        return pages


def plan_article(
    old: ArticleState | None, new: ArticleState | None, index: IndexReader, size: int
) -> list[str]:
    """Page ids to re-render after an article item changed from `old` to `new`.

    Positions are read from the index as it is now, which may already hold later changes;
    those changes plan their own pages, so together every shifted page is covered.
    """
    shifts = Shifts()
    pages = plan_article_change(old, new, index, size, shifts)
    return sorted(pages | shifts.pages(index, size))


def plan_article_change(
    old: ArticleState | None, new: ArticleState | None, index: IndexReader, size: int, shifts: Shifts
) -> set[str]:
    """`plan_article` as part of a larger plan: the pages the change affects, but for the listing
    pages its entries shift, which it adds to `shifts` (resolved once for all the plan's changes)."""
    state = new or old
    if state is None:
        return set()
    if old is not None and new is not None and _curation_only(old, new):
        # Pinned, unpinned or re-pinned, nothing else: only the fronts concerned change.
        return _fronts(old, new)
    pages = {ArticlePage(state.slug).id} | _fronts(old, new)
    if (old is not None and old.draft) or (new is not None and new.draft):
        # A draft's preview is written, moved or (once published or deleted) removed.
        pages.add(PreviewPage(state.slug).id)
    if old is None or new is None:
        # An article now holds (or no longer holds) this address: a redirect from it must stop
        # (or may start), whichever article claims it as an alias.
        pages.add(AliasPage(state.slug).id)
    if old is not None and new is not None and _unlisted_change(old, new):
        # Body, corrections or live updates: the article page and the feeds that carry it.
        for listing_id in sorted(new.listed_in):
            if index.count(listing_id) - index.position(listing_id, new.sort_key) <= FEED_SIZE:
                pages |= {feed.id for feed in feeds_of(Listing.parse(listing_id))}
        return pages
    listing_ids = (old.listed_in if old else frozenset()) | (new.listed_in if new else frozenset())
    for listing_id in sorted(listing_ids):
        pages |= _listing_pages(listing_id, old, new, index, size, shifts)
        listing = Listing.parse(listing_id)
        pages |= {feed.id for feed in feeds_of(listing)}
        if listing.kind == "month":
            pages.add(SitemapPage(listing.key).id)
    if listing_ids:
        # The news sitemap shows recent titles; each site-wide page is one page, whatever the
        # size of the site.
        pages.add(NEWS_SITEMAP.id)
    for side in (old, new):
        if side is not None:
            # Articles just after it in a section or tag list it as related (`index.related`).
            neighbours = affected_by(side.slug, side.sort_key, side.listings, index)
            pages |= {ArticlePage(slug).id for slug in neighbours}
    if _moved(old, new):
        # Joining or leaving a month changes the archive's counts and maybe the shard list.
        pages |= {ARCHIVE.id, SITEMAP_INDEX.id}
    return pages


def _fronts(old: ArticleState | None, new: ArticleState | None) -> set[str]:
    """The first pages whose pinned stories change: those it joins or leaves, and all it is
    pinned to when its pin's kind or anything listings show of it changes."""
    was = old.pinned if old else frozenset()
    now = new.pinned if new else frozenset()
    changed = was ^ now
    if old is None or new is None or (old.featured, old.listed) != (new.featured, new.listed):
        changed |= was | now
    return {front_of(x).id for x in changed}


def _curation_only(old: ArticleState, new: ArticleState) -> bool:
    """Whether at most the pin changed: its own page and its listings show what they showed."""
    if old.draft or new.draft or old.page is None or old.page != new.page:
        return False
    return _unlisted_change(old, new)


def _unlisted_change(old: ArticleState, new: ArticleState) -> bool:
    """Whether the change left everything listings show of the article as it was (the pinned
    stories of the fronts aside: `_fronts` covers those)."""
    return (
        old.listed is not None
        and old.listed == new.listed
        and old.sort_key == new.sort_key
        and old.listed_in == new.listed_in
    )


def _moved(old: ArticleState | None, new: ArticleState | None) -> bool:
    """Whether the change added, removed or re-dated the article's entries."""
    if old is None or new is None:
        present = old or new
        return present is not None and bool(present.listed_in)
    return old.sort_key != new.sort_key or old.listed_in != new.listed_in


def plan_alias(old: str) -> list[str]:
    """Page ids to sync after an alias item changed: the alias itself, in the edge's store."""
    return [AliasPage(old).id]


def plan_media(users: list[str], index: IndexReader, size: int) -> list[str]:
    """Page ids to re-render after an image arrived, changed or went: those of everything that
    shows it (`article#<slug>`, `author#<slug>`, as the index's use items name them), each as an
    in-place change (its article page, the listing pages that hold it, their feeds)."""
    slugs = [u.removeprefix("article#") for u in users if u.startswith("article#")]
    pages: set[str] = set()
    for indexed in index.get_articles(slugs).values():
        state = ArticleState(indexed.article.slug, indexed.sort_key, frozenset(indexed.listings))
        pages.update(plan_article(state, state, index, size))
    for user in users:
        if user.startswith("author#"):
            pages.update(plan_profile(user.removeprefix("author#")))
    return sorted(pages)


def plan_profile(author_slug: str) -> list[str]:
    """Page ids to re-render after an author's profile changed: the author page shows it."""
    return [Listing("author", author_slug).page(0).id]


def _listing_pages(
    listing_id: str,
    old: ArticleState | None,
    new: ArticleState | None,
    index: IndexReader,
    size: int,
    shifts: Shifts,
) -> set[str]:
    """A listing's pages a change affects: the page holding an entry changed in place, at once;
    an entry added or removed (or moved) goes to `shifts`, which finds the pages it shifts."""
    listing = Listing.parse(listing_id)
    was = old is not None and listing_id in old.listings
    now = new is not None and listing_id in new.listings
    if was and now and old is not None and new is not None and old.sort_key == new.sort_key:
        # Changed in place: only the page holding it (and the first page, which shows the newest).
        number = page_of(index.position(listing_id, new.sort_key), size)
        return {listing.page(0).id} | ({listing.page(number).id} if number >= 1 else set())
    for state, present, removed in ((new, now, False), (old, was, True)):
        if present and state is not None:
            shifts.add(listing_id, state.sort_key, removed=removed)
    return set()
