"""Every page type held to the bar of a real browser, and the feeds and sitemaps to their specs.

On the session's local stack with the sample content: axe-core finds no violation, Lighthouse
(default mobile profile: simulated slow 4G and a 4x slower CPU) scores at least 0.98 in
performance, accessibility, best practices and SEO, the Nu HTML Checker finds no error; the
Atom and RSS feeds parse cleanly with feedparser, the JSON Feeds validate against JSON Feed 1.1,
the sitemaps against the sitemaps.org XSDs (tests/e2e/schemas). Screenshots of each page type at
phone and desktop width are written to docs/screenshots/ for the README."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
from playwright.sync_api import Browser, BrowserContext

from broadsheet.contract.fields import slugify
from broadsheet_dev.local.runtime import LocalStack
from tests.e2e.quality import (
    PAGE_TYPES,
    PageType,
    Response,
    audit_with_lighthouse,
    describe_axe,
    describe_lighthouse,
    describe_vnu,
    fetch,
    json_feed_errors,
    lighthouse_scores,
    missing_tools,
    run_axe,
    run_vnu,
    vnu_errors,
    vnu_warnings,
    xml_root,
    xsd_errors,
)
from tests.support import CLOCK, ROOT, SAMPLES, Editor, sample_images

# Lighthouse measures performance: this module runs in a pytest process of its own with nothing
# beside it (`-m alone`, the last stage of `make test`); beside the every-payload sweep's two
# Chromiums its Total Blocking Time tripled.
pytestmark = [pytest.mark.e2e, pytest.mark.alone]

SCREENSHOTS = ROOT / "docs" / "screenshots"
REPORTS = ROOT / "test-artifacts" / "quality"
PHONE, DESKTOP = 390, 1280
# A phone screenshot is the whole page, cut at this height to keep the files small.
PHONE_MAX_HEIGHT = 2000
MIN_SCORE = 0.98
# An upper bound on waiting for the pipeline to drain (a condition, not a sleep): publishing all
# the samples takes minutes on a loaded two-core machine.
DRAIN_TIMEOUT = 600
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
KERRY = "articles/review-of-the-week-kerry-putin.json"
ARTICLE_PATH = re.compile(r"/articles/([a-z0-9]+(?:-[a-z0-9]+)*)/")
PAGE_IDS = [page.name for page in PAGE_TYPES]


def load_samples() -> dict[str, dict[str, Any]]:
    """The sample articles by slug, as the editor uploads them."""
    return {path.stem: json.loads(path.read_text()) for path in sorted((SAMPLES / "articles").glob("*.json"))}


SAMPLE_ARTICLES = load_samples()
AUTHOR_SLUGS = sorted({slugify(name) for doc in SAMPLE_ARTICLES.values() for name in doc["authors"]})
SECTIONS = sorted({doc["section"] for doc in SAMPLE_ARTICLES.values() if doc.get("section")})
# Every listing that has feeds: the site, each author, each section.
FEED_LISTINGS = ["/"] + [f"/authors/{a}/" for a in AUTHOR_SLUGS] + [f"/sections/{s}/" for s in SECTIONS]
XML_FEEDS = [f"{listing}{name}" for listing in FEED_LISTINGS for name in ("feed.xml", "rss.xml")]
JSON_FEEDS = [f"{listing}feed.json" for listing in FEED_LISTINGS]


# -- the site under test ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(stack: LocalStack) -> str:
    """The edge's base URL, serving exactly the sample content (whatever ran on the stack before)."""
    missing = missing_tools()
    assert not missing, f"not installed: {missing}; run scripts/ensure-quality-tools (make test does)"
    editor = Editor(stack)
    samples = {f"{path.parent.name}/{path.name}" for path in SAMPLES.glob("*/*.json")}
    samples |= {f"media/{path.name}" for path in sample_images()}
    for key in editor.content_files():
        if key not in samples:
            editor.delete(key)
    editor.publish_media()
    editor.publish_samples()
    stack.render_static_pages()
    stack.wait_drained(timeout=DRAIN_TIMEOUT)
    assert stack.edge is not None
    return stack.edge.url.rstrip("/")


@pytest.fixture(scope="module")
def contexts(browser: Browser) -> Iterator[dict[int, BrowserContext]]:
    """A phone-width and a desktop-width reader, light mode, under the site's real CSP."""
    made = {
        width: browser.new_context(
            viewport={"width": width, "height": 844 if width == PHONE else 800},
            device_scale_factor=1,
            color_scheme="light",
            reduced_motion="reduce",
        )
        for width in (PHONE, DESKTOP)
    }
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(scope="module")
def html(site: str) -> dict[str, Response]:
    """Each page type's response, fetched once."""
    return {page.name: fetch(site + page.path) for page in PAGE_TYPES}


