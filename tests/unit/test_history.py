"""An article's history: what changed between versions, and who caused an ingest event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from broadsheet import observability
from broadsheet.adapters.sqs import s3_notification
from broadsheet.ingest import Outcome, Upload, ingest_key
from broadsheet.runtime.ingest import IngestServices, ingest_record, uploaders
from broadsheet.schedule import NoScheduler
from broadsheet.settings import Settings
from broadsheet_dev.history import Version, attributed, describe_change
from tests.unit.fakes import FakeContentStore, FakeIndex, article_bytes

EDITOR = "AWS:AIDAEXAMPLE:editor@example.com"


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
    doc["Records"][0]["userIdentity"] = {"principalId": EDITOR}
    assert uploaders(json.dumps(doc)) == {"articles/a.json": Upload(EDITOR)}
    doc["Records"][0]["s3"]["object"]["versionId"] = "v2"
    assert uploaders(json.dumps(doc)) == {"articles/a.json": Upload(EDITOR, "v2")}
    assert uploaders(json.dumps({"Event": "s3:TestEvent"})) == {}


def test_the_index_keeps_who_uploaded_each_version(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    key = "articles/a.json"
    first = content.upload(key, article_bytes("a")).version_id
    assert ingest_key(key, content, index, now, upload=Upload(EDITOR, first)).outcome is Outcome.PUBLISHED
    held = index.get_article("a")
    assert held is not None and held.source.uploaded_by == EDITOR
    # A later event for the same version (a duplicate, a schedule) that names no one keeps it.
    assert ingest_key(key, content, index, now).outcome is Outcome.UNCHANGED
    second = content.upload(key, article_bytes("a", title="Retitled")).version_id
    assert (
        ingest_key(key, content, index, now, upload=Upload("AWS:other", second)).outcome is Outcome.PUBLISHED
    )
    assert index.uploads("a") == {first: EDITOR, second: "AWS:other"}


def test_a_principal_is_never_credited_to_a_version_it_did_not_make(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    key = "articles/a.json"
    first = content.upload(key, article_bytes("a")).version_id
    content.upload(key, article_bytes("a", title="Uploaded meanwhile"))
    # The event of the first upload arrives after the second: ingest reads the second.
    assert ingest_key(key, content, index, now, upload=Upload(EDITOR, first)).outcome is Outcome.PUBLISHED
    held = index.get_article("a")
    assert held is not None and held.source.uploaded_by == "" and index.uploads("a") == {}


def test_a_report_names_who_uploaded_the_rejected_version(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    key = "articles/a.json"
    version = content.upload(key, b'{"title": "no closing brace"').version_id
    assert ingest_key(key, content, index, now, upload=Upload(EDITOR, version)).outcome is Outcome.REJECTED
    report = content.report(key)
    assert report is not None
    assert report["uploaded_by"] == EDITOR and report["source_version"] == version


def test_history_lines_name_the_uploader_or_say_unknown() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    found = attributed([Version("v2", at, 10, True), Version("v1", at, 9, False)], {"v2": EDITOR})
    assert found[0].line("title changed").endswith(f"by {EDITOR}  title changed")
    assert "by unknown" in found[1].line("first version")


def test_ingest_logs_who_uploaded_the_version_it_indexed(
    content: FakeContentStore, index: FakeIndex, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = content.upload("articles/a.json", article_bytes("a")).version_id
    doc = json.loads(s3_notification("bucket", "articles/a.json", "ObjectCreated:Put"))
    doc["Records"][0]["userIdentity"] = {"principalId": EDITOR}
    doc["Records"][0]["s3"]["object"]["versionId"] = version
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        observability.logger, "info", lambda message, extra=None: logged.append((message, extra or {}))
    )
    svc = IngestServices(settings, content, index, NoScheduler())
    ingest_record(SQSRecord({"messageId": "1", "body": json.dumps(doc)}), svc)
    [ingested] = [extra for message, extra in logged if message == "ingested"]
    assert ingested["uploaded_by"] == EDITOR and ingested["outcome"] == "published"
    held = index.get_article("a")
    assert held is not None and held.source.uploaded_by == EDITOR
