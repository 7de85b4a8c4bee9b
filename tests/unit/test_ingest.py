"""Ingest: the current state of one key, brought into the index, whatever order events came in."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from broadsheet.adapters.s3_content import ContentObject
from broadsheet.build import load_content
from broadsheet.contract.files import KEY, report_key
from broadsheet.errors import SkippedKey, TransientError
from broadsheet.ingest import MAX_ROUNDS, Outcome, ingest_key
from broadsheet.pages import ArticlePage, all_pages
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.unit.fakes import FakeContentStore, FakeIndex, article_bytes

KEY_A = "articles/kerry-putin.json"
PROFILE = "authors/anna-writer.json"


def publish(
    content: FakeContentStore, index: FakeIndex, now: datetime, key: str = KEY_A, **changes: object
) -> None:
    content.upload(key, article_bytes(key.removeprefix("articles/").removesuffix(".json"), **changes))
    assert ingest_key(key, content, index, now).outcome is Outcome.PUBLISHED


def test_a_valid_file_is_indexed_and_its_old_report_cleared(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.put_report(KEY_A, b'{"valid": false}')
    obj = content.upload(KEY_A, article_bytes("kerry-putin", title="Kerry meets Putin"))
    result = ingest_key(KEY_A, content, index, now)
    assert (result.outcome, result.rejection) == (Outcome.PUBLISHED, None)
    held = index.get_article("kerry-putin")
    assert held is not None
    assert held.article.title == "Kerry meets Putin"
    assert (held.source.version_id, held.source.modified_ms, held.rev, held.live) == (
        obj.version_id,
        obj.modified_ms,
        1,
        True,
    )
    assert set(held.listings) == {"home", "author:anna-writer", "month:2015-12"}
    assert index.count("home") == 1
    assert content.report(KEY_A) is None


def test_a_bad_file_is_reported_with_every_error_and_the_good_version_stays(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    publish(content, index, now, title="The good version")
    before = index.get_article("kerry-putin")
    bad = {"teaser": "No title.", "authors": [], "published_at": "yesterday", "body": "x", "colour": "red"}
    content.upload(KEY_A, json.dumps(bad).encode())
    result = ingest_key(KEY_A, content, index, now)
    assert result.outcome is Outcome.REJECTED
    report = content.report(KEY_A)
    assert report is not None
    assert report["key"] == KEY_A and report["valid"] is False
    fields = {error["field"] for error in report["errors"]}
    assert {"title", "authors", "published_at", "colour"} <= fields
    assert all(error["message"] for error in report["errors"])
    assert report_key(KEY_A) == "reports/articles/kerry-putin.json.errors.json"
    assert report_key(KEY_A) in content.reports
    # The index, and so the live site, still holds the good version.
    assert index.get_article("kerry-putin") == before
    assert index.count("home") == 1


@pytest.mark.parametrize("char", ["a", "é", "日", "🦄"])
def test_a_report_key_fits_in_s3_for_every_key_s3_accepts(char: str) -> None:
    # The longest key S3 takes, in one-to-four-byte characters, ending wherever the budget falls.
    room = 1024 - len("articles/.json")
    stem = char * (room // len(char.encode())) + "x" * (room % len(char.encode()))
    key = f"articles/{stem}.json"
    assert len(key.encode()) == 1024
    long = report_key(key)
    assert len(long.encode()) <= 1024
    assert long.startswith("reports/articles/") and long.endswith(".errors.json")
    # Two keys that differ only past the cut still get reports of their own.
    other = key[:-6] + "y.json"
    assert report_key(other) != long
    assert report_key(key) == long


def test_a_file_that_is_not_json_is_reported_on_the_whole_file(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(KEY_A, b'{"title": "unterminated')
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.REJECTED
    report = content.report(KEY_A)
    assert report is not None and [e["field"] for e in report["errors"]] == ["(file)"]
    assert index.get_article("kerry-putin") is None


def test_fixing_a_bad_file_publishes_it_and_clears_the_report(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(KEY_A, b"{}")
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.REJECTED
    assert content.report(KEY_A) is not None
    publish(content, index, now)
    assert content.report(KEY_A) is None


def test_the_same_upload_ingested_twice_is_unchanged_the_second_time(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    publish(content, index, now)
    writes, held = index.writes, index.get_article("kerry-putin")
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.UNCHANGED
    assert index.writes == writes and index.get_article("kerry-putin") == held


def test_the_same_moment_in_another_offset_is_a_change(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    # 10:00Z and 13:00+03:00 are one instant, but a page shows the offset the file gives.
    publish(content, index, now, published_at="2026-10-01T10:00:00Z")
    publish(content, index, now, published_at="2026-10-01T13:00:00+03:00")
    held = index.get_article("kerry-putin")
    assert (
        held is not None
        and held.article.model_dump(mode="json")["published_at"] == "2026-10-01T13:00:00+03:00"
    )


def test_an_older_version_never_overwrites_a_newer_one(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(KEY_A, article_bytes("kerry-putin", title="Older"))
    newer: list[ContentObject] = []

    def editor_saves_again(key: str) -> None:
        # A newer version lands after ingest read the older one, before it checks the key.
        if not newer:
            newer.append(content.upload(key, article_bytes("kerry-putin", title="Newer")))

    content.after_get = editor_saves_again
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    assert held is not None
    assert (held.article.title, held.source.version_id) == ("Newer", newer[0].version_id)
    # A late event for the older version reads the current object, which is the newer one.
    content.after_get = None
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.UNCHANGED


def test_a_rolled_back_object_replaces_the_deleted_newer_version(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    older = content.upload(KEY_A, article_bytes("kerry-putin", title="Older"))
    content.upload(KEY_A, article_bytes("kerry-putin", title="Newer"))
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.PUBLISHED
    # The newer version is deleted by its version id: the older one is current again.
    content.objects[KEY_A] = older
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    assert held is not None
    assert (held.article.title, held.source.version_id) == ("Older", older.version_id)


def test_a_missing_object_unpublishes_the_article(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    publish(content, index, now)
    content.remove(KEY_A)
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.UNPUBLISHED
    assert index.get_article("kerry-putin") is None
    assert index.count("home") == 0 and index.count("author:anna-writer") == 0
    # A duplicate of the delete event finds nothing to do.
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.ABSENT


def test_a_draft_is_indexed_but_listed_nowhere(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    publish(content, index, now)
    publish(content, index, now, status="draft")
    held = index.get_article("kerry-putin")
    assert held is not None and not held.live and held.listings == ()
    assert index.count("home") == 0


def test_an_embargoed_article_goes_live_when_ingested_after_its_time(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    embargo = (now + timedelta(hours=1)).isoformat()
    publish(content, index, now, published_at=embargo)
    held = index.get_article("kerry-putin")
    assert held is not None and not held.live
    # The scheduler re-enqueues the key when the embargo ends: same file, later clock.
    later = ingest_key(KEY_A, content, index, now + timedelta(hours=2))
    assert later.outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    assert held is not None and held.live and index.count("home") == 1


@pytest.mark.parametrize(
    "key",
    ["images/photo.jpg", "reports/articles/a.json.errors.json", "article/a.json", "a.json", "", "articles/"],
)
def test_keys_outside_articles_and_authors_are_skipped(
    content: FakeContentStore, index: FakeIndex, now: datetime, key: str
) -> None:
    with pytest.raises(SkippedKey):
        ingest_key(key, content, index, now)
    assert content.reports == {} and index.writes == 0


@pytest.mark.parametrize(
    "key",
    [
        "articles/Kerry Putin.json",
        "articles/kerry putin.json",
        "articles/Kerry-Putin.json",
        "articles/kerry+putin.json",
        "articles/kerry%20putin.json",
        "articles/caf%C3%A9.json",
        "articles/café.json",
        "articles/ünïcödé.json",
        "articles/../secret.json",
        "articles/..%2fsecret.json",
        "articles/sub/folder.json",
        "articles/kerry--putin.json",
        "articles/-kerry.json",
        "articles/kerry_putin.json",
        "articles/.json",
        "articles/kerry.JSON",
        "articles/" + "a" * 121 + ".json",
        "authors/Anna Writer.json",
    ],
)
def test_a_key_with_a_bad_slug_is_rejected_on_the_file_name(
    content: FakeContentStore, index: FakeIndex, now: datetime, key: str
) -> None:
    content.upload(key, article_bytes("whatever"))
    result = ingest_key(key, content, index, now)
    assert result.outcome is Outcome.REJECTED
    assert result.rejection is not None
    assert [e.field for e in result.rejection.errors] == [KEY]
    report = content.report(key)
    assert report is not None and report["errors"][0]["field"] == "(file name)"
    assert index.writes == 0


def test_a_key_whose_slug_ends_in_a_newline_is_rejected_on_the_file_name(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    key = "articles/kerry\n.json"
    content.upload(key, article_bytes("kerry"))
    result = ingest_key(key, content, index, now)
    assert result.outcome is Outcome.REJECTED
    assert result.rejection is not None and [e.field for e in result.rejection.errors] == [KEY]


def test_a_lost_race_for_the_index_is_retried(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(KEY_A, article_bytes("kerry-putin"))
    index.lose_races = 1
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.PUBLISHED
    assert index.attempts == 2 and index.get_article("kerry-putin") is not None


def test_a_lost_race_while_unpublishing_is_retried(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    publish(content, index, now)
    content.remove(KEY_A)
    index.lose_races = 2
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.UNPUBLISHED
    assert index.get_article("kerry-putin") is None


def test_a_concurrent_write_to_the_index_is_not_overwritten_blindly(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    publish(content, index, now)
    seen = index.get_article("kerry-putin")
    assert seen is not None
    publish(content, index, now, title="Written meanwhile")
    # A writer holding the first revision is refused, as DynamoDB's condition would refuse it.
    assert not index.put_article(seen.article, seen.source, now, seen)
    assert not index.delete_article(seen)
    held = index.get_article("kerry-putin")
    assert held is not None and held.article.title == "Written meanwhile" and held.rev == 2


def test_an_upload_landing_during_ingest_is_picked_up(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(KEY_A, article_bytes("kerry-putin", title="First"))

    def editor_saves_again(key: str) -> None:
        content.after_get = None
        content.upload(key, article_bytes("kerry-putin", title="Second"))

    content.after_get = editor_saves_again
    assert ingest_key(KEY_A, content, index, now).outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    assert held is not None and held.article.title == "Second"
    assert content.gets == 2


def test_a_key_that_keeps_changing_is_a_transient_error(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(KEY_A, article_bytes("kerry-putin"))
    content.after_get = lambda key: content.upload(key, article_bytes("kerry-putin"))
    with pytest.raises(TransientError):
        ingest_key(KEY_A, content, index, now)
    assert content.gets == MAX_ROUNDS


def test_an_index_that_keeps_changing_is_a_transient_error(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(KEY_A, article_bytes("kerry-putin"))
    index.lose_races = MAX_ROUNDS
    with pytest.raises(TransientError):
        ingest_key(KEY_A, content, index, now)
    assert index.get_article("kerry-putin") is None


def test_author_profiles_are_published_unchanged_rolled_back_and_unpublished(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    profile = {"name": "Anna Writer", "bio": "Writes about diplomacy."}
    content.upload(PROFILE, json.dumps(profile).encode(), modified_ms=2_000_000)
    assert ingest_key(PROFILE, content, index, now).outcome is Outcome.PUBLISHED
    held = index.get_profile("anna-writer")
    assert held is not None and held.bio == "Writes about diplomacy."
    assert ingest_key(PROFILE, content, index, now).outcome is Outcome.UNCHANGED
    # The current object is older than the one indexed (the newer version was deleted): it wins.
    content.upload(PROFILE, json.dumps({**profile, "bio": "Old"}).encode(), modified_ms=1_000_000)
    assert ingest_key(PROFILE, content, index, now).outcome is Outcome.PUBLISHED
    rolled_back = index.get_profile("anna-writer")
    assert rolled_back is not None and rolled_back.bio == "Old"
    content.remove(PROFILE)
    assert ingest_key(PROFILE, content, index, now).outcome is Outcome.UNPUBLISHED
    assert index.get_profile("anna-writer") is None


def test_a_bad_profile_is_reported_and_the_old_one_stays(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(PROFILE, json.dumps({"name": "Anna Writer"}).encode())
    ingest_key(PROFILE, content, index, now)
    content.upload(PROFILE, json.dumps({"name": "", "website": "x"}).encode())
    assert ingest_key(PROFILE, content, index, now).outcome is Outcome.REJECTED
    report = content.report(PROFILE)
    assert report is not None and {"name", "website"} <= {e["field"] for e in report["errors"]}
    held = index.get_profile("anna-writer")
    assert held is not None and held.name == "Anna Writer"


def test_ingesting_the_samples_indexes_what_the_offline_build_indexes(
    content: FakeContentStore, index: FakeIndex, sample_content: Path, settings: Settings, now: datetime
) -> None:
    # Upload in reverse order, each key twice: order and duplicates must not matter.
    files = sorted(sample_content.glob("*/*.json"), reverse=True)
    for path in files:
        content.upload(f"{path.parent.name}/{path.name}", path.read_bytes())
    for path in files + files:
        ingest_key(f"{path.parent.name}/{path.name}", content, index, now)
    built, rejected = load_content(sample_content, settings)
    assert rejected == []
    pages = all_pages(built, settings.page_size)
    assert all_pages(index, settings.page_size) == pages
    for page in pages:
        expected = render_page(page, built, settings)
        assert render_page(page, index, settings) == expected, page
    assert {a.article.slug for a in built.articles()} == {held.article.slug for held in index.articles()}
    assert render_page(ArticlePage("nato-warsaw-summit"), index, settings) is not None
