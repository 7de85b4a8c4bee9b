"""`broadsheet import wordpress EXPORT.xml CONTENT_DIR`: a WordPress archive as article files.

Posts become `articles/<slug>.json`, their authors `authors/<slug>.json`, the images they use
files under `media/`, every old address an alias, and everything else a line in the report.
Nothing that was not public in WordPress becomes public here: password-protected and private
posts are skipped, drafts and pending posts stay drafts, scheduled posts stay embargoed.
Every file goes through the contract's own reader before it is written; a file the contract
refuses is reported and not written. Writing is idempotent: the same export gives the same bytes,
and a file whose bytes are already there is left alone ("unchanged").
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from broadsheet.contract.fields import slugify
from broadsheet.contract.files import read_article, read_author
from broadsheet.errors import ValidationFailed
from broadsheet_dev.importers import fields, media
from broadsheet_dev.importers.markup import Attachment, BodyContext, convert
from broadsheet_dev.importers.report import (
    FAILED,
    KEPT,
    UNCHANGED,
    UPDATED,
    WRITTEN,
    ArticleEntry,
    FileEntry,
    ImportReport,
    Skipped,
)
from broadsheet_dev.importers.wxr import Export, Item, read_export
from broadsheet_dev.progress import progress_bar

REPORT_NAME = "import-report.json"
_STATUSES = {"publish": "published", "future": "published", "draft": "draft", "pending": "draft"}
_SKIPPED_STATUS = {
    "private": "private: only logged-in editors could read it",
    "trash": "in WordPress's trash",
    "auto-draft": "an automatic draft WordPress made, never written",
    "inherit": "a revision",
}


@dataclass
class ImportOptions:
    """What one import reads, where it writes, and the clock it judges schedules by."""

    export: Path
    content_dir: Path
    media_dir: Path | None = None
    utc_offset: timedelta | None = None
    report_path: Path | None = None
    now: datetime | None = None
    progress: bool = True
    console: Console = field(default_factory=lambda: Console(stderr=True))


@dataclass
class _Site:
    """What every post's conversion looks up."""

    export: Export
    context: BodyContext
    guests: dict[str, str]
    profiles: dict[str, tuple[str, str]]
    offset: timedelta
    slugs: dict[int, str]
    now: datetime
    taken: set[str] = field(default_factory=set)


def import_wordpress(options: ImportOptions) -> ImportReport:
    """Import a WordPress export into a content folder; the report says what became of each post."""
    size = options.export.stat().st_size
    with _progress(options) as progress:
        reading = progress.add_task("reading export", total=size)
        export = read_export(options.export, lambda n: progress.advance(reading, n))
    report = ImportReport(export=options.export.name, site=export.link, wxr_version=export.version)
    if export.removed_bytes:
        report.notes.append(
            f"{export.removed_bytes} control character(s) XML forbids were removed before reading"
        )
    posts = _select(export, report)
    if not _contract_takes_paths():
        report.notes.append(
            "old addresses (permalink paths, /?p=<id>) are held back, listed per article under "
            "aliases_held_back: this version of the article contract takes only slugs as aliases; "
            "import again once it takes site paths and they are written"
        )
    site = _site(export, posts, options, report)
    media_files: dict[str, media.MediaFile] = {}
    bylines: dict[str, str] = {}
    with _progress(options, counts=True) as progress:
        task = progress.add_task("importing posts", total=len(posts))
        for item in posts:
            entry, byline, images = _import_post(item, site, options.content_dir)
            if entry is not None:
                report.articles.append(entry)
                if entry.outcome != FAILED:
                    for name in byline:
                        bylines.setdefault(slugify(name), name)
                    for found in images:
                        media_files.setdefault(found.key, found)
            progress.advance(task)
    report.authors = [
        _write_profile(slug, name, site, options.content_dir) for slug, name in sorted(bylines.items())
    ]
    report.media = _bring_media(sorted(media_files.values(), key=lambda m: m.key), options, report)
    report.write(options.report_path or options.content_dir / REPORT_NAME)
    return report


@contextmanager
def _progress(options: ImportOptions, counts: bool = False) -> Iterator[Progress]:
    with progress_bar(options.console, enabled=options.progress, counts=counts) as bar:
        yield bar


def _select(export: Export, report: ImportReport) -> list[Item]:
    """The posts to import, in post id order; every other item listed in the report as skipped."""
    chosen: list[Item] = []
    for item in sorted(export.items, key=lambda i: i.post_id):
        title = fields.plain_text(item.title)[0]
        reason = ""
        if item.post_type != "post":
            reason = f"post type {item.post_type!r}: only posts become articles"
        elif item.password:
            reason = "password-protected: readers needed a password"
        elif item.status in _SKIPPED_STATUS:
            reason = _SKIPPED_STATUS[item.status]
        elif item.status not in _STATUSES:
            reason = f"status {item.status!r} is not one this importer knows"
        if reason:
            report.skipped.append(Skipped(item.post_id, item.post_type, item.status, title, reason))
        else:
            chosen.append(item)
    return chosen


