"""The media stage and the planner's view of images, on the in-memory index and a fake bucket:
what an upload, a duplicate, a bad file and a delete do, and which pages an image's change asks for."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from PIL import Image

from broadsheet.ingest import ingest_key
from broadsheet.media.stage import MediaOutcome, ingest_media
from broadsheet.plan import plan_media
from tests.unit.fakes import FakeContentStore, FakeIndex, article_bytes

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
LEAD = "media/lead.jpg"
STORY = "articles/story.json"


@dataclass
class MemoryRenditions:
    """The site bucket's renditions in memory, counting writes."""

    files: dict[str, bytes] = field(default_factory=dict)
    writes: int = 0
    # What the site bucket's lifecycle rule would delete after the grace period.
    superseded: set[str] = field(default_factory=set)

    def exists(self, key: str) -> bool:
        return key in self.files

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.files[key] = body
        self.writes += 1

    def supersede(self, keys: list[str]) -> None:
        self.superseded |= {key for key in keys if key in self.files}

    def restore(self, keys: list[str]) -> None:
        self.superseded -= set(keys)


def jpeg(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (700, 400), colour).save(out, "JPEG")
    return out.getvalue()


def publish(content: FakeContentStore, index: FakeIndex, renditions: MemoryRenditions) -> MediaOutcome:
    def shown(slug: str) -> tuple[str, ...] | None:
        held = index.get_article(slug)
        return held.article.media_names if held else None

    return ingest_media(LEAD, content, index, renditions, shown).outcome


def test_an_upload_is_published_then_a_duplicate_changes_nothing() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(LEAD, jpeg())
    assert publish(content, index, renditions) is MediaOutcome.PUBLISHED
    item = index.get_media(["lead.jpg"])["lead.jpg"]
    assert sorted(renditions.files) == sorted(item.rendition_keys())
    assert item.widths == (320, 640, 700)
    written = renditions.writes
    assert publish(content, index, renditions) is MediaOutcome.UNCHANGED
    assert renditions.writes == written


def test_a_lost_rendition_is_published_again() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(LEAD, jpeg())
    publish(content, index, renditions)
    lost = sorted(renditions.files)[0]
    del renditions.files[lost]
    assert publish(content, index, renditions) is MediaOutcome.PUBLISHED
    assert lost in renditions.files


def test_a_bad_file_is_reported_and_the_last_good_version_stays() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(LEAD, jpeg())
    publish(content, index, renditions)
    good = index.get_media(["lead.jpg"])
    content.upload(LEAD, b"<svg onload=alert(1)></svg>")
    assert publish(content, index, renditions) is MediaOutcome.REJECTED
    report = content.report(LEAD)
    assert report is not None and "SVG" in json.dumps(report)
    assert index.get_media(["lead.jpg"]) == good
    content.upload(LEAD, jpeg("blue"))
    assert publish(content, index, renditions) is MediaOutcome.PUBLISHED
    assert content.report(LEAD) is None


def test_an_article_warns_of_a_missing_image_until_it_arrives_and_again_when_it_goes() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(STORY, article_bytes("story", image={"src": LEAD, "alt": "A red square"}))
    ingest_key(STORY, content, index, NOW)
    assert "media/lead.jpg" in json.dumps(content.warnings[STORY])
    content.upload(LEAD, jpeg())
    publish(content, index, renditions)
    assert STORY not in content.warnings
    content.remove(LEAD)
    assert publish(content, index, renditions) is MediaOutcome.UNPUBLISHED
    assert index.get_media(["lead.jpg"]) == {}
    assert STORY in content.warnings


def test_an_image_change_renders_the_pages_of_what_shows_it_and_nothing_else() -> None:
    content, index = FakeContentStore(), FakeIndex()
    content.upload(STORY, article_bytes("story", image={"src": LEAD, "alt": "A red square"}))
    content.upload("articles/other.json", article_bytes("other"))
    for key in (STORY, "articles/other.json"):
        ingest_key(key, content, index, NOW)
    users = index.media_users("lead.jpg")
    assert users == ["article#story"]
    pages = plan_media(users, index, 10)
    assert "article:story" in pages and "home:0" in pages and "feed:home:atom" in pages
    assert "article:other" not in pages
    assert plan_media([], index, 10) == []


def publish_as(key: str, content: FakeContentStore, index: FakeIndex, renditions: MemoryRenditions) -> None:
    ingest_media(key, content, index, renditions, lambda slug: None)


def test_a_replaced_image_retires_its_old_renditions_and_keeps_the_new() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(LEAD, jpeg("red"))
    publish(content, index, renditions)
    old = index.get_media(["lead.jpg"])["lead.jpg"]
    content.upload(LEAD, jpeg("blue"))
    assert publish(content, index, renditions) is MediaOutcome.PUBLISHED
    new = index.get_media(["lead.jpg"])["lead.jpg"]
    assert new.hash != old.hash
    # Still in the bucket for cached pages, marked for the lifecycle rule; the new ones unmarked.
    assert renditions.superseded == set(old.rendition_keys()) <= set(renditions.files)
    assert not renditions.superseded & set(new.rendition_keys())


def test_a_deleted_image_retires_its_renditions() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(LEAD, jpeg())
    publish(content, index, renditions)
    item = index.get_media(["lead.jpg"])["lead.jpg"]
    content.remove(LEAD)
    assert publish(content, index, renditions) is MediaOutcome.UNPUBLISHED
    assert renditions.superseded == set(item.rendition_keys())


def test_the_old_bytes_uploaded_again_are_no_longer_superseded() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(LEAD, jpeg("red"))
    publish(content, index, renditions)
    content.upload(LEAD, jpeg("blue"))
    publish(content, index, renditions)
    content.upload(LEAD, jpeg("red"))
    assert publish(content, index, renditions) is MediaOutcome.PUBLISHED
    red = index.get_media(["lead.jpg"])["lead.jpg"]
    assert not renditions.superseded & set(red.rendition_keys())
    blue = {k for k in renditions.superseded if not k.startswith(f"media/{red.hash}/")}
    assert blue and blue == renditions.superseded


def test_renditions_another_file_shares_are_never_retired() -> None:
    content, index, renditions = FakeContentStore(), FakeIndex(), MemoryRenditions()
    content.upload(LEAD, jpeg("red"))
    content.upload("media/copy.jpg", jpeg("red"))
    publish_as(LEAD, content, index, renditions)
    publish_as("media/copy.jpg", content, index, renditions)
    content.remove(LEAD)
    publish_as(LEAD, content, index, renditions)
    assert index.hash_users(index.get_media(["copy.jpg"])["copy.jpg"].hash) == ["copy.jpg"]
    assert renditions.superseded == set()
