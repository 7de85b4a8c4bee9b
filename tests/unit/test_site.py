"""Writing the site: keys never leave the root, and a page is written only when its bytes change."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from broadsheet.adapters.folder import DirSiteStore
from broadsheet.clock import now
from broadsheet.contract.models import Article
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import ArticlePage, Listing, StaticPage
from broadsheet.render.html import HTML, HTML_CACHE, Output, stylesheet
from broadsheet.settings import Settings
from broadsheet.site import (
    COALESCE_MARGIN_MS,
    Change,
    Stored,
    UnsafeKey,
    check_key,
    digest,
    page_key,
    publish_page,
    stored_pages_beyond,
    wall_clock_ms,
)
from tests.unit.fakes import make_article

UNSAFE_KEYS = [
    "",
    "..",
    "../index.html",
    "articles/../../index.html",
    "articles/..",
    "/etc/passwd",
    "/index.html",
    "articles\\..\\..\\win.ini",
    "..\\index.html",
    "articles//index.html",
    "articles/",
    ".",
    "./index.html",
    "articles/./index.html",
    "articles/x\x00.html",
    "articles/x\n/index.html",
    "articles/x\r/index.html",
    "articles/\x1b[31m/index.html",
    "articles/x\x7f/index.html",
    "articles/\t/index.html",
]

SAFE_KEYS = [
    "index.html",
    "404.html",
    "articles/review-of-the-week/index.html",
    "authors/gevorg-mirzayan/page/2/index.html",
    "assets/site.0123456789ab.css",
    "%2e%2e/index.html",  # a literal folder name, not a parent
    "...",
    "..x/index.html",
]


def output(key: str, body: bytes = b"<p>page</p>") -> Output:
    return Output(key, body, HTML, HTML_CACHE)


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


@dataclass
class CountingStore:
    """A DirSiteStore that counts what it is asked to do."""

    inner: DirSiteStore
    puts: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    # Render times, as the site bucket keeps them in each object's metadata.
    rendered: dict[str, int | None] = field(default_factory=dict)

    def stored(self, key: str) -> Stored | None:
        found = self.inner.stored(key)
        return found and Stored(found.digest, self.rendered.get(key))

    def put(self, out: Output, rendered_at: int | None = None) -> None:
        self.puts.append(out.key)
        self.rendered[out.key] = rendered_at
        self.inner.put(out)

    def delete(self, key: str) -> None:
        self.deletes.append(key)
        self.inner.delete(key)

    def list_keys(self, prefix: str = "") -> list[str]:
        return self.inner.list_keys(prefix)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder holding the site root and, next to it, files a bad key might reach."""
    (tmp_path / "site").mkdir()
    (tmp_path / "sentinel.txt").write_bytes(b"keep me")
    (tmp_path / "index.html").write_bytes(b"not the site")
    return tmp_path


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_are_refused(key: str) -> None:
    with pytest.raises(UnsafeKey):
        check_key(key)


@pytest.mark.parametrize("key", SAFE_KEYS)
def test_plain_relative_keys_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_dir_store_refuses_unsafe_keys_for_every_operation(outside: Path, key: str) -> None:
    store = DirSiteStore(outside / "site")
    before = files_under(outside)
    with pytest.raises(UnsafeKey):
        store.put(output(key))
    with pytest.raises(UnsafeKey):
        store.stored(key)
    with pytest.raises(UnsafeKey):
        store.delete(key)
    assert files_under(outside) == before
    assert (outside / "sentinel.txt").read_bytes() == b"keep me"


def test_traversal_payloads_as_keys_never_write_outside_the_root(
    outside: Path, traversal_lines: list[str]
) -> None:
    root = outside / "site"
    store = DirSiteStore(root)
    refused = written = too_long = 0
    for line in traversal_lines:
        for key in (line, f"articles/{line}", f"articles/{line}/index.html"):
            try:
                store.put(output(key, key.encode("utf-8", errors="replace")))
                written += 1
            except UnsafeKey:
                refused += 1
                continue
            except OSError:
                # A path segment longer than the file system allows: refused by the OS, not written.
                too_long += 1
                continue
            segments = key.split("/")
            assert ".." not in segments and not key.startswith("/") and "\\" not in key, key
    escaped = {name for name in files_under(outside) if not name.startswith("site/")}
    assert escaped == {"sentinel.txt", "index.html"}
    assert (outside / "sentinel.txt").read_bytes() == b"keep me"
    assert (outside / "index.html").read_bytes() == b"not the site"
    for name in files_under(root):
        assert (root / name).resolve().is_relative_to(root.resolve())
    assert refused > len(traversal_lines)  # most payloads are refused outright
    assert written + refused + too_long == 3 * len(traversal_lines)


