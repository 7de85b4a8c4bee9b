"""Plan: from one changed index item, the exact pages it affects.

Listings are numbered from the oldest end, so an entry added or removed at position p
shifts only the pages from p's page to the end; appending the newest article touches the
last numbered page and the first page, never older ones.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def plan_article(
    old: ArticleState | None, new: ArticleState | None, index: IndexReader, size: int
) -> list[str]:
    """Page ids to re-render after an article item changed from `old` to `new`.

    Positions are read from the index as it is now, which may already hold later changes;
    those changes plan their own pages, so together every shifted page is covered.
    """
    state = new or old
    if state is None:
        return []
    if old is not None and new is not None and _curation_only(old, new):
        # Pinned, unpinned or re-pinned, nothing else: only the fronts concerned change.
        return sorted(_fronts(old, new))
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
        return sorted(pages)
    listing_ids = (old.listed_in if old else frozenset()) | (new.listed_in if new else frozenset())
    for listing_id in sorted(listing_ids):
        pages |= _listing_pages(listing_id, old, new, index, size)
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
    return sorted(pages)


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
    listing_id: str, old: ArticleState | None, new: ArticleState | None, index: IndexReader, size: int
) -> set[str]:
    listing = Listing.parse(listing_id)
    was = old is not None and listing_id in old.listings
    now = new is not None and listing_id in new.listings
    total = index.count(listing_id)
    last = page_count(total, size)
    numbers: set[int] = set()
    if was and now and old is not None and new is not None and old.sort_key == new.sort_key:
        # Changed in place: only the page holding it.
        numbers.add(page_of(index.position(listing_id, new.sort_key), size))
    else:
        # Added or removed here: every page from its position to the end shifts by one. The
        # page before may have been the last one, whose "newer" link changes when a page opens
        # after it; a page after the end may have just emptied and must go.
        for state, present in ((new, now), (old, was)):
            if present and state is not None:
                first = page_of(index.position(listing_id, state.sort_key), size)
                numbers |= set(range(min(first, last) - 1, last + 1))
        if was:
            numbers.add(last + 1)
    pages = {listing.page(0).id}
    pages |= {listing.page(n).id for n in numbers if n >= 1}
    return pages
