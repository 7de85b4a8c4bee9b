"""Article bodies: CommonMark renders to the structure editors expect, and nothing in it can run.

The XSS corpora are rendered as bodies and the output is read with an HTML parser, as a browser
would read it: what matters is which tags and attributes exist, not whether some escaped text
happens to contain the letters of a payload.
"""

from __future__ import annotations

import json
import re

import pytest
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

from broadsheet.render.body import render_body
from tests.unit.conftest import CORPORA
from tests.unit.fakes import Element, elements

# Tags that run script, load active content or restyle the page; none may survive.
FORBIDDEN_TAGS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "link", "meta",
    "base", "form", "input", "button", "textarea", "select", "svg", "math", "template", "noscript",
    "xmp", "plaintext", "video", "audio", "source", "marquee", "isindex", "title", "html", "body",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "background"}
SAFE_SCHEMES = {"http", "https", "mailto"}


def scheme_of(url: str) -> str | None:
    """The scheme a browser would see: tabs and newlines removed, leading controls and spaces stripped."""
    cleaned = re.sub(r"[\t\n\r]", "", url).lstrip("".join(chr(c) for c in range(0x21)))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else None


def dangers(html: str) -> list[str]:
    """Everything in a rendered body that could run script or load something unsafe."""
    found: list[str] = []
    for element in elements(html):
        if element.tag in FORBIDDEN_TAGS:
            found.append(f"<{element.tag}>")
        for name, value in element.attrs.items():
            if name.startswith("on") or name in {"style", "formaction", "srcdoc"}:
                found.append(f"{element.tag}[{name}]")
            if name in URL_ATTRIBUTES and scheme_of(value) not in {None, *SAFE_SCHEMES}:
                found.append(f"{element.tag}[{name}={value!r}]")
    return found


def body_of(markdown: str) -> list[Element]:
    return elements(str(render_body(markdown)))


def tags(markdown: str) -> list[str]:
    return [e.tag for e in body_of(markdown)]


# -- what editors write ----------------------------------------------------------------------


def test_sub_headings_render_and_a_top_heading_becomes_a_sub_heading() -> None:
    found = [(e.tag, e.text) for e in body_of("# What was decided\n\n## How Moscow reads it\n\n### Detail\n")]
    assert found == [("h2", "What was decided"), ("h2", "How Moscow reads it"), ("h3", "Detail")]


def test_lists_render() -> None:
    assert tags("- one\n- two\n\n3. three\n4. four\n") == ["ul", "li", "li", "ol", "li", "li"]
    ordered = [e for e in body_of("3. three\n4. four\n") if e.tag == "ol"]
    assert ordered[0].attrs == {"start": "3"}


def test_tables_render() -> None:
    found = tags("| Country | Battalion lead |\n| --- | --- |\n| Estonia | United Kingdom |\n")
    assert found == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"]


def test_blockquotes_render() -> None:
    quote = body_of("> Deterrence works only if the other side understands.\n")
    assert [e.tag for e in quote] == ["blockquote", "p"]
    assert quote[0].text.strip() == "Deterrence works only if the other side understands."


def test_emphasis_code_and_links_render() -> None:
    found = body_of("*enhanced* **forward** ~~presence~~ `code` [NATO](https://www.nato.int/)")
    assert [e.tag for e in found] == ["p", "em", "strong", "del", "code", "a"]
    link = found[-1]
    assert link.attrs["href"] == "https://www.nato.int/"
    assert set(link.attrs["rel"].split()) == {"noopener", "noreferrer", "nofollow"}


def test_images_with_web_addresses_render() -> None:
    image = [e for e in body_of("![Warsaw](https://example.org/warsaw.jpg)") if e.tag == "img"]
    assert image[0].attrs == {"src": "https://example.org/warsaw.jpg", "alt": "Warsaw"}


def test_code_is_shown_as_text() -> None:
    found = body_of("`<script>alert(1)</script>`")
    assert [e.tag for e in found] == ["p", "code"]
    assert found[1].text == "<script>alert(1)</script>"


def test_table_column_alignment_survives() -> None:
    cells = [e for e in body_of("| a | b |\n| :-: | --: |\n| 1 | 2 |\n") if e.tag in {"th", "td"}]
    # The CSP forbids inline styles, so alignment travels as a class the stylesheet defines.
    assert [c.attrs.get("class") for c in cells] == ["align-center", "align-right"] * 2


def test_footnote_reference_points_at_its_definition() -> None:
    found = body_of("Four battalions.[^1]\n\n[^1]: One each in Estonia, Latvia, Lithuania and Poland.\n")
    targets = {e.attrs["href"].removeprefix("#") for e in found if e.tag == "a"}
    ids = {e.attrs["id"] for e in found if "id" in e.attrs}
    assert targets and targets <= ids


