"""Structured data: every author named, sources credited, and no text able to leave its script element."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import pytest

from broadsheet.render.seo import (
    HEADLINE_LIMIT,
    breadcrumb_list,
    news_article,
    script_json,
    truncate_headline,
    website,
)
from tests.unit.conftest import CORPORA

PUBLISHED = datetime(2015, 12, 21, 22, 0, tzinfo=timezone(timedelta(hours=3)))
AUTHORS = [
    ("Gevorg Mirzayan", "https://example.test/authors/gevorg-mirzayan/"),
    ("Dmitriy Ofitserov-Belskiy", "https://example.test/authors/dmitriy-ofitserov-belskiy/"),
    ("Dmitry Suslov", "https://example.test/authors/dmitry-suslov/"),
]
SOURCE = "https://www.russia-direct.org/analysis/review-of-the-week"
PAYLOADS = CORPORA / "xss" / "payloadsallthethings"


def article(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "url": "https://example.test/articles/review-of-the-week/",
        "headline": "Review of the week: Kerry′s visit to Moscow and Putin′s press conference",
        "description": "On Dec. 15, Russian Foreign Minister Sergey Lavrov and John Kerry met in Moscow.",
        "published": PUBLISHED,
        "modified": None,
        "authors": AUTHORS,
        "section": "Foreign policy",
        "keywords": ["United States", "Syria"],
        "language": "en",
        "source_url": None,
        "site_name": "Valdai Review",
        "site_url": "https://example.test/",
    }
    return news_article(**{**fields, **overrides})


def payload_lines() -> list[str]:
    """Every non-blank line of every PayloadsAllTheThings XSS list, byte for byte (no line splitting
    on the vertical tabs and form feeds some payloads carry)."""
    paths = sorted(PAYLOADS.glob("*.txt"))
    if not paths:
        pytest.skip(f"{PAYLOADS} is not available")
    lines: list[str] = []
    for path in paths:
        lines += [line.removesuffix("\r") for line in path.read_text(encoding="utf-8").split("\n")]
    # Characters no corpus line happens to hold, but which matter inside a script element.
    extra = [
        "</script><script>alert(1)</script>",
        "<!--<script>",
        "a\u2028b\u2029c",
        "&lt;&#60;",
        "</SCRIPT >",
    ]
    return [line for line in lines if line.strip()] + extra


class ScriptText(HTMLParser):
    """Collects the text of each script element and whatever follows the last one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.tags: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self._inside = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self.tags.append("/" + tag)
        self._inside = self._inside and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.scripts[-1] += data


# ---------------------------------------------------------------- NewsArticle


def test_every_author_is_a_person_with_a_page() -> None:
    data = article()
    assert data["author"] == [{"@type": "Person", "name": name, "url": url} for name, url in AUTHORS]


def test_article_names_its_page_publisher_language_section_and_keywords() -> None:
    data = article()
    assert (data["@context"], data["@type"]) == ("https://schema.org", "NewsArticle")
    assert data["mainEntityOfPage"] == {
        "@type": "WebPage",
        "@id": "https://example.test/articles/review-of-the-week/",
    }
    assert data["publisher"] == {
        "@type": "Organization",
        "name": "Valdai Review",
        "url": "https://example.test/",
    }
    assert (data["inLanguage"], data["articleSection"]) == ("en", "Foreign policy")
    assert data["keywords"] == ["United States", "Syria"]
    assert data["description"].startswith("On Dec. 15")


def test_date_modified_is_the_update_or_else_the_publication() -> None:
    assert article()["dateModified"] == article()["datePublished"] == "2015-12-21T22:00:00+03:00"
    updated = datetime(2015, 12, 22, 6, 15, tzinfo=UTC)
    assert article(modified=updated)["dateModified"] == "2015-12-22T06:15:00+00:00"


def test_is_based_on_only_with_a_source() -> None:
    assert "isBasedOn" not in article()
    assert article(source_url=SOURCE)["isBasedOn"] == SOURCE