def _site(export: Export, posts: list[Item], options: ImportOptions, report: ImportReport) -> _Site:
    context = BodyContext()
    guests: dict[str, str] = {}
    profiles: dict[str, tuple[str, str]] = {}
    for item in export.items:
        if item.post_type == "attachment":
            upload = item.meta.get("_wp_attached_file") or media.upload_path(item.attachment_url)
            attachment = Attachment(
                post_id=item.post_id,
                parent=item.post_parent,
                menu_order=item.menu_order,
                url=item.attachment_url,
                upload=upload,
                alt=fields.one_line(item.meta.get("_wp_attachment_image_alt", "")),
                caption=fields.plain_text(item.excerpt)[0],
            )
            context.attachments[item.post_id] = attachment
            context.children.setdefault(item.post_parent, []).append(attachment)
            if upload:
                context.known_uploads.add(upload)
        elif item.post_type == "wp_block":
            context.reusable[item.post_id] = item.content
        elif item.post_type == "guest-author":
            login = item.meta.get("cap-user_login", "") or item.post_name
            guests[login] = item.meta.get("cap-display_name", "") or fields.plain_text(item.title)[0]
            profiles[slugify(guests[login])] = (
                item.meta.get("cap-description", ""),
                item.meta.get("cap-website", ""),
            )
    if options.utc_offset is not None:
        offset = options.utc_offset
        report.dates = f"posts without a GMT date use the given offset {_offset_text(offset)}"
    else:
        offset, agreeing = fields.site_offset(export.items)
        report.dates = (
            f"posts without a GMT date (drafts, mostly) use the site's offset {_offset_text(offset)}, "
            + (
                f"the commonest difference between local and GMT dates ({agreeing} items)"
                if agreeing
                else "UTC: no item had both dates; give --utc-offset to choose"
            )
        )
    now = options.now or datetime.now().astimezone()
    slugs = fields.assign_slugs(posts)
    return _Site(export, context, guests, profiles, offset, slugs, now, set(slugs.values()))


def _offset_text(offset: timedelta) -> str:
    return fields.rfc3339(datetime(2000, 1, 1), offset)[19:]


def _import_post(
    item: Item, site: _Site, content_dir: Path
) -> tuple[ArticleEntry, list[str], list[media.MediaFile]]:
    """One post as an article file: converted, checked by the contract, written if it passes."""
    slug = site.slugs[item.post_id]
    title, title_changes = fields.title_of(item)
    entry = ArticleEntry(
        post_id=item.post_id,
        title=title,
        slug=slug,
        file=f"articles/{slug}.json",
        format=fields.post_format(item),
        sticky=item.sticky,
        changes=title_changes,
    )
    published = _publication(item, site, entry)
    if published is None:
        entry.outcome = FAILED
        entry.errors.append({"field": "published_at", "message": "the post has no date in WordPress"})
        return entry, [], []
    converted = convert(item.content, item.post_id, site.context)
    entry.changes += converted.changes
    entry.warnings += converted.warnings
    authors, author_changes = fields.authors_of(item, site.export.users, site.guests)
    teaser, teaser_changes = fields.teaser_of(item)
    tags, tag_changes = fields.tags_of(item)
    section, section_notes = fields.section_of(item)
    entry.changes += author_changes + teaser_changes + tag_changes + section_notes
    updated = fields.stamp(item.post_modified, item.post_modified_gmt, site.offset)
    # The contract's field order, empty optional fields left out: the same post, the same bytes.
    document: dict[str, Any] = {
        "title": title,
        "teaser": teaser,
        "authors": authors,
        "published_at": published.text,
        "updated_at": updated.text
        if updated is not None and updated.instant > published.instant and entry.status == "published"
        else None,
        "section": section,
        "tags": tags,
        "body": converted.markdown,
        "status": "draft" if entry.status == "draft" else None,
        "aliases": _aliases(item, slug, site, entry),
        "language": fields.language_of(item),
    }
    images = list(converted.images)
    featured = _featured(item, site, entry)
    if featured is not None:
        images.append(featured)
    entry.images = [found.key for found in converted.images]
    _write_article(entry, {key: value for key, value in document.items() if value}, content_dir)
    return entry, authors, images


def _publication(item: Item, site: _Site, entry: ArticleEntry) -> fields.Stamp | None:
    """The publication date, and the status that keeps unpublished posts unpublished."""
    published = fields.stamp(item.post_date, item.post_date_gmt, site.offset)
    if published is None:
        return None
    entry.status = _STATUSES[item.status]
    if published.guessed:
        entry.changes.append(f"published_at from post_date with the site's offset ({published.text})")
    if item.status == "future":
        if published.instant > site.now:
            entry.changes.append(f"scheduled: embargoed until {published.text}")
        else:
            entry.status = "draft"
            entry.changes.append(
                "scheduled but never published by WordPress (missed schedule); imported as a draft"
            )
    return published


