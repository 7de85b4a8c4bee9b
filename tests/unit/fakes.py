"""In-memory test doubles for the content bucket and the index; builders; an HTML reader.

`FakeContentStore` keeps every version of every key, as a versioned bucket does, and can be
told to let a "concurrent" upload land between ingest's read and its final version check.
`FakeIndex` is an `IndexWriter` and a `Catalog` (an `IndexReader`) with DynamoIndex's revision rules:
`put_article` and `delete_article` return False when `expected` is not what the index holds,
and can be told to lose a race a number of times. `elements` reads rendered HTML the way a
browser's parser would, so tests check tags and attributes rather than substrings.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from broadsheet.adapters.s3_content import ContentObject
from broadsheet.contract.files import report_key
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.memory import MemoryIndex
from broadsheet.index.ports import IndexedArticle, SourceVersion

BASE_TIME_MS = 1_450_000_000_000


# -- builders --------------------------------------------------------------------------------


def article_doc(slug: str, **changes: Any) -> dict[str, Any]:
    """A valid article file's fields (the slug is not among them), with some replaced."""
    doc: dict[str, Any] = {
        "title": f"Title of {slug}",
        "teaser": f"Teaser of {slug}.",
        "authors": ["Anna Writer"],
        "published_at": "2015-12-21T22:00:00+03:00",
        "body": f"Body of {slug}.\n\n## A sub-heading\n\nMore text.\n",
    }
    doc.update(changes)
    return doc


def article_bytes(slug: str, **changes: Any) -> bytes:
    """A valid article file, as an editor would upload it."""
    return json.dumps(article_doc(slug, **changes), ensure_ascii=False).encode("utf-8")


def make_article(slug: str, **changes: Any) -> Article:
    """A validated article, as the reader would produce it from its file."""
    return Article.model_validate({**article_doc(slug, **changes), "slug": slug})


# -- the content bucket ----------------------------------------------------------------------


@dataclass
class FakeContentStore:
    """A versioned content bucket in memory, with its reports."""

    objects: dict[str, ContentObject] = field(default_factory=dict)
    reports: dict[str, bytes] = field(default_factory=dict)
    # Warning reports, parsed, by the key they are about.
    warnings: dict[str, Any] = field(default_factory=dict)
    gets: int = 0
    # Called after every `get`, before ingest checks the version: a concurrent editor.
    after_get: Callable[[str], object] | None = None
    _versions: int = 0
    _clock_ms: int = BASE_TIME_MS

    def upload(self, key: str, body: bytes, modified_ms: int | None = None) -> ContentObject:
        """Store a new current version of `key` (later than every earlier one unless told)."""
        self._versions += 1
        self._clock_ms += 1000
        obj = ContentObject(key, body, f"v{self._versions}", modified_ms or self._clock_ms)
        self.objects[key] = obj
        return obj

    def remove(self, key: str) -> None:
        """Delete `key` (a delete marker: the key no longer has a current version)."""
        self.objects.pop(key, None)

    def report(self, key: str) -> dict[str, Any] | None:
        """The parsed error report for `key`, if one is stored."""
        body = self.reports.get(report_key(key))
        return None if body is None else dict(json.loads(body))

    # ContentStore

    def get(self, key: str, limit: int = 0) -> ContentObject | None:
        """The current version of a file, or None (whole: `limit` is the S3 store's concern)."""
        self.gets += 1
        obj = self.objects.get(key)
        if self.after_get is not None:
            self.after_get(key)
        return obj

    def current_version(self, key: str) -> str | None:
        """The current version id of a file, or None."""
        obj = self.objects.get(key)
        return obj.version_id if obj else None

    def put_report(self, key: str, body: bytes) -> None:
        """Write the error report for `key`."""
        self.reports[report_key(key)] = body

    def clear_report(self, key: str) -> None:
        """Remove the error report for `key`, if any."""
        self.reports.pop(report_key(key), None)

    def put_warnings(self, key: str, body: bytes) -> None:
        """Write the warning report for `key`."""
        self.warnings[key] = json.loads(body)

    def clear_warnings(self, key: str) -> None:
        """Remove the warning report for `key`."""
        self.warnings.pop(key, None)

    def keys(self, prefix: str) -> list[str]:
        """Every key under a prefix."""
        return sorted(k for k in self.objects if k.startswith(prefix))