def test_absent_section_tags_and_description_leave_no_empty_fields() -> None:
    data = article(section=None, keywords=[], description="")
    assert not {"articleSection", "keywords", "description"} & set(data)


def test_long_headline_is_cut_on_a_word_with_an_ellipsis() -> None:
    long = (
        "The most important Russian foreign policy events of the week, from the G20 Summit in Turkey to " * 2
    )
    cut = article(headline=long)["headline"]
    assert len(cut) <= HEADLINE_LIMIT
    assert cut.endswith("…")
    assert long.startswith(cut.removesuffix("…"))
    assert long[len(cut) - 1] == " "  # the cut fell between words


def test_headline_within_the_limit_is_kept_whole() -> None:
    exact = "x" * (HEADLINE_LIMIT - 5) + " word"
    assert truncate_headline(exact) == exact
    assert truncate_headline("  Padded  ") == "Padded"


def test_headline_without_spaces_is_cut_hard() -> None:
    cut = truncate_headline("a" * 300)
    assert cut == "a" * (HEADLINE_LIMIT - 1) + "…"


# ---------------------------------------------------------------- BreadcrumbList and WebSite


def test_breadcrumbs_are_numbered_from_one() -> None:
    data = breadcrumb_list([("Home", "https://example.test/"), ("Foreign policy", "https://example.test/s/")])
    assert data["@type"] == "BreadcrumbList"
    assert data["itemListElement"] == [
        {"@type": "ListItem", "position": 1, "name": "Home", "item": "https://example.test/"},
        {"@type": "ListItem", "position": 2, "name": "Foreign policy", "item": "https://example.test/s/"},
    ]


def test_website_describes_the_home_page() -> None:
    data = website("Valdai Review", "https://example.test/", "Analysis of world affairs")
    assert data == {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": "Valdai Review",
        "url": "https://example.test/",
        "description": "Analysis of world affairs",
    }


# ---------------------------------------------------------------- script_json


def test_script_json_is_compact_sorted_and_deterministic() -> None:
    assert script_json({"b": 1, "a": ["é", 2]}) == '{"a":["é",2],"b":1}'
    assert script_json(article(source_url=SOURCE)) == script_json(article(source_url=SOURCE))


def test_script_json_escapes_every_markup_character() -> None:
    out = script_json({"t": "</script><!-- & > \u2028\u2029"})
    assert out == '{"t":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u003e \\u2028\\u2029"}'


@pytest.mark.parametrize("field", ["headline", "author", "keyword"])
def test_no_payload_leaves_the_script_element(field: str) -> None:
    failures: list[str] = []
    for payload in payload_lines():
        if field == "headline":
            data = article(headline=payload)
        elif field == "author":
            data = article(authors=[*AUTHORS[:1], (payload, "https://example.test/authors/x/")])
        else:
            data = article(keywords=["Syria", payload])
        out = str(script_json(data))
        loaded = json.loads(out)
        parser = ScriptText()
        parser.feed(f'<script type="application/ld+json">{out}</script><p>after</p>')
        parser.close()
        kept = {
            "headline": loaded["headline"] == truncate_headline(payload),
            "author": loaded["author"][1]["name"] == payload,
            "keyword": loaded["keywords"] == ["Syria", payload],
        }[field]
        if (
            "<" in out
            or "</script" in out.lower()
            or loaded != data
            or not kept
            or parser.scripts != [out]
            or parser.tags != ["script", "/script", "p", "/p"]
        ):
            failures.append(payload)
    assert not failures, f"{len(failures)} payloads escaped or changed, first: {failures[0]!r}"


def test_short_payload_headlines_survive_unchanged() -> None:
    short = [p for p in payload_lines() if len(p) <= HEADLINE_LIMIT and p == p.strip()]
    assert short
    for payload in short:
        assert json.loads(script_json(article(headline=payload)))["headline"] == payload
