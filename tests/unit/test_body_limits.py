"""No body that validation accepts stalls rendering.

Every body is either refused, with a report naming `body` and the line and column, or it renders
(CommonMark to sanitised HTML) in CPU time linear in its size. The target is 1 s for 200 KB on
one core (5 ms per KB); the bound checked here is five times that, 25 ms per KB of check and
render together (at least 25 ms), so that a loaded CI machine cannot make the test flaky.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from broadsheet.contract.fields import MAX_BODY_BYTES
from broadsheet.contract.files import read_article
from broadsheet.contract.models import Article
from broadsheet.errors import ValidationFailed
from broadsheet.render.body import render_body
from broadsheet.render.shape import MAX_NESTING, MIN_TABLE_CELLS, body_problem, max_table_cells
from broadsheet_dev.cli import validate
from tests.unit.test_contract import KEY, assert_plain, encode, message_for, rejection, valid_article

MS_PER_KB = 25.0
PLACE = re.compile(r"^line (\d+), column (\d+): ")


def cpu_ms(action: Callable[[], object]) -> float:
    started = time.process_time()
    action()
    return (time.process_time() - started) * 1000


def refused_at(body: str) -> tuple[int, int, str] | None:
    """Line, column and message of the report on an article with this body, or None if accepted."""
    try:
        read_article(KEY, encode(valid_article(body=body)))
    except ValidationFailed as failed:
        message = message_for(failed.errors, "body")
        place = PLACE.match(message)
        assert place, f"the report must name the line and column: {message}"
        return int(place[1]), int(place[2]), message
    return None


def assert_refused_in_place_or_fast(body: str) -> None:
    """The property: refused with a place inside the body, or checked and rendered in linear time."""
    kb = max(len(body.encode()) / 1024, 1.0)
    check = cpu_ms(lambda: body_problem(body))
    refused = refused_at(body)
    if refused is not None:
        line, column, message = refused
        lines = body.split("\n")
        assert 1 <= line <= len(lines), message
        assert 1 <= column <= len(lines[line - 1]) + 1, message
        assert_plain(message)
    else:
        render_body.cache_clear()
        check += cpu_ms(lambda: render_body(body))
    assert check <= MS_PER_KB * kb, f"{check:.0f} ms of CPU for {kb:.0f} KB (bound {MS_PER_KB} ms/KB)"


def fits(body: str) -> str:
    """The body cut to the size validation accepts, on a character boundary, and never blank."""
    cut = body.encode()[: MAX_BODY_BYTES - 1].decode(errors="ignore")
    return cut if cut.strip() else cut + "x"


# Constructs that nest: what opens a level, and what (if anything) closes it.
NESTING = [
    (">", ""), ("> ", ""), ("- ", ""), ("* ", ""), ("+ ", ""), ("1. ", ""), ("1) ", ""),
    ("*", "*"), ("**", "**"), ("_", "_"), ("~~", "~~"), ("*a ", " a*"), ("[", "](u)"), ("![", "](u)"),
    ("[", "]"), ("(", ")"), ("<div>", "</div>"), ("<div>", ""), ("<blockquote>", ""), ("<ul><li>", ""),
    ("<ol><li>", ""), ("<table><tr><td>", ""), ("<dl><dd>", ""), ("<span><div></span>", "</div>"),
    ("<b>", ""), ("<span>", ""), ("<p>", ""), ("<li>", ""), ("<div><style></div></style>", ""),
    ("<details><summary>", ""), ("<figure>", ""), ("<sup>", "</sup>"), ("`", "`"), ("<q>", ""),
]  # fmt: skip
# Characters and references in long runs.
RUNS = [
    "*", "_", "[", "]", "<", ">", "`", "|", "&amp;", "&#x41;", "&#", "&", "\\", "!", "(", ")", "-", "#",
    "~", ":", "<!--", "<?", "<a ", "</", "\n", " ", "\t", "=", "\"", "'", "![", "[^1]", "** ", "_a ",
    "<script>", "</script>\n\n", "|-",
]  # fmt: skip

nesting = st.builds(
    lambda pair, depth, tail: pair[0] * depth + "x" + pair[1] * depth + tail,
    st.sampled_from(NESTING),
    st.integers(1, 100_000),
    st.sampled_from(["", "\n", "\n\n"]),
)
runs = st.builds(lambda run, count: run * count, st.sampled_from(RUNS), st.integers(1, 50_000))
# Raw formatting elements, each unlike the others, left open in paragraphs: the parser reopens them.
reopened = st.builds(lambda n: "".join(f"> <b title={i}>x\n\n" for i in range(n)), st.integers(1, 5_000))
tables = st.builds(
    lambda columns, rows, count: (
        ("|a" * columns + "|\n" + "|-" * columns + "|\n" + "x\n" * rows + "\n") * count
    ),
    st.integers(1, 5_000),
    st.integers(0, 20_000),
    st.integers(1, 200),
)
# What validation lets through at its limit, repeated to fill a body.
at_the_limit = st.builds(
    lambda pair, depth, count: (pair[0] * depth + "x" + pair[1] * depth + "\n\n") * count,
    st.sampled_from(NESTING),
    st.integers(MAX_NESTING // 3, MAX_NESTING),
    st.integers(1, 5_000),
)
pieces = st.one_of(nesting, runs, reopened, tables, at_the_limit)
mixtures = st.builds(
    lambda parts, glue: glue.join(parts),
    st.lists(pieces, min_size=1, max_size=4),
    st.sampled_from(["", "\n", "\n\n", " "]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(mixtures.map(fits))
def test_a_pathological_body_is_refused_in_place_or_renders_in_linear_time(body: str) -> None:
    assert_refused_in_place_or_fast(body)


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        (">" * 100_000 + " x\n", 1, MAX_NESTING + 1),
        ("- " * 60_000 + "x\n", 1, MAX_NESTING + 1),
        ("Intro\n\n" + "> " * 100_000 + "x\n", 3, 2 * MAX_NESTING + 1),
    ],
    ids=["100,000 nested quotes", "60,000 nested list markers", "quotes after an intro"],
)
def test_the_measured_stalls_are_refused_where_they_go_too_deep(body: str, line: int, column: int) -> None:
    refused = refused_at(body)
    assert refused is not None
    assert refused[:2] == (line, column)
    assert "nested more than" in refused[2]
    assert_refused_in_place_or_fast(body)


def test_the_report_names_body_and_reads_plainly() -> None:
    errors = rejection(encode(valid_article(body=">" * 100_000 + " x\n")))
    message = message_for(errors, "body")
    assert message.startswith(f"line 1, column {MAX_NESTING + 1}: ")
    assert_plain(message)


def test_the_column_counts_characters_not_bytes() -> None:
    refused = refused_at("Ça va\n\nÉté " + "*" * 200 + "x" + "*" * 200 + "\n")
    assert refused is not None
    line, column, _ = refused
    assert line == 3
    # After "Été " (four characters, six bytes), the paragraph is one level and each `**` one more.
    assert column == len("Été ") + 2 * (MAX_NESTING - 1) + 1


def test_raw_html_nested_too_deep_is_placed_at_the_tag() -> None:
    body = "Intro\n\n" + "<div>\n" * (MAX_NESTING + 5)
    assert refused_at(body) is not None
    assert refused_at(body)[:2] == (3 + MAX_NESTING, 1)  # type: ignore[index]


def test_padded_table_cells_over_the_limit_are_refused_at_the_table() -> None:
    columns = 100
    table = "|a" * columns + "|\n" + "|-" * columns + "|\n" + "x\n" * (MIN_TABLE_CELLS // columns)
    refused = refused_at("Intro\n\n" + table)
    assert refused is not None
    assert refused[:2] == (4, 1)
    assert "cells" in refused[2]
    assert_refused_in_place_or_fast("Intro\n\n" + table)


def test_a_long_body_may_hold_a_table_as_large_as_its_text_allows() -> None:
    columns = 100
    text = "A paragraph of the article's own words.\n\n" * 4_000
    rows = max_table_cells(text) // columns - 10
    body = text + "|a" * columns + "|\n" + "|-" * columns + "|\n" + "x\n" * rows
    assert refused_at(body) is None
    assert_refused_in_place_or_fast(body)


def test_a_line_of_spaces_that_is_almost_a_table_is_checked_at_once() -> None:
    body = " " * (MAX_BODY_BYTES - 10) + "|-|x\n"
    assert cpu_ms(lambda: body_problem(body)) < 100


def test_markdown_ends_inside_a_script_do_not_count_as_closing() -> None:
    # The parser reads everything up to </script> as text, so the quotes opened before stay open.
    quotes = "> " * (MAX_NESTING - 4) + "x\n\n"
    body = "a <script>x\n\n" + quotes + "</script>\n\n" + quotes
    refused = refused_at(body)
    assert refused is not None
    assert refused[0] == 7


def test_an_unfinished_raw_tag_is_refused() -> None:
    refused = refused_at('<div title="a\n\nThe rest of the article.\n')
    assert refused is not None
    assert "not finished" in refused[2]


@pytest.mark.parametrize(
    "body",
    [
        "> A quote\n> > quoting another\n\n- a list\n  - nested\n    1. deeper\n",
        "<p>Legacy HTML without closing tags\n" * 300,
        "<ul>" + "<li>item\n" * 300 + "</ul>\n",
        "> <b>bold never closed\n\n" * 300,
        "<table>" + "<tr><td>a<td>b\n" * 300 + "</table>\n",
        '<blockquote class="twitter-tweet"><p lang="en">A tweet <a href="https://t.co/x">link</a></p>'
        '&mdash; Someone (@x)</blockquote>\n<script async src="https://platform.twitter.com/widgets.js"></script>\n',
        "| a | b |\n| - | - |\n" + "| 1 | 2 |\n" * 2_000,
        "*" * (MAX_NESTING - 2) + "x" + "*" * (MAX_NESTING - 2),
    ],
    ids=[
        "nested quotes and lists",
        "unclosed <p>",
        "unclosed <li>",
        "unclosed <b> in quotes",
        "unclosed cells",
        "embedded tweet",
        "a long table",
        "emphasis at the limit",
    ],
)
def test_what_real_articles_write_is_accepted(body: str) -> None:
    assert body_problem(body) is None
    assert refused_at(body) is None


def test_broadsheet_validate_names_the_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "articles" / "deep-quotes.json"
    path.parent.mkdir()
    path.write_bytes(encode(valid_article(body="Intro\n\n" + ">" * 100_000 + " x\n")))
    assert validate([path]) == 1
    assert f"  body: line 3, column {MAX_NESTING + 1}: " in capsys.readouterr().out


def test_an_article_read_back_from_the_index_is_not_checked_again() -> None:
    # Ingest checked it; the render and newsletter functions read it as JSON without the parser.
    doc = valid_article(body=">" * 100_000 + " x\n", slug="sample-article")
    with pytest.raises(ValidationError):
        Article.model_validate(doc)
    assert Article.model_validate_json(json.dumps(doc)).body == doc["body"]
