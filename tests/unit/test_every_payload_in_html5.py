"""Every XSS payload in the contexts an article page holds once, read by an HTML5 parser
(DESIGN.md, invariant 3).

The browser tier of `make test` loads pages that carry thousands of payloads at once (listings,
bodies, feeds; `tests/e2e/test_every_payload_in_chromium.py`). An article's `<title>`, its meta
tags and its JSON-LD hold one title and one teaser each, so reaching every payload there takes an
article page per payload: here those 7,685 pages of the sweep's own packing are rendered and read
with html5lib, which parses as the HTML standard (and so a browser) does, instead of being loaded
in Chromium (that is `make test-full`). Each page must have exactly the elements and attribute
names of a twin article holding plain words in the same fields, no script but its JSON-LD, and
every payload as text or an attribute value in its place: the `<title>`, the description, Open
Graph and Twitter meta tags, `article:tag` and `article:section`, the heading, standfirst,
bylines, tags and source link, and the JSON-LD's headline, description, authors, keywords and
breadcrumb.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element

import html5lib  # type: ignore[import-untyped]  # html5lib ships no type information
import pytest
from markupsafe import escape

from broadsheet.clock import now
from broadsheet.contract.files import read_article
from broadsheet.contract.models import Source
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import ArticlePage
from broadsheet.render.html import render_page
from broadsheet.render.seo import truncate_headline
from broadsheet.settings import Settings
from tests.e2e.payload_site import Packing, pack, refused_fields, settings
from tests.e2e.xss import assert_json_ld_is_the_article, corpus

PLAIN = {"title": "Plain title", "teaser": "Plain teaser.", "name": "Plain Source"}


@pytest.fixture(scope="module")
def packing() -> Packing:
    payloads = corpus()
    return pack(payloads, [refused_fields(p) for p in payloads])


def parse(page: bytes) -> Element:
    tree: Element = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    return tree


def rendered(docs: dict[str, dict[str, Any]], config: Settings) -> Iterator[tuple[str, Element]]:
    """Each article's page, parsed."""
    index = _index(docs, config)
    for slug in docs:
        output = render_page(ArticlePage(slug), index, config)
        assert output is not None, slug
        yield slug, parse(output.body)


def twin_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The article with plain words in every field a payload can take, the body left as it is."""
    twin = {
        **doc,
        "title": PLAIN["title"],
        "authors": [f"Plain Author {n}" for n in range(len(doc["authors"]))],
    }
    if "teaser" in doc:
        twin["teaser"] = PLAIN["teaser"]
    if "tags" in doc:
        twin["tags"] = [f"Plain tag {n}" for n in range(len(doc["tags"]))]
    if "section" in doc:
        twin["section"] = "plain-section"
    twin["source"] = {"name": PLAIN["name"], "url": "https://example.org/plain"}
    twin["body"] = "A plain body.\n"
    return twin


def outside_body(tree: Element) -> list[Element]:
    """Every element but the sanitised body's (test_body.py and the browser tier read those)."""
    body = next(e for e in tree.iter("div") if "story-body" in e.get("class", "").split())
    inside = {id(e) for e in body.iter()} - {id(body)}
    return [e for e in tree.iter() if id(e) not in inside]


def shape(tree: Element) -> list[tuple[str, tuple[str, ...]]]:
    # The related list shows other articles' titles as listings do (the browser tier sweeps those)
    # and its length follows the rest of the index, which a twin rendered alone does not share.
    related = {id(e) for a in tree.iter("aside") if "related" in a.get("class", "").split() for e in a.iter()}
    return [(str(e.tag), tuple(sorted(e.attrib))) for e in outside_body(tree) if id(e) not in related]


def text(tree: Element, tag: str, **attrs: str) -> list[str]:
    """The text of every element `tag` carrying `attrs` (a class among its classes)."""
    found = []
    for element in tree.iter(tag):
        wanted = attrs.get("class")
        if wanted and wanted not in element.get("class", "").split():
            continue
        if all(element.get(k) == v for k, v in attrs.items() if k != "class"):
            found.append("".join(element.itertext()))
    return found


def meta(tree: Element, key: str) -> list[str]:
    """The content of every meta tag named or with the property `key`."""
    return [str(e.get("content")) for e in tree.iter("meta") if key in (e.get("name"), e.get("property"))]