@pytest.fixture(scope="module")
def vnu_messages(html: dict[str, Response], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Nu HTML Checker's messages for every page type, from one run over all of them."""
    folder = tmp_path_factory.mktemp("vnu")
    files = []
    for name, response in html.items():
        path = folder / f"{name}.html"
        path.write_bytes(response.body)
        files.append(path)
    return run_vnu(files)


def assert_served(response: Response, page: PageType) -> None:
    assert response.status == 200, f"{page.path} answered {response.status}: the page is not rendered"
    assert response.headers.get("content-type", "").startswith("text/html")


# -- the pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGE_TYPES, ids=PAGE_IDS)
def test_screenshots_at_phone_and_desktop_width_are_written(
    site: str, contexts: dict[int, BrowserContext], page: PageType
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, context in contexts.items():
        tab = context.new_page()
        try:
            tab.goto(site + page.path, wait_until="load")
            target = SCREENSHOTS / f"{page.name}-{width}.png"
            if width == PHONE:
                height = min(PHONE_MAX_HEIGHT, int(tab.evaluate("document.documentElement.scrollHeight")))
                tab.screenshot(
                    path=target, full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height}
                )
            else:
                tab.screenshot(path=target)
        finally:
            tab.close()
        assert target.stat().st_size > 0


# What the lead image of an article may weigh on a phone 390 px wide, in the format it picks.
PHONE_LEAD_LIMIT = 60 * 1024


@pytest.mark.parametrize("scale", [1, 1.75, 3])
def test_a_phone_downloads_a_small_modern_lead_image_with_its_room_reserved(
    site: str, browser: Browser, scale: float
) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 844}, device_scale_factor=scale)
    tab = context.new_page()
    try:
        tab.goto(site + "/" + KERRY.removesuffix(".json") + "/", wait_until="load")
        lead = tab.locator(".lead-figure img")
        source = str(lead.evaluate("img => img.currentSrc"))
        attributes = [lead.get_attribute(name) for name in ("width", "height", "fetchpriority", "loading")]
    finally:
        context.close()
    assert source.endswith(".avif"), source
    assert all(attributes[:2]) and attributes[2:] == ["high", "eager"]
    size = len(fetch(source).body)
    assert size <= PHONE_LEAD_LIMIT, f"{source} is {size:,} bytes"


@pytest.mark.parametrize("page", PAGE_TYPES, ids=PAGE_IDS)
def test_axe_finds_no_violations(
    site: str, contexts: dict[int, BrowserContext], html: dict[str, Response], page: PageType
) -> None:
    assert_served(html[page.name], page)
    found = {}
    for width, context in contexts.items():
        tab = context.new_page()
        try:
            tab.goto(site + page.path, wait_until="load")
            found[width] = run_axe(tab)
        finally:
            tab.close()
    report = "\n".join(f"at {width}px:\n{describe_axe(v)}" for width, v in found.items() if v)
    assert not any(found.values()), f"axe-core on {page.path}:\n{report}"


@pytest.mark.parametrize("page", PAGE_TYPES, ids=PAGE_IDS)
def test_lighthouse_scores_at_least_98_in_every_category(
    site: str, html: dict[str, Response], page: PageType
) -> None:
    assert_served(html[page.name], page)
    report = audit_with_lighthouse(site + page.path, REPORTS, page.name, MIN_SCORE)
    scores = lighthouse_scores(report)
    print(f"Lighthouse {page.path}: {scores}")
    low = {key: score for key, score in scores.items() if score < MIN_SCORE}
    assert not low, f"Lighthouse on {page.path} below {MIN_SCORE}:\n{describe_lighthouse(report)}"


@pytest.mark.parametrize("page", PAGE_TYPES, ids=PAGE_IDS)
def test_nu_html_checker_finds_no_errors(
    html: dict[str, Response], vnu_messages: dict[str, Any], page: PageType
) -> None:
    assert_served(html[page.name], page)
    messages = vnu_messages[f"{page.name}.html"]
    warnings = vnu_warnings(messages)
    if warnings:
        print(f"Nu HTML Checker warnings on {page.path}:\n{describe_vnu(warnings)}")
    errors = vnu_errors(messages)
    assert not errors, f"Nu HTML Checker on {page.path}:\n{describe_vnu(errors)}"


def test_an_unknown_url_answers_404_with_the_not_found_page(site: str, html: dict[str, Response]) -> None:
    missing = fetch(site + "/no-such-page/")
    assert missing.status == 404
    assert missing.headers.get("content-type", "").startswith("text/html")
    assert missing.body == html["404"].body


