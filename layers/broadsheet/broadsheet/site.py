"""Writing the site: put a page only when its bytes changed, delete pages that should not exist.

`SiteStore` is the port; `S3SiteStore` writes the site bucket, `DirSiteStore` a folder (the
offline build). Both refuse keys that would land outside the site.

A page in the site bucket also carries when the render that wrote it began. A render request
sent before that moment (less a margin) is already answered by the stored page, and is not
rendered again: this is what coalesces the renders of a busy page (the home page during a bulk
upload) across batches, as a batch coalesces its own requests for one page.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from broadsheet.index.ports import IndexReader
from broadsheet.pages import (
    STYLESHEET,
    ListingPage,
    Page,
    PreviewPage,
    object_key,
    page_for_key,
)
from broadsheet.preview import PREVIEW_PREFIX, parse_preview_key
from broadsheet.render.html import Output, render_page, stylesheet
from broadsheet.settings import Settings

DIGEST_META = "sha256"
# When the render that wrote a page began reading the index: milliseconds since the epoch.
RENDERED_META = "rendered-at"
# A request sent this long before a stored page's render began is answered by that page. Every
# index change a request stands for was committed before the request was sent, and renders read
# the index with strongly consistent reads; the margin covers the clocks of SQS (which stamps the
# request) and of the function (which stamps the render), which AWS keeps within milliseconds.
COALESCE_MARGIN_MS = 1000
# S3 allows 1,024 bytes per key; file systems 255 bytes per path segment.
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
# Marks a folder as an offline build, so a rebuild may remove files no page produces.
BUILD_MARKER = ".broadsheet-build"


class UnsafeKey(ValueError):
    """A key that would escape the site's root; never written."""


def check_key(key: str) -> str:
    """Return `key` if it is a plain relative path inside the site, else raise UnsafeKey."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in {"", ".", ".."} for p in parts):
        raise UnsafeKey(key)
    if any(ord(c) < 0x20 or c == "\x7f" for c in key):
        raise UnsafeKey(key)
    if len(key.encode("utf-8")) > MAX_KEY_BYTES or any(
        len(p.encode("utf-8")) > MAX_SEGMENT_BYTES for p in parts
    ):
        raise UnsafeKey(key)
    return key


def digest(body: bytes) -> str:
    """The content digest a stored page carries, to skip rewriting identical bytes."""
    return hashlib.sha256(body).hexdigest()


def wall_clock_ms() -> int:
    """The wall clock in milliseconds since the epoch, as SQS stamps a message it receives."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Stored:
    """What a stored file says of itself: its content digest (empty if it carries none: put there
    by hand) and when the render that wrote it began (None if unknown)."""

    digest: str
    rendered_at: int | None = None

    def answers(self, requested_at: int | None) -> bool:
        """Whether this file already holds everything a render request sent at `requested_at`
        (milliseconds since the epoch) asks for."""
        if requested_at is None or self.rendered_at is None or not self.digest:
            return False
        return self.rendered_at > requested_at + COALESCE_MARGIN_MS


class SiteStore(Protocol):
    """Where the site's files live."""

    def stored(self, key: str) -> Stored | None:
        """What the stored file says of itself, or None if absent."""

    def put(self, output: Output, rendered_at: int | None = None) -> None:
        """Store a file; `rendered_at` is when the render that made it began."""

    def delete(self, key: str) -> None:
        """Remove a file if present."""

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every stored key (under `prefix`)."""


class Change(Enum):
    """What publishing one page did."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"
    # Not rendered: the stored page was rendered after the request was sent.
    COALESCED = "coalesced"
    DELETED = "deleted"
    ABSENT = "absent"


@dataclass(frozen=True)
class PageResult:
    """The outcome of publishing one page."""

    page_id: str
    key: str
    change: Change
    existed: bool


def page_key(page: Page) -> str:
    """The key a page is stored under, whether or not it exists now."""
    if page.key is not None:
        return page.key
    if page == STYLESHEET:
        return stylesheet().key
    raise ValueError(f"{page.id} is not stored in the site")


def stored_pages_beyond(page: ListingPage, store: SiteStore) -> list[ListingPage]:
    """The stored numbered pages of `page`'s listing past `page` (which a listing that shrank by
    more than a page at once may leave behind), in order."""
    folder = object_key(page.listing.base_path).removesuffix("index.html") + "page/"
    found = [page_for_key(key) for key in store.list_keys(folder)]
    return sorted(
        (
            p
            for p in found
            if isinstance(p, ListingPage) and p.listing == page.listing and p.number > page.number
        ),
        key=lambda p: p.number,
    )


def publish_page(
    page: Page, index: IndexReader, store: SiteStore, settings: Settings, requested_at: int | None = None
) -> PageResult:
    """Render one page and bring the store in line: write if changed, delete if gone. A request
    sent at `requested_at` that the stored page already answers is not rendered again."""
    if isinstance(page, PreviewPage):
        return publish_preview(page, index, store, settings)
    began = wall_clock_ms()
    key = page_key(page)
    stored = store.stored(key)
    if stored is not None and stored.answers(requested_at):
        return PageResult(page.id, key, Change.COALESCED, existed=True)
    output = render_page(page, index, settings)
    if output is None:
        if stored is None:
            return PageResult(page.id, key, Change.ABSENT, existed=False)
        store.delete(key)
        return PageResult(page.id, key, Change.DELETED, existed=True)
    if output.key != key:
        raise ValueError(f"{page.id} rendered as {output.key}, stored as {key}")
    if stored is not None and stored.digest == digest(output.body):
        return PageResult(page.id, key, Change.UNCHANGED, existed=True)
    store.put(output, rendered_at=began)
    return PageResult(page.id, key, Change.WRITTEN, existed=stored is not None)


def stored_previews(slug: str, store: SiteStore) -> list[str]:
    """The keys of every stored preview of `slug` (old tokens included), sorted."""
    return sorted(
        key
        for key in store.list_keys(PREVIEW_PREFIX)
        if (found := parse_preview_key(key)) is not None and found[1] == slug
    )


def publish_preview(
    page: PreviewPage, index: IndexReader, store: SiteStore, settings: Settings
) -> PageResult:
    """Bring a draft's preview in line: write it at its current signed address and remove it from
    any other (an earlier token, or every address once published, deleted or expired).

    Previews are few (one per draft), so listing the preview folder is cheap; it is how an address
    whose token only the secret can compute is found again."""
    output = render_page(page, index, settings)
    stale = [key for key in stored_previews(page.slug, store) if output is None or key != output.key]
    for key in stale:
        store.delete(key)
    if output is None:
        key = stale[0] if stale else ""
        return PageResult(page.id, key, Change.DELETED if stale else Change.ABSENT, existed=bool(stale))
    stored = store.stored(output.key)
    if stored is not None and stored.digest == digest(output.body):
        return PageResult(page.id, output.key, Change.UNCHANGED, existed=True)
    store.put(output, rendered_at=wall_clock_ms())
    return PageResult(page.id, output.key, Change.WRITTEN, existed=stored is not None)
