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
import os
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError
from broadsheet.index import IndexReader
from broadsheet.pages import (
    STATIC_KEYS,
    STYLESHEET,
    ArticlePage,
    FeedPage,
    ListingPage,
    Page,
    SitemapPage,
    StaticPage,
    object_key,
    page_for_key,
)
from broadsheet.render import Output, render_page, stylesheet
from broadsheet.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

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


class S3SiteStore:
    """The site bucket."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def stored(self, key: str) -> Stored | None:
        """The stored object's digest and render time (from its metadata), or None if absent."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise TransientError(f"site read failed for {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"site read failed for {key}: {exc}") from exc
        meta = head.get("Metadata", {})
        rendered = meta.get(RENDERED_META, "")
        return Stored(meta.get(DIGEST_META, ""), int(rendered) if rendered.isdigit() else None)

    def put(self, output: Output, rendered_at: int | None = None) -> None:
        """Store a file with its type, cache lifetime, digest and render time."""
        meta = {DIGEST_META: digest(output.body)}
        if rendered_at is not None:
            meta[RENDERED_META] = str(rendered_at)
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=check_key(output.key),
                Body=output.body,
                ContentType=output.content_type,
                CacheControl=output.cache_control,
                Metadata=meta,
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site write failed for {output.key}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove an object if present."""
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=check_key(key))
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site delete failed for {key}: {exc}") from exc

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key in the site bucket (under `prefix`)."""
        found: list[str] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            ):
                found += [o["Key"] for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site listing failed under {prefix!r}: {exc}") from exc
        return sorted(found)

    def etags(self) -> dict[str, str]:
        """Every key in the site bucket and its ETag (unquoted; a single-part PUT's is the MD5 of
        its bytes): what reconcile compares expected pages with, from the listing alone."""
        found: dict[str, str] = {}
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket):
                found |= {o["Key"]: o.get("ETag", "").strip('"') for o in page.get("Contents", [])}
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site listing failed: {exc}") from exc
        return found

    def read(self, key: str) -> bytes:
        """A stored object's bytes."""
        return self._s3.get_object(Bucket=self._bucket, Key=check_key(key))["Body"].read()


class DirSiteStore:
    """A folder holding the site, for the offline build and previews."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self._root / check_key(key)).resolve()
        if not path.is_relative_to(self._root):
            raise UnsafeKey(key)
        return path

    def stored(self, key: str) -> Stored | None:
        """The stored file's digest, or None if absent (a folder keeps no render times)."""
        path = self._path(key)
        return Stored(digest(path.read_bytes())) if path.is_file() else None

    def put(self, output: Output, rendered_at: int | None = None) -> None:
        """Write a file, creating its folders."""
        path = self._path(output.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(output.body)

    def delete(self, key: str) -> None:
        """Remove a file if present."""
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every file below the root (whose key starts with `prefix`), as keys."""
        return sorted(
            key
            for p in self._root.rglob("*")
            if p.is_file()
            and p.name != BUILD_MARKER
            and (key := p.relative_to(self._root).as_posix()).startswith(prefix)
        )


class FolderWriter:
    """A whole build written into a folder: the folder is walked once, each subfolder created once,
    and a file rewritten only when its bytes differ. Refuses what `DirSiteStore` refuses; if the
    folder holds a symbolic link, every path is resolved and checked as `DirSiteStore` does."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._folders: set[str] = set()
        self._files: set[str] = set()
        self._linked = False
        for folder, subfolders, files in os.walk(self._root):
            relative = os.path.relpath(folder, self._root)
            self._folders.add("" if relative == "." else relative.replace(os.sep, "/"))
            for name in subfolders + files:
                if os.path.islink(os.path.join(folder, name)):
                    self._linked = True
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            self._files.update(prefix + name for name in files if name != BUILD_MARKER)

    def keys(self) -> set[str]:
        """Every file the folder held when the writer was made, as keys."""
        return set(self._files)

    def _path(self, key: str) -> str:
        path = os.path.join(self._root, check_key(key))
        if self._linked and not Path(path).resolve().is_relative_to(self._root):
            raise UnsafeKey(key)
        return path

    def write(self, output: Output) -> Change:
        """Write a file unless it already holds exactly these bytes."""
        path = self._path(output.key)
        if output.key in self._files:
            with open(path, "rb") as stored:
                if stored.read() == output.body:
                    return Change.UNCHANGED
        else:
            folder = output.key.rpartition("/")[0]
            if folder not in self._folders:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                self._folders.add(folder)
        with open(path, "wb") as out:
            out.write(output.body)
        return Change.WRITTEN

    def delete(self, key: str) -> None:
        """Remove a file if present."""
        Path(self._path(key)).unlink(missing_ok=True)


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
    if isinstance(page, (ArticlePage, ListingPage)):
        return object_key(page.path)
    if isinstance(page, (FeedPage, SitemapPage)):
        return page.key
    if isinstance(page, StaticPage) and page.name in STATIC_KEYS:
        return STATIC_KEYS[page.name]
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
