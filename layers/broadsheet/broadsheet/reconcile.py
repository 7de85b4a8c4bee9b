"""Reconcile: compare the content bucket with the index, the index with the site and the edge's
alias store, and repair drift through the normal pipeline.

Events can be lost (a bucket notification misconfigured for an hour, a render dead-lettered, a
plan message the stream expired) and the site can be edited behind the system's back. Each kind
of drift is found and repaired where the pipeline would have done the work:

- content: a key whose current object is not what the index holds (by version id, or by ETag
  when an identical file was uploaded again) and not a file already rejected in that version
  (its error report names the version) goes back to ingest as a hint;
- listing counters: one that disagrees with its entries is set right, and every page of its
  listing is rendered again;
- pages (`broadsheet.stale`): missing, stale (bytes differ from the render of the index) or
  extra pages go to the render queue; stray objects no page writes are deleted;
- aliases: an old address missing from the alias store, leading elsewhere, or left over goes to
  the render queue as its alias page, which syncs that one entry;
- renditions no published image names that the media function did not mark superseded (it failed
  midway) are marked now, for the site bucket's lifecycle rule; they are never deleted here.

A clean site reports zero for every kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from broadsheet.adapters.s3_content import ContentObject, ObjectVersion
from broadsheet.adapters.sqs import RenderRequests
from broadsheet.aliases import entry_value
from broadsheet.contract.addresses import address_of_path, address_path
from broadsheet.contract.fields import SLUG_RE
from broadsheet.contract.files import (
    ARTICLES,
    AUTHORS,
    REPORTS,
    parse_key,
    read_article,
    report_key,
)
from broadsheet.contract.media import MEDIA, MediaItem, rendition_hash_of_key
from broadsheet.errors import SkippedKey, ValidationFailed
from broadsheet.index.ports import Catalog
from broadsheet.pages import (
    AliasPage,
    ListingPage,
    all_pages,
)
from broadsheet.settings import Settings
from broadsheet.stale import PAGES_PER_RUN, PageDrift, find_page_drift


class ContentVersions(Protocol):
    """The content bucket as reconcile reads it."""

    def versions(self, prefix: str) -> list[ObjectVersion]:
        """Every stored version of every key under a prefix."""

    def get(self, key: str) -> ContentObject | None:
        """The current version of an object (an error report), or None."""


class IndexedSources(Catalog, Protocol):
    """The index, with the source version of each article and profile and its alias claims."""

    def sources(self) -> dict[str, str]:
        """The content key and source version of every indexed article and profile."""

    def alias_targets(self) -> dict[str, str]:
        """Every old address (slug or path) and the slug it leads to."""

    def media_sources(self) -> dict[str, str]:
        """The content key and source version of every published image."""

    def recount(self) -> list[str]:
        """Set each listing counter that disagrees with its entries right; the listings moved."""


class SiteListing(Protocol):
    """The site bucket as reconcile reads and repairs it."""

    def etags(self) -> dict[str, str]:
        """Every stored key and its ETag."""

    def delete(self, key: str) -> None:
        """Remove an object."""


class RetiredRenditions(Protocol):
    """The site bucket's renditions, as reconcile retires them."""

    def superseded(self, keys: list[str]) -> set[str]:
        """Those of `keys` already marked superseded."""

    def supersede(self, keys: list[str]) -> None:
        """Mark renditions superseded, for the lifecycle rule to delete after the grace period."""


class AliasMap(Protocol):
    """The edge's alias store, read whole."""

    def mapping(self) -> dict[str, str]:
        """Every old path and the slug it redirects to."""


class Hints(Protocol):
    """The ingest queue, as reconcile uses it: 'look at this key again'."""

    def send(self, keys: list[str]) -> None:
        """Ask ingest to bring these keys into the index."""


