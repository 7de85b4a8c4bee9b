"""An article's history: what changed between versions, and who caused an ingest event."""

from __future__ import annotations

import json

from broadsheet.adapters.sqs import s3_notification
from broadsheet.runtime.ingest import uploaders
from broadsheet_dev.history import describe_change
from tests.unit.fakes import article_bytes


def test_change_names_the_fields_and_counts_body_lines() -> None:
    before = article_bytes("a", body="one\ntwo\nthree\n")
    after = article_bytes("a", title="A new title", tags=["Syria"], body="one\n2\nthree\nfour\n")
    change = describe_change(before, after)
    assert change.fields == ("tags", "title")
    assert (change.body_added, change.body_removed) == (2, 1)
    assert change.summary() == "tags, title changed; body +2 -1"


def test_first_version_and_no_change() -> None:
    body = article_bytes("a", body="one\ntwo\n")
    first = describe_change(None, body)
    assert "title" in first.fields and first.body_added == 2
    assert describe_change(body, body).summary() == "no change"


def test_a_file_that_is_not_json_is_compared_line_by_line() -> None:
    change = describe_change(b"---\ntitle: A\n---\nBody\n", b"---\ntitle: B\n---\nBody\n")
    assert (change.body_added, change.body_removed) == (1, 1)


def test_uploader_is_read_from_the_event_per_key() -> None:
    doc = json.loads(s3_notification("bucket", "articles/a.json", "ObjectCreated:Put"))
    doc["Records"][0]["userIdentity"] = {"principalId": "AWS:AIDAEXAMPLE:editor@example.com"}
    assert uploaders(json.dumps(doc)) == {"articles/a.json": "AWS:AIDAEXAMPLE:editor@example.com"}
    assert uploaders(json.dumps({"Event": "s3:TestEvent"})) == {}
