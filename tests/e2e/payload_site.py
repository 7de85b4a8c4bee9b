"""The site every XSS payload is published in, for the browser test of every payload.

Each payload of the corpus is tried in each field of the article format. The ones a field
refuses are not published (the editor's report names the field). The rest are packed into
articles. The first, rich articles carry the multi-valued fields: ten payload authors and twenty
payload tags an article; the bodies are dealt out over the articles that carry tags, so that a few
hundred article pages (the carriers) hold every tag and body payload. Every article carries one title,
teaser, source name and source address, each field's payloads in a different order so that an
article's fields hold different payloads; the articles needed past the rich ones to give every
such payload a page are light (a short harmless body, one harmless author, no tags), so that their
pages are small. The section accepts few payloads: the first articles carry them. Every article
belongs to a reader group of twenty (a feed holds twenty), by its section or, where the section
is a payload, by its first author, so that the group's feeds hold all of its articles. The
articles are read, indexed and rendered with the offline build's own parts: the same reader,
index, templates and renderer as `broadsheet.build.build_site` and the Lambdas, for the pages the
browser loads.

Two sites are built from one packing. The full site (`make test-full`) has a page for every
article, and every reader group's feeds. The packed site (`make test`) has the pages that hold
many payloads at once: every home listing page (every article's title, teaser and bylines), the
carriers' article pages (every body and tag payload) and their reader groups' feeds; each
article's own contexts (its `<title>`, meta tags, JSON-LD) are checked for every payload by an
HTML5 parser instead (`tests/unit/test_every_payload_in_html5.py`).
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadsheet.adapters.folder import FolderWriter
from broadsheet.build import load_content
from broadsheet.contract.fields import slugify
from broadsheet.contract.files import read_article
from broadsheet.errors import ValidationFailed
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import (
    NOT_FOUND,
    STYLESHEET,
    ArticlePage,
    Listing,
    ListingKind,
    ListingPage,
    Page,
    StaticPage,
    feeds_of,
    page_count,
)
from broadsheet.render.feeds import FEED_SIZE
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.e2e.xss import FIELDS, Payload, base_article, finished, put

# The fields an article holds once, in the order they take their share of the payloads.
SINGLE = ("title", "teaser", "source name", "source url", "section")
AUTHORS_PER_ARTICLE = 10
TAGS_PER_ARTICLE = 20
# A home listing page holds this many articles: a few pages show every article's title.
PAGE_SIZE = 100
CLOCK = "2026-11-30T12:00:00Z"
HARMLESS_TITLE = "A harmless title"


def refused_fields(payload: Payload) -> frozenset[str]:
    """The fields the article format refuses `payload` in, as an editor's report names them.

    The payload goes into every field at once; the fields the report names are taken out and the
    file is tried again. An error that names no field alone sends each field to be tried alone.
    """
    key = "articles/payload.json"
    fields = set(FIELDS)
    refused: set[str] = set()
    while fields:
        try:
            read_article(key, _encoded(_with(payload.text, fields)))
        except ValidationFailed as failure:
            named = {f for f in fields if FIELDS[f] in {e.field for e in failure.errors}}
            if not named or any(e.field not in {FIELDS[f] for f in named} for e in failure.errors):
                return frozenset(refused | {f for f in fields if not _accepted(key, payload.text, f)})
            refused |= named
            fields -= named
        else:
            break
    return frozenset(refused)


def _with(text: str, fields: Iterable[str]) -> dict[str, Any]:
    doc = base_article(HARMLESS_TITLE)
    for name in fields:
        put(doc, name, text)
    return finished(doc)


def _encoded(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _accepted(key: str, text: str, name: str) -> bool:
    try:
        read_article(key, _encoded(_with(text, [name])))
    except ValidationFailed:
        return False
    return True


@dataclass
class Packing:
    """Where every payload went: the articles, and for each field the payloads it carries."""

    payloads: list[Payload]
    refused: list[frozenset[str]]
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Field name to the indices (into `payloads`) of the payloads published in it.
    placed: dict[str, list[int]] = field(default_factory=dict)
    # A reader group's listing (an author or a section) to its articles, never more than a feed holds.
    groups: dict[Listing, list[str]] = field(default_factory=dict)
    # How many articles, the first ones, carry the multi-valued fields' payloads.
    rich: int = 0
    # How many articles, the first ones, carry the tag and body payloads.
    carriers: int = 0

    def accepted(self, name: str) -> list[int]:
        """The payloads `name` accepts, in corpus order."""
        return [i for i, refused in enumerate(self.refused) if name not in refused]


def pack(payloads: list[Payload], refused: list[frozenset[str]]) -> Packing:
    """Pack the payloads into articles, every payload in every field that accepts it.

    The multi-valued fields fill the first, rich articles: ten payload authors, twenty payload
    tags and the bodies dealt out over them; an article whose section is a payload has a reader
    group for its first author and nine payload authors. The fields an article holds once carry
    one payload an article each, a different one in each field; the articles they need past the
    rich ones are light (a short harmless body, one harmless author, no tags). Every article but
    those with a payload section has a reader group for its section."""
    packing = Packing(payloads, refused, placed={name: [] for name in FIELDS})
    sectioned = len(packing.accepted("section"))
    authors = _fill(
        packing,
        "author",
        lambda n: AUTHORS_PER_ARTICLE - 1 if n < sectioned else AUTHORS_PER_ARTICLE,
        lambda n: _group(n, sectioned) if n < sectioned else None,
    )
    tags = _fill(packing, "tag", lambda n: TAGS_PER_ARTICLE, lambda n: None)
    singles = {name: _rotated(packing.accepted(name), n) for n, name in enumerate(SINGLE)}
    count = max(len(authors), len(tags), *(len(s) for s in singles.values()), 1)
    bodies = packing.accepted("body")
    packing.rich = max(len(authors), len(tags), sectioned, 1)
    packing.carriers = carriers = max(len(tags), 1)
    for number in range(count):
        slug = f"every-{number:05d}"
        group = _group(number, sectioned)
        doc = base_article(HARMLESS_TITLE)
        if number < sectioned:
            doc["authors"] = [group]
            packing.groups.setdefault(Listing("author", slugify(group)), []).append(slug)
        else:
            doc["section"] = slugify(group)
            packing.groups.setdefault(Listing("section", slugify(group)), []).append(slug)
        for name in SINGLE:
            if number < len(singles[name]):
                put(doc, name, payloads[singles[name][number]].text)
                packing.placed[name].append(singles[name][number])
        for name, lists in (("author", authors), ("tag", tags)):
            for index in lists[number] if number < len(lists) else []:
                put(doc, name, payloads[index].text)
                packing.placed[name].append(index)
        mine = bodies[number::carriers] if number < carriers else []
        if mine:
            doc["body"] = "\n\n".join(payloads[i].text for i in mine)
            packing.placed["body"] += mine
        packing.articles[slug] = finished(doc)
    return packing


def _group(number: int, sectioned: int) -> str:
    """The reader group of article `number`: the first `sectioned` articles have theirs as an
    author, the others as a section, twenty articles a group."""
    if number < sectioned:
        return f"Reader Group {number // FEED_SIZE}"
    return f"Reader Group {(number - sectioned) // FEED_SIZE + math.ceil(sectioned / FEED_SIZE)}"


def _fill(
    packing: Packing, name: str, room: Callable[[int], int], taken_by: Callable[[int], str | None]
) -> list[list[int]]:
    """The payloads `name` accepts, `room(n)` in article `n`, never two with the same page in one
    article (nor that of the name `taken_by(n)` the article already has)."""
    waiting = deque(packing.accepted(name))
    articles: list[list[int]] = []
    while waiting:
        taken: list[int] = []
        already = taken_by(len(articles))
        pages = {slugify(already)} if already else set()
        passed: list[int] = []
        while waiting and len(taken) < room(len(articles)):
            index = waiting.popleft()
            page = slugify(packing.payloads[index].text)
            if page in pages:
                passed.append(index)
            else:
                taken.append(index)
                pages.add(page)
        waiting.extendleft(reversed(passed))
        articles.append(taken)
    return articles


def _rotated(accepted: list[int], shift: int) -> list[int]:
    """The payloads a field held once per article carries, in article order: all it accepts,
    from a starting point that differs by field, so that one article's fields hold different
    payloads."""
    start = len(accepted) * shift // len(SINGLE)
    return accepted[start:] + accepted[:start]


@dataclass
class Site:
    """A rendered site: its folder, each file's content type and cache lifetime, and the pages the
    browser loads."""

    root: Path
    types: dict[str, tuple[str, str]]
    articles: dict[str, str]
    listings: list[str]
    home_feeds: list[str]
    # The reader groups whose feeds are loaded, and those feeds (all groups: every article).
    groups: list[Listing]
    feeds: list[str]
    names: list[str]
    rejected: int

    def paths(self) -> Iterator[str]:
        """Every page to load, in order."""
        yield from self.articles.values()
        yield from self.listings
        yield from self.home_feeds
        yield from self.feeds
        yield from self.names


def settings() -> Settings:
    """The offline build's settings for this site: a fixed clock, long home listing pages, and a
    site address no server answers at (pages name it in links and feeds; a load from it would be
    a request to another origin)."""
    return Settings(now=CLOCK, page_size=PAGE_SIZE, site_url="http://127.0.0.1")


def render_site(packing: Packing, content: Path, out: Path, name_pages: int, *, full: bool) -> Site:
    """Write the articles as content files, read and index them as the offline build does, and
    render the pages to load: every home listing page, the home feeds, `name_pages` author and
    `name_pages` tag pages, and, given `full`, every article and every reader group's feeds, or
    else the carriers' article pages and their reader groups' feeds."""
    (content / "articles").mkdir(parents=True, exist_ok=True)
    for slug, doc in packing.articles.items():
        (content / "articles" / f"{slug}.json").write_bytes(_encoded(doc))
    config = settings()
    index, rejected = load_content(content, config, workers=1)
    pages: list[Page] = [StaticPage(NOT_FOUND), STYLESHEET]
    slugs = list(packing.articles)[: None if full else packing.carriers]
    articles = {slug: ArticlePage(slug).path for slug in slugs}
    pages += [ArticlePage(slug) for slug in slugs]
    shown = set(slugs)
    groups = [g for g, members in packing.groups.items() if full or shown.intersection(members)]
    home = Listing("home")
    listings = [home.page(n) for n in range(page_count(index.count(home.id), PAGE_SIZE) + 1)]
    feeds = [f for group in groups for f in feeds_of(group)]
    names = _name_pages(packing, index, name_pages)
    pages += [*listings, *feeds_of(home), *feeds, *names]
    writer = FolderWriter(out)
    types: dict[str, tuple[str, str]] = {}
    for page in pages:
        output = render_page(page, index, config)
        assert output is not None, page
        writer.write(output)
        types[output.key] = (output.content_type, output.cache_control)
    return Site(
        root=out,
        types=types,
        articles=articles,
        listings=[p.path for p in listings],
        home_feeds=[f.path for f in feeds_of(home)],
        groups=groups,
        feeds=[f.path for f in feeds],
        names=[p.path for p in names],
        rejected=len(rejected),
    )


def _name_pages(packing: Packing, index: MemoryIndex, count: int) -> list[ListingPage]:
    """The first page of `count` author listings and `count` tag listings whose heading is a
    payload, taken evenly from the payload names (hand-made collections first)."""
    chosen: list[ListingPage] = []
    kinds: tuple[ListingKind, ...] = ("author", "tag")
    for kind in kinds:
        slugs = list(dict.fromkeys(slugify(packing.payloads[i].text) for i in sorted(packing.placed[kind])))
        for n in range(min(count, len(slugs))):
            listing = Listing(kind, slugs[n * len(slugs) // count])
            assert index.count(listing.id) > 0, listing
            chosen.append(listing.page(0))
    return chosen
