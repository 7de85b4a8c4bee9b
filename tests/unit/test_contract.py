"""The article contract of DESIGN.md: what editors may upload, and what they are told when it is wrong.

Three kinds of check live here:

* the sample content in events/content is accepted, and still has the shape other tests rely on
  (several authors, months, a tie, aliases, syndicated articles);
* every file in events/bad is rejected, and the report names the field at fault;
* one table row per field rule of the contract, asserting the field an editor is pointed at and
  the words of the message, so that a change to a rule or a message is a visible decision.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamModel,
    S3Model,
    SqsModel,
)

from broadsheet.contract.fields import slugify
from broadsheet.contract.files import FILE, parse_key, read_article, read_author, report_body, report_key
from broadsheet.contract.models import Article
from broadsheet.errors import FieldError, ValidationFailed
from broadsheet.plan import article_state
from broadsheet_dev import cli

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
CONTENT = EVENTS / "content"
BAD = EVENTS / "bad"
ARTICLE_FILES = sorted((CONTENT / "articles").glob("*.json"))
AUTHOR_FILES = sorted((CONTENT / "authors").glob("*.json"))
KEY = "articles/sample-article.json"
MISSING = object()  # marks a field to delete from the valid base article

# Words that betray a message written for programmers rather than editors.
JARGON = (
    "errors.pydantic.dev",
    "[type=",
    "input_value",
    "Value error,",
    "model_type",
    "Traceback",
)


def load_article(path: Path) -> Article:
    return read_article(f"articles/{path.name}", path.read_bytes())


def valid_article(**changes: Any) -> dict[str, Any]:
    """A minimal valid article, with some fields replaced or (given MISSING) removed."""
    doc: dict[str, Any] = {
        "title": "Review of the week",
        "teaser": "What happened in Russian foreign policy this week.",
        "authors": ["Gevorg Mirzayan"],
        "published_at": "2015-12-21T22:00:00+03:00",
        "section": "foreign-policy",
        "tags": ["Syria"],
        "body": "## Heading\n\nA paragraph.\n",
    }
    for name, value in changes.items():
        if value is MISSING:
            doc.pop(name, None)
        else:
            doc[name] = value
    return doc


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def rejection(raw: bytes, key: str = KEY) -> list[FieldError]:
    """The errors reported for a file that must be rejected; fails the test if it is accepted."""
    try:
        read_article(key, raw)
    except ValidationFailed as exc:
        assert exc.key == key
        assert exc.errors, "a rejection must carry at least one error"
        return exc.errors
    pytest.fail(f"{key} was accepted but should have been rejected")


def fields_of(errors: list[FieldError]) -> list[str]:
    return [error.field for error in errors]


def message_for(errors: list[FieldError], name: str) -> str:
    matching = [error.message for error in errors if error.field == name]
    assert matching, f"no error names {name!r}; the report names {fields_of(errors)}"
    return " / ".join(matching)


def assert_plain(message: str) -> None:
    assert message.strip(), "an error message must not be empty"
    for word in JARGON:
        assert word not in message, f"message leaks internals ({word!r}): {message}"


# --------------------------------------------------------------------------------------------
# Sample content
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=lambda p: p.stem)
def test_every_sample_article_is_accepted(path: Path) -> None:
    article = load_article(path)

    assert article.slug == path.stem
    assert article.status == "published"
    assert article.expires_at is None


@pytest.mark.parametrize("path", AUTHOR_FILES, ids=lambda p: p.stem)
def test_every_sample_author_profile_is_accepted_under_its_slugified_name(
    path: Path,
) -> None:
    profile = read_author(f"authors/{path.name}", path.read_bytes())

    assert slugify(profile.name) == path.stem
    assert profile.bio.strip()


def test_sample_content_has_the_variety_the_pipeline_tests_rely_on() -> None:
    articles = [load_article(path) for path in ARTICLE_FILES]
    authors = Counter(name for article in articles for name in article.authors)
    months = {(a.published_at.year, a.published_at.month) for a in articles}
    times = Counter(a.published_at for a in articles)

    assert len(articles) >= 14
    assert len(authors) >= 5
    assert len({m for m in months if m[0] in (2015, 2016)}) >= 5
    assert {m[0] for m in months} >= {2014, 2015, 2016}
    assert any(len(a.authors) == 2 for a in articles), "no article with two authors"
    assert any(len(a.authors) == 3 for a in articles), "no article with three authors"
    assert max(times.values()) >= 2, "no two articles share published_at (tie ordering by slug)"
    assert any(a.aliases for a in articles), "no article with aliases"
    assert sum(a.source is not None for a in articles) >= 3, "too few syndicated articles"
    assert any(a.updated_at is not None for a in articles), "no article with updated_at"
    assert len({a.published_at.utcoffset() for a in articles}) >= 2, "all offsets are the same"
    assert len(AUTHOR_FILES) >= 4


def test_sample_articles_are_published_in_the_past_and_never_expire() -> None:
    now = datetime.now(UTC)
    for path in ARTICLE_FILES:
        article = load_article(path)
        assert article.is_live(now), f"{path.name} is not live now"
        if article.updated_at is not None:
            assert article.updated_at >= article.published_at, f"{path.name} updated before publication"


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=lambda p: p.stem)
def test_sample_bodies_read_like_articles(path: Path) -> None:
    body = load_article(path).body
    words = len(re.findall(r"\w+", body))

    assert 300 <= words <= 900, f"{words} words"
    assert re.search(r"^## \S", body, re.MULTILINE), "no ## sub-heading"
    assert "<" not in body, "sample bodies are CommonMark, not HTML"


def test_sample_bodies_between_them_use_quotes_lists_and_links() -> None:
    bodies = [load_article(path).body for path in ARTICLE_FILES]

    assert any(re.search(r"^> ", b, re.MULTILINE) for b in bodies), "no blockquote"
    assert any(re.search(r"^- ", b, re.MULTILINE) for b in bodies), "no bulleted list"
    assert any(re.search(r"^1\. ", b, re.MULTILINE) for b in bodies), "no numbered list"
    assert any(re.search(r"\]\((https?://|/)", b) for b in bodies), "no link"


def test_sample_aliases_do_not_shadow_an_existing_article() -> None:
    slugs = {path.stem for path in ARTICLE_FILES}
    aliases = [alias for path in ARTICLE_FILES for alias in load_article(path).aliases]

    assert aliases
    assert not set(aliases) & slugs, "an alias would redirect away from a live article"
    assert len(aliases) == len(set(aliases)), "two articles claim the same alias"


def test_every_sample_profile_belongs_to_an_author_with_articles() -> None:
    bylines = {slug for path in ARTICLE_FILES for slug in load_article(path).author_slugs}

    assert {path.stem for path in AUTHOR_FILES} <= bylines


def test_some_sample_author_has_no_profile() -> None:
    bylines = {slug for path in ARTICLE_FILES for slug in load_article(path).author_slugs}

    assert bylines - {path.stem for path in AUTHOR_FILES}, "an author page without a profile is untested"


# --------------------------------------------------------------------------------------------
# Files that must be rejected
# --------------------------------------------------------------------------------------------

BAD_FILES: dict[str, set[str]] = {
    "malformed": {FILE},
    "type-error": {"title", "authors"},
    "unknown-field": {"titel", "title"},
    "bad-date": {"published_at"},
    "slug-mismatch": {"slug"},
    "too-many-authors": {"authors"},
    "javascript-source": {"source.url"},
}


def test_every_bad_file_has_an_expectation() -> None:
    assert {path.stem for path in BAD.glob("*.json")} == set(BAD_FILES)


@pytest.mark.parametrize("stem", sorted(BAD_FILES))
def test_bad_file_is_rejected_naming_exactly_the_fields_at_fault(stem: str) -> None:
    path = BAD / f"{stem}.json"
    parse_key(f"articles/{path.name}")  # the name itself is a valid slug

    errors = rejection(path.read_bytes(), key=f"articles/{path.name}")

    assert set(fields_of(errors)) == BAD_FILES[stem]
    for error in errors:
        assert_plain(error.message)


def test_the_report_of_a_bad_file_lists_every_error_with_field_and_message() -> None:
    path = BAD / "type-error.json"
    with pytest.raises(ValidationFailed) as caught:
        read_article("articles/type-error.json", path.read_bytes())

    report = json.loads(report_body(caught.value))

    assert report["key"] == "articles/type-error.json"
    assert report["valid"] is False
    assert [e["field"] for e in report["errors"]] == ["title", "authors"]
    assert all(e["message"] for e in report["errors"])


# --------------------------------------------------------------------------------------------
# One row per field rule of the contract
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A file that breaks one rule, the field the report must name, and words its message uses."""

    id: str
    raw: bytes
    field: str
    words: tuple[str, ...] = ()