# -- what must never get through -------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "gone"),
    [
        ("<script>alert(1)</script>\n\nText.", "script"),
        ("Text <script>alert(1)</script> inline.", "script"),
        ('<iframe src="https://example.org/"></iframe>', "iframe"),
        ("<style>body { display: none }</style>", "style"),
        ('<object data="x.swf"></object>', "object"),
        ("<svg onload=alert(1)>", "svg"),
        ('<form action="https://example.org/"><input name="q"></form>', "form"),
    ],
)
def test_raw_html_tags_that_run_or_restyle_are_stripped(markdown: str, gone: str) -> None:
    assert gone not in tags(markdown)
    assert dangers(str(render_body(markdown))) == []


@pytest.mark.parametrize(
    "markdown",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click]( javascript:alert(1))",
        "[click](<javascript:alert(1)>)",
        '<a href="javascript:alert(1)">click</a>',
        '<a href="jav&#x09;ascript:alert(1)">click</a>',
        '<a href="&#106;avascript:alert(1)">click</a>',
        "[click](vbscript:msgbox(1))",
        "[click][ref]\n\n[ref]: javascript:alert(1)",
        "<javascript:alert(1)>",
    ],
)
def test_javascript_links_lose_their_target(markdown: str) -> None:
    links = [e for e in body_of(markdown) if e.tag == "a"]
    assert all(scheme_of(a.attrs.get("href", "")) in {None, *SAFE_SCHEMES} for a in links)
    assert dangers(str(render_body(markdown))) == []


@pytest.mark.parametrize(
    "markdown",
    [
        "[open](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="data:text/html,<script>alert(1)</script>">open</a>',
        "![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    ],
)
def test_data_urls_are_stripped(markdown: str) -> None:
    for element in body_of(markdown):
        assert "data:" not in element.attrs.get("href", "") + element.attrs.get("src", "")


@pytest.mark.parametrize(
    "markdown",
    [
        "<img src=x onerror=alert(1)>",
        '<a href="https://example.org/" onclick="alert(1)">x</a>',
        '<p onmouseover="alert(1)">x</p>',
        '<div class="note" style="background:url(javascript:alert(1))" onfocus="alert(1)">x</div>',
        '<details open ontoggle="alert(1)">x</details>',
    ],
)
def test_event_handler_and_style_attributes_are_stripped(markdown: str) -> None:
    assert dangers(str(render_body(markdown))) == []
    assert all(not name.startswith("on") for e in body_of(markdown) for name in e.attrs)


@pytest.mark.parametrize("reference", ["&#1;", "&#x0B;", "&#12;", "&#31;", "&#xFFFE;", "&#65535;"])
def test_a_reference_to_a_character_no_feed_may_hold_becomes_a_replacement_character(reference: str) -> None:
    html = str(render_body(f"Before {reference} after, and `{reference}` in code."))
    assert not any((ord(c) < 0x20 and c not in "\t\n\r") or c in "\ufffe\uffff" for c in html)
    assert "Before \ufffd after" in html
    etree.fromstring(f"<div>{html}</div>".encode())


def test_link_targets_stay_on_the_schemes_allowed() -> None:
    body = "[a](https://a.example/) [b](http://b.example/) [c](mailto:desk@example.org) [d](/articles/x/)"
    hrefs = [e.attrs["href"] for e in body_of(body) if e.tag == "a"]
    assert hrefs == ["https://a.example/", "http://b.example/", "mailto:desk@example.org", "/articles/x/"]


# -- corpora ---------------------------------------------------------------------------------


def owasp_payloads() -> list[str]:
    path = CORPORA / "xss" / "owasp" / "xss_filter_evasion_cheatsheet_payloads.json"
    return [str(item["payload"]) for item in json.loads(path.read_text())] if path.exists() else []


def svg_files() -> list[str]:
    return [p.read_text(errors="replace") for p in sorted((CORPORA / "xss" / "svg").glob("*.svg"))]


def test_no_xss_payload_survives_as_a_body(xss_lines: list[str]) -> None:
    payloads = xss_lines + owasp_payloads() + svg_files()
    assert len(payloads) > 1500
    failures = {}
    for payload in payloads:
        found = dangers(str(render_body(payload)))
        if found:
            failures[payload] = found
    assert failures == {}


def test_no_xss_payload_survives_inside_markdown_structure(xss_lines: list[str]) -> None:
    # The same payloads in the places an editor's text goes: a list item, a quote, a link, a table.
    failures = {}
    for payload in xss_lines[::4]:
        one_line = payload.replace("\n", " ")
        markdown = (
            f"## {one_line}\n\n- {one_line}\n\n> {one_line}\n\n[{one_line}]({one_line})\n\n"
            f"| h |\n| - |\n| {one_line} |\n"
        )
        found = dangers(str(render_body(markdown)))
        if found:
            failures[payload] = found
    assert failures == {}


def test_dangers_detects_what_it_looks_for() -> None:
    # The checker itself must be able to fail, or the corpus tests prove nothing.
    assert sorted(dangers('<script>x</script><a href=" java\tscript:x" onclick="y">z</a>')) == [
        "<script>",
        "a[href=' java\\tscript:x']",
        "a[onclick]",
    ]
    assert dangers('<img src="data:image/png;base64,AA">') == ["img[src='data:image/png;base64,AA']"]
    assert dangers('<a href="/x">ok</a><img src="https://e/x.png">') == []
