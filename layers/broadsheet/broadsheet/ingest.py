"""Ingest: an event says "key K changed"; read K's current state and bring the index in line.

The event is only a hint. Duplicates and reordering are harmless because every run reads
the object as it is now, writes the index conditionally on the revision it read, and then
checks that the object has not moved on meanwhile; if it has, it goes round again. An
article's embargo and expiry schedules are brought in line inside the same round, so they too
end up matching the version that stayed current.

A new version of an article whose alias names another indexed article's address is refused
like any bad file (`broadsheet.aliases.alias_conflicts`). A version already indexed is never
refused again when its key comes back (a duplicate event, its embargo or expiry falling due):
the alias rule, not ingest, keeps an address that another article took later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

# Every ingest may read a Markdown article: its front-matter reader (and YAML), which the contract
# imports only where it parses one, is loaded with this stage, at the function's init.
import broadsheet.contract.markdown  # noqa: F401
from broadsheet.adapters.s3_content import ContentObject, ContentStore
from broadsheet.aliases import alias_conflicts
from broadsheet.contract.files import ContentKey, parse_key, read_article, read_author, report_body
from broadsheet.contract.files import shadowed as shadowed_by
from broadsheet.contract.models import Article
from broadsheet.errors import TransientError, ValidationFailed
from broadsheet.index.entries import entries_of
from broadsheet.index.ports import IndexWriter, SourceVersion
from broadsheet.media.notices import sync_warnings
from broadsheet.schedule import Schedules

MAX_ROUNDS = 5


class Outcome(Enum):
    """What ingesting one key did to the index."""

    PUBLISHED = "published"
    UNCHANGED = "unchanged"
    UNPUBLISHED = "unpublished"
    ABSENT = "absent"
    STALE = "stale"
    REJECTED = "rejected"


# Outcomes after which the index holds what the key now holds (the article, or nothing): its
# schedules follow. A rejected file leaves the last good version, and its schedules, in place.
_SETTLED = frozenset({Outcome.PUBLISHED, Outcome.UNCHANGED, Outcome.UNPUBLISHED, Outcome.ABSENT})


@dataclass(frozen=True)
class Upload:
    """Who an S3 notification says made a change (`userIdentity.principalId`), and which version
    it made when it says (S3 names it in a versioned bucket)."""

    principal: str
    version_id: str | None = None

    def of(self, version_id: str) -> str:
        """The principal, if this upload made `version_id` (or does not say which version it made)."""
        return self.principal if self.version_id in (None, version_id) else ""


@dataclass(frozen=True)
class IngestResult:
    """The outcome for one key, the report when the file was rejected, the article as indexed."""

    key: str
    outcome: Outcome
    rejection: ValidationFailed | None = None
    article: Article | None = None
    # Schedule name to the moment it is due, for an article published later or expiring.
    scheduled: Mapping[str, datetime] = field(default_factory=dict)


def ingest_key(
    key: str,
    content: ContentStore,
    index: IndexWriter,
    now: datetime,
    schedules: Schedules | None = None,
    upload: Upload | None = None,
) -> IngestResult:
    """Bring the index (and, given `schedules`, an article's schedules) in line with one key.

    An article may be written as `articles/<slug>.json` or `articles/<slug>.md`; an event on
    either is a hint about the slug, whose article is the JSON file's while it exists and the
    Markdown file's otherwise. A Markdown file shadowed by a JSON file gets a report saying so.

    `upload` names who made the change the event reports; it is kept with the version it made
    (the index, the report), never credited to a later version read meanwhile.

    Raises SkippedKey for keys outside the contract and TransientError when a dependency
    fails or the key keeps changing; a bad file is reported and returned, not raised.
    """
    try:
        ident = parse_key(key)
    except ValidationFailed as rejection:
        content.put_report(key, report_body(rejection, content.current_version(key)))
        return IngestResult(key, Outcome.REJECTED, rejection)
    trust_current = False
    for _ in range(MAX_ROUNDS):
        source, obj, shadowed = _current_source(ident, content)
        result = _apply(source, obj, content, index, now, trust_current=trust_current, upload=upload)
        _report_shadowed(ident, source, shadowed, content)
        if schedules is not None and ident.kind == "article" and result.outcome in _SETTLED:
            kept = schedules.sync(source.key, ident.slug, result.article, now)
            result = replace(result, scheduled=kept)
        read = {source.key: obj.version_id if obj else None} | shadowed
        if any(content.current_version(k) != version for k, version in read.items()):
            continue
        if result.outcome is not Outcome.STALE:
            return result
        # The index holds a version newer than the object that is still current: that version
        # was deleted (a rollback). The current object is the truth; write it.
        trust_current = True
    raise TransientError(f"{key} kept changing while it was ingested")


def _current_source(
    ident: ContentKey, content: ContentStore
) -> tuple[ContentKey, ContentObject | None, dict[str, str | None]]:
    """The key that holds the identity now and its object (the event's key and None when none
    does), and the current version of each other key that may hold it (None: absent)."""
    candidates = ident.sources()
    versions: dict[str, str | None] = {}
    for candidate in candidates:
        if candidate != ident:
            # A look before a read: most slugs are held by one file, usually the event's own.
            versions[candidate.key] = content.current_version(candidate.key)
            if versions[candidate.key] is None:
                continue
        obj = content.get(candidate.key)
        versions[candidate.key] = obj.version_id if obj else None
        if obj is not None:
            others = [c.key for c in candidates if c != candidate]
            return (
                candidate,
                obj,
                {k: versions[k] if k in versions else content.current_version(k) for k in others},
            )
    return ident, None, {c.key: versions[c.key] for c in candidates if c != ident}


def _report_shadowed(
    ident: ContentKey, source: ContentKey, shadowed: dict[str, str | None], content: ContentStore
) -> None:
    """Report each other file of the slug that is present while `source` holds the article; clear
    the report of the event's own key when it is gone."""
    for key, version in shadowed.items():
        if version is not None:
            content.put_report(key, report_body(shadowed_by(key, source.key), version))
        elif key == ident.key:
            content.clear_report(key)


def _apply(
    ident: ContentKey,
    obj: ContentObject | None,
    content: ContentStore,
    index: IndexWriter,
    now: datetime,
    *,
    trust_current: bool,
    upload: Upload | None,
) -> IngestResult:
    by = upload.of(obj.version_id) if upload is not None and obj is not None else ""
    try:
        if ident.kind == "author":
            result = _apply_profile(ident, obj, index, trust_current)
        else:
            result = _apply_article(ident, obj, index, now, trust_current, by)
    except ValidationFailed as rejection:
        version = obj.version_id if obj else None
        content.put_report(ident.key, report_body(rejection, version, uploaded_by=by))
        return IngestResult(ident.key, Outcome.REJECTED, rejection)
    # The file is good now (or gone): an old report would only mislead the editor.
    content.clear_report(ident.key)
    if ident.kind == "article" and result.outcome is not Outcome.STALE:
        # Published without the images it shows that are not uploaded yet: say which.
        names = result.article.media_names if result.article is not None else ()
        sync_warnings(ident.key, names, index, content)
    return result


def _apply_article(
    ident: ContentKey,
    obj: ContentObject | None,
    index: IndexWriter,
    now: datetime,
    trust_current: bool,
    by: str = "",
) -> IngestResult:
    key = ident.key
    if obj is None:
        for _ in range(MAX_ROUNDS):
            current = index.get_article(ident.slug)
            if current is None:
                return IngestResult(key, Outcome.ABSENT)
            if index.delete_article(current):
                return IngestResult(key, Outcome.UNPUBLISHED)
        raise TransientError(f"{key}: the index kept changing while unpublishing")
    article = read_article(key, obj.body)
    for _ in range(MAX_ROUNDS):
        current = index.get_article(ident.slug)
        # A later event for the version indexed (a duplicate, a schedule) keeps its uploader.
        kept = current.source.uploaded_by if current and current.source.version_id == obj.version_id else ""
        source = SourceVersion(obj.version_id, obj.modified_ms, ident.suffix, by or kept)
        if current is not None:
            # The other format's file may be older than the one indexed, and still the truth.
            same_file = current.source.suffix == source.suffix
            if current.source.modified_ms > source.modified_ms and same_file and not trust_current:
                return IngestResult(key, Outcome.STALE)
            # The same article may still list differently now: published, expired, or unpinned.
            listed = tuple(e.listing for e in entries_of(article, now))
            same_source = same_file and current.source.uploaded_by == source.uploaded_by
            if current.article.same_as(article) and current.listings == listed and same_source:
                return IngestResult(key, Outcome.UNCHANGED, article=article)
        if current is None or not current.article.same_as(article):
            conflicts = alias_conflicts(article, index)
            if conflicts:
                raise ValidationFailed(key, conflicts)
        if index.put_article(article, source, now, current):
            return IngestResult(key, Outcome.PUBLISHED, article=article)
    raise TransientError(f"{key}: the index kept changing while publishing")


def _apply_profile(
    ident: ContentKey, obj: ContentObject | None, index: IndexWriter, trust_current: bool
) -> IngestResult:
    key = ident.key
    if obj is None:
        if index.get_profile_source(ident.slug) is None:
            return IngestResult(key, Outcome.ABSENT)
        index.delete_profile(ident.slug)
        return IngestResult(key, Outcome.UNPUBLISHED)
    profile = read_author(key, obj.body)
    held = index.get_profile_source(ident.slug)
    if held is not None and held.modified_ms > obj.modified_ms and not trust_current:
        return IngestResult(key, Outcome.STALE)
    if held is not None and held.version_id == obj.version_id:
        return IngestResult(key, Outcome.UNCHANGED)
    index.put_profile(ident.slug, profile, SourceVersion(obj.version_id, obj.modified_ms))
    return IngestResult(key, Outcome.PUBLISHED)
