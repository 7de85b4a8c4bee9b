"""The rebuild's concurrent page listing and the end-of-run summary of long CLI commands."""

from __future__ import annotations

import io
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import all_pages
from broadsheet_dev.local.commands import editor_key, publish_all
from broadsheet_dev.operations import REBUILD_PART, send_site_pages
from broadsheet_dev.progress import PublishSummary, Rejection, counted
from tests.unit.fakes import article_bytes, make_article

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


class FakeBucket:
    """Uploads recorded in memory; `holds` compares with what was uploaded before."""

    def __init__(self, held: dict[str, bytes] | None = None) -> None:
        self.objects = dict(held or {})
        self.uploads: list[str] = []

    def holds(self, key: str, raw: bytes) -> bool:
        return self.objects.get(key) == raw

    def publish(self, path: Path) -> str:
        key = editor_key(path)
        self.objects[key] = path.read_bytes()
        self.uploads.append(key)
        return key


def plain_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=200), out


def test_publishing_a_folder_uploads_new_files_and_reports_every_other_outcome(tmp_path: Path) -> None:
    articles, media = tmp_path / "articles", tmp_path / "media"
    articles.mkdir()
    media.mkdir()
    (articles / "fresh.json").write_bytes(article_bytes("fresh"))
    (articles / "same.json").write_bytes(article_bytes("same"))
    (articles / "broken.json").write_bytes(article_bytes("broken", title="", colour="red"))
    (media / "photo.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("not content")
    bucket = FakeBucket({"articles/same.json": article_bytes("same")})
    console, out = plain_console()

    summary = publish_all(bucket, [tmp_path], console)

    assert bucket.uploads == ["media/photo.png", "articles/fresh.json"]  # images first
    assert summary.unchanged == ["articles/same.json"]
    assert summary.skipped == [str(tmp_path / "notes.txt")]
    [rejected] = summary.rejected
    assert rejected.path == str(articles / "broken.json")
    assert any(reason.startswith("title:") for reason in rejected.reasons)
    assert any(reason.startswith("colour:") for reason in rejected.reasons)
    printed = out.getvalue()
    # Off a terminal the bar is printed once, finished, as a plain line; then the summary.
    assert printed.splitlines()[0].startswith("publishing ")
    assert printed.splitlines()[1] == "2 published, 1 unchanged, 1 rejected, 1 skipped"
    assert "\x1b" not in printed and "\r" not in printed  # no bar drawn into captured output


def test_a_bar_whose_total_is_learnt_as_it_goes_draws_nothing_off_a_terminal() -> None:
    console, out = plain_console()
    with counted("listings read", console) as shown:
        for read in range(1, 4):
            shown(read, 3)
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