def rule(id: str, field: str, *words: str, **changes: Any) -> Rule:
    return Rule(id, encode(valid_article(**changes)), field, words)


def raw_rule(id: str, raw: bytes, field: str, *words: str) -> Rule:
    return Rule(id, raw, field, words)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


RULES = [
    # title: required, text, one line, 1-300 characters
    rule("title-missing", "title", "required", title=MISSING),
    rule("title-empty", "title", "blank", title=""),
    rule("title-blank", "title", "blank", title="   "),
    rule("title-too-long", "title", "300", title="x" * 301),
    rule("title-a-number", "title", "text", title=2015),
    rule("title-two-lines", "title", "single line", title="Review\nof the week"),
    # teaser: at most 600 characters
    rule("teaser-too-long", "teaser", "600", teaser="x" * 601),
    rule("teaser-a-list", "teaser", "text", teaser=["a standfirst"]),
    # authors: a list of 1-10 distinct, non-blank names
    rule("authors-missing", "authors", "required", authors=MISSING),
    rule("authors-empty", "authors", "at least 1", authors=[]),
    rule(
        "authors-eleven",
        "authors",
        "at most 10",
        "this one has 11",
        authors=[f"Author {n}" for n in range(11)],
    ),
    rule(
        "authors-a-string",
        "authors",
        "list",
        authors="Gevorg Mirzayan, Dmitriy Ofitserov-Belskiy",
    ),
    rule("author-blank", "authors[1]", "blank", authors=["Gevorg Mirzayan", "  "]),
    rule("author-no-letters", "authors[0]", "letters or digits", authors=["---"]),
    rule("author-twice", "authors", "twice", authors=["Anna Lebedeva", "anna lebedeva"]),
    rule("author-a-number", "authors[0]", "text", authors=[7]),
    # published_at / updated_at: RFC 3339 with an offset
    rule("published-missing", "published_at", "required", published_at=MISSING),
    rule(
        "published-no-offset",
        "published_at",
        "offset",
        published_at="2015-12-21T22:00:00",
    ),
    rule("published-date-only", "published_at", "RFC 3339", published_at="2015-12-21"),
    rule(
        "published-prose",
        "published_at",
        "RFC 3339",
        published_at="21 December 2015, 22:00",
    ),
    rule("published-a-number", "published_at", "RFC 3339", published_at=1450724400),
    rule(
        "published-impossible-day",
        "published_at",
        "day",
        published_at="2015-02-30T10:00:00+03:00",
    ),
    rule("updated-no-offset", "updated_at", "offset", updated_at="2015-12-22T10:15:00"),
    rule("published-no-seconds", "published_at", "seconds", published_at="2015-12-21T22:00+03:00"),
    rule("published-space", "published_at", "space", published_at="2015-12-21 22:00:00+03:00"),
    # expires_at: later than published_at
    rule("expires-before-published", "expires_at", "published_at", expires_at="2015-12-21T21:59:59+03:00"),
    rule("expires-at-publication", "expires_at", "later", expires_at="2015-12-21T19:00:00Z"),
    # section: one slug
    rule("section-with-spaces", "section", "not a slug", section="Foreign Policy"),
    rule("section-double-hyphen", "section", "not a slug", section="foreign--policy"),
    rule("section-too-long", "section", "120", section="a" * 121),
    rule("section-a-list", "section", "text", section=["economy"]),
    rule("section-trailing-newline", "section", "not a slug", section="economy\n"),
    # tags: at most 20, no two with the same page
    rule("tags-twenty-one", "tags", "at most 20", tags=[f"Tag {n}" for n in range(21)]),
    rule("tags-repeated", "tags", "twice", tags=["Syria", "NATO", "syria"]),
    rule("tag-blank", "tags[0]", "blank", tags=[" "]),
    rule("tag-too-long", "tags[0]", "60", tags=["x" * 61]),
    # body: required, not empty, at most 200 KB
    rule("body-missing", "body", "required", body=MISSING),
    rule("body-whitespace", "body", "empty", body=" \n\n "),
    rule("body-too-large", "body", "200 KB", "204,801 bytes", body="x" * (200 * 1024 + 1)),
    rule("body-multibyte-too-large", "body", "200 KB", body="я" * (100 * 1024 + 1)),
    # source: {name, url}, http and https only
    rule(
        "source-javascript",
        "source.url",
        "https://",
        source={"name": "RD", "url": "javascript:alert(1)"},
    ),
    rule(
        "source-data",
        "source.url",
        "https://",
        source={"name": "RD", "url": "data:text/html,<b>x</b>"},
    ),
    rule(
        "source-ftp",
        "source.url",
        "https://",
        source={"name": "RD", "url": "ftp://example.org/a"},
    ),
    rule(
        "source-relative",
        "source.url",
        "https://",
        source={"name": "RD", "url": "/articles/x/"},
    ),
    rule(
        "source-no-name",
        "source.name",
        "required",
        source={"url": "https://www.russia-direct.org/"},
    ),
    rule("source-a-string", "source", "object", source="Russia Direct"),
    rule(
        "source-extra-field",
        "source.title",
        "not a known field",
        source={"name": "RD", "url": "https://a.org/", "title": "x"},
    ),
    # status: published or draft
    rule("status-unknown", "status", "published", status="live"),
    rule("status-capitalised", "status", "draft", status="Draft"),
    # aliases: slugs
    rule("alias-not-a-slug", "aliases[0]", "not a slug", aliases=["Old Title Here"]),
    rule(
        "alias-uppercase",
        "aliases[1]",
        "not a slug",
        aliases=["fine-one", "Review-Of-The-Week"],
    ),
    rule("aliases-a-string", "aliases", "list", aliases="old-slug"),
    rule("alias-own-slug", "aliases[1]", "own slug", "old address", aliases=["old-slug", "sample-article"]),
    # language: a BCP 47 tag
    rule("language-word", "language", "BCP 47", language="english"),
    rule("language-underscore", "language", "BCP 47", language="en_GB"),
    rule("language-trailing-hyphen", "language", "BCP 47", language="en-"),
    # slug: equal to the file name's stem if given
    rule("slug-differs", "slug", "does not match", slug="another-article"),
    # unknown fields
    rule("unknown-field-typo", "titel", "not a known field", titel="Typo"),
    rule(
        "unknown-field-camel-case",
        "publishedAt",
        "not a known field",
        publishedAt="2015-12-21T22:00:00+03:00",
    ),
    # the file as a whole
    raw_rule("duplicate-key", b'{"title": "One", "title": "Two"}', "title", "more than once"),
    raw_rule(
        "duplicate-nested-key",
        b'{"source": {"name": "A", "url": "https://a.org/", "url": "https://b.org/"}}',
        "source.url",
        "more than once",
    ),
    raw_rule("invalid-utf8", b'{"title": "Caf\xe9"}', FILE, "UTF-8"),
    raw_rule("zero-bytes", b"", FILE, "empty"),
    raw_rule("two-byte-order-marks", b"\xef\xbb\xbf" * 2 + encode(valid_article()), FILE, "byte-order mark"),
    raw_rule("utf-16", encode(valid_article()).decode().encode("utf-16"), FILE, "UTF-8"),
    raw_rule("ten-megabytes", b" " * (10 * 1024 * 1024) + b"{}", FILE, "MB"),
    raw_rule("deeply-nested", nested(100_000), FILE, "nested"),
    raw_rule("broken-json", b'{"title": "No closing brace"', FILE, "not valid JSON", "line 1"),
    raw_rule("top-level-list", b"[]", FILE, "JSON object"),
    raw_rule("top-level-string", b'"an article"', FILE, "JSON object"),
    raw_rule("top-level-null", b"null", FILE, "JSON object"),
]