def problems(tree: Element, doc: dict[str, Any], twin: Element) -> list[str]:
    """Where a page holding payloads is not its twin's markup with the payloads as text."""
    found: list[str] = []
    if shape(tree) != shape(twin):
        found.append("its elements or attribute names differ from the plain twin's")
    scripts = [e for e in tree.iter("script") if e.get("type") != "application/ld+json"]
    handlers = [f"{e.tag}[{a}]" for e in outside_body(tree) for a in e.attrib if a.lower().startswith("on")]
    found += [f"a script element {dict(e.attrib)}" for e in scripts] + handlers
    title, teaser = doc["title"], doc.get("teaser", "")
    description = teaser or title
    expected = {
        "<title>": (text(tree, "title"), [title]),
        "description": (meta(tree, "description"), [description]),
        "og:title": (meta(tree, "og:title") + meta(tree, "twitter:title"), [title, title]),
        "og:description": (
            meta(tree, "og:description") + meta(tree, "twitter:description"),
            [description] * 2,
        ),
        "article:tag": (meta(tree, "article:tag"), doc.get("tags", [])),
        "h1": (text(tree, "h1"), [title]),
        "standfirst": (text(tree, "p", **{"class": "standfirst"}), [teaser] if teaser else []),
        "bylines": (text(tree, "span", itemprop="name"), doc["authors"]),
        "tags": (text(tree, "span", itemprop="keywords"), doc.get("tags", [])),
        "source name": (
            text(tree, "a", itemprop="isBasedOn"),
            [f"Continue reading at {doc['source']['name']}"],
        ),
    }
    found += [f"{where}: {got!r}" for where, (got, want) in expected.items() if got != want]
    source = [e.get("href") for e in tree.iter("a") if e.get("itemprop") == "isBasedOn"]
    if source != [address(doc["source"]["url"])]:
        found.append(f"source url: {source!r}")
    if "section" in doc and meta(tree, "article:section") == meta(twin, "article:section"):
        found.append("article:section is the plain twin's")
    found += json_ld_problems(tree, doc)
    return found


def address(url: str) -> str:
    """A source address as the article format keeps it (a web address, percent-encoded)."""
    return str(Source(name="x", url=url).url)


def json_ld_problems(tree: Element, doc: dict[str, Any]) -> list[str]:
    ld: list[dict[str, Any]] = []
    for element in tree.iter("script"):
        if element.get("type") == "application/ld+json":
            try:
                ld.append({"parsed": json.loads(element.text or "")})
            except json.JSONDecodeError as error:
                ld.append({"error": str(error)})
    try:
        assert_json_ld_is_the_article(ld, doc, "")
    except AssertionError as error:
        return [f"JSON-LD: {error}"]
    article = next(b["parsed"] for b in ld if b["parsed"]["@type"] == "NewsArticle")
    if article["headline"] != truncate_headline(doc["title"]) or article.get("description", "") != doc.get(
        "teaser", ""
    ):
        return ["JSON-LD: headline or description"]
    return []


def test_every_payload_is_text_in_an_article_page_s_own_contexts(packing: Packing) -> None:
    config = settings()
    twins: dict[tuple[int, int, bool, bool], Element] = {}
    failures: dict[str, list[str]] = {}
    for slug, tree in rendered(packing.articles, config):
        doc = packing.articles[slug]
        make = (len(doc["authors"]), len(doc.get("tags", [])), "teaser" in doc, "section" in doc)
        if make not in twins:
            twins[make] = dict(rendered({slug: twin_of(doc)}, config))[slug]
        found = problems(tree, doc, twins[make])
        if found:
            failures[slug] = found
    assert failures == {}, f"{len(failures)} pages: {list(failures.items())[:5]}"
    assert len(packing.placed["title"]) > 7000 and len(packing.placed["teaser"]) > 7000


def test_the_checks_can_fail(packing: Packing) -> None:
    # The checker must see a payload that became markup, or the test above proves nothing.
    config = settings()
    slug, doc = next((s, d) for s, d in packing.articles.items() if "tags" in d and "teaser" in d)
    page = render_page(ArticlePage(slug), _index({slug: doc}, config), config)
    twin = dict(rendered({slug: twin_of(doc)}, config))[slug]
    assert page is not None and problems(parse(page.body), doc, twin) == []
    heading = b'<h1 itemprop="headline">' + str(escape(doc["title"])).encode()
    assert heading in page.body
    broken = page.body.replace(heading, b'<h1 itemprop="headline"><img src=x onerror=alert(1)>', 1)
    found = problems(parse(broken), doc, twin)
    assert "its elements or attribute names differ from the plain twin's" in found
    assert "img[onerror]" in found
    assert any(f.startswith("h1") for f in found)
    # In the <title> (raw text to an HTML5 parser) the same markup is only text, but the wrong text.
    title = b"<title>" + str(escape(doc["title"])).encode()
    found = problems(parse(page.body.replace(title, b"<title><img src=x onerror=alert(1)>", 1)), doc, twin)
    assert found == ["<title>: ['<img src=x onerror=alert(1)>']"]


def _index(docs: dict[str, dict[str, Any]], config: Settings) -> MemoryIndex:
    index = MemoryIndex(now(config))
    for slug, doc in docs.items():
        index.add_article(read_article(f"articles/{slug}.json", json.dumps(doc).encode("utf-8")))
    return index
