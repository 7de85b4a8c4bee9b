"""The media stage: an event says "media/<file> changed"; publish its renditions and index it.

Like ingest, the event is a hint: the file is read as it is now, and the index is written only
if it does not already hold a newer version. Renditions go to the site bucket before the index
names them, so a page never refers to a rendition that is not there yet; their names carry the
original's hash, so publishing one twice writes the same bytes. A file that cannot be published
gets a report and leaves the last good version (its index item and renditions) in place.

When a file is replaced or deleted, the renditions of its previous version are retired, not
deleted: pages and feeds cached before the change still name them. They are tagged superseded
(unless another published file has the same bytes) and the site bucket's lifecycle rule deletes
them after a grace period; publishing the same bytes again clears the tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from broadsheet.adapters.s3_content import ContentObject, ContentStore
from broadsheet.contract.files import KEY, report_body
from broadsheet.contract.media import MEDIA, MediaItem, media_problem
from broadsheet.errors import FieldError, SkippedKey, TransientError, ValidationFailed
from broadsheet.index.ports import MediaIndex, SourceVersion
from broadsheet.media.notices import WarningsStore, sync_warnings
from broadsheet.media.renditions import MAX_UPLOAD_BYTES, Processed, process

MAX_ROUNDS = 5


class MediaOutcome(Enum):
    """What the media stage did with one key."""

    PUBLISHED = "published"
    UNCHANGED = "unchanged"
    UNPUBLISHED = "unpublished"
    ABSENT = "absent"
    STALE = "stale"
    REJECTED = "rejected"


@dataclass(frozen=True)
class MediaResult:
    """The outcome for one media key, and the report when it was refused."""

    key: str
    outcome: MediaOutcome
    rejection: ValidationFailed | None = None
    renditions_written: int = 0


class RenditionStore(Protocol):
    """Where renditions are published."""

    def exists(self, key: str) -> bool:
        """Whether a rendition is already published."""

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Publish a rendition."""

    def supersede(self, keys: list[str]) -> None:
        """Mark renditions no published image names, for deletion after the grace period."""

    def restore(self, keys: list[str]) -> None:
        """Clear that mark from renditions a published image names again."""


def media_name_of(key: str) -> str:
    """The media name of a content key; SkippedKey for a key that is not an upload, ValidationFailed
    for a name that cannot be published."""
    name = key[len(MEDIA) :] if key.startswith(MEDIA) else None
    if name is None:
        raise SkippedKey(f"{key!r} is outside media/")
    if not name or name.endswith("/"):
        raise SkippedKey(f"{key!r} is a folder marker")
    problem = media_problem(name)
    if problem is not None:
        raise ValidationFailed(key, [FieldError(KEY, problem)])
    return name


def ingest_media(
    key: str,
    content: ContentStore,
    index: MediaIndex,
    renditions: RenditionStore,
    article_media: Callable[[str], tuple[str, ...] | None],
) -> MediaResult:
    """Bring the site's renditions and the index in line with one media key.

    `article_media(slug)` names the images an indexed article shows (to refresh its warnings).
    Raises SkippedKey outside media/ and TransientError when a dependency fails."""
    try:
        name = media_name_of(key)
    except ValidationFailed as rejection:
        content.put_report(key, report_body(rejection, content.current_version(key)))
        return MediaResult(key, MediaOutcome.REJECTED, rejection)
    trust_current = False
    for _ in range(MAX_ROUNDS):
        obj = content.get(key, limit=MAX_UPLOAD_BYTES + 1)
        result = _apply(key, name, obj, content, index, renditions, trust_current)
        if content.current_version(key) != (obj.version_id if obj else None):
            continue
        if result.outcome is MediaOutcome.STALE:
            trust_current = True  # the newer version indexed was deleted: the current one wins
            continue
        if result.outcome in {MediaOutcome.PUBLISHED, MediaOutcome.UNPUBLISHED}:
            _refresh_warnings(name, index, content, article_media)
        return result
    raise TransientError(f"{key} kept changing while it was published")


def _apply(
    key: str,
    name: str,
    obj: ContentObject | None,
    content: ContentStore,
    index: MediaIndex,
    renditions: RenditionStore,
    trust_current: bool,
) -> MediaResult:
    held = index.get_media_source(name)
    if obj is None:
        content.clear_report(key)
        if held is None:
            return MediaResult(key, MediaOutcome.ABSENT)
        previous = index.get_media([name]).get(name)
        index.delete_media(name)
        if previous is not None:
            retire(previous, index, renditions)
        return MediaResult(key, MediaOutcome.UNPUBLISHED)
    if held is not None and held.modified_ms > obj.modified_ms and not trust_current:
        return MediaResult(key, MediaOutcome.STALE)
    if held is not None and held.version_id == obj.version_id:
        # A duplicate event, or reconcile checking: decode again only if a rendition is missing.
        item = index.get_media([name]).get(name)
        if item is not None and all(renditions.exists(k) for k in item.rendition_keys()):
            content.clear_report(key)
            return MediaResult(key, MediaOutcome.UNCHANGED)
    try:
        done: Processed = process(key, name, obj.body)
    except ValidationFailed as rejection:
        content.put_report(key, report_body(rejection, obj.version_id))
        return MediaResult(key, MediaOutcome.REJECTED, rejection)
    previous = index.get_media([name]).get(name) if held is not None else None
    written, found = 0, []
    for rendition in done.renditions:
        if renditions.exists(rendition.key):
            found.append(rendition.key)
        else:
            renditions.put(rendition.key, rendition.body, rendition.content_type)
            written += 1
    adopted = previous is None or previous.hash != done.item.hash
    if found and adopted:
        # Renditions already there belong to a retired version or to another file of the same
        # bytes: clear a superseded mark before the index names them, and again after, in case
        # that other file was retired in between.
        renditions.restore(found)
    content.clear_report(key)
    index.put_media(done.item, SourceVersion(obj.version_id, obj.modified_ms))
    if found and adopted:
        renditions.restore(found)
    if previous is not None and adopted:
        retire(previous, index, renditions)
    return MediaResult(key, MediaOutcome.PUBLISHED, renditions_written=written)


def retire(previous: MediaItem, index: MediaIndex, renditions: RenditionStore) -> None:
    """Mark the renditions of an image's previous version superseded, unless a published file
    still has the same bytes (its renditions are the same objects)."""
    if index.hash_users(previous.hash):
        return
    keys = previous.rendition_keys()
    renditions.supersede(keys)
    if index.hash_users(previous.hash):
        # Published under another name meanwhile: that file's stage restores them too.
        renditions.restore(keys)


def _refresh_warnings(
    name: str,
    index: MediaIndex,
    content: WarningsStore,
    article_media: Callable[[str], tuple[str, ...] | None],
) -> None:
    """Bring the warning reports of the articles that show an image up to date."""
    for owner in index.media_users(name):
        kind, _, slug = owner.partition("#")
        if kind != "article":
            continue
        names = article_media(slug)
        if names is not None:
            sync_warnings(f"articles/{slug}.json", names, index, content)