@pytest.mark.parametrize("case", RULES, ids=lambda c: c.id)
def test_breaking_a_field_rule_names_the_field_and_says_what_is_wrong(
    case: Rule,
) -> None:
    errors = rejection(case.raw)

    message = message_for(errors, case.field)
    for word in case.words:
        assert word.lower() in message.lower(), f"{case.field}: {message!r} does not mention {word!r}"
    for error in errors:
        assert_plain(error.message)


def test_rule_ids_are_unique() -> None:
    ids = [case.id for case in RULES]
    assert len(ids) == len(set(ids))


ACCEPTED_EDGES = {
    "title-300-chars": valid_article(title="x" * 300),
    "teaser-600-chars": valid_article(teaser="x" * 600),
    "teaser-absent": valid_article(teaser=MISSING),
    "ten-authors": valid_article(authors=[f"Author {n}" for n in range(10)]),
    "accented-author": valid_article(authors=["Zoë Marchetti"]),
    "twenty-tags": valid_article(tags=[f"Tag {n}" for n in range(20)]),
    "body-exactly-200-kb": valid_article(body="x" * (200 * 1024)),
    "utc-z": valid_article(published_at="2015-12-21T19:00:00Z"),
    "negative-offset": valid_article(published_at="2015-12-21T14:00:00-05:00"),
    "fractional-seconds": valid_article(published_at="2015-12-21T19:00:00.250Z"),
    "http-source": valid_article(source={"name": "Russia Direct", "url": "http://www.russia-direct.org/"}),
    "draft": valid_article(status="draft"),
    "aliases": valid_article(aliases=["old-slug", "2015-review"]),
    "language-region": valid_article(language="en-GB"),
    "language-script": valid_article(language="sr-Latn-RS"),
    "language-variant": valid_article(language="de-CH-1996"),
    "lowercase-t-and-z": valid_article(published_at="2015-12-21t19:00:00z"),
    "expires-after-published": valid_article(expires_at="2015-12-21T22:00:01+03:00"),
    "uppercase-url-scheme": valid_article(
        source={"name": "Russia Direct", "url": "HTTPS://russia-direct.org/"}
    ),
    "matching-slug": valid_article(slug="sample-article"),
    "null-optional-fields": valid_article(updated_at=None, section=None, source=None, language=None),
}


