"""Markdown articles: YAML front matter and a body, read into the same model as JSON, every
problem reported with its line in the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from broadsheet.contract.files import parse_key, read_article
from broadsheet.contract.markdown import MAX_FRONT_MATTER_BYTES
from broadsheet.errors import FieldError, ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
ARTICLE_FILES = sorted((ROOT / "events" / "content" / "articles").glob("*.json"))
KEY = "articles/sample.md"
GOOD = """\
---
title: Review of the week
authors:
  - Gevorg Mirzayan
published_at: "2015-12-21T22:00:00+03:00"
tags: [Syria]
---

## Heading

A paragraph.
"""


def as_markdown(doc: dict[str, Any]) -> str:
    """An article document written as front matter and body, the way editors' tools save it."""
    fields = {name: value for name, value in doc.items() if name != "body"}
    front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{doc['body']}"


def errors_of(text: str, key: str = KEY) -> list[FieldError]:
    """The errors reported for a Markdown file that must be rejected."""
    try:
        read_article(key, text.encode("utf-8"))
    except ValidationFailed as exc:
        assert exc.errors
        return exc.errors
    pytest.fail("the file was accepted but should have been rejected")


def one_error(text: str) -> FieldError:
    errors = errors_of(text)
    assert len(errors) == 1, errors
    return errors[0]


def front(*lines: str, body: str = "A paragraph.\n") -> str:
    """A file whose front matter is `lines` (valid fields first unless they are overridden)."""
    return "---\n" + "".join(f"{line}\n" for line in lines) + "---\n" + body


BASE = ("title: A title", "authors: [Gevorg Mirzayan]", 'published_at: "2015-12-21T22:00:00+03:00"')


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=[p.stem for p in ARTICLE_FILES])
def test_the_json_and_markdown_of_an_article_give_equal_models(path: Path) -> None:
    doc = json.loads(path.read_text())
    from_json = read_article(f"articles/{path.name}", path.read_bytes())
    from_markdown = read_article(f"articles/{path.stem}.md", as_markdown(doc).encode())
    assert from_markdown == from_json


def test_a_markdown_key_names_the_article_by_its_stem() -> None:
    ident = parse_key("articles/old-news.md")
    assert (ident.kind, ident.slug, ident.key) == ("article", "old-news", "articles/old-news.md")
    assert [k.key for k in ident.sources()] == ["articles/old-news.json", "articles/old-news.md"]


def test_an_author_profile_is_json_only() -> None:
    with pytest.raises(ValidationFailed, match=r"must end in \.json"):
        parse_key("authors/someone.md")


def test_windows_line_endings_and_a_byte_order_mark_read_the_same() -> None:
    plain = read_article(KEY, GOOD.encode())
    assert read_article(KEY, b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()) == plain


def test_the_body_is_the_text_after_the_front_matter_without_leading_blank_lines() -> None:
    article = read_article(KEY, GOOD.encode())
    assert article.body == "## Heading\n\nA paragraph.\n"
    assert article.authors == ["Gevorg Mirzayan"]


def test_plain_yaml_values_stay_text_as_the_contract_says() -> None:
    # YAML 1.1 would read `no` as false, `1984` as a number, `2015-12-21` as a date.
    article = read_article(KEY, front("title: no", *BASE[1:], "tags: [yes, 1984, 2015-12-21, on]").encode())
    assert article.title == "no"
    assert article.tags == ["yes", "1984", "2015-12-21", "on"]


def test_an_empty_value_is_no_value() -> None:
    article = read_article(KEY, front(*BASE, "section:", "teaser: ~").encode())
    assert article.section is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("published_at: 2015-12-21", "is not an RFC 3339 date-time with a time zone offset"),
        ("published_at: 2015-12-21T22:00:00", "has no time zone offset"),
        ("published_at: 2015-12-21 22:00:00+03:00", 'RFC 3339 needs a "T" there'),
    ],
)
def test_a_yaml_date_needs_the_time_and_offset_json_needs(line: str, words: str) -> None:
    error = one_error(front(*BASE[:2], line))
    assert error.field == "published_at"
    assert error.message.startswith("line 4: ")
    assert words in error.message


def test_an_unquoted_rfc_3339_time_is_accepted() -> None:
    article = read_article(KEY, front(*BASE[:2], "published_at: 2015-12-21T22:00:00+03:00").encode())
    assert article.published_at.utcoffset() is not None


def test_a_field_error_names_the_line_of_its_key() -> None:
    error = one_error(front(*BASE, "", "section: Foreign Policy"))
    assert (error.field, error.message.split(":")[0]) == ("section", "line 6")


def test_an_error_in_a_list_entry_names_the_entry_line() -> None:
    text = front(*BASE[::2], "authors:", "  - Gevorg Mirzayan", "  - ''")
    error = one_error(text)
    assert error.field == "authors[1]"
    assert error.message.startswith("line 6: ")


