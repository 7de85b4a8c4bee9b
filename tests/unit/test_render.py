"""Rendering: pages as readers see them, the same bytes every time, and no text ever becomes markup."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from broadsheet.build import load_content
from broadsheet.clock import now as clock_now
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import ArticlePage, Listing, StaticPage, all_pages
from broadsheet.render.html import HTML, Output, display_time, render_page, stylesheet
from broadsheet.settings import Settings
from tests.unit.conftest import CORPORA
from tests.unit.fakes import Element, elements, make_article, select

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SOURCE = {"name": "Russia Direct", "url": "https://www.russia-direct.org/analysis/kerry-putin"}


def indexed(settings: Settings, *articles: Article) -> MemoryIndex:
    index = MemoryIndex(clock_now(settings))
    for article in articles:
        index.add_article(article)
    return index


def html(page: Any, index: MemoryIndex, settings: Settings) -> bytes:
    output = render_page(page, index, settings)
    assert output is not None, page
    return output.body


def one(found: list[Element]) -> Element:
    assert len(found) == 1, found
    return found[0]


def item_links(body: bytes) -> list[str]:
    """The article links of a listing page's items, in page order."""
    return [a.attrs["href"] for a in select(body, "a") if a.attrs.get("href", "").startswith("/articles/")]


def pagination(body: bytes) -> dict[str, str]:
    """The pagination links of a listing page: link text to target."""
    found = {}
    for link in elements(body):
        if link.tag == "a" and link.attrs.get("rel") in {"prev", "next"}:
            found[link.text.strip()] = link.attrs["href"]
    return found


def every_page(content_dir: Path, settings: Settings, reverse: bool = False) -> dict[str, bytes]:
    index, _ = load_content(content_dir, settings)
    if reverse:
        # The same articles, indexed in the opposite order.
        again = MemoryIndex(clock_now(settings))
        for held in reversed(index.articles()):
            again.add_article(held.article)
        for held in index.articles():
            for slug in held.article.author_slugs:
                profile = index.get_profile(slug)
                if profile:
                    again.add_profile(slug, profile)
        index = again
    outputs: dict[str, bytes] = {}
    for page in all_pages(index, settings.page_size):
        output = render_page(page, index, settings)
        if output is not None:
            outputs[output.key] = output.body
    return outputs


# -- determinism -----------------------------------------------------------------------------


def test_rendering_the_same_content_twice_gives_the_same_bytes(
    sample_content: Path, settings: Settings
) -> None:
    first = every_page(sample_content, settings)
    assert len(first) > 50
    assert every_page(sample_content, settings) == first


def test_the_order_articles_were_indexed_in_does_not_change_a_byte(
    sample_content: Path, settings: Settings
) -> None:
    assert every_page(sample_content, settings, reverse=True) == every_page(sample_content, settings)


def test_rendering_carries_no_build_time(sample_content: Path) -> None:
    early = Settings(site_url="http://example.test", page_size=3, now="2026-01-01T00:00:00Z")
    late = Settings(site_url="http://example.test", page_size=3, now="2027-06-30T12:00:00Z")
    # Every sample article is live at both times: only a clock leaking into output could differ.
    assert every_page(sample_content, early) == every_page(sample_content, late)


# -- the article page ------------------------------------------------------------------------


@pytest.fixture
def syndicated(settings: Settings) -> bytes:
    article = make_article(
        "review-of-the-week",
        title="Review of the week: Kerry in Moscow",
        teaser="The US Secretary of State met Vladimir Putin.",
        authors=["Gevorg Mirzayan", "Zoë Marchetti", "Marcus Hale"],
        published_at="2015-12-21T22:00:00+03:00",
        updated_at="2015-12-22T09:15:00+03:00",
        section="foreign-policy",
        tags=["United States", "Syria"],
        source=SOURCE,
    )
    return html(ArticlePage(article.slug), indexed(settings, article), settings)


def test_article_page_shows_title_and_teaser(syndicated: bytes) -> None:
    assert one(select(syndicated, "h1")).text == "Review of the week: Kerry in Moscow"
    assert one(select(syndicated, "p", "standfirst")).text == "The US Secretary of State met Vladimir Putin."
    assert one(select(syndicated, "title")).text == "Review of the week: Kerry in Moscow"


def test_article_page_links_every_author_to_their_page(syndicated: bytes) -> None:
    byline = one(select(syndicated, "p", "byline"))
    assert " ".join(byline.text.split()) == "By Gevorg Mirzayan, Zoë Marchetti and Marcus Hale"
    links = [(a.text, a.attrs["href"]) for a in elements(syndicated) if a.attrs.get("rel") == "author"]
    assert links == [
        ("Gevorg Mirzayan", "/authors/gevorg-mirzayan/"),
        ("Zoë Marchetti", "/authors/zoe-marchetti/"),
        ("Marcus Hale", "/authors/marcus-hale/"),
    ]


