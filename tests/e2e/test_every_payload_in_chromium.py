"""Every XSS payload of the corpora, in every field that accepts it, loaded in a real Chromium with
the production response headers and without them: no dialog, no script, no request to another
origin (DESIGN.md, invariant 3; the browser half of `tests/unit/test_xss_fields.py`).

It runs in two sizes from one packing of the payloads (`payload_site.py`):

- packed (`make test`, the browser tier): the pages that hold many payloads at once, about 380 a
  header variant: every home listing page (a hundred articles a page: every title, teaser and
  author payload), the article pages of the 242 articles that carry every tag and body payload
  (twenty tags and about thirty bodies a page), their reader groups' feeds, the home feeds and
  the name pages. Besides what follows, every payload's text must be in the DOM intact: each
  listing's titles, teasers and bylines, each article's heading, standfirst, bylines and tags are
  the article file's, and each body's text is what an HTML5 parser (html5lib) reads from the
  same bytes. What is unique to one article — its `<title>`, meta tags and JSON-LD — is checked
  for every payload by html5lib in `tests/unit/test_every_payload_in_html5.py`.
- full (`make test-full`, marker `full`): one article page for each payload, as described below.
  About 8 minutes on two quiet cores, 18 on a slow machine.

The full size, in detail.

What is published. Each of the 7,689 payloads is tried in the title, teaser, body, author name,
tag, section, source name and source address of an article. A field that refuses a payload
would send the editor a report instead (`tests/integration/test_hostile_input.py` shows those
reports): it is not published, and the figures count it. The rest are packed into articles
(`payload_site.py`), every payload in every field that accepts it: 657 rich articles carry the
multi-valued fields (ten author names, twenty tags and about a dozen bodies an article) and the
114 payloads the section accepts; every article carries one title, teaser, source name and source
address, a different payload in each, so the fields held once need an article page for each of
the ~7,600 payloads they accept: 7,685 articles, the 7,028 past the rich ones light (a short
harmless body, one harmless author, no tags). That is 8,941 pages a header variant. Measured on
two quiet cores: 461 s of frame loads, 473 s in all (2026-12-01 10:18 UTC; 1,056 s and 1,093 s on
the slower machine of that morning's fresh clone). A frame's
cost is Chromium's navigation, about 85 ms of CPU split between its browser process and the
renderer, not the page's size or the audit: a light page (6 KiB) costs about what a rich one
(16 KiB) does, and Chromium's flags, the probe, the debugger and the request routing each move it
by under 5 %.

Which pages are loaded, with and without the headers. Every article page (title, teaser, body,
bylines, tags, section, source, JSON-LD). Every home listing page, a hundred articles a page: each
article's title, teaser and bylines appear on one. The home feeds, and every reader group's Atom,
RSS and JSON feed (385 groups, 1,155 feeds): each article belongs to a group of twenty (a feed
holds twenty), by its section or, where the section is a payload, by its first author, so each
article appears in one feed of each kind. Author and tag pages exist for each of the 10,779
distinct names; NAME_PAGES of each, spread over the names, are loaded, as their headings are
payloads.

How it is built and served. The articles are written as content files and read, indexed and
rendered with the offline build's own parts (`load_content`, `render_page`, `FolderWriter`) for
the 8,941 pages loaded (17 s): `build_site` itself would also render every author's and tag's
pages and feeds, which are not loaded. Two loopback servers serve the folder as the edge does:
one with the object's content type and cache lifetime and the headers of template.yaml's
response headers policy, one with the content type alone.

How it is read. Each server's pages are loaded forty at a time in the frames of a harness page,
each in a Chromium of its own, both at once, the harness page replaced by a fresh one every
thousand frames: a frame costs Chromium far less than a top-level
navigation, and the probe (an init script), request routing and dialog handling all apply to
frames. The production headers forbid framing, so frames get them with X-Frame-Options dropped
and the CSP's frame-ancestors set to 'self', nothing else changed; TOP_LEVEL_ARTICLES
article pages, two listing pages, the home feeds, a group's feeds and two name pages are also
loaded top-level with the production headers exactly. A frame is audited once it and its images
have loaded and two animation frames and 30 ms have passed. Chromium shows an Atom or RSS feed
as text, so each feed's text is also parsed with Chromium's XML parser (the JSON feed with its
JSON parser) and checked for elements or handlers that could run, and its entries' titles,
names and tags must be its articles'. Dialogs count calls to alert, confirm, prompt and print
(the probe traps them in every frame, fresh ones included) and any dialog Chromium opens. A
control page that runs script, and a built article page with a payload put in unescaped, prove
that each sign is seen.

Two findings are counted apart. Bodies may name images anywhere (the article format allows
http and https images): four payloads make an article page ask for an image from another origin.
With the production headers the CSP refuses them (its img-src allows https only) and none leaves;
without headers Chromium asks for them (the harness refuses them). They are the only requests to
other origins the test allows, and the figures list them. Second, this test found that a body's
numeric character reference to a control character (`&#11;`) rendered as that character, which
XML forbids, so the Atom and RSS feeds holding such a body did not parse: the body renderer now
replaces each with U+FFFD, and every feed must parse.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import html5lib  # type: ignore[import-untyped]  # html5lib ships no type information
import pytest
from playwright.sync_api import Browser, sync_playwright

from broadsheet.pages import FEED_FORMATS, FeedPage
from broadsheet_dev.local.template import load_template, response_headers
from tests.e2e.frames import FIXTURES_PREFIX, FolderServer, Harness, Load
from tests.e2e.payload_site import Packing, Site, pack, refused_fields, render_site
from tests.e2e.quality import CHROMIUM, CHROMIUM_FLAGS
from tests.e2e.xss import (
    CONTROL_PAGE,
    FIELDS,
    Reader,
    Visit,
    assert_json_ld_is_the_article,
    corpus,
)
from tests.support import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NAME_PAGES = 10
BATCH = 40
# Chromium's network service starts refusing a page's frame loads (net::ERR_INSUFFICIENT_RESOURCES,
# an error page in the frame) after a few thousand of them in one harness page (seen from about
# 2,300 with Chromium 156.0.8078.114): a harness is replaced by a fresh one, in a new browser
# context and so a new renderer, every FRESH_EVERY batches (1,000 frames).
FRESH_EVERY = 25
# About this many article pages are also loaded top-level, spread over those loaded in frames.
TOP_LEVEL_ARTICLES = 20
ARTIFACTS = ROOT / "test-artifacts"
CONTROL = FIXTURES_PREFIX
RAW = "articles/control-raw-payload/index.html"


@dataclass
class Run:
    """What publishing and loading the payloads did."""

    packing: Packing
    site: Site
    loads: list[Load]
    controls: list[Load]
    top: list[Visit]
    raw_payload: str
    seconds: dict[str, float] = field(default_factory=dict)
    by_path: dict[tuple[str, bool], Load] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_path = {(v.path, v.headers): v for v in self.loads}

    def load(self, path: str, *, headers: bool) -> Load:
        """The frame load of `path` with or without the production headers."""
        return self.by_path[path, headers]


def raw_control(site: Site, packing: Packing) -> str:
    """Put a corpus payload, unescaped, into the heading of a built article page, as a
    template that forgot to escape would: the payload must be seen running (or, with the
    production headers, refused by the CSP)."""
    payload = next(p.text for p in packing.payloads if p.text.lower().startswith("<img src=x onerror=alert("))
    first = next(iter(site.articles.values())).lstrip("/") + "index.html"
    page = (site.root / first).read_bytes()
    heading = b'<h1 itemprop="headline">'
    assert heading in page
    (site.root / RAW).parent.mkdir(parents=True)
    (site.root / RAW).write_bytes(page.replace(heading, heading + payload.encode(), 1))
    site.types[RAW] = site.types[first]
    return payload


def top_level_sample(site: Site) -> list[str]:
    """Pages also loaded top-level with the exact production headers."""
    articles = list(site.articles.values())[:: max(1, len(site.articles) // TOP_LEVEL_ARTICLES)]
    names = site.names[:1] + site.names[-1:]
    return [*articles, site.listings[0], site.listings[-1], *site.home_feeds, *site.feeds[:3], *names]


def read(
    browsers: list[Browser], servers: dict[bool, FolderServer], batches: list[list[str]]
) -> list[list[Load]]:
    """Load each batch of paths in both servers' harness pages at once, each in a Chromium of its
    own (a browser's main thread handles every navigation: two share two cores better). Every
    FRESH_EVERY batches each harness gives way to a new one in a new browser context."""
    pairs = list(zip(browsers, servers.items(), strict=True))

    def harness(number: int) -> Harness:
        browser, (headers, server) = pairs[number]
        return Harness(browser.new_context(), server.origin, headers=headers)

    harnesses = [harness(number) for number in range(len(pairs))]
    read: list[list[Load]] = [[] for _ in batches]
    for each in harnesses:
        each.start(batches[0])
    # Each harness starts its next batch as soon as it has read one, while the other still loads.
    for number in range(len(batches)):
        following = number + 1
        for at in range(len(harnesses)):
            read[number] += harnesses[at].finish()
            if following == len(batches):
                continue
            if following % FRESH_EVERY == 0:
                harnesses[at].page.context.close()
                harnesses[at] = harness(at)
            harnesses[at].start(batches[following])
    for each in harnesses:
        each.page.context.close()
    return read


def top_level(browser: Browser, origin: str, paths: list[str]) -> list[Visit]:
    """Load pages one by one as a reader's browser does, with the exact production headers."""
    context = browser.new_context()
    reader = Reader(context, origin, headers=True)
    visits = [reader.visit(path) for path in paths]
    context.close()
    return visits


@pytest.fixture(scope="module", params=["packed", pytest.param("full", marks=pytest.mark.full)])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    full = request.param == "full"
    started = time.monotonic()
    seconds: dict[str, float] = {}
    payloads = corpus()
    packing = pack(payloads, [refused_fields(p) for p in payloads])
    seconds["packing"] = time.monotonic() - started
    work = tmp_path_factory.mktemp("every-payload")
    site = render_site(packing, work / "content", work / "site", NAME_PAGES, full=full)
    raw = raw_control(site, packing)
    seconds["rendering"] = time.monotonic() - started - seconds["packing"]
    production = response_headers(load_template(ROOT / "template.yaml"))
    fixtures = {CONTROL: CONTROL_PAGE}
    servers = {
        True: FolderServer(site.root, site.types, production, fixtures),
        False: FolderServer(site.root, site.types, None, fixtures),
    }
    paths = list(site.paths())
    batches = [[CONTROL, "/" + RAW.removesuffix("index.html")]]
    batches += [paths[at : at + BATCH] for at in range(0, len(paths), BATCH)]
    try:
        with sync_playwright() as playwright:
            loaded = time.monotonic()
            browsers = [
                playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
                for _ in servers
            ]
            controls, *rest = read(browsers, servers, batches)
            seconds["frames"] = time.monotonic() - loaded
            top = top_level(browsers[0], servers[True].origin, top_level_sample(site))
            seconds["top_level"] = time.monotonic() - loaded - seconds["frames"]
            for browser in browsers:
                browser.close()
    finally:
        for server in servers.values():
            server.close()
    seconds["total"] = time.monotonic() - started
    loads = [load for batch in rest for load in batch]
    return Run(packing, site, loads, controls, top, raw, seconds)


def dialogs(load: Load | Visit) -> list[str]:
    """Dialogs Chromium opened, and calls that would have opened one (the probe trapped them)."""
    return load.dialogs + [r for r in load.ran if r.startswith(("alert(", "confirm(", "prompt(", "print("))]


def body_images(run: Run, path: str) -> set[str]:
    """The images an article body names: the article format allows them from any web address."""
    page = run.load(path, headers=False).page or {}
    return {f"image {src}"[:126] for src in page.get("images", [])}


def outside(run: Run, path: str, requests: list[str]) -> list[str]:
    """Requests for other origins, but for the images the page's body names."""
    allowed = body_images(run, path)
    return [r for r in requests if r not in allowed]


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_the_harness_sees_script_run_dialogs_and_requests_leave(run: Run, headers: bool) -> None:
    control = next(c for c in run.controls if c.headers == headers and c.path == CONTROL)
    assert control.flag
    assert {"alert(1)", "xss = 1", "print()"} <= set(control.ran)
    assert len(dialogs(control)) >= 2
    assert any("script compiled from" in script for script in control.scripts)
    assert {"img[onerror]", "script (no type)"} <= set(control.found)
    assert any("elsewhere.example" in request for request in control.foreign)
    raw = next(c for c in run.controls if c.headers == headers and c.path != CONTROL)
    assert "img[onerror]" in raw.found
    if headers:
        # The policy is the second line: the unescaped handler is refused, and the refusal seen.
        assert raw.ran == [] and any(v.startswith("script-src") for v in raw.violations), raw
    else:
        assert raw.ran and raw.flag, raw


def test_every_payload_is_published_in_each_field_that_accepts_it(run: Run) -> None:
    packing, total = run.packing, len(run.packing.payloads)
    assert run.site.rejected == 0
    for name in FIELDS:
        placed = packing.placed[name]
        assert len(placed) == len(set(placed)), name
        accepted = set(packing.accepted(name))
        assert set(placed) == accepted, name
    assert len(packing.articles) <= total
    # Every page holding a body or a tag is loaded, in both sizes.
    slugs = list(packing.articles)[: packing.carriers]
    assert set(slugs) <= set(run.site.articles)
    carriers = [packing.articles[slug] for slug in slugs]
    tags = {tag for doc in carriers for tag in doc.get("tags", [])}
    assert [i for i in packing.placed["tag"] if packing.payloads[i].text not in tags] == []
    bodies = "\n\n".join(doc["body"] for doc in carriers)
    assert [i for i in packing.placed["body"] if packing.payloads[i].text not in bodies] == []


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_no_payload_opens_a_dialog_runs_script_or_reaches_another_origin(run: Run, headers: bool) -> None:
    loads = [v for v in run.loads if v.headers == headers]
    assert len(loads) == len(list(run.site.paths()))
    assert [(v.path, v.status, v.error) for v in loads if not v.loaded or v.status != 200 or v.error] == []
    assert [(v.path, v.landed) for v in loads if v.landed != v.path] == []
    assert [(v.path, sign) for v in loads for sign in v.executed] == []
    assert [(v.path, r) for v in loads for r in outside(run, v.path, v.foreign)] == []
    if headers:
        # The production CSP allows images from other origins over https only.
        assert [(v.path, r) for v in loads for r in v.foreign if not r.startswith("image https://")] == []


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_pages_and_feeds_hold_nothing_that_could_run(run: Run, headers: bool) -> None:
    loads = [v for v in run.loads if v.headers == headers]
    found = [(v.path, thing) for v in loads for thing in v.found + (v.feed or {}).get("found", [])]
    assert found == []
    blocked = [(v.path, x) for v in loads for x in v.violations if x.startswith("script")]
    assert blocked == []


def test_top_level_loads_with_the_exact_production_headers_run_nothing(run: Run) -> None:
    assert run.top and [(v.url, v.status) for v in run.top if v.status != 200] == []
    assert [(v.url, s) for v in run.top for s in v.executed] == []
    assert [(v.url, r) for v in run.top for r in outside(run, v.url, v.foreign)] == []
    assert [(v.url, f) for v in run.top for f in v.found] == []


def test_json_ld_parses_and_carries_the_payloads_as_data(run: Run) -> None:
    pages = 0
    for slug, path in run.site.articles.items():
        doc = run.packing.articles[slug]
        for headers in (True, False):
            visit = run.load(path, headers=headers)
            assert_json_ld_is_the_article(visit.ld, doc, path)
            article = next(b["parsed"] for b in visit.ld if b["parsed"]["@type"] == "NewsArticle")
            assert article.get("description", "") == doc.get("teaser", ""), path
            pages += 1
    assert pages == 2 * len(run.site.articles)


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_article_pages_show_every_payload_as_text(run: Run, headers: bool) -> None:
    # The heading, standfirst, bylines and tags are the article file's text; the body's text is
    # what a conformant HTML5 parser reads from the same bytes, so nothing in it became markup
    # Chromium read differently.
    wrong: list[tuple[str, str]] = []
    for slug, path in run.site.articles.items():
        doc, page = run.packing.articles[slug], run.load(path, headers=headers).page or {}
        if words(page["h1"]) != words(doc["title"]):
            wrong.append((path, "title"))
        if words(page["standfirst"]) != words(doc.get("teaser", "")):
            wrong.append((path, "teaser"))
        if [words(n) for n in page["authors"]] != [words(n) for n in doc["authors"]]:
            wrong.append((path, "authors"))
        if [words(t) for t in page["tags"]] != [words(t) for t in doc.get("tags", [])]:
            wrong.append((path, "tags"))
        if page["body"] != html5_body_text(run.site.root / path.lstrip("/") / "index.html"):
            wrong.append((path, "body"))
    assert wrong == []


@cache
def html5_body_text(file: Path) -> str:
    """The text of an article page's body as html5lib reads the page."""
    tree = html5lib.parse(file.read_bytes(), treebuilder="etree", namespaceHTMLElements=False)
    body = next(e for e in tree.iter("div") if "story-body" in e.get("class", "").split())
    return "".join(body.itertext())


def words(text: str) -> str:
    return " ".join(text.split())


def shown(docs: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """The titles, author names and tags of articles, as text."""
    return {
        "titles": Counter(words(doc["title"]) for doc in docs),
        "authors": Counter(words(name) for doc in docs for name in doc["authors"]),
        "tags": Counter(words(tag) for doc in docs for tag in doc.get("tags", [])),
    }


def group_feeds(run: Run, headers: bool) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """Each reader group's feeds as loaded, with the group's articles."""
    for listing in run.site.groups:
        slugs = run.packing.groups[listing]
        docs = [run.packing.articles[slug] for slug in slugs]
        for form in FEED_FORMATS:
            path = FeedPage(listing, form).path
            yield path, run.load(path, headers=headers).feed or {}, docs


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_listing_pages_show_every_article_as_text(run: Run, headers: bool) -> None:
    numbered = [run.load(p, headers=headers).page or {} for p in run.site.listings[1:]]
    expected = shown(list(run.packing.articles.values()))
    assert Counter(words(t) for page in numbered for t in page["items"]) == expected["titles"]
    teasers = Counter(words(doc["teaser"]) for doc in run.packing.articles.values() if doc.get("teaser"))
    assert Counter(words(t) for page in numbered for t in page["teasers"]) == teasers
    assert (
        Counter(words(n) for page in numbered for line in page["bylines"] for n in line)
        == expected["authors"]
    )


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_each_group_feed_parses_and_holds_its_articles_as_text(run: Run, headers: bool) -> None:
    read = 0
    for path, feed, docs in group_feeds(run, headers):
        assert "error" not in feed, (path, feed.get("error"))
        entries = feed["entries"]
        assert {
            "titles": Counter(words(e["title"]) for e in entries),
            "authors": Counter(words(n) for e in entries for n in e["authors"]),
            "tags": Counter(words(t) for e in entries for t in e["tags"]),
        } == shown(docs), path
        read += 1
    assert read == len(run.site.groups) * len(FEED_FORMATS) == len(run.site.feeds)
    home = [run.load(path, headers=headers).feed or {} for path in run.site.home_feeds]
    assert [(f.get("error"), len(f.get("entries", []))) for f in home] == [(None, 20)] * len(FEED_FORMATS)


def test_the_figures(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    packing, loads = run.packing, run.loads
    everything: list[Load | Visit] = [*loads, *run.top]
    total = len(packing.payloads)
    fields = {
        name: {
            "published": len(packing.placed[name]),
            "refused_by_the_field": sum(1 for r in packing.refused if name in r),
            "accepted_but_not_in_this_run": len(packing.accepted(name)) - len(packing.placed[name]),
        }
        for name in FIELDS
    }
    pages = {
        "articles": len(run.site.articles),
        "listings": len(run.site.listings),
        "feeds": len(run.site.home_feeds) + len(run.site.feeds),
        "author_and_tag_pages": len(run.site.names),
    }
    controls = {
        f"{c.path} {'with' if c.headers else 'without'} headers": {
            "dialogs": len(dialogs(c)),
            "executions": len(c.executed),
            "cross_origin": len(c.foreign),
            "csp_violations": len(c.violations),
        }
        for c in run.controls
    }
    figures: dict[str, Any] = {
        "payloads_in_corpus": total,
        "payloads_by_field": fields,
        "payloads_refused_by_every_field": sum(1 for r in packing.refused if set(r) == set(FIELDS)),
        "articles": len(packing.articles),
        "rich_articles": packing.rich,
        "pages_loaded_per_header_variant": pages,
        "frame_loads_with_headers": sum(1 for v in loads if v.headers),
        "frame_loads_without_headers": sum(1 for v in loads if not v.headers),
        "top_level_loads_with_exact_headers": len(run.top),
        "dialogs": sum(len(dialogs(v)) for v in everything),
        "script_executions": sum(len(v.executed) for v in everything),
        "cross_origin_requests": sum(len(outside(run, v.path, v.foreign)) for v in loads)
        + sum(len(outside(run, v.url, v.foreign)) for v in run.top),
        "body_images_from_other_origins": {
            "requested_with_headers": sum(len(v.foreign) for v in loads if v.headers),
            "requested_without_headers": sum(len(v.foreign) for v in loads if not v.headers),
            "refused_by_the_csp": sum(1 for v in loads for x in v.violations if x.startswith("img-src")),
            "addresses": sorted({r.split(" ", 1)[1] for v in loads for r in v.foreign}),
        },
        "csp_violations": sum(len(v.violations) for v in everything),
        "csp_violations_by_directive": Counter(x.split(" ")[0] for v in everything for x in v.violations),
        "controls": controls,
        "control_payload_put_in_unescaped": run.raw_payload,
        "seconds": {k: round(v, 1) for k, v in run.seconds.items()},
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "every-payload.json").write_text(json.dumps(figures, indent=2) + "\n")
    with capsys.disabled():
        print(
            f"\nevery payload in Chromium: {total} payloads; published per field "
            + ", ".join(f"{k} {v['published']}" for k, v in fields.items())
            + "; refused per field "
            + ", ".join(f"{k} {v['refused_by_the_field']}" for k, v in fields.items())
            + f"; {len(packing.articles)} articles; {sum(pages.values())} pages a variant "
            f"({figures['frame_loads_with_headers']} frame loads with headers, "
            f"{figures['frame_loads_without_headers']} without, {len(run.top)} top-level); "
            f"{figures['dialogs']} dialogs, {figures['script_executions']} script executions, "
            f"{figures['cross_origin_requests']} cross-origin requests; "
            f"{run.seconds['total']:.0f} s (frames {run.seconds['frames']:.0f} s)"
        )
