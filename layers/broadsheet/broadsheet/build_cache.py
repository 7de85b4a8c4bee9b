"""The offline build's memory of its last build into a folder, so that a rebuild renders only the
pages whose inputs changed, and a rebuild with nothing changed renders and writes nothing.

Each page is remembered with the index reads its rendering made and a digest of what they
returned: a page whose reads return the same now renders to the same bytes (rendering is a pure
function of the index, the settings and the package), so it is neither rendered nor written. The
whole cache is keyed by the package's own files (code, templates, stylesheet), the versions of the
libraries that shape the output, and the settings: a change to any of them renders everything.
Pages that read the clock itself (the news sitemap, draft previews) are always rendered.

When, besides, no content file changed (names, sizes and change times) and the clock is fixed
in the settings, the build only checks that the output folder holds what the last build left
there, and stops. The cache lives beside the output folder (`.<folder>.broadsheet-cache`), never
in it, so it is never published; it holds pickled data and is trusted as the folder is.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from broadsheet.contract.files import ARTICLES, AUTHORS
from broadsheet.contract.media import MediaItem
from broadsheet.contract.models import AuthorProfile
from broadsheet.index.entries import Entry
from broadsheet.index.ports import IndexedArticle, IndexReader, ListingSlice
from broadsheet.pages import Page, PreviewPage, StaticPage
from broadsheet.settings import Settings
from broadsheet.site import BUILD_MARKER

# Raised whenever what the cache holds changes shape.
FORMAT = 1
# Libraries whose versions can change a page's bytes.
_LIBRARIES = ("jinja2", "markupsafe", "nh3", "pyromark", "pydantic", "pydantic-core")
_MEDIA = "media/"
# The package's own files: its code, templates and stylesheet.
PACKAGE = Path(__file__).resolve().parent
# Longer than the coarsest tick a file system's times advance by.
_TICK_NS = 50_000_000

# A read of the index: the method, its positional and its keyword arguments.
Read = tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]
# A file of the output folder as the last build left it: size and modification time.
Stamp = tuple[int, int]


@dataclass(frozen=True)
class PageRecord:
    """What rendering one page read, a digest of what the reads returned, and the key it wrote
    (None when the page should not exist)."""

    reads: tuple[Read, ...]
    digest: bytes
    key: str | None


@dataclass
class Cache:
    """Everything a build remembers of the last one into the same folder."""

    key: str
    content: list[tuple[str, int, int, int]] = field(default_factory=list)
    outputs: dict[str, Stamp] = field(default_factory=dict)
    pages: dict[str, PageRecord] = field(default_factory=dict)
    # The last build's report, for a rebuild that renders nothing: pages, rejected files (key and
    # errors) and redirects.
    report: dict[str, Any] = field(default_factory=dict)


def cache_path(out_dir: Path) -> Path:
    """Where the cache of builds into `out_dir` is kept: beside it, hidden."""
    resolved = out_dir.resolve()
    return resolved.parent / f".{resolved.name}.broadsheet-cache"


def build_key(settings: Settings) -> str:
    """The digest of everything besides content that shapes the pages: the package's files, the
    libraries' versions, Python's, and the settings (secrets included, as digests)."""
    digest = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
    for name in _LIBRARIES:
        digest.update(f"{name}={metadata.version(name)};".encode())
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    values = {
        name: _digest_of(value.get_secret_value()) if isinstance(value, SecretStr) else value
        for name, value in settings
    }
    digest.update(json.dumps(values, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def content_stamps(content_dir: Path) -> list[tuple[str, int, int, int]]:
    """Every content file the build reads, with its size and its modification and change times."""
    stamps = [(str(content_dir.resolve()), 0, 0, 0)]
    for prefix in (ARTICLES, AUTHORS, _MEDIA):
        folder = content_dir / prefix
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            stat = entry.stat()
            stamps.append((prefix + entry.name, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
    return stamps


def settled(stamps: list[tuple[str, int, int, int]], taken_ns: int) -> list[tuple[str, int, int, int]]:
    """`stamps` with those of files changed too near `taken_ns` to be told apart from a later
    change (file times advance in ticks of a few milliseconds) marked as never matching."""
    near = taken_ns - _TICK_NS
    return [(name, -1, 0, 0) if max(m, c) >= near else (name, size, m, c) for name, size, m, c in stamps]


def output_stamps(out_dir: Path) -> dict[str, Stamp]:
    """Every file of the output folder (the build's marker aside), with its size and time."""
    stamps: dict[str, Stamp] = {}
    root = str(out_dir)
    for folder, _, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in files:
            if name != BUILD_MARKER:
                stat = os.stat(os.path.join(folder, name))
                stamps[prefix + name] = (stat.st_size, stat.st_mtime_ns)
    return stamps


def stamp(path: str) -> Stamp:
    """One output file's size and modification time."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def load(path: Path, key: str) -> Cache | None:
    """The cache kept at `path` if it was made under the same `key`, without its pages (which
    `load_pages` reads); None otherwise."""
    try:
        with open(path, "rb") as stored:
            cache = pickle.load(stored)  # noqa: S301 - written by the build, beside its own output
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return cache if isinstance(cache, Cache) and cache.key == key else None


def load_pages(path: Path) -> dict[str, PageRecord]:
    """The pages a cache at `path` remembers (none if it cannot be read)."""
    try:
        with open(path, "rb") as stored:
            pickle.load(stored)  # noqa: S301 - the summary, read first by `load`
            pages = pickle.load(stored)  # noqa: S301 - written by the build, beside its own output
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return {}
    return pages if isinstance(pages, dict) else {}


def save(path: Path, cache: Cache) -> None:
    """Keep the cache at `path`, replacing the last one whole: the summary first, so that a
    rebuild that finds nothing changed reads only that."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        pickle.dump(replace(cache, pages={}), out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(cache.pages, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)


def forget(path: Path) -> None:
    """Drop the cache: a build that ends half way must not be trusted by the next."""
    path.unlink(missing_ok=True)


def reads_clock(page: Page) -> bool:
    """Whether the page reads the clock itself rather than through the index: never cached."""
    return isinstance(page, PreviewPage) or (isinstance(page, StaticPage) and page.name == "news-sitemap")


class TracedIndex:
    """An index reader that records every read and a digest of what it returned."""

    def __init__(self, index: IndexReader) -> None:
        self._index = index
        self.reads: list[Read] = []
        self._digest = hashlib.blake2b(digest_size=20)

    def digest(self) -> bytes:
        """The digest of every read so far and its result."""
        return self._digest.digest()

    def _read(self, name: str, *args: Any, **kwargs: Any) -> Any:
        call: Read = (name, args, tuple(sorted(kwargs.items())))
        result = getattr(self._index, name)(*args, **kwargs)
        self.reads.append(call)
        _absorb(self._digest, call, result)
        return result

    def get_article(self, slug: str) -> IndexedArticle | None:
        """As the index's."""
        found: IndexedArticle | None = self._read("get_article", slug)
        return found

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """As the index's."""
        found: AuthorProfile | None = self._read("get_profile", author_slug)
        return found

    def get_articles(self, slugs: list[str]) -> dict[str, IndexedArticle]:
        """As the index's."""
        found: dict[str, IndexedArticle] = self._read("get_articles", list(slugs))
        return found

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """As the index's."""
        found: dict[str, MediaItem] = self._read("get_media", list(names))
        return found

    def months(self) -> list[tuple[str, int]]:
        """As the index's."""
        found: list[tuple[str, int]] = self._read("months")
        return found

    def count(self, listing: str) -> int:
        """As the index's."""
        found: int = self._read("count", listing)
        return found

    def position(self, listing: str, sort_key: str) -> int:
        """As the index's."""
        found: int = self._read("position", listing, sort_key)
        return found

    def newest(self, listing: str, limit: int) -> ListingSlice:
        """As the index's."""
        found: ListingSlice = self._read("newest", listing, limit)
        return found

    def span(self, listing: str, start: int, stop: int) -> ListingSlice:
        """As the index's."""
        found: ListingSlice = self._read("span", listing, start, stop)
        return found

    def neighbours(self, listing: str, sort_key: str, limit: int, *, older: bool) -> tuple[Entry, ...]:
        """As the index's."""
        found: tuple[Entry, ...] = self._read("neighbours", listing, sort_key, limit, older=older)
        return found


def replay(reads: tuple[Read, ...], index: IndexReader) -> bytes:
    """The digest the same reads give against `index` now."""
    digest = hashlib.blake2b(digest_size=20)
    for call in reads:
        name, args, kwargs = call
        _absorb(digest, call, getattr(index, name)(*args, **dict(kwargs)))
    return digest.digest()


# The index hands out the same article and entry objects for the whole build: each is described
# once (and kept, so that its id is never another object's).
_DESCRIBED: dict[int, tuple[object, bytes]] = {}
_HELD = (IndexedArticle, Entry, AuthorProfile, MediaItem)


def _absorb(digest: Any, call: Read, result: object) -> None:
    digest.update(repr(call).encode())
    digest.update(_fingerprint(result))


def _fingerprint(value: object) -> bytes:
    """What a value the index returned holds, as bytes: equal values give equal bytes."""
    if isinstance(value, _HELD):
        held = _DESCRIBED.get(id(value))
        if held is None or held[0] is not value:
            # Dataclasses and frozen pydantic models of strings, numbers, dates and tuples: the
            # repr is all of it.
            held = (value, hashlib.blake2b(repr(value).encode(), digest_size=16).digest())
            _DESCRIBED[id(value)] = held
        return held[1]
    if isinstance(value, ListingSlice):
        return b"S%d" % value.total + b"".join(map(_fingerprint, value.entries))
    if isinstance(value, tuple | list):
        return b"T" + b"".join(map(_fingerprint, value)) + b"E"
    if isinstance(value, dict):
        return b"D" + b"".join(repr(key).encode() + _fingerprint(item) for key, item in value.items()) + b"E"
    return b"R" + repr(value).encode() + b"E"
