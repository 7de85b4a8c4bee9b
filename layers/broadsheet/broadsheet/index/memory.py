"""The index in memory: what the offline build renders from, and what the unit tests ingest into.

The same entries and the same rules as the DynamoDB index, with its conditional writes (a write
names the revision it expects and is refused if the index moved on), no AWS."""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import datetime

from broadsheet.aliases import entry_value, redirect_target
from broadsheet.contract.addresses import address_path
from broadsheet.contract.media import MediaItem
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.entries import Entry, entries_of, sort_key
from broadsheet.index.ports import IndexedArticle, ListingSlice, SourceVersion

_NO_SOURCE = SourceVersion("", 0)


class MemoryIndex:
    """An index held in dicts: built from a set of validated articles at one clock (the offline
    build), or written to through the index writer's conditional interface (ingest)."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._articles: dict[str, IndexedArticle] = {}
        self._profiles: dict[str, tuple[AuthorProfile, SourceVersion]] = {}
        self._listings: dict[str, list[Entry]] = defaultdict(list)
        self._keys: dict[str, list[str]] = defaultdict(list)
        self._media: dict[str, tuple[MediaItem, SourceVersion]] = {}
        self._uploads: dict[str, dict[str, str]] = defaultdict(dict)

    def add_article(self, article: Article) -> None:
        """Index one article at the index's clock (each slug once)."""
        self._store(article, _NO_SOURCE, self._now, rev=1)

    def add_profile(self, author_slug: str, profile: AuthorProfile) -> None:
        """Index an author's profile."""
        self._profiles[author_slug] = (profile, _NO_SOURCE)

    def add_media(self, item: MediaItem) -> None:
        """Index a published image."""
        self._media[item.name] = (item, _NO_SOURCE)

    # -- MediaIndex: what the media stage does

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """The published images among `names`, by name."""
        return {name: self._media[name][0] for name in names if name in self._media}

    def get_media_source(self, name: str) -> SourceVersion | None:
        """Which version of `media/<name>` the published image was made from, if any."""
        held = self._media.get(name)
        return held[1] if held else None

    def put_media(self, item: MediaItem, source: SourceVersion) -> None:
        """Record a published image."""
        self._media[item.name] = (item, source)

    def delete_media(self, name: str) -> None:
        """Forget a published image."""
        self._media.pop(name, None)

    def hash_users(self, digest: str) -> list[str]:
        """The names of the published images whose renditions carry `digest`, sorted."""
        return sorted(name for name, (item, _) in self._media.items() if item.hash == digest)

    def media_users(self, name: str) -> list[str]:
        """What shows an image: `article#<slug>` and `author#<slug>`, sorted."""
        articles = [f"article#{s}" for s, held in self._articles.items() if name in held.article.media_names]
        authors = [
            f"author#{slug}"
            for slug, (profile, _) in self._profiles.items()
            if profile.portrait is not None and profile.portrait.name == name
        ]
        return sorted(articles + authors)

    def media(self) -> list[MediaItem]:
        """Every published image, by name."""
        return [self._media[name][0] for name in sorted(self._media)]

    # -- IndexWriter: what ingest does, conditional on the revision it read

    def put_article(
        self, article: Article, source: SourceVersion, now: datetime, expected: IndexedArticle | None
    ) -> bool:
        """Store an article and its entries if the index still holds `expected`."""
        if not self._may_write(article.slug, expected):
            return False
        if expected is not None:
            self._drop_entries(expected)
        self._store(article, source, now, rev=(expected.rev if expected else 0) + 1)
        if source.uploaded_by and source.version_id:
            self._uploads[article.slug][source.version_id] = source.uploaded_by
        return True

    def uploads(self, slug: str) -> dict[str, str]:
        """Version id to principal, for every indexed version of the article whose uploader was known."""
        return dict(self._uploads.get(slug, {}))

    def delete_article(self, expected: IndexedArticle) -> bool:
        """Remove an article and its entries if the index still holds `expected`."""
        if not self._may_write(expected.article.slug, expected):
            return False
        self._drop_entries(expected)
        del self._articles[expected.article.slug]
        return True

    def get_profile_source(self, author_slug: str) -> SourceVersion | None:
        """Which version of a profile file the index holds, if any."""
        held = self._profiles.get(author_slug)
        return held[1] if held else None

    def put_profile(self, author_slug: str, profile: AuthorProfile, source: SourceVersion) -> None:
        """Store an author's profile."""
        self._profiles[author_slug] = (profile, source)

    def delete_profile(self, author_slug: str) -> None:
        """Remove an author's profile."""
        self._profiles.pop(author_slug, None)

    def _may_write(self, slug: str, expected: IndexedArticle | None) -> bool:
        held = self._articles.get(slug)
        if expected is None:
            return held is None
        return held is not None and held.rev == expected.rev

    def _store(self, article: Article, source: SourceVersion, now: datetime, rev: int) -> None:
        entries = entries_of(article, now)
        self._articles[article.slug] = IndexedArticle(
            article=article,
            live=bool(entries),
            sort_key=sort_key(article),
            listings=tuple(e.listing for e in entries),
            source=source,
            rev=rev,
        )
        for entry in entries:
            keys = self._keys[entry.listing]
            at = bisect.bisect_left(keys, entry.sort_key)
            keys.insert(at, entry.sort_key)
            self._listings[entry.listing].insert(at, entry)

    def _drop_entries(self, indexed: IndexedArticle) -> None:
        for listing in indexed.listings:
            keys = self._keys[listing]
            at = bisect.bisect_left(keys, indexed.sort_key)
            if at < len(keys) and keys[at] == indexed.sort_key:
                del keys[at]
                del self._listings[listing][at]

    # -- IndexReader and Catalog

    def articles(self) -> list[IndexedArticle]:
        """Every indexed article, by slug."""
        return [self._articles[slug] for slug in sorted(self._articles)]

    def profiles(self) -> dict[str, AuthorProfile]:
        """Every author profile, by author slug."""
        return {slug: held[0] for slug, held in sorted(self._profiles.items())}

    def live_article_slugs(self) -> list[str]:
        """Slugs of every article readers may see, sorted."""
        return sorted(slug for slug, indexed in self._articles.items() if indexed.live)

    def draft_article_slugs(self) -> list[str]:
        """Slugs of every article indexed as a draft, sorted."""
        return sorted(slug for slug, held in self._articles.items() if held.article.status == "draft")

    def listing_ids(self) -> list[str]:
        """Every listing that has at least one entry."""
        return sorted(k for k, v in self._listings.items() if v)

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article, or None."""
        return self._articles.get(slug)

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """An author's profile, or None."""
        held = self._profiles.get(author_slug)
        return held[0] if held else None

    def alias_target(self, old: str) -> str | None:
        """The slug an old address leads to, by the rule of `broadsheet.aliases`, or None."""
        claimers = [indexed for indexed in self._articles.values() if old in indexed.article.aliases]
        return redirect_target(old, self._articles.get(old), claimers)

    def redirects(self) -> dict[str, str]:
        """The whole alias store this content calls for: old path to the target's slug."""
        claimers: dict[str, list[IndexedArticle]] = defaultdict(list)
        for indexed in self._articles.values():
            for alias in indexed.article.aliases:
                claimers[alias].append(indexed)
        found = {old: redirect_target(old, self._articles.get(old), held) for old, held in claimers.items()}
        return {
            address_path(old): entry_value(old, new) for old, new in sorted(found.items()) if new is not None
        }

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

    def neighbours(self, listing: str, sort_key: str, limit: int, *, older: bool) -> tuple[Entry, ...]:
        """Up to `limit` entries nearest `sort_key` on one side, nearest first (not its own)."""
        entries, keys = self._listings.get(listing, []), self._keys.get(listing, [])
        if older:
            at = bisect.bisect_left(keys, sort_key)
            return tuple(reversed(entries[max(0, at - limit) : at]))
        at = bisect.bisect_right(keys, sort_key)
        return tuple(entries[at : at + limit])