def test_traversal_payloads_as_keys_never_delete_outside_the_root(
    outside: Path, traversal_lines: list[str]
) -> None:
    store = DirSiteStore(outside / "site")
    for line in [*traversal_lines, "../sentinel.txt", "../index.html"]:
        try:
            store.delete(line)
        except (UnsafeKey, OSError):
            continue
    assert (outside / "sentinel.txt").read_bytes() == b"keep me"
    assert (outside / "index.html").read_bytes() == b"not the site"


def test_a_symlink_inside_the_root_cannot_lead_writes_outside(outside: Path) -> None:
    root = outside / "site"
    (outside / "elsewhere").mkdir()
    os.symlink(outside / "elsewhere", root / "articles")
    store = DirSiteStore(root)
    with pytest.raises(UnsafeKey):
        store.put(output("articles/escape/index.html"))
    assert files_under(outside / "elsewhere") == set()


def test_dir_store_lists_keys_with_forward_slashes(outside: Path) -> None:
    store = DirSiteStore(outside / "site")
    for key in ("index.html", "articles/a/index.html", "page/2/index.html"):
        store.put(output(key))
    assert store.list_keys() == ["articles/a/index.html", "index.html", "page/2/index.html"]
    assert store.stored("index.html") == Stored(digest(b"<p>page</p>"))
    assert store.stored("absent.html") is None
    store.delete("absent.html")  # deleting what is not there is not an error


# -- publishing one page ---------------------------------------------------------------------


def index_of(settings: Settings, *articles: Article) -> MemoryIndex:
    index = MemoryIndex(now(settings))
    for article in articles:
        index.add_article(article)
    return index


def test_publish_writes_a_new_page_then_leaves_identical_bytes_alone(
    tmp_path: Path, settings: Settings
) -> None:
    store = CountingStore(DirSiteStore(tmp_path))
    index = index_of(settings, make_article("kerry-putin"))
    page = ArticlePage("kerry-putin")
    first = publish_page(page, index, store, settings)
    assert (first.change, first.existed, first.key) == (
        Change.WRITTEN,
        False,
        "articles/kerry-putin/index.html",
    )
    stamp = (tmp_path / first.key).stat().st_mtime_ns
    again = publish_page(page, index, store, settings)
    assert (again.change, again.existed) == (Change.UNCHANGED, True)
    assert store.puts == [first.key]
    assert (tmp_path / first.key).stat().st_mtime_ns == stamp


def test_publish_rewrites_a_page_whose_bytes_changed(tmp_path: Path, settings: Settings) -> None:
    store = CountingStore(DirSiteStore(tmp_path))
    page = ArticlePage("kerry-putin")
    publish_page(page, index_of(settings, make_article("kerry-putin")), store, settings)
    edited = index_of(settings, make_article("kerry-putin", title="A corrected headline"))
    result = publish_page(page, edited, store, settings)
    assert (result.change, result.existed) == (Change.WRITTEN, True)
    assert b"A corrected headline" in (tmp_path / result.key).read_bytes()
    assert len(store.puts) == 2


def test_publish_deletes_a_page_that_should_no_longer_exist(tmp_path: Path, settings: Settings) -> None:
    store = CountingStore(DirSiteStore(tmp_path))
    page = ArticlePage("kerry-putin")
    publish_page(page, index_of(settings, make_article("kerry-putin")), store, settings)
    unpublished = index_of(settings, make_article("kerry-putin", status="draft"))
    result = publish_page(page, unpublished, store, settings)
    assert (result.change, result.existed) == (Change.DELETED, True)
    assert not (tmp_path / "articles/kerry-putin/index.html").exists()
    again = publish_page(page, unpublished, store, settings)
    assert (again.change, again.existed) == (Change.ABSENT, False)
    assert store.deletes == ["articles/kerry-putin/index.html"]


def test_publish_of_a_page_past_the_end_of_a_listing_is_absent(tmp_path: Path, settings: Settings) -> None:
    store = CountingStore(DirSiteStore(tmp_path))
    result = publish_page(Listing("home").page(5), index_of(settings), store, settings)
    assert (result.change, result.key) == (Change.ABSENT, "page/5/index.html")
    assert store.puts == [] and store.deletes == []


