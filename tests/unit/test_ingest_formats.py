"""Ingest of an article written as Markdown, and of one written in both formats at once."""

from __future__ import annotations

import json
from datetime import datetime
from itertools import permutations
from pathlib import Path

import pytest
import yaml

from broadsheet.build import load_content
from broadsheet.ingest import Outcome, ingest_key
from broadsheet.settings import Settings
from tests.unit.fakes import FakeContentStore, FakeIndex, article_doc

JSON_KEY = "articles/kerry-putin.json"
MD_KEY = "articles/kerry-putin.md"
CONFLICT = "an article written in both formats is the .json file's"


def markdown_bytes(slug: str, **changes: object) -> bytes:
    doc = article_doc(slug, **changes)
    body = doc.pop("body")
    return f"---\n{yaml.safe_dump(doc, allow_unicode=True)}---\n\n{body}".encode()


def json_bytes(slug: str, **changes: object) -> bytes:
    return json.dumps(article_doc(slug, **changes)).encode()


def title_indexed(index: FakeIndex) -> str | None:
    held = index.get_article("kerry-putin")
    return held.article.title if held else None


def test_a_markdown_file_is_published_from_its_front_matter_and_body(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    obj = content.upload(MD_KEY, markdown_bytes("kerry-putin", title="From Markdown"))
    result = ingest_key(MD_KEY, content, index, now)
    assert result.outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    assert held is not None and held.article.title == "From Markdown"
    assert (held.source.version_id, held.source.suffix) == (obj.version_id, ".md")


def test_a_broken_front_matter_is_reported_with_its_line(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(MD_KEY, b"---\ntitle: Kerry: Putin\n---\nBody.\n")
    assert ingest_key(MD_KEY, content, index, now).outcome is Outcome.REJECTED
    report = content.report(MD_KEY)
    assert report is not None
    assert report["errors"][0]["message"].startswith("line 2: the front matter is not valid YAML")
    assert title_indexed(index) is None


@pytest.mark.parametrize("order", list(permutations([JSON_KEY, MD_KEY])), ids=["json first", "md first"])
def test_an_article_in_both_formats_is_the_json_files_whatever_came_first(
    order: tuple[str, str], content: FakeContentStore, index: FakeIndex, now: datetime, tmp_path: Path
) -> None:
    files = {
        JSON_KEY: json_bytes("kerry-putin", title="JSON"),
        MD_KEY: markdown_bytes("kerry-putin", title="MD"),
    }
    for key in order:
        content.upload(key, files[key])
        ingest_key(key, content, index, now)
    assert title_indexed(index) == "JSON"
    report = content.report(MD_KEY)
    assert report is not None and CONFLICT in report["errors"][0]["message"]
    assert JSON_KEY in report["errors"][0]["message"]
    assert content.report(JSON_KEY) is None
    # The offline build of the same files agrees.
    assert_build_agrees(content, tmp_path, "JSON", {MD_KEY})


def test_deleting_the_json_file_publishes_the_markdown_one(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(MD_KEY, markdown_bytes("kerry-putin", title="MD"))
    ingest_key(MD_KEY, content, index, now)
    content.upload(JSON_KEY, json_bytes("kerry-putin", title="JSON"))
    ingest_key(JSON_KEY, content, index, now)
    content.remove(JSON_KEY)
    # The older Markdown file is the truth once the newer JSON file is gone.
    assert ingest_key(JSON_KEY, content, index, now).outcome is Outcome.PUBLISHED
    assert title_indexed(index) == "MD"
    assert content.report(MD_KEY) is None


def test_deleting_the_shadowed_markdown_file_clears_its_report_and_keeps_the_article(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(JSON_KEY, json_bytes("kerry-putin", title="JSON"))
    ingest_key(JSON_KEY, content, index, now)
    content.upload(MD_KEY, markdown_bytes("kerry-putin", title="MD"))
    ingest_key(MD_KEY, content, index, now)
    assert content.report(MD_KEY) is not None
    content.remove(MD_KEY)
    assert ingest_key(MD_KEY, content, index, now).outcome is Outcome.UNCHANGED
    assert content.report(MD_KEY) is None
    assert title_indexed(index) == "JSON"


def test_the_same_article_moving_from_markdown_to_json_records_the_new_file(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(MD_KEY, markdown_bytes("kerry-putin"))
    ingest_key(MD_KEY, content, index, now)
    obj = content.upload(JSON_KEY, json_bytes("kerry-putin"))
    content.remove(MD_KEY)
    assert ingest_key(MD_KEY, content, index, now).outcome is Outcome.PUBLISHED
    held = index.get_article("kerry-putin")
    # The index names the file it now comes from, so reconcile compares the right key.
    assert held is not None and (held.source.version_id, held.source.suffix) == (obj.version_id, ".json")


def test_deleting_the_only_markdown_file_unpublishes_the_article(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    content.upload(MD_KEY, markdown_bytes("kerry-putin"))
    ingest_key(MD_KEY, content, index, now)
    content.remove(MD_KEY)
    assert ingest_key(MD_KEY, content, index, now).outcome is Outcome.UNPUBLISHED
    assert title_indexed(index) is None


def assert_build_agrees(content: FakeContentStore, root: Path, title: str, rejected: set[str]) -> None:
    (root / "articles").mkdir()
    for key, obj in content.objects.items():
        (root / key).write_bytes(obj.body)
    built, failures = load_content(root, Settings(site_url="https://example.org"))
    held = built.get_article("kerry-putin")
    assert held is not None and held.article.title == title
    assert {f.key for f in failures} == rejected
