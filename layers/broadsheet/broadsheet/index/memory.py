"""The index in memory: what the offline build renders from. Same entries, no AWS."""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import datetime

from broadsheet.aliases import redirect_target
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.entries import Entry, entries_of, sort_key
from broadsheet.index.ports import IndexedArticle, ListingSlice, SourceVersion
from broadsheet.pages import article_path

_NO_SOURCE = SourceVersion("", 0)


class MemoryIndex:
    """An index held in dicts, built from a set of validated articles at one clock."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._articles: dict[str, IndexedArticle] = {}
        self._profiles: dict[str, AuthorProfile] = {}
        self._listings: dict[str, list[Entry]] = defaultdict(list)
        self._keys: dict[str, list[str]] = defaultdict(list)

    def add_article(self, article: Article) -> None:
        """Index one article (each slug once)."""
        entries = entries_of(article, self._now)
        self._articles[article.slug] = IndexedArticle(
            article=article,
            live=bool(entries),
            sort_key=sort_key(article),
            listings=tuple(e.listing for e in entries),
            source=_NO_SOURCE,
            rev=1,
        )
        for entry in entries:
            keys = self._keys[entry.listing]
            at = bisect.bisect_left(keys, entry.sort_key)
            keys.insert(at, entry.sort_key)
            self._listings[entry.listing].insert(at, entry)

    def add_profile(self, author_slug: str, profile: AuthorProfile) -> None:
        """Index an author's profile."""
        self._profiles[author_slug] = profile

    def articles(self) -> list[IndexedArticle]:
        """Every indexed article, by slug."""
        return [self._articles[slug] for slug in sorted(self._articles)]

    def live_article_slugs(self) -> list[str]:
        """Slugs of every article readers may see, sorted."""
        return sorted(slug for slug, indexed in self._articles.items() if indexed.live)

    def listing_ids(self) -> list[str]:
        """Every listing that has at least one entry."""
        return sorted(k for k, v in self._listings.items() if v)

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article, or None."""
        return self._articles.get(slug)

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """An author's profile, or None."""
        return self._profiles.get(author_slug)

    def alias_target(self, old_slug: str) -> str | None:
        """The slug an old address leads to, by the rule of `broadsheet.aliases`, or None."""
        claimers = [indexed for indexed in self._articles.values() if old_slug in indexed.article.aliases]
        return redirect_target(old_slug, self._articles.get(old_slug), claimers)

    def redirects(self) -> dict[str, str]:
        """The whole alias store this content calls for: old path to new path, by old path."""
        claimers: dict[str, list[IndexedArticle]] = defaultdict(list)
        for indexed in self._articles.values():
            for alias in indexed.article.aliases:
                claimers[alias].append(indexed)
        found = {old: redirect_target(old, self._articles.get(old), held) for old, held in claimers.items()}
        return {article_path(old): article_path(new) for old, new in sorted(found.items()) if new is not None}

    def get_articles(self, slugs: list[str]) -> dict[str, IndexedArticle]:
        """The indexed articles among `slugs`, by slug."""
        return {slug: self._articles[slug] for slug in slugs if slug in self._articles}

    def months(self) -> list[tuple[str, int]]:
        """Every archive month with live articles and how many, oldest first."""
        prefix = "month:"
        return sorted(
            (listing[len(prefix) :], len(keys))
            for listing, keys in self._keys.items()
            if listing.startswith(prefix) and keys
        )

    def count(self, listing: str) -> int:
        """How many entries a listing holds."""
        return len(self._keys.get(listing, ()))

    def position(self, listing: str, sort_key: str) -> int:
        """How many entries of a listing sort before `sort_key`."""
        return bisect.bisect_left(self._keys.get(listing, []), sort_key)

    def newest(self, listing: str, limit: int) -> ListingSlice:
        """The newest `limit` entries of a listing."""
        entries = self._listings.get(listing, [])
        return ListingSlice(tuple(reversed(entries[-limit:])), len(entries))

    def span(self, listing: str, start: int, stop: int) -> ListingSlice:
        """Entries at positions [start, stop) counted from the oldest, returned newest first."""
        entries = self._listings.get(listing, [])
        return ListingSlice(tuple(reversed(entries[start:stop])), len(entries))