def _aliases(item: Item, slug: str, site: _Site, entry: ArticleEntry) -> list[str]:
    """Every old address as an alias: site paths (when the contract takes them) and the old slug."""
    paths = fields.old_addresses(item, site.export.link)
    if _contract_takes_paths():
        kept = list(paths)
    else:
        kept = []
        entry.aliases_held_back = paths
    wanted = fields.old_slug(item)
    if wanted and wanted != slug:
        entry.changes.append(f"slug changed from {item.post_name!r} to {slug!r}")
        if not fields.is_slug(wanted):
            entry.changes.append(
                "the old slug is not a contract slug; its address is kept by the permalink alias"
            )
        elif wanted in site.taken:
            entry.warnings.append(f"old slug {wanted!r} is another imported article's address; not an alias")
        else:
            kept.append(wanted)
    elif not wanted:
        entry.changes.append(f"no slug in WordPress; made {slug!r}")
    entry.aliases = kept
    return kept


@lru_cache(maxsize=1)
def _contract_takes_paths() -> bool:
    """Whether this version of the contract accepts site paths (`/2015/12/21/old/`) as aliases."""
    probe = {"title": "t", "authors": ["a"], "published_at": "2015-12-21T22:00:00+03:00", "body": "b",
             "aliases": ["/2015/12/21/probe/", "/?p=1"]}  # fmt: skip
    try:
        read_article("articles/probe.json", json.dumps(probe).encode())
    except ValidationFailed:
        return False
    return True


def _featured(item: Item, site: _Site, entry: ArticleEntry) -> media.MediaFile | None:
    """The featured image (`_thumbnail_id`), recorded for the article's coming `image` field."""
    raw = item.meta.get("_thumbnail_id", "").strip()
    if not raw.isdigit():
        return None
    attachment = site.context.attachments.get(int(raw))
    if attachment is None or attachment.upload is None:
        entry.warnings.append(f"featured image {raw} is not in the export")
        return None
    if not media.is_image(attachment.upload):
        entry.warnings.append(
            f"featured image {attachment.upload} is not a kind of image the pipeline publishes"
        )
        return None
    found = media.MediaFile(attachment.upload, media.content_key(attachment.upload))
    entry.featured_image = {
        "src": found.key,
        "alt": attachment.alt,
        "caption": attachment.caption,
        "credit": "",
    }
    if not attachment.alt:
        entry.warnings.append("featured image has no alt text; the image field will need one")
    return found


def _serialise(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write_article(entry: ArticleEntry, document: dict[str, Any], content_dir: Path) -> None:
    raw = _serialise(document)
    try:
        read_article(entry.file, raw)
    except ValidationFailed as failure:
        entry.outcome = FAILED
        entry.errors = [{"field": e.field, "message": e.message} for e in failure.errors]
        return
    entry.outcome = _put(content_dir / entry.file, raw)


def _put(path: Path, raw: bytes) -> str:
    if path.is_file():
        if path.read_bytes() == raw:
            return UNCHANGED
        outcome = UPDATED
    else:
        outcome = WRITTEN
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return outcome


def _write_profile(slug: str, name: str, site: _Site, content_dir: Path) -> FileEntry:
    """An author's profile; one an editor has changed since is kept as it is."""
    bio, url = site.profiles.get(slug, ("", ""))
    document: dict[str, Any] = {"name": name}
    if bio.strip():
        document["bio"] = fields.shorten(fields.plain_text(bio)[0], 2000)
    if url.startswith(("https://", "http://")):
        document["url"] = url
    key = f"authors/{slug}.json"
    raw = _serialise(document)
    try:
        read_author(key, raw)
    except ValidationFailed as failure:
        return FileEntry(
            key, FAILED, errors=[{"field": e.field, "message": e.message} for e in failure.errors]
        )
    path = content_dir / key
    if path.is_file() and path.read_bytes() != raw:
        return FileEntry(key, KEPT, source="an existing profile differs; left as it is")
    return FileEntry(key, _put(path, raw))


def _bring_media(
    files: list[media.MediaFile], options: ImportOptions, report: ImportReport
) -> list[FileEntry]:
    """Copy each image from the uploads folder, or list it when no folder was given."""
    entries: list[FileEntry] = []
    users: dict[str, list[ArticleEntry]] = {}
    for article in report.articles:
        featured = (article.featured_image or {}).get("src")
        for key in {*article.images, *([featured] if featured else [])}:
            users.setdefault(key, []).append(article)
    for found in files:
        if options.media_dir is None:
            entries.append(FileEntry(found.key, "listed", source=found.upload))
            continue
        outcome = media.copy_into(options.media_dir, found, options.content_dir)
        entries.append(FileEntry(found.key, outcome, source=found.upload))
        if outcome == "missing":
            for article in users.get(found.key, []):
                article.warnings.append(f"image missing from the uploads folder: {found.upload}")
    if options.media_dir is None and files:
        report.notes.append(
            f"{len(files)} image(s) listed under media, not copied: give --media-dir with the "
            "wp-content/uploads folder, or copy each source to its file"
        )
    return entries


def timed_import(options: ImportOptions) -> tuple[ImportReport, float]:
    """The import and the seconds it took."""
    started = time.perf_counter()
    report = import_wordpress(options)
    return report, time.perf_counter() - started
