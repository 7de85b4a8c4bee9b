"""Reconcile: compare the content bucket with the index and the site, and repair drift.

Events can be lost (a bucket notification misconfigured for an hour, a message deleted by
hand) and the site bucket can be edited behind the system's back. Reconcile finds every
difference and repairs it through the normal pipeline: content keys whose indexed version
differs go back to ingest as hints; a listing counter that disagrees with its entries is set
right and every page of its listing rendered again; site pages that are missing, were replaced
by hand (they lack the digest the renderer stores) or should not exist go to the render queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from broadsheet.adapters.sqs import RenderRequests
from broadsheet.contract.files import ARTICLES, AUTHORS
from broadsheet.index.ports import Catalog
from broadsheet.pages import (
    ASSETS_PREFIX,
    NEWS_SITEMAP,
    SITEMAP_INDEX,
    AliasPage,
    ListingPage,
    all_pages,
    page_for_key,
)
from broadsheet.site import Stored, page_key

# Pages whose content depends on the clock (the news sitemap's two-day window).
CLOCK_PAGES = (NEWS_SITEMAP, SITEMAP_INDEX)


class ContentVersions(Protocol):
    """The content bucket's current versions."""

    def current_versions(self, prefix: str) -> dict[str, str]:
        """The current version id of every key under a prefix."""


class IndexedSources(Catalog, Protocol):
    """The index, with the source version of each article and profile."""

    def sources(self) -> dict[str, str]:
        """The content key and source version of every indexed article and profile."""

    def recount(self) -> list[str]:
        """Set each listing counter that disagrees with its entries right; the listings moved."""


class SiteKeys(Protocol):
    """The site bucket's keys and digests."""

    def list_keys(self) -> list[str]:
        """Every stored key."""

    def stored(self, key: str) -> Stored | None:
        """What the stored object says of itself (its digest is empty if it carries none)."""

    def delete(self, key: str) -> None:
        """Remove an object."""


class Hints(Protocol):
    """The ingest queue, as reconcile uses it: 'look at this key again'."""

    def send(self, keys: list[str]) -> None:
        """Ask ingest to bring these keys into the index."""


@dataclass
class ReconcileReport:
    """What reconcile found and asked to repair."""

    hinted: list[str] = field(default_factory=list)
    recounted: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _written_by_render(site: SiteKeys, key: str) -> bool:
    """Whether the object at `key` was written by a render (it carries its digest)."""
    found = site.stored(key)
    return found is not None and bool(found.digest)


def reconcile(
    content: ContentVersions,
    index: IndexedSources,
    site: SiteKeys,
    hints: Hints,
    render_queue: RenderRequests,
    page_size: int,
    cause: str,
) -> ReconcileReport:
    """Find drift between content, index and site; repair it through ingest and render."""
    report = ReconcileReport()
    # Counters first: the hinted keys' ingests move counters too, and would make a repair wait.
    report.recounted = index.recount()
    current = content.current_versions(ARTICLES) | content.current_versions(AUTHORS)
    indexed = index.sources()
    report.hinted = sorted(
        key for key in current.keys() | indexed.keys() if current.get(key) != indexed.get(key)
    )
    if report.hinted:
        hints.send(report.hinted)

    expected = {
        page_key(page): page for page in all_pages(index, page_size) if not isinstance(page, AliasPage)
    }
    stored = set(site.list_keys())
    rerender = {
        page.id for key, page in expected.items() if key not in stored or not _written_by_render(site, key)
    }
    # A listing paged by a wrong count: each of its pages may name the wrong neighbours.
    recounted = set(report.recounted)
    rerender |= {
        page.id
        for page in expected.values()
        if isinstance(page, ListingPage) and page.listing.id in recounted
    }
    # What is recent changes with the clock alone, with no publish to plan it: refresh it here.
    rerender |= {page.id for page in CLOCK_PAGES}
    for key in sorted(stored - expected.keys()):
        if key.startswith(ASSETS_PREFIX):
            continue  # earlier stylesheets stay: cached pages may still name them
        orphan = page_for_key(key)
        if orphan is not None:
            rerender.add(orphan.id)  # renders as absent, so the renderer deletes it
        else:
            site.delete(key)  # no page writes this key: it was put there by hand
            report.deleted.append(key)
    report.rendered = sorted(rerender)
    if report.rendered:
        render_queue.send(report.rendered, cause=cause)
    return report
