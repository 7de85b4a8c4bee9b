"""Plan: from one changed index item, the exact pages it affects.

Listings are numbered from the oldest end, so an entry added or removed at position p
shifts only the pages from p's page to the end; appending the newest article touches the
last numbered page and the first page, never older ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broadsheet.index import IndexReader
from broadsheet.pages import ArticlePage, Listing, page_count, page_of


@dataclass(frozen=True)
class ArticleState:
    """What the planner needs of one side (old or new) of an article item's change."""

    slug: str
    sort_key: str
    listings: frozenset[str]


def article_state(image: dict[str, Any] | None) -> ArticleState | None:
    """The planner's view of an article item image (deserialised), or None if absent."""
    if not image or image.get("sk") != "article":
        return None
    return ArticleState(
        slug=str(image["slug"]),
        sort_key=str(image["sort_key"]),
        listings=frozenset(str(x) for x in image.get("listings", [])),
    )


def plan_article(
    old: ArticleState | None, new: ArticleState | None, index: IndexReader, size: int
) -> list[str]:
    """Page ids to re-render after an article item changed from `old` to `new`."""
    state = new or old
    if state is None:
        return []
    pages = {ArticlePage(state.slug).id}
    for listing_id in sorted((old.listings if old else frozenset()) | (new.listings if new else frozenset())):
        pages |= _listing_pages(listing_id, old, new, index, size)
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
    keys = {s.sort_key for s, present in ((old, was), (new, now)) if s is not None and present}
    total = index.count(listing_id)
    last = page_count(total, size)
    first = min(page_of(index.position(listing_id, key), size) for key in keys)
    pages = {listing.page(0).id}
    if was and now and old is not None and new is not None and old.sort_key == new.sort_key:
        # Changed in place: only the page holding it (and the first page, above).
        if first <= last:
            pages.add(listing.page(first).id)
        return pages
    # Added, removed or moved: every page from its position on shifts. One page beyond the
    # end may have just emptied, and the page before the last changes its "newer" link
    # when a last page appears or disappears.
    for number in range(max(1, min(first, last - 1)), last + 2):
        pages.add(listing.page(number).id)
    return pages