def test_article_date_is_shown_in_the_article_s_own_offset(syndicated: bytes) -> None:
    published = one([t for t in select(syndicated, "time") if t.attrs.get("itemprop") == "datePublished"])
    assert published.text == "21 December 2015 | 22:00"
    assert published.attrs["datetime"] == "2015-12-21T22:00:00+03:00"
    updated = one([t for t in select(syndicated, "time") if t.attrs.get("itemprop") == "dateModified"])
    assert updated.text == "22 December 2015 | 09:15"


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        ("2015-12-21T22:00:00+03:00", "21 December 2015 | 22:00"),
        ("2015-12-21T19:00:00Z", "21 December 2015 | 19:00"),
        ("2016-01-05T00:05:00-05:00", "5 January 2016 | 00:05"),
    ],
)
def test_display_time_keeps_the_offset_it_is_given(moment: str, shown: str) -> None:
    assert display_time(datetime.fromisoformat(moment)) == shown


def test_syndicated_article_links_to_its_source(syndicated: bytes) -> None:
    link = one(select(syndicated, "a", "source-link"))
    assert link.text == "Continue reading at Russia Direct"
    assert link.attrs["href"] == SOURCE["url"]


def test_article_without_source_has_no_continue_reading_link(settings: Settings) -> None:
    article = make_article("own-reporting")
    body = html(ArticlePage(article.slug), indexed(settings, article), settings)
    assert select(body, "a", "source-link") == []
    assert b"Continue reading" not in body


def test_article_page_links_its_section_and_tags(syndicated: bytes) -> None:
    kicker = one(select(syndicated, "p", "kicker"))
    assert kicker.text.strip() == "Foreign policy"
    tags = [(a.text, a.attrs["href"]) for a in select(syndicated, "a") if a.attrs.get("rel") == "tag"]
    assert tags == [("United States", "/tags/united-states/"), ("Syria", "/tags/syria/")]


def test_article_page_uses_the_hashed_stylesheet_and_its_canonical_url(syndicated: bytes) -> None:
    css = one([e for e in select(syndicated, "link") if e.attrs.get("rel") == "stylesheet"])
    assert css.attrs["href"] == "/" + stylesheet().key
    canonical = one([e for e in select(syndicated, "link") if e.attrs.get("rel") == "canonical"])
    assert canonical.attrs["href"] == "http://example.test/articles/review-of-the-week/"


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "draft"},
        {"published_at": "2026-01-01T00:00:01Z"},  # one second after the settings' clock
        {"published_at": "2025-06-01T00:00:00Z", "expires_at": "2025-12-31T23:59:59Z"},
    ],
    ids=["draft", "embargoed", "expired"],
)
def test_articles_readers_may_not_see_render_nothing(settings: Settings, changes: dict[str, str]) -> None:
    article = make_article("not-yet", **changes)
    index = indexed(settings, article)
    assert render_page(ArticlePage("not-yet"), index, settings) is None
    assert b"not-yet" not in html(Listing("home").page(0), index, settings)


def test_an_embargoed_article_renders_once_the_clock_passes_its_time(settings: Settings) -> None:
    article = make_article("embargoed", published_at="2026-01-01T00:00:01Z")
    later = settings.model_copy(update={"now": "2026-01-01T00:00:01Z"})
    assert render_page(ArticlePage("embargoed"), indexed(later, article), later) is not None


def test_an_article_the_index_does_not_hold_renders_nothing(settings: Settings) -> None:
    assert render_page(ArticlePage("missing"), indexed(settings), settings) is None


# -- listings --------------------------------------------------------------------------------


def test_listing_shows_newest_first_with_ties_ordered_by_slug(settings: Settings) -> None:
    wide = settings.model_copy(update={"page_size": 10})
    articles = [
        make_article("oldest", published_at="2015-12-20T10:00:00Z"),
        make_article("tie-b", published_at="2015-12-21T22:00:00+03:00"),
        make_article("tie-a", published_at="2015-12-21T19:00:00Z"),  # the same instant
        make_article("tie-c", published_at="2015-12-21T14:00:00-05:00"),  # and again
        make_article("newest", published_at="2015-12-22T08:00:00Z"),
    ]
    expected = ["newest", "tie-c", "tie-b", "tie-a", "oldest"]
    for order in (articles, list(reversed(articles))):
        body = html(Listing("home").page(0), indexed(wide, *order), wide)
        assert item_links(body) == [f"/articles/{slug}/" for slug in expected]