@dataclass
class ReconcileReport:
    """What reconcile found and asked to repair, by kind of drift."""

    hinted: list[str] = field(default_factory=list)
    recounted: list[str] = field(default_factory=list)
    pages: PageDrift = field(default_factory=PageDrift)
    aliases: list[str] = field(default_factory=list)
    # Every page id sent to the render queue (pages, aliases, recounted listings' pages).
    rendered: list[str] = field(default_factory=list)
    # Images sent back to the media function: changed, lost, deleted, or missing a rendition.
    media_hinted: list[str] = field(default_factory=list)
    # Renditions no published image names, found without their superseded mark, and marked.
    retired: list[str] = field(default_factory=list)

    @property
    def deleted(self) -> list[str]:
        """Stray objects deleted from the site bucket."""
        return self.pages.stray

    def drift(self) -> dict[str, int]:
        """How much drift of each kind was found: all zero on a clean site. Draft previews are not
        drift: reconcile cannot sign their addresses, so every run hands them to the renderer
        (`PageDrift.previews`), however clean the site."""
        return {
            "keys_hinted": len(self.hinted),
            "media_hinted": len(self.media_hinted),
            "renditions_retired": len(self.retired),
            "listings_recounted": len(self.recounted),
            "pages_missing": len(self.pages.missing),
            "pages_stale": len(self.pages.stale),
            "pages_extra": len(self.pages.extra),
            "objects_deleted": len(self.pages.stray),
            "aliases": len(self.aliases),
        }


def content_drift(
    versions: list[ObjectVersion], indexed: dict[str, str], reported: dict[str, str | None]
) -> list[str]:
    """Content keys the index does not reflect: changed, lost or deleted, and not a rejected file
    already reported in its current version. `reported` maps a key with an error report to the
    version the report names (None for a report written before reports named one)."""
    current = {v.key: v for v in versions if v.latest}
    etags = {(v.key, v.version_id): v.etag for v in versions}
    drifted = []
    for key in sorted(current.keys() | indexed.keys()):
        try:
            parse_key(key)
        except SkippedKey:
            continue  # ingest never indexes it (a folder marker)
        except ValidationFailed:
            pass  # a bad name: reported like a bad file
        now, held = current.get(key), indexed.get(key)
        if now is None and held is None:
            continue
        # The same bytes uploaded again: a new version, an identical ETag; ingest found nothing
        # to change and kept the version it indexed.
        if (
            now is not None
            and held is not None
            and (held == now.version_id or etags.get((key, held)) == now.etag)
        ):
            continue
        if now is not None and reported.get(key) == now.version_id:
            continue
        drifted.append(key)
    return drifted


def indexed_as_is(key: str, content: ContentVersions, index: IndexedSources) -> bool:
    """Whether the index already holds what `key`'s current object says, though from another
    version: the same article uploaded again with other bytes (reformatted, keys reordered), which
    ingest found unchanged and left at the version it had indexed. Read only for keys whose
    version and bytes both differ, so rarely."""
    try:
        ident = parse_key(key)
    except (SkippedKey, ValidationFailed):
        return False
    current = content.get(key)
    if current is None:
        return False
    if ident.kind == "author":
        return False  # ingest indexes every new version of a profile: its version is never behind
    try:
        held = index.get_article(ident.slug)
        return held is not None and held.article.same_as(read_article(key, current.body))
    except ValidationFailed:
        return False


def media_drift(
    content: ContentVersions,
    indexed: dict[str, str],
    published: dict[str, MediaItem],
    stored: dict[str, str],
) -> list[str]:
    """Media keys to publish again: the index does not reflect the file's current version (and no
    report names that version), or a rendition of the published image is missing from the site."""
    versions = content.versions(MEDIA)
    current = {v.key: v.version_id for v in versions if v.latest}
    drifted = {
        key
        for key in current.keys() | indexed.keys()
        if current.get(key) != indexed.get(key) and not key.endswith("/")
    }
    reported = reported_versions(content, sorted(drifted))
    drifted = {key for key in drifted if key not in current or reported.get(key) != current[key]}
    for name, item in published.items():
        if any(key not in stored for key in item.rendition_keys()):
            drifted.add(MEDIA + name)
    return sorted(drifted)


