"""The rebuild's concurrent page listing and the end-of-run summary of long CLI commands."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import all_pages
from broadsheet_dev.operations import REBUILD_PART, send_site_pages
from broadsheet_dev.progress import PublishSummary, Rejection
from tests.unit.fakes import make_article

NOW = datetime(2016, 6, 1, tzinfo=UTC)


def seeded_index(articles: int, seed: int = 7) -> MemoryIndex:
    """Articles spread over authors, sections, tags and months, some drafts, some embargoed."""
    rng = random.Random(seed)  # noqa: S311 - a seeded test corpus
    index = MemoryIndex(NOW)
    for n in range(articles):
        month = rng.randint(1, 12)
        index.add_article(
            make_article(
                f"story-{n}",
                authors=[f"Writer {w}" for w in rng.sample(range(1, 10), rng.randint(1, 3))],
                section=rng.choice(["world", "economy", "culture"]),
                tags=rng.sample(["oil", "nato", "sport", "arts", "courts"], rng.randint(0, 3)),
                published_at=f"2015-{month:02d}-{rng.randint(1, 28):02d}T10:00:00+00:00",
                status="draft" if n % 17 == 0 else "published",
            )
        )
    return index


def test_concurrent_listing_sends_exactly_the_pages_of_the_one_at_a_time_listing() -> None:
    index = seeded_index(400)
    sent: list[str] = []
    lock = threading.Lock()
    progress: list[tuple[int, int]] = []

    def send(part: list[str]) -> None:
        assert 0 < len(part) <= REBUILD_PART
        with lock:
            sent.extend(part)

    count = send_site_pages(index, 3, send, lambda read, total: progress.append((read, total)))

    expected = [page.id for page in all_pages(index, 3)]
    assert sorted(sent) == sorted(expected)  # the same pages, each once
    assert count == len(expected)
    listings = progress[-1][1]
    assert listings > 20  # the seed makes many listings, so the threads overlap
    assert [read for read, _ in progress] == list(range(1, listings + 1))


def test_the_summary_counts_every_outcome_and_names_each_rejected_field() -> None:
    summary = PublishSummary(
        published=["articles/a.json", "media/p.jpg"],
        unchanged=["articles/b.json"],
        rejected=[Rejection("in/c.json", ["title: Field required", "authors: at least 1 item"])],
        skipped=["in/notes.txt"],
    )
    assert summary.failed()
    assert summary.lines() == [
        "2 published, 1 unchanged, 1 rejected, 1 skipped",
        "rejected in/c.json:",
        "  title: Field required",
        "  authors: at least 1 item",
        "skipped in/notes.txt: not an article, author profile or image",
    ]
    assert not PublishSummary(published=["articles/a.json"]).failed()