def test_listing_item_shows_date_title_teaser_and_linked_authors(settings: Settings) -> None:
    article = make_article(
        "kerry-putin",
        title="Kerry meets Putin",
        teaser="Talks in the Kremlin.",
        authors=["Gevorg Mirzayan", "Dmitriy Ofitserov-Belskiy"],
        published_at="2015-12-21T22:00:00+03:00",
    )
    body = html(Listing("author", "gevorg-mirzayan").page(0), indexed(settings, article), settings)
    item = one(select(body, "article", "item"))
    assert "Kerry meets Putin" in item.text and "Talks in the Kremlin." in item.text
    assert one(select(body, "p", "item-date")).text == "21 December 2015 | 22:00"
    byline = [
        (a.text, a.attrs["href"])
        for a in select(body, "a")
        # The breadcrumb's last link is the page itself, not a byline.
        if a.attrs["href"].startswith("/authors/") and a.attrs.get("aria-current") != "page"
    ]
    assert byline == [
        ("Gevorg Mirzayan", "/authors/gevorg-mirzayan/"),
        ("Dmitriy Ofitserov-Belskiy", "/authors/dmitriy-ofitserov-belskiy/"),
    ]
    assert one(select(body, "h1")).text == "Gevorg Mirzayan"


def test_author_page_shows_the_profile(settings: Settings) -> None:
    index = indexed(settings, make_article("kerry-putin", authors=["Gevorg Mirzayan"]))
    index.add_profile(
        "gevorg-mirzayan",
        AuthorProfile(name="Gevorg Mirzayan", bio="A political scientist.", url="https://example.org/gm"),
    )
    body = html(Listing("author", "gevorg-mirzayan").page(0), index, settings)
    assert one(select(body, "p", "intro")).text == "A political scientist."
    assert one(select(body, "p", "profile-link")).text == "Website"


def ten_articles(settings: Settings) -> MemoryIndex:
    start = datetime(2015, 12, 1, 9, tzinfo=UTC)
    return indexed(
        settings,
        *(
            make_article(f"a-{i:02d}", published_at=(start + timedelta(hours=i)).isoformat())
            for i in range(10)
        ),
    )


def test_pagination_links_on_the_first_page(settings: Settings) -> None:
    # Ten entries, three a page: /page/1/ = a-00..a-02, 2 = a-03..05, 3 = a-06..08, 4 = a-09.
    body = html(Listing("home").page(0), ten_articles(settings), settings)
    assert item_links(body) == ["/articles/a-09/", "/articles/a-08/", "/articles/a-07/"]
    assert pagination(body) == {"Next page": "/page/3/"}


def test_pagination_links_on_a_middle_page(settings: Settings) -> None:
    body = html(Listing("home").page(2), ten_articles(settings), settings)
    assert item_links(body) == ["/articles/a-05/", "/articles/a-04/", "/articles/a-03/"]
    assert pagination(body) == {"Previous page": "/page/3/", "Next page": "/page/1/"}


def test_pagination_links_on_the_oldest_page(settings: Settings) -> None:
    body = html(Listing("home").page(1), ten_articles(settings), settings)
    assert item_links(body) == ["/articles/a-02/", "/articles/a-01/", "/articles/a-00/"]
    assert pagination(body) == {"Previous page": "/page/2/"}


def test_pagination_links_on_the_newest_numbered_page(settings: Settings) -> None:
    body = html(Listing("home").page(4), ten_articles(settings), settings)
    assert item_links(body) == ["/articles/a-09/"]
    assert pagination(body) == {"Previous page": "/", "Next page": "/page/3/"}


def test_pages_past_the_end_render_nothing(settings: Settings) -> None:
    index = ten_articles(settings)
    assert render_page(Listing("home").page(5), index, settings) is None
    assert render_page(Listing("tag", "nothing-here").page(0), index, settings) is None
    assert render_page(Listing("author", "nobody").page(1), index, settings) is None


def test_an_empty_home_page_still_renders(settings: Settings) -> None:
    body = html(Listing("home").page(0), indexed(settings), settings)
    assert one(select(body, "p", "empty")).text == "No articles here yet."
    assert pagination(body) == {}


@pytest.mark.parametrize("total", range(14))
def test_following_next_page_from_the_front_reaches_every_article(settings: Settings, total: int) -> None:
    start = datetime(2015, 12, 1, 9, tzinfo=UTC)
    articles = [
        make_article(f"a-{i:02d}", published_at=(start + timedelta(hours=i)).isoformat())
        for i in range(total)
    ]
    index = indexed(settings, *articles)
    path_to_page = {Listing("home").page(n).path: Listing("home").page(n) for n in range(6)}
    seen: list[str] = []
    page = Listing("home").page(0)
    for _ in range(10):
        body = html(page, index, settings)
        links = item_links(body)
        assert links == sorted(links, reverse=True)  # newest first on every page
        seen += links
        target = pagination(body).get("Next page")
        if target is None:
            break
        page = path_to_page[target]
    assert set(seen) == {f"/articles/{a.slug}/" for a in articles}