@pytest.mark.parametrize("doc", ACCEPTED_EDGES.values(), ids=list(ACCEPTED_EDGES))
def test_values_at_the_edge_of_a_rule_are_accepted(doc: dict[str, Any]) -> None:
    article = read_article(KEY, encode(doc))

    assert article.slug == "sample-article"


def test_a_byte_order_mark_is_accepted() -> None:
    article = read_article(KEY, b"\xef\xbb\xbf" + encode(valid_article()))

    assert article.title == "Review of the week"


def test_non_ascii_text_survives_reading() -> None:
    doc = valid_article(title="Лавров и Керри: «перезагрузка» 2.0", authors=["Zoë Marchetti"])

    article = read_article(KEY, encode(doc))

    assert article.title == doc["title"]
    assert article.author_slugs == ["zoe-marchetti"]


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    doc = valid_article(
        title=2015,
        section="Foreign Policy",
        source={"name": "RD", "url": "javascript:x"},
    )

    errors = rejection(encode(doc))

    assert sorted(fields_of(errors)) == ["section", "source.url", "title"]


def test_a_slug_mismatch_is_reported_alongside_the_other_problems() -> None:
    doc = valid_article(slug="something-else", title=MISSING, titel="Typo")

    errors = rejection(encode(doc))

    assert sorted(fields_of(errors)) == ["slug", "titel", "title"]