def test_an_error_in_a_nested_field_names_its_line() -> None:
    error = one_error(front(*BASE, "source:", "  name: Russia Direct", "  url: ftp://example.org/"))
    assert error.field == "source.url"
    assert error.message.startswith("line 7: ")


def test_a_body_problem_names_the_line_in_the_file_not_in_the_body() -> None:
    deep = ">" * 100 + " quoted\n"
    error = one_error(front(*BASE, body="\n\nFirst paragraph.\n\n" + deep))
    assert error.field == "body"
    # Front matter on lines 1-5, two blank lines, the paragraph on 8, the quotes on 10.
    assert error.message.startswith("line 10, column ")


def test_an_empty_body_is_reported_at_the_body() -> None:
    error = one_error(front(*BASE, body="\n\n"))
    assert error.field == "body"
    assert "must not be empty" in error.message


def test_a_missing_field_is_reported_without_a_line() -> None:
    error = one_error(front(*BASE[:2]))
    assert (error.field, error.message) == ("published_at", "is required but missing")


def test_a_body_field_in_the_front_matter_is_refused_at_its_line() -> None:
    error = one_error(front(*BASE, "body: Some text"))
    assert error.field == "body"
    assert error.message.startswith("line 5: the body is the text after")


def test_a_repeated_field_is_refused_naming_both_lines() -> None:
    error = one_error(front(*BASE, "title: Another title"))
    assert error.field == "title"
    assert error.message == "line 5: appears more than once in the front matter (first on line 2)"


def test_a_repeated_field_does_not_hide_the_other_problems() -> None:
    errors = errors_of(front(*BASE, "title: Again", "section: Not A Slug"))
    assert [e.field for e in errors] == ["title", "section"]


def test_a_slug_field_that_differs_from_the_file_name_names_its_line() -> None:
    error = one_error(front(*BASE, "slug: other"))
    assert error.field == "slug"
    assert error.message.startswith("line 5: ")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            front("title: Kerry: a week", *BASE[1:]),
            2,
            "a value holding a colon and a space must be in quotes",
        ),
        (front(*BASE, "tags: [Syria, 'United"), 5, "not valid YAML"),
        (front(*BASE, "  indented: wrongly"), 5, "not valid YAML"),
        (front("title: &name A title", *BASE[1:], "teaser: *name"), 2, "anchor or alias"),
        (front(*BASE, "teaser: !!binary aGVsbG8="), 5, "!!binary is a YAML tag"),
        (front(*BASE, "teaser: !!python/object:os.system x"), 5, "YAML tag"),
        (front(*BASE, "tags: [[[[[Syria]]]]]"), 5, "nested too deeply"),
        (front(*BASE, "? [a, b]", ": c"), 5, "field name must be a plain word"),
        ("title: A title\n---\nbody\n", 1, "must start with a --- line"),
        ("+++\ntitle = 'x'\n+++\nbody\n", 1, "TOML front matter"),
        ('{"title": "x"}\n', 1, "looks like JSON; name the file .json"),
        ("---\ntitle: A title\n\nbody\n", 1, "no later --- line closes it"),
        ("---\n---\nbody\n", 2, "the front matter is empty"),
        ("---\n- a list\n---\nbody\n", 2, "fields written as `name: value`"),
        ("---\njust words\n---\nbody\n", 2, "fields written as `name: value`"),
    ],
    ids=[
        "colon in a value",
        "unclosed quote",
        "bad indentation",
        "anchor and alias",
        "binary tag",
        "python tag",
        "deep nesting",
        "complex key",
        "no front matter",
        "toml",
        "json",
        "never closed",
        "empty",
        "a list",
        "a scalar",
    ],
)
def test_a_broken_front_matter_is_reported_with_its_line(text: str, line: int, words: str) -> None:
    error = one_error(text)
    assert error.field == "(file)"
    assert error.message.startswith(f"line {line}: "), error.message
    assert words in error.message


def test_a_billion_laughs_is_refused_before_anything_is_expanded() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + n)}: &{chr(98 + n)} [{','.join(['*' + chr(97 + n)] * 9)}]" for n in range(8)]
    error = one_error(front(*lines))
    assert error.message.startswith("line 2: ") and "anchor or alias" in error.message


def test_a_front_matter_over_the_limit_is_refused() -> None:
    error = one_error(front(*BASE, "teaser: " + "x" * MAX_FRONT_MATTER_BYTES))
    assert error.field == "(file)" and "KB" in error.message


def test_a_body_containing_a_delimiter_line_keeps_it() -> None:
    # Only the first --- after the opening one closes the front matter; later ones are the
    # body's own (a thematic break, or a setext heading's underline).
    article = read_article(KEY, front(*BASE, body="Heading\n---\n\nText\n").encode())
    assert article.body == "Heading\n---\n\nText\n"


def test_a_required_field_with_no_value_names_its_line() -> None:
    error = one_error(front("title:", *BASE[1:]))
    assert (error.field, error.message) == ("title", "line 2: has no value, but is required")
