"""The planner: from one changed article or profile, the pages to render again.

Two properties are checked. Bounded work: the pages planned do not grow with the listing (the
newest article touches the first page, the last numbered page and the one before it, never older
ones). Completeness: every page whose rendered bytes actually changed is among those planned,
checked by rendering every page of each listing before and after the change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.memory import MemoryIndex
from broadsheet.index.ports import IndexReader
from broadsheet.pages import ArticlePage, Listing, page_count, page_of
from broadsheet.plan import (
    ArticleState,
    Shifts,
    article_state,
    plan_article,
    plan_article_change,
    plan_profile,
)
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.unit.fakes import make_article

AUTHOR = "author:anna-writer"
MONTH = "month:2015-12"
LISTINGS = ("home", AUTHOR, MONTH)
# The month listing holds the same entries as the home page here: rendering two listings is enough.
RENDERED = ("home", AUTHOR)
START = datetime(2015, 12, 1, 9, 0, tzinfo=UTC)


def hourly(count: int, step: int = 1, offset: int = 0) -> list[Article]:
    """Articles one author published `step` hours apart in December 2015, oldest first."""
    return [
        make_article(f"a-{i:03d}", published_at=(START + timedelta(hours=offset + i * step)).isoformat())
        for i in range(count)
    ]


def indexed(articles: list[Article], now: datetime) -> MemoryIndex:
    index = MemoryIndex(now)
    for article in articles:
        index.add_article(article)
    return index


def state(index: MemoryIndex, slug: str) -> ArticleState:
    held = index.get_article(slug)
    assert held is not None
    return ArticleState(held.article.slug, held.sort_key, frozenset(held.listings))


def numbered(planned: list[str], listing: str) -> set[int]:
    """The numbered pages (>= 1) of one listing among planned page ids."""
    found = set()
    for page_id in planned:
        owner, _, number = page_id.rpartition(":")
        if owner == listing and number != "0":
            found.add(int(number))
    return found


def rendered(index: IndexReader, settings: Settings) -> dict[str, bytes | None]:
    """Every page of the rendered listings, and one page past the end of each."""
    pages: dict[str, bytes | None] = {}
    for listing_id in RENDERED:
        listing = Listing.parse(listing_id)
        for number in range(page_count(index.count(listing_id), settings.page_size) + 2):
            output = render_page(listing.page(number), index, settings)
            pages[listing.page(number).id] = output.body if output else None
    return pages


def changed(before: dict[str, bytes | None], after: dict[str, bytes | None]) -> set[str]:
    return {page for page in before.keys() | after.keys() if before.get(page) != after.get(page)}


def test_appending_the_newest_article_plans_the_first_page_and_the_last_two(
    settings: Settings, now: datetime
) -> None:
    articles = hourly(21)
    size = settings.page_size
    previous = rendered(indexed([], now), settings)
    for n in range(21):
        newest = articles[n]
        after = indexed(articles[: n + 1], now)
        planned = plan_article(None, state(after, newest.slug), after, size)
        last = page_count(n + 1, size)
        for listing in LISTINGS:
            assert f"{listing}:0" in planned
            pages = numbered(planned, listing)
            assert last in pages, (n, listing)
            assert pages <= {last - 1, last}, (n, listing, pages)
        # A page opened after a full one changes the full page's "newer" link: it is planned too.
        if n % size == 0 and n > 0:
            assert {last - 1, last} <= numbered(planned, "home")
        assert f"article:{newest.slug}" in planned
        current = rendered(after, settings)
        assert changed(previous, current) <= set(planned), n
        previous = current


@pytest.mark.parametrize("position", range(0, 15))
def test_a_backdated_article_plans_from_its_position_to_the_end(
    settings: Settings, now: datetime, position: int
) -> None:
    existing = hourly(14, step=2)
    # Odd hours fall between the existing even ones: this one lands at `position`.
    backdated = make_article(
        "backdated", published_at=(START + timedelta(hours=2 * position - 1)).isoformat()
    )
    before, after = indexed(existing, now), indexed([*existing, backdated], now)
    assert after.position("home", state(after, "backdated").sort_key) == position
    planned = plan_article(None, state(after, "backdated"), after, settings.page_size)
    first, last = page_of(position, settings.page_size), page_count(15, settings.page_size)
    for listing in LISTINGS:
        pages = numbered(planned, listing)
        assert set(range(first, last + 1)) <= pages <= set(range(first - 1, last + 1)), (listing, pages)
    assert "article:backdated" in planned
    assert changed(rendered(before, settings), rendered(after, settings)) <= set(planned)


@pytest.mark.parametrize("total", [1, 4, 7, 10])
def test_removing_an_article_plans_the_page_after_the_end(
    settings: Settings, now: datetime, total: int
) -> None:
    articles = hourly(total)
    size = settings.page_size
    before = indexed(articles, now)
    pages_before = rendered(before, settings)
    last = page_count(total - 1, size)
    for position, gone in enumerate(articles):
        after = indexed([a for a in articles if a is not gone], now)
        planned = plan_article(state(before, gone.slug), None, after, size)
        assert f"article:{gone.slug}" in planned
        for listing in LISTINGS:
            pages = numbered(planned, listing)
            assert last + 1 in pages
            # Pages older than the one before the removed entry's page keep their entries.
            assert min(pages) >= max(1, min(page_of(position, size), last) - 1), (position, pages)
        assert changed(pages_before, rendered(after, settings)) <= set(planned), position


def test_an_emptied_last_page_is_planned_and_renders_as_gone(settings: Settings, now: datetime) -> None:
    articles = hourly(7)  # pages 1 and 2 are full, page 3 holds the newest alone
    before = indexed(articles, now)
    after = indexed(articles[:-1], now)
    planned = plan_article(state(before, "a-006"), None, after, settings.page_size)
    assert {"home:3", f"{AUTHOR}:3", f"{MONTH}:3", "article:a-006"} <= set(planned)
    page = Listing("home").page(3)
    assert render_page(page, before, settings) is not None
    assert render_page(page, after, settings) is None
    assert render_page(ArticlePage("a-006"), after, settings) is None


@pytest.mark.parametrize("position", [0, 4, 8, 11])
def test_an_in_place_change_plans_only_its_own_page_and_the_first(
    settings: Settings, now: datetime, position: int
) -> None:
    articles = hourly(12)
    target = articles[position]
    edited = target.model_copy(update={"title": "A corrected headline", "teaser": "New teaser."})
    before = indexed(articles, now)
    after = indexed([edited if a is target else a for a in articles], now)
    planned = plan_article(state(before, target.slug), state(after, target.slug), after, settings.page_size)
    own = page_of(position, settings.page_size)
    expected = {f"article:{target.slug}"} | {f"{listing}:{n}" for listing in LISTINGS for n in (0, own)}
    # Its text also shows in the feeds of its listings that have feeds, its month's sitemap shard
    # and the news sitemap; the archive and sitemap indexes only count and list months.
    expected |= {f"feed:{listing}:{form}" for listing in ("home", AUTHOR) for form in ("atom", "rss", "json")}
    expected |= {"sitemap:2015-12", "news-sitemap"}
    assert set(planned) == expected
    assert changed(rendered(before, settings), rendered(after, settings)) <= set(planned)


def test_redating_an_article_plans_both_its_old_and_new_places(settings: Settings, now: datetime) -> None:
    articles = hourly(12)
    moved = articles[1].model_copy(update={"published_at": START + timedelta(hours=20)})
    before = indexed(articles, now)
    after = indexed([moved if a is articles[1] else a for a in articles], now)
    planned = plan_article(state(before, moved.slug), state(after, moved.slug), after, settings.page_size)
    assert {1, 2, 3, 4} <= numbered(planned, "home")
    assert changed(rendered(before, settings), rendered(after, settings)) <= set(planned)


def test_a_draft_going_live_plans_like_an_addition(settings: Settings, now: datetime) -> None:
    articles = hourly(6)
    draft = make_article("late", status="draft", published_at=(START + timedelta(hours=30)).isoformat())
    live = draft.model_copy(update={"status": "published"})
    before = indexed([*articles, draft], now)
    after = indexed([*articles, live], now)
    assert state(before, "late").listings == frozenset()
    planned = plan_article(state(before, "late"), state(after, "late"), after, settings.page_size)
    assert {"article:late", "home:0", "home:2", "home:3"} <= set(planned)
    assert numbered(planned, "home") <= {2, 3}


def test_an_article_joining_a_new_tag_plans_that_tag_s_pages(settings: Settings, now: datetime) -> None:
    articles = hourly(4)
    tagged = articles[2].model_copy(update={"tags": ["Diplomacy"]})
    before = indexed(articles, now)
    after = indexed([tagged if a is articles[2] else a for a in articles], now)
    planned = plan_article(state(before, tagged.slug), state(after, tagged.slug), after, settings.page_size)
    assert {"tag:diplomacy:0", "tag:diplomacy:1"} <= set(planned)
    # Its place in the other listings did not move: only its own page there.
    assert numbered(planned, "home") == {1}


def test_an_author_profile_change_plans_the_author_s_first_page(settings: Settings, now: datetime) -> None:
    assert plan_profile("anna-writer") == [f"{AUTHOR}:0"]
    before = indexed(hourly(10), now)
    after = indexed(hourly(10), now)
    after.add_profile("anna-writer", AuthorProfile(name="Anna Writer", bio="Writes about diplomacy."))
    assert changed(rendered(before, settings), rendered(after, settings)) == {f"{AUTHOR}:0"}


def test_an_article_item_image_becomes_the_planner_s_state() -> None:
    key = "2015-12-01T10:00:00.000000Z#a-001"
    image: dict[str, Any] = {"sk": "article", "slug": "a-001", "sort_key": key, "listings": ["home", AUTHOR]}
    assert article_state(image) == ArticleState("a-001", key, frozenset({"home", AUTHOR}))
    assert article_state({"sk": "profile", "slug": "anna-writer"}) is None
    assert article_state(None) is None


def test_nothing_is_planned_without_either_side(settings: Settings, now: datetime) -> None:
    assert plan_article(None, None, indexed([], now), settings.page_size) == []


class CountingIndex(MemoryIndex):
    """An index that counts the listing lengths and positions the planner reads."""

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.reads = 0

    def count(self, listing: str) -> int:
        self.reads += 1
        return super().count(listing)

    def position(self, listing: str, sort_key: str) -> int:
        self.reads += 1
        return super().position(listing, sort_key)


@pytest.mark.parametrize("added", [1, 5, 23])
def test_a_batch_plans_what_its_changes_plan_one_by_one_reading_each_listing_once(
    settings: Settings, now: datetime, added: int
) -> None:
    existing = hourly(14, step=2)
    # New articles at every place: odd hours fall between the existing ones, late ones after all.
    fresh = [
        make_article(
            f"new-{i:02d}", published_at=(START + timedelta(hours=(3 * i) % 40 + 1, minutes=i)).isoformat()
        )
        for i in range(added)
    ]
    gone = existing[3]
    before = indexed(existing, now)
    after = CountingIndex(now)
    for article in [a for a in existing if a is not gone] + fresh:
        after.add_article(article)
    changes = [(None, state(after, a.slug)) for a in fresh] + [(state(before, gone.slug), None)]
    one_by_one = set().union(*(plan_article(old, new, after, settings.page_size) for old, new in changes))
    after.reads = 0
    shifts = Shifts()
    together = set().union(
        *(plan_article_change(old, new, after, settings.page_size, shifts) for old, new in changes)
    )
    together |= shifts.pages(after, settings.page_size)
    assert together == one_by_one
    # Each of the three listings: its length and one position, whatever the batch's size.
    assert after.reads == 2 * len(LISTINGS)
    assert changed(rendered(before, settings), rendered(after, settings)) <= together