@pytest.mark.parametrize("key", ["articles/Review Of The Week.json", "articles/review-of-the-week\n.json"])
def test_an_invalid_key_is_rejected_before_the_file_is_read(key: str) -> None:
    errors = rejection(encode(valid_article()), key=key)

    assert fields_of(errors) == ["(file name)"]


LENGTH_LIMITS: list[tuple[str, int, Callable[[str], dict[str, Any]]]] = [
    ("title", 300, lambda text: valid_article(title=text)),
    ("teaser", 600, lambda text: valid_article(teaser=text)),
    ("authors[0]", 100, lambda text: valid_article(authors=[text])),
    ("tags[0]", 60, lambda text: valid_article(tags=[text])),
    ("source.name", 200, lambda text: valid_article(source={"name": text, "url": "https://a.org/"})),
]


@pytest.mark.parametrize(("field", "limit", "make"), LENGTH_LIMITS, ids=[limit[0] for limit in LENGTH_LIMITS])
def test_length_limits_on_text_are_stated_in_characters(
    field: str, limit: int, make: Callable[[str], dict[str, Any]]
) -> None:
    message = message_for(rejection(encode(make("x" * (limit + 1)))), field)

    assert message == f"must be at most {limit} characters (this one has {limit + 1})"


def test_an_oversized_body_is_reported_with_its_exact_size_above_the_limit() -> None:
    message = message_for(rejection(encode(valid_article(body="x" * (200 * 1024 + 1)))), "body")

    assert "204,801 bytes" in message
    assert "204,800 bytes" in message


def test_a_duplicate_key_inside_source_is_reported_with_its_path() -> None:
    doc = encode(valid_article(source={"name": "A", "url": "https://a.org/"}))
    raw = doc.replace(b'"name": "A"', b'"name": "A", "name": "B"')

    errors = rejection(raw)

    assert fields_of(errors) == ["source.name"]
    assert "more than once" in errors[0].message


def test_a_duplicate_key_does_not_hide_the_other_problems() -> None:
    raw = b'{"title": "One", "title": "Two", "authors": [{"name": "A", "name": "B"}], "body": ""}'

    errors = rejection(raw)

    assert fields_of(errors) == [
        "title",
        "authors[0].name",
        "authors[0]",
        "published_at",
        "body",
    ]
    assert message_for(errors, "title") == "appears more than once in the file"
    assert message_for(errors, "authors[0].name") == "appears more than once in the file"


def test_a_duplicate_key_keeps_its_last_value_for_the_other_checks() -> None:
    raw = encode(valid_article()).replace(b'"title": ', b'"title": "x", "title": ')

    errors = rejection(raw)

    assert fields_of(errors) == ["title"], "the last title is valid, so only the repeat is reported"


def test_an_expiry_before_publication_is_reported_on_expires_at() -> None:
    doc = valid_article(expires_at="2015-12-20T22:00:00+03:00")

    errors = rejection(encode(doc))

    assert fields_of(errors) == ["expires_at"]
    assert "later than published_at" in errors[0].message


def test_an_expiry_is_not_compared_with_a_publication_date_that_is_itself_wrong() -> None:
    doc = valid_article(published_at="yesterday", expires_at="2015-12-20T22:00:00+03:00")

    assert fields_of(rejection(encode(doc))) == ["published_at"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2015-12-21T22:00+03:00", ("no seconds", "hh:mm:ss")),
        ("2015-12-21T22:00Z", ("no seconds",)),
        ("2015-12-21 22:00:00+03:00", ("space", '"T"')),
        ("2015-12-21 22:00:00Z", ("space",)),
        ("2015-13-21T22:00:00Z", ("month",)),
        ("2015-12-21T24:00:00Z", ("hour",)),
        ("2015-12-21T22:00:60Z", ("second",)),
        ("2015-12-21T22:00:00+24:00", ("offset",)),
        ("2015-12-21T22:00:00.Z", ("RFC 3339",)),
        ("2015-12-21T22:00:00+03:00\n", ("RFC 3339",)),
        ("0000-01-01T00:00:00Z", ("year",)),
    ],
)
def test_a_timestamp_that_is_not_rfc_3339_is_rejected_saying_why(value: str, words: tuple[str, ...]) -> None:
    message = message_for(rejection(encode(valid_article(published_at=value))), "published_at")

    for word in words:
        assert word.lower() in message.lower(), message
    assert_plain(message)


def test_rfc_3339_lowercase_t_and_z_are_accepted() -> None:
    article = read_article(KEY, encode(valid_article(published_at="2015-12-21t19:00:00z")))

    assert article.published_at == datetime(2015, 12, 21, 19, tzinfo=UTC)