# -- escaping --------------------------------------------------------------------------------


def hostile(settings: Settings) -> MemoryIndex:
    article = make_article(
        "hostile",
        title=SCRIPT + BREAKOUT,
        teaser=BREAKOUT + SCRIPT,
        authors=[SCRIPT, BREAKOUT + " Smith"],
        tags=[SCRIPT, BREAKOUT],
        source={"name": BREAKOUT + SCRIPT, "url": "https://example.org/a?q=%22%3E"},
        body="Plain text.",
    )
    index = indexed(settings, article)
    index.add_profile(article.author_slugs[0], AuthorProfile(name=SCRIPT, bio=BREAKOUT + SCRIPT))
    return index


def test_text_fields_are_escaped_everywhere_they_appear(settings: Settings) -> None:
    index = hostile(settings)
    held = index.get_article("hostile")
    assert held is not None
    pages = [
        ArticlePage("hostile"),
        Listing("home").page(0),
        Listing("home").page(1),
        *(Listing("author", slug).page(0) for slug in held.article.author_slugs),
        *(Listing("tag", slug).page(0) for slug in held.article.tag_slugs),
        Listing("month", "2015-12").page(0),
    ]
    for page in pages:
        body = html(page, index, settings)
        # Structured data is the one script element, a JSON data block that holds no markup at all.
        data_blocks = re.findall(rb'<script type="application/ld\+json">(.*?)</script>', body, re.S)
        assert all(b"<" not in block for block in data_blocks), page
        lowered = re.sub(rb'<script type="application/ld\+json">.*?</script>', b"", body, flags=re.S).lower()
        assert b"<script" not in lowered and b"<img" not in lowered, page
        for element in elements(body):
            if element.tag == "script":
                assert element.attrs == {"type": "application/ld+json"}, (page, element)
            assert element.tag not in {"img", "iframe", "svg"}, (page, element)
            assert not [name for name in element.attrs if name.startswith("on")], (page, element)
    # Escaped, not dropped: readers see the text exactly as the editor wrote it.
    article = html(ArticlePage("hostile"), index, settings)
    assert one(select(article, "h1")).text == SCRIPT + BREAKOUT
    assert one(select(article, "p", "standfirst")).text == BREAKOUT + SCRIPT
    description = one([m for m in select(article, "meta") if m.attrs.get("name") == "description"])
    assert description.attrs["content"] == BREAKOUT + SCRIPT
    assert one(select(article, "a", "source-link")).text == "Continue reading at " + BREAKOUT + SCRIPT
    author = html(Listing("author", held.article.author_slugs[0]).page(0), index, settings)
    assert one(select(author, "p", "intro")).text == BREAKOUT + SCRIPT


def test_naughty_strings_reach_readers_as_exactly_the_text_written(settings: Settings) -> None:
    path = CORPORA / "blns" / "blns.json"
    if not path.exists():
        pytest.skip("the big list of naughty strings is not available")
    strings = [str(s) for s in json.loads(path.read_text())][::8]
    index = indexed(settings)
    accepted: dict[str, str] = {}
    for number, text in enumerate(strings):
        try:
            index.add_article(make_article(f"naughty-{number}", title=text, teaser=text))
        except ValidationError:
            continue  # the contract refuses it (blank, control characters): nothing to render
        accepted[f"naughty-{number}"] = text
    assert len(accepted) > 40
    for slug, text in accepted.items():
        body = html(ArticlePage(slug), index, settings)
        assert one(select(body, "h1")).text == text
        assert one(select(body, "p", "standfirst")).text == text


def test_article_without_section_has_no_section_kicker(settings: Settings) -> None:
    body = html(ArticlePage("hostile"), hostile(settings), settings)
    assert select(body, "p", "kicker") == []


# -- static pages ----------------------------------------------------------------------------


def test_stylesheet_is_named_after_its_content_hash() -> None:
    output = render_page(StaticPage("asset:site.css"), MemoryIndex(datetime.now(UTC)), Settings())
    assert isinstance(output, Output)
    assert re.fullmatch(r"assets/site\.[0-9a-f]{12}\.css", output.key)
    assert "immutable" in output.cache_control
    assert output.body.startswith(b"/*")


def test_not_found_page_is_served_briefly_cached_and_stays_crawlable(settings: Settings) -> None:
    output = render_page(StaticPage("404"), indexed(settings), settings)
    assert output is not None
    assert output.key == "404.html" and output.content_type == HTML
    assert "s-maxage=10" in output.cache_control
    # Missing pages answer with status 404, which keeps them out of search engines; the page at
    # /404.html itself carries no robots directive.
    assert [m for m in select(output.body, "meta") if m.attrs.get("name") == "robots"] == []