# -- feeds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedFetches:
    """Every feed fetched, then fetched again after an article in all of them was updated."""

    before: dict[str, Response]
    after: dict[str, Response]


@pytest.fixture(scope="module")
def feeds(site: str, stack: LocalStack) -> FeedFetches:
    paths = XML_FEEDS + JSON_FEEDS
    before = {path: fetch(site + path) for path in paths}
    # A correction to an article that is in the site's, its authors' and its section's feeds.
    editor = Editor(stack)
    original = SAMPLE_ARTICLES[Path(KERRY).stem]
    editor.put_json(KERRY, original | {"updated_at": "2015-12-23T09:00:00+03:00", "teaser": "Corrected."})
    stack.wait_drained(timeout=DRAIN_TIMEOUT)
    after = {path: fetch(site + path) for path in paths}
    editor.put_json(KERRY, original)
    stack.wait_drained(timeout=DRAIN_TIMEOUT)
    return FeedFetches(before, after)


def article_slug(link: str) -> str:
    match = ARTICLE_PATH.fullmatch(urlsplit(link).path)
    assert match, f"{link} is not an article URL"
    return match.group(1)


def listing_expects(listing: str, slug: str) -> bool:
    """Whether the sample article `slug` belongs in the listing whose feed this is."""
    doc = SAMPLE_ARTICLES[slug]
    kind, _, key = listing.strip("/").partition("/")
    if kind == "authors":
        return key in {slugify(name) for name in doc["authors"]}
    if kind == "sections":
        return bool(doc.get("section") == key)
    return True


@pytest.mark.parametrize("path", XML_FEEDS)
def test_atom_and_rss_feeds_parse_cleanly_with_every_author_and_stable_ids(
    site: str, feeds: FeedFetches, path: str
) -> None:
    response = feeds.before[path]
    assert response.status == 200, f"{path} answered {response.status}: the feed is not rendered"
    parsed = feedparser.parse(response.body)
    assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')!r}"
    expected_version = "atom10" if path.endswith("feed.xml") else "rss20"
    assert parsed.version == expected_version
    assert parsed.entries, f"{path} has no entries"
    listing = path.rsplit("/", 1)[0] + "/"
    for entry in parsed.entries:
        assert entry.get("title"), f"{path}: an entry without a title"
        assert str(entry.get("link", "")).startswith(site + "/articles/"), f"{path}: {entry.get('link')}"
        slug = article_slug(entry.link)
        assert listing_expects(listing, slug), f"{path} lists {slug}, which is not in that listing"
        assert entry.get("published_parsed") or entry.get("updated_parsed"), f"{path}: {slug} has no date"
        names = [author.get("name") for author in entry.get("authors", [])]
        assert names == SAMPLE_ARTICLES[slug]["authors"], f"{path}: {slug} names {names}"
        assert entry.get("id"), f"{path}: {slug} has no id"
    ids = [entry.id for entry in parsed.entries]
    assert len(set(ids)) == len(ids), f"{path}: repeated ids {ids}"

    again = feedparser.parse(feeds.after[path].body)
    assert not again.bozo, f"{path} after an update: {again.get('bozo_exception')!r}"
    assert [entry.id for entry in again.entries] == ids, f"{path}: ids changed when an article was updated"


@pytest.mark.parametrize("path", JSON_FEEDS)
def test_json_feeds_validate_against_json_feed_1_1_with_stable_ids(
    site: str, feeds: FeedFetches, path: str
) -> None:
    response = feeds.before[path]
    assert response.status == 200, f"{path} answered {response.status}: the feed is not rendered"
    errors = json_feed_errors(response.body)
    assert not errors, f"{path} against JSON Feed 1.1:\n" + "\n".join(errors)
    feed = json.loads(response.body)
    assert feed["items"], f"{path} has no items"
    listing = path.rsplit("/", 1)[0] + "/"
    for item in feed["items"]:
        slug = article_slug(item.get("url", ""))
        assert listing_expects(listing, slug), f"{path} lists {slug}, which is not in that listing"
        assert item.get("title") and item.get("date_published"), f"{path}: {slug} lacks a title or date"
        names = [author.get("name") for author in item.get("authors", [])]
        assert names == SAMPLE_ARTICLES[slug]["authors"], f"{path}: {slug} names {names}"
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids), f"{path}: repeated ids {ids}"
    assert not json_feed_errors(feeds.after[path].body)
    assert [item["id"] for item in json.loads(feeds.after[path].body)["items"]] == ids, (
        f"{path}: ids changed when an article was updated"
    )


# -- search engines --------------------------------------------------------------------------


