"""The index port: what ingest writes and what plan and render read.

Two adapters implement it: `DynamoIndex` (the deployed table and the local stack) and
`MemoryIndex` (the offline build). Both derive entries with `broadsheet.index.entries`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from broadsheet.contract.media import MediaItem
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.entries import Entry


@dataclass(frozen=True)
class SourceVersion:
    """Which version of a content-bucket object an index item was built from."""

    version_id: str
    modified_ms: int
    # The file's format, which names its key: `articles/<slug>.json` or `articles/<slug>.md`.
    suffix: str = ".json"
    # Who uploaded this version (the S3 notification's `userIdentity.principalId`); "" if unknown.
    uploaded_by: str = ""


@dataclass(frozen=True)
class IndexedArticle:
    """An article as the index holds it."""

    article: Article
    live: bool
    sort_key: str
    listings: tuple[str, ...]
    source: SourceVersion
    rev: int


@dataclass(frozen=True)
class ListingSlice:
    """Some entries of a listing, newest first, and how many the whole listing holds."""

    entries: tuple[Entry, ...]
    total: int


class IndexReader(Protocol):
    """Read access, as the planner and the renderer need it."""

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article, or None if the index does not hold it."""

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """An author's profile, or None."""

    def get_articles(self, slugs: list[str]) -> dict[str, IndexedArticle]:
        """The indexed articles among `slugs`, by slug (missing ones left out)."""

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """The published images among `names`, by name (those not published left out)."""

    def months(self) -> list[tuple[str, int]]:
        """Every archive month with live articles (`2015-12`) and how many, oldest first."""

    def count(self, listing: str) -> int:
        """How many entries a listing holds."""

    def position(self, listing: str, sort_key: str) -> int:
        """How many entries of a listing sort before `sort_key`."""

    def newest(self, listing: str, limit: int) -> ListingSlice:
        """The newest `limit` entries of a listing."""

    def span(self, listing: str, start: int, stop: int) -> ListingSlice:
        """Entries at positions [start, stop) counted from the oldest, returned newest first."""

    def neighbours(self, listing: str, sort_key: str, limit: int, *, older: bool) -> tuple[Entry, ...]:
        """Up to `limit` entries nearest `sort_key` on one side, nearest first, never the entry
        at `sort_key` itself: the older ones (newest first) or the newer ones (oldest first)."""


class Catalog(IndexReader, Protocol):
    """Everything the index holds, for a full rebuild."""

    def live_article_slugs(self) -> list[str]:
        """Slugs of every article readers may see, sorted."""

    def draft_article_slugs(self) -> list[str]:
        """Slugs of every article indexed as a draft (each has a preview), sorted."""

    def listing_ids(self) -> list[str]:
        """Every listing that has at least one entry, sorted."""


class UploadHistory(Protocol):
    """Who uploaded each version of an article the index has held."""

    def uploads(self, slug: str) -> dict[str, str]:
        """Version id to principal, for every indexed version of the article whose uploader was known."""


class IndexWriter(Protocol):
    """Write access, as ingest needs it. Every write is conditional on `expected_rev`."""

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article, or None."""

    def put_article(
        self, article: Article, source: SourceVersion, now: datetime, expected: IndexedArticle | None
    ) -> bool:
        """Store an article and its listing entries atomically; False if `expected` is stale."""

    def delete_article(self, expected: IndexedArticle) -> bool:
        """Remove an article and its entries atomically; False if `expected` is stale."""

    def get_profile_source(self, author_slug: str) -> SourceVersion | None:
        """Which version of a profile file the index holds, if any."""

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """The published images among `names` (an article's missing ones are warned of)."""

    def put_profile(self, author_slug: str, profile: AuthorProfile, source: SourceVersion) -> None:
        """Store an author's profile."""

    def delete_profile(self, author_slug: str) -> None:
        """Remove an author's profile."""


class MediaIndex(Protocol):
    """What the media stage reads and writes of the index, and what the planner asks of it."""

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """The published images among `names`, by name."""

    def get_media_source(self, name: str) -> SourceVersion | None:
        """Which version of `media/<name>` the published image was made from, if any."""

    def put_media(self, item: MediaItem, source: SourceVersion) -> None:
        """Record a published image."""

    def delete_media(self, name: str) -> None:
        """Forget a published image."""

    def media_users(self, name: str) -> list[str]:
        """What shows an image: `article#<slug>` and `author#<slug>`, sorted."""

    def hash_users(self, digest: str) -> list[str]:
        """The names of the published images whose renditions carry `digest`, sorted."""
