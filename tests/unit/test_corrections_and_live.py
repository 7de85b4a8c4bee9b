"""Corrections and live coverage: the contract's messages, what pages and feeds show, the
structured data, and the pages a correction, an update or the live flag's flip plan.

A correction or a live update changes nothing listings show, so it re-renders the article page and
the feeds that carry it; only a change listings show (title, teaser, the live flag…) plans them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from broadsheet.contract.fields import MAX_BODY_BYTES
from broadsheet.contract.models import Article
from broadsheet.index.entries import listed_digest
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import ArticlePage, FeedPage, Listing
from broadsheet.plan import ArticleState, plan_article
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.unit.fakes import article_doc, make_article

PUBLISHED = "2015-12-21T22:00:00+03:00"
CORRECTION = {"at": "2015-12-22T10:15:00+03:00", "text": "An earlier version misnamed the minister."}
UPDATES: list[dict[str, Any]] = [
    {"at": "2015-12-21T22:05:00+03:00", "text": "Talks *began* at noon."},
    {"at": "2015-12-21T23:30:00+03:00", "text": "A statement is expected.", "authors": ["Bob Reporter"]},
]
HOME_FEEDS = {"feed:home:atom", "feed:home:rss", "feed:home:json"}
AUTHOR_FEEDS = {"feed:author:anna-writer:atom", "feed:author:anna-writer:rss", "feed:author:anna-writer:json"}


def errors(**changes: Any) -> list[tuple[str, str]]:
    """(field path, message) of every error the article file with `changes` gets."""
    with pytest.raises(ValidationError) as caught:
        Article.model_validate({**article_doc("story", **changes), "slug": "story"})
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


def page_of(article: Article, settings: Settings, *others: Article) -> str:
    index = MemoryIndex(datetime(2026, 1, 1, tzinfo=UTC))
    for each in (article, *others):
        index.add_article(each)
    output = render_page(ArticlePage(article.slug), index, settings)
    assert output is not None
    return output.body.decode("utf-8")


def jsonld(html: str, kind: str) -> dict[str, Any]:
    for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S):
        data: dict[str, Any] = json.loads(block)
        if data["@type"] == kind:
            return data
    raise AssertionError(f"no {kind} in the page")


# -- the contract ---------------------------------------------------------------------------------


def test_a_correction_dated_before_publication_is_refused_with_both_dates() -> None:
    [(field, message)] = errors(corrections=[{"at": "2015-12-20T10:00:00+03:00", "text": "Fixed."}])
    assert field == "corrections"
    assert "correction 1 is dated 2015-12-20T10:00:00+03:00, before the article was published" in message


def test_a_correction_longer_than_a_thousand_characters_says_how_long_it_is() -> None:
    [(field, message)] = errors(corrections=[{"at": CORRECTION["at"], "text": "x" * 1001}])
    assert field == "corrections.0.text"
    assert "at most 1000 characters (this one has 1001)" in message


def test_a_correction_is_one_paragraph_of_plain_text() -> None:
    [(field, message)] = errors(corrections=[{"at": CORRECTION["at"], "text": "One.\n\nTwo."}])
    assert (field, message) == (
        "corrections.0.text",
        "Value error, must be a single line without control characters",
    )


def test_more_than_twenty_corrections_are_refused() -> None:
    [(field, message)] = errors(corrections=[CORRECTION] * 21)
    assert field == "corrections" and "at most 20" in message


def test_a_correction_time_needs_an_offset_like_every_time() -> None:
    [(field, message)] = errors(corrections=[{"at": "2015-12-22T10:15:00", "text": "Fixed."}])
    assert field == "corrections.0.at" and "has no time zone offset" in message


def test_the_live_flag_is_true_or_false_without_quotes() -> None:
    [(field, message)] = errors(live="yes")
    assert (field, message) == ("live", "Value error, must be true or false, without quotes, not str")


def test_updates_out_of_order_are_refused_naming_both() -> None:
    [(field, message)] = errors(updates=list(reversed(UPDATES)))
    assert field == "updates"
    assert "update 2 (2015-12-21T22:05:00+03:00) is dated before update 1" in message
    assert "oldest first" in message


def test_an_update_over_five_thousand_characters_is_refused() -> None:
    [(field, message)] = errors(updates=[{"at": UPDATES[0]["at"], "text": "y" * 5001}])
    assert field == "updates.0.text" and "at most 5000 characters" in message


def test_more_than_five_hundred_updates_are_refused() -> None:
    [(field, message)] = errors(updates=[UPDATES[0]] * 501)
    assert field == "updates" and "at most 500" in message


def test_the_body_and_the_updates_share_the_body_s_budget() -> None:
    body = "b" * (MAX_BODY_BYTES - 4000)
    [(field, message)] = errors(body=body, updates=[{"at": UPDATES[0]["at"], "text": "u" * 4001}])
    assert field == "updates"
    assert f"together are {MAX_BODY_BYTES + 1:,} bytes, over the limit of {MAX_BODY_BYTES:,} bytes" in message


def test_an_empty_update_is_refused() -> None:
    [(field, message)] = errors(updates=[{"at": UPDATES[0]["at"], "text": "  "}])
    assert field == "updates.0.text" and "must not be empty" in message


def test_date_modified_is_the_latest_of_updated_at_corrections_and_updates() -> None:
    article = make_article(
        "story", updated_at="2015-12-22T09:00:00+03:00", corrections=[CORRECTION], updates=UPDATES
    )
    assert article.modified_at == datetime(2015, 12, 22, 7, 15, tzinfo=UTC)
    assert make_article("story").modified_at is None


# -- the article page -------------------------------------------------------------------------


def test_a_correction_is_a_dated_notice_at_the_end_linked_from_the_top(settings: Settings) -> None:
    html = page_of(make_article("story", corrections=[CORRECTION]), settings)
    top = html.index('<a class="corrected-link" href="#corrections">Corrected <time')
    notice = html.index(
        '<p class="correction" id="correction-1"><strong>Correction, '
        '<time datetime="2015-12-22T10:15:00+03:00">22 December 2015 | 10:15</time>:</strong> '
        "An earlier version misnamed the minister.</p>"
    )
    assert top < html.index('<div class="story-body"') < html.index('id="corrections"') < notice


def test_correction_text_is_escaped_never_markup(settings: Settings) -> None:
    html = page_of(make_article("story", corrections=[{**CORRECTION, "text": "<b>x</b> & *y*"}]), settings)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; *y*</p>" in html


def test_corrections_are_structured_data_and_set_date_modified(settings: Settings) -> None:
    later = {"at": "2015-12-23T08:00:00Z", "text": "A second fix."}
    html = page_of(make_article("story", corrections=[later, CORRECTION]), settings)
    data = jsonld(html, "NewsArticle")
    assert data["dateModified"] == "2015-12-23T08:00:00+00:00"
    assert data["correction"] == [
        {
            "@type": "CorrectionComment",
            "datePublished": "2015-12-22T10:15:00+03:00",
            "text": CORRECTION["text"],
        },
        {"@type": "CorrectionComment", "datePublished": "2015-12-23T08:00:00+00:00", "text": "A second fix."},
    ]
    # Shown in order of time; each keeps the anchor of its place in the file.
    assert html.index('id="correction-2"') < html.index('id="correction-1"')


def test_live_updates_run_newest_first_with_anchors_that_survive_a_new_update(settings: Settings) -> None:
    first = page_of(make_article("story", live=True, updates=UPDATES), settings)
    third = {"at": "2015-12-22T01:00:00+03:00", "text": "Talks ended."}
    second = page_of(make_article("story", live=True, updates=[*UPDATES, third]), settings)
    assert re.findall(r'id="(update-\d+)"', first) == ["update-2", "update-1"]
    assert re.findall(r'id="(update-\d+)"', second) == ["update-3", "update-2", "update-1"]
    for html in (first, second):
        assert '<a href="#update-1"><time datetime="2015-12-21T22:05:00+03:00">' in html
        assert "<p>Talks <em>began</em> at noon.</p>" in html
        assert 'By <a href="/authors/bob-reporter/">Bob Reporter</a>' in html
        assert '<span class="live-label">Live</span>' in html


def test_live_coverage_is_a_live_blog_posting_with_its_updates(settings: Settings) -> None:
    data = jsonld(page_of(make_article("story", live=True, updates=UPDATES), settings), "LiveBlogPosting")
    assert data["coverageStartTime"] == PUBLISHED
    assert "coverageEndTime" not in data
    assert data["headline"] == "Title of story"
    url = "http://example.test/articles/story/"
    assert data["liveBlogUpdate"] == [
        {
            "@type": "BlogPosting",
            "headline": "A statement is expected.",
            "articleBody": "A statement is expected.",
            "datePublished": "2015-12-21T23:30:00+03:00",
            "url": url + "#update-2",
            "author": [{"@type": "Person", "name": "Bob Reporter"}],
        },
        {
            "@type": "BlogPosting",
            "headline": "Talks began at noon.",
            "articleBody": "Talks began at noon.",
            "datePublished": "2015-12-21T22:05:00+03:00",
            "url": url + "#update-1",
        },
    ]


def test_ended_coverage_ends_at_its_last_update_and_drops_the_label(settings: Settings) -> None:
    html = page_of(make_article("story", live=False, updates=UPDATES), settings)
    data = jsonld(html, "LiveBlogPosting")
    assert data["coverageEndTime"] == "2015-12-21T23:30:00+03:00"
    assert 'class="live-label"' not in html
    assert '<h2 id="updates-heading">Updates</h2>' in html
    assert 'itemtype="https://schema.org/LiveBlogPosting"' in html


def test_an_article_without_additions_is_a_news_article_as_before(settings: Settings) -> None:
    html = page_of(make_article("story"), settings)
    assert 'itemtype="https://schema.org/NewsArticle"' in html
    assert "correction" not in html and "live-update" not in html
    assert "correction" not in jsonld(html, "NewsArticle")


# -- listings and feeds -------------------------------------------------------------------------


def test_listings_label_live_coverage_while_it_lasts(settings: Settings) -> None:
    for live in (True, False):
        index = MemoryIndex(datetime(2026, 1, 1, tzinfo=UTC))
        index.add_article(make_article("story", live=live, updates=UPDATES))
        output = render_page(Listing("home").page(0), index, settings)
        assert output is not None
        labelled = (
            '<h2><span class="live-label">Live</span> <a href="/articles/story/">' in output.body.decode()
        )
        assert labelled is live


def test_feed_entries_carry_corrections_updates_and_the_latest_time(settings: Settings) -> None:
    index = MemoryIndex(datetime(2026, 1, 1, tzinfo=UTC))
    index.add_article(make_article("story", live=True, updates=UPDATES, corrections=[CORRECTION]))
    output = render_page(FeedPage(Listing("home"), "json"), index, settings)
    assert output is not None
    [item] = json.loads(output.body)["items"]
    assert item["date_modified"] == "2015-12-22T10:15:00+03:00"
    content = item["content_html"]
    assert content.index("Talks <em>began</em>") > content.index("A statement is expected.")
    assert '<a href="http://example.test/articles/story/#update-2">' in content
    assert "<strong>Correction, " in content and CORRECTION["text"] in content
    atom = render_page(FeedPage(Listing("home"), "atom"), index, settings)
    assert atom is not None and b"<updated>2015-12-22T10:15:00+03:00</updated>" in atom.body


# -- planning -----------------------------------------------------------------------------------


def hourly(count: int) -> list[Article]:
    start = datetime(2015, 12, 1, 9, 0, tzinfo=UTC)
    return [
        make_article(f"a-{i:03d}", published_at=(start + timedelta(hours=i)).isoformat())
        for i in range(count)
    ]


def states(old: Article, new: Article, index: MemoryIndex) -> tuple[ArticleState, ArticleState]:
    held = index.get_article(new.slug)
    assert held is not None
    listings = frozenset(held.listings)
    return (
        ArticleState(old.slug, held.sort_key, listings, listed=listed_digest(old)),
        ArticleState(new.slug, held.sort_key, listings, listed=listed_digest(new)),
    )


def changed(before: Article, changes: dict[str, Any], others: list[Article]) -> list[str]:
    """The pages planned when `before` (among `others`) is changed by `changes`."""
    after = make_article(
        before.slug,
        **{**article_doc(before.slug), "published_at": before.published_at.isoformat(), **changes},
    )
    index = MemoryIndex(datetime(2026, 1, 1, tzinfo=UTC))
    for article in [*others, after]:
        index.add_article(article)
    old, new = states(before, after, index)
    return plan_article(old, new, index, 3)


@pytest.mark.parametrize(
    "changes",
    [
        {"corrections": [CORRECTION]},
        {"body": "A new body."},
        {"live": True, "updates": UPDATES[:1], "corrections": [CORRECTION]},
    ],
    ids=["correction", "body", "update"],
)
def test_a_change_listings_do_not_show_plans_the_article_and_the_feeds_carrying_it(
    changes: dict[str, Any],
) -> None:
    articles = hourly(30)
    newest = articles[-1]
    before = (
        newest
        if "updates" not in changes
        else make_article(
            newest.slug,
            **{**article_doc(newest.slug), "published_at": newest.published_at.isoformat(), "live": True},
        )
    )
    planned = changed(before, changes, articles[:-1])
    assert set(planned) == {f"article:{newest.slug}"} | HOME_FEEDS | AUTHOR_FEEDS


def test_a_correction_to_an_article_past_the_feeds_plans_its_page_alone() -> None:
    articles = hourly(30)
    old = articles[5]
    planned = changed(old, {"corrections": [CORRECTION]}, [a for a in articles if a is not old])
    assert planned == [f"article:{old.slug}"]


def test_a_new_live_update_plans_only_the_article_and_its_feeds() -> None:
    articles = hourly(10)
    newest = articles[-1]
    base = {**article_doc(newest.slug), "published_at": newest.published_at.isoformat(), "live": True}
    before = make_article(newest.slug, **{**base, "updates": UPDATES[:1]})
    planned = changed(before, {"live": True, "updates": UPDATES}, articles[:-1])
    assert set(planned) == {f"article:{newest.slug}"} | HOME_FEEDS | AUTHOR_FEEDS


def test_the_live_flag_flipping_plans_the_listing_pages_that_show_it() -> None:
    articles = hourly(10)
    newest = articles[-1]
    base = {**article_doc(newest.slug), "published_at": newest.published_at.isoformat()}
    before = make_article(newest.slug, **{**base, "live": True, "updates": UPDATES})
    planned = changed(before, {"live": False, "updates": UPDATES}, articles[:-1])
    listing_pages = {
        "home:0",
        "home:4",
        "author:anna-writer:0",
        "author:anna-writer:4",
        "month:2015-12:0",
        "month:2015-12:4",
    }
    assert set(planned) == (
        {f"article:{newest.slug}", "sitemap:2015-12", "news-sitemap"}
        | HOME_FEEDS
        | AUTHOR_FEEDS
        | listing_pages
    )


def test_a_title_change_still_plans_the_listings() -> None:
    articles = hourly(10)
    planned = changed(articles[-1], {"title": "A new title"}, articles[:-1])
    assert "home:0" in planned and "month:2015-12:0" in planned


def test_a_state_without_its_fingerprint_plans_as_before() -> None:
    articles = hourly(10)
    index = MemoryIndex(datetime(2026, 1, 1, tzinfo=UTC))
    for article in articles:
        index.add_article(article)
    held = index.get_article(articles[-1].slug)
    assert held is not None
    state = ArticleState(held.article.slug, held.sort_key, frozenset(held.listings))
    assert "home:0" in plan_article(state, state, index, 3)