def test_static_pages_have_fixed_keys() -> None:
    assert page_key(StaticPage("404")) == "404.html"
    assert page_key(StaticPage("asset:site.css")) == stylesheet().key
    assert page_key(Listing("author", "zoe-marchetti").page(2)) == "authors/zoe-marchetti/page/2/index.html"


# -- coalescing: a request the stored page already answers is not rendered again --------------


def test_a_page_records_when_its_render_began(tmp_path: Path, settings: Settings) -> None:
    store = CountingStore(DirSiteStore(tmp_path))
    before = wall_clock_ms()
    result = publish_page(
        ArticlePage("kerry-putin"), index_of(settings, make_article("kerry-putin")), store, settings
    )
    rendered = store.rendered[result.key]
    assert rendered is not None and before <= rendered <= wall_clock_ms()


@pytest.mark.parametrize(
    ("sent_after_began", "change"),
    [
        (-COALESCE_MARGIN_MS - 1, Change.COALESCED),
        (-COALESCE_MARGIN_MS, Change.WRITTEN),
        (0, Change.WRITTEN),
        (5_000, Change.WRITTEN),
    ],
)
def test_a_request_sent_well_before_the_stored_render_began_is_answered_by_it_and_no_other(
    tmp_path: Path, settings: Settings, sent_after_began: int, change: Change
) -> None:
    store = CountingStore(DirSiteStore(tmp_path))
    page = ArticlePage("kerry-putin")
    first = publish_page(page, index_of(settings, make_article("kerry-putin")), store, settings)
    began = store.rendered[first.key]
    assert began is not None
    # The article changed since; the request for the page was sent `sent_after_began` ms after
    # the stored page's render began.
    edited = index_of(settings, make_article("kerry-putin", title="A corrected headline"))
    result = publish_page(page, edited, store, settings, requested_at=began + sent_after_began)
    assert (result.change, result.existed) == (change, True)
    corrected = b"A corrected headline" in (tmp_path / first.key).read_bytes()
    assert corrected is (change is Change.WRITTEN)
    assert len(store.puts) == (2 if change is Change.WRITTEN else 1)


def test_a_page_without_a_render_time_or_digest_is_rendered_whatever_the_request(
    tmp_path: Path, settings: Settings
) -> None:
    page = ArticlePage("kerry-putin")
    index = index_of(settings, make_article("kerry-putin"))
    long_ago = wall_clock_ms() - 3_600_000
    # Written without a render time (the offline build's folder keeps none).
    store = CountingStore(DirSiteStore(tmp_path))
    store.inner.put(output("articles/kerry-putin/index.html", b"<p>put there by hand</p>"))
    assert publish_page(page, index, store, settings, requested_at=long_ago).change is Change.WRITTEN
    # A render time but no digest: an object put there by hand with made-up metadata.
    assert not Stored("", wall_clock_ms()).answers(long_ago)
    # A request without its time is never taken as answered.
    assert not Stored("abc", wall_clock_ms()).answers(None)


def test_an_absent_page_is_rendered_whatever_the_request(tmp_path: Path, settings: Settings) -> None:
    store = CountingStore(DirSiteStore(tmp_path))
    page = ArticlePage("kerry-putin")
    result = publish_page(
        page, index_of(settings, make_article("kerry-putin")), store, settings, requested_at=0
    )
    assert result.change is Change.WRITTEN


def test_the_stored_pages_past_a_listing_page_are_found_by_number(tmp_path: Path) -> None:
    store = DirSiteStore(tmp_path)
    for key in (
        "index.html",
        "page/1/index.html",
        "page/2/index.html",
        "page/10/index.html",
        "page/3/index.html",
        "authors/anna-writer/page/4/index.html",
        "archive/2026/10/page/5/index.html",
    ):
        store.put(output(key))
    assert [p.id for p in stored_pages_beyond(Listing("home").page(2), store)] == ["home:3", "home:10"]
    assert [p.id for p in stored_pages_beyond(Listing("author", "anna-writer").page(1), store)] == [
        "author:anna-writer:4"
    ]
    assert [p.id for p in stored_pages_beyond(Listing("month", "2026-10").page(0), store)] == [
        "month:2026-10:5"
    ]
    assert stored_pages_beyond(Listing("tag", "trade").page(1), store) == []