def test_an_alias_equal_to_the_articles_own_slug_is_rejected() -> None:
    errors = rejection(encode(valid_article(aliases=["sample-article"])))

    assert errors == [FieldError("aliases[0]", "is this article's own slug; an alias must be an old address")]


def test_an_article_survives_the_json_round_trip_the_index_makes() -> None:
    doc = valid_article(
        published_at="2015-12-21t19:00:00.250z",
        expires_at="2030-01-01T00:00:00+03:00",
        source={"name": "Russia Direct", "url": "HTTPS://www.russia-direct.org"},
        aliases=["old-slug"],
    )
    article = read_article(KEY, encode(doc))

    assert Article.model_validate_json(article.model_dump_json()) == article


# --------------------------------------------------------------------------------------------
# What Python's JSON reader takes but no page, index or report can hold
# --------------------------------------------------------------------------------------------

SURROGATE = "\ud800"  # JSON's "\ud800": half of a character, with no UTF-8 form
HUGE = "9" * 5000  # past Python's 4,300-digit limit for reading an integer
SOURCE_URL = "https://www.russia-direct.org/"


def encode_escaped(doc: dict[str, Any]) -> bytes:
    """The file as JSON writes a lone surrogate: as the escape \ud800, in plain ASCII."""
    return json.dumps(doc, ensure_ascii=True).encode("ascii")


def assert_reportable(raw: bytes, key: str = KEY) -> list[FieldError]:
    """The errors of a rejected file, having checked that its report is UTF-8 JSON naming them all."""
    errors = rejection(raw, key)
    with pytest.raises(ValidationFailed) as caught:
        read_article(key, raw)
    report = json.loads(report_body(caught.value).decode("utf-8"))
    assert [e["field"] for e in report["errors"]] == fields_of(errors)
    for error in errors:
        assert error.field.strip()
        assert_plain(error.message)
    return errors


SURROGATE_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("title", valid_article(title=f"Review {SURROGATE} of the week")),
    ("teaser", valid_article(teaser=f"A standfirst{SURROGATE}")),
    ("authors[1]", valid_article(authors=["Gevorg Mirzayan", f"Anna {SURROGATE}Lebedeva"])),
    ("tags[0]", valid_article(tags=[f"Syria{SURROGATE}"])),
    ("source.name", valid_article(source={"name": f"Russia {SURROGATE}Direct", "url": SOURCE_URL})),
    ("source.url", valid_article(source={"name": "Russia Direct", "url": f"{SOURCE_URL}{SURROGATE}"})),
    ("section", valid_article(section=f"economy{SURROGATE}")),
    ("language", valid_article(language=f"en{SURROGATE}")),
    ("aliases[0]", valid_article(aliases=[f"old-slug{SURROGATE}"])),
    ("slug", valid_article(slug=f"sample-article{SURROGATE}")),
    ("published_at", valid_article(published_at=f"2015-12-21T22:00:00+03:00{SURROGATE}")),
    ("updated_at", valid_article(updated_at=f"{SURROGATE}2015-12-22T10:15:00+03:00")),
    ("expires_at", valid_article(expires_at=f"2030-01-01T00:00:00Z{SURROGATE}")),
    ("body", valid_article(body=f"## Heading\n\nA paragraph{SURROGATE}.\n")),
    (f"\\ud800{'x'}", {**valid_article(), f"{SURROGATE}x": "a field name"}),
]


@pytest.mark.parametrize(("field", "doc"), SURROGATE_FIELDS, ids=[f[0] for f in SURROGATE_FIELDS])
def test_an_unpaired_surrogate_is_refused_in_every_text_field(field: str, doc: dict[str, Any]) -> None:
    errors = assert_reportable(encode_escaped(doc))

    assert set(fields_of(errors)) == {field}
    for error in errors:
        assert SURROGATE not in error.message


def test_an_unpaired_surrogate_message_says_where_and_what_it_is() -> None:
    errors = assert_reportable(encode_escaped(valid_article(title=f"Review{SURROGATE}")))

    assert errors == [
        FieldError(
            "title",
            "contains \\ud800 at character 7, half of a character (an unpaired surrogate) that cannot "
            "be stored as text; delete it or write the whole character",
        )
    ]


def test_a_surrogate_pair_is_one_character_and_accepted() -> None:
    doc = valid_article(title="Review \U0001f4f0", tags=["Syria \U0001f30d"])

    article = read_article(KEY, encode_escaped(doc))

    assert article.title == "Review \U0001f4f0"


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("title", encode(valid_article(title=0)).replace(b'"title": 0', f'"title": {HUGE}'.encode())),
        ("x", encode(valid_article(x=0)).replace(b'"x": 0', f'"x": {HUGE}'.encode())),
        ("tags[1]", encode(valid_article(tags=["a", 0])).replace(b'"a", 0', f'"a", -{HUGE}'.encode())),
        (
            "source.name",
            encode(valid_article(source={"name": 0})).replace(b'"name": 0', f'"name": 0.{HUGE}'.encode()),
        ),
        (
            "published_at",
            encode(valid_article(published_at=0)).replace(
                b'"published_at": 0', f'"published_at": 1{HUGE}e9'.encode()
            ),
        ),
    ],
    ids=["known-field", "unknown-field", "list-item", "nested-decimal", "exponent"],
)
def test_a_number_too_long_to_read_is_refused_at_its_field(field: str, raw: bytes) -> None:
    errors = assert_reportable(raw)

    message = message_for(errors, field)
    assert "too long to read" in message
    assert "5,00" in message
    assert fields_of(errors).count(field) == (2 if field == "x" else 1), "one error of its own, plus unknown"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["title", "titel"])
