"""Images on pages: the article's structured data names its crops in the three shapes search
engines ask for, and an author's page shows their portrait (picture, alt text, Person image)."""

from __future__ import annotations

import json
from typing import Any

from broadsheet.clock import now as clock_now
from broadsheet.contract.media import MediaItem, crop_sizes, rendition_widths
from broadsheet.contract.models import AuthorProfile
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import ArticlePage, Listing
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.unit.fakes import make_article, select

LEAD = MediaItem(
    "lead.jpg", "a" * 20, 2400, 1600, rendition_widths(2400), ("avif", "webp", "jpg"), crop_sizes(2400, 1600)
)
FACE = MediaItem(
    "face.jpg", "b" * 20, 900, 1200, rendition_widths(900), ("avif", "webp", "jpg"), crop_sizes(900, 1200)
)
AUTHOR = "gevorg-mirzayan"


def page(settings: Settings, index: MemoryIndex, target: Any) -> bytes:
    output = render_page(target, index, settings)
    assert output is not None, target
    return output.body


def jsonld(body: bytes, kind: str) -> dict[str, Any]:
    found = [
        json.loads(s.text) for s in select(body, "script") if s.attrs.get("type") == "application/ld+json"
    ]
    matching = [doc for doc in found if doc["@type"] == kind]
    assert len(matching) == 1, found
    doc: dict[str, Any] = matching[0]
    return doc


def with_author(settings: Settings, profile: AuthorProfile, *media: MediaItem) -> MemoryIndex:
    index = MemoryIndex(clock_now(settings))
    index.add_article(make_article("kerry-putin", authors=["Gevorg Mirzayan"]))
    for item in media:
        index.add_media(item)
    index.add_profile(AUTHOR, profile)
    return index


def portrait_profile() -> AuthorProfile:
    return AuthorProfile.model_validate(
        {
            "name": "Gevorg Mirzayan",
            "bio": "A political scientist.",
            "url": "https://example.org/gm",
            "portrait": {"src": "media/face.jpg", "alt": "Gevorg Mirzayan, smiling"},
        }
    )


def test_article_structured_data_lists_square_four_by_three_and_wide_crops(settings: Settings) -> None:
    index = MemoryIndex(clock_now(settings))
    index.add_article(make_article("lead-story", image={"src": "media/lead.jpg", "alt": "A square"}))
    index.add_media(LEAD)
    body = page(settings, index, ArticlePage("lead-story"))
    images = jsonld(body, "NewsArticle")["image"]
    base = f"http://example.test/media/{'a' * 20}"
    assert images == [
        {"@type": "ImageObject", "url": f"{base}/1200x1200.jpg", "width": 1200, "height": 1200},
        {"@type": "ImageObject", "url": f"{base}/1200x900.jpg", "width": 1200, "height": 900},
        {"@type": "ImageObject", "url": f"{base}/1200x675.jpg", "width": 1200, "height": 675},
    ]
    assert all(image["width"] * image["height"] >= 50_000 for image in images)
    assert {f"media/{'a' * 20}/{image['width']}x{image['height']}.jpg" for image in images} <= set(
        LEAD.rendition_keys()
    )


def test_an_image_without_crops_offers_its_social_rendition(settings: Settings) -> None:
    index = MemoryIndex(clock_now(settings))
    index.add_article(make_article("lead-story", image={"src": "media/lead.jpg", "alt": "A square"}))
    index.add_media(MediaItem("lead.jpg", "c" * 20, 1400, 900, rendition_widths(1400), ("jpg",)))
    images = jsonld(page(settings, index, ArticlePage("lead-story")), "NewsArticle")["image"]
    assert [image["url"] for image in images] == [f"http://example.test/media/{'c' * 20}/1280.jpg"]


def test_author_page_shows_the_portrait_eagerly_with_its_alt_text_and_size(settings: Settings) -> None:
    body = page(settings, with_author(settings, portrait_profile(), FACE), Listing("author", AUTHOR).page(0))
    [picture] = select(body, "picture", "portrait")
    [img] = [e for e in select(body, "img") if f"media/{'b' * 20}/" in e.attrs.get("src", "")]
    assert img.attrs["alt"] == "Gevorg Mirzayan, smiling"
    assert (img.attrs["width"], img.attrs["height"]) == ("900", "1200")
    assert img.attrs["loading"] == "eager" and "fetchpriority" not in img.attrs
    assert picture.attrs["class"] == "portrait"
    # In the page head, before the first item of the listing.
    assert body.index(b'class="portrait"') < body.index(b'class="items"')


def test_author_structured_data_is_a_profile_page_of_a_person_with_the_portrait(settings: Settings) -> None:
    body = page(settings, with_author(settings, portrait_profile(), FACE), Listing("author", AUTHOR).page(0))
    profile = jsonld(body, "ProfilePage")
    person = profile["mainEntity"]
    assert person["@type"] == "Person" and person["name"] == "Gevorg Mirzayan"
    assert person["description"] == "A political scientist."
    assert person["sameAs"] == ["https://example.org/gm"]
    assert person["image"] == {
        "@type": "ImageObject",
        "url": f"http://example.test/media/{'b' * 20}/900.jpg",
        "width": 900,
        "height": 1200,
    }


def test_a_portrait_not_published_yet_leaves_no_picture_and_no_person_image(settings: Settings) -> None:
    body = page(settings, with_author(settings, portrait_profile()), Listing("author", AUTHOR).page(0))
    assert not select(body, "picture", "portrait")
    assert "image" not in jsonld(body, "ProfilePage")["mainEntity"]


def test_older_author_pages_carry_no_portrait(settings: Settings) -> None:
    index = with_author(settings, portrait_profile(), FACE)
    for n in range(5):
        index.add_article(make_article(f"older-{n}", authors=["Gevorg Mirzayan"]))
    body = page(settings, index, Listing("author", AUTHOR).page(1))
    assert not select(body, "picture", "portrait")