def reported_versions(content: ContentVersions, keys: list[str]) -> dict[str, str | None]:
    """The version each of `keys`' error reports names, for the keys that have one."""
    reports = {v.key for v in content.versions(REPORTS) if v.latest}
    found: dict[str, str | None] = {}
    for key in keys:
        if report_key(key) not in reports:
            continue
        report = content.get(report_key(key))
        if report is None:
            continue
        try:
            version = json.loads(report.body).get("source_version")
        except (ValueError, AttributeError):
            version = None
        found[key] = str(version) if version is not None else None
    return found


def alias_drift(targets: dict[str, str], store: dict[str, str]) -> list[str]:
    """Alias pages whose store entry is missing, leads elsewhere (a value written in another
    form counts), or should not be there."""
    expected = {
        address_path(old): entry_value(old, target) for old, target in targets.items() if target != old
    }
    drifted = set()
    for path in expected.keys() | store.keys():
        if expected.get(path) == store.get(path):
            continue
        address = address_of_path(path)
        if address is not None and (address.startswith("/") or SLUG_RE.fullmatch(address)):
            drifted.add(AliasPage(address).id)
    return sorted(drifted)


def reconcile(
    content: ContentVersions,
    index: IndexedSources,
    site: SiteListing,
    aliases: AliasMap,
    hints: Hints,
    render_queue: RenderRequests,
    settings: Settings,
    *,
    day: int,
    cause: str,
    per_run: int = PAGES_PER_RUN,
    media_hints: Hints | None = None,
    renditions: RetiredRenditions | None = None,
) -> ReconcileReport:
    """Find drift between content, index, site and alias store; repair it through ingest and
    render. `day` names the segment of pages compared byte for byte, of segments of `per_run`
    pages (see `broadsheet.stale`)."""
    report = ReconcileReport()
    # Counters first: the hinted keys' ingests move counters too, and would make a repair wait.
    report.recounted = index.recount()
    versions = content.versions(ARTICLES) + content.versions(AUTHORS)
    indexed = index.sources()
    candidates = content_drift(versions, indexed, {})
    drifted = content_drift(versions, indexed, reported_versions(content, candidates))
    report.hinted = [key for key in drifted if not indexed_as_is(key, content, index)]
    if report.hinted:
        hints.send(report.hinted)

    stored = site.etags()
    sources = index.media_sources()
    published = index.get_media([key.removeprefix(MEDIA) for key in sources])
    report.media_hinted = media_drift(content, sources, published, stored)
    if report.media_hinted and media_hints is not None:
        media_hints.send(report.media_hinted)
    # Renditions are the media function's, not pages: never stray. Those of images replaced or
    # deleted stay for pages cached before the change, marked for the lifecycle rule to delete.
    kept = {item.hash for item in published.values()}
    unnamed = sorted(k for k in stored if rendition_hash_of_key(k) not in (None, *kept))
    if unnamed and renditions is not None:
        report.retired = sorted(set(unnamed) - renditions.superseded(unnamed))
        renditions.supersede(report.retired)
    pages_and_strays = {k: v for k, v in stored.items() if rendition_hash_of_key(k) is None}
    report.pages = find_page_drift(index, pages_and_strays, settings, day, per_run)
    for key in report.pages.stray:
        site.delete(key)
    report.aliases = alias_drift(index.alias_targets(), aliases.mapping())
    rerender = set(report.pages.to_render()) | set(report.aliases)
    if report.recounted:
        # A listing paged by a wrong count: each of its pages may name the wrong neighbours.
        recounted = set(report.recounted)
        rerender |= {
            page.id
            for page in all_pages(index, settings.page_size)
            if isinstance(page, ListingPage) and page.listing.id in recounted
        }
    report.rendered = sorted(rerender)
    if report.rendered:
        render_queue.send(report.rendered, cause=cause)
    return report