def test_nan_and_infinity_are_refused_as_not_json(constant: str, field: str) -> None:
    raw = encode(valid_article(**{field: 0})).replace(
        f'"{field}": 0'.encode(), f'"{field}": {constant}'.encode()
    )

    message = message_for(assert_reportable(raw), field)

    assert f"is {constant}, which is not a number JSON allows" in message


@pytest.mark.parametrize(
    ("name", "shown"),
    [(" ", '" "'), ("", '""'), ("a.b", '"a.b"'), ("x[0]", '"x[0]"'), ("\u001b[31m", '"\\u001b[31m"')],
    ids=["blank", "empty", "dotted", "bracketed", "control"],
)
def test_an_unknown_field_with_an_odd_name_is_shown_quoted(name: str, shown: str) -> None:
    errors = assert_reportable(encode({**valid_article(), name: 1}))

    assert fields_of(errors) == [shown]


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-00:01", "9999-12-31T23:59:59.5Z"]
)
def test_a_time_past_the_calendar_in_utc_is_refused(value: str) -> None:
    message = message_for(assert_reportable(encode(valid_article(published_at=value))), "published_at")

    assert "outside the calendar" in message


def test_the_calendar_ends_themselves_are_accepted() -> None:
    first = read_article(KEY, encode(valid_article(published_at="0001-01-01T00:00:00Z")))
    last = read_article(KEY, encode(valid_article(published_at="9999-12-31T23:59:59Z")))

    assert (first.published_at.year, last.published_at.year) == (1, 9999)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"name": f"Anna {SURROGATE}"}, "name"),
        ({"name": "Anna Lebedeva", "bio": f"Writes{SURROGATE}."}, "bio"),
        ({"name": "Anna Lebedeva", "url": f"https://a.org/{SURROGATE}"}, "url"),
        ({"name": "Anna Lebedeva", f"{SURROGATE}": 1}, "\\ud800"),
    ],
    ids=["name", "bio", "url", "field-name"],
)
def test_a_profile_refuses_unpaired_surrogates_too(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_author("authors/anna-lebedeva.json", encode_escaped(doc))

    assert set(fields_of(caught.value.errors)) == {field}
    json.loads(report_body(caught.value).decode("utf-8"))


def test_a_profile_refuses_a_number_too_long_to_read() -> None:
    raw = f'{{"name": "Anna Lebedeva", "age": {HUGE}}}'.encode()

    with pytest.raises(ValidationFailed) as caught:
        read_author("authors/anna-lebedeva.json", raw)

    assert "too long to read" in message_for(caught.value.errors, "age")


def test_a_file_name_that_is_not_utf8_gets_a_utf8_report() -> None:
    key = "articles/caf\udce9.json"  # how Python names the bytes caf\xe9 it cannot decode

    errors = assert_reportable(encode(valid_article()), key=key)

    assert errors == [FieldError("(file name)", message_for(errors, "(file name)"))]
    assert '"caf\\udce9"' in errors[0].message
    assert report_key(key).encode("utf-8")


def test_validate_prints_every_hazard_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "huge-known.json": encode(valid_article(title=0)).replace(b'"title": 0', f'"title": {HUGE}'.encode()),
        "huge-unknown.json": encode(valid_article(x=0)).replace(b'"x": 0', f'"x": {HUGE}'.encode()),
        "nan.json": encode(valid_article(x=0)).replace(b'"x": 0', b'"x": NaN'),
        "surrogate.json": encode_escaped(valid_article(title=SURROGATE)),
        "surrogate-name.json": encode_escaped({**valid_article(), SURROGATE: 1}),
        "deep.json": nested(100_000),
        "yaml.json": b"title: Review of the week\nauthors:\n  - Gevorg Mirzayan\n",
        "caf\udce9.json": encode(valid_article()),
    }
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)

    code = cli.validate(sorted(tmp_path.iterdir()))

    out = capsys.readouterr().out
    assert code == 1
    assert "Traceback" not in out
    out.encode("utf-8")  # printable on any UTF-8 terminal
    assert out.count(" error(s)") == len(files)
    assert "caf\\udce9.json" in out


# --------------------------------------------------------------------------------------------
# Author profiles
# --------------------------------------------------------------------------------------------

