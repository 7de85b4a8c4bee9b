"""The offline build: the whole site from a folder of article files, with no AWS at all.

It reads files with the same reader, indexes them in memory with the same entry rules, and
renders every page with the same renderer, so it is also the oracle the pipeline converges to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from broadsheet.clock import now
from broadsheet.content import ARTICLES, AUTHORS, read_article, read_author
from broadsheet.errors import SkippedKey, ValidationFailed
from broadsheet.index import Catalog, IndexReader
from broadsheet.memory import MemoryIndex
from broadsheet.pages import STATIC_PAGES, ArticlePage, Listing, Page, SitemapPage, feeds_of, page_count
from broadsheet.settings import Settings
from broadsheet.site import BUILD_MARKER, Change, DirSiteStore, SiteStore, publish_page


class NotABuildFolder(Exception):
    """The output folder holds files that no earlier build wrote; a build would delete them."""


@dataclass
class BuildReport:
    """What a build did."""

    pages: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: list[ValidationFailed] = field(default_factory=list)


def load_content(content_dir: Path, settings: Settings) -> tuple[MemoryIndex, list[ValidationFailed]]:
    """Index every article and author file under `content_dir`; collect the rejected ones."""
    index = MemoryIndex(now(settings))
    rejected: list[ValidationFailed] = []
    for prefix in (ARTICLES, AUTHORS):
        folder = content_dir / prefix
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            key = prefix + path.name
            try:
                if prefix == ARTICLES:
                    index.add_article(read_article(key, path.read_bytes()))
                else:
                    index.add_profile(path.stem, read_author(key, path.read_bytes()))
            except ValidationFailed as failure:
                rejected.append(failure)
            except SkippedKey:
                continue
    return index, rejected


def all_pages(index: Catalog, page_size: int) -> list[Page]:
    """Every page the site has: static pages, live articles, and every page of every listing."""
    pages: list[Page] = list(STATIC_PAGES)
    pages += [ArticlePage(slug) for slug in index.live_article_slugs()]
    listing_ids = set(index.listing_ids()) | {"home"}
    for listing_id in sorted(listing_ids):
        listing = Listing.parse(listing_id)
        pages += [listing.page(n) for n in range(page_count(index.count(listing_id), page_size) + 1)]
        pages += feeds_of(listing)
    pages += [SitemapPage(month) for month, _ in index.months()]
    return pages


def build_site(content_dir: Path, out_dir: Path, settings: Settings) -> BuildReport:
    """Render the whole site into `out_dir`, writing only files whose bytes changed."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / BUILD_MARKER).is_file():
        raise NotABuildFolder(f"{out_dir} is not empty and holds no earlier build; choose an empty folder")
    index, rejected = load_content(content_dir, settings)
    store = DirSiteStore(out_dir)
    report = BuildReport(rejected=rejected)
    expected = publish_all(all_pages(index, settings.page_size), index, store, settings, report)
    for key in store.list_keys():
        if key not in expected:
            store.delete(key)
            report.removed += 1
    (out_dir / BUILD_MARKER).touch()
    return report


def publish_all(
    pages: list[Page], index: IndexReader, store: SiteStore, settings: Settings, report: BuildReport
) -> set[str]:
    """Publish `pages` into `store`; return the keys that now exist."""
    present: set[str] = set()
    for page in pages:
        result = publish_page(page, index, store, settings)
        report.pages += 1
        if result.change is Change.WRITTEN:
            report.written += 1
        elif result.change is Change.UNCHANGED:
            report.unchanged += 1
        if result.change in {Change.WRITTEN, Change.UNCHANGED}:
            present.add(result.key)
    return present