def sitemap_locs(document: bytes) -> list[str]:
    """Every <loc> of a sitemap or sitemap index, in order."""
    return [str(loc.text).strip() for loc in xml_root(document).iter(f"{{{SITEMAP_NS}}}loc")]


def test_sitemap_index_and_every_shard_validate_and_list_every_article(site: str) -> None:
    index = fetch(site + "/sitemap.xml")
    assert index.status == 200, f"/sitemap.xml answered {index.status}"
    errors = xsd_errors(index.body, "siteindex.xsd")
    assert not errors, "/sitemap.xml against siteindex.xsd:\n" + "\n".join(errors)
    shards = [loc for loc in sitemap_locs(index.body) if loc != f"{site}/news-sitemap.xml"]
    assert shards
    listed: list[str] = []
    for shard in shards:
        assert re.fullmatch(re.escape(site) + r"/sitemaps/\d{4}-(0[1-9]|1[0-2])\.xml", shard), shard
        response = fetch(shard)
        assert response.status == 200, f"{shard} answered {response.status}"
        errors = xsd_errors(response.body, "sitemap.xsd")
        assert not errors, f"{shard} against sitemap.xsd:\n" + "\n".join(errors)
        listed += sitemap_locs(response.body)
    articles = sorted(f"{site}/articles/{slug}/" for slug in SAMPLE_ARTICLES)
    assert sorted(url for url in listed if "/articles/" in url) == articles


def assert_news_sitemap_is_valid_or_absent(site: str) -> Response:
    """The news sitemap validates (sitemap.xsd with the news extension) and the sitemap index
    names it; or, with no article of the last two days to list, it does not exist and the index
    does not name it (a sitemap without a <url> is not valid)."""
    news = fetch(site + "/news-sitemap.xml")
    named = f"{site}/news-sitemap.xml" in sitemap_locs(fetch(site + "/sitemap.xml").body)
    if news.status == 404:
        assert not named, "the sitemap index names a news sitemap that does not exist"
        return news
    assert news.status == 200, f"/news-sitemap.xml answered {news.status}"
    errors = xsd_errors(news.body, "news-sitemap.xsd")
    assert not errors, "/news-sitemap.xml against sitemap.xsd + sitemap-news.xsd:\n" + "\n".join(errors)
    assert named, "the sitemap index does not name the news sitemap"
    return news


def test_news_sitemap_lists_the_last_two_days_and_validates_with_the_news_extension(
    site: str, stack: LocalStack
) -> None:
    # The samples are years old: the news sitemap lists none of them.
    quiet = assert_news_sitemap_is_valid_or_absent(site)
    assert quiet.status == 404 or not xml_root(quiet.body).findall(f"{{{SITEMAP_NS}}}url")

    editor = Editor(stack)
    key = "articles/fresh-from-the-newsroom.json"
    published = datetime.fromisoformat(CLOCK.replace("Z", "+00:00")) - timedelta(hours=1)
    fresh = SAMPLE_ARTICLES["syria-ceasefire-first-days"] | {
        "title": "Fresh from the newsroom",
        "published_at": published.isoformat(),
    }
    editor.put_json(key, fresh)
    stack.wait_drained(timeout=DRAIN_TIMEOUT)
    try:
        news = assert_news_sitemap_is_valid_or_absent(site)
        assert news.status == 200, "an article of the last hour is not in a news sitemap"
        urls = xml_root(news.body).findall(f"{{{SITEMAP_NS}}}url")
        listed = [u.findtext(f"{{{SITEMAP_NS}}}loc") for u in urls]
        assert listed == [f"{site}/articles/fresh-from-the-newsroom/"]
        news_ns = f"{{{NEWS_NS}}}"
        assert urls[0].findtext(f"{news_ns}news/{news_ns}title") == "Fresh from the newsroom"
        assert urls[0].findtext(f"{news_ns}news/{news_ns}publication/{news_ns}name")
    finally:
        editor.delete(key)
        stack.wait_drained(timeout=DRAIN_TIMEOUT)
    gone = assert_news_sitemap_is_valid_or_absent(site)
    assert gone.status == 404 or not xml_root(gone.body).findall(f"{{{SITEMAP_NS}}}url")


def test_robots_txt_names_the_sitemap_index(site: str) -> None:
    robots = fetch(site + "/robots.txt")
    assert robots.status == 200, f"/robots.txt answered {robots.status}"
    assert robots.headers.get("content-type", "").startswith("text/plain")
    lines = [line.strip() for line in robots.body.decode().splitlines()]
    sitemaps = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("sitemap:")]
    assert f"{site}/sitemap.xml" in sitemaps
