"""The image contract: an article's `image`, an author's `portrait`, and `![alt](media/<file>)` in
bodies; every refusal names the field (and, in a body, the line) and says what to do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broadsheet.contract.files import read_article, read_author
from broadsheet.contract.media import MediaItem, media_problem, rendition_widths
from broadsheet.errors import FieldError, ValidationFailed

KEY = "articles/sample-article.json"


def article(**changes: Any) -> bytes:
    doc: dict[str, Any] = {
        "title": "Review of the week",
        "authors": ["Gevorg Mirzayan"],
        "published_at": "2015-12-21T22:00:00+03:00",
        "body": "A paragraph.\n",
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def errors_of(raw: bytes, key: str = KEY) -> list[FieldError]:
    read = read_author if key.startswith("authors/") else read_article
    with pytest.raises(ValidationFailed) as caught:
        read(key, raw)
    return caught.value.errors


def test_lead_image_with_alt_caption_and_credit_is_accepted() -> None:
    image = {"src": "media/kremlin.jpg", "alt": "The Kremlin at dusk", "caption": "Moscow", "credit": "AB"}
    accepted = read_article(KEY, article(image=image))
    assert accepted.image is not None
    assert accepted.image.name == "kremlin.jpg"
    assert accepted.media_names == ("kremlin.jpg",)


def test_decorative_image_needs_no_alt() -> None:
    accepted = read_article(KEY, article(image={"src": "media/rule.png", "decorative": True}))
    assert accepted.image is not None and accepted.image.alt == ""


@pytest.mark.parametrize(
    ("image", "field", "words"),
    [
        ({"src": "media/kremlin.jpg"}, "image", 'needs "alt"'),
        ({"src": "media/kremlin.jpg", "alt": "   "}, "image", 'needs "alt"'),
        ({"src": "media/kremlin.jpg", "alt": "x", "decorative": True}, "image", "remove"),
        ({"src": "media/kremlin.jpg", "alt": "x", "decorative": "yes"}, "image.decorative", ""),
        ({"src": "https://example.com/a.jpg", "alt": "x"}, "image.src", "media folder"),
        ({"src": "media/drawing.svg", "alt": "x"}, "image.src", "SVG files are not accepted"),
        ({"src": "media/notes.txt", "alt": "x"}, "image.src", "must be a JPEG, PNG"),
        ({"src": "media/a b.jpg", "alt": "x"}, "image.src", "not a usable file name"),
        ({"src": "media/sub/a.jpg", "alt": "x"}, "image.src", "no folders"),
        ({"src": "media/a.jpg", "alt": "x", "title": "t"}, "image.title", ""),
        ({"src": "media/a.jpg", "alt": "line\nbreak"}, "image.alt", "single line"),
    ],
)
def test_bad_lead_images_are_refused_naming_the_field(image: dict[str, Any], field: str, words: str) -> None:
    errors = errors_of(article(image=image))
    assert [e.field for e in errors] == [field]
    assert words in errors[0].message


def test_body_image_without_alt_is_refused_naming_body_and_line() -> None:
    errors = errors_of(article(body="First paragraph.\n\nSecond ![](media/map.png) here.\n"))
    assert [e.field for e in errors] == ["body"]
    assert errors[0].message.startswith("line 3, column 8: the image media/map.png needs alt text")


def test_body_image_with_unusable_name_is_refused() -> None:
    errors = errors_of(article(body="![A map](media/map.svg)\n"))
    assert "SVG files are not accepted" in errors[0].message


def test_remote_body_images_stay_allowed_without_alt() -> None:
    accepted = read_article(KEY, article(body="![](https://example.com/chart.png)\n"))
    assert accepted.media_names == ()


def test_media_names_list_lead_then_body_images_once_each() -> None:
    body = "![Map](media/map.png)\n\nText ![Chart](media/chart.webp) and ![Map again](media/map.png).\n"
    accepted = read_article(KEY, article(body=body, image={"src": "media/lead.jpg", "alt": "Lead"}))
    assert accepted.media_names == ("lead.jpg", "map.png", "chart.webp")


def test_author_portrait_follows_the_same_rules() -> None:
    key = "authors/gevorg-mirzayan.json"
    profile = {"name": "Gevorg Mirzayan", "portrait": {"src": "media/gevorg.jpg", "alt": "Gevorg Mirzayan"}}
    accepted = read_author(key, json.dumps(profile).encode())
    assert accepted.portrait is not None and accepted.portrait.name == "gevorg.jpg"
    profile["portrait"] = {"src": "media/gevorg.jpg"}
    assert [e.field for e in errors_of(json.dumps(profile).encode(), key)] == ["portrait"]


def test_media_names_outside_the_contract_say_why() -> None:
    assert media_problem("photo.JPG") is None
    assert media_problem(".hidden.jpg") is not None
    assert media_problem("photo.heic") is not None


@pytest.mark.parametrize(
    ("original", "widths"),
    [
        (6000, (320, 640, 960, 1280, 1600)),
        (1000, (320, 640, 960, 1000)),
        (200, (200,)),
        (1280, (320, 640, 960, 1280)),
    ],
)
def test_renditions_are_never_wider_than_the_original(original: int, widths: tuple[int, ...]) -> None:
    assert rendition_widths(original) == widths


def test_social_image_is_the_narrowest_rendition_at_least_1200_wide() -> None:
    item = MediaItem("a.jpg", "0" * 20, 4000, 3000, rendition_widths(4000), ("avif", "webp", "jpg"))
    assert item.social_width() == 1280
    assert item.height_at(1280) == 960
    small = MediaItem("b.jpg", "1" * 20, 900, 600, rendition_widths(900), ("jpg",))
    assert small.social_width() == 900
