"""The pipeline end to end on the local stack: moto over HTTP, resources from template.yaml,
the real handlers driven by the pollers. Each test waits for the queues to drain, never a sleep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broadsheet_dev.local.runtime import LocalStack
from tests.support import BAD, SAMPLES, Editor, assert_site_matches_offline_build

pytestmark = [pytest.mark.integration]

KERRY = "articles/review-of-the-week-kerry-putin.json"


def sample(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SAMPLES / "articles" / f"{name}.json").read_text())
    return loaded


def test_publishing_updating_and_deleting_samples_converges_to_offline_build(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    stack.render_static_pages()
    editor.publish_samples()
    stack.wait_drained()
    assert_site_matches_offline_build(editor, tmp_path / "first")
    assert "articles/review-of-the-week-kerry-putin/index.html" in editor.site_files()

    retitled = sample("un-at-seventy") | {"title": "The UN at seventy, revisited"}
    editor.put_json("articles/un-at-seventy.json", retitled)
    moved = sample("sanctions-a-year-on") | {
        "authors": ["Gevorg Mirzayan", "A New Author"],
        "tags": ["Budget"],
    }
    editor.put_json("articles/sanctions-a-year-on.json", moved)
    editor.delete("articles/arctic-council-chairmanship.json")
    editor.delete("articles/nato-warsaw-summit.json")
    stack.wait_drained()

    assert_site_matches_offline_build(editor, tmp_path / "second")
    files = editor.site_files()
    assert "articles/nato-warsaw-summit/index.html" not in files
    assert (
        b"The UN at seventy, revisited"
        in files["index.html"] + files["page/3/index.html"] + files["archive/2015/05/index.html"]
    )
    assert "authors/a-new-author/index.html" in files
    assert b"NATO Warsaw" not in files["authors/zoe-marchetti/index.html"]


def test_same_upload_delivered_twice_changes_nothing_more(stack: LocalStack, editor: Editor) -> None:
    editor.put_json(KERRY, sample("review-of-the-week-kerry-putin"))
    stack.wait_drained()
    before = editor.site_stamps()
    editor.hint(KERRY)
    editor.hint(KERRY)
    stack.wait_drained()
    assert editor.site_stamps() == before


def test_two_versions_delivered_newest_first_leave_the_newest_live(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    doc = sample("review-of-the-week-kerry-putin")
    editor.put_json(KERRY, doc | {"title": "Version one"})
    editor.put_json(KERRY, doc | {"title": "Version two"})
    stack.wait_drained()
    # The notification of the first version arrives again, late and out of order.
    editor.hint(KERRY)
    stack.wait_drained()
    page = editor.site_files()["articles/review-of-the-week-kerry-putin/index.html"]
    assert b"Version two" in page
    assert b"Version one" not in page
    assert_site_matches_offline_build(editor, tmp_path)
    editor.put_json(KERRY, doc)
    stack.wait_drained()


@pytest.mark.parametrize(
    ("bad_file", "field"),
    [("malformed.json", "(file)"), ("type-error.json", "title"), ("unknown-field.json", "titel")],
)
def test_bad_upload_leaves_the_live_site_unchanged_and_writes_its_report(
    stack: LocalStack, editor: Editor, bad_file: str, field: str
) -> None:
    editor.put_json(KERRY, sample("review-of-the-week-kerry-putin"))
    stack.wait_drained()
    before = editor.site_stamps()

    editor.put(KERRY, (BAD / bad_file).read_bytes())
    stack.wait_drained()

    assert editor.site_stamps() == before
    report = editor.report(KERRY)
    assert report is not None
    errors = report["errors"]
    assert isinstance(errors, list)
    assert field in [e["field"] for e in errors]
    assert all(e["message"] for e in errors)

    # Fixing the file publishes it and clears the report.
    editor.put_json(KERRY, sample("review-of-the-week-kerry-putin") | {"title": "Fixed"})
    stack.wait_drained()
    assert editor.report(KERRY) is None
    assert b"Fixed" in editor.site_files()["articles/review-of-the-week-kerry-putin/index.html"]
    editor.put_json(KERRY, sample("review-of-the-week-kerry-putin"))
    stack.wait_drained()


def test_deleting_an_article_unpublishes_it_everywhere(stack: LocalStack, editor: Editor) -> None:
    key = "articles/a-short-lived-story.json"
    doc = sample("duma-election-foreign-policy") | {
        "title": "A short-lived story",
        "tags": ["Ephemera"],
        # Newer than every sample: on the front page.
        "published_at": "2017-01-10T10:00:00+03:00",
    }
    editor.put_json(key, doc)
    stack.wait_drained()
    files = editor.site_files()
    assert "articles/a-short-lived-story/index.html" in files
    assert b"A short-lived story" in files["index.html"]

    editor.delete(key)
    stack.wait_drained()
    files = editor.site_files()
    assert "articles/a-short-lived-story/index.html" not in files
    assert "tags/ephemera/index.html" not in files
    assert not any(b"A short-lived story" in body for body in files.values())


def test_a_key_outside_the_contract_is_skipped_without_a_report(stack: LocalStack, editor: Editor) -> None:
    before = editor.site_stamps()
    editor.put("drafts/notes.txt", b"not an article")
    editor.hint("drafts/notes.txt")
    stack.wait_drained()
    assert editor.site_stamps() == before
    assert editor.report("drafts/notes.txt") is None
    assert stack.queue_depths()["IngestDLQ"] == 0
