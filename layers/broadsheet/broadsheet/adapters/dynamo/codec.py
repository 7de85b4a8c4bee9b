"""The index's items: their keys, and articles and entries to and from DynamoDB's wire form."""

from __future__ import annotations

import zlib
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from broadsheet.contract.media import MediaItem
from broadsheet.contract.models import Article
from broadsheet.index.entries import Byline, Entry
from broadsheet.index.ports import IndexedArticle, SourceVersion

ARTICLE_SK = "article"
PROFILE_SK = "profile"
MEDIA_SK = "media"
MONTHS_PK = "months"
COUNT_SK = "count"
COUNTER_PREFIX = "count#"
CLAIM_PREFIX = "claim#"
BATCH_GET = 100
TRANSACTION_LIMIT = 100
# How many entries a page of a positional count reads from each end of a listing.
COUNT_PAGE = 200
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def article_pk(slug: str) -> str:
    """The partition key of an article item."""
    return f"article#{slug}"


def listing_pk(listing: str) -> str:
    """The partition key of a listing's entries."""
    return f"listing#{listing}"


def counter_pk(listing: str) -> str:
    """The partition key of a listing's counter (but for a month's)."""
    return f"{COUNTER_PREFIX}{listing}"


def counter_key(listing: str) -> tuple[str, str]:
    """The key of the item counting a listing's entries: a month's is its archive month item."""
    if listing.startswith("month:"):
        return MONTHS_PK, listing.removeprefix("month:")
    return counter_pk(listing), COUNT_SK


def uploads_pk(slug: str) -> str:
    """The partition key of the items naming who uploaded each version of an article."""
    return f"uploads#{slug}"


def alias_pk(old: str) -> str:
    """The partition key of an alias item."""
    return f"alias#{old}"


def profile_pk(author_slug: str) -> str:
    """The partition key of an author profile item."""
    return f"author#{author_slug}"


def media_pk(name: str) -> str:
    """The partition key of a published image's item."""
    return f"media#{name}"


def hash_pk(digest: str) -> str:
    """The partition key of the items naming the published images with one content hash."""
    return f"hash#{digest}"


def uses_pk(name: str) -> str:
    """The partition key of the items naming what shows an image (`article#<slug>`, `author#<slug>`)."""
    return f"uses#{name}"


def upload_item(slug: str, source: SourceVersion) -> dict[str, Any]:
    """The item recording who uploaded one version of an article (kept after later versions)."""
    return to_wire(
        {
            "pk": uploads_pk(slug),
            "sk": source.version_id,
            "principal": source.uploaded_by,
            "modified": source.modified_ms,
        }
    )


def media_item(item: MediaItem, source: SourceVersion) -> dict[str, Any]:
    """The DynamoDB item of a published image."""
    return to_wire(
        {
            "pk": media_pk(item.name),
            "sk": MEDIA_SK,
            "hash": item.hash,
            "width": item.width,
            "height": item.height,
            "widths": list(item.widths),
            "formats": list(item.formats),
            "crops": [f"{width}x{height}" for width, height in item.crops] or None,
            "source_version": source.version_id,
            "source_modified": source.modified_ms,
        }
    )


def media_from_item(item: dict[str, Any]) -> MediaItem:
    """A published image from its DynamoDB item (wire form)."""
    plain = from_wire(item)
    return MediaItem(
        name=str(plain["pk"]).removeprefix("media#"),
        hash=str(plain["hash"]),
        width=int(plain["width"]),
        height=int(plain["height"]),
        widths=tuple(int(w) for w in plain["widths"]),
        formats=tuple(str(f) for f in plain["formats"]),
        crops=tuple(_crop(str(c)) for c in plain.get("crops", [])),
    )


def _crop(size: str) -> tuple[int, int]:
    width, _, height = size.partition("x")
    return int(width), int(height)


def to_wire(values: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's wire form (None values left out)."""
    return {k: _SERIALIZER.serialize(v) for k, v in values.items() if v is not None}


def pack(doc: str) -> bytes:
    """An article document as stored: compressed."""
    # Compressed so that a 200 KB body with many escaped characters still fits an item.
    return zlib.compress(doc.encode("utf-8"), 6)


def unpack(value: Any) -> str:
    """An article document from its stored form."""
    raw = value.value if hasattr(value, "value") else value
    return zlib.decompress(bytes(raw)).decode("utf-8")


def from_wire(item: dict[str, Any]) -> dict[str, Any]:
    """An item from DynamoDB's wire form."""
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}


def entry_item(entry: Entry) -> dict[str, Any]:
    """The DynamoDB item of a listing entry."""
    return to_wire(
        {
            "pk": listing_pk(entry.listing),
            "sk": entry.sort_key,
            "slug": entry.slug,
            "title": entry.title,
            "teaser": entry.teaser,
            "authors": [{"name": b.name, "slug": b.slug} for b in entry.authors],
            "published": entry.published,
            "modified": entry.modified,
            "image": entry.image or None,
            "coverage_live": True if entry.live_coverage else None,
            "featured": entry.featured or None,
        }
    )


def entry_from_item(item: dict[str, Any]) -> Entry:
    """A listing entry from its DynamoDB item (either wire or plain form)."""
    plain = from_wire(item) if "pk" in item and isinstance(item["pk"], dict) else item
    return Entry(
        listing=str(plain["pk"]).removeprefix("listing#"),
        sort_key=str(plain["sk"]),
        slug=str(plain["slug"]),
        title=str(plain["title"]),
        teaser=str(plain.get("teaser", "")),
        authors=tuple(Byline(str(a["name"]), str(a["slug"])) for a in plain["authors"]),
        published=str(plain["published"]),
        modified=str(plain.get("modified") or plain["published"]),
        image=str(plain.get("image") or ""),
        live_coverage=bool(plain.get("coverage_live", False)),
        featured=str(plain.get("featured") or ""),
    )


def article_from_item(item: dict[str, Any]) -> IndexedArticle:
    """An indexed article from its DynamoDB item (wire form)."""
    plain = from_wire(item)
    return IndexedArticle(
        article=Article.model_validate_json(unpack(plain["doc"])),
        live=bool(plain["live"]),
        sort_key=str(plain["sort_key"]),
        listings=tuple(str(x) for x in plain.get("listings", [])),
        source=SourceVersion(
            str(plain["source_version"]),
            int(plain["source_modified"]),
            str(plain.get("source_suffix", ".json")),
            str(plain.get("source_uploaded_by", "")),
        ),
        rev=int(plain["rev"]),
    )
