"""The curated fronts: pinned stories on the home page and section pages, what a pin change plans,
when a pin lifts, and what editors are told about a pin that cannot work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from broadsheet.contract.models import Article
from broadsheet.index.memory import MemoryIndex
from broadsheet.ingest import Outcome, ingest_key
from broadsheet.pages import ArticlePage, Listing, all_pages, pinned_list
from broadsheet.plan import indexed_state, plan_article
from broadsheet.render.front import TOP_STORIES
from broadsheet.render.html import render_page
from broadsheet.schedule import Moment, moments_ahead
from broadsheet.settings import Settings
from tests.unit.fakes import FakeContentStore, FakeIndex, article_bytes, make_article, select

START = datetime(2015, 12, 1, 9, 0, tzinfo=UTC)
PIN_ENDS = "2026-01-02T12:00:00Z"


def story(number: int, **changes: object) -> Article:
    """Story `number`, published `number` hours after START, in section `world` or `sport`."""
    fields: dict[str, object] = {
        "published_at": (START + timedelta(hours=number)).isoformat(),
        "section": "world" if number % 2 else "sport",
    }
    return make_article(f"s-{number:02d}", **(fields | changes))


def indexed(articles: list[Article], now: datetime) -> MemoryIndex:
    index = MemoryIndex(now)
    for article in articles:
        index.add_article(article)
    return index


def site(index: MemoryIndex, settings: Settings) -> dict[str, bytes]:
    """Every page the site has, rendered."""
    pages: dict[str, bytes] = {}
    for page in all_pages(index, settings.page_size):
        output = render_page(page, index, settings)
        if output is not None and output.body is not None:
            pages[page.id] = output.body
    return pages


def changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {page for page in before.keys() | after.keys() if before.get(page) != after.get(page)}


def planned(before: MemoryIndex, after: MemoryIndex, slug: str, settings: Settings) -> set[str]:
    old, new = before.get_article(slug), after.get_article(slug)
    assert old is not None and new is not None
    return set(plan_article(indexed_state(old), indexed_state(new), after, settings.page_size))


def replaced(articles: list[Article], edited: Article) -> list[Article]:
    return [edited if a.slug == edited.slug else a for a in articles]


@pytest.mark.parametrize("position", [0, 5, 11])
def test_pinning_a_story_plans_exactly_the_home_page_and_its_section_front(
    settings: Settings, now: datetime, position: int
) -> None:
    articles = [story(n) for n in range(12)]
    pinned = articles[position].model_copy(update={"featured": "top"})
    before, after = indexed(articles, now), indexed(replaced(articles, pinned), now)
    front = Listing("section", pinned.section or "").page(0).id
    assert planned(before, after, pinned.slug, settings) == {"home:0", front}
    assert changed(site(before, settings), site(after, settings)) == {"home:0", front}


def test_a_pin_lifting_at_its_time_plans_and_changes_exactly_the_fronts(
    settings: Settings, now: datetime
) -> None:
    articles = [story(n) for n in range(8)]
    lead = story(3, featured="lead", pinned_until=PIN_ENDS)
    articles = replaced(articles, lead)
    before = indexed(articles, now)
    later = now + timedelta(days=2)
    after = indexed(articles, later)
    assert pinned_list(Listing("home")) in before.get_article(lead.slug).listings  # type: ignore[union-attr]
    assert not any("pinned" in x for x in after.get_article(lead.slug).listings)  # type: ignore[union-attr]
    assert planned(before, after, lead.slug, settings) == {"home:0", "section:world:0"}
    late = Settings(site_url=settings.site_url, page_size=settings.page_size, now=later.isoformat())
    assert changed(site(before, settings), site(after, late)) == {"home:0", "section:world:0"}


def test_changing_the_pin_s_kind_plans_the_fronts_only(settings: Settings, now: datetime) -> None:
    articles = [story(n, featured="top") if n == 2 else story(n) for n in range(6)]
    lead = articles[2].model_copy(update={"featured": "lead"})
    before, after = indexed(articles, now), indexed(replaced(articles, lead), now)
    assert planned(before, after, lead.slug, settings) == {"home:0", "section:sport:0"}


def test_a_pinned_story_s_new_body_plans_its_page_and_feeds_but_no_listing_page(
    settings: Settings, now: datetime
) -> None:
    articles = [story(n, featured="top") if n == 2 else story(n) for n in range(6)]
    edited = articles[2].model_copy(update={"body": "A new body.", "featured": "lead"})
    before, after = indexed(articles, now), indexed(replaced(articles, edited), now)
    plan = planned(before, after, edited.slug, settings)
    assert {"article:s-02", "home:0", "section:sport:0"} <= plan
    assert not {p for p in plan if p.startswith(("home:", "section:", "author:")) and not p.endswith(":0")}
    assert changed(site(before, settings), site(after, settings)) <= plan


def test_the_home_page_shows_the_lead_and_the_top_stories_above_the_river(
    settings: Settings, now: datetime
) -> None:
    articles = [story(n) for n in range(10)]
    articles = replaced(articles, articles[1].model_copy(update={"featured": "lead"}))
    articles = replaced(articles, articles[4].model_copy(update={"featured": "top"}))
    articles = replaced(articles, articles[7].model_copy(update={"featured": "top"}))
    html = render_page(Listing("home").page(0), indexed(articles, now), settings).body  # type: ignore[union-attr]
    assert html is not None
    [front] = select(html, "section", "front")
    assert front.attrs["aria-labelledby"] == "top-stories"
    text = html.decode()
    heading = text.index('<h2 id="top-stories"')
    assert text.index("<h1") < heading < text.index("s-01") < text.index("s-07") < text.index("s-04")
    [lead] = select(html, "article", "lead-story")
    assert [
        s.attrs.get("href") for s in select(html, "a") if s.attrs.get("href", "").startswith("/articles/s-0")
    ][:3] == ["/articles/s-01/", "/articles/s-07/", "/articles/s-04/"]
    # The river leaves out what is shown above it.
    assert text.count('href="/articles/s-07/"') == 1
    assert lead.attrs["class"] == "lead-story"


def test_when_two_stories_claim_the_lead_the_newer_leads_and_the_other_is_a_top_story(
    settings: Settings, now: datetime
) -> None:
    articles = [story(n, featured="lead") if n in (2, 5) else story(n) for n in range(7)]
    html = render_page(Listing("home").page(0), indexed(articles, now), settings).body  # type: ignore[union-attr]
    assert html is not None
    text = html.decode()
    lead = text[text.index('class="lead-story"') : text.index('class="top-stories"')]
    assert "/articles/s-05/" in lead and "/articles/s-02/" not in lead
    assert "/articles/s-02/" in text[text.index('class="top-stories"') :]


def test_a_front_shows_at_most_the_top_stories_it_has_room_for(settings: Settings, now: datetime) -> None:
    articles = [story(n, featured="top") for n in range(TOP_STORIES + 3)]
    html = render_page(Listing("home").page(0), indexed(articles, now), settings).body  # type: ignore[union-attr]
    assert html is not None
    assert len(select(html, "li", "item")) == TOP_STORIES


def test_a_section_front_shows_only_that_section_s_pinned_stories(settings: Settings, now: datetime) -> None:
    articles = [story(n, featured="top") if n in (3, 4) else story(n) for n in range(6)]
    index = indexed(articles, now)
    world = render_page(Listing("section", "world").page(0), index, settings).body  # type: ignore[union-attr]
    assert world is not None
    top = world.decode()[world.decode().index('class="top-stories"') :]
    assert "/articles/s-03/" in top and "/articles/s-04/" not in top
    # Pins show on first pages only: not on an author's page, nor on a numbered page.
    for page in (Listing("author", "anna-writer").page(0), Listing("home").page(1)):
        body = render_page(page, index, settings).body  # type: ignore[union-attr]
        assert body is not None and b'class="front"' not in body


def test_an_expired_pin_is_not_shown_by_the_build_clock(settings: Settings, now: datetime) -> None:
    articles = [story(n, featured="lead", pinned_until=PIN_ENDS) if n == 1 else story(n) for n in range(4)]
    at_pin = render_page(Listing("home").page(0), indexed(articles, now), settings)
    later = now + timedelta(days=2)
    late = Settings(site_url=settings.site_url, page_size=settings.page_size, now=later.isoformat())
    after = render_page(Listing("home").page(0), indexed(articles, later), late)
    assert at_pin is not None and at_pin.body is not None and b'class="lead-story"' in at_pin.body
    assert after is not None and after.body is not None and b'class="front"' not in after.body


def test_a_lead_image_is_shown_as_a_picture(settings: Settings, now: datetime) -> None:
    from broadsheet.contract.media import MediaItem  # noqa: PLC0415

    image = {"src": "media/kremlin.jpg", "alt": "The Kremlin"}
    articles = [story(n, featured="lead", image=image) if n == 1 else story(n) for n in range(3)]
    index = indexed(articles, now)
    index.add_media(MediaItem("kremlin.jpg", "abc123", 1600, 900, (320, 1600), ("avif", "webp", "jpg")))
    html = render_page(Listing("home").page(0), index, settings).body  # type: ignore[union-attr]
    assert html is not None
    [picture] = select(html, "picture", "lead-picture")
    assert picture is not None


def test_the_pin_schedules_its_lifting(now: datetime) -> None:
    pinned = story(1, featured="top", pinned_until=PIN_ENDS)
    assert moments_ahead(pinned, now)[Moment.UNPIN] == datetime(2026, 1, 2, 12, tzinfo=UTC)
    assert Moment.UNPIN not in moments_ahead(pinned, now + timedelta(days=2))
    assert Moment.UNPIN not in moments_ahead(story(1, featured="top"), now)


def test_ingest_lifts_a_pin_when_its_time_comes_with_the_same_file(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    key = "articles/s-01.json"
    content.upload(key, article_bytes("s-01", section="world", featured="lead", pinned_until=PIN_ENDS))
    assert ingest_key(key, content, index, now).outcome is Outcome.PUBLISHED
    assert ingest_key(key, content, index, now).outcome is Outcome.UNCHANGED
    assert ingest_key(key, content, index, now + timedelta(days=2)).outcome is Outcome.PUBLISHED
    held = index.get_article("s-01")
    assert held is not None and not any(x.startswith("pinned:") for x in held.listings)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"pinned_until": PIN_ENDS}, "pinned_until", 'needs "featured"'),
        (
            {"featured": "top", "pinned_until": "2015-12-01T00:00:00Z"},
            "pinned_until",
            "later than published_at",
        ),
        ({"featured": "headline"}, "featured", "lead"),
    ],
)
def test_a_pin_that_cannot_work_is_refused_naming_its_field(
    changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        story(1, **changes)
    errors = caught.value.errors()
    assert [e["loc"][0] for e in errors] == [field]
    assert words in errors[0]["msg"]


def test_an_article_page_shows_nothing_of_its_pin(settings: Settings, now: datetime) -> None:
    plain = indexed([story(1)], now)
    pinned = indexed([story(1, featured="lead")], now)
    page = ArticlePage("s-01")
    assert render_page(page, plain, settings) == render_page(page, pinned, settings)