AUTHOR_RULES = [
    ("name-missing", {"bio": "A bio."}, "name", "required"),
    ("name-blank", {"name": "  "}, "name", "blank"),
    (
        "url-javascript",
        {"name": "Anna Lebedeva", "url": "javascript:alert(1)"},
        "url",
        "https://",
    ),
    (
        "bio-too-long",
        {"name": "Anna Lebedeva", "bio": "x" * 2001},
        "bio",
        "2000 characters (this one has 2001)",
    ),
    ("name-too-long", {"name": "x" * 101}, "name", "100 characters (this one has 101)"),
    ("url-ftp", {"name": "Anna Lebedeva", "url": "ftp://a.org/"}, "url", "https://"),
    ("name-twice", b'{"name": "Anna Lebedeva", "name": "Anna"}', "name", "more than once"),
    (
        "unknown-field",
        {"name": "Anna Lebedeva", "photo": "a.jpg"},
        "photo",
        "not a known field",
    ),
]


@pytest.mark.parametrize(
    ("doc", "name", "word"),
    [r[1:] for r in AUTHOR_RULES],
    ids=[r[0] for r in AUTHOR_RULES],
)
def test_breaking_a_profile_rule_names_the_field(doc: dict[str, Any] | bytes, name: str, word: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_author("authors/anna-lebedeva.json", doc if isinstance(doc, bytes) else encode(doc))

    message = message_for(caught.value.errors, name)
    assert word.lower() in message.lower()


# --------------------------------------------------------------------------------------------
# Sample Lambda events: real AWS shapes that point at the sample content
# --------------------------------------------------------------------------------------------


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("name", "event_name"),
    [
        ("ingest-sqs-s3-put.json", "ObjectCreated:Put"),
        ("ingest-sqs-s3-delete.json", "ObjectRemoved:Delete"),
        ("ingest-sqs-s3-delete-marker.json", "ObjectRemoved:DeleteMarkerCreated"),
    ],
)
def test_ingest_events_carry_an_s3_notification_for_a_sample_article(name: str, event_name: str) -> None:
    sqs = SqsModel.model_validate(event(name))
    (record,) = sqs.Records
    assert isinstance(record.body, str)
    notification = S3Model.model_validate_json(record.body)
    (change,) = notification.Records

    assert change.eventName == event_name
    assert change.s3.bucket.name == "broadsheet-content"
    assert change.s3.object is not None and change.s3.object.sequencer
    assert parse_key(change.s3.object.key).key == change.s3.object.key
    assert (CONTENT / change.s3.object.key).exists()


def test_the_put_event_describes_the_sample_file_it_names() -> None:
    body = SqsModel.model_validate(event("ingest-sqs-s3-put.json")).Records[0].body
    assert isinstance(body, str)
    obj = S3Model.model_validate_json(body).Records[0].s3.object
    assert obj is not None

    assert obj.size == (CONTENT / obj.key).stat().st_size


def test_the_s3_test_event_is_not_an_object_notification() -> None:
    (record,) = SqsModel.model_validate(event("ingest-sqs-s3-testevent.json")).Records
    assert isinstance(record.body, str)
    body = json.loads(record.body)

    assert body["Event"] == "s3:TestEvent"
    assert body["Bucket"] == "broadsheet-content"
    assert "Records" not in body


def test_the_stream_event_inserts_a_sample_article_item() -> None:
    stream = DynamoDBStreamModel.model_validate(event("plan-dynamodb-stream.json"))
    (record,) = stream.Records

    assert record.eventName == "INSERT"
    assert record.dynamodb.StreamViewType == "NEW_AND_OLD_IMAGES"
    assert record.dynamodb.OldImage is None
    assert record.dynamodb.Keys == {
        "pk": "article#review-of-the-week-kerry-putin",
        "sk": "article",
    }
    image = record.dynamodb.NewImage
    assert isinstance(image, dict)
    state = article_state(image)  # the planner must be able to read the sample item
    assert state is not None
    assert state.slug == "review-of-the-week-kerry-putin"
    assert {
        "home",
        "month:2015-12",
        "section:foreign-policy",
        "author:gevorg-mirzayan",
    } <= state.listings


def test_the_render_event_is_a_fifo_batch_grouped_by_page() -> None:
    sqs = SqsModel.model_validate(event("render-sqs-fifo.json"))
    pages = []
    for record in sqs.Records:
        assert isinstance(record.body, str)
        page = json.loads(record.body)["page"]
        pages.append(page)
        assert record.eventSourceARN.endswith(".fifo")
        assert record.attributes.MessageGroupId == page
        assert record.attributes.MessageDeduplicationId
        assert record.attributes.SequenceNumber

    assert pages == ["home:0", "article:review-of-the-week-kerry-putin"]
    assert (CONTENT / "articles" / "review-of-the-week-kerry-putin.json").exists()


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*sqs*.json")))
def test_sqs_event_bodies_match_their_md5(name: str) -> None:
    for record in SqsModel.model_validate(event(name)).Records:
        assert isinstance(record.body, str)
        assert hashlib.md5(record.body.encode("utf-8")).hexdigest() == record.md5OfBody