# -- the index -------------------------------------------------------------------------------


class FakeIndex(MemoryIndex):
    """The in-memory index, counting its conditional writes and losing races on request."""

    def __init__(self, now: datetime | None = None) -> None:
        super().__init__(now or datetime(2026, 11, 30, 12, tzinfo=UTC))
        # How many of the next conditional writes lose a race (return False without writing).
        self.lose_races = 0
        self.attempts = 0
        self.writes = 0

    def put_article(
        self, article: Article, source: SourceVersion, now: datetime, expected: IndexedArticle | None
    ) -> bool:
        """Store an article if the index still holds `expected`; count the write."""
        written = super().put_article(article, source, now, expected)
        self.writes += written
        return written

    def delete_article(self, expected: IndexedArticle) -> bool:
        """Remove an article if the index still holds `expected`; count the write."""
        deleted = super().delete_article(expected)
        self.writes += deleted
        return deleted

    def put_profile(self, author_slug: str, profile: AuthorProfile, source: SourceVersion) -> None:
        """Store an author's profile; count the write."""
        super().put_profile(author_slug, profile, source)
        self.writes += 1

    def delete_profile(self, author_slug: str) -> None:
        """Remove an author's profile; count the write."""
        super().delete_profile(author_slug)
        self.writes += 1

    def _may_write(self, slug: str, expected: IndexedArticle | None) -> bool:
        self.attempts += 1
        if self.lose_races > 0:
            self.lose_races -= 1
            return False
        return super()._may_write(slug, expected)


# -- reading rendered HTML -------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    """One element of a rendered page: its tag, attributes and the text inside it."""

    tag: str
    attrs: dict[str, str]
    text: str = ""

    def has_class(self, name: str) -> bool:
        """Whether the element carries the class `name`."""
        return name in self.attrs.get("class", "").split()


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def elements(html: bytes | str) -> list[Element]:
    """Every element of an HTML document or fragment, in document order, with its text."""
    collector = _Collector()
    collector.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    collector.close()
    return collector.elements


def select(html: bytes | str, tag: str, css_class: str | None = None) -> list[Element]:
    """The elements with a tag (and a class, if given)."""
    return [e for e in elements(html) if e.tag == tag and (css_class is None or e.has_class(css_class))]


class MemoryAliases:
    """An alias store in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._map: dict[str, str] = {}

    def put(self, path: str, target: str) -> None:
        """Redirect `path` to `target`."""
        with self._lock:
            self._map[path] = target

    def delete(self, path: str) -> None:
        """Stop redirecting `path`."""
        with self._lock:
            self._map.pop(path, None)

    def mapping(self) -> dict[str, str]:
        """A copy of the whole map."""
        with self._lock:
            return dict(self._map)


class MemoryAsks:
    """Asked pages' marks in memory (`broadsheet.asked`), with the same conditions as the index
    table's."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[str, int]] = {}

    def ask(self, page_ids: Iterable[str], by: str, at: int, stale_before: int) -> set[str]:
        """Mark each page not marked by another plan since `stale_before`."""
        marked: set[str] = set()
        for page_id in page_ids:
            held = self.marks.get(page_id)
            if held is None or held[0] == by or held[1] < stale_before:
                self.marks[page_id] = (by, at)
                marked.add(page_id)
        return marked

    def release(self, page_ids: Iterable[str], by: str) -> None:
        """Remove the plan's own marks."""
        for page_id in page_ids:
            if self.marks.get(page_id, ("", 0))[0] == by:
                del self.marks[page_id]

    def asked(self, page_ids: Iterable[str]) -> set[str]:
        """The marked pages among `page_ids`."""
        return {page_id for page_id in page_ids if page_id in self.marks}

    def take(self, page_ids: Iterable[str]) -> None:
        """Remove the marks."""
        for page_id in page_ids:
            self.marks.pop(page_id, None)
