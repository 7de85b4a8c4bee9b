"""Related articles: the ones just before an article in its section and tags, exact at every
render, and re-rendered by the planner whenever a change could alter them.

Completeness is checked the way test_plan checks listings: every article page is rendered before
and after a change, and each page whose bytes changed must be among the pages planned.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broadsheet.contract.models import Article
from broadsheet.index.entries import listed_digest
from broadsheet.index.memory import MemoryIndex
from broadsheet.index.related import RELATED_COUNT, related_entries
from broadsheet.pages import ArticlePage
from broadsheet.plan import ArticleState, plan_article
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.unit.fakes import make_article

START = datetime(2015, 12, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def at(hours: float, slug: str, **changes: Any) -> Article:
    return make_article(slug, published_at=(START + timedelta(hours=hours)).isoformat(), **changes)


def indexed(articles: list[Article]) -> MemoryIndex:
    index = MemoryIndex(NOW)
    for article in articles:
        index.add_article(article)
    return index


def related_slugs(index: MemoryIndex, slug: str) -> list[str]:
    held = index.get_article(slug)
    assert held is not None
    return [e.slug for e in related_entries(slug, held.sort_key, held.listings, index)]


def state(index: MemoryIndex, slug: str) -> ArticleState:
    held = index.get_article(slug)
    assert held is not None
    return ArticleState(slug, held.sort_key, frozenset(held.listings), listed=listed_digest(held.article))


def article_pages(index: MemoryIndex, settings: Settings, slugs: list[str]) -> dict[str, bytes | None]:
    pages = {}
    for slug in slugs:
        output = render_page(ArticlePage(slug), index, settings)
        pages[f"article:{slug}"] = output.body if output else None
    return pages


def test_related_are_the_newest_before_it_sharing_a_tag_or_the_section() -> None:
    articles = [
        at(0, "old-syria", tags=["Syria"]),
        at(1, "other-topic", tags=["Budget"]),
        at(2, "same-section", section="foreign-policy"),
        at(3, "syria-two", tags=["Syria", "UN"]),
        at(4, "un-only", tags=["UN"]),
        at(5, "syria-three", tags=["Syria"]),
        at(6, "the-story", tags=["Syria", "UN"], section="foreign-policy"),
        at(7, "newer-syria", tags=["Syria"]),
    ]
    index = indexed(articles)
    # Newest first, each once however many listings it shares; never a newer one, never itself.
    assert related_slugs(index, "the-story") == ["syria-three", "un-only", "syria-two", "same-section"]
    assert related_slugs(index, "old-syria") == []
    assert related_slugs(index, "other-topic") == []


def test_related_ties_are_ordered_by_slug() -> None:
    same = [at(1, slug, tags=["Syria"]) for slug in ("b-tie", "a-tie", "d-tie", "c-tie", "e-tie")]
    index = indexed([*same, at(2, "story", tags=["Syria"])])
    assert related_slugs(index, "story") == ["e-tie", "d-tie", "c-tie", "b-tie"]


def test_the_article_page_lists_its_related_articles(settings: Settings) -> None:
    index = indexed(
        [at(0, "earlier", tags=["Syria"], title="Earlier <story>"), at(1, "story", tags=["Syria"])]
    )
    output = render_page(ArticlePage("story"), index, settings)
    assert output is not None
    html = output.body.decode()
    aside = html[html.index('<aside class="related"') :]
    assert '<h2 id="related-heading">Related</h2>' in aside
    assert '<li><a href="/articles/earlier/">Earlier &lt;story&gt;</a>' in aside
    first = render_page(ArticlePage("earlier"), index, settings)
    assert first is not None and b'class="related"' not in first.body


def test_publishing_the_newest_article_re_renders_no_older_article() -> None:
    articles = [at(i, f"a-{i:02d}", tags=["Syria", "UN"], section="world") for i in range(12)]
    index = indexed(articles)
    planned = plan_article(None, state(index, "a-11"), index, 3)
    assert [p for p in planned if p.startswith("article:")] == ["article:a-11"]


def test_a_backdated_article_re_renders_the_related_lists_after_it(settings: Settings) -> None:
    articles = [at(i, f"a-{i:02d}", tags=["Syria"]) for i in range(12)]
    backdated = at(4.5, "backdated", tags=["Syria"])
    before, after = indexed(articles), indexed([*articles, backdated])
    planned = plan_article(None, state(after, "backdated"), after, 3)
    assert {p for p in planned if p.startswith("article:")} == {
        "article:backdated", "article:a-05", "article:a-06", "article:a-07", "article:a-08",
    }  # fmt: skip
    slugs = [a.slug for a in articles] + ["backdated"]
    was, now = article_pages(before, settings, slugs), article_pages(after, settings, slugs)
    assert {p for p in now if was.get(p) != now[p]} <= set(planned)


CHANGES = ("add", "remove", "retitle", "redate", "retag", "correct")


def test_every_related_list_a_change_alters_is_planned(settings: Settings) -> None:
    """A random walk of changes over articles with overlapping tags: after each, every article page
    whose bytes changed was planned, and a correction planned no other article page."""
    rng = random.Random(20151221)  # noqa: S311 - a reproducible walk, not a secret
    tags = ["Syria", "UN", "Budget", "Energy"]
    docs: dict[str, dict[str, Any]] = {}
    for i in range(24):
        docs[f"a-{i:02d}"] = {"hours": rng.randrange(200), "tags": rng.sample(tags, rng.randrange(3)),
                              "section": rng.choice([None, "world"]), "title": f"Title {i}"}  # fmt: skip

    def build(state_docs: dict[str, dict[str, Any]]) -> MemoryIndex:
        return indexed([article(slug, doc) for slug, doc in state_docs.items()])

    def article(slug: str, doc: dict[str, Any]) -> Article:
        extra = {k: v for k, v in doc.items() if k not in ("hours",) and v is not None}
        return at(doc["hours"], slug, **extra)

    index = build(docs)
    for step in range(60):
        change = CHANGES[step % len(CHANGES)]
        slug = rng.choice(sorted(docs)) if change != "add" else f"n-{step:02d}"
        new_docs = dict(docs)
        if change == "add":
            new_docs[slug] = {
                "hours": rng.randrange(200),
                "tags": rng.sample(tags, 2),
                "section": "world",
                "title": slug,
            }
        elif change == "remove":
            del new_docs[slug]
        elif change == "retitle":
            new_docs[slug] = docs[slug] | {"title": f"Retitled {step}"}
        elif change == "redate":
            new_docs[slug] = docs[slug] | {"hours": rng.randrange(200)}
        elif change == "retag":
            new_docs[slug] = docs[slug] | {"tags": rng.sample(tags, 2)}
        else:
            new_docs[slug] = docs[slug] | {"corrections": [{"at": "2016-01-01T00:00:00Z", "text": "Fixed."}]}
        after = build(new_docs)
        old = state(index, slug) if slug in docs else None
        new = state(after, slug) if slug in new_docs else None
        planned = set(plan_article(old, new, after, 3))
        every = sorted(docs.keys() | new_docs.keys())
        was, now = article_pages(index, settings, every), article_pages(after, settings, every)
        assert {p for p in now if was[p] != now[p]} <= planned, (step, change, slug)
        if change == "correct":
            assert {p for p in planned if p.startswith("article:")} == {f"article:{slug}"}
        docs, index = new_docs, after


@pytest.mark.parametrize("count", [0, 1, RELATED_COUNT, 9])
def test_never_more_than_the_related_count(count: int) -> None:
    articles = [at(i, f"a-{i:02d}", section="world") for i in range(count)]
    index = indexed([*articles, at(100, "story", section="world")])
    found = related_slugs(index, "story")
    assert len(found) == min(count, RELATED_COUNT)
    assert found == sorted(found, reverse=True)
    assert all(re.fullmatch(r"a-\d\d", s) for s in found)
