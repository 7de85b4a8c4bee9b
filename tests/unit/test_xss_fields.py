"""Every payload of the XSS corpora in every plain-text field of an article, rendered as readers get
it (DESIGN.md, invariant 3).

A field is text, never markup: an article page carrying a payload in its title, teaser, author,
tag, section, source name or source address must have exactly the elements and attribute names
of the same page carrying plain words, every address on it must keep a safe scheme, its JSON-LD
must still parse as the JSON it was, and the article's Atom, RSS and JSON feeds must still parse.
A payload the contract refuses for a field is left out of that field (the editor gets a report
naming it; `tests/integration/test_hostile_input.py` shows those reports). Bodies are Markdown and
are checked against the same corpus in `test_body.py`. The browser run of a sample of these
pages is `tests/e2e/test_no_script_runs.py`.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information
from pydantic import ValidationError

from broadsheet.clock import now
from broadsheet.contract.models import Article
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import ArticlePage, FeedPage, Listing
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.e2e.xss import corpus
from tests.unit.fakes import Element, article_doc, elements
from tests.unit.test_body import scheme_of

SLUG = "payload"
# Where each field sits in an article file, and the plain words it holds in the control page.
FIELDS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "title": (("title",), "A plain title"),
    "teaser": (("teaser",), "A plain teaser."),
    "author": (("authors", 0), "Plain Author"),
    "tag": (("tags", 0), "Plain tag"),
    "section": (("section",), "plain-section"),
    "source name": (("source", "name"), "Plain Source"),
    "source url": (("source", "url"), "https://example.org/plain"),
}
URL_ATTRIBUTES = {"href", "src", "action", "content"}
SAFE_SCHEMES = {"http", "https", "mailto", None}
# A feed holds the newest twenty articles: the payloads go through the feeds twenty at a time.
FEED_SIZE = 20


def control_doc() -> dict[str, Any]:
    doc = article_doc(SLUG, source={"name": "", "url": ""}, authors=[""], tags=[""])
    for path, plain in FIELDS.values():
        place(doc, path, plain)
    return doc


def place(doc: dict[str, Any], path: tuple[str | int, ...], value: str) -> None:
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def article_with(payload: str, slug: str = SLUG) -> tuple[Article, set[str]]:
    """The control article with `payload` in every field the contract accepts it in."""
    doc = control_doc()
    for path, _ in FIELDS.values():
        place(doc, path, payload)
    refused: set[str] = set()
    while True:
        try:
            return Article.model_validate({**doc, "slug": slug}), refused
        except ValidationError as exc:
            bad = {tuple(error["loc"]) for error in exc.errors()}
            undone = {
                name for name, (path, _) in FIELDS.items() if any(path[: len(b)] == b for b in bad)
            } - refused
            assert undone, f"the control article itself is refused: {exc}"
            for name in undone:
                place(doc, FIELDS[name][0], FIELDS[name][1])
            refused |= undone


def render(articles: list[Article], settings: Settings) -> dict[str, bytes]:
    """Each article's page, and the site's feeds holding them all (a feed holds the newest 20)."""
    index = MemoryIndex(now(settings))
    for article in articles:
        index.add_article(article)
    pages: list[ArticlePage | FeedPage] = [ArticlePage(a.slug) for a in articles]
    pages += [FeedPage(Listing("home"), kind) for kind in ("atom", "rss", "json")]
    found: dict[str, bytes] = {}
    for page in pages:
        output = render_page(page, index, settings)
        assert output is not None, page
        found[page.id] = output.body
    return found


def shape(found: list[Element]) -> list[tuple[str, tuple[str, ...]]]:
    """A page's markup without its text: each element's tag and attribute names, in order."""
    return [(e.tag, tuple(sorted(e.attrs))) for e in found]


def unrelated(found: list[Element]) -> list[Element]:
    """A page's elements but its related list (up to the site footer), whose length follows the
    rest of the index: the plain page is rendered alone. Its addresses are still checked below."""
    start = next(
        (i for i, e in enumerate(found) if e.tag == "aside" and "related" in e.attrs.get("class", "")), None
    )
    if start is None:
        return found
    end = next(i for i in range(start, len(found)) if found[i].tag == "footer")
    return found[:start] + found[end:]


def problems(page: bytes, control: list[Element]) -> list[str]:
    """How an article page carrying a payload differs, in markup, from the plain one."""
    found: list[str] = []
    html = elements(page)
    if shape(unrelated(html)) != shape(unrelated(control)):
        found.append("the article page's markup differs from the plain page's")
    # The template's own addresses (the favicon's `data:,`) are the plain page's too.
    own = {e.attrs[name] for e in control for name in URL_ATTRIBUTES & set(e.attrs)}
    for element in html:
        for name in URL_ATTRIBUTES & set(element.attrs):
            value = element.attrs[name]
            if value in own or (name == "content" and element.attrs.get("property") != "og:url"):
                continue
            if scheme_of(value) not in SAFE_SCHEMES:
                found.append(f"<{element.tag} {name}={value!r}>")
        if element.tag == "script":
            if element.attrs != {"type": "application/ld+json"}:
                found.append(f"a script element {element.attrs}")
            try:
                json.loads(element.text)
            except json.JSONDecodeError:
                found.append("the JSON-LD no longer parses")
    return found


def feed_problems(pages: dict[str, bytes]) -> list[str]:
    """Whether the feeds still parse."""
    found: list[str] = []
    for kind in ("atom", "rss"):
        try:
            etree.fromstring(pages[f"feed:home:{kind}"], etree.XMLParser(resolve_entities=False))
        except etree.XMLSyntaxError as exc:
            found.append(f"the {kind} feed no longer parses: {exc}")
    try:
        json.loads(pages["feed:home:json"])
    except json.JSONDecodeError:
        found.append("the JSON feed no longer parses")
    return found


def plain_page(settings: Settings) -> list[Element]:
    article = Article.model_validate({**control_doc(), "slug": SLUG})
    return elements(render([article], settings)[f"article:{SLUG}"])


def test_no_payload_in_any_field_adds_markup_or_breaks_a_feed(settings: Settings) -> None:
    payloads = [p.text for p in corpus()]
    assert len(payloads) > 7000, "the XSS corpora are not all there"
    control = plain_page(settings)
    placed: Counter[str] = Counter()
    failures: dict[str, list[str]] = {}
    for start in range(0, len(payloads), FEED_SIZE):
        batch = {f"{SLUG}-{start + i}": p for i, p in enumerate(payloads[start : start + FEED_SIZE])}
        articles = []
        for slug, payload in batch.items():
            article, refused = article_with(payload, slug)
            placed.update(name for name in FIELDS if name not in refused)
            articles.append(article)
        pages = render(articles, settings)
        for slug, payload in batch.items():
            # The page's own slug differs from the plain page's only in attribute values.
            found = problems(pages[f"article:{slug}"], control)
            if found:
                failures[payload] = found
        if found := feed_problems(pages):
            failures[f"feeds of {list(batch.values())}"] = found
    assert failures == {}, f"{len(failures)} payloads: {list(failures.items())[:5]}"
    # Most payloads are refused as sections (a slug) and source addresses (a web address); the
    # free-text fields take nearly all of them.
    assert placed["title"] > 0.9 * len(payloads) and placed["teaser"] > 0.9 * len(payloads), placed


def test_the_checks_can_fail(settings: Settings) -> None:
    # The checker must see what it looks for, or the corpus test proves nothing.
    article = Article.model_validate({**control_doc(), "slug": SLUG})
    plain = render([article], settings)
    control = elements(plain[f"article:{SLUG}"])
    assert problems(plain[f"article:{SLUG}"], control) == []
    page = plain[f"article:{SLUG}"].replace(b"A plain title", b"<img src=x onerror=alert(1)>", 1)
    assert problems(page, control) == ["the article page's markup differs from the plain page's"]
    page = plain[f"article:{SLUG}"].replace(b'href="/"', b'href="javascript:alert(1)"', 1)
    assert problems(page, control) == ["<a href='javascript:alert(1)'>"]
    broken = dict(plain, **{"feed:home:atom": plain["feed:home:atom"].replace(b"A plain title", b"<b>")})
    assert feed_problems(broken)[0].startswith("the atom feed no longer parses")


def test_a_payload_lands_in_every_field_that_takes_it(settings: Settings) -> None:
    # The placing works: words that are no slug and no web address go everywhere else.
    article, refused = article_with("Zebra Words")
    assert refused == {"section", "source url"}
    page = render([article], settings)[f"article:{SLUG}"].decode()
    assert article.title == article.teaser == article.authors[0] == article.tags[0] == "Zebra Words"
    assert article.source is not None and article.source.name == "Zebra Words"
    assert page.count("Zebra Words") >= 5
