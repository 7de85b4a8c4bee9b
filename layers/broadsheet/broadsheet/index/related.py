"""Related articles: what an article page lists under "Related", from the index alone.

An article's related articles are the ones published just before it that share its section or
one of its tags: the newest `RELATED_COUNT` of them, ties ordered by slug (the sort key ends with
it). Looking only backwards from the article is what keeps every page exact and the work
bounded: publishing the newest article changes no older article's list (nothing is newer than it),
so a publish rewrites no old page for it, while a change to an older article (a backdated
publish, a retitle, an unpublish) changes the lists of at most `RELATED_COUNT` articles after
it in each of its tag and section listings, which the planner re-renders (`affected_by`). The
offline build calls the same function on the same index state, so the two agree to the byte.
"""

from __future__ import annotations

from broadsheet.index.entries import Entry
from broadsheet.index.ports import IndexReader
from broadsheet.pages import Listing, is_pinned_list

RELATED_COUNT = 4
RELATED_KINDS = ("section", "tag")


def related_listings(listings: tuple[str, ...] | frozenset[str]) -> list[str]:
    """The listings (section and tags) whose articles count as related, sorted."""
    return sorted(x for x in listings if not is_pinned_list(x) and Listing.parse(x).kind in RELATED_KINDS)


def related_entries(
    slug: str, sort_key: str, listings: tuple[str, ...] | frozenset[str], index: IndexReader
) -> list[Entry]:
    """Up to RELATED_COUNT articles published before this one in its section or tags, newest first."""
    found: dict[str, Entry] = {}
    for listing in related_listings(listings):
        for entry in index.neighbours(listing, sort_key, RELATED_COUNT, older=True):
            if entry.slug != slug:
                found.setdefault(entry.slug, entry)
    return sorted(found.values(), key=lambda e: e.sort_key, reverse=True)[:RELATED_COUNT]


def affected_by(slug: str, sort_key: str, listings: frozenset[str], index: IndexReader) -> set[str]:
    """Slugs of the articles whose related list may change when this article enters, leaves or
    changes at `sort_key` in `listings`: the RELATED_COUNT after it in each."""
    found: set[str] = set()
    for listing in related_listings(listings):
        found |= {e.slug for e in index.neighbours(listing, sort_key, RELATED_COUNT, older=False)}
    found.discard(slug)
    return found
